//! The keyring record: a version byte and a postcard-encoded body, in standard base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// The record version this code writes and reads.
pub(super) const RECORD_VERSION: u8 = 1;

/// Everything kept for one standing invitation. Wiped from memory on drop.
#[derive(Serialize, Deserialize)]
pub(super) struct Record {
    pub secret_key: [u8; 32],
    pub certificate_der: Vec<u8>,
    pub hardened: [u8; 32],
    pub max_attempts: u32,
    pub failures: u32,
    pub invitation_xml: String,
}

impl Drop for Record {
    fn drop(&mut self) {
        self.secret_key.zeroize();
        self.hardened.zeroize();
    }
}

/// Why a record could not be decoded.
pub(super) enum DecodeError {
    Corrupt(String),
    UnknownVersion(u8),
}

impl Record {
    pub fn encode(&self) -> Result<Zeroizing<String>, String> {
        let mut bytes = Zeroizing::new(vec![RECORD_VERSION]);
        let body = Zeroizing::new(postcard::to_allocvec(self).map_err(|e| e.to_string())?);
        bytes.extend_from_slice(&body);
        Ok(Zeroizing::new(STANDARD.encode(&*bytes)))
    }

    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| DecodeError::Corrupt("not base64".to_owned()))?,
        );
        match bytes.split_first() {
            None => Err(DecodeError::Corrupt("empty".to_owned())),
            Some((&RECORD_VERSION, body)) => {
                let (record, rest) = postcard::take_from_bytes::<Self>(body)
                    .map_err(|e| DecodeError::Corrupt(format!("undecodable: {e}")))?;
                if rest.is_empty() {
                    Ok(record)
                } else {
                    Err(DecodeError::Corrupt("trailing bytes".to_owned()))
                }
            }
            Some((&version, _)) => Err(DecodeError::UnknownVersion(version)),
        }
    }
}
