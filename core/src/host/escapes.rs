//! The record of Escs the injector typed for the helper, so that the Esc watcher ignores them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long an injected Esc waits to be seen by the watcher before it no longer excuses one.
const EXPIRY: Duration = Duration::from_secs(2);

/// Escs injected on the helper's behalf and not yet seen by the watcher (shared, cheap to
/// clone).
///
/// The injector calls [`InjectedEscapes::note`] before it sends an Esc press; the watcher calls
/// [`InjectedEscapes::take`] for each Esc press it sees coming from the injection device, and
/// ignores the press when a note was there. Each note excuses one press and expires after two
/// seconds, so a lost note cannot hide the novice's Esc for long. Counting rather than telling
/// devices apart keeps working when other programs inject too (on-screen keyboards and
/// xdotool use the same XTEST device as Lifeline): their Escs are the novice's.
#[derive(Debug, Clone, Default)]
pub struct InjectedEscapes {
    pending: Arc<Mutex<VecDeque<Instant>>>,
}

impl InjectedEscapes {
    /// A record with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that one Esc press is about to be injected.
    pub fn note(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.push_back(Instant::now());
    }

    /// Consumes one pending injected Esc; `false` when none is pending (the press is the
    /// novice's).
    pub fn take(&self) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        while pending.front().is_some_and(|at| at.elapsed() > EXPIRY) {
            pending.pop_front();
        }
        pending.pop_front().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_note_excuses_one_press() {
        let escapes = InjectedEscapes::new();
        assert!(!escapes.take());
        escapes.note();
        escapes.note();
        let seen = escapes.clone();
        assert!(seen.take());
        assert!(seen.take());
        assert!(!escapes.take());
    }
}
