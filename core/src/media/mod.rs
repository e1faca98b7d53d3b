//! The video half of screen sharing, without capture or network.
//!
//! - [`Frame`]: a BGRA picture as X11/XShm capture gives it (and as decoding returns it).
//! - [`DamageTracker`]: 64×64 tile comparison with the previous frame; an unchanged frame is
//!   not encoded at all.
//! - [`bgra_to_i420`] / [`i420_to_bgra`] / [`i420_to_rgba`]: BT.601 limited-range colour
//!   conversion for the encoder and after decoding.
//! - [`VideoEncoder`] / [`VideoDecoder`]: codec traits, implemented with openh264
//!   ([`OpenH264Encoder`], [`OpenH264Decoder`]) so that hardware encoders can sit beside it.
//! - [`QualityPreset`]: rate-control inputs (bitrate, frame rate, scale), including `Auto`
//!   from a measured capacity.
//! - [`psnr`]: luma PSNR between two frames, and [`pattern`]: synthetic desktops, for tests
//!   and benchmarks.
//!
//! H.264 needs even picture sizes: odd widths and heights are **padded** by repeating the last
//! column/row, and the decoder crops back to the size carried in [`EncodedFrame`].

mod convert;
mod damage;
mod h264;
mod pacer;
pub mod pattern;
mod rate;

pub use convert::{I420, bgra_to_i420, downscale, i420_to_bgra, i420_to_rgba};
pub use damage::{DEFAULT_TILE, Damage, DamageTracker};
pub use h264::{OpenH264Decoder, OpenH264Encoder};
pub use pacer::{MAX_IN_FLIGHT, Pacer};
pub use rate::{QualityPreset, RateSettings};

/// Errors of the media module.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A frame's dimensions, stride or buffer length do not agree.
    #[error("invalid frame: {0}; pass width, height, stride and a buffer of stride × height bytes")]
    InvalidFrame(String),
    /// The H.264 encoder failed.
    #[error("H.264 encoder failed: {0}; restart the encoder (a keyframe follows)")]
    Encoder(String),
    /// The H.264 decoder rejected the data.
    #[error("H.264 decoder failed: {0}; request a keyframe from the sender")]
    Decoder(String),
    /// A picture could not be written as PNG.
    #[error("cannot encode the picture as PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    /// The number of pixels covered.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Whether the pixel `(x, y)` lies inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && y >= self.y && x - self.x < self.width && y - self.y < self.height
    }
}

/// A picture in BGRA byte order (B, G, R, A per pixel), rows `stride` bytes apart.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    stride: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("stride", &self.stride)
            .finish_non_exhaustive()
    }
}

impl Frame {
    /// Wraps BGRA pixels; `stride` is the distance between rows in bytes (≥ width × 4).
    pub fn new(width: u32, height: u32, stride: usize, data: Vec<u8>) -> Result<Self, MediaError> {
        if width == 0 || height == 0 {
            return Err(MediaError::InvalidFrame(format!("empty {width}×{height}")));
        }
        let row = width as usize * 4;
        if stride < row {
            return Err(MediaError::InvalidFrame(format!(
                "stride {stride} shorter than a row of {row} bytes"
            )));
        }
        let needed = stride * (height as usize - 1) + row;
        if data.len() < needed {
            return Err(MediaError::InvalidFrame(format!(
                "buffer of {} bytes, need {needed}",
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            stride,
            data,
        })
    }

    /// A frame of one colour, given as `[b, g, r, a]`.
    pub fn filled(width: u32, height: u32, bgra: [u8; 4]) -> Result<Self, MediaError> {
        let pixels = width as usize * height as usize;
        let data = bgra.iter().copied().cycle().take(pixels * 4).collect();
        Self::new(width, height, width as usize * 4, data)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes between the starts of two rows.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The raw BGRA bytes (rows `stride` apart).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The BGRA bytes of row `y` (exactly `width × 4` bytes); empty past the last row.
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.stride;
        self.data
            .get(start..start + self.width as usize * 4)
            .unwrap_or(&[])
    }

    /// The BGRA bytes of row `y`, writable.
    pub fn row_mut(&mut self, y: u32) -> &mut [u8] {
        let start = y as usize * self.stride;
        let end = start + self.width as usize * 4;
        self.data.get_mut(start..end).unwrap_or(&mut [])
    }

    /// The pixel at `(x, y)` as `[b, g, r, a]` (transparent black outside the frame).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = x as usize * 4;
        match self.row(y).get(i..i + 4) {
            Some(p) => [p[0], p[1], p[2], p[3]],
            None => [0; 4],
        }
    }

    /// Fills a rectangle (clipped to the frame) with `[b, g, r, a]`.
    pub fn fill_rect(&mut self, rect: Rect, bgra: [u8; 4]) {
        let x0 = rect.x.min(self.width) as usize;
        let x1 = rect.x.saturating_add(rect.width).min(self.width) as usize;
        let y1 = rect.y.saturating_add(rect.height).min(self.height);
        for y in rect.y.min(self.height)..y1 {
            for p in self.row_mut(y)[x0 * 4..x1 * 4].chunks_exact_mut(4) {
                p.copy_from_slice(&bgra);
            }
        }
    }

    /// The pixels as tightly packed RGBA (what most display APIs take).
    pub fn to_rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.width as usize * self.height as usize * 4);
        for y in 0..self.height {
            for p in self.row(y).chunks_exact(4) {
                out.extend_from_slice(&[p[2], p[1], p[0], p[3]]);
            }
        }
        out
    }

    /// The picture as a PNG file's bytes (RGB, opaque).
    pub fn to_png(&self) -> Result<Vec<u8>, MediaError> {
        let mut rgb = Vec::with_capacity(self.width as usize * self.height as usize * 3);
        for y in 0..self.height {
            for p in self.row(y).chunks_exact(4) {
                rgb.extend_from_slice(&[p[2], p[1], p[0]]);
            }
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&rgb)?;
        writer.finish()?;
        Ok(out)
    }
}

/// One encoded picture: an H.264 access unit in Annex B form (start codes included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The NAL units, each preceded by a `00 00 00 01` start code; SPS/PPS come with keyframes.
    pub data: Vec<u8>,
    /// Whether this is an IDR picture a decoder can start from.
    pub keyframe: bool,
    /// Width to display (the coded picture may be one pixel wider: odd sizes are padded).
    pub width: u32,
    /// Height to display (the coded picture may be one pixel taller).
    pub height: u32,
}

/// A video encoder for screen content (openh264 now; hardware encoders later).
pub trait VideoEncoder {
    /// Encodes `frame`, or returns `None` when nothing needs sending (no damage and no
    /// keyframe asked for, or the rate control dropped the frame). `force_keyframe` makes
    /// the result an IDR picture, e.g. when a helper joins or lost packets.
    fn encode(
        &mut self,
        frame: &Frame,
        force_keyframe: bool,
    ) -> Result<Option<EncodedFrame>, MediaError>;

    /// Sets the target bitrate in bits per second.
    fn set_bitrate(&mut self, bits_per_second: u32);

    /// Sets the highest frame rate the rate control plans for.
    fn set_max_fps(&mut self, fps: f32);
}

/// Where the pictures to share come from: a screen capturer, or a test pattern.
pub trait FrameSource: Send {
    /// The current picture, or `None` if it is known not to have changed since the last
    /// call (a capturer with change notification need not copy the screen then).
    fn next_frame(&mut self) -> Result<Option<Frame>, MediaError>;
}

/// A video decoder giving BGRA frames.
pub trait VideoDecoder {
    /// Decodes one access unit; `None` when the decoder needs more data before a picture.
    /// The picture is cropped to `frame.width × frame.height`.
    fn decode(&mut self, frame: &EncodedFrame) -> Result<Option<Frame>, MediaError>;
}

/// Peak signal-to-noise ratio of the luma (BT.601 weights) of two frames, in dB.
///
/// Frames of different sizes compare over their common top-left area; identical frames give
/// `f64::INFINITY`.
pub fn psnr(a: &Frame, b: &Frame) -> f64 {
    let width = a.width.min(b.width);
    let height = a.height.min(b.height);
    let luma =
        |p: &[u8]| 0.114 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.299 * f64::from(p[2]);
    let mut sum = 0.0;
    for y in 0..height {
        let (ra, rb) = (a.row(y), b.row(y));
        for (pa, pb) in ra
            .chunks_exact(4)
            .zip(rb.chunks_exact(4))
            .take(width as usize)
        {
            let d = luma(pa) - luma(pb);
            sum += d * d;
        }
    }
    let mse = sum / (f64::from(width) * f64::from(height));
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}
