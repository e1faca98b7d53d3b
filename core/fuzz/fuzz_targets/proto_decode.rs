//! Fuzzes the control-stream decoder: arbitrary bytes, pushed in arbitrary pieces, must
//! decode or fail with an error, never panic, and never buffer an oversized frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_core::proto::{FrameDecoder, MAX_FRAME_LEN, ProtoError, encode};

fuzz_target!(|data: &[u8]| {
    // The first byte chooses how the rest is split into pushes, as a socket would.
    let Some((&split, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split).max(1);
    let mut decoder = FrameDecoder::new();
    for piece in bytes.chunks(chunk) {
        decoder.push(piece);
        assert!(decoder.buffered() <= MAX_FRAME_LEN + 4 + chunk);
        loop {
            match decoder.next() {
                Ok(Some(message)) => {
                    // What was accepted must encode again.
                    assert!(encode(&message).is_ok());
                }
                Ok(None) => break,
                // The stream is unreadable after an oversized frame header.
                Err(ProtoError::FrameTooLarge { .. }) => break,
                // Any other error consumed its frame; the next one may be fine.
                Err(_) => {}
            }
        }
    }
});
