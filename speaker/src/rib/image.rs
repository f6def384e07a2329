//! The replicated state of a RIB as plain data, and the RIB rebuilt from
//! it: what a Raft snapshot carries. Only what commands made is in it
//! (peers, update groups, every candidate with its local path id); the
//! decision and the Adj-RIBs-Out are computed again on restore, so a
//! restored RIB equals the one imaged ([`Rib::same_state`]).

use super::loc_rib::{Candidate, Entry, RouteKey};
use super::peer::{PeerId, PeerInfo, PeerStats};
use super::policy_change::ReplicatedPolicy;
use super::update_group::{GroupId, GroupKey, UpdateGroup};
use super::{NextHopResolver, PeerState, Rib, RibConfig};
use crate::wire::PathAttributes;
use crate::wire::nlri::LabelStack;
use std::sync::Arc;

/// A peer, while up or holding stale paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerImage {
    pub info: PeerInfo,
    pub up: bool,
    pub group: Option<GroupId>,
    pub stats: PeerStats,
}

/// An update group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupImage {
    pub id: GroupId,
    pub key: GroupKey,
    pub members: Vec<PeerId>,
}

/// One candidate path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathImage {
    pub peer: PeerId,
    pub path_id: Option<u32>,
    pub local_id: u32,
    pub stale: bool,
    pub labels: LabelStack,
    pub attrs: Arc<PathAttributes>,
}

/// A destination with its candidates, sorted by (peer, path id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationImage {
    pub key: RouteKey,
    /// The last local path id handed out here.
    pub next_local_id: u32,
    pub paths: Vec<PathImage>,
}

/// The replicated state of a RIB.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RibImage {
    pub peers: Vec<PeerImage>,
    pub groups: Vec<GroupImage>,
    pub next_group: u32,
    /// In destination order.
    pub destinations: Vec<DestinationImage>,
    /// The replicated policy and its version, once one was applied.
    pub policy: Option<(u64, Arc<ReplicatedPolicy>)>,
}

impl<R: NextHopResolver> Rib<R> {
    /// The replicated state as plain data (attribute sets shared, not copied).
    pub fn image(&self) -> RibImage {
        let s = &self.state;
        RibImage {
            peers: s
                .peers
                .values()
                .map(|p| PeerImage {
                    info: p.info.clone(),
                    up: p.up,
                    group: p.group,
                    stats: p.stats,
                })
                .collect(),
            groups: s
                .groups
                .iter()
                .map(|(id, g)| GroupImage {
                    id: *id,
                    key: g.key.clone(),
                    members: g.members.iter().copied().collect(),
                })
                .collect(),
            next_group: s.next_group,
            destinations: s
                .loc
                .iter()
                .map(|(key, e)| DestinationImage {
                    key: *key,
                    next_local_id: e.next_local_id(),
                    paths: e
                        .candidates()
                        .iter()
                        .map(|c| PathImage {
                            peer: c.peer,
                            path_id: c.path_id(),
                            local_id: c.local_id,
                            stale: c.stale(),
                            labels: c.labels(),
                            attrs: c.attrs.clone(),
                        })
                        .collect(),
                })
                .collect(),
            policy: s.policy.clone(),
        }
    }

    /// A RIB holding `image`; the decision runs again for every destination.
    /// Paths of peers the image does not have are left out.
    pub fn from_image(mut config: RibConfig, resolver: R, image: RibImage) -> Rib<R> {
        // The replicated policy, not the configuration's.
        if let Some((_, p)) = &image.policy {
            config.policy = p.compiled.clone();
            config.ebgp_requires_policy = p.ebgp_requires_policy;
        }
        let mut rib = Rib::with_resolver(config, resolver);
        let s = &mut rib.state;
        s.policy = image.policy;
        for p in image.peers {
            s.peers.insert(
                p.info.id,
                PeerState {
                    info: p.info,
                    up: p.up,
                    group: p.group,
                    paths: 0,
                    stats: p.stats,
                },
            );
        }
        for g in image.groups {
            s.group_ids.insert(g.key.clone(), g.id);
            s.groups.insert(
                g.id,
                UpdateGroup {
                    key: g.key,
                    members: g.members.into_iter().collect(),
                },
            );
        }
        s.next_group = image.next_group;
        for d in image.destinations {
            let mut entry = Entry::default();
            for p in d.paths {
                let Some(peer) = s.peers.get_mut(&p.peer) else {
                    continue;
                };
                peer.paths += 1;
                entry.restore(Candidate::restored(
                    p.peer, p.path_id, p.local_id, p.stale, p.labels, p.attrs,
                ));
            }
            if entry.is_empty() {
                continue;
            }
            entry.set_next_local_id(d.next_local_id);
            s.loc.get_or_insert_with(d.key, || entry);
        }
        rib.refresh_cluster_ids();
        rib.decide_all();
        rib
    }
}
