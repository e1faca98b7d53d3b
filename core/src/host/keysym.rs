//! X11 keysym names and characters to keysym values (what `XStringToKeysym` does), on every
//! platform: the wire protocol names keys the X11 way.

use std::collections::HashMap;
use std::sync::OnceLock;

use xkeysym::Keysym;

/// Keysym value ranges that hold named keysyms: the core range and the vendor ranges
/// (XF86, Sun, DEC, HP, OSF).
const NAMED_RANGES: [(u32, u32); 6] = [
    (0x0000_0000, 0x0000_ffff),
    (0x1000_ff00, 0x1000_ffff),
    (0x1004_ff00, 0x1004_ffff),
    (0x1005_ff00, 0x1005_ffff),
    (0x1008_fe00, 0x1008_ffff),
    (0x1000_0000, 0x1000_00ff),
];

struct Names {
    exact: HashMap<String, u32>,
    /// Lower-cased names that are unique ignoring case (`down` for `Down`).
    folded: HashMap<String, Option<u32>>,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut exact = HashMap::new();
        let mut folded: HashMap<String, Option<u32>> = HashMap::new();
        for (start, end) in NAMED_RANGES {
            for raw in start..=end {
                let Some(name) = Keysym::new(raw).name() else {
                    continue;
                };
                // `XK_a` is `a`, `XF86XK_AudioMute` is `XF86AudioMute`, as in Xlib.
                let name = match name.split_once("XK_") {
                    Some((vendor, rest)) => format!("{vendor}{rest}"),
                    None => name.to_owned(),
                };
                let folded_name = name.to_ascii_lowercase();
                // The first (lowest) value wins, as in Xlib.
                exact.entry(name).or_insert(raw);
                folded
                    .entry(folded_name)
                    .and_modify(|v| {
                        if *v != Some(raw) {
                            *v = None;
                        }
                    })
                    .or_insert(Some(raw));
            }
        }
        Names { exact, folded }
    })
}

/// The keysym for an X11 keysym name: `a`, `Return`, `Escape`, `Down`, `U20AC` (a Unicode
/// code point), `0xff1b`, or a single character. A name that matches no keysym exactly is
/// tried ignoring case (`down`, `escape`) when that is unambiguous.
pub fn keysym_from_name(name: &str) -> Option<u32> {
    let names = names();
    if let Some(&raw) = names.exact.get(name) {
        return Some(raw);
    }
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return keysym_from_char(c);
    }
    if let Some(hex) = name
        .strip_prefix('U')
        .filter(|h| (4..=6).contains(&h.len()))
    {
        let code = u32::from_str_radix(hex, 16).ok()?;
        return char::from_u32(code).and_then(keysym_from_char);
    }
    if let Some(hex) = name.strip_prefix("0x") {
        return u32::from_str_radix(hex, 16).ok().filter(|&v| v != 0);
    }
    names
        .folded
        .get(&name.to_ascii_lowercase())
        .copied()
        .flatten()
}

/// The keysym that types `c` (Latin-1 and the named keysyms where one exists, otherwise the
/// Unicode keysym `0x0100_0000 + code point`); newline types `Return`, tab `Tab`.
pub fn keysym_from_char(c: char) -> Option<u32> {
    let c = if c == '\n' { '\r' } else { c };
    let keysym = Keysym::from_char(c);
    (keysym != Keysym::NoSymbol).then(|| keysym.raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_like_xlib() {
        assert_eq!(keysym_from_name("a"), Some(0x61));
        assert_eq!(keysym_from_name("A"), Some(0x41));
        assert_eq!(keysym_from_name("Return"), Some(0xff0d));
        assert_eq!(keysym_from_name("Escape"), Some(0xff1b));
        assert_eq!(keysym_from_name("Down"), Some(0xff54));
        assert_eq!(keysym_from_name("down"), Some(0xff54));
        assert_eq!(keysym_from_name("space"), Some(0x20));
        assert_eq!(keysym_from_name("U20AC"), Some(0x20ac));
        assert_eq!(keysym_from_name("€"), Some(0x20ac));
        assert_eq!(keysym_from_name("XF86AudioMute"), Some(0x1008_ff12));
        assert_eq!(keysym_from_name("no such key"), None);
        assert_eq!(keysym_from_name(""), None);
        assert_eq!(keysym_from_char('\n'), Some(0xff0d));
        assert_eq!(keysym_from_char('Ж'), Some(0x6f6));
        assert_eq!(keysym_from_char('🙂'), Some(0x0101_f642));
    }
}
