//! Max-prefix (issue 6; RFC 4486 §4) against a live peer: ExaBGP, a
//! route-reflector client, announces five prefixes to a neighbour limited
//! to three.
//!
//! - `restart`: ExaBGP receives Cease 6/1 naming IPv4 unicast and the
//!   limit; the session stays down for the restart time (ExaBGP's
//!   reconnections refused) and comes back after it.
//! - `warn`: the session stays up, a BIRD client is reflected every route,
//!   and the warning is logged once per crossing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::exabgp::{Exabgp, ExabgpConfig};
use reflex_tests::frr::Json;
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::IpAddr;
use std::path::Path;

/// Seconds the session stays down after a Cease: short, to keep the test fast.
const RESTART: u64 = 4;
const LIMIT: usize = 3;
const ROUTES: [&str; 5] = [
    "198.19.60.0/24 next-hop self",
    "198.19.61.0/24 next-hop self",
    "198.19.62.0/24 next-hop self",
    "198.19.63.0/24 next-hop self",
    "198.19.64.0/24 next-hop self",
];

/// A reflector whose client ExaBGP (passive: ExaBGP only connects) has a
/// max-prefix of [`LIMIT`] with `action`; a BIRD client too, if given.
fn reflector_config(
    rr: &Node,
    data: &Path,
    exa: &Node,
    action: &str,
    bird: Option<&Node>,
) -> String {
    let mut c = format!(
        "router-id = \"{}\"\nlocal-as = 65000\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{}\"]\n\
         [group.clients]\nremote-as = 65000\nroute-reflector-client = true\nhold-time = 30\nidle-hold = 1\n\
         [[neighbor]]\naddress = \"{}\"\ngroup = \"clients\"\npassive = true\n\
         max-prefix = {LIMIT}\nmax-prefix-action = \"{action}\"\n",
        rr.v4,
        data.display(),
        rr.v4,
        exa.v4,
    );
    if action == "restart" {
        c.push_str(&format!("max-prefix-restart = {RESTART}\n"));
    }
    if let Some(b) = bird {
        c.push_str(&format!(
            "[[neighbor]]\naddress = \"{}\"\ngroup = \"clients\"\n",
            b.v4
        ));
    }
    c
}

fn exabgp(exa: &Node, rr: &Node, dir: &Path) -> Exabgp {
    Exabgp::start(
        exa,
        dir,
        &ExabgpConfig {
            router_id: exa.v4,
            local_as: 65000,
            peer: rr.v4,
            peer_as: 65000,
            hold_time: 30,
            routes: ROUTES.to_vec(),
        },
    )
    .unwrap()
}

/// Seconds since midnight of a log line's timestamp (RFC 3339, UTC,
/// tracing's default format: `2025-01-01T12:34:56.123456Z  INFO ...`).
fn log_time(line: &str) -> Option<f64> {
    let stamp = line.split_whitespace().next()?;
    let (_, time) = stamp.split_once('T')?;
    let mut parts = time.trim_end_matches('Z').split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// The code, subcode and data (hex) of a NOTIFICATION ExaBGP reported.
fn notification(m: &Json) -> Option<(u64, u64, String)> {
    let n = m.at("neighbor.notification")?;
    let code = n.get("code")?.as_u64()?;
    let subcode = n.get("subcode")?.as_u64()?;
    let data = n.get("data").and_then(Json::as_str).unwrap_or("");
    Some((code, subcode, data.to_ascii_lowercase()))
}

#[test]
fn restart_sends_cease_6_1_and_the_session_stays_down_for_the_restart_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let exa = lan.node(2).unwrap();
    let config = reflector_config(&rr, &d.join("data"), &exa, "restart", None);
    let mut reflex = reflex_tests::reflex::start(&rr, d, &config).unwrap();
    let e = exabgp(&exa, &rr, d);

    // ExaBGP's view: Cease / Maximum Number of Prefixes Reached, with AFI
    // 1, SAFI 1 and the limit 3 (RFC 4486 §4).
    let got = wait_for(40, || e.notifications().iter().find_map(notification));
    let Some((code, subcode, data)) = got else {
        panic!(
            "ExaBGP got no NOTIFICATION: {:?}\n{}\n{}",
            e.messages(),
            e.log_tail(),
            reflex_tests::reflex::log_tail(d)
        );
    };
    assert_eq!((code, subcode), (6, 1), "{:?}", e.notifications());
    assert!(
        data.trim_start_matches("0x").ends_with("00010100000003"),
        "data {data:?}: {:?}",
        e.notifications()
    );

    // Reflex's view: the crossing logged with the count and the limit, and
    // the session down with the NOTIFICATION it sent.
    let exceeded = reflex_tests::reflex::peer_lines(d, &exa, "max-prefix exceeded");
    assert_eq!(exceeded.len(), 1, "{}", reflex_tests::reflex::log_tail(d));
    assert!(
        exceeded[0].contains("limit=3") && exceeded[0].contains("family=ipv4-unicast"),
        "{exceeded:?}"
    );
    let downs = reflex_tests::reflex::peer_lines(d, &exa, "session down");
    assert!(
        downs.iter().any(|l| l.contains("NotificationSent")
            && l.contains("code: 6")
            && l.contains("subcode: 1")),
        "{downs:?}"
    );

    // It comes back, but not before the restart time: established again
    // (and, with the same five routes, over the limit again).
    let again = wait_for(RESTART + 40, || {
        let up = reflex_tests::reflex::peer_lines(d, &exa, "session established");
        (up.len() >= 2).then(|| up[1].clone())
    });
    let Some(again) = again else {
        panic!(
            "the session did not come back\n{}\n{}",
            e.log_tail(),
            reflex_tests::reflex::log_tail(d)
        );
    };
    let (Some(down_at), Some(up_at)) = (log_time(&exceeded[0]), log_time(&again)) else {
        panic!("no timestamps in {exceeded:?} / {again:?}");
    };
    let mut waited = up_at - down_at;
    if waited < -43_200.0 {
        // Across midnight (UTC).
        waited += 86_400.0;
    }
    assert!(
        waited >= RESTART as f64,
        "back after {waited:.3} s, before the restart time of {RESTART} s\n{}",
        reflex_tests::reflex::log_tail(d)
    );
    // ExaBGP tried meanwhile (it reconnects at once) and was refused:
    // between the Cease and the return, only refusals.
    let log = reflex_tests::reflex::log(d);
    let refused = log
        .lines()
        .filter(|l| l.contains("incoming connection refused: session idle"))
        .filter_map(log_time)
        .filter(|t| *t > down_at && *t < up_at)
        .count();
    assert!(
        refused >= 1,
        "no connection refused during the restart time\n{}",
        reflex_tests::reflex::log_tail(d)
    );
    assert!(
        wait_for(20, || (e.notifications().len() >= 2).then_some(())).is_some(),
        "no second Cease after the return: {:?}\n{}",
        e.notifications(),
        reflex_tests::reflex::log_tail(d)
    );
    assert!(reflex.is_running(), "{}", reflex_tests::reflex::log_tail(d));
}

#[test]
fn warn_keeps_the_session_and_the_routes_and_warns_once_per_crossing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let exa = lan.node(2).unwrap();
    let obs = lan.node(3).unwrap();
    let config = reflector_config(&rr, &d.join("data"), &exa, "warn", Some(&obs));
    let mut reflex = reflex_tests::reflex::start(&rr, d, &config).unwrap();
    let bird = Bird::start(
        &obs,
        d,
        &BirdConfig {
            router_id: obs.v4,
            local_as: 65000,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes: vec![],
        },
    )
    .unwrap();
    let e = exabgp(&exa, &rr, d);

    // Every route is held and reflected, over the limit.
    for r in ROUTES {
        let p = r.split_whitespace().next().unwrap();
        assert!(
            wait_for(40, || bird.route(p)).is_some(),
            "{p} not reflected: {:?}\n{}\n{}",
            bird.birdc("show protocols all reflector"),
            e.log_tail(),
            reflex_tests::reflex::log_tail(d)
        );
    }
    let warned = || reflex_tests::reflex::peer_lines(d, &exa, "max-prefix exceeded");
    let first = wait_for(10, || warned().first().cloned());
    assert!(
        first.as_ref().is_some_and(|l| l.contains("routes kept")
            && l.contains("limit=3")
            && l.contains("count=")),
        "{first:?}\n{}",
        reflex_tests::reflex::log_tail(d)
    );

    // Still over the limit: one more prefix, no second warning.
    e.command("announce route 198.19.65.0/24 next-hop self")
        .unwrap();
    assert!(wait_for(20, || bird.route("198.19.65.0/24")).is_some());
    assert_eq!(warned().len(), 1, "{:?}", warned());

    // Back to the limit (three withdrawn: 3 left), then past it again: a
    // new crossing, a new warning.
    for p in ["198.19.60.0/24", "198.19.61.0/24", "198.19.62.0/24"] {
        e.command(&format!("withdraw route {p} next-hop self"))
            .unwrap();
    }
    assert!(
        wait_for(20, || bird.route("198.19.62.0/24").is_none().then_some(())).is_some(),
        "withdrawals not reflected\n{}",
        reflex_tests::reflex::log_tail(d)
    );
    e.command("announce route 198.19.66.0/24 next-hop self")
        .unwrap();
    assert!(wait_for(20, || bird.route("198.19.66.0/24")).is_some());
    assert!(
        wait_for(10, || (warned().len() == 2).then_some(())).is_some(),
        "{:?}\n{}",
        warned(),
        reflex_tests::reflex::log_tail(d)
    );

    // The session never went down; ExaBGP got no NOTIFICATION.
    assert!(e.is_up(), "{:?}", e.states());
    assert!(e.notifications().is_empty(), "{:?}", e.notifications());
    let downs = reflex_tests::reflex::downs_after_up(d, &exa);
    assert!(downs.is_empty(), "{downs:?}");
    assert!(reflex.is_running(), "{}", reflex_tests::reflex::log_tail(d));
}
