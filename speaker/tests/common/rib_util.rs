//! Helpers shared by the RIB tests: peers, attribute sets, commands.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use speaker::rib::{NextHopSelf, PeerId, PeerInfo, Rib, RibCommand, RibConfig};
use speaker::wire::attr::{AsPath, AttrValue, Community, Origin, PathAttribute};
use speaker::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

pub const LOCAL_AS: u32 = 65000;
pub const ROUTER_ID: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const CLUSTER_ID: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
pub const NH_SELF: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

pub fn config() -> RibConfig {
    RibConfig {
        local_as: LOCAL_AS,
        router_id: ROUTER_ID,
        cluster_id: CLUSTER_ID,
        decision: Default::default(),
        policy: Default::default(),
        ebgp_requires_policy: false,
    }
}

pub fn rib() -> Rib {
    Rib::new(config())
}

/// A peer numbered `id`: address 198.18.1.id, router id 198.19.0.id.
pub fn peer(id: u32, asn: u32, rr_client: bool) -> PeerInfo {
    PeerInfo {
        id: PeerId(id),
        address: IpAddr::V4(Ipv4Addr::new(198, 18, 1, id as u8)),
        asn,
        router_id: router_id(id),
        rr_client,
        cluster_id: None,
        families: vec![Family::IPV4_UNICAST],
        add_path_send: vec![],
        four_octet_as: true,
        next_hop_self: NextHopSelf {
            ipv4: Some(NH_SELF),
            ipv6: None,
        },
        import: None,
        export: None,
        long_lived: false,
    }
}

pub fn router_id(id: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, 0, id as u8)
}

pub fn client(id: u32) -> PeerInfo {
    peer(id, LOCAL_AS, true)
}
pub fn non_client(id: u32) -> PeerInfo {
    peer(id, LOCAL_AS, false)
}
pub fn ebgp(id: u32, asn: u32) -> PeerInfo {
    peer(id, asn, false)
}

pub fn prefix(s: &str) -> Prefix {
    s.parse().unwrap()
}

/// ORIGIN IGP, AS_PATH, NEXT_HOP, then `extra`.
pub fn attrs(path: &[u32], next_hop: [u8; 4], extra: Vec<AttrValue>) -> Arc<PathAttributes> {
    let mut v = vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(path.to_vec()))),
        PathAttribute::new(AttrValue::NextHop(Ipv4Addr::from(next_hop))),
    ];
    v.extend(extra.into_iter().map(PathAttribute::new));
    Arc::new(PathAttributes::new(v))
}

pub fn communities(c: &[Community]) -> AttrValue {
    AttrValue::Communities(c.to_vec())
}

pub fn announce(peer: u32, prefixes: &[&str], a: &Arc<PathAttributes>) -> RibCommand {
    RibCommand::Routes {
        peer: PeerId(peer),
        withdrawn: vec![],
        announced: prefixes
            .iter()
            .map(|p| (Family::IPV4_UNICAST, NlriEntry::plain(prefix(p)), a.clone()))
            .collect(),
    }
}

pub fn withdraw(peer: u32, prefixes: &[&str]) -> RibCommand {
    RibCommand::Routes {
        peer: PeerId(peer),
        withdrawn: prefixes
            .iter()
            .map(|p| (Family::IPV4_UNICAST, NlriEntry::plain(prefix(p))))
            .collect(),
        announced: vec![],
    }
}

/// What `peer` is sent for a prefix (IPv4 unicast, no ADD-PATH).
pub fn sent(rib: &Rib, peer: u32, p: &str) -> Option<Arc<PathAttributes>> {
    let p = prefix(p);
    rib.adj_rib_out_for(PeerId(peer))
        .find(|(_, e, _)| e.prefix == p)
        .map(|(_, _, a)| a.clone())
}

/// A route-map entry of plain matches and sets, exiting on a match.
pub fn entry(
    seq: u32,
    action: speaker::policy::Action,
    matches: Vec<speaker::policy::MatchDef>,
    sets: Vec<speaker::policy::Set>,
) -> speaker::policy::RouteMapEntryDef {
    speaker::policy::RouteMapEntryDef {
        seq,
        action,
        matches,
        sets: sets
            .into_iter()
            .map(speaker::policy::SetDef::Plain)
            .collect(),
        on_match: speaker::policy::OnMatch::Exit,
    }
}
