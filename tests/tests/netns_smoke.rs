//! The namespace harness itself: two nodes on a LAN reach each other over
//! IPv4 and IPv6, and everything is gone afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::netns::{Lan, available};

#[test]
fn two_nodes_ping_and_are_cleaned_up() {
    assert!(available(), "tests need root and iproute2 (ip netns)");
    let ns_names;
    {
        let mut lan = Lan::new().unwrap();
        let a = lan.node(1).unwrap();
        let b = lan.node(2).unwrap();
        a.run(&["ping", "-c", "1", "-W", "2", &b.v4.to_string()])
            .unwrap();
        a.run(&["ping", "-6", "-c", "1", "-W", "2", &b.v6.to_string()])
            .unwrap();
        ns_names = vec![a.ns.clone(), b.ns.clone()];
    }
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for n in ns_names {
        assert!(!list.contains(&n), "{n} left behind");
    }
}
