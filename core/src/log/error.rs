use std::path::PathBuf;

use thiserror::Error;

use super::MAX_LOG_SIZE;

/// Why a session log could not be written or read.
///
/// Every message is one line that says what went wrong and, where there is one, what to do.
#[derive(Debug, Error)]
pub enum LogError {
    /// The log folder does not exist and could not be created.
    #[error(
        "cannot create the session log folder {}: {source}; choose another folder for session logs",
        path.display()
    )]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// No log file could be created in the folder.
    #[error(
        "cannot create a session log in {}: {source}; check that the folder is writable",
        dir.display()
    )]
    CreateFile {
        /// The folder.
        dir: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Every name for this session's log is taken.
    #[error(
        "cannot create a session log in {}: {stem}.xml and all its numbered variants exist; move old logs away",
        dir.display()
    )]
    NoFreeName {
        /// The folder.
        dir: PathBuf,
        /// The file name without suffix and extension.
        stem: String,
    },
    /// The invitation id holds a character an XML attribute cannot carry.
    #[error("cannot log a session whose invitation id contains the control character U+{code:04X}")]
    InvalidInvitationId {
        /// The offending code point.
        code: u32,
    },
    /// A time is outside the years the log format can hold.
    #[error("cannot log a time in the year {year}; check this computer's clock")]
    TimeOutOfRange {
        /// The time's year.
        year: i32,
    },
    /// Writing to the log file failed.
    #[error(
        "cannot write to the session log {}: {source}; check free disk space (the log is kept up to the last complete entry)",
        path.display()
    )]
    Write {
        /// The log file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// An earlier write failed, so the log accepts nothing more.
    #[error(
        "the session log {} stopped after an earlier write error; nothing more is added to it",
        path.display()
    )]
    Broken {
        /// The log file.
        path: PathBuf,
    },
    /// The log file could not be read.
    #[error("cannot read the session log {}: {source}", path.display())]
    Read {
        /// The log file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The input is larger than any session log may be; it was refused before parsing.
    #[error(
        "the file is {size} bytes, more than the {MAX_LOG_SIZE} bytes a session log may have; it is not a Lifeline session log"
    )]
    TooLarge {
        /// The input's size in bytes.
        size: u64,
    },
    /// The input is not a readable session log.
    #[error("not a readable Lifeline session log: {reason} (at byte {offset})")]
    Malformed {
        /// Byte offset in the input near the problem.
        offset: u64,
        /// What is wrong, one line.
        reason: String,
    },
}
