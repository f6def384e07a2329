//! Update groups: peers with the same outbound treatment share one
//! Adj-RIB-Out, so each change is computed (and later encoded) once per
//! group instead of once per peer.

use super::loc_rib::RouteKey;
use super::peer::{NextHopSelf, PeerId, PeerInfo};
use crate::wire::nlri::LabelStack;
use crate::wire::{Family, NlriEntry, PathAttributes};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// An update group, numbered in order of creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u32);

/// Everything that decides what a peer is sent and how it is encoded.
/// Fields that do not matter for a kind of peer are normalised, so that
/// such peers still share a group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    pub ebgp: bool,
    /// iBGP only.
    pub rr_client: bool,
    /// iBGP only: the CLUSTER_ID prepended when reflecting to this group.
    pub cluster_id: Option<Ipv4Addr>,
    /// eBGP, or with an export route-map.
    pub next_hop_self: NextHopSelf,
    /// Sorted, deduplicated.
    pub families: Vec<Family>,
    /// Sorted, deduplicated.
    pub add_path_send: Vec<Family>,
    pub four_octet_as: bool,
    /// The export route-map's name: peers with different policies do not
    /// share a group.
    pub export: Option<String>,
    /// RFC 9494 §4.5: the group may be sent LLGR_STALE routes.
    pub long_lived: bool,
}

fn sorted(v: &[Family]) -> Vec<Family> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

impl GroupKey {
    pub fn of(peer: &PeerInfo, local_as: u32, default_cluster_id: Ipv4Addr) -> GroupKey {
        let ebgp = peer.asn != local_as;
        GroupKey {
            ebgp,
            rr_client: !ebgp && peer.rr_client,
            cluster_id: (!ebgp).then(|| peer.cluster_id.unwrap_or(default_cluster_id)),
            // Our addresses matter towards eBGP, and to a route-map that
            // may set `next-hop self`.
            next_hop_self: if ebgp || peer.export.is_some() {
                peer.next_hop_self
            } else {
                NextHopSelf::default()
            },
            families: sorted(&peer.families),
            add_path_send: sorted(&peer.add_path_send),
            four_octet_as: peer.four_octet_as,
            export: peer.export.clone(),
            long_lived: peer.long_lived,
        }
    }

    pub fn has_family(&self, family: Family) -> bool {
        self.families.binary_search(&family).is_ok()
    }

    pub fn add_path(&self, family: Family) -> bool {
        self.add_path_send.binary_search(&family).is_ok()
    }
}

/// A path as advertised to a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutPath {
    pub labels: LabelStack,
    pub attrs: Arc<PathAttributes>,
    /// The peer the path came from: a member that is this peer gets a
    /// withdrawal instead (never send a path back to its sender).
    pub except: PeerId,
}

/// One change of a group's Adj-RIB-Out, in the order to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutChange {
    pub family: Family,
    /// Carries the path id when the group has ADD-PATH for the family.
    pub entry: NlriEntry,
    /// `None`: withdrawn.
    pub attrs: Option<Arc<PathAttributes>>,
    /// The member this change is not for: for an announcement, the peer the
    /// path came from (split horizon); for a withdrawal, the peer that was
    /// never sent the withdrawn path.
    pub except: Option<PeerId>,
    /// For an announcement: whether `except` had been sent the previous path
    /// of this destination, and so needs a withdrawal now.
    pub except_had: bool,
}

/// A group: its treatment and members. Its Adj-RIB-Out is not stored: it
/// is what the propagation rules make of the Loc-RIB
/// ([`super::Rib::group_routes`]), and each command's changes to it are
/// computed from the touched destinations before and after
/// ([`diff`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateGroup {
    pub key: GroupKey,
    pub members: BTreeSet<PeerId>,
}

/// What a group is sent for one destination: `(path id sent, path)`,
/// sorted by path id (0 without ADD-PATH). Inline for the one path sent
/// without ADD-PATH: computed twice per destination and group, a heap
/// allocation each otherwise.
pub type OutPaths = smallvec::SmallVec<[(u32, OutPath); 1]>;

fn same(a: &OutPath, b: &OutPath) -> bool {
    a.except == b.except
        && a.labels == b.labels
        && (Arc::ptr_eq(&a.attrs, &b.attrs) || a.attrs == b.attrs)
}

/// Appends to `changes` what turns `before` into `after` for `key`:
/// withdrawals of the path ids gone, then the paths new or changed.
pub fn diff(
    group: &GroupKey,
    key: RouteKey,
    before: &[(u32, OutPath)],
    after: &[(u32, OutPath)],
    changes: &mut Vec<OutChange>,
) {
    let add_path = group.add_path(key.family);
    let path_id = |id: u32| add_path.then_some(id);
    for (id, old) in before {
        if after.iter().any(|(a, _)| a == id) {
            continue;
        }
        changes.push(OutChange {
            family: key.family,
            entry: key.entry(path_id(*id), old.labels),
            attrs: None,
            except: Some(old.except),
            except_had: false,
        });
    }
    for (id, path) in after {
        let old = before.iter().find(|(b, _)| b == id).map(|(_, p)| p);
        if old.is_some_and(|old| same(old, path)) {
            continue;
        }
        changes.push(OutChange {
            family: key.family,
            entry: key.entry(path_id(*id), path.labels),
            attrs: Some(path.attrs.clone()),
            except: Some(path.except),
            except_had: old.is_some_and(|old| old.except != path.except),
        });
    }
}
