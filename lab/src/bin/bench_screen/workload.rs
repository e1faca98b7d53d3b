//! The scripted desktop workload: a full-screen X window that types, scrolls and animates,
//! stamping every update with a numbered marker so that a viewer can tell which update a
//! picture shows.

use std::time::{Duration, Instant};

use lifeline_core::media::{Frame, pattern};
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::xproto::{
    ChangeGCAux, ConnectionExt, CreateGCAux, CreateWindowAux, ImageFormat, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

/// The marker: a square in the top-left corner whose colour encodes the update's number.
pub const MARKER: u16 = 32;

/// Colour levels per channel: coarse, so that video compression cannot blur one number
/// into another.
const LEVELS: u32 = 10;

/// How many numbers the marker tells apart before it wraps.
pub const MARKER_NUMBERS: u32 = LEVELS * LEVELS * LEVELS;

/// The marker colour (0xRRGGBB) for update `n`.
fn marker_colour(n: u32) -> u32 {
    let n = n % MARKER_NUMBERS;
    let level = |v: u32| v * 255 / (LEVELS - 1);
    (level(n % LEVELS) << 16) | (level(n / LEVELS % LEVELS) << 8) | level(n / (LEVELS * LEVELS))
}

/// The update number a decoded picture's marker shows, if it is clearly one.
pub fn read_marker(frame: &Frame) -> Option<u32> {
    let c = u32::from(MARKER_CENTRE);
    if frame.width() <= c || frame.height() <= c {
        return None;
    }
    marker_number(frame.pixel(c, c))
}

/// Where to read the marker: its centre.
pub const MARKER_CENTRE: u16 = MARKER / 2;

/// The update number a marker pixel (BGRA) shows, if it is clearly one.
pub fn marker_number([b, g, r, _]: [u8; 4]) -> Option<u32> {
    let step = 255.0 / f64::from(LEVELS - 1);
    let level = |v: u8| {
        let l = (f64::from(v) / step).round();
        ((f64::from(v) - l * step).abs() < step / 3.0).then_some(l as u32)
    };
    Some(level(r)? + level(g)? * LEVELS + level(b)? * LEVELS * LEVELS)
}

/// The phases of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A character every 100 ms.
    Typing,
    /// The text area scrolls by 4 lines' worth of pixels every 16 ms.
    Scrolling,
    /// A 64×64 square moves every 33 ms.
    Animation,
}

/// One drawn update: its number and when the X server had drawn it.
#[derive(Debug, Clone, Copy)]
pub struct Update {
    /// The marker number.
    pub n: u32,
    /// When the X server had it.
    pub at: Instant,
}

/// A window covering the screen of an X display.
pub struct Workload {
    conn: RustConnection,
    window: u32,
    gc: u32,
    width: u16,
    height: u16,
    depth: u8,
    next: u32,
}

type Result<T> = std::result::Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Workload {
    /// Opens `display` and covers it with a desktop-like picture.
    pub fn open(display: &str) -> Result<Self> {
        let (conn, screen_num) = x11rb::connect(Some(display)).map_err(err)?;
        let screen = conn.setup().roots[screen_num].clone();
        let window = conn.generate_id().map_err(err)?;
        conn.create_window(
            screen.root_depth,
            window,
            screen.root,
            0,
            0,
            screen.width_in_pixels,
            screen.height_in_pixels,
            0,
            WindowClass::INPUT_OUTPUT,
            screen.root_visual,
            &CreateWindowAux::new()
                .background_pixel(0xffffff)
                .override_redirect(1),
        )
        .map_err(err)?;
        conn.map_window(window).map_err(err)?;
        let gc = conn.generate_id().map_err(err)?;
        conn.create_gc(gc, window, &CreateGCAux::new().graphics_exposures(0))
            .map_err(err)?;
        let workload = Self {
            conn,
            window,
            gc,
            width: screen.width_in_pixels,
            height: screen.height_in_pixels,
            depth: screen.root_depth,
            next: 0,
        };
        let desktop =
            pattern::desktop(u32::from(workload.width), u32::from(workload.height)).map_err(err)?;
        workload.put(&desktop, 0, 0)?;
        workload.conn.sync().map_err(err)?;
        Ok(workload)
    }

    fn put(&self, frame: &Frame, x: i16, y: i16) -> Result<()> {
        let width = frame.width() as usize;
        let max = self.conn.maximum_request_bytes().saturating_sub(64);
        let rows = (max / (width * 4)).clamp(1, frame.height() as usize);
        let mut row = 0;
        while row < frame.height() as usize {
            let count = rows.min(frame.height() as usize - row);
            let mut data = Vec::with_capacity(count * width * 4);
            for r in row..row + count {
                data.extend_from_slice(&frame.row(r as u32)[..width * 4]);
            }
            self.conn
                .put_image(
                    ImageFormat::Z_PIXMAP,
                    self.window,
                    self.gc,
                    frame.width() as u16,
                    count as u16,
                    x,
                    y + row as i16,
                    0,
                    self.depth,
                    &data,
                )
                .map_err(err)?;
            row += count;
        }
        Ok(())
    }

    fn fill(&self, colour: u32, x: i16, y: i16, w: u16, h: u16) -> Result<()> {
        self.conn
            .change_gc(self.gc, &ChangeGCAux::new().foreground(colour))
            .map_err(err)?;
        self.conn
            .poly_fill_rectangle(
                self.window,
                self.gc,
                &[x11rb::protocol::xproto::Rectangle {
                    x,
                    y,
                    width: w,
                    height: h,
                }],
            )
            .map_err(err)?;
        Ok(())
    }

    /// Stamps the next marker and waits until the X server has drawn everything.
    fn stamp(&mut self) -> Result<Update> {
        let n = self.next;
        self.next += 1;
        self.fill(marker_colour(n), 0, 0, MARKER, MARKER)?;
        self.conn.sync().map_err(err)?;
        Ok(Update {
            n,
            at: Instant::now(),
        })
    }

    /// Runs `phase` for `duration`, returning its updates.
    pub fn run(&mut self, phase: Phase, duration: Duration) -> Result<Vec<Update>> {
        let start = Instant::now();
        let mut updates = Vec::new();
        let mut i: i32 = 0;
        let (w, h) = (i32::from(self.width), i32::from(self.height));
        let period = match phase {
            Phase::Typing => Duration::from_millis(100),
            Phase::Scrolling => Duration::from_millis(16),
            Phase::Animation => Duration::from_millis(33),
        };
        while start.elapsed() < duration {
            let tick = Instant::now();
            match phase {
                Phase::Typing => {
                    // A dark glyph-like mark on the text line, wrapping.
                    let per_line = (w - 200) / 10;
                    let (col, line) = (i % per_line, i / per_line % 20);
                    self.fill(
                        0x202020 + (i as u32 % 7) * 0x080808,
                        (100 + col * 10) as i16,
                        (100 + line * 20) as i16,
                        7,
                        12,
                    )?;
                }
                Phase::Scrolling => {
                    // Move the text area up by 4 pixels and draw a new strip at the bottom.
                    let (top, bottom) = (40, h - 40);
                    self.conn
                        .copy_area(
                            self.window,
                            self.window,
                            self.gc,
                            0,
                            (top + 4) as i16,
                            0,
                            top as i16,
                            w as u16,
                            (bottom - top - 4) as u16,
                        )
                        .map_err(err)?;
                    let mut strip =
                        Frame::filled(w as u32, 4, [255, 255, 255, 255]).map_err(err)?;
                    pattern::draw_text(
                        &mut strip,
                        lifeline_core::media::Rect {
                            x: 40,
                            y: 0,
                            width: (w - 80) as u32,
                            height: 4,
                        },
                        i as u32,
                    );
                    self.put(&strip, 0, (bottom - 4) as i16)?;
                }
                Phase::Animation => {
                    let x = (i * 8) % (w - 64);
                    self.fill(0xffffff, ((x - 8).max(0)) as i16, (h / 2) as i16, 72, 64)?;
                    self.fill(0x3060c0, x as i16, (h / 2) as i16, 64, 64)?;
                }
            }
            updates.push(self.stamp()?);
            i += 1;
            if let Some(rest) = period.checked_sub(tick.elapsed()) {
                std::thread::sleep(rest);
            }
        }
        Ok(updates)
    }
}
