//! What this member does with what the replicated RIB applied: the UPDATEs
//! for the sessions it runs. Runs in the state machine's apply, with the
//! RIB at hand; the sessions are reached through their actix addresses.

use super::coming_up::ComingUp;
use super::table::Tables;
use crate::fib::feed::SharedFeed;
use crate::session::{ImportPolicy, PeerSession, SendUpdates};
use actix::Addr;
use speaker::dispatch::{self, dispatch};
use speaker::policy::Policy;
use speaker::rib::recent::RecentWithdrawals;
use speaker::rib::{GroupId, PeerId, PeerStats, Resolver, Rib, RibOutput};
use speaker::wire::CodecContext;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use storage::ApplyHook;
use tracing::{debug, info, warn};

/// The sessions of this member and how to encode for them. Shared by the
/// RIB actor (which registers sessions) and the hook.
#[derive(Default)]
pub struct Routing {
    pub sessions: BTreeMap<PeerId, Addr<PeerSession>>,
    /// Established peers the RIB has taken in (their PeerUp is applied).
    pub contexts: BTreeMap<PeerId, CodecContext>,
    /// Established peers whose PeerUp is on its way through the log.
    pub coming_up: ComingUp,
    /// Received paths the import checks dropped, in total.
    pub dropped: u64,
    /// Each peer's drop counters as last logged.
    pub logged: BTreeMap<PeerId, PeerStats>,
    /// After this member restarted: nothing is sent until the neighbours
    /// of before have sent End-of-RIB (RFC 4724 §4.1).
    pub deferral: Option<Deferral>,
    /// The tables being sent to sessions, a page at a time.
    pub tables: Tables,
    /// What was withdrawn lately: a session taking a neighbour over is
    /// sent it before its table (the neighbour's stale copies of it go
    /// at once, not at End-of-RIB).
    pub recent: RecentWithdrawals,
}

/// The restarting speaker's deferral (RFC 4724 §4.1): route selection and
/// sending wait until every neighbour that was up before the restart has
/// sent End-of-RIB for each of its families (or, its session back without
/// graceful restart, is not waited for), or the selection deferral timer
/// runs out ([`Routing::end_deferral`]). Our RIB came back whole from the
/// store, so what the wait saves is churn: the sessions get the table
/// once, as the neighbours re-sent it, then End-of-RIB.
#[derive(Debug, Default)]
pub struct Deferral {
    /// Each neighbour waited for, and its families not yet ended.
    pub awaited: BTreeMap<PeerId, BTreeSet<speaker::wire::Family>>,
}

impl Routing {
    /// A neighbour's End-of-RIB of `family` (or its whole wait, `None`)
    /// arrived: whether the deferral is over.
    fn deferral_done(&mut self, peer: PeerId, family: Option<speaker::wire::Family>) -> bool {
        let Some(d) = &mut self.deferral else {
            return false;
        };
        match (family, d.awaited.get_mut(&peer)) {
            (Some(f), Some(families)) => {
                families.remove(&f);
                if families.is_empty() {
                    d.awaited.remove(&peer);
                }
            }
            (None, Some(_)) => {
                d.awaited.remove(&peer);
            }
            _ => {}
        }
        d.awaited.is_empty()
    }

    /// A neighbour whose session came back without graceful restart sends
    /// no End-of-RIB to wait for (RFC 4724 §4.1 leaves it out).
    pub fn not_awaited(&mut self, rib: &Rib, peer: PeerId) {
        if self.deferral_done(peer, None) {
            self.end_deferral(rib, "every neighbour of before the restart is back");
        }
    }

    /// Ends the deferral: every established session gets its whole table
    /// and End-of-RIB.
    pub fn end_deferral(&mut self, rib: &Rib, why: &str) {
        let Some(d) = self.deferral.take() else {
            return;
        };
        info!(
            not_back = d.awaited.len(),
            sessions = self.contexts.len(),
            "route selection deferral over ({why}): sending the table and End-of-RIB"
        );
        for (peer, ctx) in &self.contexts {
            if let Some(s) = self.sessions.get(peer) {
                s.do_send(self.tables.start_table(rib, *peer, ctx));
            }
        }
    }
}

/// What one batch did to a peer's sessions.
#[derive(Default)]
struct PeerChange {
    /// Up after the batch (its last event a join).
    up: bool,
    /// PeerUps applied (joins of a group).
    joins: u32,
    /// The group it left first, and the one it joined last.
    left: Option<GroupId>,
    joined: Option<GroupId>,
}

pub type SharedRouting = Arc<Mutex<Routing>>;

pub fn lock(r: &SharedRouting) -> MutexGuard<'_, Routing> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct DispatchHook {
    pub routing: SharedRouting,
    /// A border's FIB: what it is fed, and the next-hop resolver of its
    /// decision process.
    pub fib: Option<(SharedFeed, Resolver)>,
}

impl ApplyHook for DispatchHook {
    fn applied(&mut self, rib: &Rib, outputs: Vec<RibOutput>) {
        if let Some((feed, _)) = &self.fib {
            crate::fib::feed::lock(feed).applied(rib, &outputs);
        }
        let mut r = lock(&self.routing);
        let now = std::time::Instant::now();
        r.recent.record(now, &outputs);
        // Each peer's sessions coming up or going down in this batch, in
        // log order: the last event decides whether it is sent to.
        let mut changes: BTreeMap<PeerId, PeerChange> = BTreeMap::new();
        for out in &outputs {
            for (peer, group) in &out.left {
                let c = changes.entry(*peer).or_default();
                c.up = false;
                c.left.get_or_insert(*group);
            }
            for (peer, group) in &out.joined {
                let c = changes.entry(*peer).or_default();
                c.up = true;
                c.joins += 1;
                c.joined = Some(*group);
            }
        }
        // The sessions of this member whose PeerUp this batch applied get
        // their table, and so do those whose update group changed (a
        // policy or its attachment did): the new group's Adj-RIB-Out. A
        // session of this member that another member's PeerUp re-joined to
        // the same group (a make-before-break move, this member the old
        // owner) had every change already and is sent no second table.
        let mut fresh: BTreeSet<PeerId> = BTreeSet::new();
        for (peer, c) in &changes {
            let here = (c.joins > 0)
                .then(|| r.coming_up.applied(*peer, c.joins))
                .flatten();
            if !c.up {
                continue;
            }
            if let Some(codec) = here {
                r.contexts.insert(*peer, codec);
                fresh.insert(*peer);
            } else if c.joined != c.left {
                fresh.insert(*peer);
            }
        }
        let dropped: u64 = outputs.iter().map(|o| o.dropped).sum();
        if dropped > 0 {
            r.dropped += dropped;
            // RFC 4456 §8 loop checks, counted per peer (AS-path loops are
            // the session's, before import policy).
            for peer in rib.peers_up() {
                let stats = rib.peer_stats(peer).unwrap_or_default();
                let before = r.logged.get(&peer).copied().unwrap_or_default();
                if stats.total() > before.total() {
                    info!(
                        peer = peer.0,
                        dropped = stats.total() - before.total(),
                        originator_loop = stats.originator_loop,
                        cluster_loop = stats.cluster_loop,
                        "received routes dropped by import checks"
                    );
                    r.logged.insert(peer, stats);
                }
            }
        }
        if let Some(version) = outputs.iter().filter_map(|o| o.policy).next_back() {
            info!(version, "routing policy applied");
            tell_sessions(rib, &r.sessions);
        }
        let sends = if r.deferral.is_some() {
            Default::default()
        } else {
            let d = dispatch(rib, &outputs, &r.contexts);
            super::oversized(d.oversized, None);
            d.sends
        };
        for (peer, c) in &changes {
            if !c.up {
                r.contexts.remove(peer);
                r.tables.forget(*peer);
                // Its counters start again with its next session.
                r.logged.remove(peer);
            }
        }
        if r.deferral.is_some() {
            // Nothing goes out while deferring: the table goes whole at
            // its end.
            let mut done = false;
            for out in &outputs {
                if let Some((peer, family)) = out.end_of_rib {
                    done |= r.deferral_done(peer, Some(family));
                }
            }
            if done {
                r.end_deferral(rib, "every neighbour of before the restart sent End-of-RIB");
            }
            return;
        }
        for (peer, msgs) in sends {
            if msgs.is_empty() {
                continue;
            }
            if let Some(s) = r.sessions.get(&peer) {
                debug!(peer = peer.0, messages = msgs.len(), "updates out");
                s.do_send(SendUpdates(msgs));
            }
        }
        // Their tables (`fresh`), a page now and the rest as they take it.
        let r = &mut *r;
        for peer in &fresh {
            if let (Some(s), Some(ctx)) = (r.sessions.get(peer), r.contexts.get(peer)) {
                let first = super::sendable(r.recent.for_session(now, rib, *peer, ctx), *peer);
                if !first.is_empty() {
                    info!(
                        peer = peer.0,
                        messages = first.len(),
                        "recent withdrawals sent before the table (stale copies of an earlier session end)"
                    );
                    s.do_send(SendUpdates(first));
                }
                s.do_send(r.tables.start_table(rib, *peer, ctx));
            }
        }
    }

    /// Every session this member runs, up or not: registered before its
    /// PeerUp is proposed.
    fn sends_to(&self) -> Option<BTreeSet<PeerId>> {
        let r = lock(&self.routing);
        Some(
            r.sessions
                .keys()
                .chain(r.contexts.keys())
                .copied()
                .chain(r.coming_up.peers())
                .collect(),
        )
    }

    fn resolver(&self) -> Resolver {
        self.fib
            .as_ref()
            .map_or(Resolver::All, |(_, resolver)| resolver.clone())
    }

    fn compile_policy(&self, text: &str) -> Result<Policy, String> {
        crate::config::compile_policy_text(text)
    }

    fn replaced(&mut self, old: &Rib, rib: &Rib) {
        // A snapshot from the leader replaced the RIB (this member was far
        // behind: stopped, cut off, or its disk lost). The sessions it runs
        // were sent `old`'s routes: each is sent what changed, at once (it
        // may run on for hours, no later table would mend it).
        warn!(
            loc_rib = rib.loc_rib_len(),
            "RIB replaced by a snapshot from the cluster"
        );
        if let Some((feed, _)) = &self.fib {
            crate::fib::feed::lock(feed).replaced(old, rib);
        }
        let mut r = lock(&self.routing);
        tell_sessions(rib, &r.sessions);
        let r = &mut *r;
        // PeerUps and PeerDowns the snapshot holds were never applied
        // here one by one: a session up in it gets its table, one down in
        // it is no longer sent to.
        let joined: Vec<PeerId> = r
            .coming_up
            .peers()
            .filter(|p| rib.group_of(*p).is_some())
            .collect();
        for peer in &joined {
            if let Some(c) = r.coming_up.take(*peer) {
                r.contexts.insert(*peer, c);
            }
        }
        let left: Vec<PeerId> = r
            .contexts
            .keys()
            .copied()
            .filter(|p| rib.group_of(*p).is_none())
            .collect();
        for peer in left {
            r.contexts.remove(&peer);
            r.tables.forget(peer);
        }
        if r.deferral.is_some() {
            // Nothing goes out while deferring: the table goes whole at
            // its end.
            return;
        }
        for (peer, ctx) in &r.contexts {
            let Some(s) = r.sessions.get(peer) else {
                continue;
            };
            if joined.contains(peer) {
                s.do_send(r.tables.start_table(rib, *peer, ctx));
                continue;
            }
            let msgs = super::sendable(dispatch::resync(old, rib, *peer, ctx), *peer);
            if !msgs.is_empty() {
                info!(
                    peer = peer.0,
                    messages = msgs.len(),
                    "what the snapshot changed sent to the session"
                );
                s.do_send(SendUpdates(msgs));
            }
        }
    }
}

/// The import policy the replicated policy gives a neighbour's session.
pub fn import_policy(rib: &Rib, peer: PeerId) -> Option<ImportPolicy> {
    let (_, p) = rib.policy()?;
    let map = p
        .attachment(peer)
        .import
        .and_then(|name| p.compiled.route_map(&name).cloned());
    Some(ImportPolicy {
        map,
        ebgp_requires_policy: p.ebgp_requires_policy,
    })
}

/// Hands every session of this member its import policy (each compares it
/// with the one it runs, and asks its peer for a ROUTE-REFRESH if it
/// changed).
fn tell_sessions(rib: &Rib, sessions: &BTreeMap<PeerId, Addr<PeerSession>>) {
    for (peer, s) in sessions {
        if let Some(p) = import_policy(rib, *peer) {
            s.do_send(p);
        }
    }
}
