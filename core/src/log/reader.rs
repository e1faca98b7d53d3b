//! Reading a session log, including one whose writer stopped mid-session.
//!
//! Reading happens in two steps: [`parse_raw`] turns the XML into the texts the hash chain
//! covers (used by verification, which must see exactly what is in the file), and
//! [`parse_log`] turns those into typed entries.

use std::io::Read;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use time::OffsetDateTime;

use super::escape::{CONTROL_ATTRIBUTE, CONTROL_ELEMENT};
use super::{LogError, LogEvent, MAX_LOG_SIZE, NAMESPACE, Role, VERSION, chain, printable};

/// A session log as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLog {
    /// Which side of the session wrote the log.
    pub role: Role,
    /// The id of the session's invitation.
    pub invitation_id: String,
    /// When the session started (UTC, to the millisecond).
    pub start: OffsetDateTime,
    /// The complete entries, in file order. An entry cut off by a crash is left out.
    pub entries: Vec<LogEntry>,
    /// Whether the log was closed (its closing tag is present). A log whose writer stopped
    /// (crash, power loss) reads as not finished.
    pub finished: bool,
}

/// One entry of a session log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The entry's number: 1 for the first entry, counting up.
    pub seq: u64,
    /// When the event happened (UTC, to the millisecond).
    pub time: OffsetDateTime,
    /// What happened.
    pub event: LogEvent,
}

/// The log's texts as written, before interpretation.
#[derive(Debug, Default)]
pub(crate) struct RawLog {
    pub role: String,
    pub invitation: String,
    pub start: String,
    pub entries: Vec<RawEntry>,
    pub end: Option<RawEnd>,
    /// Whether `</sessionlog>` was read.
    pub closed: bool,
}

/// One entry's texts as written.
#[derive(Debug, Default)]
pub(crate) struct RawEntry {
    /// Byte offset of the entry's start tag.
    pub offset: u64,
    pub seq: String,
    pub time: String,
    pub event: String,
    pub hash: String,
    pub fields: Vec<(String, String)>,
}

/// The end record's texts as written.
#[derive(Debug, Default)]
pub(crate) struct RawEnd {
    pub entries: String,
    pub hash: String,
}

/// Reads and parses the session log at `path`. Files over [`MAX_LOG_SIZE`] are refused
/// before they are read.
pub fn read_log(path: impl AsRef<Path>) -> Result<ParsedLog, LogError> {
    parse_log(&read_limited(path.as_ref())?)
}

/// Parses a session log held in memory. Input over [`MAX_LOG_SIZE`] is refused before
/// parsing; any other input gives a log or an error, never a panic.
pub fn parse_log(bytes: &[u8]) -> Result<ParsedLog, LogError> {
    let raw = parse_raw(bytes)?;
    let role = raw.role.parse::<Role>().map_err(|_| LogError::Malformed {
        offset: 0,
        reason: format!(
            "the role {:?} is neither novice nor helper",
            printable(&raw.role)
        ),
    })?;
    let start = chain::parse_time(&raw.start).ok_or_else(|| LogError::Malformed {
        offset: 0,
        reason: format!("the start time {:?} is not a time", printable(&raw.start)),
    })?;
    let entries = raw
        .entries
        .iter()
        .map(interpret)
        .collect::<Result<_, _>>()?;
    Ok(ParsedLog {
        role,
        invitation_id: raw.invitation,
        start,
        entries,
        finished: raw.closed,
    })
}

fn interpret(raw: &RawEntry) -> Result<LogEntry, LogError> {
    let malformed = |reason: String| LogError::Malformed {
        offset: raw.offset,
        reason: format!("entry {}: {reason}", printable(&raw.seq)),
    };
    let seq = raw
        .seq
        .parse()
        .map_err(|_| malformed("the entry number is not a number".to_owned()))?;
    let time = chain::parse_time(&raw.time)
        .ok_or_else(|| malformed(format!("the time {:?} is not a time", printable(&raw.time))))?;
    let event = LogEvent::from_fields(&raw.event, &raw.fields).map_err(malformed)?;
    Ok(LogEntry { seq, time, event })
}

/// Reads at most [`MAX_LOG_SIZE`] bytes of `path`, refusing larger files.
pub(crate) fn read_limited(path: &Path) -> Result<Vec<u8>, LogError> {
    let read_error = |source| LogError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > MAX_LOG_SIZE {
        return Err(LogError::TooLarge { size });
    }
    let mut bytes = Vec::new();
    file.take(MAX_LOG_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_LOG_SIZE {
        return Err(LogError::TooLarge {
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// Where the parser is in the document.
enum State {
    /// Before the root element.
    Prolog,
    /// Inside the root, between entries.
    Root,
    /// Inside an entry, between fields.
    Entry(RawEntry),
    /// Inside a field of an entry.
    Field(RawEntry, String, String),
    /// After the end record.
    Ended,
    /// After the root element.
    Epilog,
}

/// Parses the XML of a log into its raw texts. A document cut off after its header (the
/// writer stopped) yields the complete entries before the cut, with `closed` false.
pub(crate) fn parse_raw(bytes: &[u8]) -> Result<RawLog, LogError> {
    if bytes.len() as u64 > MAX_LOG_SIZE {
        return Err(LogError::TooLarge {
            size: bytes.len() as u64,
        });
    }
    let len = bytes.len() as u64;
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    reader.config_mut().expand_empty_elements = false;

    let mut log = RawLog::default();
    let mut state = State::Prolog;
    loop {
        let offset = reader.buffer_position();
        // Past the header and before the closing tag, the input may end anywhere.
        let cut_ok = !matches!(state, State::Prolog | State::Epilog);
        let malformed = |reason: String| LogError::Malformed { offset, reason };
        let event = match reader.read_event() {
            Ok(event) => event,
            // Every syntax error is the input ending inside markup: the writer stopped.
            Err(quick_xml::Error::Syntax(_)) if cut_ok => {
                return Ok(log);
            }
            Err(e) => {
                return Err(LogError::Malformed {
                    offset: reader.error_position(),
                    reason: printable(&e.to_string()),
                });
            }
        };
        let at_end = cut_ok && reader.buffer_position() >= len;
        state = match (state, event) {
            (_, Event::DocType(_)) => {
                return Err(malformed(
                    "document type declarations are not allowed".to_owned(),
                ));
            }
            (State::Prolog, Event::Eof) => {
                return Err(malformed("the session log header is missing".to_owned()));
            }
            (State::Epilog, Event::Eof) => return Ok(log),
            // The writer stopped: keep the complete entries, drop a partial one.
            (_, Event::Eof) => return Ok(log),
            (state, Event::Comment(_) | Event::PI(_) | Event::Decl(_)) => state,
            (state, Event::Text(t)) => match state {
                State::Field(entry, name, mut value) => match t.unescape() {
                    Ok(text) => {
                        value.push_str(&text);
                        State::Field(entry, name, value)
                    }
                    Err(_) if at_end => return Ok(log),
                    Err(e) => return Err(malformed(printable(&e.to_string()))),
                },
                state if is_blank(&t) => state,
                _ if at_end => return Ok(log),
                _ => return Err(malformed("unexpected text between elements".to_owned())),
            },
            (State::Field(entry, name, mut value), Event::CData(t)) => match t.decode() {
                Ok(text) => {
                    value.push_str(&text);
                    State::Field(entry, name, value)
                }
                Err(e) => return Err(malformed(printable(&e.to_string()))),
            },
            (State::Prolog, Event::Start(e)) if e.name().as_ref() == b"sessionlog" => {
                read_header(&e, &mut log).map_err(malformed)?;
                State::Root
            }
            (State::Root, Event::Start(e)) if e.name().as_ref() == b"entry" => {
                State::Entry(read_entry(&e, offset).map_err(malformed)?)
            }
            (State::Root, Event::Empty(e)) if e.name().as_ref() == b"entry" => {
                log.entries.push(read_entry(&e, offset).map_err(malformed)?);
                State::Root
            }
            (State::Root, Event::Empty(e)) if e.name().as_ref() == b"end" => {
                log.end = Some(read_end(&e).map_err(malformed)?);
                State::Ended
            }
            (State::Root | State::Ended, Event::End(e)) if e.name().as_ref() == b"sessionlog" => {
                log.closed = true;
                State::Epilog
            }
            (State::Entry(entry), Event::Start(e)) => {
                let name = element_name(e.name().as_ref()).map_err(malformed)?;
                State::Field(entry, name, String::new())
            }
            (State::Entry(mut entry), Event::Empty(e)) => {
                let name = element_name(e.name().as_ref()).map_err(malformed)?;
                entry.fields.push((name, String::new()));
                State::Entry(entry)
            }
            (State::Entry(entry), Event::End(_)) => {
                log.entries.push(entry);
                State::Root
            }
            (State::Field(entry, name, mut value), Event::Empty(e))
                if e.name().as_ref() == CONTROL_ELEMENT.as_bytes() =>
            {
                value.push(read_control(&e).map_err(malformed)?);
                State::Field(entry, name, value)
            }
            (State::Field(mut entry, name, value), Event::End(_)) => {
                entry.fields.push((name, value));
                State::Entry(entry)
            }
            (_, Event::Start(e) | Event::Empty(e)) => {
                return Err(malformed(format!(
                    "unexpected element <{}>",
                    printable(&String::from_utf8_lossy(e.name().as_ref()))
                )));
            }
            (_, Event::End(e)) => {
                return Err(malformed(format!(
                    "unexpected closing tag </{}>",
                    printable(&String::from_utf8_lossy(e.name().as_ref()))
                )));
            }
            (_, Event::CData(_)) => {
                return Err(malformed("unexpected CDATA section".to_owned()));
            }
        };
    }
}

fn is_blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

/// Takes the listed attributes of `e` (all required, duplicates refused); `optional`
/// attributes must have the given value; any other attribute is refused.
fn take_attributes<const N: usize>(
    e: &BytesStart<'_>,
    element: &str,
    names: [&str; N],
    optional: &[(&str, &str)],
) -> Result<[String; N], String> {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    for attribute in e.attributes().with_checks(true) {
        let attribute = attribute.map_err(|e| printable(&e.to_string()))?;
        let value = attribute
            .unescape_value()
            .map_err(|e| printable(&e.to_string()))?;
        let key = attribute.key.as_ref();
        if let Some(i) = names.iter().position(|n| n.as_bytes() == key) {
            if let Some(slot) = values.get_mut(i) {
                *slot = Some(value.into_owned());
            }
        } else if let Some((name, expected)) = optional.iter().find(|(n, _)| n.as_bytes() == key) {
            if value != *expected {
                return Err(format!(
                    "<{element}> has {name}={:?}, expected {expected:?}",
                    printable(&value)
                ));
            }
        } else {
            return Err(format!(
                "<{element}> has an unknown attribute {}",
                printable(&String::from_utf8_lossy(key))
            ));
        }
    }
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for ((slot, value), name) in out.iter_mut().zip(values).zip(names) {
        *slot = value.ok_or_else(|| format!("<{element}> has no {name} attribute"))?;
    }
    Ok(out)
}

fn read_header(e: &BytesStart<'_>, log: &mut RawLog) -> Result<(), String> {
    let [version, role, invitation, start] = take_attributes(
        e,
        "sessionlog",
        ["version", "role", "invitation", "start"],
        &[("xmlns", NAMESPACE)],
    )?;
    if version != VERSION {
        return Err(format!(
            "the log has format version {:?}, which this Lifeline does not understand; update Lifeline",
            printable(&version)
        ));
    }
    log.role = role;
    log.invitation = invitation;
    log.start = start;
    Ok(())
}

fn read_entry(e: &BytesStart<'_>, offset: u64) -> Result<RawEntry, String> {
    let [seq, time, event, hash] =
        take_attributes(e, "entry", ["seq", "time", "event", "hash"], &[])?;
    Ok(RawEntry {
        offset,
        seq,
        time,
        event,
        hash,
        fields: Vec::new(),
    })
}

fn read_end(e: &BytesStart<'_>) -> Result<RawEnd, String> {
    let [entries, hash] = take_attributes(e, "end", ["entries", "hash"], &[])?;
    Ok(RawEnd { entries, hash })
}

fn read_control(e: &BytesStart<'_>) -> Result<char, String> {
    let [code] = take_attributes(e, CONTROL_ELEMENT, [CONTROL_ATTRIBUTE], &[])?;
    u32::from_str_radix(&code, 16)
        .ok()
        .filter(|_| code.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(char::from_u32)
        .ok_or_else(|| {
            format!(
                "<{CONTROL_ELEMENT}> has an invalid code {:?}",
                printable(&code)
            )
        })
}

fn element_name(name: &[u8]) -> Result<String, String> {
    std::str::from_utf8(name)
        .map(str::to_owned)
        .map_err(|_| "an element name is not UTF-8".to_owned())
}
