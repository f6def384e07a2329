//! Reflex against FRR bgpd (without zebra) in network namespaces: two
//! route-reflector clients over IPv4 and IPv6 sessions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::frr::{Frr, FrrConfig, Json, tail};
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::IpAddr;
use std::path::Path;

const CLUSTER_ID: &str = "198.18.255.1";
const HOSTNAME: &str = "reflex-rr";

/// A reflector whose neighbours are all clients in AS 65000: one IPv4
/// session (ipv4-unicast) and one IPv6 session (ipv6-unicast) per client.
fn reflector_config(rr: &Node, data: &Path, clients: &[&Node]) -> String {
    let mut c = format!(
        "router-id = \"{}\"\nlocal-as = 65000\nhostname = \"{HOSTNAME}\"\ncluster-id = \"{CLUSTER_ID}\"\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{}\", \"{}\"]\n",
        rr.v4,
        data.display(),
        rr.v4,
        rr.v6
    );
    for n in clients {
        for (addr, family) in [
            (IpAddr::V4(n.v4), "ipv4-unicast"),
            (IpAddr::V6(n.v6), "ipv6-unicast"),
        ] {
            c.push_str(&format!(
                "\n[[neighbor]]\naddress = \"{addr}\"\nremote-as = 65000\nroute-reflector-client = true\nfamilies = [\"{family}\"]\nhold-time = 30\nidle-hold = 1\n"
            ));
        }
    }
    c
}

struct Topology {
    dir: tempfile::TempDir,
    rr: Node,
    nodes: Vec<Node>,
    frr: Vec<Frr>,
    _reflex: reflex_tests::netns::Daemon,
    _lan: Lan,
}

impl Topology {
    /// Reflex on node 1 and one FRR client per entry of `routes` (the
    /// prefixes it announces) on nodes 2, 3, ...
    fn new(routes: &[&[&str]]) -> Topology {
        let dir = tempfile::tempdir().unwrap();
        let mut lan = Lan::new().unwrap();
        let rr = lan.node(1).unwrap();
        let nodes: Vec<Node> = (0..routes.len())
            .map(|i| lan.node(2 + i as u8).unwrap())
            .collect();
        let config = reflector_config(
            &rr,
            &dir.path().join("data"),
            &nodes.iter().collect::<Vec<_>>(),
        );
        let reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
        let frr = nodes
            .iter()
            .zip(routes)
            .map(|(n, r)| {
                Frr::start(
                    n,
                    dir.path(),
                    &FrrConfig {
                        router_id: n.v4,
                        local_as: 65000,
                        neighbors: vec![(IpAddr::V4(rr.v4), 65000), (IpAddr::V6(rr.v6), 65000)],
                        routes: r.to_vec(),
                        hold_time: 30,
                    },
                )
                .unwrap()
            })
            .collect();
        Topology {
            dir,
            rr,
            nodes,
            frr,
            _reflex: reflex,
            _lan: lan,
        }
    }

    fn log(&self) -> String {
        tail(&self.dir.path().join("reflex.log"), 60)
    }

    /// Waits until every FRR has both sessions Established.
    fn wait_established(&self) {
        for (f, n) in self.frr.iter().zip(&self.nodes) {
            for peer in [IpAddr::V4(self.rr.v4), IpAddr::V6(self.rr.v6)] {
                let st = wait_for(40, || f.bgp_state(peer).filter(|s| s == "Established"));
                assert!(
                    st.is_some(),
                    "{} -> {peer} not Established: {:?}\nbgpd log:\n{}\nreflex log:\n{}",
                    n.ns,
                    f.bgp_state(peer),
                    f.log_tail(),
                    self.log()
                );
            }
        }
    }

    /// Asserts that `frr` holds `prefix` as reflected from `source`: one path
    /// with ORIGINATOR_ID = the source's router id, CLUSTER_LIST = [ours]
    /// and the source's next hop.
    fn assert_reflected(&self, frr: &Frr, prefix: &str, source: &Node) {
        let paths = wait_for(30, || frr.paths(prefix));
        let Some(paths) = paths else {
            panic!(
                "{prefix} never reached the client\nbgpd log:\n{}\nreflex log:\n{}",
                frr.log_tail(),
                self.log()
            );
        };
        let p = &paths[0];
        let nh = if prefix.contains(':') {
            source.v6.to_string()
        } else {
            source.v4.to_string()
        };
        assert_eq!(
            p.get("originatorId").and_then(Json::as_str),
            Some(source.v4.to_string().as_str()),
            "{p:?}"
        );
        let clusters: Vec<&str> = p
            .at("clusterList.list")
            .and_then(Json::as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(Json::as_str)
            .collect();
        assert_eq!(clusters, [CLUSTER_ID], "{p:?}");
        assert_eq!(
            p.at("nexthops.0.ip").and_then(Json::as_str),
            Some(nh.as_str()),
            "{p:?}"
        );
    }

    fn assert_withdrawn(&self, frr: &Frr, prefix: &str) {
        let gone = wait_for(30, || frr.paths(prefix).is_none().then_some(()));
        assert!(
            gone.is_some(),
            "{prefix} still present after withdrawal: {:?}\nreflex log:\n{}",
            frr.paths(prefix),
            self.log()
        );
    }
}

#[test]
fn frr_clients_reach_established_with_the_expected_capabilities() {
    let t = Topology::new(&[&[], &[]]);
    t.wait_established();
    for f in &t.frr {
        for (peer, family) in [
            (IpAddr::V4(t.rr.v4), "ipv4Unicast"),
            (IpAddr::V6(t.rr.v6), "ipv6Unicast"),
        ] {
            let n = f.neighbor(peer).unwrap();
            let caps = n.get("neighborCapabilities").unwrap_or(&Json::Null);
            let cap = |k: &str| caps.get(k).and_then(Json::as_str).unwrap_or("");
            assert_eq!(cap("4byteAs"), "advertisedAndReceived", "{caps:?}");
            assert!(
                cap("routeRefresh").starts_with("advertisedAndReceived"),
                "{caps:?}"
            );
            assert_eq!(
                cap("enhancedRouteRefresh"),
                "advertisedAndReceived",
                "{caps:?}"
            );
            // FRR 8.4 advertises extended messages (RFC 8654) by default.
            assert_eq!(cap("extendedMessage"), "advertisedAndReceived", "{caps:?}");
            assert_eq!(
                caps.at(&format!(
                    "multiprotocolExtensions.{family}.advertisedAndReceived"
                ))
                .and_then(Json::as_bool),
                Some(true),
                "{caps:?}"
            );
            assert_eq!(
                n.get("remoteRouterId").and_then(Json::as_str),
                Some(t.rr.v4.to_string().as_str())
            );
            assert_eq!(n.get("remoteAs").and_then(Json::as_u64), Some(65000));
            // The hostname capability: FRR shows the name we sent.
            assert_eq!(
                n.get("hostname").and_then(Json::as_str),
                Some(HOSTNAME),
                "{n:?}"
            );
        }
    }
    assert!(t.log().contains("session established"), "{}", t.log());
}

#[test]
fn routes_are_reflected_between_frr_clients_over_ipv4_and_ipv6() {
    let t = Topology::new(&[
        &["198.19.10.0/24", "2001:db8:ff10::/48"],
        &["198.19.11.0/24"],
    ]);
    t.wait_established();
    let (c1, c2) = (&t.nodes[0], &t.nodes[1]);
    let (f1, f2) = (&t.frr[0], &t.frr[1]);

    // Client 1's routes reach client 2 with ORIGINATOR_ID, CLUSTER_LIST and
    // the next hop unchanged; and the other way.
    t.assert_reflected(f2, "198.19.10.0/24", c1);
    t.assert_reflected(f2, "2001:db8:ff10::/48", c1);
    t.assert_reflected(f1, "198.19.11.0/24", c2);

    // The source never gets its own route back (it would carry an
    // ORIGINATOR_ID equal to its router id).
    for p in f1.paths("198.19.10.0/24").unwrap_or_default() {
        assert!(
            p.get("originatorId").is_none(),
            "own route reflected: {p:?}"
        );
    }

    // Withdrawals reach the other client.
    f1.network("198.19.10.0/24", false).unwrap();
    f1.network("2001:db8:ff10::/48", false).unwrap();
    t.assert_withdrawn(f2, "198.19.10.0/24");
    t.assert_withdrawn(f2, "2001:db8:ff10::/48");
    // And a new announcement after that still flows.
    f1.network("198.19.12.0/24", true).unwrap();
    t.assert_reflected(f2, "198.19.12.0/24", c1);
}
