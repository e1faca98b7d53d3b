//! Damage detection: which tiles changed since the previous frame.

use super::{Frame, Rect};

/// The default tile edge in pixels.
pub const DEFAULT_TILE: u32 = 64;

/// The changed part of a frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Damage {
    /// Changed areas: runs of adjacent changed tiles within one tile row, clipped to the frame.
    pub rects: Vec<Rect>,
    /// How many tiles changed.
    pub tiles: usize,
    /// Whether the whole frame counts as changed (first frame, or the size changed).
    pub full: bool,
}

impl Damage {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.rects.is_empty()
    }

    /// The number of changed pixels (tile-granular).
    pub fn area(&self) -> u64 {
        self.rects.iter().map(Rect::area).sum()
    }
}

/// Compares each frame with the previous one in square tiles.
#[derive(Debug, Clone)]
pub struct DamageTracker {
    tile: u32,
    previous: Option<Frame>,
}

impl Default for DamageTracker {
    fn default() -> Self {
        Self::new(DEFAULT_TILE)
    }
}

impl DamageTracker {
    /// A tracker with `tile × tile` pixel tiles (a tile of 0 counts as 1).
    pub fn new(tile: u32) -> Self {
        Self {
            tile: tile.max(1),
            previous: None,
        }
    }

    /// The tile edge in pixels.
    pub fn tile(&self) -> u32 {
        self.tile
    }

    /// Forgets the previous frame, so that the next one is fully damaged.
    pub fn reset(&mut self) {
        self.previous = None;
    }

    /// Compares `frame` with the previous one, remembers it, and returns what changed.
    pub fn update(&mut self, frame: &Frame) -> Damage {
        let (w, h, t) = (frame.width(), frame.height(), self.tile);
        let tiles_x = w.div_ceil(t) as usize;
        let Some(previous) = self
            .previous
            .as_mut()
            .filter(|p| p.width() == w && p.height() == h)
        else {
            let mut copy = Vec::with_capacity(w as usize * h as usize * 4);
            for y in 0..h {
                copy.extend_from_slice(frame.row(y));
            }
            self.previous = Frame::new(w, h, w as usize * 4, copy).ok();
            let mut rects = Vec::new();
            for ty in 0..h.div_ceil(t) {
                let y = ty * t;
                rects.push(Rect {
                    x: 0,
                    y,
                    width: w,
                    height: t.min(h - y),
                });
            }
            return Damage {
                rects,
                tiles: tiles_x * h.div_ceil(t) as usize,
                full: true,
            };
        };
        let seg = t as usize * 4;
        let mut damage = Damage::default();
        let mut dirty = vec![false; tiles_x];
        for ty in 0..h.div_ceil(t) {
            dirty.fill(false);
            let y0 = ty * t;
            let y1 = (y0 + t).min(h);
            for y in y0..y1 {
                let (new, old) = (frame.row(y), previous.row(y));
                if new == old {
                    continue;
                }
                for (tx, (a, b)) in new.chunks(seg).zip(old.chunks(seg)).enumerate() {
                    if !dirty[tx] && a != b {
                        dirty[tx] = true;
                    }
                }
            }
            // Remember the changed tiles and merge runs of them into rectangles.
            let mut tx = 0;
            while tx < tiles_x {
                if !dirty[tx] {
                    tx += 1;
                    continue;
                }
                let start = tx;
                while tx < tiles_x && dirty[tx] {
                    tx += 1;
                }
                damage.tiles += tx - start;
                let x0 = start as u32 * t;
                let x1 = (tx as u32 * t).min(w);
                let (b0, b1) = (x0 as usize * 4, x1 as usize * 4);
                for y in y0..y1 {
                    previous.row_mut(y)[b0..b1].copy_from_slice(&frame.row(y)[b0..b1]);
                }
                damage.rects.push(Rect {
                    x: x0,
                    y: y0,
                    width: x1 - x0,
                    height: y1 - y0,
                });
            }
        }
        damage
    }
}
