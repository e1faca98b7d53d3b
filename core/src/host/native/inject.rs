//! Input injection with enigo.

use enigo::{Axis, Button, Coordinate, Direction, Enigo, Key, Keyboard, Mouse, Settings};

use crate::host::{HostError, InjectedEscapes, Injector, Monitor, keysym_from_name};
use crate::proto::MouseButton;

const ESCAPE: u32 = 0xff1b;

fn failed(e: impl std::fmt::Display) -> HostError {
    HostError::Protocol(e.to_string())
}

/// Injects the helper's input with enigo; Esc presses are noted in [`InjectedEscapes`].
pub struct NativeInjector {
    enigo: Enigo,
    monitor: Monitor,
    escapes: InjectedEscapes,
}

impl std::fmt::Debug for NativeInjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeInjector")
            .field("monitor", &self.monitor)
            .finish_non_exhaustive()
    }
}

impl NativeInjector {
    /// An injector whose pointer coordinates map to `monitor`.
    pub fn new(monitor: Monitor, escapes: InjectedEscapes) -> Result<Self, HostError> {
        let enigo = Enigo::new(&Settings::default()).map_err(failed)?;
        Ok(Self {
            enigo,
            monitor,
            escapes,
        })
    }
}

/// The enigo key for an X11 keysym value: named keys, else the character it types.
fn key_for(keysym: u32) -> Option<Key> {
    let key = match keysym {
        0xff1b => Key::Escape,
        0xff0d => Key::Return,
        0xff09 => Key::Tab,
        0xff08 => Key::Backspace,
        0xffff => Key::Delete,
        0xff50 => Key::Home,
        0xff57 => Key::End,
        0xff55 => Key::PageUp,
        0xff56 => Key::PageDown,
        0xff51 => Key::LeftArrow,
        0xff52 => Key::UpArrow,
        0xff53 => Key::RightArrow,
        0xff54 => Key::DownArrow,
        0xffe1 | 0xffe2 => Key::Shift,
        0xffe3 | 0xffe4 => Key::Control,
        0xffe9 | 0xffea => Key::Alt,
        0xffeb | 0xffec | 0xffe7 | 0xffe8 => Key::Meta,
        0xffe5 => Key::CapsLock,
        0x20 => Key::Space,
        0xffbe..=0xffc9 => [
            Key::F1,
            Key::F2,
            Key::F3,
            Key::F4,
            Key::F5,
            Key::F6,
            Key::F7,
            Key::F8,
            Key::F9,
            Key::F10,
            Key::F11,
            Key::F12,
        ][(keysym - 0xffbe) as usize],
        _ => return xkeysym::Keysym::new(keysym).key_char().map(Key::Unicode),
    };
    Some(key)
}

impl Injector for NativeInjector {
    fn set_monitor(&mut self, monitor: &Monitor) {
        self.monitor = monitor.clone();
    }

    fn pointer(&mut self, x: f32, y: f32) -> Result<(), HostError> {
        let (px, py) = self.monitor.point(x, y)?;
        self.enigo
            .move_mouse(px, py, Coordinate::Abs)
            .map_err(failed)
    }

    fn button(&mut self, button: MouseButton, down: bool) -> Result<(), HostError> {
        let button = match button {
            MouseButton::Left => Button::Left,
            MouseButton::Middle => Button::Middle,
            MouseButton::Right => Button::Right,
        };
        let direction = if down {
            Direction::Press
        } else {
            Direction::Release
        };
        self.enigo.button(button, direction).map_err(failed)
    }

    fn wheel(&mut self, dy: i32) -> Result<(), HostError> {
        // enigo scrolls down for positive lengths; the wire's positive is up.
        self.enigo
            .scroll(-dy.clamp(-50, 50), Axis::Vertical)
            .map_err(failed)
    }

    fn key(&mut self, keysym: &str, down: bool) -> Result<(), HostError> {
        let value =
            keysym_from_name(keysym).ok_or_else(|| HostError::UnknownKey(keysym.to_owned()))?;
        let key = key_for(value).ok_or_else(|| HostError::UnknownKey(keysym.to_owned()))?;
        if down && value == ESCAPE {
            self.escapes.note();
        }
        let direction = if down {
            Direction::Press
        } else {
            Direction::Release
        };
        self.enigo.key(key, direction).map_err(failed)
    }

    fn text(&mut self, text: &str) -> Result<(), HostError> {
        for _ in text.chars().filter(|&c| c == '\u{1b}') {
            self.escapes.note();
        }
        self.enigo.text(text).map_err(failed)
    }
}
