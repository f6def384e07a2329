//! The inputs of the RIB. Plain data: the replicated RIB puts them in the
//! Raft log unchanged, and every member applying the same sequence ends
//! with the same state.

use super::peer::{PeerId, PeerInfo};
use super::policy_change::ReplicatedPolicy;
use crate::wire::{Family, NlriEntry, PathAttributes, Prefix, Update};
use std::sync::Arc;

/// One input of [`super::Rib::apply`].
#[derive(Clone, Debug, PartialEq)]
pub enum RibCommand {
    /// A session reached Established. A peer already up is first taken
    /// down (its paths withdrawn); a peer that went down gracefully keeps
    /// its stale paths until End-of-RIB or [`RibCommand::RestartExpired`].
    PeerUp(PeerInfo),
    /// Paths announced and withdrawn by one peer: withdrawals are applied
    /// first, then announcements, in order.
    Routes {
        peer: PeerId,
        withdrawn: Vec<(Family, NlriEntry)>,
        announced: Vec<(Family, NlriEntry, Arc<PathAttributes>)>,
    },
    /// End-of-RIB (RFC 4724 §2): the peer's stale paths of `family` go.
    EndOfRib { peer: PeerId, family: Family },
    /// The session ended: every path of the peer is withdrawn.
    PeerDown { peer: PeerId },
    /// The session ended and the peer can restart gracefully (RFC 4724
    /// §4.2, helper side): its paths are kept, marked stale.
    PeerDownGraceful { peer: PeerId },
    /// The restart timer of a peer expired: its stale paths go. The caller
    /// owns the timer; the RIB never reads a clock.
    RestartExpired { peer: PeerId },
    /// RFC 9494 §4.2: the restart time of a peer that announced
    /// long-lived graceful restart ran out. Its stale paths of `families`
    /// stay, carrying LLGR_STALE (least preferred, sent only to peers that
    /// understand it), except those marked NO_LLGR, which go with the
    /// stale paths of its other families.
    LongLivedStale { peer: PeerId, families: Vec<Family> },
    /// RFC 9494 §4.2: the long-lived stale time of a peer's `family` ran
    /// out: its stale paths of that family go.
    LongLivedExpired { peer: PeerId, family: Family },
    /// The routing policy from now on (route-maps, RFC 8212, each
    /// neighbour's maps): see [`super::policy_change`].
    Policy(Arc<ReplicatedPolicy>),
    /// The forwarding table a border resolves next hops in changed under
    /// these prefixes: the decision runs again for every destination with
    /// a candidate whose next hop one of them covers (RFC 4271 §9.1.2.1).
    Reresolve { prefixes: Vec<Prefix> },
}

impl RibCommand {
    /// The peer whose session the command comes from, if any.
    pub fn peer(&self) -> Option<PeerId> {
        match self {
            RibCommand::PeerUp(info) => Some(info.id),
            RibCommand::Routes { peer, .. }
            | RibCommand::EndOfRib { peer, .. }
            | RibCommand::PeerDown { peer }
            | RibCommand::PeerDownGraceful { peer }
            | RibCommand::RestartExpired { peer }
            | RibCommand::LongLivedStale { peer, .. }
            | RibCommand::LongLivedExpired { peer, .. } => Some(*peer),
            RibCommand::Policy(_) | RibCommand::Reresolve { .. } => None,
        }
    }

    /// Paths it announces or withdraws.
    pub fn paths(&self) -> usize {
        match self {
            RibCommand::Routes {
                withdrawn,
                announced,
                ..
            } => withdrawn.len() + announced.len(),
            _ => 0,
        }
    }

    /// The command for a received UPDATE. End-of-RIB markers become
    /// [`RibCommand::EndOfRib`]; an UPDATE to be treated as withdraw
    /// (RFC 7606 §2) withdraws everything it announces.
    pub fn from_update(peer: PeerId, update: &Update) -> RibCommand {
        if let Some(family) = update.end_of_rib_family() {
            return RibCommand::EndOfRib { peer, family };
        }
        let mut withdrawn: Vec<(Family, NlriEntry)> = update.withdrawals().collect();
        let mut announced = Vec::new();
        if update.treat_as_withdraw() {
            withdrawn.extend(update.announced());
        } else {
            announced.reserve(update.counts().0);
            announced.extend(
                update
                    .announced()
                    .map(|(f, e)| (f, e, update.attributes.clone())),
            );
        }
        RibCommand::Routes {
            peer,
            withdrawn,
            announced,
        }
    }
}
