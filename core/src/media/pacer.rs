//! When to capture and send the next frame, without sockets or clocks.
//!
//! Three limits decide, whichever is latest:
//! - the frame rate of the [`RateSettings`];
//! - the bitrate, as a budget: a frame of `n` bytes uses `8n / bitrate` seconds of it, so the
//!   average rate holds even when the encoder overshoots (a keyframe is large);
//! - what the network has not delivered yet: at most [`MAX_IN_FLIGHT`] frames travel at once,
//!   so a slow link lowers the frame rate instead of building a queue (the newest picture
//!   always goes next).

use std::time::{Duration, Instant};

use super::RateSettings;

/// Frames sent but not yet acknowledged, at most.
pub const MAX_IN_FLIGHT: usize = 2;

/// Paces captures for one video stream.
#[derive(Debug, Clone)]
pub struct Pacer {
    settings: RateSettings,
    /// The earliest instant the frame rate allows the next capture.
    next_by_rate: Option<Instant>,
    /// The earliest instant the bitrate budget allows the next capture.
    next_by_budget: Option<Instant>,
    in_flight: usize,
    keyframe_wanted: bool,
}

impl Pacer {
    /// A pacer for `settings`; the first frame is a keyframe.
    pub fn new(settings: RateSettings) -> Self {
        Self {
            settings,
            next_by_rate: None,
            next_by_budget: None,
            in_flight: 0,
            keyframe_wanted: true,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> RateSettings {
        self.settings
    }

    /// Changes the settings (a new preset, or a new measured capacity).
    pub fn set_settings(&mut self, settings: RateSettings) {
        self.settings = settings;
    }

    /// When, at `now` or later, the next capture may happen; `None` while too many frames
    /// are in flight (ask again after [`Pacer::on_delivered`]).
    pub fn next_capture(&self, now: Instant) -> Option<Instant> {
        if self.in_flight >= MAX_IN_FLIGHT {
            return None;
        }
        let limits = [self.next_by_rate, self.next_by_budget];
        Some(limits.into_iter().flatten().fold(now, Instant::max))
    }

    /// A capture happened at `now` (whether or not it produced a frame).
    pub fn on_captured(&mut self, now: Instant) {
        let fps = f64::from(self.settings.max_fps).max(0.1);
        self.next_by_rate = Some(now + Duration::from_secs_f64(1.0 / fps));
    }

    /// A frame of `bytes` was handed to the network at `now`.
    pub fn on_sent(&mut self, bytes: usize, now: Instant, keyframe: bool) {
        if keyframe {
            self.keyframe_wanted = false;
        }
        self.in_flight += 1;
        let bitrate = f64::from(self.settings.bitrate.max(1));
        let cost = Duration::from_secs_f64(bytes as f64 * 8.0 / bitrate);
        let start = self.next_by_budget.map_or(now, |t| t.max(now));
        self.next_by_budget = Some(start + cost);
    }

    /// A frame sent earlier was delivered, or given up.
    pub fn on_delivered(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// A frame was lost or the peer cannot decode: the next frame must be a keyframe.
    pub fn request_keyframe(&mut self) {
        self.keyframe_wanted = true;
    }

    /// Whether the next frame must be a keyframe.
    pub fn keyframe_wanted(&self) -> bool {
        self.keyframe_wanted
    }

    /// Frames in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(bitrate: u32, max_fps: f32) -> RateSettings {
        RateSettings {
            bitrate,
            max_fps,
            scale_divisor: 1,
        }
    }

    #[test]
    fn frame_rate_bitrate_and_in_flight_each_hold_captures_back() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(settings(80_000, 10.0));
        assert_eq!(pacer.next_capture(t0), Some(t0));
        assert!(pacer.keyframe_wanted(), "the first frame is a keyframe");

        // 10 fps: the next capture 100 ms later.
        pacer.on_captured(t0);
        assert_eq!(
            pacer.next_capture(t0),
            Some(t0 + Duration::from_millis(100))
        );

        // A 5,000-byte keyframe at 80 kbit/s uses 500 ms of budget.
        pacer.on_sent(5_000, t0, true);
        assert!(!pacer.keyframe_wanted());
        assert_eq!(
            pacer.next_capture(t0),
            Some(t0 + Duration::from_millis(500))
        );

        // A second frame in flight stops captures until one is delivered.
        let t1 = t0 + Duration::from_millis(500);
        pacer.on_captured(t1);
        pacer.on_sent(100, t1, false);
        assert_eq!(pacer.in_flight(), MAX_IN_FLIGHT);
        assert_eq!(pacer.next_capture(t1), None);
        pacer.on_delivered();
        assert_eq!(
            pacer.next_capture(t1),
            Some(t1 + Duration::from_millis(100)),
            "budget: 500 ms + 10 ms; rate: 100 ms after the capture at t1"
        );

        pacer.request_keyframe();
        assert!(pacer.keyframe_wanted());
    }

    #[test]
    fn the_average_rate_stays_within_the_budget_whatever_the_frame_sizes() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(settings(56_000, 30.0));
        let mut now = t0;
        let mut sent = 0usize;
        for i in 0..200 {
            now = pacer.next_capture(now).expect("nothing in flight");
            pacer.on_captured(now);
            let bytes = if i % 20 == 0 { 20_000 } else { 700 };
            pacer.on_sent(bytes, now, i % 20 == 0);
            pacer.on_delivered();
            sent += bytes;
        }
        let seconds = now.duration_since(t0).as_secs_f64();
        let last = 700.0 * 8.0 / 56_000.0;
        let rate = (sent as f64 - 700.0) * 8.0 / (seconds.max(last));
        assert!(rate <= 56_000.0 * 1.001, "{rate} bit/s");
    }
}
