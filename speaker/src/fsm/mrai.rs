//! The MinRouteAdvertisementIntervalTimer (RFC 4271 §9.2.1.1) as data:
//! UPDATEs to one peer leave at most once per interval; what comes within
//! an interval is held and leaves together when it ends. Time is an input;
//! the driver schedules the flush at the instant [`Mrai::offer`] names.

use bytes::Bytes;
use std::time::{Duration, Instant};

/// What to do with UPDATEs offered to the pacer.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Send them now (and call [`Mrai::sent`]).
    Send(Vec<Bytes>),
    /// Held until the interval ends. `flush_at`: the first hold of this
    /// interval, so the driver schedules [`Mrai::flush`] then; `None`: a
    /// flush is scheduled already.
    Held { flush_at: Option<Instant> },
}

/// One peer's pacing.
#[derive(Debug, Default)]
pub struct Mrai {
    interval: Duration,
    /// When UPDATEs last left (none since the session came up).
    last_sent: Option<Instant>,
    held: Vec<Bytes>,
    held_octets: u64,
    flush_scheduled: bool,
}

impl Mrai {
    /// A pacer of `interval` (zero: every UPDATE leaves at once).
    pub fn new(interval: Duration) -> Mrai {
        Mrai {
            interval,
            ..Mrai::default()
        }
    }

    /// UPDATEs for the peer at `now`: sent, or held within the interval.
    pub fn offer(&mut self, now: Instant, msgs: Vec<Bytes>) -> Offer {
        let next = self.last_sent.map(|t| t + self.interval);
        match next.filter(|at| *at > now) {
            Some(at) => {
                self.held_octets += msgs.iter().map(|m| m.len() as u64).sum::<u64>();
                self.held.extend(msgs);
                let first = !self.flush_scheduled;
                self.flush_scheduled = true;
                Offer::Held {
                    flush_at: first.then_some(at),
                }
            }
            None => Offer::Send(msgs),
        }
    }

    /// The interval ended: what was held, to send now (then [`Mrai::sent`]).
    pub fn flush(&mut self) -> Vec<Bytes> {
        self.flush_scheduled = false;
        self.held_octets = 0;
        std::mem::take(&mut self.held)
    }

    /// UPDATEs left at `now`: the next interval starts.
    pub fn sent(&mut self, now: Instant) {
        if !self.interval.is_zero() {
            self.last_sent = Some(now);
        }
    }

    /// UPDATEs held.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Octets held (counted against the peer's output buffer).
    pub fn held_octets(&self) -> u64 {
        self.held_octets
    }

    /// Drops what is held (the session went down, or was closed for not
    /// reading); a flush scheduled still runs, and finds nothing.
    pub fn drop_held(&mut self) {
        self.held.clear();
        self.held_octets = 0;
    }

    /// The session went down: the next one starts with no interval.
    pub fn reset(&mut self) {
        self.drop_held();
        self.last_sent = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: usize) -> Bytes {
        Bytes::from(vec![0u8; n])
    }

    #[test]
    fn the_first_updates_leave_then_the_interval_holds_the_rest() {
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        let mut m = Mrai::new(second * 5);
        assert_eq!(m.offer(t0, vec![msg(10)]), Offer::Send(vec![msg(10)]));
        m.sent(t0);
        // Within the interval: held; the first hold names the flush time.
        assert_eq!(
            m.offer(t0 + second, vec![msg(20)]),
            Offer::Held {
                flush_at: Some(t0 + second * 5)
            }
        );
        assert_eq!(
            m.offer(t0 + second * 2, vec![msg(30), msg(5)]),
            Offer::Held { flush_at: None }
        );
        assert_eq!(m.held_octets(), 55);
        assert_eq!(m.flush(), vec![msg(20), msg(30), msg(5)]);
        assert_eq!(m.held_octets(), 0);
        m.sent(t0 + second * 5);
        // The next interval runs from that send.
        assert_eq!(
            m.offer(t0 + second * 9, vec![msg(1)]),
            Offer::Held {
                flush_at: Some(t0 + second * 10)
            }
        );
        assert_eq!(
            m.offer(t0 + second * 9 + second / 2, vec![msg(2)]),
            Offer::Held { flush_at: None }
        );
        assert_eq!(m.flush(), vec![msg(1), msg(2)]);
        // After the interval: straight out.
        assert_eq!(
            m.offer(t0 + second * 10, vec![msg(3)]),
            Offer::Send(vec![msg(3)])
        );
    }

    #[test]
    fn a_zero_interval_never_holds() {
        let t0 = Instant::now();
        let mut m = Mrai::new(Duration::ZERO);
        for i in 0..3 {
            assert_eq!(m.offer(t0, vec![msg(i)]), Offer::Send(vec![msg(i)]));
            m.sent(t0);
        }
        assert_eq!(m.held_octets(), 0);
    }

    #[test]
    fn a_reset_forgets_the_interval_and_what_was_held() {
        let t0 = Instant::now();
        let mut m = Mrai::new(Duration::from_secs(30));
        m.sent(t0);
        assert!(matches!(m.offer(t0, vec![msg(8)]), Offer::Held { .. }));
        m.reset();
        assert_eq!(m.held_octets(), 0);
        assert_eq!(m.flush(), Vec::<Bytes>::new());
        assert_eq!(m.offer(t0, vec![msg(9)]), Offer::Send(vec![msg(9)]));
    }
}
