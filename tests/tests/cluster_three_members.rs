//! Three Reflex members form one route reflector (a Raft cluster) in
//! network namespaces, with BIRD clients spread over them: a neighbour's
//! session runs on the member the replicated owner map names; a route from
//! a client of one member reaches the clients of the others as a single
//! reflector would send it; every member's RIB digest is the same.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::netns::{Daemon, Lan, Node, wait_for};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

const CLUSTER_ID: &str = "198.18.255.1";
const RAFT_PORT: u16 = 11179;
const ROUTE: &str = "198.19.60.0/24";

fn member_config(me: u64, member: &Node, data: &Path, clients: &[&Node]) -> String {
    // The RIB's identity (router id, cluster id, AS) is the cluster's, the
    // same on every member; each member listens on its own address.
    let mut c = format!(
        "router-id = \"{CLUSTER_ID}\"\nlocal-as = 65000\ncluster-id = \"{CLUSTER_ID}\"\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{}\"]\n\n[cluster]\nmember-id = {me}\nraft-address = \"{}:{RAFT_PORT}\"\nbootstrap = false\n",
        data.display(),
        member.v4,
        member.v4
    );
    for n in clients {
        c.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nhold-time = 30\nidle-hold = 1\n",
            n.v4
        ));
    }
    c
}

/// The last `RIB digest` line of a member's log: (applied index, Loc-RIB
/// size, digest).
fn digest(dir: &Path) -> Option<(u64, usize, String)> {
    let log = reflex_tests::reflex::log(dir);
    let line = log.lines().rev().find(|l| l.contains("RIB digest"))?;
    let field = |name: &str| {
        line.split(&format!("{name}="))
            .nth(1)?
            .split_whitespace()
            .next()
            .map(str::to_string)
    };
    Some((
        field("applied")?.parse().ok()?,
        field("loc_rib")?.parse().ok()?,
        field("digest")?,
    ))
}

#[test]
fn three_members_reflect_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let members: Vec<Node> = (1..=3).map(|i| lan.node(i).unwrap()).collect();
    let clients: Vec<Node> = (4..=6).map(|i| lan.node(i).unwrap()).collect();
    let client_refs: Vec<&Node> = clients.iter().collect();
    let dirs: Vec<PathBuf> = (1..=3).map(|i| dir.path().join(format!("m{i}"))).collect();
    let mut daemons: Vec<Daemon> = Vec::new();
    for (i, (m, d)) in members.iter().zip(&dirs).enumerate() {
        std::fs::create_dir_all(d).unwrap();
        let conf = member_config(i as u64 + 1, m, &d.join("data"), &client_refs);
        daemons.push(reflex_tests::reflex::start(m, d, &conf).unwrap());
    }
    // `reflex cluster init`, asked of member 1.
    let raft = |m: &Node| format!("{}:{RAFT_PORT}", m.v4);
    let init = wait_for(10, || {
        let mut args = vec![
            "cluster".to_string(),
            "init".into(),
            "--raft".into(),
            raft(&members[0]),
        ];
        for (i, m) in members.iter().enumerate() {
            args.push("--member".into());
            args.push(format!("{}={}", i + 1, raft(m)));
        }
        let out = members[0]
            .command(&reflex_tests::reflex::binary().to_string_lossy())
            .args(&args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    });
    assert!(
        init.is_some(),
        "cluster init failed\n{}",
        reflex_tests::reflex::log_tail(&dirs[0])
    );

    // Each client peers with every member; only its owner answers.
    let birds: Vec<Bird> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Bird::start(
                c,
                dir.path(),
                &BirdConfig {
                    router_id: c.v4,
                    local_as: 65000,
                    neighbors: vec![
                        ("m1", IpAddr::V4(members[0].v4), 65000),
                        ("m2", IpAddr::V4(members[1].v4), 65000),
                        ("m3", IpAddr::V4(members[2].v4), 65000),
                    ],
                    routes: if i == 0 { vec![ROUTE] } else { vec![] },
                },
            )
            .unwrap()
        })
        .collect();
    // Owners are balanced: client i on member i + 1.
    for (i, b) in birds.iter().enumerate() {
        let owner = format!("m{}", i + 1);
        let up = wait_for(60, || b.bgp_state(&owner).filter(|s| s == "Established"));
        assert!(
            up.is_some(),
            "client {i} not established with {owner}\n{}",
            reflex_tests::reflex::log_tail(&dirs[i])
        );
    }
    // Client 0's route reaches the clients of members 2 and 3, reflected.
    for (i, b) in birds.iter().enumerate().skip(1) {
        let got = wait_for(30, || b.route(ROUTE));
        assert!(
            got.is_some(),
            "client {i} lacks {ROUTE}\n{}",
            reflex_tests::reflex::log_tail(&dirs[i])
        );
        let originator = b.route_attr(ROUTE, "BGP.originator_id").unwrap_or_default();
        assert!(
            originator.contains(&clients[0].v4.to_string()),
            "{originator}"
        );
        let list = b.route_attr(ROUTE, "BGP.cluster_list").unwrap_or_default();
        assert!(list.contains(CLUSTER_ID), "{list}");
    }
    // Every member applied the same log to the same RIB.
    let agreed = wait_for(30, || {
        let d: Vec<_> = dirs.iter().map(|d| digest(d)).collect::<Option<Vec<_>>>()?;
        // The route and the clients' LAN prefix (BIRD's `protocol direct`).
        (d.iter().all(|x| *x == d[0]) && d[0].1 >= 2).then(|| d[0].clone())
    });
    assert!(
        agreed.is_some(),
        "digests differ: {:?}",
        dirs.iter().map(|d| digest(d)).collect::<Vec<_>>()
    );
    if std::env::var_os("SHOW_LOGS").is_some() {
        for d in &dirs {
            eprintln!(
                "---- {}\n{}",
                d.display(),
                reflex_tests::reflex::log_tail(d)
            );
        }
    }
    drop(birds);
    drop(daemons);
}
