//! Reflex against GoBGP in network namespaces: route-reflector clients over
//! IPv4 and IPv6, with and without ADD-PATH.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::frr::tail;
use reflex_tests::gobgp::{Gobgp, GobgpConfig, RibPath};
use reflex_tests::netns::{Daemon, Lan, Node, wait_for};
use std::net::IpAddr;

const CLUSTER_ID: &str = "198.18.255.1";

/// One client of the reflector: its node, whether it has an IPv6 session
/// too, and whether ADD-PATH (both directions, IPv4) is on.
struct Client {
    node: Node,
    v6: bool,
    add_path: bool,
}

fn reflector_config(rr: &Node, data: &std::path::Path, clients: &[Client]) -> String {
    let mut c = format!(
        "router-id = \"{}\"\nlocal-as = 65000\ncluster-id = \"{CLUSTER_ID}\"\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{}\", \"{}\"]\n",
        rr.v4,
        data.display(),
        rr.v4,
        rr.v6
    );
    for cl in clients {
        c.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nfamilies = [\"ipv4-unicast\"]\nhold-time = 30\nidle-hold = 1\n",
            cl.node.v4
        ));
        if cl.add_path {
            c.push_str("add-path = { ipv4-unicast = \"both\" }\n");
        }
        if cl.v6 {
            c.push_str(&format!(
                "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nfamilies = [\"ipv6-unicast\"]\nhold-time = 30\nidle-hold = 1\n",
                cl.node.v6
            ));
        }
    }
    c
}

struct Topology {
    dir: tempfile::TempDir,
    rr: Node,
    gobgp: Vec<Gobgp>,
    clients: Vec<Client>,
    _reflex: Daemon,
    _lan: Lan,
}

impl Topology {
    /// Reflex on node 1, one GoBGP client per (v6, add_path) entry on nodes
    /// 2, 3, ...
    fn new(specs: &[(bool, bool)]) -> Topology {
        let dir = tempfile::tempdir().unwrap();
        let mut lan = Lan::new().unwrap();
        let rr = lan.node(1).unwrap();
        let clients: Vec<Client> = specs
            .iter()
            .enumerate()
            .map(|(i, &(v6, add_path))| Client {
                node: lan.node(2 + i as u8).unwrap(),
                v6,
                add_path,
            })
            .collect();
        let config = reflector_config(&rr, &dir.path().join("data"), &clients);
        let reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
        let gobgp = clients
            .iter()
            .map(|c| {
                let mut neighbors = vec![(IpAddr::V4(rr.v4), 65000)];
                if c.v6 {
                    neighbors.push((IpAddr::V6(rr.v6), 65000));
                }
                Gobgp::start(
                    &c.node,
                    dir.path(),
                    &GobgpConfig {
                        router_id: c.node.v4,
                        local_as: 65000,
                        neighbors,
                        add_path: c.add_path,
                        hold_time: 30,
                    },
                )
                .unwrap()
            })
            .collect();
        let t = Topology {
            dir,
            rr,
            gobgp,
            clients,
            _reflex: reflex,
            _lan: lan,
        };
        t.wait_established();
        t
    }

    fn log(&self) -> String {
        tail(&self.dir.path().join("reflex.log"), 60)
    }

    fn peers(&self, c: &Client) -> Vec<IpAddr> {
        let mut v = vec![IpAddr::V4(self.rr.v4)];
        if c.v6 {
            v.push(IpAddr::V6(self.rr.v6));
        }
        v
    }

    fn wait_established(&self) {
        for (g, c) in self.gobgp.iter().zip(&self.clients) {
            for peer in self.peers(c) {
                let st = wait_for(40, || g.bgp_state(peer).filter(|s| s == "ESTABLISHED"));
                assert!(
                    st.is_some(),
                    "{} -> {peer} not established: {}\ngobgpd log:\n{}\nreflex log:\n{}",
                    c.node.ns,
                    g.neighbor_text(peer),
                    g.log_tail(),
                    self.log()
                );
            }
        }
    }

    /// Waits until `g` holds `n` paths for `prefix` learned from the
    /// reflector.
    fn wait_paths(&self, g: &Gobgp, prefix: &str, n: usize) -> Vec<RibPath> {
        let got = wait_for(30, || g.paths(prefix).filter(|p| p.len() == n));
        got.unwrap_or_else(|| {
            panic!(
                "expected {n} path(s) for {prefix}, have {:?}\ngobgpd log:\n{}\nreflex log:\n{}",
                g.paths(prefix),
                g.log_tail(),
                self.log()
            )
        })
    }

    fn assert_withdrawn(&self, g: &Gobgp, prefix: &str) {
        let gone = wait_for(30, || g.paths(prefix).is_none().then_some(()));
        assert!(
            gone.is_some(),
            "{prefix} still present after withdrawal: {:?}\nreflex log:\n{}",
            g.paths(prefix),
            self.log()
        );
    }
}

/// The path as reflected from `source`: ORIGINATOR_ID = its router id,
/// CLUSTER_LIST = [ours], next hop as the source set it.

#[test]
fn routes_are_reflected_between_gobgp_clients_over_ipv4_and_ipv6() {
    let t = Topology::new(&[(true, false), (true, false)]);
    let (g1, g2) = (&t.gobgp[0], &t.gobgp[1]);
    let (c1, c2) = (&t.clients[0].node, &t.clients[1].node);

    // Capabilities as GoBGP saw them.
    let text = g1.neighbor_text(IpAddr::V4(t.rr.v4));
    for cap in [
        "4-octet-as:\tadvertised and received",
        "route-refresh:\tadvertised and received",
    ] {
        assert!(text.contains(cap), "{cap} missing:\n{text}");
    }
    assert!(
        text.contains("ipv4-unicast:\tadvertised and received"),
        "{text}"
    );
    let text6 = g1.neighbor_text(IpAddr::V6(t.rr.v6));
    assert!(
        text6.contains("ipv6-unicast:\tadvertised and received"),
        "{text6}"
    );
    let nj = g1.neighbors_json().unwrap();
    let states: Vec<u64> = nj
        .as_array()
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.at("state.session_state").and_then(|s| s.as_u64()))
        .collect();
    // apipb.PeerState.SessionState: 6 = ESTABLISHED.
    assert_eq!(states, [6, 6], "{nj:?}");

    g1.announce("198.19.20.0/24", IpAddr::V4(c1.v4)).unwrap();
    g1.announce("2001:db8:ff20::/48", IpAddr::V6(c1.v6))
        .unwrap();
    g2.announce("198.19.21.0/24", IpAddr::V4(c2.v4)).unwrap();

    let p = t.wait_paths(g2, "198.19.20.0/24", 1);
    p[0].assert_reflected(c1, IpAddr::V4(c1.v4), CLUSTER_ID);
    let p = t.wait_paths(g2, "2001:db8:ff20::/48", 1);
    p[0].assert_reflected(c1, IpAddr::V6(c1.v6), CLUSTER_ID);
    let p = t.wait_paths(g1, "198.19.21.0/24", 1);
    p[0].assert_reflected(c2, IpAddr::V4(c2.v4), CLUSTER_ID);
    // The source does not get its own route back.
    assert!(
        g1.paths("198.19.20.0/24").is_none(),
        "{:?}",
        g1.paths("198.19.20.0/24")
    );

    g1.withdraw("198.19.20.0/24").unwrap();
    g1.withdraw("2001:db8:ff20::/48").unwrap();
    t.assert_withdrawn(g2, "198.19.20.0/24");
    t.assert_withdrawn(g2, "2001:db8:ff20::/48");
}

#[test]
fn add_path_clients_get_every_path_and_others_the_best() {
    // Clients 1 and 2 announce the same prefix with their own next hops;
    // client 3 negotiates ADD-PATH and must get both paths; client 4 has
    // no ADD-PATH and gets the best one only.
    let t = Topology::new(&[(false, true), (false, true), (false, true), (false, false)]);
    let n: Vec<&Node> = t.clients.iter().map(|c| &c.node).collect();
    let (g1, g2, g3, g4) = (&t.gobgp[0], &t.gobgp[1], &t.gobgp[2], &t.gobgp[3]);

    let text = g3.neighbor_text(IpAddr::V4(t.rr.v4));
    assert!(
        text.contains("add-path:\tadvertised and received"),
        "{text}"
    );
    let text4 = g4.neighbor_text(IpAddr::V4(t.rr.v4));
    assert!(
        !text4.contains("add-path:\tadvertised and received"),
        "{text4}"
    );

    let prefix = "198.19.22.0/24";
    g1.announce(prefix, IpAddr::V4(n[0].v4)).unwrap();
    g2.announce(prefix, IpAddr::V4(n[1].v4)).unwrap();

    let mut paths = t.wait_paths(g3, prefix, 2);
    paths.sort_by(|a, b| a.next_hop.cmp(&b.next_hop));
    paths[0].assert_reflected(n[0], IpAddr::V4(n[0].v4), CLUSTER_ID);
    paths[1].assert_reflected(n[1], IpAddr::V4(n[1].v4), CLUSTER_ID);

    // Without ADD-PATH: one path, the best. Both are equal up to the RFC
    // 4456 §9 tie-break: the lower ORIGINATOR_ID, client 1's.
    let one = t.wait_paths(g4, prefix, 1);
    one[0].assert_reflected(n[0], IpAddr::V4(n[0].v4), CLUSTER_ID);
    // Stays at one (no second path arrives late).
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(g4.paths(prefix).map(|p| p.len()), Some(1));

    // Client 1 withdraws: the ADD-PATH client keeps client 2's path only,
    // and the other one switches to it.
    g1.withdraw(prefix).unwrap();
    let left = t.wait_paths(g3, prefix, 1);
    let nh2 = n[1].v4.to_string();
    let switched = wait_for(30, || {
        g4.paths(prefix)
            .filter(|p| p.len() == 1 && p[0].next_hop.as_deref() == Some(nh2.as_str()))
    });
    left[0].assert_reflected(n[1], IpAddr::V4(n[1].v4), CLUSTER_ID);
    assert!(
        switched.is_some(),
        "client 4 did not switch to client 2's path: {:?}\nreflex log:\n{}",
        g4.paths(prefix),
        t.log()
    );
    g2.withdraw(prefix).unwrap();
    t.assert_withdrawn(g3, prefix);
    t.assert_withdrawn(g4, prefix);
}
