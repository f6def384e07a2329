//! One reflector, every kind of peer: BIRD, FRR and GoBGP clients, ExaBGP
//! and BIRD non-clients. Also session faults against BIRD: a hold-timer
//! expiry and a NOTIFICATION from the peer, each followed by the session
//! coming back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::exabgp::{Exabgp, ExabgpConfig};
use reflex_tests::frr::{Frr, FrrConfig, Json};
use reflex_tests::gobgp::{Gobgp, GobgpConfig};
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::IpAddr;
use std::path::Path;

const CLUSTER_ID: &str = "198.18.255.1";

/// (node, route-reflector client, passive, hold time)
type Neighbor<'a> = (&'a Node, bool, bool, u16);

fn reflector_config(rr: &Node, data: &Path, neighbors: &[Neighbor<'_>]) -> String {
    let mut c = format!(
        "router-id = \"{}\"\nlocal-as = 65000\ncluster-id = \"{CLUSTER_ID}\"\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{}\"]\n",
        rr.v4,
        data.display(),
        rr.v4
    );
    for (n, client, passive, hold) in neighbors {
        c.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = {client}\npassive = {passive}\nhold-time = {hold}\nidle-hold = 1\nconnect-retry = 2\n",
            n.v4
        ));
    }
    c
}

fn bird(node: &Node, rr: &Node, dir: &Path, routes: Vec<&str>) -> Bird {
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

fn wait_bird_established(b: &Bird, dir: &Path, secs: u64) {
    let st = wait_for(secs, || {
        b.bgp_state("reflector").filter(|s| s == "Established")
    });
    assert!(
        st.is_some(),
        "BIRD not Established: {:?}\n{}",
        b.birdc("show protocols all reflector"),
        reflex_tests::reflex::log_tail(dir)
    );
}

#[test]
fn every_client_route_reaches_every_other_peer_and_non_client_routes_reach_clients_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let nb = lan.node(2).unwrap(); // BIRD client
    let nf = lan.node(3).unwrap(); // FRR client
    let ng = lan.node(4).unwrap(); // GoBGP client
    let ne = lan.node(5).unwrap(); // ExaBGP non-client
    let nn = lan.node(6).unwrap(); // BIRD non-client
    let config = reflector_config(
        &rr,
        &d.join("data"),
        &[
            (&nb, true, false, 30),
            (&nf, true, false, 30),
            (&ng, true, false, 30),
            (&ne, false, true, 30),
            (&nn, false, false, 30),
        ],
    );
    let mut reflex = reflex_tests::reflex::start(&rr, d, &config).unwrap();

    let b = bird(&nb, &rr, d, vec!["198.19.40.0/24"]);
    let bn = bird(&nn, &rr, d, vec!["198.19.45.0/24"]);
    let f = Frr::start(
        &nf,
        d,
        &FrrConfig {
            router_id: nf.v4,
            local_as: 65000,
            neighbors: vec![(IpAddr::V4(rr.v4), 65000)],
            routes: vec!["198.19.41.0/24"],
            hold_time: 30,
        },
    )
    .unwrap();
    let g = Gobgp::start(
        &ng,
        d,
        &GobgpConfig {
            router_id: ng.v4,
            local_as: 65000,
            neighbors: vec![(IpAddr::V4(rr.v4), 65000)],
            add_path: false,
            hold_time: 30,
        },
    )
    .unwrap();
    g.announce("198.19.42.0/24", IpAddr::V4(ng.v4)).unwrap();
    let e = Exabgp::start(
        &ne,
        d,
        &ExabgpConfig {
            router_id: ne.v4,
            local_as: 65000,
            peer: rr.v4,
            peer_as: 65000,
            hold_time: 30,
            routes: vec!["198.19.43.0/24 next-hop self"],
        },
    )
    .unwrap();

    wait_bird_established(&b, d, 40);
    wait_bird_established(&bn, d, 40);
    let up = wait_for(40, || {
        (f.bgp_state(IpAddr::V4(rr.v4)).as_deref() == Some("Established")
            && g.bgp_state(IpAddr::V4(rr.v4)).as_deref() == Some("ESTABLISHED")
            && e.is_up())
        .then_some(())
    });
    assert!(
        up.is_some(),
        "FRR {:?}, GoBGP {:?}, ExaBGP {:?}\n{}",
        f.bgp_state(IpAddr::V4(rr.v4)),
        g.bgp_state(IpAddr::V4(rr.v4)),
        e.states(),
        reflex_tests::reflex::log_tail(d)
    );

    // (prefix, source node) of each client, then the ExaBGP non-client.
    let client_routes = [
        ("198.19.40.0/24", &nb),
        ("198.19.41.0/24", &nf),
        ("198.19.42.0/24", &ng),
    ];
    let nonclient_routes = [("198.19.43.0/24", &ne), ("198.19.45.0/24", &nn)];

    // Checks one peer's view of a reflected route.
    let check = |who: &str,
                 prefix: &str,
                 src: &Node,
                 originator: Option<String>,
                 clusters: Vec<String>,
                 nh: Option<String>| {
        assert_eq!(
            originator.as_deref(),
            Some(src.v4.to_string().as_str()),
            "{who}: ORIGINATOR_ID of {prefix}"
        );
        assert_eq!(clusters, [CLUSTER_ID], "{who}: CLUSTER_LIST of {prefix}");
        assert_eq!(
            nh.as_deref(),
            Some(src.v4.to_string().as_str()),
            "{who}: NEXT_HOP of {prefix}"
        );
    };

    // Every route a client must see: the other clients' and the
    // non-clients'.
    for (prefix, src) in client_routes.iter().chain(&nonclient_routes) {
        if src.ns != nb.ns {
            let got = wait_for(30, || b.route(prefix));
            assert!(
                got.is_some(),
                "BIRD client lacks {prefix}\n{}",
                reflex_tests::reflex::log_tail(d)
            );
            check(
                "BIRD",
                prefix,
                src,
                b.route_attr(prefix, "BGP.originator_id"),
                b.route_attr(prefix, "BGP.cluster_list")
                    .map(|c| c.split_whitespace().map(String::from).collect())
                    .unwrap_or_default(),
                b.route_attr(prefix, "BGP.next_hop"),
            );
        }
        if src.ns != nf.ns {
            let got = wait_for(30, || f.paths(prefix));
            let Some(paths) = got else {
                panic!(
                    "FRR client lacks {prefix}\n{}\n{}",
                    f.log_tail(),
                    reflex_tests::reflex::log_tail(d)
                );
            };
            let p = &paths[0];
            check(
                "FRR",
                prefix,
                src,
                p.get("originatorId")
                    .and_then(Json::as_str)
                    .map(String::from),
                p.at("clusterList.list")
                    .and_then(Json::as_array)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Json::as_str)
                    .map(String::from)
                    .collect(),
                p.at("nexthops.0.ip")
                    .and_then(Json::as_str)
                    .map(String::from),
            );
        }
        if src.ns != ng.ns {
            let got = wait_for(30, || g.paths(prefix));
            let Some(paths) = got else {
                panic!(
                    "GoBGP client lacks {prefix}\n{}\n{}",
                    g.log_tail(),
                    reflex_tests::reflex::log_tail(d)
                );
            };
            let p = paths[0].clone();
            check(
                "GoBGP",
                prefix,
                src,
                p.originator_id,
                p.cluster_list,
                p.next_hop,
            );
        }
    }

    // The non-clients get every client route (RFC 4456 §8)...
    for (prefix, src) in &client_routes {
        let got = wait_for(30, || e.routes().into_iter().find(|(p, _)| p == prefix));
        let Some((_, attrs)) = got else {
            panic!(
                "ExaBGP lacks {prefix}: {:?}\n{}",
                e.messages(),
                reflex_tests::reflex::log_tail(d)
            );
        };
        assert_eq!(
            attrs.get("originator-id").and_then(Json::as_str),
            Some(src.v4.to_string().as_str()),
            "{attrs:?}"
        );
        let clusters: Vec<&str> = attrs
            .get("cluster-list")
            .and_then(Json::as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(Json::as_str)
            .collect();
        assert_eq!(clusters, [CLUSTER_ID], "{attrs:?}");
        assert!(
            wait_for(30, || bn.route(prefix)).is_some(),
            "BIRD non-client lacks {prefix}\n{}",
            reflex_tests::reflex::log_tail(d)
        );
        assert_eq!(
            bn.route_attr(prefix, "BGP.originator_id").as_deref(),
            Some(src.v4.to_string().as_str())
        );
    }
    // ...but never another non-client's route.
    assert!(
        bn.route("198.19.43.0/24").is_none(),
        "non-client route reflected to a non-client: {:?}",
        bn.route("198.19.43.0/24")
    );
    assert!(
        !e.routes()
            .iter()
            .any(|(p, _)| p == "198.19.45.0/24" || p == "198.19.43.0/24"),
        "non-client route reflected to a non-client: {:?}",
        e.routes()
    );

    // A withdrawal from a client reaches every peer.
    f.network("198.19.41.0/24", false).unwrap();
    let gone = wait_for(30, || {
        (b.route("198.19.41.0/24").is_none()
            && g.paths("198.19.41.0/24").is_none()
            && bn.route("198.19.41.0/24").is_none()
            && !e.routes().iter().any(|(p, _)| p == "198.19.41.0/24"))
        .then_some(())
    });
    assert!(
        gone.is_some(),
        "withdrawal not everywhere\n{}",
        reflex_tests::reflex::log_tail(d)
    );
    // And one from the ExaBGP non-client reaches the clients.
    e.command("withdraw route 198.19.43.0/24 next-hop self")
        .unwrap();
    let gone = wait_for(30, || {
        (b.route("198.19.43.0/24").is_none()
            && f.paths("198.19.43.0/24").is_none()
            && g.paths("198.19.43.0/24").is_none())
        .then_some(())
    });
    assert!(
        gone.is_some(),
        "ExaBGP withdrawal not propagated\n{}",
        reflex_tests::reflex::log_tail(d)
    );
    assert!(reflex.is_running());
}

/// A reflector with two BIRD clients: client 1 (Reflex's hold time
/// `hold1`) announces `route`, which has reached client 2.
struct TwoClients {
    lan: Lan,
    n1: Node,
    reflex: reflex_tests::netns::Daemon,
    b1: Bird,
    b2: Bird,
}

fn two_clients(d: &Path, hold1: u16, route: &str) -> TwoClients {
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let n1 = lan.node(2).unwrap();
    let n2 = lan.node(3).unwrap();
    let config = reflector_config(
        &rr,
        &d.join("data"),
        &[(&n1, true, false, hold1), (&n2, true, false, 30)],
    );
    let reflex = reflex_tests::reflex::start(&rr, d, &config).unwrap();
    let b1 = bird(&n1, &rr, d, vec![route]);
    let b2 = bird(&n2, &rr, d, vec![]);
    wait_bird_established(&b1, d, 30);
    wait_bird_established(&b2, d, 30);
    assert!(
        wait_for(20, || b2.route(route)).is_some(),
        "{}",
        reflex_tests::reflex::log_tail(d)
    );
    TwoClients {
        lan,
        n1,
        reflex,
        b1,
        b2,
    }
}

impl TwoClients {
    /// Client 1 went down with `reason` (code `code`) and its route left
    /// client 2.
    fn assert_down(&self, d: &Path, route: &str, reason: &str, code: &str) {
        let down = wait_for(15, || {
            reflex_tests::reflex::peer_lines(d, &self.n1, "session down")
                .into_iter()
                .find(|l| l.contains(reason) && l.contains(code))
        });
        assert!(
            down.is_some(),
            "no {reason} {code}\n{}",
            reflex_tests::reflex::log_tail(d)
        );
        let gone = wait_for(15, || self.b2.route(route).is_none().then_some(()));
        assert!(
            gone.is_some(),
            "route of the downed client kept\n{}",
            reflex_tests::reflex::log_tail(d)
        );
    }

    /// Client 1 is back and its route is at client 2 again.
    fn assert_back(&mut self, d: &Path, route: &str) {
        wait_bird_established(&self.b1, d, 40);
        assert!(
            reflex_tests::reflex::peer_lines(d, &self.n1, "session established").len() >= 2,
            "{}",
            reflex_tests::reflex::log_tail(d)
        );
        assert!(
            wait_for(20, || self.b2.route(route)).is_some(),
            "route not back\n{}",
            reflex_tests::reflex::log_tail(d)
        );
        assert_eq!(
            self.b2.bgp_state("reflector").as_deref(),
            Some("Established")
        );
        assert!(self.reflex.is_running());
    }
}

#[test]
fn hold_timer_expiry_resets_the_session_and_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let route = "198.19.50.0/24";
    let mut t = two_clients(d, 3, route);
    // Cut client 1 off: nothing arrives from it, Reflex's hold timer (3 s,
    // the minimum of both proposals) expires. Its route goes (no graceful
    // restart after a hold timer expiry: the RFC 4724 helper keeps routes
    // on a TCP drop only).
    t.lan.set_link(&t.n1, false).unwrap();
    t.assert_down(d, route, "NotificationSent", "code: 4");
    t.lan.set_link(&t.n1, true).unwrap();
    t.assert_back(d, route);
}

#[test]
fn notification_from_a_peer_is_handled_and_the_session_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let route = "198.19.51.0/24";
    let mut t = two_clients(d, 30, route);
    // BIRD sends a Cease (Administrative Shutdown) when the protocol is
    // disabled.
    t.b1.birdc("disable reflector").unwrap();
    t.assert_down(d, route, "NotificationReceived", "code: 6");
    t.b1.birdc("enable reflector").unwrap();
    t.assert_back(d, route);
}
