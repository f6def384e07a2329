//! A listen address that is not on any interface yet (a link still down,
//! an address configured later) does not stop the daemon: it says so,
//! keeps running, and listens once the address appears.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::netns::{Lan, wait_for};

#[test]
fn listens_once_the_address_appears() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let node = lan.node(1).unwrap();
    // An address of this node's subnet that nothing holds yet.
    let mut segments = node.v6.segments();
    segments[7] = 0x99;
    let later = std::net::Ipv6Addr::from(segments);
    let config = format!(
        "router-id = \"{}\"\nlocal-as = 65000\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{}\", \"{later}\"]\nport = 1179\n",
        node.v4,
        dir.path().join("data").display(),
        node.v4,
    );
    let mut reflex = reflex_tests::reflex::start(&node, dir.path(), &config).unwrap();
    let log = || reflex_tests::reflex::log(dir.path());
    assert!(
        wait_for(20, || log().contains("cannot listen yet").then_some(())).is_some(),
        "{}",
        log()
    );
    assert!(reflex.is_running(), "{}", log());

    node.run(&[
        "ip",
        "addr",
        "add",
        &format!("{later}/64"),
        "dev",
        "eth0",
        "nodad",
    ])
    .unwrap();
    let bound = format!("listening for BGP connections addr=Some([{later}]:1179)");
    assert!(
        wait_for(20, || log().contains(&bound).then_some(())).is_some(),
        "{}",
        log()
    );
    assert!(reflex.is_running(), "{}", log());
}

/// Without a `[listen]` section the node listens on "0.0.0.0" and "::",
/// port 179: two sockets (the IPv6 one IPV6_V6ONLY), both reached.
#[test]
fn a_node_without_a_listen_section_listens_on_both_families() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let node = lan.node(1).unwrap();
    let other = lan.node(2).unwrap();
    let config = format!(
        "router-id = \"{}\"\nlocal-as = 65000\ndata-dir = \"{}\"\n",
        node.v4,
        dir.path().join("data").display(),
    );
    let mut reflex = reflex_tests::reflex::start(&node, dir.path(), &config).unwrap();
    let log = || reflex_tests::reflex::log(dir.path());
    for bound in ["addr=Some(0.0.0.0:179)", "addr=Some([::]:179)"] {
        assert!(
            wait_for(20, || log().contains(bound).then_some(())).is_some(),
            "not listening: {bound}\n{}",
            log()
        );
    }
    for addr in [node.v4.to_string(), node.v6.to_string()] {
        let reached = other.run(&[
            "timeout",
            "5",
            "bash",
            "-c",
            &format!("exec 3<>/dev/tcp/{addr}/179"),
        ]);
        assert!(reached.is_ok(), "{addr}:179 not reached: {reached:?}");
    }
    assert!(reflex.is_running(), "{}", log());
}
