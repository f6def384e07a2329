//! The outputs of [`super::Rib::apply`]: what changed, in a deterministic
//! order, for the layers that send UPDATEs and program forwarding.

use super::loc_rib::RouteKey;
use super::peer::PeerId;
use super::update_group::{GroupId, OutChange};
use crate::wire::nlri::LabelStack;
use crate::wire::{Family, NlriEntry, PathAttributes};
use std::sync::Arc;

/// A change of best path (for a FIB, or the API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocRibChange {
    pub key: RouteKey,
    /// `None`: no usable path any more.
    pub best: Option<BestPath>,
}

/// The best path of a destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BestPath {
    pub peer: PeerId,
    pub path_id: Option<u32>,
    pub labels: LabelStack,
    pub attrs: Arc<PathAttributes>,
}

impl BestPath {
    pub fn of(c: &super::Candidate) -> BestPath {
        BestPath {
            peer: c.peer,
            path_id: c.path_id(),
            labels: c.labels(),
            attrs: c.attrs.clone(),
        }
    }
}

/// The changes of one update group's Adj-RIB-Out, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupChanges {
    pub group: GroupId,
    pub changes: Vec<OutChange>,
}

/// Everything one command changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RibOutput {
    /// Best-path changes, by destination.
    pub loc_rib: Vec<LocRibChange>,
    /// Adj-RIB-Out changes, by group id; groups without changes are left out.
    pub groups: Vec<GroupChanges>,
    /// Peers that joined a group: send them the group's whole Adj-RIB-Out
    /// ([`super::Rib::adj_rib_out_for`]), then End-of-RIB.
    pub joined: Vec<(PeerId, GroupId)>,
    /// Peers that left a group (session down).
    pub left: Vec<(PeerId, GroupId)>,
    /// Withdrawals for one peer, sent before anything else of this output:
    /// what a peer that moved to another group (its export route-map
    /// changed) was sent and is not any more.
    pub withdrawn_to: Vec<(PeerId, Vec<(Family, NlriEntry)>)>,
    /// The policy version a [`super::RibCommand::Policy`] made current.
    pub policy: Option<u64>,
    /// Received paths the import checks dropped in this command.
    pub dropped: u64,
    /// The End-of-RIB this command applied (RFC 4724 §2): a restarted
    /// border removes what no neighbour sent again once every neighbour
    /// has sent it.
    pub end_of_rib: Option<(PeerId, Family)>,
}

impl RibOutput {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.loc_rib.is_empty()
            && self.groups.is_empty()
            && self.joined.is_empty()
            && self.left.is_empty()
            && self.withdrawn_to.is_empty()
            && self.policy.is_none()
            && self.dropped == 0
            && self.end_of_rib.is_none()
    }
}
