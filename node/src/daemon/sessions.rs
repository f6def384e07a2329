//! The sessions this node runs, and (with a replicated RIB) which ones:
//! a neighbour's session runs on the member the replicated owner map names
//! (`storage::Owners`, changed only through the log). The leader keeps
//! the map balanced over the voters; every member starts the sessions it
//! owns and stops those it no longer owns.

use super::NeighborSpec;
use crate::rib::RibActor;
use crate::session::{PeerSession, SessionStatus, Shutdown, Status};
use actix::{Actor, Addr, ArbiterHandle};
use consensus::Member;
use speaker::rib::PeerId;
use speaker::wire::Notification;
use speaker::wire::notification::subcode;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use storage::{NodeId, Owners, Request};
use tracing::{info, warn};

/// Sessions by address, for the listener to hand connections to.
pub type ByAddress = Arc<Mutex<HashMap<IpAddr, Addr<PeerSession>>>>;

/// The sessions running here, by neighbour index.
#[derive(Clone)]
pub struct Sessions {
    neighbors: Arc<Vec<NeighborSpec>>,
    arbiters: Vec<ArbiterHandle>,
    rib: Addr<RibActor>,
    /// The replicated RIB, whose policy a session starts with.
    member: Arc<Member>,
    running: Arc<Mutex<BTreeMap<usize, Addr<PeerSession>>>>,
    pub by_address: ByAddress,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sessions {
    pub fn new(
        neighbors: Vec<NeighborSpec>,
        arbiters: Vec<ArbiterHandle>,
        rib: Addr<RibActor>,
        member: Arc<Member>,
    ) -> Sessions {
        Sessions {
            neighbors: Arc::new(neighbors),
            arbiters,
            rib,
            member,
            running: Arc::default(),
            by_address: Arc::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.neighbors.len()
    }

    /// Starts the session of neighbour `i` unless it runs.
    pub fn start(&self, i: usize) {
        let Some(n) = self.neighbors.get(i) else {
            return;
        };
        let mut running = lock(&self.running);
        if running.contains_key(&i) {
            return;
        }
        let (addr, cfg, mut role, rib) =
            (n.addr, n.session.clone(), n.role.clone(), self.rib.clone());
        // The cluster's policy, once there is one: another member may have
        // read a newer configuration than this one's.
        let import = crate::rib::hook::import_policy(&self.member.state.applied().rib, role.id);
        if let Some(p) = import {
            role.import = p.map;
            role.ebgp_requires_policy = p.ebgp_requires_policy;
        }
        let arbiter = &self.arbiters[i % self.arbiters.len().max(1)];
        let session =
            PeerSession::start_in_arbiter(arbiter, move |_| PeerSession::new(addr, cfg, role, rib));
        lock(&self.by_address).insert(n.addr.ip(), session.clone());
        running.insert(i, session);
    }

    /// Stops the session of neighbour `i` with a Cease carrying `why`.
    pub fn stop(&self, i: usize, why: &str) {
        let Some(session) = lock(&self.running).remove(&i) else {
            return;
        };
        if let Some(n) = self.neighbors.get(i) {
            lock(&self.by_address).remove(&n.addr.ip());
        }
        let cease = Notification::cease_with_message(subcode::cease::ADMINISTRATIVE_SHUTDOWN, why);
        session.do_send(Shutdown(Some(cease)));
    }

    /// The configured neighbours (what needs no session's answer).
    pub fn neighbors(&self) -> &[NeighborSpec] {
        &self.neighbors
    }

    /// The RIB's id of the neighbour at `ip`.
    pub fn peer_id_of(&self, ip: IpAddr) -> Option<PeerId> {
        self.neighbors
            .iter()
            .find(|n| n.addr.ip() == ip)
            .map(|n| n.role.id)
    }

    /// The neighbour at `ip` with its session's status (`None`: not a
    /// neighbour); only its session is asked.
    pub async fn status_of(&self, ip: IpAddr) -> Option<(NeighborSpec, Option<SessionStatus>)> {
        let spec = self.neighbors.iter().find(|n| n.addr.ip() == ip)?.clone();
        let status = match self.session_of(ip) {
            Some(s) => s.send(Status).await.ok(),
            None => None,
        };
        Some((spec, status))
    }

    /// The session of the neighbour at `ip`, if it runs on this member.
    pub fn session_of(&self, ip: IpAddr) -> Option<Addr<PeerSession>> {
        let i = self.neighbors.iter().position(|n| n.addr.ip() == ip)?;
        lock(&self.running).get(&i).cloned()
    }

    /// Every configured neighbour with its session's status (`None`: its
    /// session runs on another member, or is stopping).
    pub async fn statuses(&self) -> Vec<(NeighborSpec, Option<SessionStatus>)> {
        let running: Vec<(usize, Addr<PeerSession>)> = lock(&self.running)
            .iter()
            .map(|(i, a)| (*i, a.clone()))
            .collect();
        let mut out: Vec<(NeighborSpec, Option<SessionStatus>)> =
            self.neighbors.iter().map(|n| (n.clone(), None)).collect();
        for (i, session) in running {
            if let (Some(slot), Ok(status)) = (out.get_mut(i), session.send(Status).await) {
                slot.1 = Some(status);
            }
        }
        out
    }

    pub fn running(&self) -> Vec<Addr<PeerSession>> {
        lock(&self.running).values().cloned().collect()
    }
}

/// The owner map the leader wants: every neighbour keeps its owner while
/// that member votes; the others go to the voter owning fewest (the lowest
/// id on a tie).
pub fn balance(current: &Owners, neighbors: usize, voters: &BTreeSet<NodeId>) -> Owners {
    let mut out = Owners::new();
    let mut load: BTreeMap<NodeId, usize> = voters.iter().map(|v| (*v, 0)).collect();
    for i in 0..neighbors {
        let p = PeerId(i as u32);
        if let Some(m) = current.get(&p).filter(|m| voters.contains(m)) {
            out.insert(p, *m);
            *load.entry(*m).or_default() += 1;
        }
    }
    for i in 0..neighbors {
        let p = PeerId(i as u32);
        if out.contains_key(&p) {
            continue;
        }
        let Some((m, _)) = load.iter().min_by_key(|(id, n)| (**n, **id)) else {
            break;
        };
        let m = *m;
        out.insert(p, m);
        *load.entry(m).or_default() += 1;
    }
    out
}

/// How often ownership and the digest are looked at.
const TICK: Duration = Duration::from_millis(500);

/// Keeps the owner map balanced (on the leader), runs the sessions this
/// member owns, and logs the RIB digest once the RIB is quiet (its applied
/// index unchanged for a tick, and not logged yet: a digest is a walk of
/// the whole table, not for every tick of a burst), until the task is
/// dropped.
pub async fn follow_owners(member: Arc<Member>, sessions: Sessions) {
    let me = member.id;
    let mut logged: Option<u64> = None;
    let mut previous: Option<u64> = None;
    loop {
        let status = consensus::server::status(&member.raft);
        let current = member.state.applied().owners.clone();
        if status.leader == Some(me) {
            let voters: BTreeSet<NodeId> = status.voters.keys().copied().collect();
            let desired = balance(&current, sessions.len(), &voters);
            if desired != current {
                info!(owners = ?desired, "session owners rebalanced");
                if let Err(e) = member.write(Request::owners(desired)).await {
                    warn!(error = %e, "cannot write the session owners");
                }
            }
        }
        let owners = member.state.applied().owners.clone();
        for i in 0..sessions.len() {
            match owners.get(&PeerId(i as u32)) {
                Some(m) if *m == me => sessions.start(i),
                Some(_) => sessions.stop(i, "session moved to another member of the cluster"),
                None => {}
            }
        }
        let applied = status.last_applied.unwrap_or(0);
        let quiet = previous == Some(applied);
        previous = Some(applied);
        if quiet && logged != Some(applied) {
            let (digest, loc_rib) = {
                let a = member.state.applied();
                (a.rib.digest(), a.rib.loc_rib_len())
            };
            info!(
                member = me,
                applied,
                loc_rib,
                digest = %format!("{digest:016x}"),
                "RIB digest"
            );
            logged = Some(applied);
        }
        tokio::time::sleep(TICK).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_spreads_and_keeps_owners() {
        let voters: BTreeSet<NodeId> = [1, 2, 3].into_iter().collect();
        let o = balance(&Owners::new(), 5, &voters);
        let owned = |o: &Owners, m| o.values().filter(|v| **v == m).count();
        assert_eq!((owned(&o, 1), owned(&o, 2), owned(&o, 3)), (2, 2, 1));
        assert_eq!(balance(&o, 5, &voters), o);
        // Member 2 leaves: only its neighbours move.
        let two: BTreeSet<NodeId> = [1, 3].into_iter().collect();
        let moved = balance(&o, 5, &two);
        for (p, m) in &o {
            if *m != 2 {
                assert_eq!(moved[p], *m);
            } else {
                assert_ne!(moved[p], 2);
            }
        }
        assert_eq!((owned(&moved, 1), owned(&moved, 3)), (3, 2));
    }
}
