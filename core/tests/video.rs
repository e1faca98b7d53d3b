//! Screen video between a novice and a helper in one process, over QUIC on loopback: what
//! the helper decodes matches the novice's screen, an unchanged screen sends nothing, and
//! pause stops the pictures.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{WAIT, invitation, next_report, start_sharing};
use lifeline_core::auth::{HardeningParams, Password, harden};
use lifeline_core::connect::{
    NoviceEndpoint, ReceivedFrame, Report, SessionIo, UserCommand, run_helper,
};
use lifeline_core::identity::Identity;
use lifeline_core::log::{self, SessionLog};
use lifeline_core::media::{Frame, FrameSource, MediaError, Rect, pattern, psnr};
use lifeline_core::session::{Command, Notification, SessionConfig, State};
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// A screen the test draws on.
#[derive(Clone)]
struct Screen(Arc<Mutex<Frame>>);

impl FrameSource for Screen {
    fn next_frame(&mut self) -> Result<Option<Frame>, MediaError> {
        Ok(Some(self.0.lock().unwrap().clone()))
    }
}

impl Screen {
    fn now(&self) -> Frame {
        self.0.lock().unwrap().clone()
    }

    fn type_text(&self, seed: u32) {
        let mut frame = self.0.lock().unwrap();
        pattern::draw_text(
            &mut frame,
            Rect {
                x: 100,
                y: 100,
                width: 400,
                height: 60,
            },
            seed,
        );
    }
}

struct Helper {
    commands: mpsc::UnboundedSender<UserCommand>,
    reports: mpsc::UnboundedReceiver<Report>,
}

async fn frame(reports: &mut mpsc::UnboundedReceiver<Report>) -> ReceivedFrame {
    match next_report(reports, |r| matches!(r, Report::Frame(_))).await {
        Report::Frame(frame) => frame,
        _ => unreachable!(),
    }
}

/// Collects the frames that arrive within `period`.
async fn frames_within(reports: &mut mpsc::UnboundedReceiver<Report>, period: Duration) -> usize {
    let mut count = 0;
    let _ = tokio::time::timeout(period, async {
        while let Some(report) = reports.recv().await {
            if matches!(report, Report::Frame(_)) {
                count += 1;
            }
        }
    })
    .await;
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helper_sees_the_novice_screen_and_pause_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::generate().unwrap();
    let endpoint = NoviceEndpoint::bind(&identity, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    let invitation = invitation(&identity, &identity, addr);
    let screen = Screen(Arc::new(Mutex::new(pattern::desktop(1280, 720).unwrap())));
    let mut novice = start_sharing(
        endpoint,
        invitation.clone(),
        "video test",
        dir.path(),
        Some(Box::new(screen.clone())),
    );

    let (commands, command_rx) = mpsc::unbounded_channel();
    let (report_tx, reports) = mpsc::unbounded_channel();
    let hardened = harden(
        &Password::parse("video test").unwrap(),
        &invitation.body().salt,
        &HardeningParams::default(),
    );
    let log = SessionLog::create(
        dir.path(),
        log::Role::Helper,
        &invitation.body().id.to_string(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let io = SessionIo {
        name: "Helen".into(),
        commands: command_rx,
        reports: report_tx,
        log,
        config: SessionConfig::default(),
        screen: None,
    };
    tokio::spawn(async move {
        let _ = run_helper(&invitation, &hardened, io).await;
    });
    let mut helper = Helper { commands, reports };

    next_report(&mut novice.reports, |r| {
        matches!(r, Report::Notification(Notification::ConnectRequest { .. }))
    })
    .await;
    novice
        .commands
        .send(UserCommand::Session(Command::Approve))
        .unwrap();

    // The first picture is a keyframe of the whole screen.
    let first = frame(&mut helper.reports).await;
    assert!(first.keyframe);
    assert_eq!((first.picture.width(), first.picture.height()), (1280, 720));
    let quality = psnr(&first.picture, &screen.now());
    assert!(quality >= 35.0, "PSNR {quality:.1} dB");

    // Nothing changes: nothing is sent.
    assert_eq!(
        frames_within(&mut helper.reports, Duration::from_secs(1)).await,
        0
    );

    // A change arrives as a small frame that decodes to the new screen.
    screen.type_text(7);
    let change = frame(&mut helper.reports).await;
    assert!(!change.keyframe);
    assert!(
        change.bytes < first.bytes / 2,
        "{} vs {}",
        change.bytes,
        first.bytes
    );
    let quality = psnr(&change.picture, &screen.now());
    assert!(quality >= 35.0, "PSNR {quality:.1} dB");
    assert!(change.seq > first.seq);

    // Statistics come every second while frames arrive.
    screen.type_text(8);
    let stats = next_report(&mut helper.reports, |r| matches!(r, Report::VideoStats(_))).await;
    let Report::VideoStats(stats) = stats else {
        unreachable!()
    };
    assert!(stats.fps > 0.0 && stats.kbps > 0.0, "{stats:?}");

    // Paused: the view freezes.
    novice
        .commands
        .send(UserCommand::Session(Command::Pause))
        .unwrap();
    next_report(&mut helper.reports, |r| {
        matches!(
            r,
            Report::Notification(Notification::StateChanged {
                state: State::Paused,
                ..
            })
        )
    })
    .await;
    frames_within(&mut helper.reports, Duration::from_millis(300)).await;
    screen.type_text(9);
    assert_eq!(
        frames_within(&mut helper.reports, Duration::from_secs(1)).await,
        0
    );

    // Resumed: the current screen comes, as a keyframe.
    novice
        .commands
        .send(UserCommand::Session(Command::Resume))
        .unwrap();
    let resumed = frame(&mut helper.reports).await;
    assert!(resumed.keyframe);
    let quality = psnr(&resumed.picture, &screen.now());
    assert!(quality >= 35.0, "PSNR {quality:.1} dB");

    helper
        .commands
        .send(UserCommand::Session(Command::Disconnect))
        .unwrap();
    tokio::time::timeout(WAIT, novice.task)
        .await
        .unwrap()
        .unwrap();
}
