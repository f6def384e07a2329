//! What the storage tests share: a RIB configuration and an iBGP
//! route-reflector client. Each test crate that includes it uses only
//! part of it.
#![allow(dead_code)]

use speaker::rib::{NextHopSelf, PeerId, PeerInfo, RibConfig};
use speaker::wire::Family;
use std::net::{IpAddr, Ipv4Addr};

/// A reflector of AS 65000 whose router id and cluster id are 198.18.0.1.
pub fn config() -> RibConfig {
    RibConfig {
        local_as: 65000,
        router_id: Ipv4Addr::new(198, 18, 0, 1),
        cluster_id: Ipv4Addr::new(198, 18, 0, 1),
        decision: Default::default(),
        policy: Default::default(),
        ebgp_requires_policy: false,
    }
}

/// An IPv4 route-reflector client numbered `id`, at 198.18.1.`id`.
pub fn client(id: u32) -> PeerInfo {
    let address = Ipv4Addr::new(198, 18, 1, id as u8);
    PeerInfo {
        id: PeerId(id),
        address: IpAddr::V4(address),
        asn: 65000,
        router_id: address,
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
