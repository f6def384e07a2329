//! Who runs each neighbour's session: a lease per neighbour, granted
//! through the log, with an epoch that grows with every grant. A member
//! stamps its writes with the epoch it holds ([`Fence`]); `apply` refuses
//! a session's commands stamped with an epoch that is no longer granted,
//! so a member cut off from the cluster cannot land stale writes after
//! another member took its sessions over.
//!
//! A planned move is make-before-break: [`LeaseCommand::Move`] grants the
//! new member a joining epoch while the owner keeps its own; both sessions
//! run; once the new session has sent the neighbour its table,
//! [`LeaseCommand::Joined`] makes the new member the owner, and the old
//! one closes its session. A member that is gone is replaced at once
//! ([`LeaseCommand::Assign`]).

use crate::types::{NodeId, Owners};
use serde::{Deserialize, Serialize};
use speaker::rib::PeerId;
use std::collections::BTreeMap;

/// One member's grant of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub member: NodeId,
    pub epoch: u64,
}

/// A neighbour's session: its owner, and the member it is moving to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: Grant,
    pub joining: Option<Grant>,
}

/// Why a member takes no sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Drain {
    /// `reflex ctl drain`: until `reflex ctl undrain`.
    Operator,
    /// The member is stopping (SIGTERM): it takes sessions again once it
    /// has started again.
    Stopping,
}

/// A change of the leases, through the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaseCommand {
    /// `member` runs the session from now on, whoever ran it (gone, or
    /// none): break-before-make.
    Assign { peer: u32, member: NodeId },
    /// Make-before-break: `to` brings a session up beside the owner's;
    /// `to` being the owner cancels a move under way.
    Move { peer: u32, to: NodeId },
    /// The joining member's session has sent the table: it owns it.
    Joined {
        peer: u32,
        member: NodeId,
        epoch: u64,
    },
    /// The neighbour is no longer configured.
    Release { peer: u32 },
    /// `member` is drained (`Some`), or takes sessions again (`None`).
    Drain {
        member: NodeId,
        drain: Option<Drain>,
    },
}

impl LeaseCommand {
    /// The neighbour the command is about (`None`: a drain).
    pub fn peer(&self) -> Option<u32> {
        match self {
            LeaseCommand::Assign { peer, .. }
            | LeaseCommand::Move { peer, .. }
            | LeaseCommand::Joined { peer, .. }
            | LeaseCommand::Release { peer } => Some(*peer),
            LeaseCommand::Drain { .. } => None,
        }
    }
}

/// The epochs a write's author held for the neighbours its commands are
/// about, when it wrote them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fence {
    pub epochs: Vec<(u32, u64)>,
}

impl Fence {
    fn epoch_of(&self, peer: PeerId) -> Option<u64> {
        self.epochs
            .iter()
            .find(|(p, _)| *p == peer.0)
            .map(|(_, e)| *e)
    }
}

/// Every lease, the last epoch granted and the drained members:
/// replicated state, kept in snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leases {
    leases: BTreeMap<u32, Lease>,
    last_epoch: u64,
    drained: BTreeMap<NodeId, Drain>,
}

impl Leases {
    fn grant(&mut self, member: NodeId) -> Grant {
        self.last_epoch += 1;
        Grant {
            member,
            epoch: self.last_epoch,
        }
    }

    /// Applies `cmd`; whether anything changed.
    pub fn apply(&mut self, cmd: &LeaseCommand) -> bool {
        match *cmd {
            LeaseCommand::Assign { peer, member } => {
                if self
                    .leases
                    .get(&peer)
                    .is_some_and(|l| l.owner.member == member && l.joining.is_none())
                {
                    return false;
                }
                let owner = self.grant(member);
                self.leases.insert(
                    peer,
                    Lease {
                        owner,
                        joining: None,
                    },
                );
                true
            }
            LeaseCommand::Move { peer, to } => {
                let Some(lease) = self.leases.get(&peer).copied() else {
                    return self.apply(&LeaseCommand::Assign { peer, member: to });
                };
                if lease.owner.member == to {
                    let changed = lease.joining.is_some();
                    if let Some(l) = self.leases.get_mut(&peer) {
                        l.joining = None;
                    }
                    return changed;
                }
                if lease.joining.is_some_and(|j| j.member == to) {
                    return false;
                }
                let joining = self.grant(to);
                if let Some(l) = self.leases.get_mut(&peer) {
                    l.joining = Some(joining);
                }
                true
            }
            LeaseCommand::Joined {
                peer,
                member,
                epoch,
            } => {
                let Some(l) = self.leases.get_mut(&peer) else {
                    return false;
                };
                if l.joining != Some(Grant { member, epoch }) {
                    return false;
                }
                l.owner = Grant { member, epoch };
                l.joining = None;
                true
            }
            LeaseCommand::Release { peer } => self.leases.remove(&peer).is_some(),
            LeaseCommand::Drain { member, drain } => match drain {
                Some(d) => self.drained.insert(member, d) != Some(d),
                None => self.drained.remove(&member).is_some(),
            },
        }
    }

    /// The whole owner map as a write of before the leases gave it:
    /// every neighbour whose owner changed is assigned to its new one.
    pub fn replace(&mut self, owners: &Owners) {
        self.leases.retain(|p, _| owners.contains_key(&PeerId(*p)));
        for (p, m) in owners {
            self.apply(&LeaseCommand::Assign {
                peer: p.0,
                member: *m,
            });
        }
    }

    pub fn get(&self, peer: PeerId) -> Option<&Lease> {
        self.leases.get(&peer.0)
    }

    /// Each neighbour's owner.
    pub fn owners(&self) -> Owners {
        self.leases
            .iter()
            .map(|(p, l)| (PeerId(*p), l.owner.member))
            .collect()
    }

    /// The grant `member` holds for `peer`, as owner or joining.
    pub fn grant_of(&self, peer: PeerId, member: NodeId) -> Option<Grant> {
        let l = self.leases.get(&peer.0)?;
        [Some(l.owner), l.joining]
            .into_iter()
            .flatten()
            .find(|g| g.member == member)
    }

    /// Whether a command about `peer` written under `fence` may apply: a
    /// neighbour without a lease (a one-member node, or before the owner
    /// map) takes any; else the epoch must be granted now.
    pub fn admits(&self, fence: &Fence, peer: PeerId) -> bool {
        let Some(l) = self.leases.get(&peer.0) else {
            return true;
        };
        let Some(epoch) = fence.epoch_of(peer) else {
            return true;
        };
        l.owner.epoch == epoch || l.joining.is_some_and(|j| j.epoch == epoch)
    }

    /// The fence for a write `member` makes about `peers`: the epoch it
    /// holds for each that has a lease (0, which no lease has, where it
    /// holds none: the write is refused if the lease is still there).
    pub fn fence(&self, member: NodeId, peers: impl IntoIterator<Item = PeerId>) -> Fence {
        let mut epochs: Vec<(u32, u64)> = peers
            .into_iter()
            .filter(|p| self.leases.contains_key(&p.0))
            .map(|p| (p.0, self.grant_of(p, member).map_or(0, |g| g.epoch)))
            .collect();
        epochs.sort_unstable();
        epochs.dedup();
        Fence { epochs }
    }

    /// Whether `member` owns, or is joining, any neighbour's session.
    pub fn holds_any(&self, member: NodeId) -> bool {
        self.holds_any_of(member, |_| true)
    }

    /// Whether `member` owns, or is joining, the session of a neighbour
    /// `of` counts.
    pub fn holds_any_of(&self, member: NodeId, of: impl Fn(PeerId) -> bool) -> bool {
        self.leases.iter().any(|(p, l)| {
            (l.owner.member == member || l.joining.is_some_and(|j| j.member == member))
                && of(PeerId(*p))
        })
    }

    /// The drained members and why.
    pub fn drained(&self) -> &BTreeMap<NodeId, Drain> {
        &self.drained
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fence(peer: u32, epoch: u64) -> Fence {
        Fence {
            epochs: vec![(peer, epoch)],
        }
    }

    #[test]
    fn a_move_is_make_before_break_and_fences_the_old_owner() {
        let mut l = Leases::default();
        assert!(l.apply(&LeaseCommand::Assign { peer: 7, member: 1 }));
        let first = l.grant_of(PeerId(7), 1).unwrap();
        assert!(l.apply(&LeaseCommand::Move { peer: 7, to: 2 }));
        let joining = l.grant_of(PeerId(7), 2).unwrap();
        assert!(joining.epoch > first.epoch);
        // Both sessions run: both write.
        assert!(l.admits(&fence(7, first.epoch), PeerId(7)));
        assert!(l.admits(&fence(7, joining.epoch), PeerId(7)));
        assert_eq!(l.owners()[&PeerId(7)], 1);
        assert!(l.holds_any(1) && l.holds_any(2) && !l.holds_any(3));
        // A Joined of another grant changes nothing.
        assert!(!l.apply(&LeaseCommand::Joined {
            peer: 7,
            member: 2,
            epoch: first.epoch
        }));
        assert!(l.apply(&LeaseCommand::Joined {
            peer: 7,
            member: 2,
            epoch: joining.epoch
        }));
        assert_eq!(l.owners()[&PeerId(7)], 2);
        // The old owner's writes are refused from now on.
        assert!(!l.admits(&fence(7, first.epoch), PeerId(7)));
        assert!(l.admits(&fence(7, joining.epoch), PeerId(7)));
        assert_eq!(l.grant_of(PeerId(7), 1), None);
    }

    #[test]
    fn a_stale_epoch_is_refused_after_a_takeover() {
        let mut l = Leases::default();
        l.apply(&LeaseCommand::Assign { peer: 3, member: 1 });
        let old = l.grant_of(PeerId(3), 1).unwrap().epoch;
        // Member 1 is cut off; member 2 takes over; member 1 gets it back.
        l.apply(&LeaseCommand::Assign { peer: 3, member: 2 });
        l.apply(&LeaseCommand::Assign { peer: 3, member: 1 });
        let new = l.grant_of(PeerId(3), 1).unwrap().epoch;
        assert!(new > old);
        // A write member 1 made in its first tenure lands now: refused.
        assert!(!l.admits(&fence(3, old), PeerId(3)));
        assert!(l.admits(&fence(3, new), PeerId(3)));
        // A write that stamps no epoch for the peer, or a peer without a
        // lease, takes anything.
        assert!(l.admits(&fence(9, 1), PeerId(3)));
        assert!(l.admits(&fence(4, 1), PeerId(4)));
    }

    #[test]
    fn moving_back_to_the_owner_cancels_and_release_forgets() {
        let mut l = Leases::default();
        l.apply(&LeaseCommand::Move { peer: 1, to: 5 });
        assert_eq!(l.owners()[&PeerId(1)], 5, "no owner: a move assigns");
        l.apply(&LeaseCommand::Move { peer: 1, to: 6 });
        assert!(l.get(PeerId(1)).unwrap().joining.is_some());
        assert!(l.apply(&LeaseCommand::Move { peer: 1, to: 5 }));
        assert_eq!(l.get(PeerId(1)).unwrap().joining, None);
        assert!(l.apply(&LeaseCommand::Release { peer: 1 }));
        assert!(l.owners().is_empty());
    }

    #[test]
    fn a_whole_owner_map_assigns_the_changes() {
        let mut l = Leases::default();
        l.replace(&[(PeerId(1), 1), (PeerId(2), 2)].into_iter().collect());
        let e1 = l.grant_of(PeerId(1), 1).unwrap().epoch;
        l.replace(&[(PeerId(1), 1), (PeerId(2), 3)].into_iter().collect());
        assert_eq!(l.grant_of(PeerId(1), 1).unwrap().epoch, e1, "unchanged");
        assert_eq!(l.owners()[&PeerId(2)], 3);
        l.replace(&[(PeerId(2), 3)].into_iter().collect());
        assert_eq!(l.get(PeerId(1)), None);
    }

    #[test]
    fn drains_are_recorded() {
        let mut l = Leases::default();
        assert!(l.apply(&LeaseCommand::Drain {
            member: 2,
            drain: Some(Drain::Stopping)
        }));
        assert_eq!(l.drained().get(&2), Some(&Drain::Stopping));
        assert!(l.apply(&LeaseCommand::Drain {
            member: 2,
            drain: None
        }));
        assert!(l.drained().is_empty());
    }
}
