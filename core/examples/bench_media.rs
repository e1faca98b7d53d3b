//! Times the media pipeline on a synthetic 1080p desktop.
//!
//! `cargo run --release -p lifeline-core --example bench_media`

use std::time::{Duration, Instant};

use lifeline_core::media::{
    DamageTracker, OpenH264Decoder, OpenH264Encoder, QualityPreset, Rect, VideoDecoder,
    VideoEncoder, bgra_to_i420, i420_to_bgra, pattern, psnr,
};

const RUNS: u32 = 20;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median of `RUNS` timings of `f`.
fn time(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            ms(start.elapsed())
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (w, h) = (1920, 1080);
    let base = pattern::desktop(w, h)?;
    println!("synthetic desktop {w}x{h}, median of {RUNS} runs");

    let convert = time(|| {
        std::hint::black_box(bgra_to_i420(&base));
    });
    println!("BGRA -> I420:            {convert:7.2} ms");
    let yuv = bgra_to_i420(&base);
    let mut back = None;
    let to_bgra = time(|| back = i420_to_bgra(&yuv, w, h).ok());
    let back = back.ok_or("conversion failed")?;
    println!(
        "I420 -> BGRA:            {to_bgra:7.2} ms  (round trip without codec: PSNR {:.1} dB)",
        psnr(&base, &back)
    );

    let mut changed = base.clone();
    changed.fill_rect(
        Rect {
            x: 1000,
            y: 900,
            width: 40,
            height: 12,
        },
        pattern::INK,
    );
    let mut tracker = DamageTracker::default();
    tracker.update(&base);
    let unchanged = time(|| {
        std::hint::black_box(tracker.update(&base));
    });
    println!("damage check, unchanged: {unchanged:7.2} ms");
    let mut flip = false;
    let small = time(|| {
        flip = !flip;
        let damage = tracker.update(if flip { &changed } else { &base });
        std::hint::black_box(damage);
    });
    println!("damage check, one word:  {small:7.2} ms");

    // Keyframes: a fresh encoder each run, so each first frame is an IDR.
    let mut key_bytes = 0;
    let mut keyframe = None;
    let key = time(|| {
        let mut enc = OpenH264Encoder::new(QualityPreset::Best);
        if let Ok(Some(f)) = enc.encode(&base, false) {
            key_bytes = f.data.len();
            keyframe = Some(f);
        }
    });
    println!("encode keyframe:         {key:7.2} ms  {key_bytes} bytes");

    // P-frames: alternate between two frames differing in one word.
    let mut enc = OpenH264Encoder::new(QualityPreset::Best);
    enc.encode(&base, false)?;
    let mut p_bytes = 0;
    let mut flip = false;
    let p = time(|| {
        flip = !flip;
        if let Ok(Some(f)) = enc.encode(if flip { &changed } else { &base }, false) {
            p_bytes = f.data.len();
        }
    });
    println!("encode small-change P:   {p:7.2} ms  {p_bytes} bytes");
    let skip = time(|| {
        std::hint::black_box(enc.encode(&base, false).ok());
    });
    println!("encode unchanged frame:  {skip:7.2} ms  (no encode, 0 bytes)");

    let keyframe = keyframe.ok_or("no keyframe")?;
    let mut decoder = OpenH264Decoder::new()?;
    let mut decoded = None;
    let dec = time(|| decoded = decoder.decode(&keyframe).ok().flatten());
    let decoded = decoded.ok_or("no decoded frame")?;
    println!(
        "decode keyframe:         {dec:7.2} ms  (incl. I420 -> BGRA), PSNR {:.1} dB",
        psnr(&base, &decoded)
    );
    // P-frame decode: a decoder fed the keyframe, then alternating one-word changes.
    let mut enc = OpenH264Encoder::new(QualityPreset::Best);
    let mut decoder = OpenH264Decoder::new()?;
    let first = enc.encode(&base, false)?.ok_or("no keyframe")?;
    decoder.decode(&first)?;
    let pframes: Vec<_> = (0..RUNS)
        .filter_map(|i| {
            enc.encode(if i % 2 == 0 { &changed } else { &base }, false)
                .ok()
                .flatten()
        })
        .collect();
    let mut next = pframes.iter();
    let dec_p = time(|| {
        if let Some(f) = next.next() {
            std::hint::black_box(decoder.decode(f).ok());
        }
    });
    println!("decode small-change P:   {dec_p:7.2} ms  (incl. I420 -> BGRA)");

    for preset in [
        QualityPreset::Balanced,
        QualityPreset::Low,
        QualityPreset::Dialup,
    ] {
        let mut enc = OpenH264Encoder::new(preset);
        let start = Instant::now();
        let k = enc.encode(&base, false)?.ok_or("no keyframe")?;
        let t = ms(start.elapsed());
        let p = enc.encode(&changed, false)?.map_or(0, |f| f.data.len());
        let mut d = OpenH264Decoder::new()?;
        let q = d
            .decode(&k)?
            .map(|f| {
                psnr(
                    &lifeline_core::media::downscale(&base, preset.settings().scale_divisor),
                    &f,
                )
            })
            .unwrap_or(0.0);
        println!(
            "{preset:?}: keyframe {}x{} {} bytes in {t:.1} ms, PSNR {q:.1} dB; P-frame {p} bytes",
            k.width,
            k.height,
            k.data.len()
        );
    }
    Ok(())
}
