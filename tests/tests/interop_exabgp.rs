//! Bad input from live peers: ExaBGP (and a scripted peer for what ExaBGP
//! cannot send) as route-reflector clients, a BIRD client as the observer
//! whose session must not be disturbed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::exabgp::{BAD_MARKER_PEER, Exabgp, ExabgpConfig};
use reflex_tests::netns::{Daemon, Lan, Node, wait_for};
use reflex_tests::reflex::downs_after_up;
use std::net::IpAddr;
use std::path::Path;

const CLUSTER_ID: &str = "198.18.255.1";

/// A reflector with these clients; `passive` ones are waited for (ExaBGP
/// and the scripted peer only connect, they do not listen).
fn reflector_config(rr: &Node, data: &Path, clients: &[(&Node, bool)]) -> String {
    let mut c = format!(
        "router-id = \"{}\"\nlocal-as = 65000\ncluster-id = \"{CLUSTER_ID}\"\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{}\"]\n",
        rr.v4,
        data.display(),
        rr.v4
    );
    for (n, passive) in clients {
        c.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\npassive = {passive}\nhold-time = 30\nidle-hold = 1\n",
            n.v4
        ));
    }
    c
}

fn observer(node: &Node, rr: &Node, dir: &Path) -> Bird {
    let b = Bird::start(
        node,
        dir,
        &BirdConfig {
            router_id: node.v4,
            local_as: 65000,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes: vec!["198.19.39.0/24"],
        },
    )
    .unwrap();
    let st = wait_for(30, || {
        b.bgp_state("reflector").filter(|s| s == "Established")
    });
    assert!(
        st.is_some(),
        "BIRD observer not Established: {:?}\n{}",
        b.birdc("show protocols all reflector"),
        reflex_tests::reflex::log_tail(dir)
    );
    b
}

/// The observer's session was never disturbed: established once, never
/// down, and Established now.
fn assert_undisturbed(dir: &Path, bird: &Bird, node: &Node, reflex: &mut Daemon) {
    assert!(
        reflex.is_running(),
        "reflex exited\n{}",
        reflex_tests::reflex::log_tail(dir)
    );
    assert_eq!(
        bird.bgp_state("reflector").as_deref(),
        Some("Established"),
        "{:?}",
        bird.birdc("show protocols all reflector")
    );
    assert_eq!(
        reflex_tests::reflex::peer_lines(dir, node, "session established").len(),
        1,
        "{}",
        reflex_tests::reflex::log_tail(dir)
    );
    let downs = downs_after_up(dir, node);
    assert!(downs.is_empty(), "{downs:?}");
}

#[test]
fn malformed_attributes_are_treated_as_withdraw_and_cluster_loops_dropped_without_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let obs = lan.node(2).unwrap();
    let exa = lan.node(3).unwrap();
    let config = reflector_config(&rr, &d.join("data"), &[(&obs, false), (&exa, true)]);
    let mut reflex = reflex_tests::reflex::start(&rr, d, &config).unwrap();
    let bird = observer(&obs, &rr, d);
    let e = Exabgp::start(
        &exa,
        d,
        &ExabgpConfig {
            router_id: exa.v4,
            local_as: 65000,
            peer: rr.v4,
            peer_as: 65000,
            hold_time: 30,
            routes: vec![
                "198.19.30.0/24 next-hop self",
                "198.19.31.0/24 next-hop self",
                "198.19.32.0/24 next-hop self",
            ],
        },
    )
    .unwrap();
    let up = wait_for(40, || e.is_up().then_some(()));
    assert!(
        up.is_some(),
        "ExaBGP not up: {:?}\n{}\n{}",
        e.states(),
        e.log_tail(),
        reflex_tests::reflex::log_tail(d)
    );
    for p in ["198.19.30.0/24", "198.19.31.0/24", "198.19.32.0/24"] {
        assert!(
            wait_for(20, || bird.route(p)).is_some(),
            "{p} not reflected\n{}",
            reflex_tests::reflex::log_tail(d)
        );
    }
    // ExaBGP, a client, gets the observer's route (its own view).
    let seen = wait_for(20, || {
        e.routes().into_iter().find(|(p, _)| p == "198.19.39.0/24")
    });
    assert!(seen.is_some(), "{:?}", e.messages());

    // (a) RFC 7606: a MULTI_EXIT_DISC of 2 octets (§7.4) and one with the
    // flags of a well-known attribute (§3 c) are treat-as-withdraw: the
    // earlier 198.19.31.0/24 and 198.19.32.0/24 are withdrawn, a new
    // 198.19.36.0/24 never appears, and the session stays up.
    e.command("announce route 198.19.31.0/24 next-hop self attribute [ 0x04 0x80 0x0001 ]")
        .unwrap();
    e.command("announce route 198.19.32.0/24 next-hop self attribute [ 0x04 0x40 0x00000064 ]")
        .unwrap();
    e.command("announce route 198.19.36.0/24 next-hop self attribute [ 0x04 0x80 0x0001 ]")
        .unwrap();
    for p in ["198.19.31.0/24", "198.19.32.0/24"] {
        let gone = wait_for(20, || bird.route(p).is_none().then_some(()));
        assert!(
            gone.is_some(),
            "treat-as-withdraw did not withdraw {p}: {:?}\nExaBGP:\n{}\n{}",
            bird.route(p),
            e.log_tail(),
            reflex_tests::reflex::log_tail(d)
        );
    }

    // (c) A client route carrying our CLUSTER_ID, or our router id as
    // ORIGINATOR_ID, is dropped (RFC 4456 §8) and counted.
    e.command(&format!(
        "announce route 198.19.33.0/24 next-hop self cluster-list [ {CLUSTER_ID} ]"
    ))
    .unwrap();
    e.command(&format!(
        "announce route 198.19.34.0/24 next-hop self originator-id {}",
        rr.v4
    ))
    .unwrap();
    // A good route sent after all that still flows: the session is alive
    // and the bad ones were processed before it.
    e.command("announce route 198.19.35.0/24 next-hop self")
        .unwrap();
    assert!(
        wait_for(20, || bird.route("198.19.35.0/24")).is_some(),
        "route after the bad ones not reflected\n{}\n{}",
        e.log_tail(),
        reflex_tests::reflex::log_tail(d)
    );
    for p in ["198.19.33.0/24", "198.19.34.0/24", "198.19.36.0/24"] {
        assert!(
            bird.route(p).is_none(),
            "{p} was reflected: {:?}",
            bird.route(p)
        );
    }
    let counted = wait_for(10, || {
        let l = reflex_tests::reflex::log(d);
        (l.contains("received routes dropped by import checks")
            && l.contains("cluster_loop=1")
            && l.contains("originator_loop=1"))
        .then_some(())
    });
    assert!(
        counted.is_some(),
        "no loop drop counted\n{}",
        reflex_tests::reflex::log_tail(d)
    );

    // The session never went down, on either side.
    assert!(e.is_up(), "{:?}", e.states());
    assert_eq!(e.states().iter().filter(|s| *s == "down").count(), 0);
    assert!(e.notifications().is_empty(), "{:?}", e.notifications());
    let downs = downs_after_up(d, &exa);
    assert!(downs.is_empty(), "{downs:?}");
    // (d) Nothing else was disturbed.
    assert_undisturbed(d, &bird, &obs, &mut reflex);
}

#[test]
fn bad_message_header_gets_notification_1_1_and_the_session_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let obs = lan.node(2).unwrap();
    let scripted = lan.node(3).unwrap();
    let config = reflector_config(&rr, &d.join("data"), &[(&obs, false), (&scripted, true)]);
    let mut reflex = reflex_tests::reflex::start(&rr, d, &config).unwrap();
    let bird = observer(&obs, &rr, d);

    let out = scripted
        .run(&[
            "python3",
            "-c",
            BAD_MARKER_PEER,
            &scripted.v4.to_string(),
            &rr.v4.to_string(),
            "65000",
            &scripted.v4.to_string(),
        ])
        .unwrap_or_else(|e| {
            panic!(
                "scripted peer failed: {e}\n{}",
                reflex_tests::reflex::log_tail(d)
            )
        });
    let steps: Vec<&str> = out.lines().filter(|l| !l.starts_with("retry")).collect();
    assert_eq!(
        steps,
        ["ESTABLISHED", "NOTIFICATION 1 1", "ESTABLISHED AGAIN"],
        "{out}\n{}",
        reflex_tests::reflex::log_tail(d)
    );
    // Reflex's side: the session went down with the NOTIFICATION it sent
    // (Message Header Error / Connection Not Synchronized), and came back.
    let down = downs_after_up(d, &scripted);
    assert!(
        down.first().is_some_and(|l| l.contains("NotificationSent")
            && l.contains("code: 1")
            && l.contains("subcode: 1")),
        "{down:?}\n{}",
        reflex_tests::reflex::log_tail(d)
    );
    assert!(
        reflex_tests::reflex::peer_lines(d, &scripted, "session established").len() >= 2,
        "{}",
        reflex_tests::reflex::log_tail(d)
    );
    assert_undisturbed(d, &bird, &obs, &mut reflex);
}

#[test]
fn an_active_only_peer_reaches_established_with_a_non_passive_neighbor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let exa = lan.node(2).unwrap();
    let config = reflector_config(&rr, &d.join("data"), &[(&exa, false)]);
    let _reflex = reflex_tests::reflex::start(&rr, d, &config).unwrap();
    let e = Exabgp::start(
        &exa,
        d,
        &ExabgpConfig {
            router_id: exa.v4,
            local_as: 65000,
            peer: rr.v4,
            peer_as: 65000,
            hold_time: 30,
            routes: vec![],
        },
    )
    .unwrap();
    let up = wait_for(30, || e.is_up().then_some(()));
    assert!(
        up.is_some(),
        "ExaBGP not up: {:?}\n{}\n{}",
        e.states(),
        e.log_tail(),
        reflex_tests::reflex::log_tail(d)
    );
}
