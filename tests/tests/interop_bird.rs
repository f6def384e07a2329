//! Reflex against BIRD 2 in network namespaces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::netns::{Lan, wait_for};
use std::net::IpAddr;

#[test]
fn bird_client_session_reaches_established() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let client = lan.node(2).unwrap();
    let config = format!(
        "router-id = \"{rr}\"\nlocal-as = 65000\ndata-dir = \"{data}\"\n[listen]\naddresses = [\"{rr}\"]\n\n[[neighbor]]\naddress = \"{c}\"\nremote-as = 65000\nroute-reflector-client = true\nhold-time = 30\n",
        rr = rr.v4,
        c = client.v4,
        data = dir.path().join("data").display()
    );
    let mut reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
    let bird = Bird::start(
        &client,
        dir.path(),
        &BirdConfig {
            router_id: client.v4,
            local_as: 65000,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes: vec!["198.19.1.0/24"],
        },
    )
    .unwrap();
    let state = wait_for(30, || {
        bird.bgp_state("reflector").filter(|s| s == "Established")
    });
    let log = std::fs::read_to_string(dir.path().join("reflex.log")).unwrap_or_default();
    assert_eq!(
        state.as_deref(),
        Some("Established"),
        "BIRD: {:?}\nreflex log:\n{log}",
        bird.birdc("show protocols all reflector")
    );
    assert!(reflex.is_running());
    assert!(log.contains("session established"), "{log}");
    // BIRD saw our capabilities.
    let proto = bird.birdc("show protocols all reflector").unwrap();
    assert!(proto.contains("4-octet AS numbers"), "{proto}");
    assert!(proto.contains("Enhanced refresh"), "{proto}");
}
