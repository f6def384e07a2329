//! RFC 4724 helper side with BIRD: a client that restarts keeps its routes
//! at the other clients until it sends End-of-RIB again, or until its
//! restart time runs out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::IpAddr;
use std::time::Duration;

fn config(rr: &Node, data: &std::path::Path, clients: &[&Node]) -> String {
    let mut c = format!(
        "router-id = \"{rr}\"\nlocal-as = 65000\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{rr}\"]\n",
        data.display(),
        rr = rr.v4
    );
    for n in clients {
        c.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nhold-time = 30\n",
            n.v4
        ));
    }
    c
}

fn client<'a>(node: &Node, rr: &Node, routes: Vec<&'a str>) -> BirdConfig<'a> {
    BirdConfig {
        router_id: node.v4,
        local_as: 65000,
        neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
        routes,
    }
}

const GR: &str = "  graceful restart on;\n  graceful restart time 6;";

#[test]
fn restarting_client_keeps_its_routes_until_end_of_rib_or_restart_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let c1 = lan.node(2).unwrap();
    let c2 = lan.node(3).unwrap();
    let _reflex = reflex_tests::reflex::start(
        &rr,
        dir.path(),
        &config(&rr, &dir.path().join("data"), &[&c1, &c2]),
    )
    .unwrap();
    let mut b1 = Bird::start_with(
        &c1,
        dir.path(),
        &client(&c1, &rr, vec!["198.19.1.0/24"]),
        GR,
    )
    .unwrap();
    let b2 = Bird::start(&c2, dir.path(), &client(&c2, &rr, vec![])).unwrap();
    let log = || std::fs::read_to_string(dir.path().join("reflex.log")).unwrap_or_default();
    assert!(
        wait_for(30, || b2.route("198.19.1.0/24")).is_some(),
        "initial route missing\n{}",
        log()
    );

    // Crash c1 (no NOTIFICATION): the route stays at c2 while c1 restarts.
    b1.daemon.kill();
    assert!(
        wait_for(10, || log()
            .contains("keeping routes of a restarting peer")
            .then_some(()))
        .is_some(),
        "{}",
        log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        b2.route("198.19.1.0/24").is_some(),
        "route dropped during the restart\n{}",
        log()
    );

    // c1 comes back announcing something else: after its End-of-RIB the
    // stale route goes and the new one arrives.
    b1 = Bird::start_with(
        &c1,
        dir.path(),
        &client(&c1, &rr, vec!["198.19.9.0/24"]),
        GR,
    )
    .unwrap();
    assert!(
        wait_for(30, || b2.route("198.19.9.0/24")).is_some(),
        "new route missing\n{}",
        log()
    );
    assert!(
        wait_for(15, || b2.route("198.19.1.0/24").is_none().then_some(())).is_some(),
        "stale route kept after End-of-RIB\n{}",
        log()
    );

    // Crash again and stay down: after the restart time (6 s) the routes go.
    b1.daemon.kill();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        b2.route("198.19.9.0/24").is_some(),
        "route dropped before the restart time\n{}",
        log()
    );
    assert!(
        wait_for(15, || b2.route("198.19.9.0/24").is_none().then_some(())).is_some(),
        "stale route kept after the restart time\n{}",
        log()
    );
}
