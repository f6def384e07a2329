//! The RIB's side of the FIB: in the replicated RIB's apply, each changed
//! IPv4 and IPv6 unicast destination's forwarding paths go to the
//! programmer's inbox (without waiting for the kernel), and the End-of-RIB
//! of every neighbour that was up before a restart starts the sweep.

use super::Hops;
use super::inbox::{FibInbox, Wanted};
use speaker::rib::adj_rib_out::next_hop;
use speaker::rib::{PeerId, Rib, RibOutput, RouteKey};
use speaker::wire::{Family, Prefix};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tracing::info;

pub type SharedFeed = Arc<Mutex<FibFeed>>;

pub fn lock(f: &SharedFeed) -> MutexGuard<'_, FibFeed> {
    f.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct FibFeed {
    inbox: Arc<FibInbox>,
    /// The neighbours whose End-of-RIB the sweep waits for (`None`: not
    /// loaded yet, the node is starting and its log replayed).
    awaited: Option<BTreeSet<PeerId>>,
    end_of_rib: BTreeMap<PeerId, BTreeSet<Family>>,
    swept: bool,
    /// The daemon is stopping: what its sessions' ends withdraw stays in
    /// the kernel (a restart must not blackhole traffic).
    frozen: bool,
}

/// The BGP next hops `key` is forwarded over, each once.
fn wanted(rib: &Rib, key: &RouteKey) -> Wanted {
    let mut next_hops: Vec<IpAddr> = Vec::new();
    for c in rib.forwarding_paths(key) {
        if let Some(nh) = next_hop(key.family, &c.attrs)
            && !next_hops.contains(&nh)
        {
            next_hops.push(nh);
        }
    }
    Hops::of(next_hops)
}

impl FibFeed {
    pub fn new(inbox: Arc<FibInbox>) -> FibFeed {
        FibFeed {
            inbox,
            awaited: None,
            end_of_rib: BTreeMap::new(),
            swept: false,
            frozen: false,
        }
    }

    /// The RIB as it stands (at start, restored from the store): every
    /// destination it forwards, and the neighbours the sweep waits for.
    pub fn load(&mut self, rib: &Rib, awaited: BTreeSet<PeerId>) {
        let routes: Vec<(Prefix, Wanted)> = rib
            .loc_rib()
            .filter(|(key, entry)| key.is_ip_unicast() && entry.best().is_some())
            .map(|(key, _)| (key.prefix, wanted(rib, key)))
            .collect();
        info!(
            routes = routes.len(),
            awaiting = awaited.len(),
            "forwarding table loaded from the RIB"
        );
        self.inbox.push(routes);
        self.awaited = Some(awaited);
        self.check_sweep(rib);
    }

    pub fn applied(&mut self, rib: &Rib, outputs: &[RibOutput]) {
        // Before the load, the log is being replayed: its intermediate
        // states are not for the kernel (a route announced and withdrawn
        // before the restart would be added and removed again).
        if self.awaited.is_none() || self.frozen {
            return;
        }
        let keys: BTreeSet<RouteKey> = outputs
            .iter()
            .flat_map(|o| &o.loc_rib)
            .map(|c| c.key)
            .filter(RouteKey::is_ip_unicast)
            .collect();
        if !keys.is_empty() {
            self.inbox
                .push(keys.iter().map(|k| (k.prefix, wanted(rib, k))));
        }
        for out in outputs {
            // A session's End-of-RIB counts after its last start.
            for (peer, _) in out.joined.iter().chain(&out.left) {
                self.end_of_rib.remove(peer);
            }
            if let Some((peer, family)) = out.end_of_rib {
                self.end_of_rib.entry(peer).or_default().insert(family);
            }
        }
        self.check_sweep(rib);
    }

    /// The RIB was replaced by a snapshot's (`old`: the one the kernel
    /// was fed from): every destination whose next hops differ.
    pub fn replaced(&mut self, old: &Rib, rib: &Rib) {
        if self.awaited.is_none() || self.frozen {
            return;
        }
        let keys: BTreeSet<RouteKey> = old
            .loc_rib()
            .chain(rib.loc_rib())
            .map(|(key, _)| *key)
            .filter(RouteKey::is_ip_unicast)
            .collect();
        let changed: Vec<(Prefix, Wanted)> = keys
            .iter()
            .filter_map(|k| {
                let now = wanted(rib, k);
                (wanted(old, k) != now).then_some((k.prefix, now))
            })
            .collect();
        info!(
            routes = changed.len(),
            "forwarding table: what the snapshot changed"
        );
        self.inbox.push(changed);
        self.check_sweep(rib);
    }

    /// Feeds nothing more: called when the daemon starts to stop.
    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    /// Sweeps once every awaited neighbour is up again and has sent
    /// End-of-RIB for each unicast family it negotiated.
    fn check_sweep(&mut self, rib: &Rib) {
        let Some(awaited) = &self.awaited else {
            return;
        };
        if self.swept {
            return;
        }
        let up = rib.peers_up();
        let ready = awaited.iter().all(|p| {
            let Some(info) = rib.peer(*p) else {
                return false;
            };
            let sent = self.end_of_rib.get(p);
            up.contains(p)
                && info
                    .families
                    .iter()
                    .filter(|f| **f == Family::IPV4_UNICAST || **f == Family::IPV6_UNICAST)
                    .all(|f| sent.is_some_and(|s| s.contains(f)))
        });
        if ready {
            info!(
                neighbours = awaited.len(),
                "every neighbour sent End-of-RIB: sweeping"
            );
            self.swept = true;
            self.inbox.sweep();
        }
    }
}
