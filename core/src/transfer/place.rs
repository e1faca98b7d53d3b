//! The receiving file on disk: a hidden temporary file in the destination folder, removed
//! unless it is moved into place under a name that did not exist.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::error::TransferError;
use super::name::{MAX_NUMBER, numbered_name};

/// A temporary file that is removed when dropped, unless [`TempFile::place`] succeeded.
#[derive(Debug)]
pub(crate) struct TempFile {
    /// The open file; `None` once closed.
    file: Option<File>,
    /// Its path; `None` once removed or placed.
    path: Option<PathBuf>,
}

impl TempFile {
    /// Creates a new, empty, hidden file in `dir` named `.lifeline-<id>-<random>.part`.
    ///
    /// It is in the destination folder itself so that moving it into place never crosses
    /// file systems. It is created with `create_new`, so it never opens an existing file.
    pub(crate) fn create_in(dir: &Path, id: u64) -> Result<Self, TransferError> {
        let mut attempts = 0;
        loop {
            let path = dir.join(format!(
                ".lifeline-{id}-{:016x}.part",
                rand::random::<u64>()
            ));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(Self {
                        file: Some(file),
                        path: Some(path),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => {
                    attempts += 1;
                }
                Err(e) => return Err(TransferError::io("create a file in", dir, e)),
            }
        }
    }

    /// Appends `data`.
    pub(crate) fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.write_all(data),
            None => Err(io::Error::other("the temporary file is closed")),
        }
    }

    /// Flushes the content to stable storage and closes the file.
    pub(crate) fn sync_and_close(&mut self) -> io::Result<()> {
        match self.file.take() {
            Some(file) => file.sync_all(),
            None => Ok(()),
        }
    }

    /// The temporary file's path (for messages), if it still exists.
    pub(crate) fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or_else(|| Path::new(""))
    }

    /// Moves the (synced and closed) file to `dir/name`, or to `dir/name (n)` with the
    /// smallest `n` that does not exist, without ever replacing an existing file, and
    /// returns the final path.
    ///
    /// Each attempt is a hard link, which fails if the target exists, so a file that appears
    /// at the same moment is never overwritten; the temporary name is then removed. Where
    /// hard links are not supported (FAT, some network shares), the content is copied into a
    /// file created with `create_new` instead, which is removed again if the copy fails.
    pub(crate) fn place(mut self, dir: &Path, name: &str) -> Result<PathBuf, TransferError> {
        let temp = self.path().to_owned();
        for n in 0..=MAX_NUMBER {
            let target = dir.join(numbered_name(name, n));
            if target.parent() != Some(dir) {
                return Err(TransferError::OutsideFolder {
                    path: target,
                    dir: dir.to_owned(),
                });
            }
            let result = match fs::hard_link(&temp, &target) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                    tracing::debug!(error = %e, "hard link failed; copying instead");
                    copy_new(&temp, &target)
                }
                other => other,
            };
            match result {
                Ok(()) => {
                    self.remove();
                    return Ok(target);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(TransferError::io("save", target, e)),
            }
        }
        Err(TransferError::NoFreeName {
            dir: dir.to_owned(),
            name: name.to_owned(),
        })
    }

    /// Closes and removes the file; failures are logged, as there is nothing else to do.
    fn remove(&mut self) {
        self.file = None;
        if let Some(path) = self.path.take() {
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove temporary file");
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.path.is_some() {
            tracing::debug!(path = %self.path().display(), "discarding temporary file");
        }
        self.remove();
    }
}

/// Copies `from` into a new file `to`, failing with `AlreadyExists` if `to` exists; a
/// partial copy is removed.
fn copy_new(from: &Path, to: &Path) -> io::Result<()> {
    let mut target = OpenOptions::new().write(true).create_new(true).open(to)?;
    let copied = File::open(from)
        .and_then(|mut source| io::copy(&mut source, &mut target))
        .and_then(|_| target.sync_all());
    if copied.is_err() {
        drop(target);
        let _ = fs::remove_file(to);
    }
    copied
}

/// Flushes the folder's entries (the new name) to stable storage where the platform allows.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(dir = %dir.display(), error = %e, "could not sync folder");
    }
    #[cfg(not(unix))]
    let _ = dir;
}
