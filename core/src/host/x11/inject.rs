//! Input injection on X11 with XTEST.

use std::collections::HashMap;

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    self, BUTTON_PRESS_EVENT, BUTTON_RELEASE_EVENT, ConnectionExt as _, KEY_PRESS_EVENT,
    KEY_RELEASE_EVENT, MOTION_NOTIFY_EVENT,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;

use super::keymap::Keymap;
use crate::host::{
    HostError, InjectedEscapes, Injector, Monitor, keysym_from_char, keysym_from_name,
};
use crate::proto::MouseButton;

const ESCAPE: u32 = 0xff1b;
const SHIFT_L: u32 = 0xffe1;
/// At most this many wheel steps per event (a hostile helper cannot queue a flood).
const MAX_WHEEL_STEPS: i32 = 50;

/// Injects the helper's input on an X11 display through XTEST; see [`Injector`].
///
/// Keysyms that the keyboard mapping lacks are put on a spare keycode, round-robin over the
/// spare keycodes, and left there until the injector is dropped: reverting at once would race
/// the client that looks the keycode up when it handles the event. Dropping restores them.
pub struct X11Injector {
    conn: RustConnection,
    root: xproto::Window,
    monitor: Monitor,
    keymap: Keymap,
    spare: Vec<u8>,
    next_spare: usize,
    remapped: Vec<u8>,
    /// Keys this injector holds down, with whether it pressed Shift for them.
    held: HashMap<u32, (u8, bool)>,
    escapes: InjectedEscapes,
}

impl std::fmt::Debug for X11Injector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X11Injector")
            .field("monitor", &self.monitor)
            .finish_non_exhaustive()
    }
}

impl X11Injector {
    /// Connects to `display` (`None`: `$DISPLAY`); pointer coordinates map to `monitor`. Every
    /// Esc press it injects is noted in `escapes`, which the Esc watcher shares.
    pub fn connect(
        display: Option<&str>,
        monitor: Monitor,
        escapes: InjectedEscapes,
    ) -> Result<Self, HostError> {
        let (conn, screen_num) = super::connect(display)?;
        if conn
            .extension_information(x11rb::protocol::xtest::X11_EXTENSION_NAME)?
            .is_none()
        {
            return Err(HostError::MissingExtension("XTEST"));
        }
        conn.xtest_get_version(2, 2)?.reply()?;
        let root = conn
            .setup()
            .roots
            .get(screen_num)
            .map(|s| s.root)
            .ok_or_else(|| HostError::Protocol(format!("no screen {screen_num}")))?;
        let keymap = Keymap::load(&conn)?;
        let spare = keymap.spare();
        Ok(Self {
            conn,
            root,
            monitor,
            keymap,
            spare,
            next_spare: 0,
            remapped: Vec::new(),
            held: HashMap::new(),
            escapes,
        })
    }

    /// Sends one fake event and waits until the server has handled it (errors surface here,
    /// and a reader on another connection sees its effect afterwards).
    fn fake(&self, kind: u8, detail: u8, x: i16, y: i16) -> Result<(), HostError> {
        self.conn
            .xtest_fake_input(kind, detail, x11rb::CURRENT_TIME, self.root, x, y, 0)?
            .check()?;
        Ok(())
    }

    /// Re-reads the keyboard mapping if someone changed it.
    fn follow_mapping(&mut self) -> Result<(), HostError> {
        let mut changed = false;
        while let Some(event) = self.conn.poll_for_event()? {
            changed |= matches!(event, Event::MappingNotify(_));
        }
        if changed {
            self.keymap = Keymap::load(&self.conn)?;
            self.spare = self.keymap.spare();
            self.spare.extend(self.remapped.iter().copied());
            self.spare.sort_unstable();
            self.spare.dedup();
        }
        Ok(())
    }

    /// The keycode and shift level for `keysym`, putting it on a spare keycode if needed.
    fn keycode_for(&mut self, keysym: u32, what: &str) -> Result<(u8, usize), HostError> {
        if let Some(found) = self.keymap.find(keysym) {
            return Ok(found);
        }
        if self.spare.is_empty() {
            return Err(HostError::NoSpareKeycode(what.to_owned()));
        }
        let keycode = self.spare[self.next_spare % self.spare.len()];
        self.next_spare = self.next_spare.wrapping_add(1);
        let per = self.keymap.per_keycode().max(2);
        let syms = vec![keysym; per];
        self.conn
            .change_keyboard_mapping(1, keycode, per as u8, &syms)?
            .check()?;
        self.keymap.set(keycode, &syms);
        if !self.remapped.contains(&keycode) {
            self.remapped.push(keycode);
        }
        tracing::debug!(keysym, keycode, "keysym put on a spare keycode");
        Ok((keycode, 0))
    }

    fn shift_keycode(&self) -> Option<u8> {
        self.keymap.find(SHIFT_L).map(|(code, _)| code)
    }

    /// Presses (`down`) or releases the key for `keysym`, with Shift around it if needed.
    fn press(&mut self, keysym: u32, down: bool, what: &str) -> Result<(), HostError> {
        self.follow_mapping()?;
        if !down {
            let Some((keycode, shifted)) = self.held.remove(&keysym) else {
                // Never pressed through us: release its keycode anyway, harmlessly.
                return match self.keymap.find(keysym) {
                    Some((keycode, _)) => self.fake(KEY_RELEASE_EVENT, keycode, 0, 0),
                    None => Ok(()),
                };
            };
            self.fake(KEY_RELEASE_EVENT, keycode, 0, 0)?;
            if let (true, Some(shift)) = (shifted, self.shift_keycode()) {
                self.fake(KEY_RELEASE_EVENT, shift, 0, 0)?;
            }
            return Ok(());
        }
        let (keycode, level) = self.keycode_for(keysym, what)?;
        let shift = (level == 1).then(|| self.shift_keycode()).flatten();
        if let Some(shift) = shift {
            self.fake(KEY_PRESS_EVENT, shift, 0, 0)?;
        }
        if keysym == ESCAPE {
            self.escapes.note();
        }
        self.fake(KEY_PRESS_EVENT, keycode, 0, 0)?;
        self.held.insert(keysym, (keycode, shift.is_some()));
        Ok(())
    }
}

impl Injector for X11Injector {
    fn set_monitor(&mut self, monitor: &Monitor) {
        self.monitor = monitor.clone();
    }

    fn pointer(&mut self, x: f32, y: f32) -> Result<(), HostError> {
        let (px, py) = self.monitor.point(x, y)?;
        let clamp = |v: i32| v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        self.fake(MOTION_NOTIFY_EVENT, 0, clamp(px), clamp(py))
    }

    fn button(&mut self, button: MouseButton, down: bool) -> Result<(), HostError> {
        let detail = match button {
            MouseButton::Left => 1,
            MouseButton::Middle => 2,
            MouseButton::Right => 3,
        };
        let kind = if down {
            BUTTON_PRESS_EVENT
        } else {
            BUTTON_RELEASE_EVENT
        };
        self.fake(kind, detail, 0, 0)
    }

    fn wheel(&mut self, dy: i32) -> Result<(), HostError> {
        let button = if dy > 0 { 4 } else { 5 };
        for _ in 0..dy.unsigned_abs().min(MAX_WHEEL_STEPS as u32) {
            self.fake(BUTTON_PRESS_EVENT, button, 0, 0)?;
            self.fake(BUTTON_RELEASE_EVENT, button, 0, 0)?;
        }
        Ok(())
    }

    fn key(&mut self, keysym: &str, down: bool) -> Result<(), HostError> {
        if keysym.is_empty() {
            return Err(HostError::InvalidInput("empty key name".into()));
        }
        let value =
            keysym_from_name(keysym).ok_or_else(|| HostError::UnknownKey(keysym.to_owned()))?;
        self.press(value, down, keysym)
    }

    fn text(&mut self, text: &str) -> Result<(), HostError> {
        for c in text.chars() {
            let Some(keysym) = keysym_from_char(c) else {
                tracing::debug!(?c, "no keysym types this character; skipped");
                continue;
            };
            let what = c.to_string();
            self.press(keysym, true, &what)?;
            self.press(keysym, false, &what)?;
        }
        Ok(())
    }
}

impl Drop for X11Injector {
    fn drop(&mut self) {
        let held: Vec<u32> = self.held.keys().copied().collect();
        for keysym in held {
            let _ = self.press(keysym, false, "");
        }
        for &keycode in &self.remapped {
            let per = self.keymap.per_keycode().max(2);
            let none = vec![0u32; per];
            let _ = self
                .conn
                .change_keyboard_mapping(1, keycode, per as u8, &none);
        }
        let _ = self.conn.flush();
    }
}
