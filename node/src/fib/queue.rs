//! Pending FIB changes, latest state per prefix: a slow kernel never holds
//! back the RIB (pushing never blocks), and memory is bounded by the
//! prefixes, not by how often they change.

use speaker::wire::Prefix;
use std::collections::BTreeMap;

/// What each prefix should become (`T`: a route, or nothing).
#[derive(Debug)]
pub struct FibQueue<T> {
    pending: BTreeMap<Prefix, T>,
    /// Changes replaced before they were written (for metrics).
    coalesced: u64,
}

impl<T> Default for FibQueue<T> {
    fn default() -> FibQueue<T> {
        FibQueue {
            pending: BTreeMap::new(),
            coalesced: 0,
        }
    }
}

impl<T> FibQueue<T> {
    /// The latest wanted state of `prefix`, replacing a pending one.
    pub fn push(&mut self, prefix: Prefix, change: T) {
        if self.pending.insert(prefix, change).is_some() {
            self.coalesced += 1;
        }
    }

    /// Prefixes waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn coalesced(&self) -> u64 {
        self.coalesced
    }

    /// Up to `max` pending changes, in prefix order, taken out.
    pub fn take_batch(&mut self, max: usize) -> Vec<(Prefix, T)> {
        let mut out = Vec::with_capacity(max.min(self.pending.len()));
        while out.len() < max {
            let Some(e) = self.pending.pop_first() else {
                break;
            };
            out.push(e);
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fib::{Change, FibRoute};
    use std::net::IpAddr;

    fn route(p: &str, gw: &str) -> (Prefix, Change) {
        let prefix: Prefix = p.parse().unwrap();
        let gw: IpAddr = gw.parse().unwrap();
        (
            prefix,
            Some(FibRoute {
                prefix,
                gateways: vec![gw],
            }),
        )
    }

    #[test]
    fn a_prefix_that_flaps_is_written_once_in_its_last_state() {
        let mut q: FibQueue<Change> = FibQueue::default();
        for i in 0..10 {
            let (p, c) = route("198.19.1.0/24", &format!("198.18.0.{}", i + 1));
            q.push(p, c);
            q.push(p, None);
        }
        let (p, c) = route("198.19.1.0/24", "198.18.0.99");
        q.push(p, c.clone());
        let (p2, c2) = route("198.19.0.0/24", "198.18.0.1");
        q.push(p2, c2.clone());
        assert_eq!(q.len(), 2);
        assert_eq!(q.coalesced(), 20);
        // In prefix order, a batch at a time.
        assert_eq!(q.take_batch(1), vec![(p2, c2)]);
        assert_eq!(q.take_batch(10), vec![(p, c)]);
        assert!(q.is_empty() && q.take_batch(10).is_empty());
    }
}
