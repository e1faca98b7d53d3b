//! The receiving side: writes an accepted file into the chosen folder, verifies it, and
//! puts it in place.

use std::path::{Path, PathBuf};

use super::error::{TransferError, display_name};
use super::name::sanitize_file_name;
use super::place::{TempFile, sync_dir};
use super::{Offer, Progress, TransferLimits};

/// A file being received.
///
/// Bytes go to a hidden temporary file in the destination folder. Only
/// [`Incoming::finish`], after checking the size and BLAKE3 hash, gives the file a visible name;
/// in every other case — an error, a hash mismatch, missing data, or dropping the
/// `Incoming` — the temporary file is removed and nothing is left in the folder.
///
/// An error from [`Incoming::write_chunk`] ends the transfer: what was received is discarded
/// at once and later calls fail with [`TransferError::AlreadyFailed`].
#[derive(Debug)]
pub struct Incoming {
    offer: Offer,
    /// The cleaned name the file will be saved under (before any ` (n)`).
    name: String,
    /// The destination folder, canonical.
    dir: PathBuf,
    /// `None` once the transfer failed.
    temp: Option<TempFile>,
    received: u64,
    hasher: blake3::Hasher,
}

impl Incoming {
    /// Starts receiving `offer` into the folder `dir` that the user chose.
    ///
    /// # Errors
    /// [`TransferError::TooLarge`] if the offered size exceeds `limits`,
    /// [`TransferError::InvalidName`] if the name is unusable,
    /// [`TransferError::NotAFolder`] if `dir` is not an existing folder, and
    /// [`TransferError::Io`] if the temporary file cannot be created. Nothing is created in
    /// the folder when this fails.
    pub fn accept(offer: Offer, dir: &Path, limits: TransferLimits) -> Result<Self, TransferError> {
        if offer.size > limits.max_size {
            return Err(TransferError::TooLarge {
                name: display_name(&offer.name),
                size: offer.size,
                max: limits.max_size,
            });
        }
        let name = sanitize_file_name(&offer.name)?;
        let not_a_folder = || TransferError::NotAFolder {
            path: dir.to_owned(),
        };
        let dir = dir.canonicalize().map_err(|_| not_a_folder())?;
        if !dir.is_dir() {
            return Err(not_a_folder());
        }
        let temp = TempFile::create_in(&dir, offer.id)?;
        tracing::info!(
            id = offer.id,
            size = offer.size,
            name = %display_name(&name),
            dir = %dir.display(),
            "receiving file"
        );
        Ok(Self {
            offer,
            name,
            dir,
            temp: Some(temp),
            received: 0,
            hasher: blake3::Hasher::new(),
        })
    }

    /// The offer being received, as the sender made it.
    pub fn offer(&self) -> &Offer {
        &self.offer
    }

    /// The cleaned name the file will be saved under, unless a file of that name exists, in
    /// which case [`Incoming::finish`] numbers it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The destination folder, canonicalised.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How much has been received, out of the offered size.
    pub fn progress(&self) -> Progress {
        Progress {
            bytes: self.received,
            total: self.offer.size,
        }
    }

    /// Appends the next chunk of the file.
    ///
    /// # Errors
    /// [`TransferError::BeyondOfferedSize`] if the chunk goes past the offered size,
    /// [`TransferError::Io`] if writing fails, and [`TransferError::AlreadyFailed`] after an
    /// earlier error. On error the temporary file has been removed.
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<Progress, TransferError> {
        let Some(temp) = &mut self.temp else {
            return Err(self.already_failed());
        };
        let within = self
            .offer
            .size
            .checked_sub(self.received)
            .is_some_and(|room| data.len() as u64 <= room);
        if !within {
            tracing::warn!(
                id = self.offer.id,
                "sender sent more than offered; discarding"
            );
            self.temp = None;
            return Err(TransferError::BeyondOfferedSize {
                name: display_name(&self.offer.name),
                size: self.offer.size,
            });
        }
        if let Err(e) = temp.write_all(data) {
            let error = TransferError::io("write to", temp.path(), e);
            tracing::warn!(id = self.offer.id, %error, "discarding");
            self.temp = None;
            return Err(error);
        }
        self.hasher.update(data);
        self.received += data.len() as u64;
        Ok(self.progress())
    }

    /// Ends the transfer: checks that exactly the offered size arrived with the offered
    /// BLAKE3 hash, flushes the file to disk and moves it into place under its cleaned name, or
    /// `name (1).ext`, `name (2).ext`, … if that exists. Never replaces a file.
    ///
    /// Returns the final path, which lies directly inside the destination folder.
    ///
    /// # Errors
    /// [`TransferError::Incomplete`], [`TransferError::HashMismatch`],
    /// [`TransferError::AlreadyFailed`], [`TransferError::NoFreeName`],
    /// [`TransferError::OutsideFolder`] or [`TransferError::Io`]; in every case nothing is
    /// left in the folder.
    pub fn finish(mut self) -> Result<PathBuf, TransferError> {
        let Some(mut temp) = self.temp.take() else {
            return Err(self.already_failed());
        };
        let name = display_name(&self.offer.name);
        if self.received != self.offer.size {
            tracing::warn!(
                id = self.offer.id,
                received = self.received,
                "incomplete; discarding"
            );
            return Err(TransferError::Incomplete {
                name,
                received: self.received,
                size: self.offer.size,
            });
        }
        let digest: [u8; 32] = *self.hasher.finalize().as_bytes();
        if digest != self.offer.hash {
            tracing::warn!(id = self.offer.id, "hash mismatch; discarding");
            return Err(TransferError::HashMismatch {
                name,
                size: self.offer.size,
            });
        }
        temp.sync_and_close()
            .map_err(|e| TransferError::io("save", temp.path(), e))?;
        let path = temp.place(&self.dir, &self.name)?;
        sync_dir(&self.dir);
        check_inside(&self.dir, &path)?;
        tracing::info!(id = self.offer.id, path = %path.display(), "received file");
        Ok(path)
    }

    fn already_failed(&self) -> TransferError {
        TransferError::AlreadyFailed {
            name: display_name(&self.offer.name),
        }
    }
}

/// Checks, after resolving links, that `path` is directly inside the canonical folder `dir`;
/// if not, removes it.
fn check_inside(dir: &Path, path: &Path) -> Result<(), TransferError> {
    let inside = path
        .canonicalize()
        .is_ok_and(|real| real.parent() == Some(dir));
    if inside {
        Ok(())
    } else {
        tracing::error!(path = %path.display(), "saved file is outside the folder; removing it");
        let _ = std::fs::remove_file(path);
        Err(TransferError::OutsideFolder {
            path: path.to_owned(),
            dir: dir.to_owned(),
        })
    }
}
