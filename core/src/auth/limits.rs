//! Attempt limits: an invitation allows a few wrong passwords, then closes for good.

use super::AuthError;

/// Wrong passwords an invitation allows when nothing else is asked for.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// What recording one failed attempt leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// Wrong passwords still allowed before the invitation closes.
    pub attempts_left: u32,
    /// Whether the invitation is now closed for good.
    pub closed: bool,
}

/// Counts failed password attempts for one invitation; after `max` failures it is closed.
///
/// Closing is permanent: nothing resets the count. For a standing invitation the driver
/// persists [`failures`](Self::failures) and rebuilds the limiter with
/// [`restore`](Self::restore).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLimiter {
    max: u32,
    failures: u32,
}

impl AttemptLimiter {
    /// A limiter that closes after `max` failures (a `max` of 0 is closed from the start).
    pub fn new(max: u32) -> Self {
        Self::restore(max, 0)
    }

    /// A limiter that has already seen `failures` failures (for example, read back from disk).
    pub fn restore(max: u32, failures: u32) -> Self {
        Self {
            max,
            failures: failures.min(max),
        }
    }

    /// Records one failed attempt (wrong password or malformed exchange).
    pub fn record_failure(&mut self) -> AttemptOutcome {
        self.failures = self.failures.saturating_add(1).min(self.max);
        AttemptOutcome {
            attempts_left: self.attempts_left(),
            closed: self.is_closed(),
        }
    }

    /// Whether the invitation is closed for good.
    pub fn is_closed(&self) -> bool {
        self.failures >= self.max
    }

    /// Wrong passwords still allowed.
    pub fn attempts_left(&self) -> u32 {
        self.max - self.failures
    }

    /// Failures recorded so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// `Ok` while attempts are allowed, [`AuthError::TooManyAttempts`] once closed.
    pub fn check(&self) -> Result<(), AuthError> {
        if self.is_closed() {
            Err(AuthError::TooManyAttempts)
        } else {
            Ok(())
        }
    }
}

impl Default for AttemptLimiter {
    /// Closes after [`DEFAULT_MAX_ATTEMPTS`] failures.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_ATTEMPTS)
    }
}
