//! `connect` on loopback, in one process: certificate pinning and hostile wire input.

use lifeline_core::auth::{self, HardeningParams, Password, harden};
use lifeline_core::connect::{NoviceEndpoint, Report, UserCommand, connect_candidates};
use lifeline_core::identity::Identity;
use lifeline_core::log;
use lifeline_core::proto::{self, FrameDecoder, Message};
use lifeline_core::session::{Command, Notification, State};
use lifeline_core::ticket::{Candidate, CandidateKind, Invitation, InvitationBody};
use time::OffsetDateTime;

mod common;

use common::{Novice, WAIT, invitation, next_report, start_novice};

#[tokio::test]
async fn a_computer_with_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = Identity::generate().unwrap();
    let impostor = Identity::generate().unwrap();
    let endpoint = NoviceEndpoint::bind(&impostor, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    let invitation = invitation(&real, &real, addr);
    let novice = start_novice(endpoint, invitation.clone(), "a b", dir.path());
    let error = connect_candidates(&invitation).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("the computer at {addr} is not the one that made this invitation")
    );
    novice.task.abort();
}

async fn read(recv: &mut quinn::RecvStream, decoder: &mut FrameDecoder) -> Message {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(message) = decoder.next().unwrap() {
                return message;
            }
            let n = recv.read(&mut buf).await.unwrap().expect("stream open");
            decoder.push(&buf[..n]);
        }
    })
    .await
    .expect("message in time")
}

/// A hand-made helper that knows the password (`open sesame`) and follows the handshake,
/// so that a test can then send what a real helper never would. Returns once the novice
/// has approved.
async fn authenticated_helper(
    invitation: &Invitation,
    novice: &mut Novice,
) -> (
    quinn::Endpoint,
    quinn::Connection,
    quinn::SendStream,
    quinn::RecvStream,
    FrameDecoder,
) {
    let (endpoint, conn) = connect_candidates(invitation).await.unwrap();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    let mut decoder = FrameDecoder::new();
    let write = |m: &Message| proto::encode(m).unwrap();
    send.write_all(&write(&proto::hello("Mallory", proto::Role::Helper)))
        .await
        .unwrap();
    proto::check_hello(&read(&mut recv, &mut decoder).await).unwrap();
    let mut exporter = [0u8; auth::EXPORTER_LEN];
    conn.export_keying_material(&mut exporter, auth::EXPORTER_LABEL, &invitation.body().id.0)
        .unwrap();
    let hardened = harden(
        &Password::parse("open sesame").unwrap(),
        &invitation.body().salt,
        &HardeningParams::default(),
    );
    let (handshake, pake) = auth::Handshake::start(
        auth::Role::Helper,
        &hardened,
        &invitation.body().id.0,
        &exporter,
    );
    send.write_all(&write(&Message::Pake { message: pake }))
        .await
        .unwrap();
    let Message::Pake { message } = read(&mut recv, &mut decoder).await else {
        panic!("expected pake")
    };
    let (confirmer, mac) = handshake.receive_pake(&message).unwrap();
    send.write_all(&write(&Message::PakeConfirm { mac }))
        .await
        .unwrap();
    let Message::PakeConfirm { mac } = read(&mut recv, &mut decoder).await else {
        panic!("expected the novice's confirmation")
    };
    let code = confirmer.verify(&mac).unwrap().safety_code();
    assert!(matches!(
        read(&mut recv, &mut decoder).await,
        Message::AuthResult { accepted: true, .. }
    ));
    let request = next_report(&mut novice.reports, |r| {
        matches!(r, Report::Notification(Notification::ConnectRequest { .. }))
    })
    .await;
    assert_eq!(
        request,
        Report::Notification(Notification::ConnectRequest {
            helper: "Mallory".into(),
            safety_code: code,
        })
    );
    novice
        .commands
        .send(UserCommand::Session(Command::Approve))
        .unwrap();
    assert_eq!(read(&mut recv, &mut decoder).await, Message::ConsentGranted);
    (endpoint, conn, send, recv, decoder)
}

#[tokio::test]
async fn an_oversized_frame_ends_the_session_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::generate().unwrap();
    let endpoint = NoviceEndpoint::bind(&identity, "127.0.0.1:0".parse().unwrap()).unwrap();
    let invitation = invitation(&identity, &identity, endpoint.local_addr().unwrap());
    let mut novice = start_novice(endpoint, invitation.clone(), "open sesame", dir.path());

    let (_endpoint, _conn, mut send, _recv, _decoder) =
        authenticated_helper(&invitation, &mut novice).await;

    send.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let Report::Error(message) =
        next_report(&mut novice.reports, |r| matches!(r, Report::Error(_))).await
    else {
        unreachable!()
    };
    assert!(
        message.starts_with("the other side sent an invalid message: frame of 4294967295 bytes"),
        "{message}"
    );
    let ended = next_report(&mut novice.reports, |r| {
        matches!(
            r,
            Report::Notification(Notification::StateChanged {
                state: State::Ended,
                ..
            })
        )
    })
    .await;
    assert!(
        format!("{ended:?}").contains("invalid message"),
        "{ended:?}"
    );
    tokio::time::timeout(WAIT, novice.task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn an_expired_invitation_stops_waiting_and_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::generate().unwrap();
    let endpoint = NoviceEndpoint::bind(&identity, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    let body = InvitationBody::new(
        "Rose".into(),
        vec![Candidate {
            kind: CandidateKind::Host,
            addr,
        }],
        None,
        identity.fingerprint(),
        OffsetDateTime::now_utc(),
        time::Duration::seconds(2),
    )
    .unwrap();
    let invitation = Invitation::sign(body, identity.signing_key()).unwrap();
    let mut novice = start_novice(endpoint, invitation, "a b", dir.path());
    let ended = next_report(&mut novice.reports, |r| {
        matches!(
            r,
            Report::Notification(Notification::StateChanged {
                state: State::Ended,
                ..
            })
        )
    })
    .await;
    assert_eq!(
        ended,
        Report::Notification(Notification::StateChanged {
            state: State::Ended,
            reason: Some("the invitation expired".into()),
        })
    );
    tokio::time::timeout(WAIT, novice.task)
        .await
        .unwrap()
        .unwrap();
    let logs: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(logs.len(), 1);
    let path = logs[0].as_ref().unwrap().path();
    assert!(log::verify(&path).unwrap().is_intact());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("event=\"invitation_closed\""), "{text}");
}

#[tokio::test]
async fn input_and_pause_from_a_helper_without_permission_are_refused_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::generate().unwrap();
    let endpoint = NoviceEndpoint::bind(&identity, "127.0.0.1:0".parse().unwrap()).unwrap();
    let invitation = invitation(&identity, &identity, endpoint.local_addr().unwrap());
    let mut novice = start_novice(endpoint, invitation.clone(), "open sesame", dir.path());
    let (_endpoint, _conn, mut send, _recv, _decoder) =
        authenticated_helper(&invitation, &mut novice).await;

    // Input although control was never granted, and a pause only the novice may order.
    let write = |m: &Message| proto::encode(m).unwrap();
    for message in [
        Message::Input(proto::InputEvent::Pointer { x: 0.5, y: 0.5 }),
        Message::Input(proto::InputEvent::Text {
            text: "rm -rf ~".into(),
        }),
        Message::Paused,
    ] {
        send.write_all(&write(&message)).await.unwrap();
    }
    let refused = next_report(&mut novice.reports, |r| {
        matches!(r, Report::Notification(Notification::Refused { .. }))
    })
    .await;
    assert!(format!("{refused:?}").contains("pause"), "{refused:?}");
    send.write_all(&write(&Message::Disconnect {
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    tokio::time::timeout(WAIT, novice.task)
        .await
        .unwrap()
        .unwrap();

    let path = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let parsed = log::read_log(&path).unwrap();
    let refused: Vec<_> = parsed
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            log::LogEvent::InputRefused { count } => Some(*count),
            _ => None,
        })
        .collect();
    assert_eq!(refused, [2], "two input events were refused and logged");
    assert!(log::verify(&path).unwrap().is_intact());
}
