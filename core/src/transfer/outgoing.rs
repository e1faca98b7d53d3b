//! The sending side: reads a file in chunks for the network driver to send.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::error::{TransferError, display_name};
use super::{CHUNK_SIZE, Offer, Progress};

/// A file being sent.
///
/// [`Outgoing::open`] hashes the file and builds its [`Offer`]; once the peer accepts, the
/// driver sends what [`Outgoing::next_chunk`] yields until it returns `Ok(None)`. The file
/// is read through the same handle that was hashed, and never beyond the offered size. If
/// the file is shortened, lengthened or rewritten while it is sent, `next_chunk` fails with
/// [`TransferError::SourceChanged`] — at the latest on the call that would return `None` —
/// and the driver must then abort the transfer so that the receiver discards it.
#[derive(Debug)]
pub struct Outgoing {
    path: PathBuf,
    file: File,
    offer: Offer,
    sent: u64,
    hasher: blake3::Hasher,
    state: State,
}

/// Where an [`Outgoing`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Sending,
    Done,
    Failed,
}

impl Outgoing {
    /// Opens the file at `path` and describes it as transfer `id`.
    ///
    /// # Errors
    /// As [`Offer::from_path`].
    pub fn open(id: u64, path: &Path) -> Result<Self, TransferError> {
        let (offer, mut file) = Offer::open(id, path)?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| TransferError::io("rewind", path, e))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            offer,
            sent: 0,
            hasher: blake3::Hasher::new(),
            state: State::Sending,
        })
    }

    /// The offer to send to the peer.
    pub fn offer(&self) -> &Offer {
        &self.offer
    }

    /// How much has been yielded so far, out of the offered size.
    pub fn progress(&self) -> Progress {
        Progress {
            bytes: self.sent,
            total: self.offer.size,
        }
    }

    /// The next chunk of at most [`CHUNK_SIZE`] bytes, or `None` once the whole file was
    /// yielded and found unchanged. Each chunk is its own buffer, so the network can keep it
    /// without copying.
    ///
    /// # Errors
    /// [`TransferError::SourceChanged`] if the file's size or content differs from the offer,
    /// and [`TransferError::Io`] if it cannot be read. An error ends the transfer: later
    /// calls return [`TransferError::AlreadyFailed`].
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>, TransferError> {
        match self.state {
            State::Done => return Ok(None),
            State::Failed => {
                return Err(TransferError::AlreadyFailed {
                    name: display_name(&self.offer.name),
                });
            }
            State::Sending => {}
        }
        match self.advance() {
            Ok(None) => {
                self.state = State::Done;
                tracing::debug!(id = self.offer.id, size = self.sent, "sent whole file");
                Ok(None)
            }
            Ok(Some(chunk)) => Ok(Some(chunk)),
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }

    /// Reads the next chunk, or checks the file once everything was read and returns `None`.
    fn advance(&mut self) -> Result<Option<Bytes>, TransferError> {
        let remaining = self.offer.size - self.sent;
        if remaining == 0 {
            self.check_unchanged()?;
            return Ok(None);
        }
        let want = usize::try_from(remaining).map_or(CHUNK_SIZE, |r| r.min(CHUNK_SIZE));
        let mut chunk = vec![0; want];
        let got = read_up_to(&mut self.file, &mut chunk)
            .map_err(|e| TransferError::io("read", &self.path, e))?;
        if got < want {
            return Err(self.changed());
        }
        self.sent += got as u64;
        self.hasher.update(&chunk);
        Ok(Some(Bytes::from(chunk)))
    }

    /// Checks, after the offered size was read, that the file did not grow and that what was
    /// read has the offered hash.
    fn check_unchanged(&mut self) -> Result<(), TransferError> {
        let mut probe = [0u8; 1];
        let more = read_up_to(&mut self.file, &mut probe)
            .map_err(|e| TransferError::io("read", &self.path, e))?;
        let digest: [u8; 32] = *self.hasher.finalize().as_bytes();
        if more != 0 || digest != self.offer.hash {
            return Err(self.changed());
        }
        Ok(())
    }

    fn changed(&self) -> TransferError {
        tracing::warn!(id = self.offer.id, path = %self.path.display(), "file changed while sending");
        TransferError::SourceChanged {
            path: self.path.clone(),
        }
    }
}

/// Reads until `buf` is full or the end of the file; returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
