//! The novice's X11 desktop as a session shares it: the capturer as the video's
//! [`FrameSource`], the injector as the session's [`InputSink`], and the Esc watcher feeding
//! the session's Esc channel.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::x11::{X11Capturer, X11EscWatcher, X11Injector};
use super::{Capturer, HostError, InjectedEscapes, Injector, Monitor};
use crate::connect::{Desktop, InputSink};
use crate::media::{Frame, FrameSource, MediaError};
use crate::proto::InputEvent;

/// Opens `display` (`None`: `$DISPLAY`) for sharing monitor `monitor` (`None`: the primary
/// one): capture, input injection and the Esc watcher, ready for a session.
///
/// # Errors
/// [`HostError`] if the display cannot be opened, lacks an extension Lifeline needs, or has
/// no such monitor.
pub fn share_x11(display: Option<&str>, monitor: Option<usize>) -> Result<Desktop, HostError> {
    let mut capturer = X11Capturer::connect(display)?;
    if let Some(index) = monitor {
        capturer.select(index)?;
    }
    let shared = Arc::new(Mutex::new(capturer.monitor().clone()));
    let escapes = InjectedEscapes::new();
    let injector = X11Injector::connect(display, capturer.monitor().clone(), escapes.clone())?;
    let (tx, rx) = mpsc::unbounded_channel();
    let watcher = X11EscWatcher::start(display, escapes, move |press| {
        tracing::info!(device = press.device, "the novice pressed Esc");
        let _ = tx.send(());
    })?;
    Ok(Desktop {
        screen: Box::new(SharedScreen {
            capturer,
            monitor: shared.clone(),
        }),
        input: Some(Box::new(SharedInput {
            injector,
            monitor: shared,
        })),
        escapes: Some(rx),
        guard: Some(Box::new(watcher)),
    })
}

/// The capturer, publishing the shared monitor for the injector.
struct SharedScreen {
    capturer: X11Capturer,
    monitor: Arc<Mutex<Monitor>>,
}

impl FrameSource for SharedScreen {
    fn next_frame(&mut self) -> Result<Option<Frame>, MediaError> {
        let captured = self
            .capturer
            .capture()
            .map_err(|e| MediaError::Source(e.to_string()))?;
        Ok(captured.map(|captured| captured.frame.clone()))
    }

    fn select_monitor(&mut self, index: usize) -> Result<(), MediaError> {
        let monitor = self
            .capturer
            .select(index)
            .map_err(|e| MediaError::Source(e.to_string()))?;
        if let Ok(mut shared) = self.monitor.lock() {
            *shared = monitor;
        }
        Ok(())
    }
}

/// The injector, following the monitor the capturer shares.
struct SharedInput {
    injector: X11Injector,
    monitor: Arc<Mutex<Monitor>>,
}

impl InputSink for SharedInput {
    fn inject(&mut self, event: &InputEvent) -> Result<(), String> {
        if let Ok(monitor) = self.monitor.lock() {
            self.injector.set_monitor(&monitor);
        }
        self.injector.inject(event).map_err(|e| e.to_string())
    }
}
