//! Writing arbitrary text into the log's XML so that it reads back exactly.
//!
//! In element text, `&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;`; carriage return and
//! line feed become `&#13;` and `&#10;` (so no XML parser normalises them and every entry
//! stays on one line); tab is kept. Characters XML 1.0 cannot hold at all (U+0000 to
//! U+001F other than tab, line feed and carriage return, and U+FFFE, U+FFFF) become an
//! empty element `<ctl code="HEX"/>` carrying the code point in hex, e.g. NUL is
//! `<ctl code="0"/>` and ESC is `<ctl code="1B"/>`.

use std::fmt::Write as _;

/// The element that stands for one character XML 1.0 cannot hold.
pub(crate) const CONTROL_ELEMENT: &str = "ctl";
/// Its attribute: the code point in hex.
pub(crate) const CONTROL_ATTRIBUTE: &str = "code";

/// Whether XML 1.0 can hold `c` (the `Char` production).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` to `out` as element content (see the module documentation).
pub(crate) fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            c if is_xml_char(c) => out.push(c),
            c => {
                let _ = write!(
                    out,
                    "<{CONTROL_ELEMENT} {CONTROL_ATTRIBUTE}=\"{:X}\"/>",
                    u32::from(c)
                );
            }
        }
    }
}

/// Appends `value` to `out` as a double-quoted attribute value. The caller has checked
/// that every character [`is_xml_char`].
pub(crate) fn push_attribute(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
}
