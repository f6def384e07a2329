//! Differential policy test against FRR (issues 5 and 23). The same
//! route-maps, written for Reflex and for FRR (`policy.rs`), on the same
//! real input (a full IPv4 table and a full IPv6 table replayed from
//! ../shared/bgp-data), with FRR and then Reflex as the router under test
//! at the same address of one namespace topology; what two BIRD clients
//! receive from each is compared route by route and attribute by
//! attribute and must be identical, except for the intended differences
//! listed in `intended()` with their reasons.
//!
//! Topology (one LAN): a border router in AS 65000 (node 1), the replay
//! source as its eBGP neighbour in AS 65001 (node 2, import map IN; one
//! session per family, IPv4 over IPv4 and IPv6 over IPv6), a BIRD iBGP
//! client in AS 65000 (node 3, export map OUT_IBGP: what import set,
//! LOCAL_PREF included, is visible there) and a BIRD eBGP client in AS
//! 65002 (node 4, export map OUT_EBGP: the eBGP rules around an export
//! map, our AS prepended after it, the next hop, MED and LOCAL_PREF
//! across the border), each with a session per family. The routes are
//! eBGP-learned, so FRR applies the iBGP export map without `bgp
//! route-reflector allow-outbound-policy` (that is only for reflected
//! routes).
//!
//! Not compared: removal of extended communities by a list (FRR 8.4 has
//! no `set extcomm-list ... delete`); Reflex's unit tests cover it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod compare;
mod config;
mod coverage;
mod policy;
mod round;
mod view;

use compare::{Intended, compare};
use config::{Nodes, ROUTER_AS, SOURCE_AS};
use reflex_tests::netns::Lan;
use reflex_tests::replay::{Routes, Sender, Table};
use round::VIEWS;
use round::round;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bgp-data/mrt")
        .join(file)
}

/// A full IPv4 table: PCH's AS3856 session (one peer).
fn rib_v4() -> PathBuf {
    data("derived/DERIVED_rib-from-updates.et-header.2015_pch-as3856_fullv4.gz")
}

/// A full IPv6 table: RouteViews' route-views6, of its peer AS13030
/// (Init7), whose routes carry the most communities (two to six each).
fn rib_v6() -> (PathBuf, u32) {
    (
        data("rib/hask-mrt_rib.20150922.1200_routeviews6-v6.bz2"),
        13030,
    )
}

const ALL: &[&str] = &["ibgp", "ebgp", "ibgp6", "ebgp6"];

/// The differences that are meant, with the reason for each.
fn intended() -> Vec<Intended> {
    vec![
        Intended {
            clients: ALL,
            reason: "communities in another order: FRR keeps each kind sorted, Reflex \
                     appends what a map adds; each kind is a set (RFC 1997, RFC 4360 §2, \
                     RFC 8092 §2), so both send the same",
            applies: |d| {
                let kinds = ["communities", "ext_communities", "large_communities"];
                let set = |v: &Option<String>| {
                    let mut s: Vec<String> = v
                        .as_deref()
                        .unwrap_or("")
                        .split(' ')
                        .map(String::from)
                        .collect();
                    s.sort();
                    s
                };
                kinds.contains(&d.field.as_str())
                    && d.frr != d.reflex
                    && set(&d.frr) == set(&d.reflex)
            },
        },
        Intended {
            clients: &["ibgp", "ibgp6"],
            reason: "on-match next where no later entry matches (OUT_IBGP 95/96, then 100 \
                     does not match what they marked 65000:95): FRR 8.4 denies the route, \
                     Reflex keeps it permitted with the sets applied so far, as IOS's \
                     `continue` and Junos's `next term` do: the entry that matched said \
                     permit, and `next` asks for more changes, not for a second verdict \
                     (ops/config/reference.toml, Route-map)",
            applies: |d| {
                d.field == "route"
                    && d.frr.is_none()
                    && d.reflex.as_deref().is_some_and(|r| r.contains("65000:95"))
            },
        },
    ]
}

#[test]
fn route_maps_give_the_clients_what_frr_gives_them() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let t0 = Instant::now();
    let routes = Routes::from_rib(&rib_v4()).unwrap();
    let (v6_file, v6_peer) = rib_v6();
    let routes_v6 =
        Routes::from_rib_peer(&v6_file, speaker::wire::Family::IPV6_UNICAST, Some(v6_peer))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let router = lan.node(1).unwrap();
    let source = lan.node(2).unwrap();
    let nh = Ipv4Addr::from(u32::from(router.v4) + 8);
    let nodes = Nodes {
        router,
        source,
        ibgp: lan.node(3).unwrap(),
        ebgp: lan.node(4).unwrap(),
        nh,
    };
    let sender = Sender {
        address: nodes.source.v4,
        address_v6: nodes.source.v6,
        local_as: SOURCE_AS,
        peer_as: ROUTER_AS,
    };
    let table = Arc::new(Table::encode(&routes, &sender));
    let table_v6 = Arc::new(Table::encode(&routes_v6, &sender));
    for (t, r) in [(&table, &routes), (&table_v6, &routes_v6)] {
        eprintln!(
            "table {}: {} prefixes in {} UPDATEs ({} entries left out as malformed)",
            t.family, t.prefixes, t.updates, r.skipped,
        );
    }
    eprintln!("tables loaded in {:.1} s", t0.elapsed().as_secs_f64());
    drop((routes, routes_v6));
    let frr = round("frr", &nodes, dir.path(), [&table, &table_v6], None);
    let hint = Some(frr.iter().map(|v| v.len()).collect());
    let reflex = round("reflex", &nodes, dir.path(), [&table, &table_v6], hint);
    let intended = intended();
    let mut unexplained = 0;
    let mut report = String::new();
    for ((client, _, _), (f, r)) in VIEWS.iter().zip(frr.iter().zip(&reflex)) {
        let o = compare(client, f, r, &intended);
        unexplained += o.unexplained;
        report.push_str(&o.report);
    }
    eprint!("{report}");
    let cov = coverage::coverage(&reflex);
    for (what, n) in &cov {
        eprintln!("  coverage: {what}: {n}");
    }
    eprintln!("total {:.1} s", t0.elapsed().as_secs_f64());
    assert_eq!(unexplained, 0, "unexplained differences:\n{report}");
    let missing: Vec<_> = cov.iter().filter(|(_, n)| *n == 0).collect();
    assert!(
        missing.is_empty(),
        "policy parts that did nothing: {missing:?}"
    );
}
