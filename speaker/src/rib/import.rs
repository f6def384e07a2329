//! Import checks on received paths: loops that make a path unusable
//! (RFC 4456 §8). The AS-path loop check (RFC 4271 §9.1.2) is the
//! session's, before import policy ([`crate::policy::ImportFilter`]): an
//! AS that import policy prepends is not a loop, so the path that
//! reaches the RIB may hold our AS.
//! A path that fails them is not kept, and acts as a withdrawal of the
//! peer's previous path for the destination (RFC 4271 §9: the new
//! advertisement replaces the old one).

use super::peer::{PeerInfo, PeerStats};
use crate::wire::PathAttributes;
use std::net::Ipv4Addr;

/// Why a received path was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportDrop {
    /// RFC 4456 §8: ORIGINATOR_ID is our router id: our own route came back.
    OriginatorIsUs,
    /// RFC 4456 §8: CLUSTER_LIST holds one of our cluster ids.
    ClusterLoop,
}

impl ImportDrop {
    pub fn count(self, stats: &mut PeerStats) {
        match self {
            ImportDrop::OriginatorIsUs => stats.originator_loop += 1,
            ImportDrop::ClusterLoop => stats.cluster_loop += 1,
        }
    }
}

/// Our identity as the checks need it.
pub struct Local<'a> {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    /// Every cluster id in use (sorted): with a cluster id per neighbour
    /// group, a path carrying any of them has passed through us.
    pub cluster_ids: &'a [Ipv4Addr],
}

/// Checks a path from `peer`.
pub fn check(attrs: &PathAttributes, peer: &PeerInfo, local: &Local<'_>) -> Result<(), ImportDrop> {
    if peer.asn != local.asn {
        // ORIGINATOR_ID and CLUSTER_LIST only mean something inside the AS
        // (RFC 4456 §8); they are stripped on the way out to eBGP.
        return Ok(());
    }
    if attrs.originator_id() == Some(&local.router_id) {
        return Err(ImportDrop::OriginatorIsUs);
    }
    if let Some(list) = attrs.cluster_list()
        && list
            .iter()
            .any(|c| local.cluster_ids.binary_search(c).is_ok())
    {
        return Err(ImportDrop::ClusterLoop);
    }
    Ok(())
}
