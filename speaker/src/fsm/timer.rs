//! The session's timers as data (RFC 4271 §8, §10): each is a deadline or
//! nothing, and the driver arms one OS timer for the earliest.

use std::time::Instant;

/// The timers of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    ConnectRetry = 0,
    Hold = 1,
    Keepalive = 2,
    DelayOpen = 3,
    /// How long Idle lasts before an automatic restart (§8.1.1 IdleHoldTimer).
    IdleHold = 4,
}

const COUNT: usize = 5;
const ALL: [Timer; COUNT] = [
    Timer::ConnectRetry,
    Timer::Hold,
    Timer::Keepalive,
    Timer::DelayOpen,
    Timer::IdleHold,
];

/// One slot per timer.
#[derive(Clone, Debug, Default)]
pub struct TimerTable {
    deadlines: [Option<Instant>; COUNT],
}

impl TimerTable {
    pub fn set(&mut self, t: Timer, at: Instant) {
        self.deadlines[t as usize] = Some(at);
    }

    pub fn stop(&mut self, t: Timer) {
        self.deadlines[t as usize] = None;
    }

    pub fn stop_all(&mut self) {
        self.deadlines = [None; COUNT];
    }

    pub fn get(&self, t: Timer) -> Option<Instant> {
        self.deadlines[t as usize]
    }

    pub fn is_running(&self, t: Timer) -> bool {
        self.deadlines[t as usize].is_some()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// A timer whose deadline has passed (earliest first), cleared.
    pub fn expired(&mut self, now: Instant) -> Option<Timer> {
        let t = ALL
            .iter()
            .filter(|t| self.get(**t).is_some_and(|d| d <= now))
            .min_by_key(|t| self.get(**t))
            .copied()?;
        self.stop(t);
        Some(t)
    }
}
