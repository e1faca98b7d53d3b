//! H.264 with openh264 (built from source with its nasm assembly, see `core/build.rs`).

use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, QpRange,
    RateControlMode, UsageType,
};
use openh264::formats::YUVSource;

use super::convert::{I420, bgra_to_i420, downscale, yuv_to_packed};
use super::{
    Damage, DamageTracker, EncodedFrame, Frame, MediaError, QualityPreset, RateSettings,
    VideoDecoder, VideoEncoder,
};

impl YUVSource for I420 {
    fn dimensions(&self) -> (usize, usize) {
        (self.width as usize, self.height as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let w = self.width as usize;
        (w, w / 2, w / 2)
    }

    fn y(&self) -> &[u8] {
        &self.y
    }

    fn u(&self) -> &[u8] {
        &self.u
    }

    fn v(&self) -> &[u8] {
        &self.v
    }
}

/// openh264 in screen-content mode, encoding only frames with damage.
///
/// Changing the bitrate or frame rate restarts the encoder (the openh264 crate offers no safe
/// way to change them live), so the next encoded frame is a keyframe: change them every few
/// seconds at most.
pub struct OpenH264Encoder {
    encoder: Option<Encoder>,
    settings: RateSettings,
    damage: DamageTracker,
    last_damage: Damage,
}

impl std::fmt::Debug for OpenH264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenH264Encoder")
            .field("settings", &self.settings)
            .field("started", &self.encoder.is_some())
            .finish_non_exhaustive()
    }
}

impl OpenH264Encoder {
    /// An encoder for `preset`; openh264 starts with the first frame.
    pub fn new(preset: QualityPreset) -> Self {
        Self::with_settings(preset.settings())
    }

    /// An encoder with explicit rate settings.
    pub fn with_settings(settings: RateSettings) -> Self {
        Self {
            encoder: None,
            settings,
            damage: DamageTracker::default(),
            last_damage: Damage::default(),
        }
    }

    /// Applies new rate settings (bitrate, frame rate, scale). openh264 restarts, so the
    /// next frame sent is a keyframe; an unchanged screen still sends nothing.
    pub fn set_settings(&mut self, settings: RateSettings) {
        if settings != self.settings {
            self.settings = settings;
            self.encoder = None;
        }
    }

    /// The current rate settings.
    pub fn settings(&self) -> RateSettings {
        self.settings
    }

    /// The damage found by the last [`VideoEncoder::encode`] call (in source pixels).
    pub fn last_damage(&self) -> &Damage {
        &self.last_damage
    }

    fn config(&self) -> EncoderConfig {
        EncoderConfig::new()
            .usage_type(UsageType::ScreenContentRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(self.settings.bitrate))
            .max_frame_rate(FrameRate::from_hz(self.settings.max_fps))
            // We decide ourselves (from damage) which frames to encode; a frame we send must
            // not be dropped by the rate control, or its change would never reach the helper.
            .skip_frames(false)
            .qp(QpRange::new(MIN_QP, max_qp(self.settings.bitrate)))
            // Neither is supported for screen content; openh264 warns if they are on.
            .adaptive_quantization(false)
            .background_detection(false)
            // Keyframes only on request: a helper that lost data asks for one.
            .intra_frame_period(IntraFramePeriod::auto())
    }
}

/// The finest quantiser used (openh264 replaces a minimum of 0 with its own screen range).
const MIN_QP: u8 = 12;

/// The coarsest quantiser allowed at a bitrate: text must stay readable, so on slow links
/// frames get bigger (and take longer) rather than blurrier.
fn max_qp(bitrate: u32) -> u8 {
    match bitrate {
        4_000_000.. => 15,
        1_000_000.. => 26,
        200_000.. => 32,
        _ => 36,
    }
}

impl VideoEncoder for OpenH264Encoder {
    fn encode(
        &mut self,
        frame: &Frame,
        force_keyframe: bool,
    ) -> Result<Option<EncodedFrame>, MediaError> {
        self.last_damage = self.damage.update(frame);
        if self.last_damage.is_empty() && !force_keyframe {
            return Ok(None);
        }
        let scaled;
        let source = if self.settings.scale_divisor > 1 {
            scaled = downscale(frame, self.settings.scale_divisor);
            &scaled
        } else {
            frame
        };
        let yuv = bgra_to_i420(source);
        if self.encoder.is_none() {
            let encoder =
                Encoder::with_api_config(openh264::OpenH264API::from_source(), self.config())
                    .map_err(|e| MediaError::Encoder(e.to_string()))?;
            self.encoder = Some(encoder);
        }
        let Some(encoder) = self.encoder.as_mut() else {
            return Err(MediaError::Encoder("encoder missing".into()));
        };
        if force_keyframe {
            encoder.force_intra_frame();
        }
        let result = encoder.encode(&yuv);
        let stream = match result {
            Ok(stream) => stream,
            Err(e) => {
                self.encoder = None;
                self.damage.reset();
                return Err(MediaError::Encoder(e.to_string()));
            }
        };
        let frame_type = stream.frame_type();
        let data = stream.to_vec();
        if matches!(frame_type, FrameType::Skip | FrameType::Invalid) || data.is_empty() {
            // Not sent: make sure the next frame carries this change.
            self.damage.reset();
            return Ok(None);
        }
        Ok(Some(EncodedFrame {
            data,
            keyframe: frame_type == FrameType::IDR,
            width: source.width(),
            height: source.height(),
        }))
    }

    fn set_bitrate(&mut self, bits_per_second: u32) {
        self.set_settings(RateSettings {
            bitrate: bits_per_second,
            ..self.settings
        });
    }

    fn set_max_fps(&mut self, fps: f32) {
        self.set_settings(RateSettings {
            max_fps: fps,
            ..self.settings
        });
    }
}

/// openh264's decoder, giving BGRA frames.
pub struct OpenH264Decoder {
    decoder: Decoder,
}

impl std::fmt::Debug for OpenH264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenH264Decoder").finish_non_exhaustive()
    }
}

impl OpenH264Decoder {
    /// A new decoder; it needs a keyframe first.
    pub fn new() -> Result<Self, MediaError> {
        let decoder = Decoder::new().map_err(|e| MediaError::Decoder(e.to_string()))?;
        Ok(Self { decoder })
    }
}

impl VideoDecoder for OpenH264Decoder {
    fn decode(&mut self, frame: &EncodedFrame) -> Result<Option<Frame>, MediaError> {
        let Some(yuv) = self
            .decoder
            .decode(&frame.data)
            .map_err(|e| MediaError::Decoder(e.to_string()))?
        else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        let (sy, su, _) = yuv.strides();
        let width = (frame.width as usize).min(w);
        let height = (frame.height as usize).min(h);
        let data = yuv_to_packed((yuv.y(), yuv.u(), yuv.v()), (sy, su), width, height, false);
        Frame::new(width as u32, height as u32, width * 4, data).map(Some)
    }
}
