//! Helpers shared by the integration tests that run sessions in one process.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use lifeline_core::auth::{AttemptLimiter, HardeningParams, Password, harden};
use lifeline_core::connect::{NoviceEndpoint, Report, SessionIo, UserCommand, run_novice};
use lifeline_core::identity::Identity;
use lifeline_core::log::{self, SessionLog};
use lifeline_core::media::FrameSource;
use lifeline_core::session::SessionConfig;
use lifeline_core::ticket::{Candidate, CandidateKind, Invitation, InvitationBody};
use time::OffsetDateTime;
use tokio::sync::mpsc;

pub const WAIT: Duration = Duration::from_secs(30);

pub fn invitation(signer: &Identity, pinned: &Identity, addr: SocketAddr) -> Invitation {
    let body = InvitationBody::new(
        "Rose".into(),
        vec![Candidate {
            kind: CandidateKind::Host,
            addr,
        }],
        None,
        pinned.fingerprint(),
        OffsetDateTime::now_utc(),
        time::Duration::hours(1),
    )
    .unwrap();
    Invitation::sign(body, signer.signing_key()).unwrap()
}

pub struct Novice {
    pub commands: mpsc::UnboundedSender<UserCommand>,
    pub reports: mpsc::UnboundedReceiver<Report>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Runs the novice's side on `endpoint` in the background.
pub fn start_novice(
    endpoint: NoviceEndpoint,
    invitation: Invitation,
    password: &str,
    dir: &std::path::Path,
) -> Novice {
    start_sharing(endpoint, invitation, password, dir, None)
}

/// Like [`start_novice`], sharing `screen` once the helper is approved.
pub fn start_sharing(
    endpoint: NoviceEndpoint,
    invitation: Invitation,
    password: &str,
    dir: &std::path::Path,
    screen: Option<Box<dyn FrameSource>>,
) -> Novice {
    let hardened = harden(
        &Password::parse(password).unwrap(),
        &invitation.body().salt,
        &HardeningParams::default(),
    );
    let log = SessionLog::create(
        dir,
        log::Role::Novice,
        &invitation.body().id.to_string(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (report_tx, reports) = mpsc::unbounded_channel();
    let io = SessionIo {
        name: "Rose".into(),
        commands: command_rx,
        reports: report_tx,
        log,
        config: SessionConfig::default(),
        screen,
    };
    let task = tokio::spawn(async move {
        let _ = run_novice(
            &endpoint,
            &invitation,
            &hardened,
            AttemptLimiter::default(),
            |_| {},
            io,
        )
        .await;
    });
    Novice {
        commands,
        reports,
        task,
    }
}

pub async fn next_report(
    reports: &mut mpsc::UnboundedReceiver<Report>,
    pred: impl Fn(&Report) -> bool,
) -> Report {
    tokio::time::timeout(WAIT, async {
        loop {
            let report = reports.recv().await.expect("novice still running");
            if pred(&report) {
                return report;
            }
        }
    })
    .await
    .expect("report in time")
}
