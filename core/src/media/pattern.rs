//! Synthetic desktop-like frames for tests and benchmarks.

use super::{Frame, MediaError, Rect};

/// Dark grey "ink" for text-like glyphs, as `[b, g, r, a]`.
pub const INK: [u8; 4] = [40, 40, 40, 255];

/// Draws lines of text-like dark glyph rectangles into `area`, deterministically from `seed`.
pub fn draw_text(frame: &mut Frame, area: Rect, seed: u32) {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut next = move |n: u32| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 16) % n.max(1)
    };
    let mut y = area.y + 4;
    while y + 12 <= area.y + area.height {
        let mut x = area.x + 4;
        while x + 10 < area.x + area.width {
            // A word of 2–8 glyphs, each 2–6 px wide with a 1–2 px gap, 6–11 px tall.
            for _ in 0..2 + next(7) {
                let w = 2 + next(5);
                let h = 6 + next(6);
                if x + w >= area.x + area.width {
                    break;
                }
                frame.fill_rect(
                    Rect {
                        x,
                        y: y + 11 - h,
                        width: w,
                        height: h,
                    },
                    INK,
                );
                x += w + 1 + next(2);
            }
            x += 5 + next(4);
        }
        y += 18;
    }
}

/// A `width × height` desktop: white background with text, and a window with a coloured
/// title bar and a pale client area holding more text.
pub fn desktop(width: u32, height: u32) -> Result<Frame, MediaError> {
    let mut frame = Frame::filled(width, height, [255, 255, 255, 255])?;
    draw_text(
        &mut frame,
        Rect {
            x: 0,
            y: 0,
            width,
            height,
        },
        1,
    );
    let window = Rect {
        x: width / 6,
        y: height / 6,
        width: width / 2,
        height: height / 2,
    };
    frame.fill_rect(window, [200, 110, 30, 255]);
    let client = Rect {
        x: window.x + 4,
        y: window.y + 28,
        width: window.width.saturating_sub(8),
        height: window.height.saturating_sub(32),
    };
    frame.fill_rect(client, [245, 250, 240, 255]);
    draw_text(&mut frame, client, 2);
    Ok(frame)
}
