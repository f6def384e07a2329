//! What the RIB knows of a peer: the static facts of its session, fixed
//! when it comes up, and the counters of what import dropped.

use crate::fsm::Negotiated;
use crate::wire::Family;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A peer as the caller numbers it. The numbering must be the same on every
/// member replaying the same commands (e.g. the neighbour's index in the
/// configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u32);

/// Our own addresses used as NEXT_HOP towards an eBGP peer (next-hop-self),
/// one per address family of next hop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHopSelf {
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
}

/// The static facts of an established session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    pub id: PeerId,
    /// The peer's session address: the last tie-break (RFC 4456 §9).
    pub address: IpAddr,
    pub asn: u32,
    /// The peer's BGP identifier.
    pub router_id: Ipv4Addr,
    /// A route-reflector client (RFC 4456 §2); meaningless for eBGP peers.
    pub rr_client: bool,
    /// The CLUSTER_ID used towards this peer's group; `None` means the
    /// RIB-wide one ([`super::RibConfig::cluster_id`]).
    pub cluster_id: Option<Ipv4Addr>,
    /// Negotiated families, in any order (sorted when grouped).
    pub families: Vec<Family>,
    /// Families in which we send path identifiers (RFC 7911).
    pub add_path_send: Vec<Family>,
    /// RFC 6793: the session carries 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Our addresses for next-hop-self towards this peer (eBGP, or a
    /// route-map's `next-hop self`).
    pub next_hop_self: NextHopSelf,
    /// Route-map names ([`super::RibConfig::policy`]). `import`: the one
    /// the session that owns the peer applied before the log (recorded
    /// with the peer; the RIB does not run it). `export`: what the peer is
    /// sent; RFC 8212: none towards eBGP sends nothing.
    pub import: Option<String>,
    pub export: Option<String>,
    /// Both sides announced long-lived graceful restart (RFC 9494 §4.5):
    /// the peer may be sent routes carrying LLGR_STALE.
    pub long_lived: bool,
}

impl PeerInfo {
    /// The facts a negotiated session gives; the rest comes from configuration.
    pub fn from_negotiated(
        id: PeerId,
        address: IpAddr,
        negotiated: &Negotiated,
        rr_client: bool,
        next_hop_self: NextHopSelf,
    ) -> PeerInfo {
        PeerInfo {
            id,
            address,
            asn: negotiated.peer_as,
            router_id: negotiated.peer_id,
            rr_client,
            cluster_id: None,
            families: negotiated.families.clone(),
            add_path_send: negotiated.add_path_send.clone(),
            four_octet_as: negotiated.four_octet_as,
            next_hop_self,
            import: None,
            export: None,
            long_lived: negotiated.long_lived,
        }
    }
}

/// Routes the RIB's import checks dropped, per reason (RFC 4456 §8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// ORIGINATOR_ID equal to our router id.
    pub originator_loop: u64,
    /// CLUSTER_LIST holding one of our cluster ids.
    pub cluster_loop: u64,
}

impl PeerStats {
    pub fn total(&self) -> u64 {
        self.originator_loop + self.cluster_loop
    }
}
