//! What the sender announces before sending a file.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::CHUNK_SIZE;
use super::error::TransferError;

/// A file the sender proposes to send; the receiver accepts or declines it.
///
/// The receiver must treat every field as untrusted: the name is cleaned by
/// [`sanitize_file_name`](super::sanitize_file_name), the size is checked against
/// [`TransferLimits`](super::TransferLimits) and against the bytes that arrive, and the hash
/// against their BLAKE3 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Identifies this transfer within the session (chosen by the sender).
    pub id: u64,
    /// The file's name as the sender has it (not a path).
    pub name: String,
    /// The file's size in bytes.
    pub size: u64,
    /// BLAKE3 hash of the file's content.
    pub hash: [u8; 32],
}

impl Offer {
    /// Describes the file at `path`: its name, size and BLAKE3 hash, read in
    /// [`CHUNK_SIZE`] chunks.
    ///
    /// # Errors
    /// [`TransferError::NotAFile`] if `path` is not a regular file,
    /// [`TransferError::SourceChanged`] if its size changed while it was read, and
    /// [`TransferError::Io`] if it cannot be read.
    pub fn from_path(id: u64, path: &Path) -> Result<Self, TransferError> {
        let (offer, _file) = Self::open(id, path)?;
        Ok(offer)
    }

    /// Like [`Offer::from_path`], and also returns the open file, positioned after its end.
    pub(crate) fn open(id: u64, path: &Path) -> Result<(Self, File), TransferError> {
        let not_a_file = || TransferError::NotAFile {
            path: path.to_owned(),
        };
        let name = path
            .file_name()
            .ok_or_else(not_a_file)?
            .to_string_lossy()
            .into_owned();
        let mut file = File::open(path).map_err(|e| TransferError::io("open", path, e))?;
        let metadata = file
            .metadata()
            .map_err(|e| TransferError::io("read the size of", path, e))?;
        if !metadata.is_file() {
            return Err(not_a_file());
        }
        let (size, hash) = hash_all(&mut file).map_err(|e| TransferError::io("read", path, e))?;
        if size != metadata.len() {
            return Err(TransferError::SourceChanged {
                path: path.to_owned(),
            });
        }
        tracing::debug!(id, size, path = %path.display(), "hashed file to offer");
        Ok((
            Self {
                id,
                name,
                size,
                hash,
            },
            file,
        ))
    }
}

/// Reads `reader` to its end; returns how many bytes it had and their BLAKE3 hash.
fn hash_all(reader: &mut impl Read) -> io::Result<(u64, [u8; 32])> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0; CHUNK_SIZE];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, *hasher.finalize().as_bytes()))
}
