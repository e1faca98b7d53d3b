//! Session logs: a tamper-evident XML record of each session, kept by both sides.
//!
//! One file per session, named `YYYYMMDDHHMMSS.xml` after the session's start time in UTC
//! (`-1`, `-2`, … added if the name is taken; a file is never overwritten), in
//! [`default_log_dir`] or a folder the caller chooses. It records connection, consent,
//! control, chat, files, pause and bandwidth ([`LogEvent`]) — never what the helper did on
//! the screen.
//!
//! # Format
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <sessionlog xmlns="urn:lifeline:sessionlog" version="1" role="novice" invitation="inv-7f3a" start="2026-11-23T09:36:58.000Z">
//!   <entry seq="1" time="2026-11-23T09:37:00.123Z" event="invitation_opened" hash="3b1f…"><id>inv-7f3a</id></entry>
//!   <entry seq="2" time="2026-11-23T09:41:02.000Z" event="chat" hash="9c04…"><from>helper</from><text>Click &lt;Start&gt; &amp; wait&#10;<ctl code="1B"/></text></entry>
//!   <entry seq="3" time="2026-11-23T09:45:10.500Z" event="consent_granted" hash="51aa…"></entry>
//!   <end entries="3" hash="e2d9…"/>
//! </sessionlog>
//! ```
//!
//! - The root carries the writer's [`Role`], the invitation id and the session's start
//!   time. Times are UTC with milliseconds; the writer keeps times to the millisecond.
//! - Each `<entry>` has its number `seq` (1, 2, …), `time`, `event` (the snake_case name of
//!   the [`LogEvent`] variant, see [`LogEvent::name`]) and `hash`, and one child element
//!   per field of the event, named as the field (`<from>`, `<text>`, `<size>`, …), in the
//!   variant's field order. Numbers are decimal.
//! - Field text is escaped so that any string reads back exactly: `&`, `<`, `>` as
//!   `&amp;`, `&lt;`, `&gt;`; carriage return and line feed as `&#13;` and `&#10;` (so every
//!   entry is one line); characters XML 1.0 cannot hold (the C0 controls other than tab,
//!   line feed and carriage return, and U+FFFE, U+FFFF) as `<ctl code="HEX"/>` with the code
//!   point in hex, e.g. NUL is `<ctl code="0"/>`.
//! - `finish` writes `<end>` (entry count and final hash) and the closing tag. A log whose
//!   writer stopped has neither, and reads as not finished.
//!
//! # Hash chain
//!
//! Hashes are lower-case hex SHA-256. Each string below is hashed as its UTF-8 length
//! (8 bytes, big-endian) followed by its bytes; numbers and times as the text in the file;
//! field texts as they read back (unescaped).
//!
//! - header hash = SHA-256(`"lifeline-sessionlog-v1"`, role, invitation id, start time)
//! - entry hash = SHA-256(previous hash (32 bytes) ‖ `"entry"`, seq, time, event name,
//!   number of fields, then each field's name and text), where the previous hash of entry 1
//!   is the header hash
//! - end hash = SHA-256(last entry's hash (the header hash if there is none) ‖ `"end"`,
//!   number of entries)
//!
//! [`verify`] recomputes the chain and names the first entry that does
//! not match, so an edited, deleted, inserted or reordered entry is found, as is a header
//! change or the removal of entries from the end of a closed log. The chain holds no
//! secret: it reveals changes made with an editor, not a forger who recomputes every hash.
//!
//! # Durability and untrusted input
//!
//! Each entry is written, flushed and synced (`sync_data`) as it happens, so a crash loses
//! at most the event being written; the reader accepts a file cut off anywhere after its
//! header and returns the complete entries. Reading refuses input over [`MAX_LOG_SIZE`]
//! before parsing, refuses document type declarations (so no entity is ever expanded) and
//! never panics.

mod chain;
mod error;
mod escape;
mod event;
mod reader;
mod verify;
mod writer;

use std::path::PathBuf;

pub use error::LogError;
pub use event::LogEvent;
pub use reader::{LogEntry, ParsedLog, parse_log, read_log};
pub use verify::{Verification, verify, verify_bytes};
pub use writer::SessionLog;

/// The XML namespace of a session log.
pub const NAMESPACE: &str = "urn:lifeline:sessionlog";
/// The log format version this code writes and reads.
pub const VERSION: &str = "1";
/// File extension of a session log, without the dot.
pub const FILE_EXTENSION: &str = "xml";
/// Input longer than this (64 MiB) is refused before any parsing.
pub const MAX_LOG_SIZE: u64 = 64 * 1024 * 1024;
/// Name of the log folder inside the user's documents folder.
pub const LOG_DIR_NAME: &str = "Lifeline Logs";

pub use crate::Role;

/// The default folder for session logs: `Lifeline Logs` in the user's documents folder.
///
/// The documents folder is `$XDG_DOCUMENTS_DIR` if set (a leading `$HOME` in it is
/// expanded), otherwise `Documents` under `%USERPROFILE%` on Windows and `$HOME` elsewhere.
/// `None` if no home folder is known.
pub fn default_log_dir() -> Option<PathBuf> {
    let home_var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    log_dir_from(
        std::env::var_os(home_var).map(PathBuf::from),
        std::env::var("XDG_DOCUMENTS_DIR").ok(),
    )
}

/// [`default_log_dir`] from the home folder and `XDG_DOCUMENTS_DIR`.
fn log_dir_from(home: Option<PathBuf>, xdg_documents: Option<String>) -> Option<PathBuf> {
    let home = home.filter(|h| !h.as_os_str().is_empty());
    let documents = match xdg_documents.filter(|d| !d.is_empty()) {
        Some(dir) => match dir.strip_prefix("$HOME") {
            Some(rest) => home?.join(rest.trim_start_matches('/')),
            None => PathBuf::from(dir),
        },
        None => home?.join("Documents"),
    };
    Some(documents.join(LOG_DIR_NAME))
}

/// `s` made safe for a one-line message: control characters escaped, at most 80 characters.
fn printable(s: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_prefers_xdg_documents() {
        let home = Some(PathBuf::from("/home/ann"));
        assert_eq!(
            log_dir_from(home.clone(), None),
            Some(PathBuf::from("/home/ann/Documents/Lifeline Logs"))
        );
        assert_eq!(
            log_dir_from(home.clone(), Some("/data/Docs".into())),
            Some(PathBuf::from("/data/Docs/Lifeline Logs"))
        );
        assert_eq!(
            log_dir_from(home, Some("$HOME/Dokumente".into())),
            Some(PathBuf::from("/home/ann/Dokumente/Lifeline Logs"))
        );
        assert_eq!(log_dir_from(None, None), None);
    }

    #[test]
    fn printable_is_one_line_and_short() {
        let p = printable(&format!("a\nb\u{0}{}", "x".repeat(200)));
        assert!(!p.contains('\n') && !p.contains('\u{0}'));
        assert!(p.chars().count() < 100);
    }
}
