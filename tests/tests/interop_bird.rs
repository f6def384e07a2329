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

fn reflector_config(
    rr: &reflex_tests::netns::Node,
    data: &std::path::Path,
    neighbors: &[(&reflex_tests::netns::Node, bool)],
) -> String {
    let mut c = format!(
        "router-id = \"{rr}\"\nlocal-as = 65000\ncluster-id = \"198.18.255.1\"\ndata-dir = \"{data}\"\n[listen]\naddresses = [\"{rr}\"]\n",
        rr = rr.v4,
        data = data.display()
    );
    for (n, client) in neighbors {
        c.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = {client}\nhold-time = 30\n",
            n.v4
        ));
    }
    c
}

#[test]
fn routes_are_reflected_between_bird_clients_and_to_non_clients_as_rfc_4456_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let c1 = lan.node(2).unwrap();
    let c2 = lan.node(3).unwrap();
    let nc = lan.node(4).unwrap();
    let config = reflector_config(
        &rr,
        &dir.path().join("data"),
        &[(&c1, true), (&c2, true), (&nc, false)],
    );
    let _reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
    let bird = |node: &reflex_tests::netns::Node, routes: Vec<&str>| {
        Bird::start(
            node,
            dir.path(),
            &BirdConfig {
                router_id: node.v4,
                local_as: 65000,
                neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
                routes,
            },
        )
        .unwrap()
    };
    let b1 = bird(&c1, vec!["198.19.1.0/24"]);
    let b2 = bird(&c2, vec!["198.19.2.0/24"]);
    let bn = bird(&nc, vec!["198.19.3.0/24"]);
    for (b, name) in [(&b1, "c1"), (&b2, "c2"), (&bn, "nc")] {
        let st = wait_for(30, || {
            b.bgp_state("reflector").filter(|s| s == "Established")
        });
        assert!(
            st.is_some(),
            "{name} not established: {:?}",
            b.birdc("show protocols all reflector")
        );
    }
    let log = || std::fs::read_to_string(dir.path().join("reflex.log")).unwrap_or_default();

    // A client's route reaches the other client and the non-client, with
    // ORIGINATOR_ID = the source's router id, CLUSTER_LIST = [cluster id],
    // and the NEXT_HOP unchanged.
    for b in [&b2, &bn] {
        let got = wait_for(20, || b.route("198.19.1.0/24"));
        assert!(got.is_some(), "198.19.1.0/24 missing\n{}", log());
        assert_eq!(
            b.route_attr("198.19.1.0/24", "BGP.originator_id")
                .as_deref(),
            Some(c1.v4.to_string().as_str())
        );
        assert_eq!(
            b.route_attr("198.19.1.0/24", "BGP.cluster_list").as_deref(),
            Some("198.18.255.1")
        );
        assert_eq!(
            b.route_attr("198.19.1.0/24", "BGP.next_hop").as_deref(),
            Some(c1.v4.to_string().as_str())
        );
    }
    // A non-client's route reaches clients only: never back to non-clients
    // (there is one here, the source itself, which must not get it back).
    for b in [&b1, &b2] {
        assert!(
            wait_for(20, || b.route("198.19.3.0/24")).is_some(),
            "non-client route missing at a client\n{}",
            log()
        );
        assert_eq!(
            b.route_attr("198.19.3.0/24", "BGP.originator_id")
                .as_deref(),
            Some(nc.v4.to_string().as_str())
        );
    }
    assert!(
        bn.route("198.19.2.0/24").is_some(),
        "client route missing at the non-client"
    );
    // The source never gets its own route back from the reflector.
    let own = b1
        .birdc("show route all 198.19.1.0/24 protocol reflector")
        .unwrap();
    assert!(!own.contains("BGP.originator_id"), "{own}");

    // A withdrawal reaches everyone.
    b1.birdc("disable announced").unwrap();
    for b in [&b2, &bn] {
        let gone = wait_for(20, || b.route("198.19.1.0/24").is_none().then_some(()));
        assert!(gone.is_some(), "withdrawal not propagated\n{}", log());
    }
}
