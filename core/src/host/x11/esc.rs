//! The novice's own Esc presses on X11, observed through XInput2 raw key events.
//!
//! Raw events are delivered to every client that selects them on the root window, grabs or
//! not, and selecting them takes nothing away from the focused program: Esc is observed, not
//! grabbed.
//!
//! Telling the novice's Esc from the helper's: every XTEST client (Lifeline's injector, but
//! also xdotool and on-screen keyboards) shares one slave device, "Virtual core XTEST
//! keyboard", so the device alone cannot say who sent an Esc. The watcher therefore combines
//! both: an Esc from any other device (a real keyboard) is always the novice's; an Esc from an
//! XTEST device is the helper's only when the injector noted it in [`InjectedEscapes`] (each
//! note excuses one press, and expires after two seconds). The novice's physical Esc can never
//! be swallowed by a note, and an on-screen keyboard's Esc still ends control.

use std::collections::HashSet;
use std::sync::Arc;
use std::thread::JoinHandle;

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::xinput::{self, ConnectionExt as _, KeyEventFlags, XIEventMask};
use x11rb::protocol::xproto::{
    self, ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, WindowClass,
};
use x11rb::rust_connection::RustConnection;

use super::keymap::Keymap;
use crate::host::{EscPress, HostError, InjectedEscapes};

const ESCAPE: u32 = 0xff1b;
/// `XIAllMasterDevices`: one raw event per press, with the slave in `sourceid`.
const ALL_MASTER_DEVICES: u16 = 1;
/// `XIAllDevices`, for listing devices and their changes.
const ALL_DEVICES: u16 = 0;

/// Reports the novice's Esc presses to a callback, from a thread of its own, until dropped.
pub struct X11EscWatcher {
    conn: Arc<RustConnection>,
    window: xproto::Window,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for X11EscWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X11EscWatcher").finish_non_exhaustive()
    }
}

/// What the watcher thread knows.
struct Watch {
    conn: Arc<RustConnection>,
    window: xproto::Window,
    escape_keycodes: HashSet<u32>,
    xtest_devices: HashSet<u16>,
    escapes: InjectedEscapes,
}

impl X11EscWatcher {
    /// Starts watching `display` (`None`: `$DISPLAY`). `on_esc` runs on the watcher's thread
    /// for every Esc press of the novice; presses noted in `escapes` by the injector are
    /// skipped. When this returns, the watcher already listens.
    pub fn start(
        display: Option<&str>,
        escapes: InjectedEscapes,
        on_esc: impl FnMut(EscPress) + Send + 'static,
    ) -> Result<Self, HostError> {
        let (conn, screen_num) = super::connect(display)?;
        if conn
            .extension_information(xinput::X11_EXTENSION_NAME)?
            .is_none()
        {
            return Err(HostError::MissingExtension("XInputExtension"));
        }
        let version = conn.xinput_xi_query_version(2, 2)?.reply()?;
        if (version.major_version, version.minor_version) < (2, 1) {
            return Err(HostError::MissingExtension("XInput 2.1 (raw events)"));
        }
        let root = conn
            .setup()
            .roots
            .get(screen_num)
            .map(|s| s.root)
            .ok_or_else(|| HostError::Protocol(format!("no screen {screen_num}")))?;
        // A window of our own, only to wake the thread when the watcher is dropped.
        let window = conn.generate_id()?;
        conn.create_window(
            0,
            window,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            0,
            &CreateWindowAux::new(),
        )?
        .check()?;
        conn.xinput_xi_select_events(
            root,
            &[
                xinput::EventMask {
                    deviceid: ALL_MASTER_DEVICES,
                    mask: vec![XIEventMask::RAW_KEY_PRESS],
                },
                // Keyboards plugged in later (a new XTEST device among them).
                xinput::EventMask {
                    deviceid: ALL_DEVICES,
                    mask: vec![XIEventMask::HIERARCHY],
                },
            ],
        )?
        .check()?;
        let conn = Arc::new(conn);
        let mut watch = Watch {
            conn: conn.clone(),
            window,
            escape_keycodes: HashSet::new(),
            xtest_devices: HashSet::new(),
            escapes,
        };
        watch.refresh()?;
        tracing::debug!(xtest = ?watch.xtest_devices, "watching for Esc");
        let thread = std::thread::Builder::new()
            .name("lifeline-esc".into())
            .spawn(move || watch.run(on_esc))
            .map_err(|e| HostError::Protocol(format!("cannot start the Esc watcher: {e}")))?;
        Ok(Self {
            conn,
            window,
            thread: Some(thread),
        })
    }
}

impl Watch {
    /// Re-reads which keycodes type Escape and which devices are XTEST devices.
    fn refresh(&mut self) -> Result<(), HostError> {
        let keymap = Keymap::load(&*self.conn)?;
        self.escape_keycodes = keymap.keycodes(ESCAPE).into_iter().map(u32::from).collect();
        let devices = self.conn.xinput_xi_query_device(ALL_DEVICES)?.reply()?;
        self.xtest_devices = devices
            .infos
            .iter()
            .filter(|d| String::from_utf8_lossy(&d.name).contains("XTEST"))
            .map(|d| d.deviceid)
            .collect();
        Ok(())
    }

    fn run(mut self, mut on_esc: impl FnMut(EscPress)) {
        loop {
            let event = match self.conn.wait_for_event() {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(error = %e, "Esc watcher lost the display");
                    return;
                }
            };
            match event {
                Event::ClientMessage(m) if m.window == self.window => return,
                Event::MappingNotify(_) | Event::XinputHierarchy(_) => {
                    if let Err(e) = self.refresh() {
                        tracing::warn!(error = %e, "Esc watcher cannot re-read the keyboard");
                        return;
                    }
                }
                Event::XinputRawKeyPress(raw) => {
                    if !self.escape_keycodes.contains(&raw.detail)
                        || raw.flags.contains(KeyEventFlags::KEY_REPEAT)
                    {
                        continue;
                    }
                    let injected =
                        self.xtest_devices.contains(&raw.sourceid) && self.escapes.take();
                    tracing::debug!(device = raw.sourceid, injected, "Esc pressed");
                    if !injected {
                        on_esc(EscPress {
                            time: raw.time,
                            device: raw.sourceid,
                        });
                    }
                }
                _ => {}
            }
        }
    }
}

impl Drop for X11EscWatcher {
    fn drop(&mut self) {
        let wake = ClientMessageEvent::new(32, self.window, xproto::AtomEnum::NONE, [0u32; 5]);
        let sent = self
            .conn
            .send_event(false, self.window, EventMask::NO_EVENT, wake)
            .map(|_| ())
            .and_then(|()| self.conn.flush());
        if let (Ok(()), Some(thread)) = (sent, self.thread.take()) {
            let _ = thread.join();
        }
    }
}
