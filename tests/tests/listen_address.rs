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

/// A connection from a neighbour's address that never sends an OPEN is
/// closed once the OPEN hold time runs out (`open-hold-time`, 240 s by
/// default as RFC 4271 suggests; 30 s here), with a NOTIFICATION (hold
/// timer expired).
#[test]
fn a_connection_that_sends_no_open_is_closed_after_the_open_hold_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let node = lan.node(1).unwrap();
    let neighbour = lan.node(2).unwrap();
    let config = format!(
        "router-id = \"{}\"\nlocal-as = 65000\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{}\"]\n\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\npassive = true\nopen-hold-time = 30\n",
        node.v4,
        dir.path().join("data").display(),
        node.v4,
        neighbour.v4,
    );
    let _reflex = reflex_tests::reflex::start(&node, dir.path(), &config).unwrap();
    let log = || reflex_tests::reflex::log(dir.path());
    // The passive session waits for the neighbour.
    let api: std::net::SocketAddr = "127.0.0.1:8179".parse().unwrap();
    let path = format!("/api/v1/neighbors/{}", neighbour.v4);
    let waiting = wait_for(20, || {
        let r = reflex_tests::http::get(&node.ns, api, &path).ok()?;
        r.body.contains("\"Active\"").then_some(())
    });
    assert!(waiting.is_some(), "{}", log());
    // Connects, says nothing, reads until the other end closes; prints
    // the octets it was sent.
    let started = std::time::Instant::now();
    let read = neighbour.run(&[
        "timeout",
        "90",
        "bash",
        "-c",
        &format!(
            "exec 3<>/dev/tcp/{}/179; od -An -tx1 <&3 | tr -d ' \\n'",
            node.v4
        ),
    ]);
    let took = started.elapsed();
    let octets = read.unwrap_or_else(|e| panic!("{e}\n{}", log()));
    eprintln!("closed after {:.1} s; sent {octets}", took.as_secs_f64());
    if took < std::time::Duration::from_secs(1) {
        eprintln!("{}", log());
    }
    assert!(
        took >= std::time::Duration::from_secs(25) && took <= std::time::Duration::from_secs(45),
        "closed after {took:?}"
    );
    // Our OPEN (type 1), then a NOTIFICATION (type 3) of code 4 (hold
    // timer expired): each message after a 16-octet marker of ones.
    let marker = "ff".repeat(16);
    let messages: Vec<&str> = octets.split(&marker).filter(|m| !m.is_empty()).collect();
    assert!(
        messages.len() == 2 && messages[0][4..6] == *"01" && messages[1][4..8] == *"0304",
        "{octets}"
    );
}
