//! Rate-control inputs: quality presets and the automatic choice from measured capacity.

/// What the encoder is told: target bitrate, highest frame rate and downscaling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSettings {
    /// Target bitrate in bits per second.
    pub bitrate: u32,
    /// Highest frame rate to send.
    pub max_fps: f32,
    /// Integer downscale divisor before encoding: 1 = full resolution, 2 = half.
    pub scale_divisor: u32,
}

/// The helper's or novice's quality choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityPreset {
    /// Sharp text and smooth motion on a fast link: 8 Mbit/s, 30 fps, full size.
    Best,
    /// The default on ordinary broadband: 2.5 Mbit/s, 15 fps, full size.
    Balanced,
    /// Slow links: 600 kbit/s, 5 fps, full size.
    Low,
    /// A 56k modem: 48 kbit/s (of 56), 2 fps, half size — text stays readable, slowly.
    Dialup,
    /// Chosen from the connection's measured capacity in bits per second.
    Auto {
        /// Measured capacity in bits per second.
        capacity_bps: u64,
    },
}

impl QualityPreset {
    /// The rate-control settings for this preset (a pure function).
    pub fn settings(self) -> RateSettings {
        match self {
            Self::Best => RateSettings {
                bitrate: 8_000_000,
                max_fps: 30.0,
                scale_divisor: 1,
            },
            Self::Balanced => RateSettings {
                bitrate: 2_500_000,
                max_fps: 15.0,
                scale_divisor: 1,
            },
            Self::Low => RateSettings {
                bitrate: 600_000,
                max_fps: 5.0,
                scale_divisor: 1,
            },
            Self::Dialup => RateSettings {
                bitrate: 48_000,
                max_fps: 2.0,
                scale_divisor: 2,
            },
            Self::Auto { capacity_bps } => auto(capacity_bps),
        }
    }
}

impl QualityPreset {
    /// The preset for the novice's bandwidth setting; `auto` follows `capacity_bps`, the
    /// connection's measured capacity.
    pub fn from_setting(setting: crate::proto::BandwidthPreset, capacity_bps: u64) -> Self {
        use crate::proto::BandwidthPreset;
        match setting {
            BandwidthPreset::Auto => Self::Auto { capacity_bps },
            BandwidthPreset::Best => Self::Best,
            BandwidthPreset::Balanced => Self::Balanced,
            BandwidthPreset::Low => Self::Low,
            BandwidthPreset::Dialup => Self::Dialup,
        }
    }
}

/// Uses 80 % of the capacity (the rest for input, chat, files and retransmissions), capped
/// at [`QualityPreset::Best`]'s bitrate; frame rate and scale step down with the budget.
fn auto(capacity_bps: u64) -> RateSettings {
    let budget = (capacity_bps.saturating_mul(4) / 5).clamp(16_000, 8_000_000) as u32;
    let max_fps = match budget {
        4_000_000.. => 30.0,
        1_500_000.. => 15.0,
        400_000.. => 5.0,
        150_000.. => 3.0,
        _ => 2.0,
    };
    RateSettings {
        bitrate: budget,
        max_fps,
        scale_divisor: if budget < 150_000 { 2 } else { 1 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_matches_presets_at_their_rates() {
        assert_eq!(
            QualityPreset::Auto {
                capacity_bps: 100_000_000
            }
            .settings(),
            QualityPreset::Best.settings()
        );
        let dial = QualityPreset::Auto {
            capacity_bps: 56_000,
        }
        .settings();
        assert_eq!(dial.scale_divisor, 2);
        assert!(dial.max_fps <= 2.0);
        assert!(dial.bitrate <= 56_000);
    }
}
