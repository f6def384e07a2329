//! Three Reflex members form one route reflector (a Raft cluster) in
//! network namespaces, with BIRD clients spread over them: a neighbour's
//! session runs on the member the replicated owner map names; a route from
//! a client of one member reaches the clients of the others as a single
//! reflector would send it; every member's RIB digest is the same.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::cluster::{CLUSTER_ID, Cluster};
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::IpAddr;

const ROUTE: &str = "198.19.60.0/24";

/// A BIRD client with a session to every member.
pub fn client(node: &Node, members: &[Node], dir: &std::path::Path, routes: Vec<&str>) -> Bird {
    Bird::start(
        node,
        dir,
        &BirdConfig {
            router_id: node.v4,
            local_as: 65000,
            neighbors: vec![
                ("m1", IpAddr::V4(members[0].v4), 65000),
                ("m2", IpAddr::V4(members[1].v4), 65000),
                ("m3", IpAddr::V4(members[2].v4), 65000),
            ],
            routes,
        },
    )
    .unwrap()
}

#[test]
fn three_members_reflect_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let members: Vec<Node> = (1..=3).map(|i| lan.node(i).unwrap()).collect();
    let clients: Vec<Node> = (4..=6).map(|i| lan.node(i).unwrap()).collect();
    let cluster = Cluster::start(
        members.clone(),
        dir.path(),
        &clients.iter().collect::<Vec<_>>(),
    )
    .unwrap();
    // Each client peers with every member; only its owner answers.
    let birds: Vec<Bird> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            client(
                c,
                &members,
                dir.path(),
                if i == 0 { vec![ROUTE] } else { vec![] },
            )
        })
        .collect();
    // Owners are balanced: client i on member i + 1.
    for (i, b) in birds.iter().enumerate() {
        let owner = format!("m{}", i + 1);
        let up = wait_for(60, || b.bgp_state(&owner).filter(|s| s == "Established"));
        assert!(
            up.is_some(),
            "client {i} not established with {owner}\n{}",
            reflex_tests::reflex::log_tail(&cluster.dirs[i])
        );
    }
    // Client 0's route reaches the clients of members 2 and 3, reflected.
    for (i, b) in birds.iter().enumerate().skip(1) {
        let got = wait_for(30, || b.route(ROUTE));
        assert!(
            got.is_some(),
            "client {i} lacks {ROUTE}\n{}",
            reflex_tests::reflex::log_tail(&cluster.dirs[i])
        );
        let originator = b.route_attr(ROUTE, "BGP.originator_id").unwrap_or_default();
        assert!(
            originator.contains(&clients[0].v4.to_string()),
            "{originator}"
        );
        let list = b.route_attr(ROUTE, "BGP.cluster_list").unwrap_or_default();
        assert!(list.contains(CLUSTER_ID), "{list}");
    }
    // The owner map is what every member reports (`reflex cluster status`).
    for m in &members {
        let out = reflex_tests::cluster::reflex_cli(
            m,
            &[
                "cluster".into(),
                "status".into(),
                "--raft".into(),
                reflex_tests::cluster::raft(m),
            ],
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["owners"],
            serde_json::json!({"0": 1, "1": 2, "2": 3}),
            "{out}"
        );
    }
    // Every member applied the same log to the same RIB: the route and the
    // clients' LAN prefix (BIRD's `protocol direct`).
    assert!(
        cluster.agree(30, 2).is_some(),
        "digests differ: {:?}",
        cluster.digests()
    );
}
