//! Lowercase hexadecimal text of bytes (fingerprints, ids, hashes).

use std::fmt::Write;

/// Lowercase hex of `bytes`, two digits a byte.
pub(crate) fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
