//! Wire messages and framing: round trips, limits, malformed input.

use lifeline_core::proto::{
    BandwidthPreset, ControlEndReason, FrameDecoder, InputEvent, MAX_CHAT_LEN, MAX_FRAME_LEN,
    Message, MouseButton, PROTOCOL_VERSION, ProtoError, Role, check_hello, decode_body, encode,
    hello,
};
use proptest::prelude::*;

/// One message of every kind (and every input event).
fn samples() -> Vec<Message> {
    vec![
        hello("Grandma", Role::Novice),
        Message::Pake {
            message: vec![7; 33],
        },
        Message::PakeConfirm { mac: [9; 32] },
        Message::AuthResult {
            accepted: false,
            attempts_left: 4,
        },
        Message::ConsentGranted,
        Message::ConsentDenied,
        Message::ControlRequest,
        Message::ControlGranted,
        Message::ControlDenied,
        Message::ControlReleased {
            reason: ControlEndReason::NoviceEscape,
        },
        Message::Paused,
        Message::Resumed,
        Message::Bandwidth {
            preset: BandwidthPreset::Dialup,
        },
        Message::Chat {
            text: "Klicken Sie auf Start — ✓".into(),
        },
        Message::FileOffer {
            id: 42,
            name: "rapport.pdf".into(),
            size: 1 << 40,
            hash: [0xab; 32],
        },
        Message::FileAccept { id: 42 },
        Message::FileDecline { id: 43 },
        Message::FileCancel { id: u64::MAX },
        Message::Input(InputEvent::Pointer { x: 0.25, y: 1.0 }),
        Message::Input(InputEvent::Button {
            button: MouseButton::Right,
            down: true,
        }),
        Message::Input(InputEvent::Wheel { dy: -3 }),
        Message::Input(InputEvent::Key {
            keysym: "Return".into(),
            down: false,
        }),
        Message::Input(InputEvent::Text {
            text: "héllo".into(),
        }),
        Message::KeyframeRequest,
        Message::Disconnect {
            reason: "the helper disconnected".into(),
        },
        Message::Ping,
        Message::Pong,
    ]
}

fn decode_all(bytes: &[u8]) -> Result<Vec<Message>, ProtoError> {
    let mut decoder = FrameDecoder::new();
    decoder.push(bytes);
    let mut out = Vec::new();
    while let Some(message) = decoder.next()? {
        out.push(message);
    }
    Ok(out)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

#[test]
fn every_message_kind_round_trips() {
    let messages = samples();
    let kinds: std::collections::HashSet<_> = messages.iter().map(Message::kind).collect();
    assert_eq!(
        kinds.len(),
        23,
        "one sample of each of the 23 message kinds"
    );
    let mut stream = Vec::new();
    for message in &messages {
        let bytes = encode(message).unwrap();
        assert_eq!(decode_all(&bytes).unwrap(), vec![message.clone()]);
        stream.extend_from_slice(&bytes);
    }
    // All of them back to back, pushed one byte at a time.
    let mut decoder = FrameDecoder::new();
    let mut decoded = Vec::new();
    for byte in &stream {
        decoder.push(std::slice::from_ref(byte));
        while let Some(message) = decoder.next().unwrap() {
            decoded.push(message);
        }
    }
    assert_eq!(decoded, messages);
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn frame_header_is_big_endian_length() {
    let bytes = encode(&Message::Ping).unwrap();
    let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(len, bytes.len() - 4);
}

#[test]
fn oversized_frame_is_refused_before_buffering() {
    let mut decoder = FrameDecoder::new();
    decoder.push(&(1u32 << 20).to_be_bytes());
    let err = decoder.next().unwrap_err();
    assert_eq!(
        err.to_string(),
        "frame of 1048576 bytes exceeds the 65536-byte limit; the peer is misbehaving"
    );
    // The body is not buffered, and the stream stays refused.
    decoder.push(&vec![0; 100_000]);
    assert_eq!(decoder.buffered(), 0);
    assert_eq!(decoder.next().unwrap_err(), err);

    // Refused even when the header arrives together with a body.
    let mut decoder = FrameDecoder::new();
    let mut bytes = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes().to_vec();
    bytes.extend(vec![0; MAX_FRAME_LEN + 1]);
    decoder.push(&bytes);
    assert_eq!(decoder.buffered(), 0);
    assert!(matches!(
        decoder.next(),
        Err(ProtoError::FrameTooLarge { len, max: MAX_FRAME_LEN }) if len == MAX_FRAME_LEN + 1
    ));
}

#[test]
fn oversized_header_after_a_good_frame_is_refused() {
    let mut bytes = encode(&Message::Ping).unwrap();
    bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    let mut decoder = FrameDecoder::new();
    decoder.push(&bytes);
    assert_eq!(decoder.next().unwrap(), Some(Message::Ping));
    assert!(matches!(
        decoder.next(),
        Err(ProtoError::FrameTooLarge { .. })
    ));
}

#[test]
fn oversized_messages_are_not_encoded() {
    let err = encode(&Message::Pake {
        message: vec![0; MAX_FRAME_LEN + 1],
    })
    .unwrap_err();
    assert!(matches!(
        err,
        ProtoError::MessageTooLarge { kind: "pake", .. }
    ));
    assert!(err.to_string().contains("65536-byte frame limit"), "{err}");

    let err = encode(&Message::Chat {
        text: "x".repeat(MAX_CHAT_LEN + 1),
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the chat message's text is invalid: it is 16385 bytes, more than the 16384 allowed"
    );
    assert!(
        encode(&Message::Chat {
            text: "x".repeat(MAX_CHAT_LEN)
        })
        .is_ok()
    );
}

#[test]
fn truncated_frame_waits_for_more_bytes() {
    let bytes = encode(&Message::Chat {
        text: "hello".into(),
    })
    .unwrap();
    for cut in [1, 3, 4, bytes.len() - 1] {
        let mut decoder = FrameDecoder::new();
        decoder.push(&bytes[..cut]);
        assert_eq!(decoder.next().unwrap(), None, "cut at {cut}");
    }
    let mut decoder = FrameDecoder::new();
    decoder.push(&bytes[..bytes.len() - 1]);
    assert_eq!(decoder.next().unwrap(), None);
    decoder.push(&bytes[bytes.len() - 1..]);
    assert_eq!(
        decoder.next().unwrap(),
        Some(Message::Chat {
            text: "hello".into()
        })
    );
}

#[test]
fn malformed_frames_get_clear_errors() {
    // Unknown message tag.
    let err = decode_all(&frame(&[100])).unwrap_err();
    assert_eq!(err, ProtoError::UnknownTag);
    assert!(err.to_string().contains("unknown message kind"));
    // Unknown enum tag inside a message (a bandwidth preset).
    let bandwidth = encode(&Message::Bandwidth {
        preset: BandwidthPreset::Low,
    })
    .unwrap();
    let mut body = bandwidth[4..].to_vec();
    *body.last_mut().unwrap() = 99;
    assert_eq!(decode_all(&frame(&body)), Err(ProtoError::UnknownTag));
    // Trailing bytes.
    let mut body = encode(&Message::Ping).unwrap()[4..].to_vec();
    body.extend_from_slice(&[1, 2, 3]);
    let err = decode_all(&frame(&body)).unwrap_err();
    assert_eq!(err, ProtoError::TrailingBytes { count: 3 });
    assert_eq!(
        err.to_string(),
        "frame has 3 bytes after the end of its message; the peer is misbehaving"
    );
    // Invalid UTF-8.
    let mut body = encode(&Message::Chat { text: "ab".into() }).unwrap()[4..].to_vec();
    let n = body.len();
    body[n - 1] = 0xff;
    assert_eq!(decode_all(&frame(&body)), Err(ProtoError::InvalidUtf8));
    // A message cut inside its own frame, and an empty frame.
    let body = &encode(&Message::FileAccept { id: 1 << 40 }).unwrap()[4..];
    assert_eq!(
        decode_all(&frame(&body[..body.len() - 1])),
        Err(ProtoError::Truncated)
    );
    assert_eq!(decode_all(&frame(&[])), Err(ProtoError::EmptyFrame));
}

#[test]
fn bad_frame_content_does_not_stop_the_stream() {
    let mut bytes = frame(&[100]);
    bytes.extend(encode(&Message::Pong).unwrap());
    let mut decoder = FrameDecoder::new();
    decoder.push(&bytes);
    assert_eq!(decoder.next(), Err(ProtoError::UnknownTag));
    assert_eq!(decoder.next(), Ok(Some(Message::Pong)));
    assert_eq!(decoder.next(), Ok(None));
}

#[test]
fn semantic_bounds_are_checked_on_decode() {
    let cases = [
        (
            Message::Chat {
                text: "x".repeat(MAX_CHAT_LEN + 1),
            },
            "text",
        ),
        (hello("n".repeat(256), Role::Helper), "name"),
        (
            Message::FileOffer {
                id: 1,
                name: "f".repeat(256),
                size: 1,
                hash: [0; 32],
            },
            "name",
        ),
        (Message::Input(InputEvent::Pointer { x: 1.5, y: 0.0 }), "x"),
        (Message::Input(InputEvent::Pointer { x: 0.5, y: -0.1 }), "y"),
        (
            Message::Input(InputEvent::Pointer {
                x: f32::NAN,
                y: 0.0,
            }),
            "x",
        ),
        (
            Message::Input(InputEvent::Pointer {
                x: 0.0,
                y: f32::INFINITY,
            }),
            "y",
        ),
        (
            Message::Input(InputEvent::Key {
                keysym: "k".repeat(65),
                down: true,
            }),
            "keysym",
        ),
    ];
    for (message, field) in cases {
        let body = postcard::to_allocvec(&message).unwrap();
        match decode_body(&body) {
            Err(ProtoError::InvalidField { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{message:?}: expected invalid {field}, got {other:?}"),
        }
        assert!(encode(&message).is_err());
    }
}

#[test]
fn hello_negotiates_the_version() {
    assert_eq!(
        check_hello(&hello("Ada", Role::Helper)).unwrap(),
        ("Ada".to_owned(), Role::Helper)
    );
    let err = check_hello(&Message::Hello {
        protocol_version: PROTOCOL_VERSION + 1,
        name: "Ada".into(),
        role: Role::Helper,
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the other side runs protocol version 2, this Lifeline speaks 1; update both to the same version"
    );
    assert_eq!(
        check_hello(&Message::Ping),
        Err(ProtoError::NotHello("ping"))
    );
}

#[test]
fn names_round_trip() {
    for preset in BandwidthPreset::ALL {
        assert_eq!(preset.as_str().parse::<BandwidthPreset>(), Ok(preset));
    }
    assert!(
        "fast"
            .parse::<BandwidthPreset>()
            .unwrap_err()
            .to_string()
            .contains("auto, best, balanced, low, dialup")
    );
    assert_eq!(ControlEndReason::NoviceEscape.as_str(), "novice_escape");
    assert_eq!(Role::Helper.peer(), Role::Novice);
}

/// The seed corpus of the fuzz target holds a valid frame of each message kind, a
/// truncated frame and an oversized length. `LIFELINE_WRITE_CORPUS=1` rewrites it.
#[test]
fn fuzz_seed_corpus_is_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/proto_decode");
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, message) in samples().iter().enumerate() {
        // The fuzz target reads the first byte as the push size; 0xff pushes in one go.
        let mut seed = vec![0xff];
        seed.extend(encode(message).unwrap());
        seeds.push((format!("{i:02}-{}", message.kind()), seed));
    }
    let chat = encode(&Message::Chat { text: "hi".into() }).unwrap();
    seeds.push((
        "truncated-chat".into(),
        [&[0xff][..], &chat[..chat.len() - 1]].concat(),
    ));
    seeds.push((
        "oversized-length".into(),
        [&[0xff][..], &(1u32 << 20).to_be_bytes(), &[0; 16]].concat(),
    ));
    let all: Vec<u8> = samples().iter().flat_map(|m| encode(m).unwrap()).collect();
    seeds.push((
        "all-kinds-in-3-byte-pushes".into(),
        [&[3][..], &all].concat(),
    ));
    if std::env::var_os("LIFELINE_WRITE_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in &seeds {
        let stored = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("seed {name}: {e}; run with LIFELINE_WRITE_CORPUS=1"));
        assert_eq!(
            &stored, bytes,
            "seed {name} is stale; run with LIFELINE_WRITE_CORPUS=1"
        );
    }
}

fn input_event() -> impl Strategy<Value = InputEvent> {
    prop_oneof![
        (0.0f32..=1.0, 0.0f32..=1.0).prop_map(|(x, y)| InputEvent::Pointer { x, y }),
        (
            prop_oneof![
                Just(MouseButton::Left),
                Just(MouseButton::Middle),
                Just(MouseButton::Right)
            ],
            any::<bool>()
        )
            .prop_map(|(button, down)| InputEvent::Button { button, down }),
        any::<i32>().prop_map(|dy| InputEvent::Wheel { dy }),
        ("[A-Za-z0-9_]{1,64}", any::<bool>())
            .prop_map(|(keysym, down)| InputEvent::Key { keysym, down }),
        ".{0,200}".prop_map(|text| InputEvent::Text { text }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        chunk in 1usize..64,
    ) {
        let mut decoder = FrameDecoder::new();
        for piece in bytes.chunks(chunk) {
            decoder.push(piece);
            prop_assert!(decoder.buffered() <= bytes.len());
            loop {
                match decoder.next() {
                    Ok(Some(message)) => prop_assert!(encode(&message).is_ok()),
                    Ok(None) | Err(ProtoError::FrameTooLarge { .. }) => break,
                    Err(err) => prop_assert!(!err.to_string().contains('\n')),
                }
            }
        }
    }

    #[test]
    fn arbitrary_frame_bodies_decode_or_error(
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        match decode_body(&body) {
            Ok(message) => {
                prop_assert_eq!(decode_all(&encode(&message).unwrap()).unwrap(), vec![message]);
            }
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn chat_and_input_round_trip(text in ".{0,300}", event in input_event()) {
        for message in [Message::Chat { text: text.clone() }, Message::Input(event.clone())] {
            let bytes = encode(&message).unwrap();
            prop_assert_eq!(decode_all(&bytes).unwrap(), vec![message]);
        }
    }
}
