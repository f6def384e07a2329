//! The Loc-RIB: every usable path per destination, and the best one
//! (RFC 4271 §3.2). Candidates live here once: a peer's Adj-RIB-In is the
//! set of candidates it sent, and an update group's Adj-RIB-Out is computed
//! from the candidates ([`super::adj_rib_out`]).
//!
//! A full table is most of the process's memory, so an entry is small: one
//! candidate inline (most destinations have one), labels boxed (only
//! labeled families have them), the decision in indexes of 16 bits.

use super::chunk_map::ChunkMap;
use super::decision::{Decision, DecisionStep};
use super::peer::PeerId;
use crate::wire::nlri::LabelStack;
use crate::wire::prefix::RouteDistinguisher;
use crate::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::sync::Arc;

/// A destination: what the decision process picks one path for. The path
/// identifier is not part of it (RFC 7911 §3: it tells paths apart).
/// Ordered by family, route distinguisher (none first), then prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteKey {
    pub family: Family,
    pub rd: Option<RouteDistinguisher>,
    pub prefix: Prefix,
}

impl Ord for RouteKey {
    /// The order of the fields, compared as integers (this comparison is
    /// most of what the Loc-RIB's lookups and sorts do).
    #[inline]
    fn cmp(&self, other: &RouteKey) -> std::cmp::Ordering {
        let family = |k: &RouteKey| (k.family.afi.0, k.family.safi.0);
        let rd = |k: &RouteKey| k.rd.map(|r| u64::from_be_bytes(r.0));
        family(self)
            .cmp(&family(other))
            .then_with(|| rd(self).cmp(&rd(other)))
            .then_with(|| self.prefix.cmp(&other.prefix))
    }
}

impl PartialOrd for RouteKey {
    #[inline]
    fn partial_cmp(&self, other: &RouteKey) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl RouteKey {
    /// A plain IPv4 or IPv6 unicast destination (no RD): what a kernel
    /// forwards on and the operator API lists.
    pub fn is_ip_unicast(&self) -> bool {
        self.rd.is_none()
            && (self.family == Family::IPV4_UNICAST || self.family == Family::IPV6_UNICAST)
    }

    pub fn of(family: Family, entry: &NlriEntry) -> RouteKey {
        RouteKey {
            family,
            rd: entry.rd,
            prefix: entry.prefix,
        }
    }

    /// The NLRI entry announcing this destination with a path id and labels.
    pub fn entry(&self, path_id: Option<u32>, labels: LabelStack) -> NlriEntry {
        NlriEntry {
            path_id,
            labels,
            rd: self.rd,
            prefix: self.prefix,
        }
    }
}

const HAS_PATH_ID: u8 = 1;
const STALE: u8 = 2;

/// One path to a destination, received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub peer: PeerId,
    path_id: u32,
    /// Our identifier for this path towards ADD-PATH peers: allocated in
    /// command order, so the same on every member.
    pub local_id: u32,
    flags: u8,
    labels: Option<Box<LabelStack>>,
    pub attrs: Arc<PathAttributes>,
}

impl Candidate {
    pub fn new(
        peer: PeerId,
        path_id: Option<u32>,
        local_id: u32,
        labels: LabelStack,
        attrs: Arc<PathAttributes>,
    ) -> Candidate {
        Candidate {
            peer,
            path_id: path_id.unwrap_or(0),
            local_id,
            flags: if path_id.is_some() { HAS_PATH_ID } else { 0 },
            labels: boxed(labels),
            attrs,
        }
    }

    /// A candidate as a snapshot recorded it.
    pub fn restored(
        peer: PeerId,
        path_id: Option<u32>,
        local_id: u32,
        stale: bool,
        labels: LabelStack,
        attrs: Arc<PathAttributes>,
    ) -> Candidate {
        let mut c = Candidate::new(peer, path_id, local_id, labels, attrs);
        c.set_stale(stale);
        c
    }

    /// The path identifier the peer sent (RFC 7911), if any.
    pub fn path_id(&self) -> Option<u32> {
        (self.flags & HAS_PATH_ID != 0).then_some(self.path_id)
    }

    pub fn labels(&self) -> LabelStack {
        self.labels.as_deref().copied().unwrap_or_default()
    }

    /// Kept from a peer restarting gracefully (RFC 4724 §4.2).
    pub fn stale(&self) -> bool {
        self.flags & STALE != 0
    }

    pub fn set_stale(&mut self, stale: bool) {
        if stale {
            self.flags |= STALE;
        } else {
            self.flags &= !STALE;
        }
    }

    fn order(&self) -> (PeerId, Option<u32>) {
        (self.peer, self.path_id())
    }
}

fn boxed(labels: LabelStack) -> Option<Box<LabelStack>> {
    (!labels.is_empty()).then(|| Box::new(labels))
}

/// The candidates of a destination, sorted by (peer, path id); the one of
/// a single-path destination is stored inline.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Candidates {
    One(Candidate),
    Many(Vec<Candidate>),
}

impl Default for Candidates {
    fn default() -> Candidates {
        Candidates::Many(Vec::new())
    }
}

impl Candidates {
    fn as_slice(&self) -> &[Candidate] {
        match self {
            Candidates::One(c) => std::slice::from_ref(c),
            Candidates::Many(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [Candidate] {
        match self {
            Candidates::One(c) => std::slice::from_mut(c),
            Candidates::Many(v) => v,
        }
    }

    fn insert(&mut self, i: usize, c: Candidate) {
        match self {
            Candidates::Many(v) if v.is_empty() => *self = Candidates::One(c),
            Candidates::Many(v) => v.insert(i, c),
            Candidates::One(_) => {
                let Candidates::One(first) = std::mem::take(self) else {
                    return;
                };
                let mut v = Vec::with_capacity(2);
                v.push(first);
                v.insert(i, c);
                *self = Candidates::Many(v);
            }
        }
    }

    fn remove(&mut self, i: usize) {
        match self {
            Candidates::One(_) => *self = Candidates::default(),
            Candidates::Many(v) => {
                v.remove(i);
                if v.len() == 1
                    && let Some(last) = v.pop()
                {
                    *self = Candidates::One(last);
                }
            }
        }
    }
}

/// The outcome of the decision process, as an entry keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Chosen {
    best: u16,
    /// `u16::MAX`: none.
    runner_up: u16,
    step: DecisionStep,
}

/// All candidates of one destination, sorted by (peer, path id), and the
/// outcome of the decision process over them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    candidates: Candidates,
    decision: Option<Chosen>,
    next_local_id: u32,
}

impl Entry {
    pub fn candidates(&self) -> &[Candidate] {
        self.candidates.as_slice()
    }

    pub fn is_empty(&self) -> bool {
        self.candidates().is_empty()
    }

    /// The outcome of the decision process (indexes into
    /// [`Entry::candidates`]); `None` when no candidate is usable.
    pub fn decision(&self) -> Option<Decision> {
        self.decision.map(|d| Decision {
            best: usize::from(d.best),
            step: d.step,
            runner_up: (d.runner_up != u16::MAX).then_some(usize::from(d.runner_up)),
        })
    }

    pub(super) fn set_decision(&mut self, d: Option<Decision>) {
        // A destination has far fewer than 65,535 paths (one per peer and
        // path id); a decision beyond that is dropped rather than wrapped.
        self.decision = d.and_then(|d| {
            Some(Chosen {
                best: u16::try_from(d.best).ok()?,
                runner_up: match d.runner_up {
                    Some(r) => u16::try_from(r).ok().filter(|r| *r != u16::MAX)?,
                    None => u16::MAX,
                },
                step: d.step,
            })
        });
    }

    pub fn best(&self) -> Option<&Candidate> {
        self.decision
            .and_then(|d| self.candidates().get(usize::from(d.best)))
    }

    /// The candidate the decision process compared the best one with last.
    pub fn runner_up(&self) -> Option<&Candidate> {
        self.decision()
            .and_then(|d| d.runner_up)
            .and_then(|i| self.candidates().get(i))
    }

    fn position(&self, peer: PeerId, path_id: Option<u32>) -> Result<usize, usize> {
        self.candidates()
            .binary_search_by(|c| c.order().cmp(&(peer, path_id)))
    }

    /// Adds or replaces (implicit withdraw, RFC 4271 §9) a peer's path; a
    /// replaced path keeps its local id. Whether the path is new.
    pub fn upsert(
        &mut self,
        peer: PeerId,
        path_id: Option<u32>,
        labels: LabelStack,
        attrs: Arc<PathAttributes>,
    ) -> bool {
        match self.position(peer, path_id) {
            Ok(i) => {
                if let Some(c) = self.candidates.as_mut_slice().get_mut(i) {
                    if c.labels() != labels {
                        c.labels = boxed(labels);
                    }
                    c.attrs = attrs;
                    c.set_stale(false);
                }
                false
            }
            Err(i) => {
                self.next_local_id = self.next_local_id.wrapping_add(1).max(1);
                let c = Candidate::new(peer, path_id, self.next_local_id, labels, attrs);
                // The decision indexes the old order: it is stale until the
                // caller runs the decision process again.
                self.decision = None;
                self.candidates.insert(i, c);
                true
            }
        }
    }

    /// Removes a peer's path; whether there was one.
    pub fn remove(&mut self, peer: PeerId, path_id: Option<u32>) -> bool {
        match self.position(peer, path_id) {
            Ok(i) => {
                self.decision = None;
                self.candidates.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn get_mut(&mut self, peer: PeerId, path_id: Option<u32>) -> Option<&mut Candidate> {
        let i = self.position(peer, path_id).ok()?;
        self.candidates.as_mut_slice().get_mut(i)
    }

    pub fn get(&self, peer: PeerId, path_id: Option<u32>) -> Option<&Candidate> {
        let i = self.position(peer, path_id).ok()?;
        self.candidates().get(i)
    }

    /// The last local path id handed out.
    pub fn next_local_id(&self) -> u32 {
        self.next_local_id
    }

    pub(super) fn set_next_local_id(&mut self, id: u32) {
        self.next_local_id = id;
    }

    /// Puts back a candidate from a snapshot (replacing one with the same
    /// peer and path id). The decision must run again.
    pub(super) fn restore(&mut self, c: Candidate) {
        self.decision = None;
        match self.position(c.peer, c.path_id()) {
            Ok(i) => {
                if let Some(old) = self.candidates.as_mut_slice().get_mut(i) {
                    *old = c;
                }
            }
            Err(i) => self.candidates.insert(i, c),
        }
    }

    /// Marks a peer's candidates stale (RFC 4724 §4.2).
    pub fn mark_stale(&mut self, peer: PeerId) {
        for c in self.candidates.as_mut_slice() {
            if c.peer == peer {
                c.set_stale(true);
            }
        }
    }

    /// A peer's candidates (contiguous: sorted by peer first).
    /// The path ids of `peer`'s stale candidates.
    pub fn stale_path_ids(&self, peer: PeerId) -> Vec<Option<u32>> {
        self.of_peer(peer)
            .iter()
            .filter(|c| c.stale())
            .map(|c| c.path_id())
            .collect()
    }

    pub fn of_peer(&self, peer: PeerId) -> &[Candidate] {
        let all = self.candidates();
        let start = all.partition_point(|c| c.peer < peer);
        let end = all.partition_point(|c| c.peer <= peer);
        all.get(start..end).unwrap_or_default()
    }
}

/// Destinations in a deterministic order.
pub type LocRib = ChunkMap<RouteKey, Entry>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::family::{Afi, Safi};
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn route_key() -> impl Strategy<Value = RouteKey> {
        let addr = prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ];
        (
            prop_oneof![Just(1u16), Just(2u16), any::<u16>()],
            prop_oneof![Just(1u8), Just(128u8), any::<u8>()],
            proptest::option::of(any::<[u8; 8]>()),
            addr,
            0u8..=128,
        )
            .prop_filter_map("a prefix", |(afi, safi, rd, addr, len)| {
                let max = if addr.is_ipv4() { 32 } else { 128 };
                Some(RouteKey {
                    family: Family {
                        afi: Afi(afi),
                        safi: Safi(safi),
                    },
                    rd: rd.map(RouteDistinguisher),
                    prefix: Prefix::new(addr, len.min(max))?,
                })
            })
    }

    proptest! {
        /// The hand-written order is the fields' lexicographic order (as
        /// the derived one was): family, RD (none first), address (IPv4
        /// first), length.
        #[test]
        fn route_key_order_is_the_fields_order(a in route_key(), b in route_key()) {
            let fields = |k: &RouteKey| (k.family, k.rd.map(|r| r.0), k.prefix.addr(), k.prefix.len());
            prop_assert_eq!(a.cmp(&b), fields(&a).cmp(&fields(&b)));
            prop_assert_eq!(a.cmp(&b) == std::cmp::Ordering::Equal, a == b);
        }
    }

    #[test]
    fn entries_stay_small() {
        // Per destination of a full table: keep an eye on it.
        assert!(std::mem::size_of::<Candidate>() <= 32);
        assert!(std::mem::size_of::<Entry>() <= 56);
    }
}
