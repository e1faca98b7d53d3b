//! Screen capture on X11: RandR monitors, DAMAGE for what changed, MIT-SHM or plain GetImage
//! for the pixels.

use std::fs::File;
use std::os::unix::fs::FileExt;

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::damage::{ConnectionExt as _, ReportLevel};
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::shm::ConnectionExt as _;
use x11rb::protocol::xfixes::ConnectionExt as _;
use x11rb::protocol::xproto::{self, ConnectionExt as _, ImageFormat, ImageOrder, Rectangle};
use x11rb::rust_connection::RustConnection;
use x11rb::{NONE, protocol};

use crate::host::{Captured, Capturer, HostError, Monitor};
use crate::media::{Frame, Rect};

/// Above this many damaged rectangles, one bounding box is fetched instead (fewer round trips).
const MAX_RECTS: usize = 16;

/// A shared-memory segment the server created (MIT-SHM 1.2), read back with `pread`.
struct Segment {
    id: u32,
    file: File,
    size: usize,
}

/// Captures one monitor of an X11 display; see [`Capturer`].
pub struct X11Capturer {
    conn: RustConnection,
    root: xproto::Window,
    root_width: u16,
    root_height: u16,
    segment: Option<Segment>,
    damage: u32,
    region: u32,
    dirty: bool,
    full: bool,
    monitor: Monitor,
    frame: Frame,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for X11Capturer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X11Capturer")
            .field("monitor", &self.monitor)
            .field("shm", &self.segment.is_some())
            .finish_non_exhaustive()
    }
}

impl X11Capturer {
    /// Connects to `display` (`None`: `$DISPLAY`) and shares its primary monitor (or the
    /// first). Uses MIT-SHM when the server offers it to this client, plain GetImage otherwise.
    pub fn connect(display: Option<&str>) -> Result<Self, HostError> {
        let (conn, screen_num) = super::connect(display)?;
        let screen = conn
            .setup()
            .roots
            .get(screen_num)
            .ok_or_else(|| HostError::Protocol(format!("no screen {screen_num}")))?;
        let (root, root_width, root_height) =
            (screen.root, screen.width_in_pixels, screen.height_in_pixels);
        check_format(&conn, screen)?;

        for (name, present) in [
            (protocol::damage::X11_EXTENSION_NAME, "DAMAGE"),
            (protocol::xfixes::X11_EXTENSION_NAME, "XFIXES"),
        ] {
            if conn.extension_information(name)?.is_none() {
                return Err(HostError::MissingExtension(present));
            }
        }
        conn.xfixes_query_version(5, 0)?.reply()?;
        conn.damage_query_version(1, 1)?.reply()?;
        let damage = conn.generate_id()?;
        conn.damage_create(damage, root, ReportLevel::NON_EMPTY)?
            .check()?;
        let region = conn.generate_id()?;
        conn.xfixes_create_region(region, &[])?.check()?;

        let size = usize::from(root_width) * usize::from(root_height) * 4;
        let segment = create_segment(&conn, size);
        tracing::debug!(
            shm = segment.is_some(),
            root_width,
            root_height,
            "X11 capture"
        );
        let frame =
            Frame::filled(1, 1, [0, 0, 0, 255]).map_err(|e| HostError::Protocol(e.to_string()))?;
        let mut capturer = Self {
            conn,
            root,
            root_width,
            root_height,
            segment,
            damage,
            region,
            dirty: true,
            full: true,
            monitor: Monitor {
                name: String::new(),
                x: 0,
                y: 0,
                width: 1,
                height: 1,
                primary: true,
            },
            frame,
            scratch: Vec::new(),
        };
        let monitors = capturer.monitors()?;
        let index = monitors.iter().position(|m| m.primary).unwrap_or(0);
        capturer.select(index)?;
        Ok(capturer)
    }

    /// Whether pixels come through MIT-SHM (else plain GetImage over the socket).
    pub fn uses_shm(&self) -> bool {
        self.segment.is_some()
    }

    /// Reads pending events: any DAMAGE notification marks the screen dirty.
    fn pump(&mut self) -> Result<(), HostError> {
        while let Some(event) = self.conn.poll_for_event()? {
            if let Event::DamageNotify(_) = event {
                self.dirty = true;
            }
        }
        Ok(())
    }

    /// The damaged rectangles since the last call (root coordinates), emptying the damage.
    fn take_damage(&mut self) -> Result<Vec<Rectangle>, HostError> {
        self.conn
            .damage_subtract(self.damage, NONE, self.region)?
            .check()?;
        Ok(self
            .conn
            .xfixes_fetch_region(self.region)?
            .reply()?
            .rectangles)
    }

    /// Copies the root-window rectangle `r` (inside the monitor) into the frame.
    fn fetch(&mut self, r: Rect) -> Result<(), HostError> {
        let (x, y) = (self.monitor.x + r.x as i32, self.monitor.y + r.y as i32);
        let bytes = r.width as usize * r.height as usize * 4;
        let format = ImageFormat::Z_PIXMAP.into();
        let (x, y, w, h) = (x as i16, y as i16, r.width as u16, r.height as u16);
        match &self.segment {
            Some(seg) if bytes <= seg.size => {
                self.conn
                    .shm_get_image(self.root, x, y, w, h, !0, format, seg.id, 0)?
                    .reply()?;
                self.scratch.resize(bytes, 0);
                seg.file
                    .read_exact_at(&mut self.scratch, 0)
                    .map_err(|e| HostError::Protocol(format!("reading the shared image: {e}")))?;
            }
            _ => {
                let reply = self
                    .conn
                    .get_image(ImageFormat::Z_PIXMAP, self.root, x, y, w, h, !0)?
                    .reply()?;
                self.scratch = reply.data;
            }
        }
        let row = r.width as usize * 4;
        for (i, src) in self
            .scratch
            .chunks_exact(row)
            .take(r.height as usize)
            .enumerate()
        {
            let dst = self.frame.row_mut(r.y + i as u32);
            let start = r.x as usize * 4;
            if let Some(dst) = dst.get_mut(start..start + row) {
                dst.copy_from_slice(src);
                for p in dst.chunks_exact_mut(4) {
                    p[3] = 255;
                }
            }
        }
        Ok(())
    }

    /// The monitor's rectangle clipped to the root window.
    fn clip_to_root(&self, m: &Monitor) -> Option<(i32, i32, u32, u32)> {
        let x0 = m.x.max(0);
        let y0 = m.y.max(0);
        let x1 = (m.x + m.width as i32).min(i32::from(self.root_width));
        let y1 = (m.y + m.height as i32).min(i32::from(self.root_height));
        (x1 > x0 && y1 > y0).then(|| (x0, y0, (x1 - x0) as u32, (y1 - y0) as u32))
    }

    /// Damage rectangles (root coordinates) clipped to the monitor, in frame coordinates.
    fn to_frame(&self, rects: &[Rectangle]) -> Vec<Rect> {
        let m = &self.monitor;
        let (mx1, my1) = (m.x + m.width as i32, m.y + m.height as i32);
        rects
            .iter()
            .filter_map(|r| {
                let x0 = i32::from(r.x).max(m.x);
                let y0 = i32::from(r.y).max(m.y);
                let x1 = (i32::from(r.x) + i32::from(r.width)).min(mx1);
                let y1 = (i32::from(r.y) + i32::from(r.height)).min(my1);
                (x1 > x0 && y1 > y0).then(|| Rect {
                    x: (x0 - m.x) as u32,
                    y: (y0 - m.y) as u32,
                    width: (x1 - x0) as u32,
                    height: (y1 - y0) as u32,
                })
            })
            .collect()
    }
}

/// Refuses screens whose pixels are not 32-bit little-endian xRGB (what BGRA frames hold).
fn check_format(conn: &RustConnection, screen: &xproto::Screen) -> Result<(), HostError> {
    let setup = conn.setup();
    let depth = screen.root_depth;
    let bpp = setup
        .pixmap_formats
        .iter()
        .find(|f| f.depth == depth)
        .map(|f| f.bits_per_pixel);
    let visual = screen
        .allowed_depths
        .iter()
        .flat_map(|d| &d.visuals)
        .find(|v| v.visual_id == screen.root_visual);
    let masks = visual.map(|v| (v.red_mask, v.green_mask, v.blue_mask));
    if bpp != Some(32)
        || setup.image_byte_order != ImageOrder::LSB_FIRST
        || masks != Some((0xff_0000, 0xff00, 0xff))
    {
        return Err(HostError::UnsupportedFormat(format!(
            "depth {depth}, {bpp:?} bits per pixel, byte order {:?}, masks {masks:x?}",
            setup.image_byte_order
        )));
    }
    Ok(())
}

/// Asks the server for a shared-memory segment of `size` bytes; `None` when MIT-SHM 1.2 is
/// missing or refused (a remote display cannot pass the file descriptor).
fn create_segment(conn: &RustConnection, size: usize) -> Option<Segment> {
    let size32 = u32::try_from(size).ok()?;
    let version = conn.shm_query_version().ok()?.reply().ok()?;
    if (version.major_version, version.minor_version) < (1, 2) {
        tracing::info!("MIT-SHM before 1.2: capturing with plain GetImage");
        return None;
    }
    let id = conn.generate_id().ok()?;
    match conn
        .shm_create_segment(id, size32, false)
        .map_err(|e| e.to_string())
        .and_then(|c| c.reply().map_err(|e| e.to_string()))
    {
        Ok(reply) => Some(Segment {
            id,
            file: File::from(reply.shm_fd),
            size,
        }),
        Err(e) => {
            tracing::info!(error = %e, "MIT-SHM refused: capturing with plain GetImage");
            None
        }
    }
}

impl Capturer for X11Capturer {
    fn monitors(&mut self) -> Result<Vec<Monitor>, HostError> {
        // The screen may have been resized since (RandR): follow it.
        let geometry = self.conn.get_geometry(self.root)?.reply()?;
        if (geometry.width, geometry.height) != (self.root_width, self.root_height) {
            (self.root_width, self.root_height) = (geometry.width, geometry.height);
            let size = usize::from(geometry.width) * usize::from(geometry.height) * 4;
            if self.segment.as_ref().is_some_and(|s| s.size < size) {
                if let Some(old) = self.segment.take() {
                    self.conn.shm_detach(old.id)?;
                }
                self.segment = create_segment(&self.conn, size);
            }
        }
        let whole = Monitor {
            name: "screen".into(),
            x: 0,
            y: 0,
            width: u32::from(self.root_width),
            height: u32::from(self.root_height),
            primary: true,
        };
        if self
            .conn
            .extension_information(protocol::randr::X11_EXTENSION_NAME)?
            .is_none()
        {
            return Ok(vec![whole]);
        }
        let version = self.conn.randr_query_version(1, 5)?.reply()?;
        if (version.major_version, version.minor_version) < (1, 5) {
            return Ok(vec![whole]);
        }
        let reply = self.conn.randr_get_monitors(self.root, true)?.reply()?;
        let mut monitors = Vec::with_capacity(reply.monitors.len());
        for info in reply.monitors {
            let name = self.conn.get_atom_name(info.name)?.reply()?.name;
            monitors.push(Monitor {
                name: String::from_utf8_lossy(&name).into_owned(),
                x: i32::from(info.x),
                y: i32::from(info.y),
                width: u32::from(info.width),
                height: u32::from(info.height),
                primary: info.primary,
            });
        }
        if monitors.is_empty() {
            monitors.push(whole);
        }
        Ok(monitors)
    }

    fn select(&mut self, index: usize) -> Result<Monitor, HostError> {
        let monitors = self.monitors()?;
        let count = monitors.len();
        let chosen = monitors
            .into_iter()
            .nth(index)
            .ok_or(HostError::NoSuchMonitor { index, count })?;
        let (x, y, width, height) = self.clip_to_root(&chosen).ok_or_else(|| {
            HostError::Protocol(format!("monitor {} lies outside the screen", chosen.name))
        })?;
        self.monitor = Monitor {
            x,
            y,
            width,
            height,
            ..chosen
        };
        self.frame = Frame::filled(width, height, [0, 0, 0, 255])
            .map_err(|e| HostError::Protocol(e.to_string()))?;
        self.full = true;
        tracing::debug!(monitor = ?self.monitor, "sharing monitor");
        Ok(self.monitor.clone())
    }

    fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    fn has_changed(&mut self) -> Result<bool, HostError> {
        self.pump()?;
        Ok(self.dirty || self.full)
    }

    fn capture(&mut self) -> Result<Option<Captured<'_>>, HostError> {
        self.pump()?;
        if !self.dirty && !self.full {
            return Ok(None);
        }
        self.dirty = false;
        let rects = self.take_damage()?;
        let full = std::mem::take(&mut self.full);
        let whole = Rect {
            x: 0,
            y: 0,
            width: self.monitor.width,
            height: self.monitor.height,
        };
        let mut damage = if full {
            vec![whole]
        } else {
            self.to_frame(&rects)
        };
        if damage.is_empty() {
            return Ok(None);
        }
        if damage.len() > MAX_RECTS {
            damage = vec![bounding_box(&damage)];
        }
        for &r in &damage {
            self.fetch(r)?;
        }
        Ok(Some(Captured {
            frame: &self.frame,
            damage,
            full,
        }))
    }

    fn refresh(&mut self) {
        self.full = true;
    }
}

fn bounding_box(rects: &[Rect]) -> Rect {
    let x0 = rects.iter().map(|r| r.x).min().unwrap_or(0);
    let y0 = rects.iter().map(|r| r.y).min().unwrap_or(0);
    let x1 = rects.iter().map(|r| r.x + r.width).max().unwrap_or(0);
    let y1 = rects.iter().map(|r| r.y + r.height).max().unwrap_or(0);
    Rect {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    }
}
