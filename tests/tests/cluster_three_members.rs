//! Three Reflex members form one route reflector (a Raft cluster) in
//! network namespaces, with a BIRD, an FRR and a GoBGP client spread over
//! them: a neighbour's session runs on the member the replicated owner map
//! names; a route from a client of one member reaches the clients of the
//! others as a single reflector would send it; every member reports the
//! same owners and the same RIB digest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::cluster::{CLUSTER_ID, Cluster, bird_client, three_and_three};
use reflex_tests::frr::{Frr, FrrConfig, Json};
use reflex_tests::gobgp::{Gobgp, GobgpConfig};
use reflex_tests::netns::wait_for;
use std::net::IpAddr;

const BIRD_ROUTE: &str = "198.19.60.0/24";
const FRR_ROUTE: &str = "198.19.61.0/24";

#[test]
fn three_members_reflect_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, clients) = three_and_three().unwrap();
    let cluster = Cluster::start(members.clone(), dir.path(), &clients).unwrap();
    let every_member: Vec<(IpAddr, u32)> =
        members.iter().map(|m| (IpAddr::V4(m.v4), 65000)).collect();
    // Each client peers with every member; only its owner answers. The
    // owners are balanced: client i on member i + 1.
    let bird = bird_client(&clients[0], &members, dir.path(), vec![BIRD_ROUTE]).unwrap();
    let frr = Frr::start(
        &clients[1],
        dir.path(),
        &FrrConfig {
            router_id: clients[1].v4,
            local_as: 65000,
            neighbors: every_member.clone(),
            routes: vec![FRR_ROUTE],
            hold_time: 30,
        },
    )
    .unwrap();
    let gobgp = Gobgp::start(
        &clients[2],
        dir.path(),
        &GobgpConfig {
            router_id: clients[2].v4,
            local_as: 65000,
            neighbors: every_member,
            add_path: false,
            hold_time: 30,
        },
    )
    .unwrap();
    let established = |s: Option<String>| s.filter(|s| s.eq_ignore_ascii_case("established"));
    assert!(
        wait_for(60, || established(bird.bgp_state("m1"))).is_some(),
        "BIRD not established with member 1\n{}",
        reflex_tests::reflex::log_tail(&cluster.dirs[0])
    );
    assert!(
        wait_for(60, || established(frr.bgp_state(IpAddr::V4(members[1].v4)))).is_some(),
        "FRR not established with member 2\n{}",
        reflex_tests::reflex::log_tail(&cluster.dirs[1])
    );
    assert!(
        wait_for(60, || established(
            gobgp.bgp_state(IpAddr::V4(members[2].v4))
        ))
        .is_some(),
        "GoBGP not established with member 3\n{}",
        reflex_tests::reflex::log_tail(&cluster.dirs[2])
    );

    // BIRD's route (member 1) reaches FRR (member 2) and GoBGP (member 3);
    // FRR's reaches BIRD and GoBGP; all reflected as by one reflector.
    let frr_path = |prefix: &str| frr.paths(prefix).and_then(|p| p.into_iter().next());
    for (prefix, source) in [(BIRD_ROUTE, &clients[0]), (FRR_ROUTE, &clients[1])] {
        let g = wait_for(30, || {
            gobgp.paths(prefix).and_then(|p| p.into_iter().next())
        });
        let g = g.unwrap_or_else(|| {
            panic!(
                "GoBGP lacks {prefix}\n{}",
                reflex_tests::reflex::log_tail(&cluster.dirs[2])
            )
        });
        assert_eq!(
            g.originator_id.as_deref(),
            Some(source.v4.to_string().as_str()),
            "{:?}",
            g.json
        );
        assert_eq!(g.cluster_list, [CLUSTER_ID], "{:?}", g.json);
    }
    let f = wait_for(30, || frr_path(BIRD_ROUTE)).unwrap_or_else(|| {
        panic!(
            "FRR lacks {BIRD_ROUTE}\n{}",
            reflex_tests::reflex::log_tail(&cluster.dirs[1])
        )
    });
    assert_eq!(
        f.get("originatorId").and_then(Json::as_str),
        Some(clients[0].v4.to_string().as_str()),
        "{f:?}"
    );
    let clusters: Vec<&str> = f
        .at("clusterList.list")
        .and_then(Json::as_array)
        .unwrap_or_default()
        .iter()
        .filter_map(Json::as_str)
        .collect();
    assert_eq!(clusters, [CLUSTER_ID], "{f:?}");
    assert!(
        wait_for(30, || bird.route(FRR_ROUTE)).is_some(),
        "BIRD lacks {FRR_ROUTE}\n{}",
        reflex_tests::reflex::log_tail(&cluster.dirs[0])
    );
    let originator = bird
        .route_attr(FRR_ROUTE, "BGP.originator_id")
        .unwrap_or_default();
    assert!(
        originator.contains(&clients[1].v4.to_string()),
        "{originator}"
    );

    // The owner map is what every member reports (`reflex cluster status`).
    for i in 0..members.len() {
        let out = cluster.ask(i, &["status".into()]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["owners"],
            serde_json::json!({"0": 1, "1": 2, "2": 3}),
            "{out}"
        );
    }
    // Every member applied the same log to the same RIB.
    assert!(
        cluster.agree(30, 2).is_some(),
        "digests differ: {:?}",
        cluster.digests()
    );
}
