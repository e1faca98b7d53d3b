//! The novice's desktop: screen capture, input injection and the local-Esc watcher.
//!
//! One trait per concern, one implementation per platform:
//! - [`Capturer`]: lists monitors, shares one, and captures it as a BGRA
//!   [`Frame`](crate::media::Frame) together with what changed since the last capture. An
//!   unchanged screen costs nothing: [`Capturer::capture`] returns `None` without copying.
//! - [`Injector`]: the helper's pointer (normalized to the shared monitor), buttons, wheel, keys
//!   by X11 keysym name and text; [`Injector::inject`] takes a [`proto::InputEvent`] as it comes
//!   off the wire.
//! - [`EscWatcher`](x11::X11EscWatcher): reports the novice's own Esc presses without grabbing
//!   the key. Escs that the injector typed for the helper are told apart through
//!   [`InjectedEscapes`], a record the injector writes and the watcher consumes.
//!
//! Backends: X11 ([`x11`], on Linux and the BSDs) with x11rb: MIT-SHM and DAMAGE for capture,
//! RandR for monitors, XTEST for injection, XInput2 raw events for Esc. Windows and macOS
//! ([`native`]): xcap and enigo, without an Esc watcher yet. Wayland (the ScreenCast and
//! RemoteDesktop portals) would implement the same traits.
//!
//! [`proto::InputEvent`]: crate::proto::InputEvent

mod escapes;
mod keysym;
#[cfg(any(windows, target_os = "macos"))]
pub mod native;
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod share;
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
pub mod x11;

pub use escapes::InjectedEscapes;
pub use keysym::{keysym_from_char, keysym_from_name};
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
pub use share::share_x11;

use crate::media::{Frame, Rect};
use crate::proto::{InputEvent, MouseButton};

/// Errors of screen capture, input injection and the Esc watcher.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The display could not be opened.
    #[error("cannot open display {display}: {reason}; check DISPLAY and that the X server runs")]
    Connect {
        /// The display name tried (empty for the default).
        display: String,
        /// What went wrong.
        reason: String,
    },
    /// The display server lacks an extension this backend needs.
    #[error("the display server lacks the {0} extension; use an X server that has it (Xorg, Xvfb)")]
    MissingExtension(&'static str),
    /// The screen's pixel format is not one this backend captures.
    #[error(
        "unsupported screen format: {0}; run the display at depth 24 or 32 (e.g. Xvfb -screen 0 1920x1080x24)"
    )]
    UnsupportedFormat(String),
    /// A request to the display server failed.
    #[error("display server request failed: {0}; the display may have closed, reconnect")]
    Protocol(String),
    /// A monitor index past the end of the list.
    #[error("no monitor {index}: the display has {count}; pick one from the monitor list")]
    NoSuchMonitor {
        /// The index asked for.
        index: usize,
        /// How many monitors there are.
        count: usize,
    },
    /// A keysym name that X11 does not know.
    #[error("unknown key {0:?}; use an X11 keysym name such as a, Return, Escape or Down")]
    UnknownKey(String),
    /// No keycode could carry a keysym: the keyboard mapping has no spare keycode.
    #[error("cannot type {0:?}: no spare keycode in the keyboard mapping to put it on")]
    NoSpareKeycode(String),
    /// An input value out of range (a NaN coordinate, an empty key name).
    #[error("invalid input: {0}; send pointer coordinates in 0..=1 and a keysym name")]
    InvalidInput(String),
}

/// One monitor of the novice's desktop, in root-window pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    /// Its name (the RandR output name, e.g. `HDMI-1`, or `screen`).
    pub name: String,
    /// Left edge on the desktop.
    pub x: i32,
    /// Top edge on the desktop.
    pub y: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whether it is the primary monitor.
    pub primary: bool,
}

impl Monitor {
    /// The desktop pixel at normalized `(x, y)`: 0 is the left/top edge, 1 the right/bottom
    /// pixel. Values outside `0..=1` are clamped; NaN is refused.
    pub fn point(&self, x: f32, y: f32) -> Result<(i32, i32), HostError> {
        if !x.is_finite() || !y.is_finite() {
            return Err(HostError::InvalidInput(format!(
                "pointer ({x}, {y}) is not a number"
            )));
        }
        let along = |v: f32, len: u32| (v.clamp(0.0, 1.0) * (len.max(1) - 1) as f32).round() as i32;
        Ok((
            self.x + along(x, self.width),
            self.y + along(y, self.height),
        ))
    }
}

/// One capture of the shared monitor.
#[derive(Debug)]
pub struct Captured<'a> {
    /// The whole monitor, BGRA with alpha 255; borrowed from the capturer, which updates it in
    /// place (only the damaged rectangles are copied from the display server).
    pub frame: &'a Frame,
    /// What changed since the previous capture, in frame coordinates (non-empty).
    pub damage: Vec<Rect>,
    /// Whether the whole frame is new: the first capture, after [`Capturer::select`] or
    /// [`Capturer::refresh`].
    pub full: bool,
}

/// Screen capture of one monitor at a time.
pub trait Capturer {
    /// The monitors of the desktop, primary or not, in the display server's order.
    fn monitors(&mut self) -> Result<Vec<Monitor>, HostError>;

    /// Shares monitor `index` of [`Capturer::monitors`] from now on; the next capture is full.
    /// Call it again (with the same index) after the monitor layout or resolution changed.
    fn select(&mut self, index: usize) -> Result<Monitor, HostError>;

    /// The monitor being shared.
    fn monitor(&self) -> &Monitor;

    /// Whether the shared monitor may have changed since the last capture. Cheap: it reads
    /// pending change notifications and never copies pixels.
    fn has_changed(&mut self) -> Result<bool, HostError>;

    /// Captures what changed: `None` (no copy) when nothing did, otherwise the frame updated
    /// in place and the damaged rectangles.
    fn capture(&mut self) -> Result<Option<Captured<'_>>, HostError>;

    /// Makes the next capture copy and report the whole monitor (e.g. with a keyframe).
    fn refresh(&mut self);
}

/// Input injection on the novice's desktop.
pub trait Injector {
    /// Pointer coordinates are normalized to this monitor from now on.
    fn set_monitor(&mut self, monitor: &Monitor);

    /// Moves the pointer to normalized `(x, y)` on the shared monitor.
    fn pointer(&mut self, x: f32, y: f32) -> Result<(), HostError>;

    /// Presses (`down`) or releases a mouse button.
    fn button(&mut self, button: MouseButton, down: bool) -> Result<(), HostError>;

    /// Turns the wheel by `dy` steps; positive scrolls up (away from the user).
    fn wheel(&mut self, dy: i32) -> Result<(), HostError>;

    /// Presses or releases the key for an X11 keysym name (`a`, `Return`, `Escape`, `Down`).
    fn key(&mut self, keysym: &str, down: bool) -> Result<(), HostError>;

    /// Types `text` (any Unicode), character by character.
    fn text(&mut self, text: &str) -> Result<(), HostError>;

    /// Injects one event from the wire.
    fn inject(&mut self, event: &InputEvent) -> Result<(), HostError> {
        match event {
            InputEvent::Pointer { x, y } => self.pointer(*x, *y),
            InputEvent::Button { button, down } => self.button(*button, *down),
            InputEvent::Wheel { dy } => self.wheel(*dy),
            InputEvent::Key { keysym, down } => self.key(keysym, *down),
            InputEvent::Text { text } => self.text(text),
        }
    }
}

/// One Esc press of the novice on their own keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscPress {
    /// The display server's timestamp of the press, in milliseconds.
    pub time: u32,
    /// The input device it came from (an XInput2 device id on X11).
    pub device: u16,
}
