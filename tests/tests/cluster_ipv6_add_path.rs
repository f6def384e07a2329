//! A three-member cluster with GoBGP clients that each have an IPv4
//! session (ADD-PATH in both directions) and an IPv6 session, spread over
//! the members by the owner map: IPv6 routes and ADD-PATH paths are
//! reflected across members as by one reflector, and every member ends
//! with the same RIB digest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::cluster::{CLUSTER_ID, Cluster, three_and_three};
use reflex_tests::gobgp::{Gobgp, GobgpConfig};
use reflex_tests::netns::{Node, wait_for};
use std::net::IpAddr;

const PREFIX_V4: &str = "198.19.70.0/24";
const PREFIX_V6: &str = "2001:db8:ff70::/48";

/// Every client twice: IPv4 with ADD-PATH, and IPv6.
fn neighbors(clients: &[Node]) -> String {
    let mut s = String::new();
    for c in clients {
        s.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nfamilies = [\"ipv4-unicast\"]\nadd-path = {{ ipv4-unicast = \"both\" }}\nhold-time = 30\nidle-hold = 1\n",
            c.v4
        ));
        s.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nfamilies = [\"ipv6-unicast\"]\nhold-time = 30\nidle-hold = 1\n",
            c.v6
        ));
    }
    s
}

#[test]
fn ipv6_and_add_path_across_members() {
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, clients) = three_and_three().unwrap();
    let cluster = Cluster::start_with(members.clone(), dir.path(), &neighbors(&clients)).unwrap();
    let logs = || {
        cluster
            .dirs
            .iter()
            .map(|d| reflex_tests::reflex::log_tail(d))
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    // Each client peers with every member over both families; only the
    // owner of each of its sessions answers.
    let every_member: Vec<(IpAddr, u32)> = members
        .iter()
        .flat_map(|m| [(IpAddr::V4(m.v4), 65000), (IpAddr::V6(m.v6), 65000)])
        .collect();
    let gobgp: Vec<Gobgp> = clients
        .iter()
        .map(|c| {
            Gobgp::start(
                c,
                dir.path(),
                &GobgpConfig {
                    router_id: c.v4,
                    local_as: 65000,
                    neighbors: every_member.clone(),
                    add_path: true,
                    hold_time: 30,
                },
            )
            .unwrap()
        })
        .collect();
    // The member that runs each session: both of every client's are up.
    for (g, c) in gobgp.iter().zip(&clients) {
        for v6 in [false, true] {
            let up = wait_for(60, || {
                members.iter().find(|m| {
                    let peer = if v6 {
                        IpAddr::V6(m.v6)
                    } else {
                        IpAddr::V4(m.v4)
                    };
                    g.bgp_state(peer).as_deref() == Some("ESTABLISHED")
                })
            });
            assert!(
                up.is_some(),
                "{} (IPv6: {v6}) has no session up\n{}\n{}",
                c.ns,
                g.log_tail(),
                logs()
            );
        }
    }

    // Two clients announce the same IPv4 prefix; the third (ADD-PATH) gets
    // both paths, whichever members own the sessions.
    gobgp[0]
        .announce(PREFIX_V4, IpAddr::V4(clients[0].v4))
        .unwrap();
    gobgp[1]
        .announce(PREFIX_V4, IpAddr::V4(clients[1].v4))
        .unwrap();
    let paths = wait_for(30, || gobgp[2].paths(PREFIX_V4).filter(|p| p.len() == 2));
    let mut paths = paths.unwrap_or_else(|| {
        panic!(
            "client 3 lacks the two paths: {:?}\n{}",
            gobgp[2].paths(PREFIX_V4),
            logs()
        )
    });
    paths.sort_by(|a, b| a.next_hop.cmp(&b.next_hop));
    paths[0].assert_reflected(&clients[0], IpAddr::V4(clients[0].v4), CLUSTER_ID);
    paths[1].assert_reflected(&clients[1], IpAddr::V4(clients[1].v4), CLUSTER_ID);

    // An IPv6 route reaches the other two over their IPv6 sessions.
    gobgp[0]
        .announce(PREFIX_V6, IpAddr::V6(clients[0].v6))
        .unwrap();
    for g in &gobgp[1..] {
        let p = wait_for(30, || g.paths(PREFIX_V6).filter(|p| !p.is_empty()));
        let p = p.unwrap_or_else(|| panic!("{PREFIX_V6} not reflected\n{}", logs()));
        p[0].assert_reflected(&clients[0], IpAddr::V6(clients[0].v6), CLUSTER_ID);
    }

    // One reflector: the six sessions are spread two per member, and every
    // member holds the same RIB.
    let out = cluster.ask(0, &["status".into()]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let owners = v["owners"].as_object().unwrap();
    assert_eq!(owners.len(), 6, "{out}");
    for m in 1..=3u64 {
        let n = owners.values().filter(|o| o.as_u64() == Some(m)).count();
        assert_eq!(n, 2, "member {m}: {out}");
    }
    let agreed = cluster.agree(60, 2);
    assert!(agreed.is_some(), "digests differ: {:?}", cluster.digests());

    // Withdrawn on one member, gone from the others' clients.
    gobgp[0].withdraw(PREFIX_V6).unwrap();
    gobgp[0].withdraw(PREFIX_V4).unwrap();
    let gone = wait_for(30, || {
        (gobgp[1].paths(PREFIX_V6).is_none_or(|p| p.is_empty())
            && gobgp[2].paths(PREFIX_V4).is_some_and(|p| p.len() == 1))
        .then_some(())
    });
    assert!(gone.is_some(), "withdrawals not reflected\n{}", logs());
}
