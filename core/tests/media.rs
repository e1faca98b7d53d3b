//! Media: damage detection, colour conversion, H.264 round trips and rate presets.
#![cfg(feature = "media")]

use lifeline_core::media::{
    DamageTracker, EncodedFrame, Frame, OpenH264Decoder, OpenH264Encoder, QualityPreset, Rect,
    VideoDecoder, VideoEncoder, bgra_to_i420, downscale, i420_to_bgra, i420_to_rgba, pattern, psnr,
};

fn encode(enc: &mut OpenH264Encoder, frame: &Frame, key: bool) -> Option<EncodedFrame> {
    enc.encode(frame, key).expect("encode")
}

fn decode(dec: &mut OpenH264Decoder, frame: &EncodedFrame) -> Frame {
    dec.decode(frame).expect("decode").expect("a picture")
}

/// A one-word change inside one 64×64 tile.
fn small_change(frame: &Frame) -> (Frame, Rect) {
    let mut changed = frame.clone();
    let rect = Rect {
        x: 200,
        y: 140,
        width: 30,
        height: 10,
    };
    changed.fill_rect(rect, [0, 0, 200, 255]);
    (changed, rect)
}

#[test]
fn best_round_trip_is_sharp() {
    let frame = pattern::desktop(640, 480).unwrap();
    let mut enc = OpenH264Encoder::new(QualityPreset::Best);
    let key = encode(&mut enc, &frame, false).expect("first frame is encoded");
    assert!(key.keyframe, "the first frame is an IDR");
    assert!(key.data.starts_with(&[0, 0, 0, 1]), "Annex B start code");
    assert_eq!((key.width, key.height), (640, 480));
    let mut dec = OpenH264Decoder::new().unwrap();
    let out = decode(&mut dec, &key);
    assert_eq!((out.width(), out.height()), (640, 480));
    let q = psnr(&frame, &out);
    assert!(q >= 35.0, "PSNR {q:.1} dB at Best");
}

#[test]
fn identical_frame_has_no_damage_and_no_encode() {
    let frame = pattern::desktop(640, 480).unwrap();
    let mut enc = OpenH264Encoder::new(QualityPreset::Best);
    assert!(encode(&mut enc, &frame, false).is_some());
    assert!(enc.last_damage().full);
    assert!(encode(&mut enc, &frame.clone(), false).is_none());
    assert!(enc.last_damage().is_empty());
    assert_eq!(enc.last_damage().tiles, 0);
}

#[test]
fn small_change_damages_exactly_its_tiles_and_gives_a_small_p_frame() {
    let frame = pattern::desktop(640, 480).unwrap();
    let (changed, _) = small_change(&frame);
    let mut enc = OpenH264Encoder::new(QualityPreset::Best);
    let mut dec = OpenH264Decoder::new().unwrap();
    let key = encode(&mut enc, &frame, false).unwrap();
    decode(&mut dec, &key);
    let p = encode(&mut enc, &changed, false).expect("a change is encoded");
    // x 200..230 lies in tile column 3 (192..256); y 140..150 in tile row 2 (128..192).
    assert_eq!(
        enc.last_damage().rects,
        vec![Rect {
            x: 192,
            y: 128,
            width: 64,
            height: 64
        }]
    );
    assert_eq!(enc.last_damage().tiles, 1);
    assert!(!p.keyframe);
    assert!(
        p.data.len() * 20 < key.data.len(),
        "P-frame {} bytes, keyframe {} bytes",
        p.data.len(),
        key.data.len()
    );
    let out = decode(&mut dec, &p);
    assert!(psnr(&changed, &out) >= 35.0);
}

#[test]
fn damage_spanning_tiles_is_merged_per_tile_row() {
    let frame = Frame::filled(300, 200, [255; 4]).unwrap();
    let mut tracker = DamageTracker::new(64);
    let first = tracker.update(&frame);
    assert!(first.full);
    assert_eq!(first.tiles, 5 * 4);
    let mut changed = frame.clone();
    // x 60..140 touches tile columns 0..=2; y 250 is outside; the last column is 256..300.
    changed.fill_rect(
        Rect {
            x: 60,
            y: 10,
            width: 80,
            height: 2,
        },
        [0, 0, 0, 255],
    );
    changed.fill_rect(
        Rect {
            x: 299,
            y: 199,
            width: 1,
            height: 1,
        },
        [0, 0, 0, 255],
    );
    let damage = tracker.update(&changed);
    assert_eq!(damage.tiles, 4);
    assert_eq!(
        damage.rects,
        vec![
            Rect {
                x: 0,
                y: 0,
                width: 192,
                height: 64
            },
            Rect {
                x: 256,
                y: 192,
                width: 44,
                height: 8
            },
        ]
    );
    assert!(tracker.update(&changed).is_empty());
}

#[test]
fn forced_keyframe_is_an_idr() {
    let frame = pattern::desktop(320, 240).unwrap();
    let mut enc = OpenH264Encoder::new(QualityPreset::Balanced);
    let mut dec = OpenH264Decoder::new().unwrap();
    decode(&mut dec, &encode(&mut enc, &frame, false).unwrap());
    let (changed, _) = small_change(&frame);
    let p = encode(&mut enc, &changed, false).unwrap();
    assert!(!p.keyframe);
    decode(&mut dec, &p);
    // Forced even without damage.
    let key = encode(&mut enc, &changed, true).expect("a forced keyframe is sent");
    assert!(key.keyframe);
    // NAL type 5 (IDR slice) is present.
    assert!(
        key.data
            .windows(5)
            .any(|w| w[..4] == [0, 0, 0, 1] && w[4] & 0x1f == 5)
    );
    // A fresh decoder can start from it.
    let mut fresh = OpenH264Decoder::new().unwrap();
    assert!(psnr(&changed, &decode(&mut fresh, &key)) >= 30.0);
}

#[test]
fn odd_sizes_are_padded_and_cropped_back() {
    for (w, h) in [(1366, 768), (1023, 767), (33, 17)] {
        let frame = pattern::desktop(w, h).unwrap();
        let yuv = bgra_to_i420(&frame);
        assert_eq!((yuv.width, yuv.height), ((w + 1) & !1, (h + 1) & !1));
        let mut enc = OpenH264Encoder::new(QualityPreset::Best);
        let key = encode(&mut enc, &frame, false).unwrap();
        assert_eq!((key.width, key.height), (w, h));
        let out = decode(&mut OpenH264Decoder::new().unwrap(), &key);
        assert_eq!((out.width(), out.height()), (w, h), "{w}x{h}");
        let q = psnr(&frame, &out);
        assert!(q >= 35.0, "{w}x{h}: PSNR {q:.1} dB");
    }
}

#[test]
fn colour_conversion_round_trips() {
    let mut frame = pattern::desktop(101, 51).unwrap();
    frame.fill_rect(
        Rect {
            x: 10,
            y: 10,
            width: 20,
            height: 20,
        },
        [30, 200, 90, 255],
    );
    let yuv = bgra_to_i420(&frame);
    let back = i420_to_bgra(&yuv, 101, 51).unwrap();
    assert!(psnr(&frame, &back) >= 45.0);
    // White and black map to limited range.
    let white = bgra_to_i420(&Frame::filled(4, 4, [255; 4]).unwrap());
    assert!(white.y.iter().all(|&y| y == 235));
    assert!(white.u.iter().chain(&white.v).all(|&c| c == 128));
    let rgba = i420_to_rgba(&yuv, 101, 51).unwrap();
    let p = frame.pixel(15, 15);
    let q = &rgba[(15 * 101 + 15) * 4..][..4];
    for (a, b) in [(p[2], q[0]), (p[1], q[1]), (p[0], q[2])] {
        assert!(a.abs_diff(b) <= 3, "{p:?} vs {q:?}");
    }
    assert!(i420_to_bgra(&yuv, 200, 51).is_err());
}

#[test]
fn frame_rejects_bad_geometry_and_honours_stride() {
    assert!(Frame::new(10, 10, 39, vec![0; 400]).is_err());
    assert!(Frame::new(10, 10, 40, vec![0; 399]).is_err());
    assert!(Frame::new(0, 10, 40, vec![]).is_err());
    // A padded stride, as XShm may give.
    let mut data = vec![0u8; 48 * 2];
    data[48..52].copy_from_slice(&[1, 2, 3, 255]);
    let f = Frame::new(10, 2, 48, data).unwrap();
    assert_eq!(f.pixel(0, 1), [1, 2, 3, 255]);
    assert_eq!(f.to_rgba()[40..44], [3, 2, 1, 255]);
}

#[test]
fn dialup_encodes_at_half_size() {
    let frame = pattern::desktop(640, 480).unwrap();
    let mut enc = OpenH264Encoder::new(QualityPreset::Dialup);
    let key = encode(&mut enc, &frame, false).unwrap();
    assert_eq!((key.width, key.height), (320, 240));
    let out = decode(&mut OpenH264Decoder::new().unwrap(), &key);
    assert!(psnr(&downscale(&frame, 2), &out) >= 25.0);
    // Changing the bitrate restarts the encoder: an unchanged screen still sends nothing,
    // and the next change comes as a keyframe.
    enc.set_bitrate(100_000);
    assert!(encode(&mut enc, &frame, false).is_none());
    let mut changed = frame.clone();
    pattern::draw_text(
        &mut changed,
        Rect {
            x: 10,
            y: 10,
            width: 200,
            height: 30,
        },
        3,
    );
    let again = encode(&mut enc, &changed, false).expect("a change is sent");
    assert!(again.keyframe);
}

#[test]
fn presets_map_to_rates() {
    let best = QualityPreset::Best.settings();
    let balanced = QualityPreset::Balanced.settings();
    let low = QualityPreset::Low.settings();
    let dialup = QualityPreset::Dialup.settings();
    assert!(best.bitrate > balanced.bitrate && balanced.bitrate > low.bitrate);
    assert!(low.bitrate > dialup.bitrate);
    assert_eq!(best.max_fps, 30.0);
    assert_eq!(best.scale_divisor, 1);
    assert!(dialup.bitrate <= 56_000);
    assert!(dialup.max_fps <= 2.0);
    assert_eq!(dialup.scale_divisor, 2);
}

#[test]
fn auto_follows_capacity() {
    let at = |capacity_bps| QualityPreset::Auto { capacity_bps }.settings();
    assert_eq!(at(1_000_000_000), QualityPreset::Best.settings());
    let lan = at(5_000_000);
    assert_eq!(lan.bitrate, 4_000_000);
    assert_eq!(lan.max_fps, 30.0);
    let dsl = at(2_000_000);
    assert_eq!(
        (dsl.bitrate, dsl.max_fps, dsl.scale_divisor),
        (1_600_000, 15.0, 1)
    );
    let modem = at(56_000);
    assert!(modem.bitrate <= 56_000 * 4 / 5);
    assert!(modem.max_fps <= 2.0);
    assert_eq!(modem.scale_divisor, 2);
    assert!(at(0).bitrate > 0, "never a zero bitrate");
    // Monotonic: more capacity never means a lower bitrate or frame rate.
    let mut last = at(0);
    for c in (0..20_000_000).step_by(50_000) {
        let s = at(c);
        assert!(s.bitrate >= last.bitrate && s.max_fps >= last.max_fps);
        assert!(s.scale_divisor <= last.scale_divisor);
        last = s;
    }
}
