//! Peers and a RIB for the unit tests of this crate and the node's (the
//! update-group dispatch and the paged tables test against the same
//! ones). Not part of the API.

use crate::rib::{DecisionConfig, NextHopSelf, PeerId, PeerInfo, Rib, RibConfig};
use crate::wire::Family;
use std::net::{IpAddr, Ipv4Addr};

/// A route-reflector client numbered `id`: address and router id
/// 198.18.0.`id`, AS 65000, IPv4 unicast.
pub fn client(id: u8) -> PeerInfo {
    PeerInfo {
        id: PeerId(u32::from(id)),
        address: IpAddr::V4(Ipv4Addr::new(198, 18, 0, id)),
        asn: 65000,
        router_id: Ipv4Addr::new(198, 18, 0, id),
        rr_client: true,
        cluster_id: None,
        families: vec![Family::IPV4_UNICAST],
        add_path_send: vec![],
        four_octet_as: true,
        next_hop_self: NextHopSelf::default(),
        import: None,
        export: None,
        long_lived: false,
    }
}

/// A reflector's RIB in AS 65000, router and cluster id 198.18.0.254.
pub fn rib() -> Rib {
    Rib::new(RibConfig {
        local_as: 65000,
        router_id: Ipv4Addr::new(198, 18, 0, 254),
        cluster_id: Ipv4Addr::new(198, 18, 0, 254),
        decision: DecisionConfig::default(),
        policy: Default::default(),
        ebgp_requires_policy: false,
    })
}
