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
use storage::{Drain, LeaseCommand, Leases, NodeId, Owners, PeerIds, Request};
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
    /// This member is draining to stop ([`drain`]): it does not undo the
    /// drain it wrote (as a member drained to stop does once restarted).
    draining: Arc<std::sync::atomic::AtomicBool>,
    /// This member lost contact with a majority of the cluster
    /// ([`keep_fenced`]): its sessions are closed and none starts until
    /// it is back and caught up.
    fenced: Arc<std::sync::atomic::AtomicBool>,
    /// How many times this member was fenced: a pass of
    /// [`follow_owners`] that saw it change acts on nothing it read
    /// before (leases read before a partition are stale after it).
    fences: Arc<std::sync::atomic::AtomicU64>,
    /// Sessions joining in a move whose table is sent, and since when
    /// ([`Sessions::joined`]).
    synced: Arc<Mutex<HashMap<PeerId, Instant>>>,
    /// Sessions running here that a make-before-break move takes to
    /// another member: the member joining. When the lease names that
    /// member the owner, the move completed ([`LeaseCommand::Joined`]),
    /// and the session is handed over as moved ([`Leave`]).
    moving_out: Arc<Mutex<HashMap<PeerId, NodeId>>>,
    /// The service addresses of the sessions that run here.
    pub services: Arc<crate::service::Book>,
    pub by_address: ByAddress,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a session has to say its status: a session that cannot
/// answer in this long is shown without one, and holds up no reader of
/// the API, `/metrics` or a shutdown.
pub const STATUS_WAIT: Duration = Duration::from_secs(1);

/// The status of `session`, if it answers within [`STATUS_WAIT`].
pub async fn ask_status(session: &Addr<PeerSession>) -> Option<SessionStatus> {
    tokio::time::timeout(STATUS_WAIT, session.send(Status))
        .await
        .ok()?
        .ok()
}

/// How long a session whose service address could not be added waits
/// before it is tried again.
const SERVICE_RETRY: Duration = Duration::from_secs(5);

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
            synced: Arc::default(),
            moving_out: Arc::default(),
            draining: Arc::default(),
            // Until [`keep_fenced`] finds the majority.
            fenced: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            fences: Arc::default(),
            services: Arc::default(),
            by_address: Arc::default(),
        }
    }

    /// Whether this member is stopping ([`Sessions::leave_all`]).
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this member is cut off from the cluster's majority
    /// ([`keep_fenced`]).
    pub fn is_fenced(&self) -> bool {
        self.fenced.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many times this member was fenced so far.
    fn fences(&self) -> u64 {
        self.fences.load(std::sync::atomic::Ordering::Relaxed)
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
    /// was just stopped to start again); `joining`: beside another
    /// member's, in a make-before-break move.
    fn start(&self, id: PeerId, n: &NeighborSpec, joining: bool) {
        if self.is_stopping() || self.is_fenced() {
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
        // The session's local address must be on an interface before it
        // connects (and for the neighbour's connections to reach it).
        if let Some(s) = &n.service
            && let Err(e) = self.services.hold(s)
        {
            warn!(neighbor = %n.addr.ip(), error = %e, "session not started: its service address is not held; trying again in {} s", SERVICE_RETRY.as_secs());
            lock(&self.held).insert(n.addr.ip(), Instant::now() + SERVICE_RETRY);
            return;
        }
        let (addr, local, mut cfg, mut role, rib) = (
            n.addr,
            n.local,
            n.session.clone(),
            n.role.clone(),
            self.rib.clone(),
        );
        role.id = id;
        role.joining = joining;
        cfg.restarting = lock(&self.restarting).remove(&id);
        // The cluster's policy, once there is one: another member may have
        // read a newer configuration than this one's.
        let import = self
            .member
            .read(|a| crate::rib::hook::import_policy(&a.rib, id));
        if let Some(p) = import {
            role.import = p.map;
            role.ebgp_requires_policy = p.ebgp_requires_policy;
        }
        let arbiter = &self.arbiters[id.0 as usize % self.arbiters.len().max(1)];
        let session = PeerSession::start_in_arbiter(arbiter, move |_| {
            PeerSession::new(addr, local, cfg, role, rib)
        });
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
        lock(&self.synced).remove(&id);
        if let Some(s) = &r.spec.service {
            self.services.release_later(s);
        }
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
    ///
    /// `to`: the member that owns it now; if this member saw it join a
    /// make-before-break move, the move completed and the session leaves
    /// as moved (a Hard Reset where the new session had the neighbour
    /// acknowledge its table, [`Leave`]).
    fn hand_over(&self, id: PeerId, to: NodeId) {
        let joined = lock(&self.moving_out).remove(&id) == Some(to);
        let Some(r) = self.take(id) else {
            return;
        };
        const WHY: &str = "session moved to another member of the cluster";
        info!(neighbor = %r.spec.addr.ip(), make_before_break = joined, "{WHY}");
        r.session.do_send(Leave {
            message: WHY.into(),
            moved: joined && r.spec.service.is_none(),
        });
    }

    /// Stops every session this member runs as a restart of ours
    /// ([`Leave`]): this member is stopping; whoever runs them next (this
    /// member after its restart, or another) marks their paths stale.
    pub fn leave_all(&self, why: &str) -> Vec<Addr<PeerSession>> {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.leave_running(why)
    }

    /// Stops every session running here as a restart of ours ([`Leave`]).
    fn leave_running(&self, why: &str) -> Vec<Addr<PeerSession>> {
        let ids: Vec<PeerId> = lock(&self.running).keys().copied().collect();
        ids.into_iter()
            .filter_map(|id| self.take(id))
            .map(|r| {
                r.session.do_send(Leave {
                    message: why.into(),
                    moved: false,
                });
                r.session
            })
            .collect()
    }

    /// The sessions `owners` gives this member that do not run here and
    /// whose neighbour the RIB has as up: another member ran them (moved,
    /// or that member died).
    fn taken_over(&self, me: NodeId, owners: &Owners, ids: &PeerIds) -> Vec<PeerId> {
        let running = lock(&self.running);
        let up = self.member.read(|a| a.rib.peers_up());
        self.neighbors()
            .iter()
            .filter_map(|n| ids.get(&n.addr.ip()).copied())
            .filter(|id| {
                owners.get(id) == Some(&me) && !running.contains_key(id) && up.contains(id)
            })
            .collect()
    }

    /// The neighbours with a service address, by their id in `ids`: one
    /// member runs each at a time ([`lease_changes`]).
    fn handed_over(&self, ids: &PeerIds) -> BTreeSet<PeerId> {
        self.neighbors()
            .iter()
            .filter(|n| n.service.is_some())
            .filter_map(|n| ids.get(&n.addr.ip()).copied())
            .collect()
    }

    /// The pinned neighbours (`members = [..]`) by their id in `ids`.
    fn pins(&self, ids: &PeerIds) -> Pins {
        self.neighbors()
            .iter()
            .filter_map(|n| Some((*ids.get(&n.addr.ip())?, n.members.clone()?)))
            .collect()
    }

    /// The RIB's id of the configured neighbour at `ip`.
    pub fn peer_id_of(&self, ip: IpAddr) -> Option<PeerId> {
        self.neighbors().iter().find(|n| n.addr.ip() == ip)?;
        self.member.read(|a| a.peer_ids.get(&ip).copied())
    }

    /// The neighbour at `ip` with its session's status (`None`: not a
    /// neighbour); only its session is asked.
    pub async fn status_of(&self, ip: IpAddr) -> Option<(NeighborSpec, Option<SessionStatus>)> {
        let spec = self.neighbors().iter().find(|n| n.addr.ip() == ip)?.clone();
        let status = match self.session_of(ip) {
            Some(s) => ask_status(&s).await,
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
            if let (Some(slot), Some(status)) = (slot, ask_status(&session).await) {
                slot.1 = Some(status);
            }
        }
        out
    }

    /// Runs the sessions `leases` gives this member (`me`), as owner or
    /// joining a move, and stops the others, and those no longer
    /// configured.
    fn follow(&self, me: NodeId, leases: &Leases, ids: &PeerIds) {
        let neighbors = self.neighbors();
        let mut wanted = BTreeSet::new();
        for n in neighbors.iter() {
            let Some(id) = ids.get(&n.addr.ip()) else {
                continue;
            };
            let Some(lease) = leases.get(*id) else {
                continue;
            };
            if lease.owner.member == me {
                wanted.insert(*id);
                let mut out = lock(&self.moving_out);
                match lease.joining {
                    Some(j) if j.member != me && lock(&self.running).contains_key(id) => {
                        out.insert(*id, j.member);
                    }
                    // No move, or one called off.
                    _ => {
                        out.remove(id);
                    }
                }
                drop(out);
                self.start(*id, n, false);
            } else if lease.joining.is_some_and(|j| j.member == me) {
                wanted.insert(*id);
                self.start(*id, n, true);
            } else {
                self.hand_over(*id, lease.owner.member);
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

    /// The moves joining here whose session has sent the neighbour its
    /// table and End-of-RIB, [`MOVE_SETTLE`] ago at least: the grants to
    /// claim ([`LeaseCommand::Joined`]).
    async fn joined(&self, me: NodeId, leases: &Leases) -> Vec<LeaseCommand> {
        let joining: Vec<(PeerId, u64, Addr<PeerSession>)> = lock(&self.running)
            .iter()
            .filter_map(|(id, r)| {
                let j = leases.get(*id)?.joining.filter(|j| j.member == me)?;
                Some((*id, j.epoch, r.session.clone()))
            })
            .collect();
        let mut out = Vec::new();
        for (id, epoch, session) in joining {
            let sent = ask_status(&session).await.is_some_and(|s| s.table_sent);
            let mut synced = lock(&self.synced);
            if !sent {
                synced.remove(&id);
                continue;
            }
            let since = *synced.entry(id).or_insert_with(Instant::now);
            if since.elapsed() >= MOVE_SETTLE {
                out.push(LeaseCommand::Joined {
                    peer: id.0,
                    member: me,
                    epoch,
                });
            }
        }
        out
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
    a.addr == b.addr
        && a.local == b.local
        && a.service == b.service
        && a.session == b.session
        && without_maps(a) == without_maps(b)
}

/// The members each pinned neighbour's session may run on
/// (`members = [..]`), by the neighbour's id; a neighbour not here may
/// run on any.
pub type Pins = BTreeMap<PeerId, BTreeSet<NodeId>>;

/// Whether the session of `peer` may run on `member`.
fn may_run(pins: &Pins, peer: PeerId, member: NodeId) -> bool {
    pins.get(&peer).is_none_or(|m| m.contains(&member))
}

/// The owner map the leader wants for the `neighbors` configured: every
/// one keeps its owner while that member votes (and may run it); the
/// others go to the voter owning fewest among those that may run it (the
/// lowest id on a tie). Neighbours no longer configured, or pinned to no
/// voter, have none.
pub fn balance(
    current: &Owners,
    neighbors: &BTreeSet<PeerId>,
    voters: &BTreeSet<NodeId>,
    pins: &Pins,
) -> Owners {
    let mut out = Owners::new();
    let mut load: BTreeMap<NodeId, usize> = voters.iter().map(|v| (*v, 0)).collect();
    for p in neighbors.iter().copied() {
        if let Some(m) = current
            .get(&p)
            .filter(|m| voters.contains(m) && may_run(pins, p, **m))
        {
            out.insert(p, *m);
            *load.entry(*m).or_default() += 1;
        }
    }
    for p in neighbors.iter().copied() {
        if out.contains_key(&p) {
            continue;
        }
        let Some((m, _)) = load
            .iter()
            .filter(|(id, _)| may_run(pins, p, **id))
            .min_by_key(|(id, n)| (**n, **id))
        else {
            continue;
        };
        let m = *m;
        out.insert(p, m);
        *load.entry(m).or_default() += 1;
    }
    out
}

/// The sessions of `peers` went down as a restart: their paths go
/// stale, not away (RFC 4724 helper), until the neighbour's End-of-RIB
/// or the restart time.
fn graceful_down(peers: &[PeerId]) -> Vec<RibCommand> {
    peers
        .iter()
        .map(|peer| RibCommand::PeerDownGraceful { peer: *peer })
        .collect()
}

/// The lease changes that give the neighbours the owners `balance`
/// wants among the `eligible` members (alive, not drained): a move away
/// from a member alive is make-before-break ([`LeaseCommand::Move`]), from
/// one gone it is at once ([`LeaseCommand::Assign`]); a move under way
/// counts as done while its joining member is eligible, and is called off
/// when it is not. Neighbours no longer configured are released; a pinned
/// neighbour none of whose members is eligible keeps its lease.
///
/// A move keeps its joining member while that member is in `joining`
/// (not drained, and not silent for long: a member catching up answers
/// late, and moving the move elsewhere would run a third session beside
/// the owner's and the late one's until the late one notices).
///
/// The neighbours in `handed_over` (those with a service address, which
/// one member holds at a time) never run on two members: they move at
/// once, as a restart of ours the neighbour rides out as a graceful
/// restart helper.
pub fn lease_changes(
    leases: &Leases,
    configured: &BTreeSet<PeerId>,
    alive: &BTreeSet<NodeId>,
    eligible: &BTreeSet<NodeId>,
    joining: &BTreeSet<NodeId>,
    pins: &Pins,
    handed_over: &BTreeSet<PeerId>,
) -> Vec<LeaseCommand> {
    let mut out = Vec::new();
    if eligible.is_empty() {
        return out;
    }
    let effective: Owners = configured
        .iter()
        .filter_map(|p| {
            let l = leases.get(*p)?;
            let m = l
                .joining
                .filter(|j| joining.contains(&j.member) && may_run(pins, *p, j.member))
                .map_or(l.owner.member, |j| j.member);
            Some((*p, m))
        })
        .collect();
    let desired = balance(&effective, configured, eligible, pins);
    for (peer, to) in desired {
        // A move whose joining member is slow, not gone, stays as it is.
        if leases.get(peer).is_some_and(|l| {
            l.joining
                .is_some_and(|j| joining.contains(&j.member) && !eligible.contains(&j.member))
        }) {
            continue;
        }
        let cmd = match leases.get(peer) {
            None => Some(LeaseCommand::Assign {
                peer: peer.0,
                member: to,
            }),
            Some(l) if l.owner.member == to => l
                .joining
                .is_some()
                .then_some(LeaseCommand::Move { peer: peer.0, to }),
            Some(l) if l.joining.is_some_and(|j| j.member == to) => None,
            Some(l) if alive.contains(&l.owner.member) && !handed_over.contains(&peer) => {
                Some(LeaseCommand::Move { peer: peer.0, to })
            }
            Some(_) => Some(LeaseCommand::Assign {
                peer: peer.0,
                member: to,
            }),
        };
        out.extend(cmd);
    }
    for peer in leases.owners().keys() {
        if !configured.contains(peer) {
            out.push(LeaseCommand::Release { peer: peer.0 });
        }
    }
    out
}

/// Moves this member's sessions to the other voters make-before-break
/// (it says it is drained, and the leader moves them), and waits, at
/// most `within`, until it runs none; then the caller closes what is
/// left as a restart of ours. A one-member cluster, or a member that
/// cannot reach the leader, moves nothing.
pub async fn drain(member: &Member, sessions: &Sessions, within: Duration) {
    let status = consensus::server::status(&member.raft);
    if !status.voters.keys().any(|v| *v != member.id) {
        return;
    }
    let me = member.id;
    sessions
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let said = LeaseCommand::Drain {
        member: me,
        drain: Some(Drain::Stopping),
    };
    // Asked again until it commits or the time is up (the leader may
    // have just changed or restarted); saying it twice is harmless.
    let say = async {
        loop {
            match member.write(Request::leases(vec![said])).await {
                Ok(_) => return,
                Err(e) => {
                    debug!(error = %e, "cannot say this member drains yet");
                    tokio::time::sleep(TICK).await;
                }
            }
        }
    };
    if tokio::time::timeout(DRAIN_WRITE, say).await.is_err() {
        warn!("cannot drain this member's sessions in time: they close as a restart");
        return;
    }
    let started = Instant::now();
    // Sessions pinned to this member alone stay until it stops (their
    // paths stay in the RIB; the leader keeps them stale meanwhile).
    let ids = member.read(|a| a.peer_ids.clone());
    let pins = sessions.pins(&ids);
    let movable = |p: PeerId| {
        pins.get(&p)
            .is_none_or(|m| m.iter().any(|o| *o != me && status.voters.contains_key(o)))
    };
    info!("draining: this member's sessions move to the others");
    // Looked at again each time an entry is applied here.
    let over = member
        .read_when(within, |a| {
            let holds = a.leases.holds_any_of(me, movable);
            let drained = a.leases.drained();
            let others_drained = status
                .voters
                .keys()
                .filter(|v| **v != me)
                .all(|v| drained.contains_key(v));
            match (holds, others_drained) {
                (false, _) => Some(true),
                // The whole cluster is stopping: no one to move to.
                (true, true) => Some(false),
                (true, false) => None,
            }
        })
        .await;
    match over {
        Some(true) => info!(
            secs = started.elapsed().as_secs_f64(),
            "drained: every session moved"
        ),
        Some(false) => {
            info!("every other member is draining too: the sessions close as a restart")
        }
        None => warn!(
            secs = within.as_secs(),
            "drain not over in time; the sessions left close as a restart"
        ),
    }
}

/// How long a drain's lease write may take.
const DRAIN_WRITE: Duration = Duration::from_secs(3);

/// How long a joining session, its table and End-of-RIB written to the
/// socket, runs beside the owner's before it takes over: the neighbour
/// reads and installs what is in flight (a full table is megabytes).
pub const MOVE_SETTLE: Duration = Duration::from_secs(3);

/// A move whose joining session has not taken over in this long is
/// called off (the neighbour cannot reach the new member, say); the
/// leader may try again.
const MOVE_TIMEOUT: Duration = Duration::from_secs(90);

/// A member joining a move that has not answered the leader for this
/// long loses the move to another member (a shorter silence is a member
/// busy catching up).
const JOINING_DEAD_AFTER: Duration = Duration::from_secs(10);

/// How often the leases and the digest are looked at.
const TICK: Duration = Duration::from_millis(200);

/// How long the applied index stays unchanged before the digest is
/// logged (a walk of the whole table: not for every pause of a stream).
const QUIET: Duration = Duration::from_millis(500);

/// A member whose Raft has not answered the leader's heartbeats (every
/// 500 ms) and pings (every 200 ms) for this long is taken for dead: the leader gives its sessions
/// to the members alive, which already hold their routes. Longer than
/// the fence ([`FENCE_AFTER`]), so a member that is only slow keeps them,
/// and one cut off has closed them first.
const MEMBER_DEAD_AFTER: Duration = Duration::from_millis(2500);

/// How long a follower out of contact with a majority of the cluster
/// keeps its sessions ([`consensus::contact`]). Under
/// [`MEMBER_DEAD_AFTER`], after which the leader gives them to another
/// member: the cut-off member's sessions are closed first, so a
/// neighbour never has two (and a member whose RIB is frozen runs none).
/// Not much under it: a member loaded with a full table answers the
/// leader late, and a late answer is no reason to close sessions.
pub const FENCE_AFTER: Duration = Duration::from_millis(1800);

/// The same for the leader. The others elect a new leader only after 3 s
/// at least without hearing it (`consensus::campaign`), and that leader
/// moves no session before it has led for [`MEMBER_DEAD_AFTER`]: a
/// leader cut off has 5.5 s.
pub const FENCE_LEADER_AFTER: Duration = Duration::from_millis(3500);

/// A check of contact that comes this late finds this member's own
/// runtime was held up (the answers it would have read are queued, not
/// missing): it waits for the next.
const FENCE_CHECK_LATE: Duration = Duration::from_millis(500);

/// Out of contact is believed once it has lasted this long over checks
/// on time: after a hold-up, the AppendEntries queued meanwhile are read
/// first (each says the leader is there).
const FENCE_CONFIRM: Duration = Duration::from_millis(300);

/// How long a member waits to have applied what the cluster committed
/// (a barrier) before it starts sessions: a member loaded with a full
/// table applies it over seconds, and a new barrier each few seconds
/// would only move its target.
const CATCH_UP: Duration = Duration::from_secs(60);

/// How often contact with the majority is looked at.
const FENCE_CHECK: Duration = Duration::from_millis(100);

/// How long after closing its sessions on a fence a member lets go of
/// their service addresses: their closes (a NOTIFICATION where the
/// neighbour negotiated the N bit, then FIN) are out by then.
const FENCE_RELEASE: Duration = Duration::from_millis(150);

/// Closes this member's sessions as a restart of ours (the neighbours
/// keep its routes as stale, RFC 4724) when it has been out of contact
/// with a majority of the cluster for [`FENCE_AFTER`]: a Raft partition
/// or lost quorum, while its BGP neighbours may still reach it. Once in
/// contact again and caught up with the log, it follows the leases again:
/// the sessions it still holds start as a restart's, the others stay
/// with the members that took them over. Until the task is dropped.
pub async fn keep_fenced(member: Arc<Member>, sessions: Sessions) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut lost: Option<Instant> = None;
    // Out of contact at a check on time, since.
    let mut doubt: Option<Instant> = None;
    loop {
        let asleep = Instant::now();
        tokio::time::sleep(FENCE_CHECK).await;
        if sessions.is_stopping() {
            return;
        }
        if asleep.elapsed() > FENCE_CHECK + FENCE_CHECK_LATE {
            debug!(
                late_ms = asleep.elapsed().as_millis() as u64,
                "contact check late: this member was held up; next time"
            );
            doubt = None;
            continue;
        }
        let in_contact = member.in_contact(FENCE_AFTER, FENCE_LEADER_AFTER);
        if in_contact {
            doubt = None;
        } else if doubt.get_or_insert_with(Instant::now).elapsed() < FENCE_CONFIRM {
            continue;
        }
        if !in_contact && !sessions.is_fenced() {
            sessions.fences.fetch_add(1, Relaxed);
            sessions.fenced.store(true, Relaxed);
            lost = Some(Instant::now());
            let closed = sessions.leave_running(
                "this member lost contact with the cluster's majority; another member takes the session over",
            );
            if closed.is_empty() {
                debug!("out of contact with the cluster's majority");
            } else {
                warn!(
                    sessions = closed.len(),
                    "out of contact with the cluster's majority: this member's sessions close as a restart (the neighbours keep its routes) before another member takes them over"
                );
                // Their service addresses go before the takeover, which
                // comes MEMBER_DEAD_AFTER - FENCE_AFTER (0.4 s less the
                // confirmation) after, not RELEASE_AFTER (1 s) later: two
                // members would hold one address meanwhile.
                tokio::time::sleep(FENCE_RELEASE).await;
                sessions.services.sweep(crate::service::Sweep::Released);
            }
        } else if in_contact && sessions.is_fenced() {
            match member.barrier(CATCH_UP).await {
                Ok(index) => {
                    sessions.fenced.store(false, Relaxed);
                    match lost.take() {
                        Some(t) => info!(
                            index,
                            secs = t.elapsed().as_secs_f64(),
                            "in contact with the cluster's majority again: sessions follow the leases"
                        ),
                        None => debug!(index, "in contact with the cluster's majority"),
                    }
                }
                Err(e) => debug!(error = %e, "in contact again, not caught up yet"),
            }
        }
    }
}

/// Lets go of the service addresses whose sessions stopped here
/// ([`crate::service::RELEASE_AFTER`] ago), until the member stops (its
/// shutdown lets go of the rest).
pub async fn sweep_service_addresses(sessions: Sessions) {
    while !sessions.is_stopping() {
        sessions.services.sweep(crate::service::Sweep::Due);
        tokio::time::sleep(TICK).await;
    }
}

/// Keeps the session leases balanced (on the leader), runs the sessions
/// this member holds, claims the moves it joined once their table is
/// sent, and logs the RIB digest once the RIB is quiet (its applied index
/// unchanged for 500 ms, and not logged yet: a digest is a walk of the
/// whole table, not for every tick of a burst), until the task is
/// dropped.
pub async fn follow_owners(member: Arc<Member>, sessions: Sessions) {
    let me = member.id;
    let mut logged: Option<u64> = None;
    let mut previous: Option<(u64, Instant)> = None;
    let mut leading_since: Option<Instant> = None;
    // Moves under way, as the leader first saw them: called off after
    // MOVE_TIMEOUT.
    let mut moves: HashMap<(PeerId, u64), Instant> = HashMap::new();
    // A member that restarted reads a replica that may be behind: it
    // starts no session before it holds what the cluster committed (else
    // it would bring up, from a stale lease, a session another member
    // took over meanwhile, and the neighbour would take our table for a
    // restart's and drop what it kept).
    loop {
        match member.barrier(CATCH_UP).await {
            Ok(index) => {
                debug!(index, "replica caught up with the cluster");
                break;
            }
            Err(e) => {
                if sessions.is_stopping() {
                    return;
                }
                warn!(error = %e, "waiting for the cluster before starting sessions");
                tokio::time::sleep(TICK).await;
            }
        }
    }
    loop {
        // A stopping member's sessions are not taken over by itself: the
        // RIB keeps them up, for whoever runs them next to mark stale.
        if sessions.is_stopping() {
            return;
        }
        // Cut off from the majority: no lease to act on ([`keep_fenced`]).
        if sessions.is_fenced() {
            tokio::time::sleep(TICK).await;
            continue;
        }
        // A write below may wait out a whole partition: what this pass
        // read before it is stale if the member was fenced meanwhile.
        let fences = sessions.fences();
        let fenced_since = || sessions.is_fenced() || sessions.fences() != fences;
        let status = consensus::server::status(&member.raft);
        // Every member gives its configured neighbours ids (a reload may
        // have added some); the write is the same whoever makes it.
        let addresses = sessions.neighbors().iter().map(|n| n.addr.ip()).collect();
        let ids = match super::reload::register(&member, addresses).await {
            Ok(ids) => ids,
            Err(e) => {
                warn!(error = %e, "cannot register the neighbours yet");
                member.read(|a| a.peer_ids.clone())
            }
        };
        let leases = member.read(|a| a.leases.clone());
        // A member drained to stop takes sessions again once it runs.
        let draining = sessions.draining.load(std::sync::atomic::Ordering::Relaxed);
        if leases.drained().get(&me) == Some(&Drain::Stopping)
            && !draining
            && !sessions.is_stopping()
        {
            let undrain = LeaseCommand::Drain {
                member: me,
                drain: None,
            };
            if let Err(e) = member.write(Request::leases(vec![undrain])).await {
                warn!(error = %e, "cannot say this member takes sessions again");
            }
        }
        if status.leader != Some(me) {
            leading_since = None;
            moves.clear();
        } else {
            // The later of when this loop and the vouches to the others
            // count this member as leader (`consensus::contact`).
            let seen = *leading_since.get_or_insert_with(Instant::now);
            let since = member.leading_since().map_or(seen, |c| c.max(seen));
            let configured: BTreeSet<PeerId> = sessions
                .neighbors()
                .iter()
                .filter_map(|n| ids.get(&n.addr.ip()).copied())
                .collect();
            let voters: BTreeSet<NodeId> = status.voters.keys().copied().collect();
            // A new leader has not heard from the others long enough to
            // tell who is dead: every voter counts as alive meanwhile.
            // A member whose Raft port refuses connections is gone (its
            // process runs no session): no need to wait out a silence.
            let refusing = member.gone(&voters);
            let alive = if since.elapsed() < MEMBER_DEAD_AFTER {
                voters.clone()
            } else {
                member.reachable(&voters, MEMBER_DEAD_AFTER)
            };
            let alive: BTreeSet<NodeId> = alive.difference(&refusing).copied().collect();
            if alive != voters {
                let dead: Vec<_> = voters.difference(&alive).collect();
                debug!(
                    ?dead,
                    ?refusing,
                    "members not answering: their sessions go to the others"
                );
            }
            let eligible: BTreeSet<NodeId> = alive
                .iter()
                .filter(|m| !leases.drained().contains_key(m))
                .copied()
                .collect();
            let pins = sessions.pins(&ids);
            let joining: BTreeSet<NodeId> = member
                .reachable(&voters, JOINING_DEAD_AFTER)
                .into_iter()
                .filter(|m| !leases.drained().contains_key(m) && !refusing.contains(m))
                .collect();
            let handed_over = sessions.handed_over(&ids);
            let mut changes = lease_changes(
                &leases,
                &configured,
                &alive,
                &eligible,
                &joining,
                &pins,
                &handed_over,
            );
            // Pinned sessions whose every member is gone stay leased to
            // their owner, for its return; meanwhile their paths go stale
            // (RFC 4724 helper), and away after the restart time if the
            // neighbour does not come back.
            let orphans: Vec<PeerId> = {
                let up = member.read(|a| a.rib.peers_up());
                configured
                    .iter()
                    .filter(|p| {
                        leases
                            .get(**p)
                            .is_some_and(|l| !alive.contains(&l.owner.member))
                            && up.contains(p)
                            && !changes.iter().any(|c| c.peer() == Some(p.0))
                    })
                    .copied()
                    .collect()
            };
            if !orphans.is_empty() {
                info!(neighbors = ?orphans, "the members that may run these sessions are gone: their paths are kept stale");
                let commands = graceful_down(&orphans);
                match member.write_as_leader(Request::new(commands)).await {
                    Ok(_) => super::expire_later(member.clone(), orphans),
                    Err(e) => {
                        warn!(error = %e, "cannot keep the paths of the sessions without a member")
                    }
                }
            }
            // Moves that do not end in time are called off.
            let under_way: Vec<(PeerId, u64, NodeId)> = configured
                .iter()
                .filter_map(|p| {
                    let l = leases.get(*p)?;
                    Some((*p, l.joining?.epoch, l.owner.member))
                })
                .collect();
            moves.retain(|(p, e), _| under_way.iter().any(|(q, f, _)| p == q && e == f));
            for (peer, epoch, owner) in under_way {
                let seen = *moves.entry((peer, epoch)).or_insert_with(Instant::now);
                if seen.elapsed() > MOVE_TIMEOUT {
                    warn!(
                        neighbor = peer.0,
                        "a session move did not complete in time: called off"
                    );
                    changes.retain(
                        |c| !matches!(c, LeaseCommand::Move { peer: p, .. } if *p == peer.0),
                    );
                    changes.push(LeaseCommand::Move {
                        peer: peer.0,
                        to: owner,
                    });
                    moves.remove(&(peer, epoch));
                }
            }
            if !changes.is_empty() {
                info!(changes = ?changes, "session leases changed");
                if let Err(e) = member.write_as_leader(Request::leases(changes)).await {
                    warn!(error = %e, "cannot write the session leases");
                }
            }
        }
        if fenced_since() {
            continue;
        }
        let (owners, ids) = member.read(|a| (a.owners.clone(), a.peer_ids.clone()));
        // Sessions another member ran: their paths go stale, not away
        // (RFC 4724 helper), before this member's session comes up; the
        // neighbour's End-of-RIB sweeps what it no longer sends, and what
        // stays stale goes after the restart time if it never comes back.
        let taken = sessions.taken_over(me, &owners, &ids);
        if !taken.is_empty() && !sessions.is_stopping() {
            info!(neighbors = ?taken, "taking over sessions another member ran");
            let commands = graceful_down(&taken);
            let fence = member.read(|a| a.leases.fence(me, taken.iter().copied()));
            match member.write(Request::fenced(commands, fence)).await {
                Ok(_) => {
                    sessions.restarted(&taken);
                    super::expire_later(member.clone(), taken);
                }
                Err(e) => warn!(error = %e, "cannot keep the paths of the sessions taken over"),
            }
        }
        // The leases as applied now, not before the write above: a member
        // fenced meanwhile (and back, caught up) would otherwise start
        // sessions from leases read before its partition.
        if fenced_since() {
            continue;
        }
        let (leases, ids) = member.read(|a| (a.leases.clone(), a.peer_ids.clone()));
        sessions.follow(me, &leases, &ids);
        // Moves this member joined whose table is out: it owns them now,
        // and the old owner closes its session.
        let joined = sessions.joined(me, &leases).await;
        if !joined.is_empty() {
            info!(moves = ?joined, "sessions joined: taking them over from their owners");
            if let Err(e) = member.write(Request::leases(joined)).await {
                warn!(error = %e, "cannot claim the sessions joined");
            }
        }
        let applied = status.last_applied.unwrap_or(0);
        let since = match previous {
            Some((index, since)) if index == applied => since,
            _ => Instant::now(),
        };
        previous = Some((applied, since));
        let quiet = since.elapsed() >= QUIET;
        // The index the RIB is of, read with it (an entry half applied:
        // none).
        let read = if quiet && logged != Some(applied) {
            member
                .read_settled(TICK, |a| {
                    let index = a.last_applied.map(|l| l.index).unwrap_or(0);
                    (index == applied).then(|| (a.rib.digest(), a.rib.loc_rib_len()))
                })
                .await
                .flatten()
        } else {
            None
        };
        if let Some((digest, loc_rib)) = read {
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn balance_spreads_and_keeps_owners() {
        let voters: BTreeSet<NodeId> = [1, 2, 3].into_iter().collect();
        let five: BTreeSet<PeerId> = [0, 1, 2, 7, 9].into_iter().map(PeerId).collect();
        let o = balance(&Owners::new(), &five, &voters, &Pins::new());
        let owned = |o: &Owners, m| o.values().filter(|v| **v == m).count();
        assert_eq!((owned(&o, 1), owned(&o, 2), owned(&o, 3)), (2, 2, 1));
        assert_eq!(balance(&o, &five, &voters, &Pins::new()), o);
        // Member 2 leaves: only its neighbours move.
        let two: BTreeSet<NodeId> = [1, 3].into_iter().collect();
        let moved = balance(&o, &five, &two, &Pins::new());
        for (p, m) in &o {
            if *m != 2 {
                assert_eq!(moved[p], *m);
            } else {
                assert_ne!(moved[p], 2);
            }
        }
        assert_eq!((owned(&moved, 1), owned(&moved, 3)), (3, 2));
    }

    fn set(ids: &[u64]) -> BTreeSet<NodeId> {
        ids.iter().copied().collect()
    }

    /// [`lease_changes`] with the members alive, eligible and joinable
    /// given as lists.
    fn changes(
        leases: &Leases,
        peers: &BTreeSet<PeerId>,
        alive: &[u64],
        eligible: &[u64],
        joining: &[u64],
        pins: &Pins,
    ) -> Vec<LeaseCommand> {
        lease_changes(
            leases,
            peers,
            &set(alive),
            &set(eligible),
            &set(joining),
            pins,
            &BTreeSet::new(),
        )
    }

    #[test]
    fn a_session_with_a_service_address_is_handed_over_not_doubled() {
        let mut leases = Leases::default();
        leases.apply(&LeaseCommand::Assign { peer: 0, member: 1 });
        let peers: BTreeSet<PeerId> = [PeerId(0)].into_iter().collect();
        let handed_over = peers.clone();
        // Member 1 drained: alive, not eligible.
        let c = lease_changes(
            &leases,
            &peers,
            &set(&[1, 2]),
            &set(&[2]),
            &set(&[2]),
            &Pins::new(),
            &handed_over,
        );
        assert_eq!(c, vec![LeaseCommand::Assign { peer: 0, member: 2 }]);
        // Without a service address, the same drain is make-before-break.
        let c = changes(&leases, &peers, &[1, 2], &[2], &[2], &Pins::new());
        assert_eq!(c, vec![LeaseCommand::Move { peer: 0, to: 2 }]);
    }

    #[test]
    fn a_drained_member_s_sessions_move_make_before_break() {
        let mut leases = Leases::default();
        for (p, m) in [(0, 1), (1, 2), (2, 3)] {
            leases.apply(&LeaseCommand::Assign { peer: p, member: m });
        }
        let peers: BTreeSet<PeerId> = [0, 1, 2].into_iter().map(PeerId).collect();
        // Nothing to do while every owner is eligible.
        assert!(
            changes(
                &leases,
                &peers,
                &[1, 2, 3],
                &[1, 2, 3],
                &[1, 2, 3],
                &Pins::new()
            )
            .is_empty()
        );
        // Member 2 drained (alive): its session moves, make-before-break.
        let c = changes(&leases, &peers, &[1, 2, 3], &[1, 3], &[1, 3], &Pins::new());
        assert_eq!(c.len(), 1);
        assert!(matches!(c[0], LeaseCommand::Move { peer: 1, .. }), "{c:?}");
        for cmd in &c {
            leases.apply(cmd);
        }
        // Under way: nothing more, however the loads look.
        assert!(changes(&leases, &peers, &[1, 2, 3], &[1, 3], &[1, 3], &Pins::new()).is_empty());
        // The joining member is slow (not alive, still joinable): the move
        // stays with it.
        let to = leases.get(PeerId(1)).unwrap().joining.unwrap().member;
        let slow: Vec<u64> = [1, 3].into_iter().filter(|m| *m != to).collect();
        let c = changes(
            &leases,
            &peers,
            &[&slow[..], &[2]].concat(),
            &slow,
            &[1, 3],
            &Pins::new(),
        );
        assert!(
            !c.iter()
                .any(|x| matches!(x, LeaseCommand::Move { peer: 1, .. })),
            "{c:?}"
        );
        // The joining member dies: the move goes to a member alive.
        let to = leases.get(PeerId(1)).unwrap().joining.unwrap().member;
        let alive: Vec<u64> = [1, 2, 3].into_iter().filter(|m| *m != to).collect();
        let eligible: Vec<u64> = alive.iter().copied().filter(|m| *m != 2).collect();
        let c = changes(&leases, &peers, &alive, &eligible, &eligible, &Pins::new());
        assert!(
            c.contains(&LeaseCommand::Move {
                peer: 1,
                to: eligible[0]
            }),
            "{c:?}"
        );
    }

    #[test]
    fn a_dead_member_s_sessions_are_assigned_at_once_and_gone_neighbours_released() {
        let mut leases = Leases::default();
        for (p, m) in [(0, 1), (1, 2), (5, 2)] {
            leases.apply(&LeaseCommand::Assign { peer: p, member: m });
        }
        let peers: BTreeSet<PeerId> = [0, 1, 7].into_iter().map(PeerId).collect();
        let c = changes(&leases, &peers, &[1, 3], &[1, 3], &[1, 3], &Pins::new());
        assert!(
            c.contains(&LeaseCommand::Assign { peer: 1, member: 3 }),
            "{c:?}"
        );
        assert!(c.contains(&LeaseCommand::Release { peer: 5 }), "{c:?}");
        assert!(
            c.iter()
                .any(|x| matches!(x, LeaseCommand::Assign { peer: 7, .. })),
            "{c:?}"
        );
        // No member eligible: nothing changes (not everything released).
        assert!(changes(&leases, &peers, &[1], &[], &[], &Pins::new()).is_empty());
    }

    #[test]
    fn a_pinned_neighbour_runs_only_on_its_members() {
        let mut leases = Leases::default();
        let peers: BTreeSet<PeerId> = [0, 1].into_iter().map(PeerId).collect();
        let pins: Pins = [(PeerId(0), set(&[1]))].into_iter().collect();
        let c = changes(&leases, &peers, &[1, 2, 3], &[1, 2, 3], &[1, 2, 3], &pins);
        assert!(
            c.contains(&LeaseCommand::Assign { peer: 0, member: 1 }),
            "{c:?}"
        );
        for cmd in &c {
            leases.apply(cmd);
        }
        // Member 1 drained: its pinned session stays (no other may run it).
        let c = changes(&leases, &peers, &[1, 2, 3], &[2, 3], &[2, 3], &pins);
        assert!(
            !c.iter().any(|x| matches!(
                x,
                LeaseCommand::Move { peer: 0, .. } | LeaseCommand::Assign { peer: 0, .. }
            )),
            "{c:?}"
        );
        // Member 1 dead: the same; it keeps the lease for its return.
        let c = changes(&leases, &peers, &[2, 3], &[2, 3], &[2, 3], &pins);
        assert!(
            !c.iter().any(|x| matches!(
                x,
                LeaseCommand::Move { peer: 0, .. } | LeaseCommand::Assign { peer: 0, .. }
            )),
            "{c:?}"
        );
        // Pinned to members 1 and 3: member 1 drained, it moves to 3.
        let pins: Pins = [(PeerId(0), set(&[1, 3]))].into_iter().collect();
        let c = changes(&leases, &peers, &[1, 2, 3], &[2, 3], &[2, 3], &pins);
        assert!(c.contains(&LeaseCommand::Move { peer: 0, to: 3 }), "{c:?}");
    }
}
