//! The Loc-RIB: every usable path per destination, and the best one
//! (RFC 4271 §3.2). Candidates live here once; a peer's Adj-RIB-In is an
//! index into it ([`super::adj_rib_in`]).

use super::decision::Decision;
use super::peer::PeerId;
use crate::wire::nlri::LabelStack;
use crate::wire::prefix::RouteDistinguisher;
use crate::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A destination: what the decision process picks one path for. The path
/// identifier is not part of it (RFC 7911 §3: it tells paths apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    pub family: Family,
    pub rd: Option<RouteDistinguisher>,
    pub prefix: Prefix,
}

impl RouteKey {
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

/// One path to a destination, received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub peer: PeerId,
    /// The path identifier the peer sent (RFC 7911), if any.
    pub path_id: Option<u32>,
    /// Our identifier for this path towards ADD-PATH peers: allocated in
    /// command order, so the same on every member.
    pub local_id: u32,
    pub labels: LabelStack,
    pub attrs: Arc<PathAttributes>,
    /// Kept from a peer restarting gracefully (RFC 4724 §4.2).
    pub stale: bool,
}

/// All candidates of one destination, sorted by (peer, path id), and the
/// outcome of the decision process over them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub candidates: Vec<Candidate>,
    /// The outcome of the decision process (indexes into `candidates`);
    /// `None` when no candidate is usable.
    pub decision: Option<Decision>,
    next_local_id: u32,
}

impl Entry {
    pub fn best(&self) -> Option<&Candidate> {
        self.decision.and_then(|d| self.candidates.get(d.best))
    }

    fn position(&self, peer: PeerId, path_id: Option<u32>) -> Result<usize, usize> {
        self.candidates
            .binary_search_by(|c| (c.peer, c.path_id).cmp(&(peer, path_id)))
    }

    /// Adds or replaces (implicit withdraw, RFC 4271 §9) a peer's path; a
    /// replaced path keeps its local id.
    pub fn upsert(
        &mut self,
        peer: PeerId,
        path_id: Option<u32>,
        labels: LabelStack,
        attrs: Arc<PathAttributes>,
    ) {
        match self.position(peer, path_id) {
            Ok(i) => {
                let c = &mut self.candidates[i];
                c.labels = labels;
                c.attrs = attrs;
                c.stale = false;
            }
            Err(i) => {
                self.next_local_id = self.next_local_id.wrapping_add(1).max(1);
                let local_id = self.next_local_id;
                self.candidates.insert(
                    i,
                    Candidate {
                        peer,
                        path_id,
                        local_id,
                        labels,
                        attrs,
                        stale: false,
                    },
                );
            }
        }
    }

    /// Removes a peer's path; whether there was one.
    pub fn remove(&mut self, peer: PeerId, path_id: Option<u32>) -> bool {
        match self.position(peer, path_id) {
            Ok(i) => {
                self.candidates.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// The candidate the decision process compared the best one with last.
    pub fn runner_up(&self) -> Option<&Candidate> {
        self.decision
            .and_then(|d| d.runner_up)
            .and_then(|i| self.candidates.get(i))
    }

    pub fn get_mut(&mut self, peer: PeerId, path_id: Option<u32>) -> Option<&mut Candidate> {
        let i = self.position(peer, path_id).ok()?;
        self.candidates.get_mut(i)
    }

    pub fn get(&self, peer: PeerId, path_id: Option<u32>) -> Option<&Candidate> {
        let i = self.position(peer, path_id).ok()?;
        self.candidates.get(i)
    }
}

/// Destinations in a deterministic order.
pub type LocRib = BTreeMap<RouteKey, Entry>;
