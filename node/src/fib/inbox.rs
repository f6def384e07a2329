//! What the FIB programmer is to do next, handed over from the RIB's apply
//! and the route monitor: pushing never blocks and never grows beyond one
//! entry per prefix (latest state wins), so a slow kernel never holds back
//! BGP.

use super::Hops;
use super::queue::FibQueue;
use speaker::wire::Prefix;
use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// A destination's wanted state: the BGP next hops it is forwarded over
/// (ECMP: more than one), or nothing.
pub type Wanted = Option<Hops>;

/// One round of work.
#[derive(Debug, Default)]
pub struct Work {
    pub routes: Vec<(Prefix, Wanted)>,
    /// The kernel's routes changed under these prefixes.
    pub kernel: Vec<Prefix>,
    /// Every neighbour is back: remove what a previous run left and no
    /// one wants.
    pub sweep: bool,
    pub stop: bool,
}

#[derive(Debug, Default)]
struct Pending {
    routes: FibQueue<Wanted>,
    kernel: BTreeSet<Prefix>,
    sweep: bool,
    stop: bool,
}

#[derive(Debug, Default)]
pub struct FibInbox {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl FibInbox {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, routes: impl IntoIterator<Item = (Prefix, Wanted)>) {
        let mut p = self.lock();
        for (prefix, wanted) in routes {
            p.routes.push(prefix, wanted);
        }
        self.wake.notify_one();
    }

    pub fn kernel_changed(&self, prefixes: impl IntoIterator<Item = Prefix>) {
        self.lock().kernel.extend(prefixes);
        self.wake.notify_one();
    }

    pub fn sweep(&self) {
        self.lock().sweep = true;
        self.wake.notify_one();
    }

    pub fn stop(&self) {
        self.lock().stop = true;
        self.wake.notify_one();
    }

    /// Prefixes waiting, and changes replaced before they were taken.
    pub fn backlog(&self) -> (usize, u64) {
        let p = self.lock();
        (p.routes.len(), p.routes.coalesced())
    }

    /// The next round: up to `max` routes, waiting for something (until
    /// `until`, if given; an empty round then).
    pub fn wait(&self, max: usize, until: Option<Instant>) -> Work {
        let mut p = self.lock();
        loop {
            if !p.routes.is_empty() || !p.kernel.is_empty() || p.sweep || p.stop {
                return Work {
                    routes: p.routes.take_batch(max),
                    kernel: std::mem::take(&mut p.kernel).into_iter().collect(),
                    sweep: std::mem::take(&mut p.sweep),
                    stop: p.stop && p.routes.is_empty(),
                };
            }
            match until {
                None => p = self.wake.wait(p).unwrap_or_else(|e| e.into_inner()),
                Some(t) => {
                    let now = Instant::now();
                    if now >= t {
                        return Work::default();
                    }
                    p = self
                        .wake
                        .wait_timeout(p, t - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}
