//! The Windows and macOS backends, through maintained cross-platform crates: `xcap` for
//! capture and `enigo` for input.
//!
//! - [`NativeCapturer`]: xcap captures a whole monitor each time (neither platform API
//!   it uses reports damage), and [`DamageTracker`](crate::media::DamageTracker) tile comparison
//!   decides what changed: an unchanged screen costs a capture and a comparison but no encode
//!   and no bytes. [`Capturer::has_changed`](super::Capturer::has_changed) cannot know without
//!   capturing and always answers `true`.
//! - [`NativeInjector`]: enigo's `SendInput` (Windows) and `CGEvent` (macOS) injection.
//!
//! No Esc watcher yet on these platforms (it needs a low-level keyboard hook on Windows, whose
//! `LLKHF_INJECTED` flag tells injected keys apart, and a `CGEventTap` on macOS).

mod capture;
mod inject;

pub use capture::NativeCapturer;
pub use inject::NativeInjector;
