//! The X11 backend, with x11rb (pure Rust, no Xlib).
//!
//! - [`X11Capturer`]: RandR monitors; MIT-SHM `GetImage` into a server-created segment (read
//!   back with `pread`, no unsafe mapping), plain `GetImage` where MIT-SHM is missing (a
//!   remote display); DAMAGE to copy only what changed and nothing when nothing did.
//! - [`X11Injector`]: XTEST fake input; keysyms map to keycodes of the current keyboard
//!   mapping, and keysyms the keyboard lacks are put on a spare keycode (as xdotool does).
//! - [`X11EscWatcher`]: XInput2 raw key events on the root window, which every client may
//!   select without grabbing, so other programs still get the Esc.
//!
//! Each object opens its own connection: `display` is an X display name such as `:1`, or
//! `None` for `$DISPLAY`.

mod capture;
mod esc;
mod inject;
mod keymap;

pub use capture::X11Capturer;
pub use esc::X11EscWatcher;
pub use inject::X11Injector;

use x11rb::errors::{ConnectError, ConnectionError, ReplyError, ReplyOrIdError};
use x11rb::rust_connection::RustConnection;

use super::HostError;

/// Opens a connection and returns it with the screen number.
fn connect(display: Option<&str>) -> Result<(RustConnection, usize), HostError> {
    RustConnection::connect(display).map_err(|e: ConnectError| HostError::Connect {
        display: display.unwrap_or_default().to_owned(),
        reason: e.to_string(),
    })
}

impl From<ConnectionError> for HostError {
    fn from(e: ConnectionError) -> Self {
        Self::Protocol(e.to_string())
    }
}

impl From<ReplyError> for HostError {
    fn from(e: ReplyError) -> Self {
        Self::Protocol(e.to_string())
    }
}

impl From<ReplyOrIdError> for HostError {
    fn from(e: ReplyOrIdError) -> Self {
        Self::Protocol(e.to_string())
    }
}
