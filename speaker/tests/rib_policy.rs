//! Import route-maps (the session's [`ImportFilter`], before the RIB) and
//! export route-maps (the RIB's update groups), and RFC 8212's default for
//! eBGP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/rib_util.rs"]
mod util;

use speaker::policy::community_list::{EntryDef, Values};
use speaker::policy::{
    Action, CommunityKind, ImportFilter, Match, MatchDef, MedSet, NextHopSet, Policy, PolicyDef,
    PrefixListEntry, Set,
};
use speaker::rib::{PeerId, PeerInfo, Rib, RibCommand, RibConfig, RouteKey};
use speaker::wire::attr::AttrValue;
use speaker::wire::{Family, NlriEntry};
use std::net::Ipv4Addr;
use std::sync::Arc;
use util::*;

const C1: u32 = 1;
const C2: u32 = 2;
const E1: u32 = 5;
const E2: u32 = 6;

/// CUSTOMERS: 198.51.100.0/22 le 24. IN: customers get local-pref 200,
/// the rest 50. OUT_E: no customer routes, MED 7 on the rest. OUT_I:
/// next-hop self, and 64496:9 denied.
fn policy() -> Arc<Policy> {
    let mut d = PolicyDef::default();
    d.prefix_lists.insert(
        "CUSTOMERS".into(),
        vec![PrefixListEntry {
            seq: 5,
            action: Action::Permit,
            prefix: prefix("198.51.100.0/22"),
            ge: None,
            le: Some(24),
        }],
    );
    d.community_lists.insert(
        "NINE".into(),
        (
            CommunityKind::Standard,
            vec![(
                Action::Permit,
                EntryDef::Values(Values::Standard(vec![speaker::wire::attr::Community(
                    (64496 << 16) | 9,
                )])),
            )],
        ),
    );
    let customers = || MatchDef::PrefixList("CUSTOMERS".into());
    d.route_maps.insert(
        "IN".into(),
        vec![
            entry(
                10,
                Action::Permit,
                vec![customers()],
                vec![Set::LocalPref(200)],
            ),
            entry(20, Action::Permit, vec![], vec![Set::LocalPref(50)]),
        ],
    );
    d.route_maps.insert(
        "OUT_E".into(),
        vec![
            entry(10, Action::Deny, vec![customers()], vec![]),
            entry(20, Action::Permit, vec![], vec![Set::Med(MedSet::Value(7))]),
        ],
    );
    d.route_maps.insert(
        "OUT_I".into(),
        vec![
            entry(
                10,
                Action::Deny,
                vec![MatchDef::Community {
                    list: "NINE".into(),
                    exact: false,
                }],
                vec![],
            ),
            entry(
                20,
                Action::Permit,
                vec![],
                vec![Set::NextHop(NextHopSet::SelfAddress)],
            ),
        ],
    );
    d.route_maps.insert(
        "OUT_P".into(),
        vec![entry(
            10,
            Action::Permit,
            vec![],
            vec![
                Set::Prepend(speaker::policy::Prepend::Asns(vec![65111])),
                Set::NextHop(NextHopSet::Unchanged),
                Set::LocalPref(999),
            ],
        )],
    );
    // Export maps that match the local preference, and that set an
    // address as the next hop.
    d.route_maps.insert(
        "OUT_LP".into(),
        vec![
            entry(
                10,
                Action::Permit,
                vec![MatchDef::Plain(Match::LocalPref(150..=150))],
                vec![Set::Med(MedSet::Value(20))],
            ),
            entry(20, Action::Permit, vec![], vec![]),
        ],
    );
    d.route_maps.insert(
        "OUT_NH".into(),
        vec![entry(
            10,
            Action::Permit,
            vec![],
            vec![Set::NextHop(NextHopSet::Address(NH_SET.into()))],
        )],
    );
    // Import that prepends our own AS (to make paths less preferred).
    d.route_maps.insert(
        "IN_OWN".into(),
        vec![entry(
            10,
            Action::Permit,
            vec![],
            vec![Set::Prepend(speaker::policy::Prepend::Own(1))],
        )],
    );
    Arc::new(Policy::compile(&d).unwrap())
}

const NH_SET: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 77);

fn rib_with(requires: bool) -> Rib {
    Rib::new(RibConfig {
        policy: policy(),
        ebgp_requires_policy: requires,
        ..config()
    })
}

fn with(mut p: PeerInfo, import: Option<&str>, export: Option<&str>) -> PeerInfo {
    p.import = import.map(String::from);
    p.export = export.map(String::from);
    p
}

fn up(rib: &mut Rib, p: PeerInfo) {
    rib.apply(RibCommand::PeerUp(p));
}

/// The filter a session of `p` runs (LOCAL_AS 65000).
fn filter(policy: &Policy, p: &PeerInfo, requires: bool) -> ImportFilter {
    let map = p
        .import
        .as_deref()
        .and_then(|n| policy.route_map(n))
        .cloned();
    ImportFilter::new(map, p.asn != LOCAL_AS, requires, p.address, LOCAL_AS)
}

/// `cmd` through `f`, then into the RIB; the paths denied.
fn import(rib: &mut Rib, f: &mut ImportFilter, cmd: RibCommand) -> usize {
    let (cmd, denied) = f.filter(cmd);
    rib.apply(cmd);
    denied
}

fn key(p: &str) -> RouteKey {
    RouteKey::of(Family::IPV4_UNICAST, &NlriEntry::plain(prefix(p)))
}

fn ebgp_path(asn: u32) -> Arc<speaker::wire::PathAttributes> {
    attrs(&[asn, 64999], [198, 18, 1, 5], vec![])
}

#[test]
fn rfc8212_an_ebgp_peer_without_policy_exchanges_nothing() {
    let pol = policy();
    let mut rib = rib_with(true);
    up(&mut rib, client(C1));
    let e1 = ebgp(E1, 65001);
    up(&mut rib, e1.clone());
    let mut f = filter(&pol, &e1, true);
    let denied = import(
        &mut rib,
        &mut f,
        announce(
            E1,
            &["203.0.113.0/24", "198.51.100.0/24"],
            &ebgp_path(65001),
        ),
    );
    assert_eq!(denied, 2);
    assert!(rib.best(&key("203.0.113.0/24")).is_none());
    // Nor is it sent anything: a client's route stays inside.
    rib.apply(announce(
        C1,
        &["192.0.2.0/24"],
        &attrs(&[], [198, 18, 1, 1], vec![]),
    ));
    assert!(sent(&rib, C1, "192.0.2.0/24").is_none());
    assert!(sent(&rib, E1, "192.0.2.0/24").is_none());
    // Without the RFC 8212 default, both flow.
    let mut open = rib_with(false);
    up(&mut open, client(C1));
    up(&mut open, e1.clone());
    let mut f = filter(&pol, &e1, false);
    assert!(f.is_open());
    let denied = import(
        &mut open,
        &mut f,
        announce(E1, &["203.0.113.0/24"], &ebgp_path(65001)),
    );
    assert_eq!(denied, 0);
    assert!(open.best(&key("203.0.113.0/24")).is_some());
    open.apply(announce(
        C1,
        &["192.0.2.0/24"],
        &attrs(&[], [198, 18, 1, 1], vec![]),
    ));
    assert!(sent(&open, E1, "192.0.2.0/24").is_some());
}

/// Issue 23: the AS-path loop check reads the path the neighbour sent,
/// before import policy (as FRR, BIRD and IOS do); our AS prepended by
/// the import map is not a loop.
#[test]
fn as_loops_are_checked_before_the_import_map() {
    let pol = policy();
    let mut rib = rib_with(true);
    up(&mut rib, client(C1));
    let e1 = with(ebgp(E1, 65001), Some("IN_OWN"), None);
    up(&mut rib, e1.clone());
    let mut f = filter(&pol, &e1, true);
    // Kept, with our AS in front of it.
    let denied = import(
        &mut rib,
        &mut f,
        announce(E1, &["203.0.113.0/24"], &ebgp_path(65001)),
    );
    assert_eq!((denied, f.as_loops()), (0, 0));
    let best = rib.best(&key("203.0.113.0/24")).expect("kept");
    assert_eq!(
        best.attrs.as_path().unwrap().to_string(),
        format!("{LOCAL_AS} 65001 64999")
    );
    // Sent with our AS: dropped before the map, and it withdraws the
    // path the neighbour had sent before.
    let looped = attrs(&[65001, LOCAL_AS, 64999], [198, 18, 1, 5], vec![]);
    let denied = import(
        &mut rib,
        &mut f,
        announce(E1, &["203.0.113.0/24", "198.51.100.0/24"], &looped),
    );
    assert_eq!((denied, f.as_loops()), (0, 2));
    assert!(rib.best(&key("203.0.113.0/24")).is_none());
    assert!(rib.best(&key("198.51.100.0/24")).is_none());
    // An iBGP neighbour's paths hold our AS legitimately (it is ours).
    let mut fi = filter(&pol, &client(C1), true);
    import(
        &mut rib,
        &mut fi,
        announce(
            C1,
            &["192.0.2.0/24"],
            &attrs(&[LOCAL_AS], [198, 18, 1, 1], vec![]),
        ),
    );
    assert_eq!(fi.as_loops(), 0);
    assert!(rib.best(&key("192.0.2.0/24")).is_some());
}

#[test]
fn import_route_map_sets_and_results_are_shared() {
    let pol = policy();
    let mut rib = rib_with(true);
    up(&mut rib, client(C1));
    let e1 = with(ebgp(E1, 65001), Some("IN"), None);
    up(&mut rib, e1.clone());
    let mut f = filter(&pol, &e1, true);
    let a = ebgp_path(65001);
    import(
        &mut rib,
        &mut f,
        announce(
            E1,
            &["198.51.100.0/24", "198.51.101.0/24", "203.0.113.0/24"],
            &a,
        ),
    );
    let lp = |p: &str| rib.best(&key(p)).unwrap().attrs.local_pref().copied();
    assert_eq!(lp("198.51.100.0/24"), Some(200));
    assert_eq!(lp("203.0.113.0/24"), Some(50));
    // Equal results are one attribute set, also across UPDATEs.
    import(&mut rib, &mut f, announce(E1, &["198.51.102.0/24"], &a));
    let x = rib.best(&key("198.51.100.0/24")).unwrap().attrs.clone();
    let y = rib.best(&key("198.51.101.0/24")).unwrap().attrs.clone();
    let z = rib.best(&key("198.51.102.0/24")).unwrap().attrs.clone();
    assert!(Arc::ptr_eq(&x, &y) && Arc::ptr_eq(&x, &z));
    // The client is sent the route with the local preference import set.
    assert_eq!(
        sent(&rib, C1, "198.51.100.0/24").unwrap().local_pref(),
        Some(&200)
    );
}

#[test]
fn export_route_maps_per_group() {
    let mut rib = rib_with(true);
    up(&mut rib, client(C1));
    up(&mut rib, with(client(C2), None, Some("OUT_I")));
    up(&mut rib, with(ebgp(E1, 65001), Some("IN"), Some("OUT_E")));
    up(&mut rib, with(ebgp(E2, 65002), Some("IN"), None));
    // Different export policies: different groups.
    assert_ne!(rib.group_of(PeerId(C1)), rib.group_of(PeerId(C2)));
    let nine = speaker::wire::attr::Community((64496 << 16) | 9);
    let plain = attrs(&[], [198, 18, 1, 1], vec![]);
    let tagged = attrs(
        &[],
        [198, 18, 1, 1],
        vec![AttrValue::Communities(vec![nine])],
    );
    rib.apply(announce(C1, &["198.51.100.0/24", "203.0.113.0/24"], &plain));
    rib.apply(announce(C1, &["192.0.2.0/24"], &tagged));
    // OUT_E: customers denied, the rest with MED 7 (and our AS, next hop).
    assert!(sent(&rib, E1, "198.51.100.0/24").is_none());
    let to_e1 = sent(&rib, E1, "203.0.113.0/24").unwrap();
    assert_eq!(to_e1.med(), Some(&7));
    assert_eq!(to_e1.next_hop(), Some(&NH_SELF));
    assert_eq!(to_e1.as_path().unwrap().to_string(), "65000");
    // E2 has no export policy: RFC 8212, nothing.
    assert!(sent(&rib, E2, "203.0.113.0/24").is_none());
    // OUT_I: next hop self towards an iBGP client; 64496:9 denied.
    let to_c2 = sent(&rib, C2, "203.0.113.0/24").unwrap();
    assert_eq!(to_c2.next_hop(), Some(&NH_SELF));
    assert!(sent(&rib, C2, "192.0.2.0/24").is_none());
    // C1 has no export policy and is iBGP: reflected as usual (but not to
    // its own sender); C2's routes reach it with their next hop.
    rib.apply(announce(
        C2,
        &["198.18.200.0/24"],
        &attrs(&[], [198, 18, 1, 2], vec![]),
    ));
    assert_eq!(
        sent(&rib, C1, "198.18.200.0/24").unwrap().next_hop(),
        Some(&Ipv4Addr::new(198, 18, 1, 2))
    );
    // A withdrawal of a denied route sends nothing; of a sent one, a
    // withdrawal.
    let out = rib.apply(withdraw(C1, &["203.0.113.0/24"]));
    assert!(sent(&rib, E1, "203.0.113.0/24").is_none());
    assert!(
        out.groups
            .iter()
            .any(|g| g.changes.iter().any(|c| c.attrs.is_none()))
    );
}

#[test]
fn a_denied_reannouncement_removes_the_accepted_path() {
    let pol = policy();
    let mut rib = rib_with(true);
    up(&mut rib, client(C1));
    let c2 = with(client(C2), Some("OUT_I"), None);
    up(&mut rib, c2.clone());
    let mut f = filter(&pol, &c2, true);
    let plain = attrs(&[], [198, 18, 1, 2], vec![]);
    import(&mut rib, &mut f, announce(C2, &["203.0.113.0/24"], &plain));
    assert!(rib.best(&key("203.0.113.0/24")).is_some());
    let nine = speaker::wire::attr::Community((64496 << 16) | 9);
    let tagged = attrs(
        &[],
        [198, 18, 1, 2],
        vec![AttrValue::Communities(vec![nine])],
    );
    let denied = import(&mut rib, &mut f, announce(C2, &["203.0.113.0/24"], &tagged));
    assert_eq!(denied, 1);
    assert!(rib.best(&key("203.0.113.0/24")).is_none());
    assert!(sent(&rib, C1, "203.0.113.0/24").is_none());
}

#[test]
fn towards_ebgp_our_as_comes_first_and_next_hop_unchanged_keeps_it() {
    let mut rib = rib_with(true);
    up(&mut rib, client(C1));
    up(&mut rib, with(ebgp(E1, 65001), None, Some("OUT_P")));
    rib.apply(announce(
        C1,
        &["203.0.113.0/24"],
        &attrs(&[64500], [198, 18, 1, 1], vec![]),
    ));
    let a = sent(&rib, E1, "203.0.113.0/24").unwrap();
    // FRR's order: the map's prepend, then ours in front at the border.
    assert_eq!(a.as_path().unwrap().to_string(), "65000 65111 64500");
    assert_eq!(a.next_hop(), Some(&Ipv4Addr::new(198, 18, 1, 1)));
    // RFC 4271 §5.1.5: no LOCAL_PREF to eBGP, even one a map set.
    assert_eq!(a.local_pref(), None);
}

#[test]
fn weight_set_on_import_decides_first_and_never_leaves() {
    let mut d = PolicyDef::default();
    d.route_maps.insert(
        "HEAVY".into(),
        vec![entry(10, Action::Permit, vec![], vec![Set::Weight(100)])],
    );
    d.route_maps.insert(
        "PLAIN".into(),
        vec![entry(
            10,
            Action::Permit,
            vec![],
            vec![Set::LocalPref(500), Set::Weight(0)],
        )],
    );
    let pol = Arc::new(Policy::compile(&d).unwrap());
    let mut rib = Rib::new(RibConfig {
        policy: pol.clone(),
        ebgp_requires_policy: true,
        ..config()
    });
    up(&mut rib, client(C1));
    let heavy = with(ebgp(E1, 65001), Some("HEAVY"), None);
    let plain = with(ebgp(E2, 65002), Some("PLAIN"), None);
    up(&mut rib, heavy.clone());
    up(&mut rib, plain.clone());
    // PLAIN's path has the higher LOCAL_PREF; HEAVY's the higher weight.
    let mut f = filter(&pol, &plain, true);
    import(
        &mut rib,
        &mut f,
        announce(E2, &["203.0.113.0/24"], &ebgp_path(65002)),
    );
    let mut f = filter(&pol, &heavy, true);
    // A weight a peer sends in our place is not taken.
    let mut forged = (*ebgp_path(65001)).clone();
    forged.set_weight(1_000_000);
    import(
        &mut rib,
        &mut f,
        announce(E1, &["203.0.113.0/24"], &Arc::new(forged)),
    );
    let best = rib.best(&key("203.0.113.0/24")).unwrap();
    assert_eq!(best.peer, PeerId(E1));
    assert_eq!(best.attrs.weight(), Some(100));
    assert_eq!(
        rib.explain(&key("203.0.113.0/24")),
        Some(speaker::rib::DecisionStep::Weight)
    );
    // The client is sent the path without it.
    let to_c1 = sent(&rib, C1, "203.0.113.0/24").unwrap();
    assert_eq!(to_c1.weight(), None);
    assert!(!to_c1.has(speaker::wire::attr::type_code::LOCAL_WEIGHT));
    // Without a map a forged weight goes too (iBGP: everything accepted).
    let mut open = ImportFilter::new(None, false, true, client(C1).address, LOCAL_AS);
    let mut forged = (*attrs(&[], [198, 18, 1, 1], vec![])).clone();
    forged.set_weight(7);
    let (cmd, _) = open.filter(announce(C1, &["192.0.2.0/24"], &Arc::new(forged)));
    let RibCommand::Routes { announced, .. } = cmd else {
        panic!()
    };
    assert_eq!(announced[0].2.weight(), None);
}

#[test]
fn an_export_map_towards_ebgp_matches_the_local_preference_it_does_not_send() {
    let mut rib = rib_with(true);
    up(&mut rib, client(C1));
    up(&mut rib, with(ebgp(E1, 65001), None, Some("OUT_LP")));
    let lp = |v: u32| attrs(&[64500], [198, 18, 1, 1], vec![AttrValue::LocalPref(v)]);
    rib.apply(announce(C1, &["203.0.113.0/24"], &lp(150)));
    rib.apply(announce(C1, &["192.0.2.0/24"], &lp(100)));
    // The route's LOCAL_PREF is what the map sees (as FRR's does)...
    let a = sent(&rib, E1, "203.0.113.0/24").unwrap();
    assert_eq!(a.med(), Some(&20));
    let b = sent(&rib, E1, "192.0.2.0/24").unwrap();
    assert_eq!(b.med(), None);
    // ...and it still does not cross the border (RFC 4271 §5.1.5).
    assert_eq!(a.local_pref(), None);
    assert_eq!(b.local_pref(), None);
}

#[test]
fn an_export_map_next_hop_address_stands_towards_ebgp() {
    let mut rib = rib_with(true);
    up(&mut rib, client(C1));
    up(&mut rib, with(ebgp(E1, 65001), None, Some("OUT_NH")));
    up(&mut rib, with(client(C2), None, Some("OUT_NH")));
    rib.apply(announce(
        C1,
        &["203.0.113.0/24"],
        &attrs(&[64500], [198, 18, 1, 1], vec![]),
    ));
    // Configured, so not replaced by our address (RFC 4271 §5.1.3 makes
    // that the default only); our AS is still prepended.
    let a = sent(&rib, E1, "203.0.113.0/24").unwrap();
    assert_eq!(a.next_hop(), Some(&NH_SET));
    assert_eq!(a.as_path().unwrap().to_string(), "65000 64500");
    // The same towards iBGP.
    let c = sent(&rib, C2, "203.0.113.0/24").unwrap();
    assert_eq!(c.next_hop(), Some(&NH_SET));
}
