//! Long-lived graceful restart (RFC 9494) with BIRD, both roles.
//!
//! Restarting side: a client that negotiated it keeps the reflector's
//! routes (as LLGR_STALE) while the reflector is gone for longer than its
//! restart time, read every 100 ms; a client of the same run that did not
//! negotiate it loses them after the restart time (the control).
//!
//! Helper side: a source that negotiated it and stays away past its
//! restart time has its routes kept as LLGR_STALE: least preferred (an
//! alternative path wins), sent only to the client that understands
//! LLGR_STALE, NO_LLGR ones dropped; fresh again when the source is back;
//! gone once our long-lived stale time (which caps the source's) runs out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const AS: u32 = 65000;
const LLGR_STALE: &str = "(65535,6)";

/// A client or source neighbour; `long_lived`: its `long-lived-stale-time`.
fn neighbor(n: &Node, long_lived: Option<u32>) -> String {
    let mut s = format!(
        "\n[[neighbor]]\naddress = \"{}\"\nremote-as = {AS}\nroute-reflector-client = true\nhold-time = 30\nrestart-time = 3\nconnect-retry = 2\nidle-hold = 1\n",
        n.v4
    );
    if let Some(t) = long_lived {
        s.push_str(&format!("long-lived-stale-time = {t}\n"));
    }
    s
}

fn reflex_config(rr: &Node, data: &Path, neighbors: &[(&Node, Option<u32>)]) -> String {
    let mut c = format!(
        "router-id = \"{rr}\"\nlocal-as = {AS}\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{rr}\"]\n",
        data.display(),
        rr = rr.v4
    );
    for (n, t) in neighbors {
        c.push_str(&neighbor(n, *t));
    }
    c
}

/// BIRD peering with the reflector, graceful restart on (restart time 3
/// s), long-lived graceful restart `on` (stale time 30 s) or `off`.
fn bird(node: &Node, rr: &Node, dir: &Path, statics: &str, long_lived: bool) -> Bird {
    let config = BirdConfig {
        router_id: node.v4,
        local_as: AS,
        neighbors: vec![("reflector", IpAddr::V4(rr.v4), AS)],
        routes: vec![],
    };
    let llgr = if long_lived {
        "  long lived graceful restart on;\n  long lived stale time 30;"
    } else {
        "  long lived graceful restart off;"
    };
    // Without `protocol direct`: the tables hold the routes under test only.
    let mut text = config
        .render(node)
        .replace("protocol direct { ipv4; ipv6; }\n", "")
        .replace(
            "  hold time 30;\n",
            &format!(
                "  hold time 30;\n  graceful restart on;\n  graceful restart time 3;\n{llgr}\n"
            ),
        );
    if !statics.is_empty() {
        text.push_str(&format!(
            "protocol static announced {{\n  ipv4;\n{statics}}}\n"
        ));
    }
    Bird::start_text(node, dir, &text).unwrap()
}

/// Reads `count` of every BIRD every 100 ms for `span`: the lowest each showed.
fn lowest_over(birds: &[&Bird], span: Duration) -> Vec<usize> {
    let mut low = vec![usize::MAX; birds.len()];
    let end = Instant::now() + span;
    while Instant::now() < end {
        for (i, b) in birds.iter().enumerate() {
            low[i] = low[i].min(b.route_count().unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    low
}

fn has_llgr_stale(b: &Bird, prefix: &str) -> Option<bool> {
    let communities = b.route_attr(prefix, "BGP.community");
    b.route(prefix)?;
    Some(communities.is_some_and(|c| c.contains(LLGR_STALE)))
}

fn routes(prefixes: &[&str]) -> String {
    prefixes
        .iter()
        .map(|p| format!("  route {p} blackhole;\n"))
        .collect()
}

#[test]
fn clients_keep_the_reflectors_routes_as_long_lived_stale_while_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let source = lan.node(2).unwrap();
    let keeps = lan.node(3).unwrap();
    let control = lan.node(4).unwrap();
    let config = reflex_config(
        &rr,
        &dir.path().join("data"),
        &[(&source, Some(30)), (&keeps, Some(30)), (&control, None)],
    );
    let mut reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
    let prefixes: Vec<String> = (1..=20).map(|i| format!("198.19.{i}.0/24")).collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let _source = bird(&source, &rr, dir.path(), &routes(&refs), true);
    let client = bird(&keeps, &rr, dir.path(), "", true);
    let plain = bird(&control, &rr, dir.path(), "", true);
    let log = || reflex_tests::reflex::log(dir.path());
    for b in [&client, &plain] {
        assert!(
            wait_for(30, || (b.route_count() == Some(20)).then_some(())).is_some(),
            "the table did not arrive\n{}",
            log()
        );
    }

    // Gone for 8 s: more than the 3 s restart time we announced.
    reflex.kill();
    let gone = Instant::now();
    let low = lowest_over(&[&client, &plain], Duration::from_secs(8));
    assert_eq!(
        has_llgr_stale(&client, "198.19.1.0/24"),
        Some(true),
        "not marked LLGR_STALE: {:?}",
        client.route("198.19.1.0/24")
    );
    println!(
        "reflector gone {:.1} s: lowest count with long-lived graceful restart {}, without {}",
        gone.elapsed().as_secs_f64(),
        low[0],
        plain.route_count().unwrap_or(0)
    );
    assert_eq!(low[0], 20, "a route went missing at the long-lived client");
    assert_eq!(
        plain.route_count(),
        Some(0),
        "the control kept the routes past the restart time"
    );

    // Back: the routes are fresh again, and none went missing meanwhile.
    reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
    let back = Instant::now();
    let mut lowest = 20;
    let fresh = wait_for(60, || {
        lowest = lowest.min(client.route_count().unwrap_or(0));
        (has_llgr_stale(&client, "198.19.1.0/24") == Some(false)
            && client.route_count() == Some(20))
        .then_some(())
    });
    assert!(fresh.is_some(), "not fresh after the restart\n{}", log());
    println!(
        "fresh again {:.1} s after the restart; lowest count meanwhile {lowest}",
        back.elapsed().as_secs_f64()
    );
    assert_eq!(lowest, 20);
    assert!(
        wait_for(30, || (plain.route_count() == Some(20)).then_some(())).is_some(),
        "the control did not get the table back\n{}",
        log()
    );
    drop(reflex);
}

#[test]
fn a_sources_routes_stay_long_lived_stale_least_preferred_and_only_where_understood() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let source = lan.node(2).unwrap();
    let other = lan.node(3).unwrap();
    let aware = lan.node(4).unwrap();
    let unaware = lan.node(5).unwrap();
    // Our cap on the source: 8 s, under the 30 s it asks for.
    let config = reflex_config(
        &rr,
        &dir.path().join("data"),
        &[
            (&source, Some(8)),
            (&other, Some(8)),
            (&aware, Some(8)),
            (&unaware, Some(8)),
        ],
    );
    let _reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
    // The source's 198.19.3.0/24 is preferred (LOCAL_PREF 200) over the
    // other's, until it is long-lived stale.
    let statics = "  route 198.19.1.0/24 blackhole;\n  route 198.19.2.0/24 blackhole { bgp_community.add((65535,7)); };\n  route 198.19.3.0/24 blackhole { bgp_local_pref = 200; };\n";
    let mut src = bird(&source, &rr, dir.path(), statics, true);
    let _other = bird(&other, &rr, dir.path(), &routes(&["198.19.3.0/24"]), true);
    let l = bird(&aware, &rr, dir.path(), "", true);
    let n = bird(&unaware, &rr, dir.path(), "", false);
    let log = || reflex_tests::reflex::log(dir.path());
    let next_hop = |b: &Bird, p: &str| b.route_attr(p, "BGP.next_hop");
    for b in [&l, &n] {
        assert!(
            wait_for(30, || (b.route_count() == Some(3)
                && next_hop(b, "198.19.3.0/24") == Some(source.v4.to_string()))
            .then_some(()))
            .is_some(),
            "the table did not arrive: {:?}\n{}",
            b.route("198.19.3.0/24"),
            log()
        );
    }

    // The source crashes and stays away past its 3 s restart time.
    src.daemon.kill();
    let crashed = Instant::now();
    assert!(
        wait_for(15, || has_llgr_stale(&l, "198.19.1.0/24")
            .unwrap_or(false)
            .then_some(()))
        .is_some(),
        "not long-lived stale at the aware client: {:?}\n{}",
        l.route("198.19.1.0/24"),
        log()
    );
    println!(
        "long-lived stale at the aware client {:.1} s after the crash",
        crashed.elapsed().as_secs_f64()
    );
    // NO_LLGR went everywhere; the unaware client has none of it; the
    // alternative won at both.
    assert!(l.route("198.19.2.0/24").is_none());
    assert!(
        wait_for(5, || n.route("198.19.1.0/24").is_none().then_some(())).is_some(),
        "LLGR_STALE route sent to a client without the capability: {:?}",
        n.route("198.19.1.0/24")
    );
    assert!(n.route("198.19.2.0/24").is_none());
    for b in [&l, &n] {
        assert_eq!(
            next_hop(b, "198.19.3.0/24"),
            Some(other.v4.to_string()),
            "the long-lived stale path was not least preferred"
        );
    }

    // Back: fresh everywhere, preferred again.
    src = bird(&source, &rr, dir.path(), statics, true);
    for b in [&l, &n] {
        assert!(
            wait_for(30, || (b.route_count() == Some(3)
                && has_llgr_stale(b, "198.19.1.0/24") == Some(false)
                && next_hop(b, "198.19.3.0/24") == Some(source.v4.to_string()))
            .then_some(()))
            .is_some(),
            "not fresh after the source came back: {:?}\n{}",
            b.route("198.19.1.0/24"),
            log()
        );
    }

    // Away again for good: after 3 s + our 8 s (not its 30 s) it is gone.
    src.daemon.kill();
    let crashed = Instant::now();
    assert!(
        wait_for(8, || has_llgr_stale(&l, "198.19.1.0/24")
            .unwrap_or(false)
            .then_some(()))
        .is_some()
    );
    assert!(
        wait_for(20, || l.route("198.19.1.0/24").is_none().then_some(())).is_some(),
        "kept after the long-lived stale time\n{}",
        log()
    );
    let gone = crashed.elapsed();
    println!(
        "gone from the aware client {:.1} s after the crash (restart 3 s + long-lived 8 s)",
        gone.as_secs_f64()
    );
    assert!(gone >= Duration::from_secs(10), "went early: {gone:?}");
}
