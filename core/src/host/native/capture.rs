//! Screen capture with xcap, damage from tile comparison.

use crate::host::{Captured, Capturer, HostError, Monitor};
use crate::media::{DamageTracker, Frame};

fn failed(e: impl std::fmt::Display) -> HostError {
    HostError::Protocol(e.to_string())
}

/// Captures one monitor with xcap; see the [module](super) for what damage costs here.
pub struct NativeCapturer {
    monitors: Vec<xcap::Monitor>,
    index: usize,
    monitor: Monitor,
    frame: Option<Frame>,
    tracker: DamageTracker,
}

impl std::fmt::Debug for NativeCapturer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeCapturer")
            .field("monitor", &self.monitor)
            .finish_non_exhaustive()
    }
}

fn describe(m: &xcap::Monitor) -> Result<Monitor, HostError> {
    Ok(Monitor {
        name: m.name().map_err(failed)?,
        x: m.x().map_err(failed)?,
        y: m.y().map_err(failed)?,
        width: m.width().map_err(failed)?,
        height: m.height().map_err(failed)?,
        primary: m.is_primary().map_err(failed)?,
    })
}

impl NativeCapturer {
    /// Shares the primary monitor (or the first).
    pub fn new() -> Result<Self, HostError> {
        let mut capturer = Self {
            monitors: Vec::new(),
            index: 0,
            monitor: Monitor {
                name: String::new(),
                x: 0,
                y: 0,
                width: 0,
                height: 0,
                primary: true,
            },
            frame: None,
            tracker: DamageTracker::default(),
        };
        let monitors = capturer.monitors()?;
        let index = monitors.iter().position(|m| m.primary).unwrap_or(0);
        capturer.select(index)?;
        Ok(capturer)
    }
}

impl Capturer for NativeCapturer {
    fn monitors(&mut self) -> Result<Vec<Monitor>, HostError> {
        self.monitors = xcap::Monitor::all().map_err(failed)?;
        self.monitors.iter().map(describe).collect()
    }

    fn select(&mut self, index: usize) -> Result<Monitor, HostError> {
        let monitors = self.monitors()?;
        let count = monitors.len();
        let chosen = monitors
            .into_iter()
            .nth(index)
            .ok_or(HostError::NoSuchMonitor { index, count })?;
        self.index = index;
        self.monitor = chosen.clone();
        self.tracker.reset();
        Ok(chosen)
    }

    fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    fn has_changed(&mut self) -> Result<bool, HostError> {
        Ok(true)
    }

    fn capture(&mut self) -> Result<Option<Captured<'_>>, HostError> {
        let source = self
            .monitors
            .get(self.index)
            .ok_or(HostError::NoSuchMonitor {
                index: self.index,
                count: self.monitors.len(),
            })?;
        let image = source.capture_image().map_err(failed)?;
        let (width, height) = (image.width(), image.height());
        let mut data = image.into_raw();
        for p in data.chunks_exact_mut(4) {
            p.swap(0, 2); // RGBA → BGRA
            p[3] = 255;
        }
        let frame = Frame::new(width, height, width as usize * 4, data).map_err(failed)?;
        let damage = self.tracker.update(&frame);
        if damage.is_empty() {
            return Ok(None);
        }
        let frame = self.frame.insert(frame);
        Ok(Some(Captured {
            frame,
            damage: damage.rects,
            full: damage.full,
        }))
    }

    fn refresh(&mut self) {
        self.tracker.reset();
    }
}
