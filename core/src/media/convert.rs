//! BGRA ↔ I420 colour conversion (BT.601, limited range — what H.264 decoders assume when the
//! stream says nothing else) and integer downscaling.

use super::{Frame, MediaError};

/// A planar YUV 4:2:0 picture with even width and height, planes tightly packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I420 {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Luma plane, `width × height` bytes.
    pub y: Vec<u8>,
    /// Cb plane, `width/2 × height/2` bytes.
    pub u: Vec<u8>,
    /// Cr plane, `width/2 × height/2` bytes.
    pub v: Vec<u8>,
}

#[inline(always)]
fn luma(b: i32, g: i32, r: i32) -> u8 {
    // 0..=255 input keeps this in 16..=235.
    (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8
}

/// Chroma from the sums of four pixels' b, g, r.
#[inline(always)]
fn chroma(b4: i32, g4: i32, r4: i32) -> (u8, u8) {
    let u = ((-38 * r4 - 74 * g4 + 112 * b4 + 512) >> 10) + 128;
    let v = ((112 * r4 - 94 * g4 - 18 * b4 + 512) >> 10) + 128;
    (u as u8, v as u8)
}

/// Converts a BGRA frame to I420. Odd widths and heights are padded to even by repeating
/// the last column and row (H.264 4:2:0 needs even sizes).
pub fn bgra_to_i420(frame: &Frame) -> I420 {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (pw, ph) = ((w + 1) & !1, (h + 1) & !1);
    let cw = pw / 2;
    let mut out = I420 {
        width: pw as u32,
        height: ph as u32,
        y: vec![0; pw * ph],
        u: vec![0; cw * (ph / 2)],
        v: vec![0; cw * (ph / 2)],
    };
    let px = |p: &[u8]| (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
    for j in 0..ph / 2 {
        let y0 = 2 * j;
        let r0 = frame.row(y0 as u32);
        let r1 = frame.row((y0 + 1).min(h - 1) as u32);
        let (ya, yb) = out.y[y0 * pw..(y0 + 2) * pw].split_at_mut(pw);
        let ur = &mut out.u[j * cw..(j + 1) * cw];
        let vr = &mut out.v[j * cw..(j + 1) * cw];
        let pairs = r0
            .chunks_exact(8)
            .zip(r1.chunks_exact(8))
            .zip(ya.chunks_exact_mut(2).zip(yb.chunks_exact_mut(2)))
            .zip(ur.iter_mut().zip(vr.iter_mut()));
        for (((a, b), (ya, yb)), (u, v)) in pairs {
            let (b0, g0, r0_) = px(&a[0..4]);
            let (b1, g1, r1_) = px(&a[4..8]);
            let (b2, g2, r2_) = px(&b[0..4]);
            let (b3, g3, r3_) = px(&b[4..8]);
            ya[0] = luma(b0, g0, r0_);
            ya[1] = luma(b1, g1, r1_);
            yb[0] = luma(b2, g2, r2_);
            yb[1] = luma(b3, g3, r3_);
            (*u, *v) = chroma(b0 + b1 + b2 + b3, g0 + g1 + g2 + g3, r0_ + r1_ + r2_ + r3_);
        }
        if w % 2 == 1 {
            // The last, odd column: repeat it into the padding column.
            let i = (w - 1) * 4;
            let (b0, g0, r0_) = px(&r0[i..i + 4]);
            let (b2, g2, r2_) = px(&r1[i..i + 4]);
            let (l0, l2) = (luma(b0, g0, r0_), luma(b2, g2, r2_));
            ya[w - 1] = l0;
            ya[w] = l0;
            yb[w - 1] = l2;
            yb[w] = l2;
            (ur[cw - 1], vr[cw - 1]) = chroma(2 * (b0 + b2), 2 * (g0 + g2), 2 * (r0_ + r2_));
        }
    }
    out
}

/// Converts planes to packed 8-bit pixels; `rgba` picks R,G,B,A order, otherwise B,G,R,A.
/// Rows missing from short planes stay black.
pub(crate) fn yuv_to_packed(
    planes: (&[u8], &[u8], &[u8]),
    strides: (usize, usize),
    width: usize,
    height: usize,
    rgba: bool,
) -> Vec<u8> {
    let mut out = vec![0u8; width * height * 4];
    let (ri, bi) = if rgba { (0, 2) } else { (2, 0) };
    let cw = width.div_ceil(2);
    for (row, dst) in out.chunks_exact_mut(width * 4).enumerate() {
        let (Some(ys), Some(us), Some(vs)) = (
            planes.0.get(row * strides.0..row * strides.0 + width),
            planes
                .1
                .get((row / 2) * strides.1..(row / 2) * strides.1 + cw),
            planes
                .2
                .get((row / 2) * strides.1..(row / 2) * strides.1 + cw),
        ) else {
            continue;
        };
        let pairs = dst
            .chunks_mut(8)
            .zip(ys.chunks(2))
            .zip(us.iter().zip(vs.iter()));
        for ((px, y2), (&u, &v)) in pairs {
            let d = i32::from(u) - 128;
            let e = i32::from(v) - 128;
            let (dr, dg, db) = (409 * e, -100 * d - 208 * e, 516 * d);
            for (p, &yv) in px.chunks_exact_mut(4).zip(y2) {
                let c = 298 * (i32::from(yv) - 16) + 128;
                p[ri] = ((c + dr) >> 8).clamp(0, 255) as u8;
                p[1] = ((c + dg) >> 8).clamp(0, 255) as u8;
                p[bi] = ((c + db) >> 8).clamp(0, 255) as u8;
                p[3] = 255;
            }
        }
    }
    out
}

fn check_crop(i420: &I420, width: u32, height: u32) -> Result<(), MediaError> {
    if width == 0 || height == 0 || width > i420.width || height > i420.height {
        return Err(MediaError::InvalidFrame(format!(
            "cannot crop a {}×{} picture to {width}×{height}",
            i420.width, i420.height
        )));
    }
    Ok(())
}

/// Converts I420 to a BGRA [`Frame`], cropped to `width × height` (to undo odd-size padding).
pub fn i420_to_bgra(i420: &I420, width: u32, height: u32) -> Result<Frame, MediaError> {
    check_crop(i420, width, height)?;
    let data = yuv_to_packed(
        (&i420.y, &i420.u, &i420.v),
        (i420.width as usize, i420.width as usize / 2),
        width as usize,
        height as usize,
        false,
    );
    Frame::new(width, height, width as usize * 4, data)
}

/// Converts I420 to tightly packed RGBA, cropped to `width × height`.
pub fn i420_to_rgba(i420: &I420, width: u32, height: u32) -> Result<Vec<u8>, MediaError> {
    check_crop(i420, width, height)?;
    Ok(yuv_to_packed(
        (&i420.y, &i420.u, &i420.v),
        (i420.width as usize, i420.width as usize / 2),
        width as usize,
        height as usize,
        true,
    ))
}

/// Shrinks a frame by an integer `divisor` (box filter: each output pixel averages a
/// `divisor × divisor` block). A divisor of 0 or 1 returns a copy.
pub fn downscale(frame: &Frame, divisor: u32) -> Frame {
    if divisor <= 1 {
        return frame.clone();
    }
    let d = divisor as usize;
    let ow = (frame.width() as usize).div_ceil(d);
    let oh = (frame.height() as usize).div_ceil(d);
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut data = vec![0u8; ow * oh * 4];
    let mut sums = vec![0u32; ow * 4];
    let mut counts = vec![0u32; ow];
    for (oy, dst) in data.chunks_exact_mut(ow * 4).enumerate() {
        sums.fill(0);
        counts.fill(0);
        for y in oy * d..((oy + 1) * d).min(h) {
            for (x, p) in frame.row(y as u32).chunks_exact(4).enumerate().take(w) {
                let o = x / d;
                counts[o] += 1;
                for c in 0..4 {
                    sums[o * 4 + c] += u32::from(p[c]);
                }
            }
        }
        for (o, p) in dst.chunks_exact_mut(4).enumerate() {
            let n = counts[o].max(1);
            for c in 0..4 {
                p[c] = ((sums[o * 4 + c] + n / 2) / n) as u8;
            }
        }
    }
    // ow, oh ≥ 1 and the buffer is exactly ow × oh × 4, so this cannot fail.
    Frame::new(ow as u32, oh as u32, ow * 4, data).unwrap_or_else(|_| frame.clone())
}
