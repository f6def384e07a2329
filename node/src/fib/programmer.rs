//! The FIB programmer: a thread of its own that makes the kernel's table
//! hold, for each wanted destination, a route through the gateways its BGP
//! next hops resolve to, writing only what differs from what the kernel
//! holds.
//!
//! Restart without a forwarding hole: at start it reads what the kernel
//! holds under protocol `bgp` in its table (a previous run's routes). Those
//! stay, untouched if the RIB wants them as they are, until the sweep (every
//! neighbour sent End-of-RIB, or the sweep timeout): then what no one
//! wanted goes.

use super::encode::Target;
use super::inbox::{FibInbox, Wanted, Work};
use super::kernel::{KernelRoutes, SharedKernel};
use super::socket::{FibSocket, Refused};
use super::{Change, FibRoute, FibStats, Hops};
use foldhash::fast::FixedState;
use speaker::wire::Prefix;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Routes taken from the inbox per round: a full table is written while
/// the RIB still fills it.
const ROUND: usize = 64 * 1024;

/// A refused route is tried again after this long (or when the kernel's
/// routes change).
const RETRY: Duration = Duration::from_secs(5);

/// Refusals logged one by one per round; the rest are counted.
const LOGGED: usize = 10;

/// ESRCH: a deletion of a route the kernel does not hold (gone already).
const ESRCH: i32 = 3;

/// One destination: its BGP next hops if the RIB forwards it, and the
/// gateways of our route in the kernel if there is one.
#[derive(Debug, Default)]
struct Slot {
    wanted: Option<Hops>,
    installed: Option<Hops>,
    /// Installed by a previous run, and not rewritten since.
    previous: bool,
}

type Map<K, V> = HashMap<K, V, FixedState>;

pub struct Programmer {
    socket: FibSocket,
    target: Target,
    kernel: SharedKernel,
    /// Every destination wanted or held (one map: a full table's worth).
    slots: Map<Prefix, Slot>,
    /// Routes of ours the kernel holds.
    installed: usize,
    /// A previous run's routes not wanted yet in this one (until the sweep).
    stale: Option<HashSet<Prefix, FixedState>>,
    /// Refused by the kernel, to try again.
    refused: BTreeSet<Prefix>,
    stats: Arc<FibStats>,
}

impl Programmer {
    /// Reads what a previous run left in the table.
    pub fn start(
        mut socket: FibSocket,
        target: Target,
        kernel: SharedKernel,
        stats: Arc<FibStats>,
    ) -> std::io::Result<Programmer> {
        let left = socket.dump(target.table)?;
        if !left.is_empty() {
            info!(
                routes = left.len(),
                table = target.table,
                "kernel routes of a previous run kept until every neighbour is back"
            );
        }
        stats.installed.store(left.len() as u64, Ordering::Relaxed);
        let installed = left.len();
        Ok(Programmer {
            socket,
            target,
            kernel,
            stale: Some(left.iter().map(|r| r.prefix).collect()),
            slots: left
                .into_iter()
                .map(|r| {
                    let slot = Slot {
                        wanted: None,
                        installed: Hops::of(r.gateways),
                        previous: true,
                    };
                    (r.prefix, slot)
                })
                .collect(),
            installed,
            refused: BTreeSet::new(),
            stats,
        })
    }

    /// Runs until told to stop; then removes our routes unless `retain`.
    pub fn run(mut self, inbox: &FibInbox, sweep_after: Duration, retain: bool) {
        let sweep_at = Instant::now() + sweep_after;
        let mut retry_at = None;
        let mut written = 0;
        loop {
            let until = match (self.stale.is_some(), retry_at) {
                (true, Some(r)) => Some(sweep_at.min(r)),
                (true, None) => Some(sweep_at),
                (false, r) => r,
            };
            let mut work = inbox.wait(ROUND, until);
            if self.stale.is_some() && Instant::now() >= sweep_at && !work.sweep {
                info!("sweep timeout: removing what no neighbour sent again");
                work.sweep = true;
            }
            let retry = retry_at.is_some_and(|r| Instant::now() >= r);
            let stop = work.stop;
            written += self.round(work, retry);
            let (waiting, coalesced) = inbox.backlog();
            if written > 0 && waiting == 0 {
                info!(
                    written,
                    installed = self.installed,
                    refused = self.refused.len(),
                    errors = self.stats.errors.load(Ordering::Relaxed),
                    coalesced,
                    "kernel table up to date"
                );
                written = 0;
            }
            if self.refused.is_empty() {
                retry_at = None;
            } else if retry || retry_at.is_none() {
                retry_at = Some(Instant::now() + RETRY);
            }
            if stop {
                if !retain {
                    self.remove_all();
                }
                return;
            }
        }
    }

    /// One round: the changes, re-resolution, the sweep; then one write.
    /// How many changes it wrote.
    pub fn round(&mut self, work: Work, retry: bool) -> usize {
        let mut dirty: BTreeSet<Prefix> = BTreeSet::new();
        for (prefix, wanted) in work.routes {
            self.want(prefix, wanted);
            dirty.insert(prefix);
        }
        if !work.kernel.is_empty() {
            // Rare (the kernel's own routes changed): a scan, rather than
            // an index by next hop kept for every route.
            for (prefix, slot) in &self.slots {
                let covered = slot.wanted.as_ref().is_some_and(|w| {
                    w.as_slice()
                        .iter()
                        .any(|nh| work.kernel.iter().any(|k| k.contains(*nh)))
                });
                if covered {
                    dirty.insert(*prefix);
                }
            }
        }
        if retry || !work.kernel.is_empty() {
            dirty.extend(std::mem::take(&mut self.refused));
        }
        if work.sweep
            && let Some(stale) = self.stale.take()
        {
            let gone: Vec<Prefix> = stale.into_iter().collect();
            info!(
                routes = gone.len(),
                "sweep: routes of a previous run no one sent again"
            );
            dirty.extend(gone);
        }
        let changes = self.changes(dirty);
        let n = changes.len();
        self.write(changes);
        n
    }

    fn want(&mut self, prefix: Prefix, wanted: Wanted) {
        if wanted.is_some()
            && let Some(stale) = &mut self.stale
        {
            stale.remove(&prefix);
        }
        match (wanted, self.slots.get_mut(&prefix)) {
            (wanted, Some(slot)) => slot.wanted = wanted,
            (None, None) => {}
            (wanted, None) => {
                self.slots.insert(
                    prefix,
                    Slot {
                        wanted,
                        ..Slot::default()
                    },
                );
            }
        }
    }

    /// What to write for `dirty`: only what differs from the kernel's.
    fn changes(&mut self, dirty: BTreeSet<Prefix>) -> Vec<(Prefix, Change)> {
        let kernel = self.kernel.read();
        let mut out = Vec::new();
        for prefix in dirty {
            let Some(slot) = self.slots.get(&prefix) else {
                continue;
            };
            let route = slot
                .wanted
                .as_ref()
                .and_then(|nhs| resolve(&kernel, prefix, nhs.as_slice()));
            let restarting = self.stale.is_some();
            match (&route, &slot.installed) {
                (Some(r), Some(h)) if h.same(&r.gateways) => {}
                // A previous run's route over more paths than have come
                // back yet: kept as it is until the sweep.
                (Some(r), Some(h))
                    if restarting
                        && slot.previous
                        && r.gateways.iter().all(|g| h.as_slice().contains(g)) => {}
                (None, None) => {}
                // Kept until the sweep: a previous run's route.
                (None, Some(_)) if self.stale.as_ref().is_some_and(|s| s.contains(&prefix)) => {}
                _ => out.push((prefix, route)),
            }
            if slot.wanted.is_none() && slot.installed.is_none() {
                self.slots.remove(&prefix);
            }
        }
        out
    }

    fn write(&mut self, changes: Vec<(Prefix, Change)>) {
        if changes.is_empty() {
            return;
        }
        let refused = match self.socket.write(&changes, self.target) {
            Ok(r) => r,
            Err(e) => {
                // The socket itself failed: nothing is known written.
                warn!(error = %e, routes = changes.len(), "cannot write to the kernel; will retry");
                self.stats
                    .errors
                    .fetch_add(changes.len() as u64, Ordering::Relaxed);
                self.refused.extend(changes.iter().map(|(p, _)| *p));
                return;
            }
        };
        let refused: HashMap<Prefix, i32> = refused
            .into_iter()
            .map(|Refused { prefix, errno }| (prefix, errno))
            .collect();
        let mut logged = 0;
        for (prefix, change) in changes {
            match (refused.get(&prefix), change) {
                (None, Some(route)) => {
                    let slot = self.slots.entry(prefix).or_default();
                    if slot.installed.is_none() {
                        self.installed += 1;
                    }
                    slot.installed = Hops::of(route.gateways);
                    slot.previous = false;
                }
                (None, None) | (Some(&ESRCH), None) => {
                    if let Some(slot) = self.slots.get_mut(&prefix) {
                        if slot.installed.take().is_some() {
                            self.installed -= 1;
                        }
                        if slot.wanted.is_none() {
                            self.slots.remove(&prefix);
                        }
                    }
                }
                (Some(errno), change) => {
                    self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    if logged < LOGGED {
                        logged += 1;
                        warn!(
                            %prefix,
                            error = %std::io::Error::from_raw_os_error(*errno),
                            action = if change.is_some() { "install" } else { "remove" },
                            "kernel refused a route; will retry"
                        );
                    }
                    self.refused.insert(prefix);
                }
            }
        }
        if refused.len() > logged {
            warn!(
                more = refused.len() - logged,
                "kernel refused more routes; will retry"
            );
        }
        self.stats
            .installed
            .store(self.installed as u64, Ordering::Relaxed);
    }

    fn remove_all(&mut self) {
        let all: Vec<(Prefix, Change)> = self
            .slots
            .iter()
            .filter(|(_, s)| s.installed.is_some())
            .map(|(p, _)| (*p, None))
            .collect();
        info!(routes = all.len(), "removing our kernel routes");
        self.write(all);
    }
}

/// The kernel route of `prefix` through `next_hops`: the gateways each
/// resolves to, each once, in order; `None` if none resolves.
fn resolve(kernel: &KernelRoutes, prefix: Prefix, next_hops: &[IpAddr]) -> Option<FibRoute> {
    let mut gateways: Vec<IpAddr> = Vec::new();
    for nh in next_hops {
        if let Some(r) = kernel.resolve(*nh) {
            for g in r.gateways {
                if !gateways.contains(&g) {
                    gateways.push(g);
                }
            }
        }
    }
    (!gateways.is_empty()).then_some(FibRoute { prefix, gateways })
}
