//! The sessions this node runs, and (with a replicated RIB) which ones:
//! a neighbour's session runs on the member the replicated owner map names
//! (`storage::Owners`, changed only through the log). The leader keeps
//! the map balanced over the voters alive (a member that stops answering
//! its heartbeats loses its sessions to the others, which hold their
//! routes already); every member starts the sessions it owns and stops
//! those it no longer owns. A neighbour is known by its id in the
//! replicated registry (`storage::PeerIds`), given by address.

use super::NeighborSpec;
use crate::rib::RibActor;
use crate::session::{Leave, PeerSession, SessionStatus, Shutdown, Status};
use actix::{Actor, Addr, ArbiterHandle};
use consensus::Member;
use speaker::rib::{PeerId, RibCommand};
use speaker::wire::Notification;
use speaker::wire::notification::{code, subcode};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use storage::{NodeId, Owners, PeerIds, Request};
use tracing::{debug, info, warn};

/// Sessions by address, for the listener to hand connections to.
pub type ByAddress = Arc<Mutex<HashMap<IpAddr, Addr<PeerSession>>>>;

/// The id a neighbour's spec carries until its session starts: the
/// replicated registry (`storage::PeerIds`) gives the real one by address.
pub const UNREGISTERED: PeerId = PeerId(u32::MAX);

/// How a reload changed the configured neighbours, by address.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NeighborChanges {
    pub added: Vec<IpAddr>,
    pub removed: Vec<IpAddr>,
    /// Configured differently, route-maps aside ([`same_session`]).
    pub changed: Vec<IpAddr>,
}

/// A session running here, and the spec it started with.
struct Running {
    session: Addr<PeerSession>,
    spec: NeighborSpec,
}

/// The configured neighbours and the sessions running here, by the
/// neighbour's id.
#[derive(Clone)]
pub struct Sessions {
    /// Replaced whole by a reload.
    neighbors: Arc<Mutex<Arc<Vec<NeighborSpec>>>>,
    arbiters: Vec<ArbiterHandle>,
    rib: Addr<RibActor>,
    /// The replicated RIB, whose policy a session starts with.
    member: Arc<Member>,
    running: Arc<Mutex<BTreeMap<PeerId, Running>>>,
    /// Sessions stopped to start again (changed by a reload): not before.
    held: Arc<Mutex<HashMap<IpAddr, Instant>>>,
    /// Neighbours whose next session is the first since this member
    /// restarted or took it over: it announces the Restart State (RFC 4724
    /// §3 R bit).
    restarting: Arc<Mutex<BTreeSet<PeerId>>>,
    /// This member is stopping ([`Sessions::leave_all`]): no session
    /// starts any more.
    stopping: Arc<std::sync::atomic::AtomicBool>,
    pub by_address: ByAddress,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a session stopped by a reload stays down before its new
/// configuration starts it: the peer reads the Cease before the next
/// connection.
const RESTART_WAIT: Duration = Duration::from_secs(1);

impl Sessions {
    pub fn new(
        neighbors: Vec<NeighborSpec>,
        arbiters: Vec<ArbiterHandle>,
        rib: Addr<RibActor>,
        member: Arc<Member>,
    ) -> Sessions {
        Sessions {
            neighbors: Arc::new(Mutex::new(Arc::new(neighbors))),
            arbiters,
            rib,
            member,
            running: Arc::default(),
            held: Arc::default(),
            restarting: Arc::default(),
            stopping: Arc::default(),
            by_address: Arc::default(),
        }
    }

    /// Whether this member is stopping ([`Sessions::leave_all`]).
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The next sessions of `peers` are the first since a restart or a
    /// takeover (RFC 4724 §3 Restart State).
    pub fn restarted(&self, peers: &[PeerId]) {
        lock(&self.restarting).extend(peers.iter().copied());
    }

    /// The configured neighbours (what needs no session's answer).
    pub fn neighbors(&self) -> Arc<Vec<NeighborSpec>> {
        lock(&self.neighbors).clone()
    }

    /// The configured neighbours from now on (a reload), and how they
    /// differ from those before: the sessions of those gone or changed
    /// stop at once, with a Cease saying why (RFC 4486 §4: Peer
    /// De-configured, Other Configuration Change); changed ones start again
    /// with their new configuration a moment later, added ones once they
    /// have an id and an owner ([`follow_owners`]). Route-maps are not
    /// part of a session's configuration: the policy goes through the log.
    pub fn reconfigure(&self, neighbors: Vec<NeighborSpec>) -> NeighborChanges {
        let before = std::mem::replace(&mut *lock(&self.neighbors), Arc::new(neighbors));
        let after = self.neighbors();
        let find =
            |list: &[NeighborSpec], ip: IpAddr| list.iter().find(|n| n.addr.ip() == ip).cloned();
        let mut changes = NeighborChanges::default();
        for n in after.iter() {
            match find(&before, n.addr.ip()) {
                None => changes.added.push(n.addr.ip()),
                Some(b) if !same_session(&b, n) => changes.changed.push(n.addr.ip()),
                Some(_) => {}
            }
        }
        changes.removed = before
            .iter()
            .map(|b| b.addr.ip())
            .filter(|ip| find(&after, *ip).is_none())
            .collect();
        let stopping: Vec<(PeerId, u8, &'static str)> = lock(&self.running)
            .iter()
            .filter_map(|(id, r)| {
                let ip = r.spec.addr.ip();
                if changes.removed.contains(&ip) {
                    Some((
                        *id,
                        subcode::cease::PEER_DECONFIGURED,
                        "neighbour removed from the configuration",
                    ))
                } else if changes.changed.contains(&ip) {
                    Some((
                        *id,
                        subcode::cease::OTHER_CONFIGURATION_CHANGE,
                        "neighbour configuration changed",
                    ))
                } else {
                    None
                }
            })
            .collect();
        for (id, sub, why) in stopping {
            if let Some(ip) = self.stop_with(id, sub, why) {
                lock(&self.held).insert(ip, Instant::now() + RESTART_WAIT);
            }
        }
        changes
    }

    /// Starts the session of the neighbour `n` as `id` unless it runs (or
    /// was just stopped to start again).
    fn start(&self, id: PeerId, n: &NeighborSpec) {
        if self.is_stopping() {
            return;
        }
        let mut running = lock(&self.running);
        if running.contains_key(&id) {
            return;
        }
        {
            let mut held = lock(&self.held);
            match held.get(&n.addr.ip()) {
                Some(t) if *t > Instant::now() => return,
                Some(_) => {
                    held.remove(&n.addr.ip());
                }
                None => {}
            }
        }
        let (addr, mut cfg, mut role, rib) =
            (n.addr, n.session.clone(), n.role.clone(), self.rib.clone());
        role.id = id;
        cfg.restarting = lock(&self.restarting).remove(&id);
        // The cluster's policy, once there is one: another member may have
        // read a newer configuration than this one's.
        let import = crate::rib::hook::import_policy(&self.member.state.applied().rib, id);
        if let Some(p) = import {
            role.import = p.map;
            role.ebgp_requires_policy = p.ebgp_requires_policy;
        }
        let arbiter = &self.arbiters[id.0 as usize % self.arbiters.len().max(1)];
        let session =
            PeerSession::start_in_arbiter(arbiter, move |_| PeerSession::new(addr, cfg, role, rib));
        lock(&self.by_address).insert(n.addr.ip(), session.clone());
        running.insert(
            id,
            Running {
                session,
                spec: n.clone(),
            },
        );
    }

    /// Takes the session of `id` off this member's books (running, and
    /// the listener's map while it is the one there).
    fn take(&self, id: PeerId) -> Option<Running> {
        let r = lock(&self.running).remove(&id)?;
        let ip = r.spec.addr.ip();
        let mut by_address = lock(&self.by_address);
        if by_address.get(&ip).is_some_and(|s| *s == r.session) {
            by_address.remove(&ip);
        }
        Some(r)
    }

    /// Stops the session of `id` with a Cease of `sub`, carrying `why`
    /// where RFC 9003 gives it a place (Administrative Shutdown and Reset;
    /// other subcodes carry no data), and logs it; the neighbour's
    /// address, if it ran. A neighbour removed from the configuration gets
    /// it as a Hard Reset where the N bit was negotiated (RFC 8538 §5: its
    /// routes are not to be kept); a changed one, as a graceful restart.
    fn stop_with(&self, id: PeerId, sub: u8, why: &str) -> Option<IpAddr> {
        let r = self.take(id)?;
        let ip = r.spec.addr.ip();
        info!(neighbor = %ip, subcode = sub, "stopping the session: {why}");
        let notification = match sub {
            subcode::cease::ADMINISTRATIVE_SHUTDOWN | subcode::cease::ADMINISTRATIVE_RESET => {
                Notification::cease_with_message(sub, why)
            }
            _ => Notification::new(code::CEASE, sub, Default::default()),
        };
        let hard = sub == subcode::cease::PEER_DECONFIGURED;
        r.session.do_send(Shutdown { notification, hard });
        Some(ip)
    }

    /// Stops the session of `id`, which another member runs now, as a
    /// restart of ours ([`Leave`]): the neighbour keeps our routes where it
    /// can, and nothing goes to the RIB (the new owner marks its paths
    /// stale before its own session comes up).
    fn hand_over(&self, id: PeerId) {
        let Some(r) = self.take(id) else {
            return;
        };
        const WHY: &str = "session moved to another member of the cluster";
        info!(neighbor = %r.spec.addr.ip(), "{WHY}");
        r.session.do_send(Leave(WHY.into()));
    }

    /// Stops every session this member runs as a restart of ours
    /// ([`Leave`]): this member is stopping; whoever runs them next (this
    /// member after its restart, or another) marks their paths stale.
    pub fn leave_all(&self, why: &str) -> Vec<Addr<PeerSession>> {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let ids: Vec<PeerId> = lock(&self.running).keys().copied().collect();
        ids.into_iter()
            .filter_map(|id| self.take(id))
            .map(|r| {
                r.session.do_send(Leave(why.into()));
                r.session
            })
            .collect()
    }

    /// The sessions `owners` gives this member that do not run here and
    /// whose neighbour the RIB has as up: another member ran them (moved,
    /// or that member died).
    fn taken_over(&self, me: NodeId, owners: &Owners, ids: &PeerIds) -> Vec<PeerId> {
        let running = lock(&self.running);
        let applied = self.member.state.applied();
        let up = applied.rib.peers_up();
        self.neighbors()
            .iter()
            .filter_map(|n| ids.get(&n.addr.ip()).copied())
            .filter(|id| {
                owners.get(id) == Some(&me) && !running.contains_key(id) && up.contains(id)
            })
            .collect()
    }

    /// The RIB's id of the configured neighbour at `ip`.
    pub fn peer_id_of(&self, ip: IpAddr) -> Option<PeerId> {
        self.neighbors().iter().find(|n| n.addr.ip() == ip)?;
        self.member.state.applied().peer_ids.get(&ip).copied()
    }

    /// The neighbour at `ip` with its session's status (`None`: not a
    /// neighbour); only its session is asked.
    pub async fn status_of(&self, ip: IpAddr) -> Option<(NeighborSpec, Option<SessionStatus>)> {
        let spec = self.neighbors().iter().find(|n| n.addr.ip() == ip)?.clone();
        let status = match self.session_of(ip) {
            Some(s) => s.send(Status).await.ok(),
            None => None,
        };
        Some((spec, status))
    }

    /// The session of the neighbour at `ip`, if it runs on this member.
    pub fn session_of(&self, ip: IpAddr) -> Option<Addr<PeerSession>> {
        lock(&self.running)
            .values()
            .find(|r| r.spec.addr.ip() == ip)
            .map(|r| r.session.clone())
    }

    /// Every configured neighbour with its session's status (`None`: its
    /// session runs on another member, or is stopping).
    pub async fn statuses(&self) -> Vec<(NeighborSpec, Option<SessionStatus>)> {
        let running: Vec<(IpAddr, Addr<PeerSession>)> = lock(&self.running)
            .values()
            .map(|r| (r.spec.addr.ip(), r.session.clone()))
            .collect();
        let mut out: Vec<(NeighborSpec, Option<SessionStatus>)> =
            self.neighbors().iter().map(|n| (n.clone(), None)).collect();
        for (ip, session) in running {
            let slot = out.iter_mut().find(|(n, _)| n.addr.ip() == ip);
            if let (Some(slot), Ok(status)) = (slot, session.send(Status).await) {
                slot.1 = Some(status);
            }
        }
        out
    }

    /// Runs the sessions `owners` gives this member (`me`) and stops the
    /// others, and those no longer configured.
    fn follow(&self, me: NodeId, owners: &Owners, ids: &PeerIds) {
        let neighbors = self.neighbors();
        let mut wanted = BTreeSet::new();
        for n in neighbors.iter() {
            let Some(id) = ids.get(&n.addr.ip()) else {
                continue;
            };
            match owners.get(id) {
                Some(m) if *m == me => {
                    wanted.insert(*id);
                    self.start(*id, n);
                }
                Some(_) => self.hand_over(*id),
                None => {}
            }
        }
        let gone: Vec<PeerId> = lock(&self.running)
            .keys()
            .filter(|id| !wanted.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.stop_with(
                id,
                subcode::cease::PEER_DECONFIGURED,
                "neighbour removed from the configuration",
            );
        }
    }
}

/// Whether a session configured as `a` runs as one configured as `b`
/// would (route-maps aside: they go through the log).
fn same_session(a: &NeighborSpec, b: &NeighborSpec) -> bool {
    let without_maps = |n: &NeighborSpec| {
        let mut r = n.role.clone();
        r.import = None;
        r.export = None;
        r
    };
    a.addr == b.addr && a.session == b.session && without_maps(a) == without_maps(b)
}

/// The owner map the leader wants for the `neighbors` configured: every
/// one keeps its owner while that member votes; the others go to the
/// voter owning fewest (the lowest id on a tie). Neighbours no longer
/// configured have none.
pub fn balance(
    current: &Owners,
    neighbors: &BTreeSet<PeerId>,
    voters: &BTreeSet<NodeId>,
) -> Owners {
    let mut out = Owners::new();
    let mut load: BTreeMap<NodeId, usize> = voters.iter().map(|v| (*v, 0)).collect();
    for p in neighbors.iter().copied() {
        if let Some(m) = current.get(&p).filter(|m| voters.contains(m)) {
            out.insert(p, *m);
            *load.entry(*m).or_default() += 1;
        }
    }
    for p in neighbors.iter().copied() {
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

/// Gives this member's sessions to the other voters (through the log,
/// balanced as the leader would), so that they take them over at once
/// rather than after this member is found dead. A one-member cluster, or a
/// member that cannot reach the leader in `within`, gives nothing: its
/// sessions then end as a restart of ours all the same.
pub async fn drain(member: &Member, sessions: &Sessions, within: Duration) {
    let status = consensus::server::status(&member.raft);
    let others: BTreeSet<NodeId> = status
        .voters
        .keys()
        .copied()
        .filter(|v| *v != member.id)
        .collect();
    if others.is_empty() {
        return;
    }
    let (current, ids) = {
        let a = member.state.applied();
        (a.owners.clone(), a.peer_ids.clone())
    };
    let configured: BTreeSet<PeerId> = sessions
        .neighbors()
        .iter()
        .filter_map(|n| ids.get(&n.addr.ip()).copied())
        .collect();
    let desired = balance(&current, &configured, &others);
    if desired == current {
        return;
    }
    info!(owners = ?desired, "draining: this member's sessions go to the others");
    match tokio::time::timeout(within, member.write(Request::owners(desired))).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => warn!(error = %e, "cannot give this member's sessions to the others"),
        Err(_) => warn!("cannot give this member's sessions to the others in time"),
    }
}

/// How often ownership and the digest are looked at.
const TICK: Duration = Duration::from_millis(500);

/// A member whose Raft has not answered the leader's heartbeats (every
/// 200 ms) for this long is taken for dead: the leader gives its sessions
/// to the members alive, which already hold their routes. Longer than an
/// election timeout (1 to 2 s), so a member that is only slow keeps them.
const MEMBER_DEAD_AFTER: Duration = Duration::from_secs(3);

/// Keeps the owner map balanced (on the leader), runs the sessions this
/// member owns, and logs the RIB digest once the RIB is quiet (its applied
/// index unchanged for a tick, and not logged yet: a digest is a walk of
/// the whole table, not for every tick of a burst), until the task is
/// dropped.
pub async fn follow_owners(member: Arc<Member>, sessions: Sessions) {
    let me = member.id;
    let mut logged: Option<u64> = None;
    let mut previous: Option<u64> = None;
    let mut leading_since: Option<Instant> = None;
    loop {
        // A stopping member's sessions are not taken over by itself: the
        // RIB keeps them up, for whoever runs them next to mark stale.
        if sessions.is_stopping() {
            return;
        }
        let status = consensus::server::status(&member.raft);
        let current = member.state.applied().owners.clone();
        // Every member gives its configured neighbours ids (a reload may
        // have added some); the write is the same whoever makes it.
        let addresses = sessions.neighbors().iter().map(|n| n.addr.ip()).collect();
        let ids = match super::reload::register(&member, addresses).await {
            Ok(ids) => ids,
            Err(e) => {
                warn!(error = %e, "cannot register the neighbours yet");
                member.state.applied().peer_ids.clone()
            }
        };
        if status.leader != Some(me) {
            leading_since = None;
        } else {
            let since = *leading_since.get_or_insert_with(Instant::now);
            let configured: BTreeSet<PeerId> = sessions
                .neighbors()
                .iter()
                .filter_map(|n| ids.get(&n.addr.ip()).copied())
                .collect();
            let voters: BTreeSet<NodeId> = status.voters.keys().copied().collect();
            // A new leader has not heard from the others long enough to
            // tell who is dead: every voter counts as alive meanwhile.
            let alive = if since.elapsed() < MEMBER_DEAD_AFTER {
                voters
            } else {
                let alive = member.reachable(&voters, MEMBER_DEAD_AFTER);
                if alive != voters {
                    let dead: Vec<_> = voters.difference(&alive).collect();
                    debug!(
                        ?dead,
                        "members not answering: their sessions go to the others"
                    );
                }
                alive
            };
            let desired = balance(&current, &configured, &alive);
            if desired != current {
                info!(owners = ?desired, "session owners rebalanced");
                if let Err(e) = member.write(Request::owners(desired)).await {
                    warn!(error = %e, "cannot write the session owners");
                }
            }
        }
        let (owners, ids) = {
            let a = member.state.applied();
            (a.owners.clone(), a.peer_ids.clone())
        };
        // Sessions another member ran: their paths go stale, not away
        // (RFC 4724 helper), before this member's session comes up; the
        // neighbour's End-of-RIB sweeps what it no longer sends, and what
        // stays stale goes after the restart time if it never comes back.
        let taken = sessions.taken_over(me, &owners, &ids);
        if !taken.is_empty() && !sessions.is_stopping() {
            info!(neighbors = ?taken, "taking over sessions another member ran");
            let commands = taken
                .iter()
                .map(|peer| RibCommand::PeerDownGraceful { peer: *peer })
                .collect();
            match member.write(Request::new(commands)).await {
                Ok(_) => {
                    sessions.restarted(&taken);
                    super::expire_later(member.clone(), taken);
                }
                Err(e) => warn!(error = %e, "cannot keep the paths of the sessions taken over"),
            }
        }
        sessions.follow(me, &owners, &ids);
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
        let five: BTreeSet<PeerId> = [0, 1, 2, 7, 9].into_iter().map(PeerId).collect();
        let o = balance(&Owners::new(), &five, &voters);
        let owned = |o: &Owners, m| o.values().filter(|v| **v == m).count();
        assert_eq!((owned(&o, 1), owned(&o, 2), owned(&o, 3)), (2, 2, 1));
        assert_eq!(balance(&o, &five, &voters), o);
        // Member 2 leaves: only its neighbours move.
        let two: BTreeSet<NodeId> = [1, 3].into_iter().collect();
        let moved = balance(&o, &five, &two);
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
