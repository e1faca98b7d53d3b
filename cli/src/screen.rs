//! What the helper does with the novice's screen without a window: `--record FILE.h264`
//! keeps every frame received, `--snapshot FILE.png` the latest picture (rewritten at most
//! every second, and once more at the end).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeline_core::connect::ReceivedFrame;
use lifeline_core::media::Frame;

use crate::error::CliError;

/// How often the snapshot is rewritten.
const SNAPSHOT_PERIOD: Duration = Duration::from_secs(1);

/// Writes the received screen to files.
#[derive(Debug, Default)]
pub struct Keeper {
    record: Option<(PathBuf, File)>,
    snapshot: Option<PathBuf>,
    latest: Option<Arc<Frame>>,
    written: Option<Instant>,
    /// Whether the latest picture is newer than the snapshot on disk.
    pending: bool,
}

impl Keeper {
    /// Opens `record` (created or truncated) and remembers `snapshot`.
    ///
    /// # Errors
    /// [`CliError::System`] if the recording cannot be created.
    pub fn new(record: Option<PathBuf>, snapshot: Option<PathBuf>) -> Result<Self, CliError> {
        let record = match record {
            Some(path) => {
                let file = File::create(&path).map_err(|e| {
                    CliError::System(format!("cannot create {}: {e}", path.display()))
                })?;
                Some((path, file))
            }
            None => None,
        };
        Ok(Self {
            record,
            snapshot,
            ..Self::default()
        })
    }

    /// Keeps one frame; returns an error message if a file could not be written (the
    /// recording then stops).
    pub fn keep(&mut self, frame: &ReceivedFrame) -> Option<String> {
        let mut problem = None;
        if let Some((path, file)) = &mut self.record
            && let Err(e) = file.write_all(&frame.encoded)
        {
            problem = Some(format!("recording to {} stopped: {e}", path.display()));
            self.record = None;
        }
        if self.snapshot.is_some() {
            self.latest = Some(frame.picture.clone());
            self.pending = true;
            if self
                .written
                .is_none_or(|at| at.elapsed() >= SNAPSHOT_PERIOD)
            {
                problem = self.write_snapshot().or(problem);
            }
        }
        problem
    }

    /// Writes the latest picture if the snapshot on disk is older; for the end of the
    /// session and the once-a-second tick.
    pub fn flush(&mut self) -> Option<String> {
        if self.pending {
            self.write_snapshot()
        } else {
            None
        }
    }

    fn write_snapshot(&mut self) -> Option<String> {
        let (Some(path), Some(picture)) = (&self.snapshot, &self.latest) else {
            return None;
        };
        self.written = Some(Instant::now());
        self.pending = false;
        let result = picture
            .to_png()
            .map_err(|e| e.to_string())
            .and_then(|png| replace(path, &png).map_err(|e| e.to_string()));
        result
            .err()
            .map(|e| format!("cannot write the snapshot {}: {e}", path.display()))
    }
}

/// Writes `bytes` to `path` through a temporary file, so that a reader never sees half a
/// picture.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".part");
    let temp = PathBuf::from(temp);
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}
