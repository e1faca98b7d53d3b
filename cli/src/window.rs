//! The helper's window on an X11 display: the novice's screen, fitted to the window or at
//! actual size (`f` switches while the helper does not have control). While the helper has
//! control, the pointer, buttons, wheel and keys over the window go to the novice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use lifeline_core::connect::UserCommand;
use lifeline_core::media::Frame;
use lifeline_core::proto::{InputEvent, MouseButton};
use lifeline_core::session::Command;
use tokio::sync::mpsc;
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt, CreateGCAux, CreateWindowAux, EventMask, ImageFormat, PropMode,
    WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

/// How long the window thread waits for a frame before looking at window events again.
const POLL: Duration = Duration::from_millis(15);

/// The open window; closing it (or dropping this) ends its thread.
#[derive(Debug)]
pub struct Viewer {
    frames: std_mpsc::SyncSender<Arc<Frame>>,
    control: Arc<AtomicBool>,
}

impl Viewer {
    /// Opens a window titled `title` on `$DISPLAY`; `None` without a display. Input the
    /// window forwards (with control) and its closing go to `commands`.
    pub fn open(
        title: &str,
        commands: mpsc::UnboundedSender<UserCommand>,
    ) -> Result<Option<Self>, String> {
        if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
            return Ok(None);
        }
        let window = Window::create(title).map_err(|e| format!("cannot open a window: {e}"))?;
        let (frames, frame_rx) = std_mpsc::sync_channel(1);
        let control = Arc::new(AtomicBool::new(false));
        let has_control = control.clone();
        std::thread::spawn(move || window.run(&frame_rx, &has_control, &commands));
        Ok(Some(Self { frames, control }))
    }

    /// Shows `picture`; dropped if the window is still drawing the previous one.
    pub fn show(&self, picture: Arc<Frame>) {
        let _ = self.frames.try_send(picture);
    }

    /// Whether input over the window goes to the novice.
    pub fn set_control(&self, control: bool) {
        self.control.store(control, Ordering::Relaxed);
    }
}

/// How the picture sits in the window.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Placement {
    x: i32,
    y: i32,
    scale: f64,
}

struct Window {
    conn: RustConnection,
    window: u32,
    gc: u32,
    depth: u8,
    delete: u32,
    size: (u16, u16),
    fit: bool,
    latest: Option<Arc<Frame>>,
    /// Keysyms by keycode: `per` of them for each code from `min_code`.
    keysyms: Vec<u32>,
    per: usize,
    min_code: u8,
}

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

impl Window {
    fn create(title: &str) -> Fallible<Self> {
        let (conn, screen_num) = x11rb::connect(None)?;
        let screen = &conn.setup().roots[screen_num];
        let (root, visual, depth) = (screen.root, screen.root_visual, screen.root_depth);
        let (width, height) = (
            screen.width_in_pixels.min(1280),
            screen.height_in_pixels.min(800),
        );
        let bpp = conn
            .setup()
            .pixmap_formats
            .iter()
            .find(|f| f.depth == depth)
            .map(|f| f.bits_per_pixel);
        if !matches!(depth, 24 | 32) || bpp != Some(32) {
            return Err(
                format!("the display's depth {depth} is not supported (24 or 32 bits)").into(),
            );
        }
        let window = conn.generate_id()?;
        conn.create_window(
            depth,
            window,
            root,
            0,
            0,
            width,
            height,
            0,
            WindowClass::INPUT_OUTPUT,
            visual,
            &CreateWindowAux::new().background_pixel(0).event_mask(
                EventMask::EXPOSURE
                    | EventMask::STRUCTURE_NOTIFY
                    | EventMask::KEY_PRESS
                    | EventMask::KEY_RELEASE
                    | EventMask::BUTTON_PRESS
                    | EventMask::BUTTON_RELEASE
                    | EventMask::POINTER_MOTION,
            ),
        )?;
        conn.change_property8(
            PropMode::REPLACE,
            window,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            title.as_bytes(),
        )?;
        let protocols = conn.intern_atom(false, b"WM_PROTOCOLS")?.reply()?.atom;
        let delete = conn.intern_atom(false, b"WM_DELETE_WINDOW")?.reply()?.atom;
        conn.change_property32(
            PropMode::REPLACE,
            window,
            protocols,
            AtomEnum::ATOM,
            &[delete],
        )?;
        let gc = conn.generate_id()?;
        conn.create_gc(gc, window, &CreateGCAux::new())?;
        let min_code = conn.setup().min_keycode;
        let count = conn.setup().max_keycode - min_code + 1;
        let mapping = conn.get_keyboard_mapping(min_code, count)?.reply()?;
        conn.map_window(window)?;
        conn.flush()?;
        Ok(Self {
            conn,
            window,
            gc,
            depth,
            delete,
            size: (width, height),
            fit: true,
            latest: None,
            keysyms: mapping.keysyms,
            per: usize::from(mapping.keysyms_per_keycode),
            min_code,
        })
    }

    fn run(
        mut self,
        frames: &std_mpsc::Receiver<Arc<Frame>>,
        control: &AtomicBool,
        commands: &mpsc::UnboundedSender<UserCommand>,
    ) {
        loop {
            loop {
                match self.conn.poll_for_event() {
                    Ok(Some(event)) => {
                        if !self.on_event(event, control.load(Ordering::Relaxed), commands) {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the display connection broke");
                        return;
                    }
                }
            }
            match frames.recv_timeout(POLL) {
                Ok(frame) => {
                    self.latest = Some(frame);
                    self.draw();
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Handles one window event; `false` when the window was closed.
    fn on_event(
        &mut self,
        event: Event,
        control: bool,
        commands: &mpsc::UnboundedSender<UserCommand>,
    ) -> bool {
        let input = |event: InputEvent| {
            let _ = commands.send(UserCommand::Session(Command::Input(event)));
        };
        match event {
            Event::Expose(e) if e.count == 0 => self.draw(),
            Event::ConfigureNotify(e) if (e.width, e.height) != self.size => {
                self.size = (e.width, e.height);
                self.draw();
            }
            Event::ClientMessage(e) if e.data.as_data32()[0] == self.delete => {
                let _ = commands.send(UserCommand::Session(Command::Disconnect));
                return false;
            }
            Event::MotionNotify(e) if control => {
                if let Some((x, y)) = self.to_screen(e.event_x, e.event_y) {
                    input(InputEvent::Pointer { x, y });
                }
            }
            Event::ButtonPress(e) | Event::ButtonRelease(e) if control => {
                let down = e.response_type & 0x7f == x11rb::protocol::xproto::BUTTON_PRESS_EVENT;
                let button = match e.detail {
                    1 => Some(MouseButton::Left),
                    2 => Some(MouseButton::Middle),
                    3 => Some(MouseButton::Right),
                    4 | 5 if down => {
                        input(InputEvent::Wheel {
                            dy: if e.detail == 4 { 1 } else { -1 },
                        });
                        None
                    }
                    _ => None,
                };
                if let Some(button) = button {
                    input(InputEvent::Button { button, down });
                }
            }
            Event::KeyPress(e) | Event::KeyRelease(e) => {
                let down = e.response_type & 0x7f == x11rb::protocol::xproto::KEY_PRESS_EVENT;
                let shifted = u16::from(e.state) & 1 != 0;
                let Some(name) = self.key_name(e.detail, shifted) else {
                    return true;
                };
                if control {
                    input(InputEvent::Key { keysym: name, down });
                } else if down && name == "f" {
                    self.fit = !self.fit;
                    self.draw();
                }
            }
            _ => {}
        }
        true
    }

    /// The X11 keysym name of `code` (shifted or not), e.g. `a`, `A`, `Return`.
    fn key_name(&self, code: u8, shifted: bool) -> Option<String> {
        let index = usize::from(code.checked_sub(self.min_code)?) * self.per;
        let column = usize::from(shifted && self.per > 1);
        let raw = *self.keysyms.get(index + column)?;
        let raw = if raw == 0 {
            *self.keysyms.get(index)?
        } else {
            raw
        };
        let name = xkeysym::Keysym::new(raw).name()?;
        Some(name.strip_prefix("XK_").unwrap_or(name).to_owned())
    }

    fn placement(&self) -> Option<Placement> {
        let frame = self.latest.as_ref()?;
        let (ww, wh) = (f64::from(self.size.0), f64::from(self.size.1));
        let (fw, fh) = (f64::from(frame.width()), f64::from(frame.height()));
        if !self.fit {
            return Some(Placement {
                x: 0,
                y: 0,
                scale: 1.0,
            });
        }
        let scale = (ww / fw).min(wh / fh);
        Some(Placement {
            x: ((ww - fw * scale) / 2.0) as i32,
            y: ((wh - fh * scale) / 2.0) as i32,
            scale,
        })
    }

    /// A window position as a position on the novice's screen (0..1), if over the picture.
    fn to_screen(&self, x: i16, y: i16) -> Option<(f32, f32)> {
        let frame = self.latest.as_ref()?;
        let p = self.placement()?;
        let sx = (f64::from(x) - f64::from(p.x)) / p.scale / f64::from(frame.width());
        let sy = (f64::from(y) - f64::from(p.y)) / p.scale / f64::from(frame.height());
        ((0.0..=1.0).contains(&sx) && (0.0..=1.0).contains(&sy)).then_some((sx as f32, sy as f32))
    }

    /// Draws the latest picture, scaled (nearest pixel) into the window, black around it.
    fn draw(&mut self) {
        let (Some(frame), Some(p)) = (self.latest.clone(), self.placement()) else {
            return;
        };
        let (ww, wh) = (usize::from(self.size.0), usize::from(self.size.1));
        if ww == 0 || wh == 0 {
            return;
        }
        let mut pixels = vec![0u8; ww * wh * 4];
        let (fw, fh) = (frame.width() as usize, frame.height() as usize);
        let columns: Vec<Option<usize>> = (0..ww).map(|x| source(x, p.x, p.scale, fw)).collect();
        for (y, row) in pixels.chunks_exact_mut(ww * 4).enumerate() {
            let Some(sy) = source(y, p.y, p.scale, fh) else {
                continue;
            };
            let from = frame.row(sy as u32);
            for (x, sx) in columns.iter().enumerate() {
                if let Some(sx) = sx {
                    row[x * 4..x * 4 + 4].copy_from_slice(&from[sx * 4..sx * 4 + 4]);
                }
            }
        }
        // Several requests if the picture is larger than one request may be.
        let max = self.conn.maximum_request_bytes().saturating_sub(64);
        let rows = (max / (ww * 4)).clamp(1, wh);
        for (i, strip) in pixels.chunks(rows * ww * 4).enumerate() {
            let height = strip.len() / (ww * 4);
            let result = self.conn.put_image(
                ImageFormat::Z_PIXMAP,
                self.window,
                self.gc,
                self.size.0,
                height as u16,
                0,
                (i * rows) as i16,
                0,
                self.depth,
                strip,
            );
            if let Err(e) = result {
                tracing::warn!(error = %e, "cannot draw the picture");
                return;
            }
        }
        let _ = self.conn.flush();
    }
}

/// The source pixel for window pixel `at` along one axis, or `None` outside the picture.
fn source(at: usize, offset: i32, scale: f64, len: usize) -> Option<usize> {
    let s = (at as f64 - f64::from(offset)) / scale;
    (s >= 0.0 && (s as usize) < len).then_some(s as usize)
}
