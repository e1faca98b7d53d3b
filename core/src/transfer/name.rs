//! Cleaning the file name a peer offers, and numbering names that are already taken.

use std::path::{Path, PathBuf};

use super::error::{TransferError, display_name};

/// The longest file name, in bytes of UTF-8, that a cleaned name may have (the limit of
/// ext4, APFS and NTFS — the latter counts UTF-16 units, which are never more than bytes).
pub const MAX_NAME_BYTES: usize = 255;

/// An extension longer than this (in bytes, with its dot) is treated as part of the name
/// when a name is shortened or numbered.
const MAX_EXTENSION_BYTES: usize = 32;

/// Characters Windows does not allow in file names; each is replaced by `_`.
/// (`/` and `\` never get this far: they separate path components.)
const WINDOWS_INVALID: [char; 7] = ['<', '>', ':', '"', '|', '?', '*'];

/// Turns the file name offered by the peer into one that is safe to create in the
/// receiver's folder, or says why there is none.
///
/// The offered name is hostile. The rules, in order:
/// 1. **Last component only.** The name is split on both `/` and `\` and only the part after
///    the last separator is kept, so `../../etc/passwd` becomes `passwd` and
///    `..\..\boot.ini` becomes `boot.ini`.
/// 2. **No control characters.** NUL and every other control character (C0, DEL, C1) are
///    removed: they are invalid on Windows and can hide parts of a name in a terminal.
/// 3. **No bidirectional controls.** U+202A–U+202E and U+2066–U+2069 are removed, so
///    `a\u{202e}fdp.exe` (shown as `aexe.pdf`) becomes `afdp.exe`, showing its real extension.
/// 4. **Windows-invalid characters** `< > : " | ? *` are replaced by `_` (this also stops
///    NTFS alternate data streams such as `a.txt:hidden`).
/// 5. **No leading or trailing dots or whitespace.** Windows drops trailing dots and spaces
///    silently, and a leading dot hides a file on Unix. This also turns `.` and `..` into
///    nothing.
/// 6. **Not empty.** A name with nothing left is refused with
///    [`TransferError::InvalidName`].
/// 7. **No reserved device names.** `CON`, `PRN`, `AUX`, `NUL`, `CONIN$`, `CONOUT$`,
///    `COM0`–`COM9` and `LPT0`–`LPT9` (also with the superscript digits ¹ ² ³), in any case,
///    with or without an extension, and with trailing spaces before the extension, open a
///    device on Windows; such names get a leading `_` (`con.txt` becomes `_con.txt`).
/// 8. **At most [`MAX_NAME_BYTES`] bytes.** Longer names are shortened on a character
///    boundary, keeping the extension (if it is at most 32 bytes), so `aaa….pdf` stays a PDF.
///
/// The result is a single normal path component: joined to a folder, it names a file
/// directly inside that folder.
///
/// # Errors
/// [`TransferError::InvalidName`] if nothing usable is left of the name.
pub fn sanitize_file_name(offered: &str) -> Result<String, TransferError> {
    // Rule 1: `rsplit` always yields at least one (possibly empty) piece.
    let last = offered.rsplit(['/', '\\']).next().unwrap_or(offered);
    // Rules 2–4.
    let cleaned: String = last
        .chars()
        .filter(|&c| !c.is_control() && !is_bidi_control(c))
        .map(|c| if WINDOWS_INVALID.contains(&c) { '_' } else { c })
        .collect();
    // Rule 5.
    let trimmed = trim(&cleaned);
    // Rule 6.
    if trimmed.is_empty() {
        return Err(TransferError::InvalidName {
            offered: display_name(offered),
            reason: "nothing is left of it once folders, control characters, dots and spaces are removed",
        });
    }
    // Rules 8 then 7: shortening can only remove text at the end, which may leave a reserved
    // name (`CON` followed by many spaces); the `_` added for rule 7 then needs room, so the
    // name is shortened again. Neither step can make it empty or reserved once more.
    let mut name = shorten(trimmed, "");
    if is_reserved(&name) {
        name = shorten(&format!("_{name}"), "");
    }
    Ok(name)
}

/// The `n`-th alternative of a cleaned name, Windows style: `report.pdf` gives
/// `report (1).pdf`, `report (2).pdf`, …; `0` gives the name itself.
///
/// The result stays within [`MAX_NAME_BYTES`], shortening the part before the extension.
pub fn numbered_name(name: &str, n: u32) -> String {
    if n == 0 {
        name.to_owned()
    } else {
        shorten(name, &format!(" ({n})"))
    }
}

/// The path where a file offered as `name` would be saved in `dir` if it arrived now: the
/// first of `name`, `name (1)`, `name (2)`, … that does not exist.
///
/// This is for showing the user where the file will probably go. The actual placement by
/// [`Incoming::finish`](super::Incoming::finish) repeats the search without a race, because
/// another file may appear in between.
///
/// # Errors
/// [`TransferError::InvalidName`] if `name` cannot be cleaned, and
/// [`TransferError::NoFreeName`] if every numbered variant exists.
pub fn unique_destination(dir: &Path, name: &str) -> Result<PathBuf, TransferError> {
    let name = sanitize_file_name(name)?;
    for n in 0..=MAX_NUMBER {
        let candidate = dir.join(numbered_name(&name, n));
        if let Err(e) = candidate.symlink_metadata() {
            if e.kind() == std::io::ErrorKind::NotFound {
                return Ok(candidate);
            }
        }
    }
    Err(TransferError::NoFreeName {
        dir: dir.to_owned(),
        name,
    })
}

/// The highest number tried for ` (n)` before giving up.
pub(crate) const MAX_NUMBER: u32 = 9999;

/// Whether `c` is a Unicode bidirectional embedding, override or isolate control, which can
/// make a name display in a different order than it is stored.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Removes leading and trailing dots and whitespace.
fn trim(name: &str) -> &str {
    name.trim_matches(|c: char| c == '.' || c.is_whitespace())
}

/// Whether Windows would open a device instead of a file for `name`.
fn is_reserved(name: &str) -> bool {
    // Windows looks at the part before the first dot, ignoring trailing spaces.
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    match upper
        .strip_prefix("COM")
        .or_else(|| upper.strip_prefix("LPT"))
    {
        Some(rest) => {
            let mut chars = rest.chars();
            matches!(
                (chars.next(), chars.next()),
                (Some('0'..='9' | '¹' | '²' | '³'), None)
            )
        }
        None => false,
    }
}

/// Splits `name` into the part before its extension and the extension with its dot; names
/// without a (short enough) extension have an empty one.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_EXTENSION_BYTES => name.split_at(dot),
        _ => (name, ""),
    }
}

/// Inserts `suffix` before the extension of `name` and shortens the part before the
/// extension so that the whole fits in [`MAX_NAME_BYTES`]; then trims trailing dots and
/// whitespace that shortening may have exposed.
///
/// `name` must be trimmed and non-empty and `suffix` short, so the result is never empty.
fn shorten(name: &str, suffix: &str) -> String {
    let (stem, extension) = split_extension(name);
    let budget = MAX_NAME_BYTES.saturating_sub(suffix.len() + extension.len());
    let mut cut = stem.len().min(budget);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let joined = format!("{}{suffix}{extension}", &stem[..cut]);
    trim(&joined).to_owned()
}
