//! QR codes of invitation links, as a PNG image and as text for a terminal.

use qrcode::{Color, EcLevel, QrCode};
use thiserror::Error;

/// Why a QR code could not be made.
#[derive(Debug, Error)]
pub enum QrError {
    /// The data does not fit in the largest QR code.
    #[error("the link is too long for a QR code: {0}")]
    TooLong(qrcode::types::QrError),
    /// The PNG encoder failed.
    #[error("could not write the QR code as PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// Light modules around the code, as the QR standard asks (4 for print, 2 on screens).
const PNG_QUIET_ZONE: usize = 4;
const TERMINAL_QUIET_ZONE: usize = 2;
/// Pixels per module in the PNG.
const PNG_SCALE: usize = 8;

/// A QR code of some text (an invitation link), with low error correction so that a
/// 400-byte link still fits a terminal 80 columns wide.
pub struct Qr {
    width: usize,
    dark: Vec<bool>,
}

impl Qr {
    /// Encodes `text`.
    pub fn new(text: &str) -> Result<Self, QrError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L)
            .map_err(QrError::TooLong)?;
        Ok(Self {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at (`x`, `y`) is dark; outside the code (the quiet zone) is light.
    pub fn is_dark(&self, x: isize, y: isize) -> bool {
        let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y)) else {
            return false;
        };
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// A greyscale PNG image, 8 pixels per module with a 4-module quiet zone.
    pub fn to_png(&self) -> Result<Vec<u8>, QrError> {
        let side = (self.width + 2 * PNG_QUIET_ZONE) * PNG_SCALE;
        let quiet = PNG_QUIET_ZONE as isize;
        let mut pixels = Vec::with_capacity(side * side);
        for py in 0..side {
            for px in 0..side {
                let x = (px / PNG_SCALE) as isize - quiet;
                let y = (py / PNG_SCALE) as isize - quiet;
                pixels.push(if self.is_dark(x, y) { 0 } else { 255 });
            }
        }
        let mut out = Vec::new();
        let side = u32::try_from(side).unwrap_or(u32::MAX);
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
        Ok(out)
    }

    /// Text drawing of the code with half-block characters (two modules per character
    /// cell), dark modules drawn as spaces on a light block so that it scans on dark and
    /// light terminals alike.
    pub fn to_terminal(&self) -> String {
        let quiet = TERMINAL_QUIET_ZONE as isize;
        let end = self.width as isize + quiet;
        let mut out = String::new();
        let mut y = -quiet;
        while y < end {
            for x in -quiet..end {
                out.push(match (self.is_dark(x, y), self.is_dark(x, y + 1)) {
                    (false, false) => '█',
                    (false, true) => '▀',
                    (true, false) => '▄',
                    (true, true) => ' ',
                });
            }
            out.push('\n');
            y += 2;
        }
        out
    }
}
