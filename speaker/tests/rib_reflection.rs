//! Propagation and route reflection (RFC 4271 §9.2, RFC 4456 §8): who is
//! sent what, and with which attributes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/rib_util.rs"]
mod util;

use speaker::rib::{PeerId, Rib, RibCommand};
use speaker::wire::attr::{AsPath, AttrFlags, AttrValue, Community, PathAttribute};
use speaker::wire::{Family, NlriEntry, PathAttributes};
use std::net::Ipv4Addr;
use std::sync::Arc;
use util::*;

const C1: u32 = 1;
const C2: u32 = 2;
const N1: u32 = 3;
const N2: u32 = 4;
const E1: u32 = 5;
const E2: u32 = 6;
const ALL: [u32; 6] = [C1, C2, N1, N2, E1, E2];

/// Two clients, two non-clients, two eBGP peers (AS 65001, 65002).
fn topology() -> Rib {
    let mut rib = rib();
    for p in [
        client(C1),
        client(C2),
        non_client(N1),
        non_client(N2),
        ebgp(E1, 65001),
        ebgp(E2, 65002),
    ] {
        let out = rib.apply(RibCommand::PeerUp(p));
        assert_eq!(out.joined.len(), 1);
    }
    // Clients, non-clients and eBGP peers: three groups.
    assert_eq!(rib.groups().count(), 3);
    assert_eq!(rib.group_of(PeerId(C1)), rib.group_of(PeerId(C2)));
    assert_eq!(rib.group_of(PeerId(N1)), rib.group_of(PeerId(N2)));
    assert_eq!(rib.group_of(PeerId(E1)), rib.group_of(PeerId(E2)));
    rib
}

fn receivers(rib: &Rib, p: &str) -> Vec<u32> {
    ALL.into_iter()
        .filter(|&x| sent(rib, x, p).is_some())
        .collect()
}

fn ibgp_path() -> Arc<PathAttributes> {
    attrs(&[65100], [198, 18, 50, 1], vec![AttrValue::LocalPref(120)])
}

#[test]
fn client_route_goes_to_everyone_but_its_sender() {
    let mut rib = topology();
    rib.apply(announce(C1, &["203.0.113.0/24"], &ibgp_path()));
    assert_eq!(receivers(&rib, "203.0.113.0/24"), vec![C2, N1, N2, E1, E2]);
}

#[test]
fn non_client_route_goes_to_clients_and_ebgp_only() {
    let mut rib = topology();
    rib.apply(announce(N1, &["203.0.113.0/24"], &ibgp_path()));
    assert_eq!(receivers(&rib, "203.0.113.0/24"), vec![C1, C2, E1, E2]);
}

#[test]
fn ebgp_route_goes_to_everyone_but_its_sender() {
    let mut rib = topology();
    rib.apply(announce(
        E1,
        &["203.0.113.0/24"],
        &attrs(&[65001], [198, 18, 1, 5], vec![]),
    ));
    assert_eq!(receivers(&rib, "203.0.113.0/24"), vec![C1, C2, N1, N2, E2]);
}

#[test]
fn without_reflection_ibgp_routes_only_go_to_ebgp() {
    // Only non-clients: a plain iBGP speaker (RFC 4271 §9.2).
    let mut rib = rib();
    for p in [non_client(N1), non_client(N2), ebgp(E1, 65001)] {
        rib.apply(RibCommand::PeerUp(p));
    }
    rib.apply(announce(N1, &["203.0.113.0/24"], &ibgp_path()));
    assert!(sent(&rib, N2, "203.0.113.0/24").is_none());
    assert!(sent(&rib, E1, "203.0.113.0/24").is_some());
}

#[test]
fn reflection_sets_originator_and_cluster_list_and_keeps_next_hop() {
    let mut rib = topology();
    let src = ibgp_path();
    rib.apply(announce(C1, &["203.0.113.0/24"], &src));
    for to in [C2, N1] {
        let a = sent(&rib, to, "203.0.113.0/24").unwrap();
        assert_eq!(a.originator_id(), Some(&router_id(C1)));
        assert_eq!(a.cluster_list(), Some(&vec![CLUSTER_ID]));
        assert_eq!(a.next_hop(), src.next_hop());
        assert_eq!(a.local_pref(), Some(&120));
        assert_eq!(a.as_path(), src.as_path());
    }
}

#[test]
fn a_reflected_path_without_local_pref_gets_the_default() {
    // RFC 4271 §5.1.5: every iBGP UPDATE carries LOCAL_PREF; a client's
    // path that came without one was selected with 100 (§9.1.1).
    let mut rib = topology();
    let src = attrs(&[65100], [198, 18, 50, 1], vec![]);
    assert!(src.local_pref().is_none());
    rib.apply(announce(C1, &["203.0.113.0/24"], &src));
    for to in [C2, N1] {
        let a = sent(&rib, to, "203.0.113.0/24").unwrap();
        assert_eq!(a.local_pref(), Some(&100), "to {to}");
    }
    // Towards eBGP, none (§5.1.5).
    let a = sent(&rib, E1, "203.0.113.0/24").unwrap();
    assert_eq!(a.local_pref(), None);
}

#[test]
fn reflection_keeps_an_existing_originator_and_prepends_the_cluster_id() {
    let mut rib = topology();
    let other = Ipv4Addr::new(203, 0, 113, 77);
    let first = Ipv4Addr::new(198, 51, 100, 1);
    let src = attrs(
        &[65100],
        [198, 18, 50, 1],
        vec![
            AttrValue::OriginatorId(first),
            AttrValue::ClusterList(vec![other]),
        ],
    );
    rib.apply(announce(C1, &["203.0.113.0/24"], &src));
    let a = sent(&rib, C2, "203.0.113.0/24").unwrap();
    assert_eq!(a.originator_id(), Some(&first));
    assert_eq!(a.cluster_list(), Some(&vec![CLUSTER_ID, other]));
}

#[test]
fn cluster_id_per_peer_group() {
    let mut rib = rib();
    let special = Ipv4Addr::new(198, 18, 0, 200);
    let mut c3 = client(7);
    c3.cluster_id = Some(special);
    for p in [client(C1), client(C2), c3] {
        rib.apply(RibCommand::PeerUp(p));
    }
    assert_ne!(rib.group_of(PeerId(7)), rib.group_of(PeerId(C2)));
    rib.apply(announce(C1, &["203.0.113.0/24"], &ibgp_path()));
    assert_eq!(
        sent(&rib, C2, "203.0.113.0/24").unwrap().cluster_list(),
        Some(&vec![CLUSTER_ID])
    );
    assert_eq!(
        sent(&rib, 7, "203.0.113.0/24").unwrap().cluster_list(),
        Some(&vec![special])
    );
    // A route carrying either of our cluster ids is a loop.
    let looped = attrs(
        &[65100],
        [198, 18, 50, 1],
        vec![AttrValue::ClusterList(vec![special])],
    );
    let out = rib.apply(announce(C2, &["198.51.100.0/24"], &looped));
    assert_eq!(out.dropped, 1);
}

#[test]
fn ebgp_export_rewrites() {
    let mut rib = topology();
    let src = attrs(
        &[65100, 65200],
        [198, 18, 50, 1],
        vec![
            AttrValue::LocalPref(120),
            AttrValue::MultiExitDisc(7),
            AttrValue::OriginatorId(Ipv4Addr::new(198, 51, 100, 1)),
            AttrValue::ClusterList(vec![Ipv4Addr::new(198, 51, 100, 2)]),
        ],
    );
    rib.apply(announce(C1, &["203.0.113.0/24"], &src));
    let a = sent(&rib, E1, "203.0.113.0/24").unwrap();
    assert_eq!(
        a.as_path(),
        Some(&AsPath::sequence(vec![LOCAL_AS, 65100, 65200]))
    );
    assert_eq!(a.next_hop(), Some(&NH_SELF));
    assert!(a.local_pref().is_none());
    assert!(a.med().is_none());
    assert!(a.originator_id().is_none());
    assert!(a.cluster_list().is_none());
}

#[test]
fn ebgp_route_to_ibgp_gets_local_pref_and_keeps_next_hop() {
    let mut rib = topology();
    let src = attrs(&[65001], [198, 18, 1, 5], vec![]);
    rib.apply(announce(E1, &["203.0.113.0/24"], &src));
    let a = sent(&rib, N1, "203.0.113.0/24").unwrap();
    assert_eq!(a.local_pref(), Some(&100));
    assert_eq!(a.next_hop(), src.next_hop());
    assert!(a.originator_id().is_none());
    assert!(a.cluster_list().is_none());
    assert_eq!(a.as_path(), src.as_path());
}

#[test]
fn no_export_and_no_advertise() {
    let mut rib = topology();
    let no_export = attrs(
        &[65100],
        [198, 18, 50, 1],
        vec![communities(&[Community::NO_EXPORT])],
    );
    let subconfed = attrs(
        &[65100],
        [198, 18, 50, 1],
        vec![communities(&[Community::NO_EXPORT_SUBCONFED])],
    );
    let no_adv = attrs(
        &[65100],
        [198, 18, 50, 1],
        vec![communities(&[Community::NO_ADVERTISE])],
    );
    rib.apply(announce(C1, &["203.0.113.0/24"], &no_export));
    rib.apply(announce(C1, &["203.0.113.128/25"], &subconfed));
    rib.apply(announce(C1, &["198.51.100.0/24"], &no_adv));
    assert_eq!(receivers(&rib, "203.0.113.0/24"), vec![C2, N1, N2]);
    assert_eq!(receivers(&rib, "203.0.113.128/25"), vec![C2, N1, N2]);
    assert!(receivers(&rib, "198.51.100.0/24").is_empty());
    // Still in the Loc-RIB: the communities limit propagation, not use.
    assert_eq!(rib.loc_rib_len(), 3);
}

#[test]
fn loops_are_dropped_and_counted() {
    let mut rib = topology();
    let ours = attrs(
        &[65100],
        [198, 18, 50, 1],
        vec![AttrValue::OriginatorId(ROUTER_ID)],
    );
    let cluster = attrs(
        &[65100],
        [198, 18, 50, 1],
        vec![AttrValue::ClusterList(vec![CLUSTER_ID])],
    );
    let as_loop = attrs(&[65001, LOCAL_AS, 65300], [198, 18, 1, 5], vec![]);
    assert_eq!(
        rib.apply(announce(C1, &["203.0.113.0/24"], &ours)).dropped,
        1
    );
    assert_eq!(
        rib.apply(announce(
            C1,
            &["203.0.113.0/24", "198.51.100.0/24"],
            &cluster
        ))
        .dropped,
        2
    );
    assert_eq!(rib.loc_rib_len(), 0);
    let s = rib.peer_stats(PeerId(C1)).unwrap();
    assert_eq!((s.originator_loop, s.cluster_loop), (1, 2));
    // Our AS in an eBGP path that reached the RIB was put there by our
    // import policy (the session dropped looped paths before it): kept.
    assert_eq!(
        rib.apply(announce(E1, &["203.0.113.0/24"], &as_loop))
            .dropped,
        0
    );
    rib.apply(withdraw(E1, &["203.0.113.0/24"]));
    // Our AS in an iBGP path is not a loop (it is our own AS).
    let ibgp = attrs(&[LOCAL_AS], [198, 18, 50, 1], vec![]);
    assert_eq!(
        rib.apply(announce(N1, &["203.0.113.0/24"], &ibgp)).dropped,
        0
    );
}

#[test]
fn a_dropped_announcement_withdraws_the_previous_path() {
    let mut rib = topology();
    rib.apply(announce(C1, &["203.0.113.0/24"], &ibgp_path()));
    assert!(sent(&rib, C2, "203.0.113.0/24").is_some());
    let looped = attrs(
        &[65100],
        [198, 18, 50, 1],
        vec![AttrValue::ClusterList(vec![CLUSTER_ID])],
    );
    let out = rib.apply(announce(C1, &["203.0.113.0/24"], &looped));
    assert_eq!(out.dropped, 1);
    assert!(sent(&rib, C2, "203.0.113.0/24").is_none());
    assert_eq!(out.loc_rib.len(), 1);
    assert!(out.loc_rib[0].best.is_none());
}

#[test]
fn unknown_attributes_partial_or_dropped() {
    let mut rib = topology();
    let mut set = (*ibgp_path()).clone();
    set.attrs.push(PathAttribute {
        flags: AttrFlags::OPTIONAL_TRANSITIVE,
        value: AttrValue::Unknown {
            type_code: 200,
            value: bytes::Bytes::from_static(b"t"),
        },
    });
    set.attrs.push(PathAttribute {
        flags: AttrFlags::OPTIONAL_NON_TRANSITIVE,
        value: AttrValue::Unknown {
            type_code: 201,
            value: bytes::Bytes::from_static(b"n"),
        },
    });
    rib.apply(announce(C1, &["203.0.113.0/24"], &Arc::new(set)));
    for to in [C2, E1] {
        let a = sent(&rib, to, "203.0.113.0/24").unwrap();
        assert!(a.get(201).is_none());
        assert!(a.get(200).unwrap().flags.partial());
    }
}

#[test]
fn exported_sets_are_shared_between_prefixes() {
    let mut rib = topology();
    rib.apply(announce(
        C1,
        &["203.0.113.0/24", "198.51.100.0/24"],
        &ibgp_path(),
    ));
    let a = sent(&rib, C2, "203.0.113.0/24").unwrap();
    let b = sent(&rib, C2, "198.51.100.0/24").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let a = sent(&rib, E1, "203.0.113.0/24").unwrap();
    let b = sent(&rib, E2, "198.51.100.0/24").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
}

#[test]
fn group_output_and_split_horizon_marker() {
    let mut rib = topology();
    let out = rib.apply(announce(C1, &["203.0.113.0/24"], &ibgp_path()));
    let clients = rib.group_of(PeerId(C1)).unwrap();
    let g = out.groups.iter().find(|g| g.group == clients).unwrap();
    assert_eq!(g.changes.len(), 1);
    assert_eq!(g.changes[0].except, Some(PeerId(C1)));
    assert_eq!(out.groups.len(), 3);
    // Groups are in id order.
    assert!(out.groups.windows(2).all(|w| w[0].group < w[1].group));
    // A better path from C2 takes over: one change per group, now except C2.
    let better = attrs(&[65100], [198, 18, 50, 2], vec![AttrValue::LocalPref(200)]);
    let out = rib.apply(announce(C2, &["203.0.113.0/24"], &better));
    let g = out.groups.iter().find(|g| g.group == clients).unwrap();
    assert_eq!(g.changes[0].except, Some(PeerId(C2)));
    assert_eq!(
        sent(&rib, C1, "203.0.113.0/24").unwrap().local_pref(),
        Some(&200)
    );
    assert!(sent(&rib, C2, "203.0.113.0/24").is_none());
}

#[test]
fn best_from_non_client_not_reflected_to_non_clients_even_with_a_worse_client_path() {
    let mut rib = topology();
    let better = attrs(&[65100], [198, 18, 50, 2], vec![AttrValue::LocalPref(200)]);
    rib.apply(announce(C1, &["203.0.113.0/24"], &ibgp_path()));
    assert!(sent(&rib, N2, "203.0.113.0/24").is_some());
    // N1's better path wins; non-clients must not get it, and do not get
    // the second best either: the route is withdrawn from them.
    let out = rib.apply(announce(N1, &["203.0.113.0/24"], &better));
    assert!(sent(&rib, N2, "203.0.113.0/24").is_none());
    let non_clients = rib.group_of(PeerId(N2)).unwrap();
    let g = out.groups.iter().find(|g| g.group == non_clients).unwrap();
    assert!(g.changes[0].attrs.is_none());
}

#[test]
fn add_path_group_gets_every_path_with_its_own_ids() {
    let mut rib = rib();
    let mut ap = client(9);
    ap.add_path_send = vec![Family::IPV4_UNICAST];
    for p in [client(C1), client(C2), ap] {
        rib.apply(RibCommand::PeerUp(p));
    }
    rib.apply(announce(C1, &["203.0.113.0/24"], &ibgp_path()));
    let out = rib.apply(announce(C2, &["203.0.113.0/24"], &ibgp_path()));
    let to_ap: Vec<_> = rib.adj_rib_out_for(PeerId(9)).collect();
    assert_eq!(to_ap.len(), 2);
    assert_eq!(to_ap[0].1.path_id, Some(1));
    assert_eq!(to_ap[1].1.path_id, Some(2));
    let g = rib.group_of(PeerId(9)).unwrap();
    let changes = &out.groups.iter().find(|x| x.group == g).unwrap().changes;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].entry.path_id, Some(2));
    // The plain clients see only the best (C1's: lower router id), and
    // C1 not even that.
    assert_eq!(rib.adj_rib_out_for(PeerId(C2)).count(), 1);
    assert_eq!(rib.adj_rib_out_for(PeerId(C1)).count(), 0);
    // Withdrawing C1's path withdraws path id 1 only.
    let out = rib.apply(withdraw(C1, &["203.0.113.0/24"]));
    let changes = &out.groups.iter().find(|x| x.group == g).unwrap().changes;
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (changes[0].entry.path_id, changes[0].attrs.is_none()),
        (Some(1), true)
    );
}

#[test]
fn a_new_group_starts_with_the_whole_table() {
    let mut rib = rib();
    rib.apply(RibCommand::PeerUp(client(C1)));
    rib.apply(announce(
        C1,
        &["203.0.113.0/24", "198.51.100.0/24"],
        &ibgp_path(),
    ));
    let out = rib.apply(RibCommand::PeerUp(non_client(N1)));
    assert_eq!(
        out.joined,
        vec![(PeerId(N1), rib.group_of(PeerId(N1)).unwrap())]
    );
    assert!(out.groups.is_empty());
    assert_eq!(rib.adj_rib_out_for(PeerId(N1)).count(), 2);
}

#[test]
fn treat_as_withdraw_update_withdraws() {
    use speaker::wire::{CodecContext, Update};
    let mut rib = topology();
    rib.apply(announce(C1, &["203.0.113.0/24"], &ibgp_path()));
    // An UPDATE whose NLRI lack ORIGIN: treat-as-withdraw (RFC 7606 §3 (d)).
    let mut body = bytes::BytesMut::new();
    let attrs = PathAttributes::new(vec![
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(vec![65100]))),
        PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 50, 1))),
    ]);
    let u = Update {
        withdrawn: speaker::wire::Nlri::empty(Family::IPV4_UNICAST, false),
        attributes: Arc::new(attrs),
        nlri: speaker::wire::Nlri::from_entries(
            Family::IPV4_UNICAST,
            false,
            [&NlriEntry::plain(prefix("203.0.113.0/24"))],
        )
        .unwrap(),
        mp_reach_nlri: None,
        mp_unreach: None,
        issues: vec![],
    };
    u.encode_body(&CodecContext::four_octet(), &mut body)
        .unwrap();
    let decoded = Update::decode(body.freeze(), &CodecContext::four_octet(), None).unwrap();
    assert!(decoded.treat_as_withdraw());
    let cmd = RibCommand::from_update(PeerId(C1), &decoded);
    let RibCommand::Routes {
        withdrawn,
        announced,
        ..
    } = &cmd
    else {
        panic!("{cmd:?}");
    };
    assert_eq!((withdrawn.len(), announced.len()), (1, 0));
    rib.apply(cmd);
    assert_eq!(rib.loc_rib_len(), 0);
    // End-of-RIB becomes its command.
    let eor = Update::end_of_rib(Family::IPV4_UNICAST);
    assert_eq!(
        RibCommand::from_update(PeerId(C1), &eor),
        RibCommand::EndOfRib {
            peer: PeerId(C1),
            family: Family::IPV4_UNICAST
        }
    );
}

/// A cluster member computes the Adj-RIB-Out changes of the groups it
/// serves only; the Loc-RIB, and each group's Adj-RIB-Out as read, do not
/// depend on it.
#[test]
fn export_to_limits_the_changes_to_the_groups_served() {
    let mut all = topology();
    let mut here = topology();
    here.export_to(Some([PeerId(N1)].into_iter().collect()));
    let cmds = [
        announce(C1, &["203.0.113.0/24", "198.51.100.0/24"], &ibgp_path()),
        announce(
            E1,
            &["192.0.2.0/24"],
            &attrs(&[65001], [198, 18, 1, 5], vec![]),
        ),
        withdraw(C1, &["198.51.100.0/24"]),
    ];
    let non_clients = here.group_of(PeerId(N1)).unwrap();
    for cmd in cmds {
        let a = all.apply(cmd.clone());
        let h = here.apply(cmd);
        assert_eq!(a.loc_rib, h.loc_rib);
        // Every group gets changes without the limit; only N1's with it.
        assert!(a.groups.len() > 1);
        assert_eq!(
            h.groups.iter().map(|g| g.group).collect::<Vec<_>>(),
            vec![non_clients]
        );
        let of = |o: &speaker::rib::RibOutput| {
            o.groups
                .iter()
                .find(|g| g.group == non_clients)
                .map(|g| g.changes.clone())
        };
        assert_eq!(of(&a), of(&h));
    }
    assert_eq!(all.digest(), here.digest());
    for p in ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"] {
        assert_eq!(receivers(&all, p), receivers(&here, p));
    }
    // Served by nobody here: no group's changes are computed.
    here.export_to(Some(Default::default()));
    let h = here.apply(announce(C2, &["203.0.113.128/25"], &ibgp_path()));
    assert!(h.groups.is_empty());
    assert_eq!(h.loc_rib.len(), 1);
}
