//! The hash chain that makes a session log tamper-evident (its encoding is documented in
//! the module documentation of [`crate::log`]), and the time formats it covers.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// A SHA-256 value in the chain.
pub(crate) type Hash = [u8; 32];

const DOMAIN: &str = "lifeline-sessionlog-v1";

/// The time format of the log: UTC, milliseconds, e.g. `2026-11-23T09:37:00.123Z`.
const TIME_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The time format of log file names: `YYYYMMDDHHMMSS`, UTC.
const FILE_NAME_FORMAT: &[FormatItem<'static>] =
    format_description!("[year][month][day][hour][minute][second]");

/// `t` in UTC, truncated to whole milliseconds (the precision the log keeps).
pub(crate) fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t)
}

/// `t` as the log writes it (see [`TIME_FORMAT`]), or `None` if its year is outside
/// 0 to 9999, which the format cannot hold.
pub(crate) fn format_time(t: OffsetDateTime) -> Option<String> {
    let t = truncate(t);
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    t.format(TIME_FORMAT).ok()
}

/// Parses a time written by [`format_time`] (any RFC 3339 time is accepted).
pub(crate) fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

/// The file name stem for a session started at `start`: `YYYYMMDDHHMMSS` in UTC, or
/// `None` if the year is outside 0 to 9999.
pub(crate) fn file_stem(start: OffsetDateTime) -> Option<String> {
    let t = start.to_offset(time::UtcOffset::UTC);
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    t.format(FILE_NAME_FORMAT).ok()
}

fn put(hasher: &mut Sha256, s: &str) {
    hasher.update((s.len() as u64).to_be_bytes());
    hasher.update(s.as_bytes());
}

/// The hash the first entry is chained to.
pub(crate) fn header_hash(role: &str, invitation: &str, start: &str) -> Hash {
    let mut h = Sha256::new();
    put(&mut h, DOMAIN);
    put(&mut h, role);
    put(&mut h, invitation);
    put(&mut h, start);
    h.finalize().into()
}

/// The hash of one entry, chained to `previous`.
pub(crate) fn entry_hash<'a>(
    previous: &Hash,
    seq: &str,
    time: &str,
    event: &str,
    fields: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> Hash {
    let mut h = Sha256::new();
    h.update(previous);
    put(&mut h, "entry");
    put(&mut h, seq);
    put(&mut h, time);
    put(&mut h, event);
    put(&mut h, &fields.len().to_string());
    for (name, text) in fields {
        put(&mut h, name);
        put(&mut h, text);
    }
    h.finalize().into()
}

/// The hash of the end record, chained to the last entry (or the header).
pub(crate) fn end_hash(previous: &Hash, entries: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(previous);
    put(&mut h, "end");
    put(&mut h, entries);
    h.finalize().into()
}

/// Parses 64 hex digits (either case).
pub(crate) fn from_hex(s: &str) -> Option<Hash> {
    let digits: Vec<u32> = s.chars().map(|c| c.to_digit(16)).collect::<Option<_>>()?;
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        if let [high, low] = pair {
            *o = u8::try_from(high * 16 + low).ok()?;
        }
    }
    Some(out)
}
