//! A border's RIB: next-hop reachability in the decision process
//! (RFC 4271 §9.1.2.1) with `RibCommand::Reresolve`, and the equal paths
//! forwarded over together (ECMP).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/rib_util.rs"]
mod util;

use speaker::rib::{NextHopResolver, PeerId, Resolver, Rib, RibCommand, RouteKey};
use speaker::wire::attr::AttrValue;
use speaker::wire::{Family, NlriEntry};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use util::*;

/// Next hops reachable at cost 0: a stand-in for the kernel's table that
/// the test changes.
#[derive(Default)]
struct Reachable(RwLock<BTreeSet<IpAddr>>);

impl NextHopResolver for Reachable {
    fn igp_cost(&self, _: Family, nh: IpAddr) -> Option<u32> {
        self.0.read().unwrap().contains(&nh).then_some(0)
    }
}

fn key(p: &str) -> RouteKey {
    RouteKey::of(Family::IPV4_UNICAST, &NlriEntry::plain(prefix(p)))
}

fn border(multipath: u16) -> (Rib, Arc<Reachable>) {
    let table = Arc::new(Reachable::default());
    let mut c = config();
    c.decision.multipath = multipath;
    (Rib::with_resolver(c, Resolver::Table(table.clone())), table)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_path_whose_next_hop_does_not_resolve_is_not_best_until_it_does() {
    let (mut rib, table) = border(1);
    table.0.write().unwrap().insert(ip("198.18.1.1"));
    table.0.write().unwrap().insert(ip("198.18.2.1"));
    rib.apply(RibCommand::PeerUp(ebgp(1, 65010)));
    rib.apply(RibCommand::PeerUp(ebgp(2, 65020)));
    // Peer 1's path is preferred (LOCAL_PREF) while it resolves.
    let high = attrs(&[65010], [198, 18, 1, 1], vec![AttrValue::LocalPref(200)]);
    let low = attrs(&[65020], [198, 18, 2, 1], vec![AttrValue::LocalPref(100)]);
    rib.apply(announce(1, &["203.0.113.0/24"], &high));
    rib.apply(announce(2, &["203.0.113.0/24"], &low));
    let best = |rib: &Rib| rib.best(&key("203.0.113.0/24")).map(|c| c.peer);
    assert_eq!(best(&rib), Some(PeerId(1)));
    // Its next hop goes: nothing changes until the RIB is told where.
    table.0.write().unwrap().remove(&ip("198.18.1.1"));
    let unrelated = rib.apply(RibCommand::Reresolve {
        prefixes: vec![prefix("198.18.9.0/24")],
    });
    assert!(unrelated.loc_rib.is_empty());
    let out = rib.apply(RibCommand::Reresolve {
        prefixes: vec![prefix("198.18.1.0/24")],
    });
    assert_eq!(out.loc_rib.len(), 1);
    assert_eq!(out.loc_rib[0].best.as_ref().unwrap().peer, PeerId(2));
    assert_eq!(best(&rib), Some(PeerId(2)));
    // Neither resolves: no best path at all.
    table.0.write().unwrap().clear();
    let out = rib.apply(RibCommand::Reresolve {
        prefixes: vec![prefix("198.18.0.0/16")],
    });
    assert_eq!(out.loc_rib[0].best, None);
    assert_eq!(rib.loc_rib_len(), 0);
    // Back: the preferred one again.
    table.0.write().unwrap().insert(ip("198.18.1.1"));
    let out = rib.apply(RibCommand::Reresolve {
        prefixes: vec![prefix("198.18.1.1/32")],
    });
    assert_eq!(out.loc_rib[0].best.as_ref().unwrap().peer, PeerId(1));
}

#[test]
fn equal_paths_are_forwarded_over_together_and_their_change_is_a_loc_rib_change() {
    let (mut rib, table) = border(4);
    for nh in ["198.18.1.1", "198.18.2.1", "198.18.3.1"] {
        table.0.write().unwrap().insert(ip(nh));
    }
    for id in 1..=3 {
        rib.apply(RibCommand::PeerUp(ebgp(id, 65010)));
    }
    let via = |n: u8| attrs(&[65010], [198, 18, n, 1], vec![]);
    rib.apply(announce(1, &["203.0.113.0/24"], &via(1)));
    // An equal path: the best stays, the forwarding set grows, and that is
    // a change for the FIB.
    let out = rib.apply(announce(2, &["203.0.113.0/24"], &via(2)));
    assert_eq!(out.loc_rib.len(), 1);
    let hops = |rib: &Rib| -> Vec<u32> {
        rib.forwarding_paths(&key("203.0.113.0/24"))
            .iter()
            .map(|c| c.peer.0)
            .collect()
    };
    assert_eq!(hops(&rib), vec![1, 2]);
    // A longer AS path is not equal.
    rib.apply(announce(
        3,
        &["203.0.113.0/24"],
        &attrs(&[65010, 65010], [198, 18, 3, 1], vec![]),
    ));
    assert_eq!(hops(&rib), vec![1, 2]);
    // An unreachable one leaves the set.
    table.0.write().unwrap().remove(&ip("198.18.2.1"));
    let out = rib.apply(RibCommand::Reresolve {
        prefixes: vec![prefix("198.18.2.0/24")],
    });
    assert_eq!(out.loc_rib.len(), 1);
    assert_eq!(hops(&rib), vec![1]);
    // Without multipath, the best only.
    let (mut single, table) = border(1);
    table.0.write().unwrap().insert(ip("198.18.1.1"));
    table.0.write().unwrap().insert(ip("198.18.2.1"));
    single.apply(RibCommand::PeerUp(ebgp(1, 65010)));
    single.apply(RibCommand::PeerUp(ebgp(2, 65010)));
    single.apply(announce(1, &["203.0.113.0/24"], &via(1)));
    assert!(
        single
            .apply(announce(2, &["203.0.113.0/24"], &via(2)))
            .loc_rib
            .is_empty()
    );
    assert_eq!(single.forwarding_paths(&key("203.0.113.0/24")).len(), 1);
}
