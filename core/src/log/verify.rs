//! Checking a session log's hash chain.

use std::fmt;
use std::path::Path;

use super::chain::{self, Hash};
use super::reader::{RawEntry, RawLog, parse_raw, read_limited};
use super::{LogError, printable};

/// The outcome of checking a session log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every entry is as it was written.
    Intact {
        /// How many entries the log holds.
        entries: u64,
        /// Whether the log was closed properly. `false` means its writer stopped during the
        /// session (crash, power loss) — or that entries at its end were cut off together
        /// with the closing record, which a hash chain cannot tell apart.
        finished: bool,
    },
    /// The log was changed after it was written.
    Tampered {
        /// The number (seq) of the first entry that cannot be trusted: the changed entry,
        /// or the position where entries were removed, inserted or reordered. `0` means the
        /// log's header.
        entry: u64,
        /// One line saying what was found, e.g. `entry 7 (chat at 2026-11-23T09:41:02.000Z)
        /// was changed after it was written`.
        reason: String,
    },
}

impl Verification {
    /// Whether the log is intact (finished or not).
    pub fn is_intact(&self) -> bool {
        matches!(self, Self::Intact { .. })
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Intact {
                entries,
                finished: true,
            } => write!(f, "intact: {entries} entries, closed properly"),
            Self::Intact {
                entries,
                finished: false,
            } => write!(
                f,
                "intact: {entries} entries, but the log was not closed (Lifeline stopped during the session)"
            ),
            Self::Tampered { reason, .. } => f.write_str(reason),
        }
    }
}

/// Checks the hash chain of the session log at `path`.
///
/// A log that cannot be read at all (not a session log, damaged XML, too large) is an
/// error; a readable log whose entries do not match their hashes is [`Verification::Tampered`].
pub fn verify(path: impl AsRef<Path>) -> Result<Verification, LogError> {
    verify_bytes(&read_limited(path.as_ref())?)
}

/// Checks the hash chain of a session log held in memory; see [`verify`].
pub fn verify_bytes(bytes: &[u8]) -> Result<Verification, LogError> {
    Ok(check(&parse_raw(bytes)?))
}

fn tampered(entry: u64, reason: String) -> Verification {
    Verification::Tampered { entry, reason }
}

/// `entry 7 (chat at 2026-11-23T09:41:02.000Z)`.
fn describe(seq: u64, entry: &RawEntry) -> String {
    format!(
        "entry {seq} ({} at {})",
        printable(&entry.event),
        printable(&entry.time)
    )
}

fn check(log: &RawLog) -> Verification {
    let mut previous: Hash = chain::header_hash(&log.role, &log.invitation, &log.start);
    let mut expected: u64 = 1;
    for (i, entry) in log.entries.iter().enumerate() {
        let Ok(seq) = entry.seq.parse::<u64>() else {
            return tampered(
                expected,
                format!(
                    "entry {expected} has the unreadable number {:?}; it was changed after it was written",
                    printable(&entry.seq)
                ),
            );
        };
        if seq != expected {
            return tampered(expected, misplaced(log, i, entry, expected, seq));
        }
        let computed = chain::entry_hash(
            &previous,
            &entry.seq,
            &entry.time,
            &entry.event,
            entry.fields.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        );
        let Some(stored) = chain::from_hex(&entry.hash) else {
            return tampered(
                seq,
                format!(
                    "{} has an unreadable hash; it was changed after it was written",
                    describe(seq, entry)
                ),
            );
        };
        if computed != stored {
            let header = if seq == 1 {
                " (or the log's header was)"
            } else {
                ""
            };
            return tampered(
                seq,
                format!(
                    "{} was changed after it was written{header}",
                    describe(seq, entry)
                ),
            );
        }
        previous = stored;
        expected += 1;
    }
    let count = expected - 1;

    match &log.end {
        Some(end) => {
            let claimed = end.entries.parse::<u64>().ok();
            match claimed {
                Some(claimed) if claimed > count => {
                    return tampered(
                        count + 1,
                        format!(
                            "entries {} to {claimed} were removed from the end of the log",
                            count + 1
                        ),
                    );
                }
                Some(claimed) if claimed < count => {
                    return tampered(
                        claimed + 1,
                        format!("entry {} was added after the log was closed", claimed + 1),
                    );
                }
                _ => {}
            }
            let computed = chain::end_hash(&previous, &end.entries);
            if claimed.is_none() || chain::from_hex(&end.hash) != Some(computed) {
                return if count == 0 {
                    tampered(
                        0,
                        "the log's header or closing record was changed after it was written"
                            .to_owned(),
                    )
                } else {
                    tampered(
                        count,
                        format!(
                            "the closing record does not match entry {count}: the log was changed after it was closed"
                        ),
                    )
                };
            }
        }
        None if log.closed => {
            return tampered(
                count + 1,
                format!(
                    "the log's closing record is missing: entries after entry {count} may have been removed"
                ),
            );
        }
        None => {}
    }
    Verification::Intact {
        entries: count,
        finished: log.closed,
    }
}

/// Explains why `entry`, found at position `index` with number `seq`, is not the entry
/// `expected` that was due there.
fn misplaced(log: &RawLog, index: usize, entry: &RawEntry, expected: u64, seq: u64) -> String {
    let found = describe(seq, entry);
    let place = if expected == 1 {
        "is the first entry".to_owned()
    } else {
        format!("follows entry {}", expected - 1)
    };
    let later = log
        .entries
        .iter()
        .skip(index + 1)
        .any(|e| e.seq.parse::<u64>() == Ok(expected));
    if seq < expected {
        format!("an entry was inserted: {found} appears a second time, and {place}")
    } else if later {
        format!("entries were reordered: {found} comes before entry {expected}")
    } else if seq == expected + 1 {
        format!("entry {expected} was removed: {found} {place}")
    } else {
        format!(
            "entries {expected} to {} were removed: {found} {place}",
            seq - 1
        )
    }
}
