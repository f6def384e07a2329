//! The replicated RIB (a one-member Raft cluster, `[cluster]` in the
//! configuration) in the real binary, with BIRD clients: routes are
//! reflected as with the in-process RIB, and after `kill -9` and a restart
//! from the data directory the RIB is back before any peer sends a route.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::IpAddr;
use std::path::Path;

const ROUTES: [&str; 2] = ["198.19.50.0/24", "198.19.51.0/24"];

fn config(rr: &Node, data: &Path, clients: &[&Node]) -> String {
    let mut c = format!(
        "router-id = \"{rr}\"\nlocal-as = 65000\ncluster-id = \"198.18.255.1\"\ndata-dir = \"{data}\"\n[listen]\naddresses = [\"{rr}\"]\n\n[cluster]\nmember-id = 1\n",
        rr = rr.v4,
        data = data.display()
    );
    for n in clients {
        c.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nhold-time = 30\nidle-hold = 1\n",
            n.v4
        ));
    }
    c
}

fn bird(node: &Node, rr: &Node, dir: &Path, routes: Vec<&'static str>) -> Bird {
    Bird::start(
        node,
        dir,
        &BirdConfig {
            router_id: node.v4,
            local_as: 65000,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes,
        },
    )
    .unwrap()
}

#[test]
fn replicated_rib_reflects_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let a = lan.node(2).unwrap();
    let b = lan.node(3).unwrap();
    let conf = config(&rr, &dir.path().join("data"), &[&a, &b]);
    let mut reflex = reflex_tests::reflex::start(&rr, dir.path(), &conf).unwrap();
    let _bird_a = bird(&a, &rr, dir.path(), ROUTES.to_vec());
    let bird_b = bird(&b, &rr, dir.path(), vec![]);
    let has_all = |b: &Bird| ROUTES.iter().all(|p| b.route(p).is_some()).then_some(());
    assert!(
        wait_for(30, || has_all(&bird_b)).is_some(),
        "client B lacks A's routes\n{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    // Reflected as by a single reflector (RFC 4456 §8).
    let cluster_list = bird_b.route_attr(ROUTES[0], "BGP.cluster_list").unwrap();
    assert!(cluster_list.contains("198.18.255.1"), "{cluster_list}");
    let originator = bird_b.route_attr(ROUTES[0], "BGP.originator_id").unwrap();
    assert!(originator.contains(&a.v4.to_string()), "{originator}");
    assert!(reflex_tests::reflex::log(dir.path()).contains("replicated RIB ready"));

    // A crash, then a restart from the same data directory: the RIB is
    // back from the store before any session is up.
    reflex.kill();
    let _reflex = reflex_tests::reflex::start(&rr, dir.path(), &conf).unwrap();
    let ready = wait_for(20, || {
        let log = reflex_tests::reflex::log(dir.path());
        log.lines()
            .find(|l| l.contains("replicated RIB ready"))
            .map(str::to_string)
    })
    .unwrap_or_else(|| panic!("{}", reflex_tests::reflex::log_tail(dir.path())));
    // A's two routes, and the LAN prefix both clients export (BIRD's
    // `protocol direct`).
    let restored: usize = ready
        .split("loc_rib=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(restored > ROUTES.len(), "{ready}");
    let log = reflex_tests::reflex::log(dir.path());
    let ready_at = log.find("replicated RIB ready").unwrap();
    assert!(
        log.find("session established").is_none_or(|s| s > ready_at),
        "a session came up before the RIB was back\n{log}"
    );
    // The sessions come back and B holds A's routes again.
    assert!(
        wait_for(60, || {
            let l = reflex_tests::reflex::log(dir.path());
            (l.matches("session established").count() >= 2).then_some(())
        })
        .is_some(),
        "{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    assert!(
        wait_for(30, || has_all(&bird_b)).is_some(),
        "client B lacks A's routes after the restart\n{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
}
