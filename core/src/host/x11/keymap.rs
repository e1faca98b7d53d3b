//! The core keyboard mapping: which keycode carries which keysym, at which shift level.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::ConnectionExt as _;

use crate::host::HostError;

/// A copy of the server's keycode → keysyms table.
#[derive(Debug, Clone)]
pub(super) struct Keymap {
    min: u8,
    per: usize,
    syms: Vec<u32>,
}

impl Keymap {
    /// Reads the current mapping.
    pub(super) fn load(conn: &impl Connection) -> Result<Self, HostError> {
        let setup = conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let reply = conn.get_keyboard_mapping(min, max - min + 1)?.reply()?;
        Ok(Self {
            min,
            per: usize::from(reply.keysyms_per_keycode),
            syms: reply.keysyms,
        })
    }

    fn rows(&self) -> impl Iterator<Item = (u8, &[u32])> {
        let per = self.per.max(1);
        (self.min..=u8::MAX).zip(self.syms.chunks(per))
    }

    /// The keycode with `keysym` at the lowest shift level: `(keycode, level)`, level 0 unshifted
    /// and 1 with Shift. Levels past 1 (AltGr) are not used.
    pub(super) fn find(&self, keysym: u32) -> Option<(u8, usize)> {
        (0..2).find_map(|level| {
            self.rows()
                .find(|(_, syms)| syms.get(level) == Some(&keysym))
                .map(|(code, _)| (code, level))
        })
    }

    /// All keycodes that carry `keysym` at any level.
    pub(super) fn keycodes(&self, keysym: u32) -> Vec<u8> {
        self.rows()
            .filter(|(_, syms)| syms.contains(&keysym))
            .map(|(code, _)| code)
            .collect()
    }

    /// Keycodes that carry no keysym at all, to put missing keysyms on.
    pub(super) fn spare(&self) -> Vec<u8> {
        self.rows()
            .filter(|(_, syms)| syms.iter().all(|&s| s == 0))
            .map(|(code, _)| code)
            .collect()
    }

    /// Records that `keycode` now carries `keysyms` (after a ChangeKeyboardMapping).
    pub(super) fn set(&mut self, keycode: u8, keysyms: &[u32]) {
        let per = self.per;
        let start = usize::from(keycode.saturating_sub(self.min)) * per;
        if let Some(row) = self.syms.get_mut(start..start + per) {
            for (i, slot) in row.iter_mut().enumerate() {
                *slot = keysyms.get(i).copied().unwrap_or(0);
            }
        }
    }

    /// Keysyms per keycode in this mapping.
    pub(super) fn per_keycode(&self) -> usize {
        self.per
    }
}
