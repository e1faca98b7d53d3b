//! Writing a session log: one file per session, each entry on disk as soon as it happens.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::chain::{self, Hash};
use super::escape::{is_xml_char, push_attribute, push_text};
use super::{FILE_EXTENSION, LogError, LogEvent, NAMESPACE, Role, VERSION};

/// How many `-N` suffixes are tried before giving up on finding a free file name.
const MAX_SUFFIX: u32 = 9999;

/// An open session log being written.
///
/// Each [`append`](Self::append) writes one complete entry and waits until it is on disk,
/// so a crash loses at most the event being written. [`finish`](Self::finish) closes the
/// document; a log dropped without it stays readable (it reads as unfinished).
#[derive(Debug)]
pub struct SessionLog {
    file: File,
    path: PathBuf,
    /// Number of entries written so far (the last entry's seq).
    entries: u64,
    /// Hash of the last entry written, or of the header.
    last_hash: Hash,
    /// Set when a write failed: the file may end in a partial entry, so nothing more is
    /// appended to it.
    broken: bool,
}

impl SessionLog {
    /// Creates the log file for a session started at `start`, in `dir` (created if
    /// missing), and writes its header.
    ///
    /// The file is named `YYYYMMDDHHMMSS.xml` after `start` in UTC; if that name is taken,
    /// `YYYYMMDDHHMMSS-1.xml`, `-2`, … An existing file is never overwritten.
    pub fn create(
        dir: impl AsRef<Path>,
        role: Role,
        invitation_id: &str,
        start: OffsetDateTime,
    ) -> Result<SessionLog, LogError> {
        if let Some(c) = invitation_id.chars().find(|&c| !is_xml_char(c)) {
            return Err(LogError::InvalidInvitationId { code: u32::from(c) });
        }
        let (Some(stem), Some(start)) = (chain::file_stem(start), chain::format_time(start)) else {
            return Err(LogError::TimeOutOfRange { year: start.year() });
        };
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| LogError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let (mut file, path) = create_unique(dir, &stem)?;

        let mut header = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        header.push_str(&format!(
            "<sessionlog xmlns=\"{NAMESPACE}\" version=\"{VERSION}\" role=\"{role}\" invitation=\""
        ));
        push_attribute(&mut header, invitation_id);
        header.push_str(&format!("\" start=\"{start}\">\n"));
        write_synced(&mut file, &path, &header)?;

        Ok(SessionLog {
            file,
            path,
            entries: 0,
            last_hash: chain::header_hash(role.as_str(), invitation_id, &start),
            broken: false,
        })
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many entries have been written.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Writes `event`, which happened at `at` (kept to the millisecond, in UTC), as the
    /// next entry, and waits until it is on disk.
    ///
    /// After a failed write the log refuses further entries (the file may end in a partial
    /// entry, which readers treat as the point where the log stopped).
    pub fn append(&mut self, event: LogEvent, at: OffsetDateTime) -> Result<(), LogError> {
        if self.broken {
            return Err(LogError::Broken {
                path: self.path.clone(),
            });
        }
        let seq = (self.entries + 1).to_string();
        let time = chain::format_time(at).ok_or(LogError::TimeOutOfRange { year: at.year() })?;
        let name = event.name();
        let fields = event.fields();
        let hash = chain::entry_hash(
            &self.last_hash,
            &seq,
            &time,
            name,
            fields.iter().map(|(n, t)| (*n, t.as_str())),
        );

        let mut line = format!(
            "  <entry seq=\"{seq}\" time=\"{time}\" event=\"{name}\" hash=\"{}\">",
            crate::hex::encode(&hash)
        );
        for (field, text) in &fields {
            line.push('<');
            line.push_str(field);
            line.push('>');
            push_text(&mut line, text);
            line.push_str("</");
            line.push_str(field);
            line.push('>');
        }
        line.push_str("</entry>\n");
        self.write(&line)?;
        self.entries += 1;
        self.last_hash = hash;
        Ok(())
    }

    /// Writes the end record (entry count and final hash, so that removing entries from the
    /// end is detected) and the closing tag, and returns the file's path.
    pub fn finish(mut self) -> Result<PathBuf, LogError> {
        if self.broken {
            return Err(LogError::Broken { path: self.path });
        }
        let entries = self.entries.to_string();
        let hash = chain::end_hash(&self.last_hash, &entries);
        let tail = format!(
            "  <end entries=\"{entries}\" hash=\"{}\"/>\n</sessionlog>\n",
            crate::hex::encode(&hash)
        );
        self.write(&tail)?;
        Ok(self.path)
    }

    fn write(&mut self, text: &str) -> Result<(), LogError> {
        let result = write_synced(&mut self.file, &self.path, text);
        if result.is_err() {
            self.broken = true;
        }
        result
    }
}

/// Writes `text` and waits until the data is on disk.
fn write_synced(file: &mut File, path: &Path, text: &str) -> Result<(), LogError> {
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .and_then(|()| file.sync_data())
        .map_err(|source| LogError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// Creates `dir/stem.xml`, or `dir/stem-N.xml` for the smallest free N.
fn create_unique(dir: &Path, stem: &str) -> Result<(File, PathBuf), LogError> {
    for suffix in 0..=MAX_SUFFIX {
        let name = if suffix == 0 {
            format!("{stem}.{FILE_EXTENSION}")
        } else {
            format!("{stem}-{suffix}.{FILE_EXTENSION}")
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(LogError::CreateFile {
                    dir: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
    Err(LogError::NoFreeName {
        dir: dir.to_path_buf(),
        stem: stem.to_owned(),
    })
}
