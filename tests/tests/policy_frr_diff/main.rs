//! Differential policy test against FRR (issue 5). The same route-maps,
//! written for Reflex and for FRR (`policy.rs`), on the same real input (a
//! full IPv4 table replayed from ../shared/bgp-data), with FRR and then
//! Reflex as the router under test at the same address of one namespace
//! topology; what two BIRD clients receive from each is compared route by
//! route and attribute by attribute and must be identical, except for the
//! intended differences listed in `intended()` with their reasons.
//!
//! Topology (one LAN): a border router in AS 65000 (node 1), the replay
//! source as its eBGP neighbour in AS 65001 (node 2, import map IN), a
//! BIRD iBGP client in AS 65000 (node 3, export map OUT_IBGP: what import
//! set, LOCAL_PREF included, is visible there) and a BIRD eBGP client in
//! AS 65002 (node 4, export map OUT_EBGP: the eBGP rules around an export
//! map, our AS prepended after it, the next hop, MED and LOCAL_PREF
//! across the border). The routes are eBGP-learned, so FRR applies the
//! iBGP export map without `bgp route-reflector allow-outbound-policy`
//! (that is only for reflected routes).
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
use round::round;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

fn rib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/bgp-data/mrt/derived/DERIVED_rib-from-updates.et-header.2015_pch-as3856_fullv4.gz",
    )
}

/// The differences that are meant, with the reason for each.
fn intended() -> Vec<Intended> {
    vec![Intended {
        clients: &["ibgp", "ebgp"],
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
            kinds.contains(&d.field.as_str()) && d.frr != d.reflex && set(&d.frr) == set(&d.reflex)
        },
    }]
}

#[test]
fn route_maps_give_the_clients_what_frr_gives_them() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let t0 = Instant::now();
    let routes = Routes::from_rib(&rib()).unwrap();
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
    let table = Arc::new(Table::encode(
        &routes,
        &Sender {
            address: nodes.source.v4,
            local_as: SOURCE_AS,
            peer_as: ROUTER_AS,
        },
    ));
    eprintln!(
        "table: {} prefixes in {} UPDATEs ({} entries left out as malformed), loaded in {:.1} s",
        table.prefixes,
        table.updates,
        routes.skipped,
        t0.elapsed().as_secs_f64()
    );
    drop(routes);
    let (frr_ibgp, frr_ebgp) = round("frr", &nodes, dir.path(), &table, None);
    let hint = Some(vec![frr_ibgp.len(), frr_ebgp.len()]);
    let (rfx_ibgp, rfx_ebgp) = round("reflex", &nodes, dir.path(), &table, hint);
    let intended = intended();
    let mut unexplained = 0;
    let mut report = String::new();
    for (client, f, r) in [
        ("ibgp", &frr_ibgp, &rfx_ibgp),
        ("ebgp", &frr_ebgp, &rfx_ebgp),
    ] {
        let o = compare(client, f, r, &intended);
        unexplained += o.unexplained;
        report.push_str(&o.report);
    }
    eprint!("{report}");
    let cov = coverage::coverage(&rfx_ibgp, &rfx_ebgp);
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
