//! Issue 16 part 2, RFC 8538 with FRR (which announces the N bit): a
//! `reflex ctl reset` is a graceful restart both ways (FRR keeps the
//! reflector's routes, the reflector keeps FRR's, every sample of both
//! sides through the reset); `reflex ctl reset --hard` is a Hard Reset
//! (Cease 6/9), after which neither keeps the other's. BIRD 2.0 (no N bit)
//! is the other client, through which the reflector's copy of FRR's route
//! is watched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::continuity::{Sampler, Series};
use reflex_tests::frr::{Frr, FrrConfig};
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "an-rfc8538-token";
const FROM_FRR: &str = "198.19.80.0/24";
const FROM_BIRD: &str = "198.19.81.0/24";

fn config(rr: &Node, data: &std::path::Path, clients: &[&Node]) -> String {
    let mut c = format!(
        "router-id = \"{rr}\"\nlocal-as = 65000\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{rr}\"]\n[api]\ntoken = \"{TOKEN}\"\n",
        data.display(),
        rr = rr.v4
    );
    for n in clients {
        c.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nhold-time = 30\nidle-hold = 1\n",
            n.v4
        ));
    }
    c
}

/// Whether FRR holds `prefix` (from the reflector).
fn frr_has(f: &Frr, prefix: &str) -> Option<usize> {
    let j = f.json(&format!("show bgp ipv4 unicast {prefix} json"))?;
    Some(usize::from(
        j.get("paths")
            .and_then(|p| p.as_array())
            .is_some_and(|p| !p.is_empty()),
    ))
}

fn bird_has(b: &Bird, prefix: &str) -> Option<usize> {
    Some(usize::from(b.route(prefix).is_some()))
}

/// Samples both clients through `event`, until both are back (each holds
/// the other's route again) and a second more.
fn through(frr: &Arc<Frr>, bird: &Arc<Bird>, event: impl FnOnce()) -> (Series, Series) {
    let mut s = Sampler::new();
    let f = frr.clone();
    s.watch("FRR", move || frr_has(&f, FROM_BIRD));
    let b = bird.clone();
    s.watch("BIRD", move || bird_has(&b, FROM_FRR));
    std::thread::sleep(Duration::from_millis(500));
    event();
    // The session starts again a second after the reset.
    std::thread::sleep(Duration::from_secs(2));
    let back = wait_for(60, || {
        (frr_has(frr, FROM_BIRD) == Some(1) && bird_has(bird, FROM_FRR) == Some(1)).then_some(())
    });
    assert!(back.is_some(), "the routes did not come back");
    std::thread::sleep(Duration::from_secs(1));
    let mut v = s.finish();
    let bird_series = v.pop().unwrap();
    (v.pop().unwrap(), bird_series)
}

#[test]
fn a_reset_is_graceful_with_the_n_bit_and_a_hard_reset_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let nf = lan.node(2).unwrap();
    let nb = lan.node(3).unwrap();
    let _reflex = reflex_tests::reflex::start(
        &rr,
        dir.path(),
        &config(&rr, &dir.path().join("data"), &[&nf, &nb]),
    )
    .unwrap();
    let frr = Arc::new(
        Frr::start(
            &nf,
            dir.path(),
            &FrrConfig {
                router_id: nf.v4,
                local_as: 65000,
                neighbors: vec![(IpAddr::V4(rr.v4), 65000)],
                routes: vec![FROM_FRR],
                hold_time: 30,
            },
        )
        .unwrap(),
    );
    let bird = Arc::new(
        Bird::start(
            &nb,
            dir.path(),
            &BirdConfig {
                router_id: nb.v4,
                local_as: 65000,
                neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
                routes: vec![FROM_BIRD],
            },
        )
        .unwrap(),
    );
    let both = || frr_has(&frr, FROM_BIRD) == Some(1) && bird_has(&bird, FROM_FRR) == Some(1);
    assert!(
        wait_for(60, || both().then_some(())).is_some(),
        "routes not exchanged\n{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    let frr_address = nf.v4.to_string();
    let reset = |hard: bool| {
        let mut args = vec!["reset", frr_address.as_str()];
        if hard {
            args.push("--hard");
        }
        let out = reflex_tests::reflex::ctl(&rr, Some(TOKEN), &args);
        assert_eq!(out.0, Some(0), "{out:?}");
    };

    // A reset: both keep the other's routes (RFC 8538 §4).
    let t0 = Instant::now();
    let (f, b) = through(&frr, &bird, || reset(false));
    let t1 = Instant::now();
    for s in [&f, &b] {
        eprintln!(
            "reset: {}: lowest {:?} in {} samples, longest gap {} ms",
            s.name,
            s.lowest(t0, t1),
            s.samples.len(),
            s.longest_gap(t0, t1).as_millis()
        );
        assert_eq!(
            s.lowest(t0, t1),
            Some(1),
            "{}: a route went missing in a graceful reset",
            s.name
        );
    }
    let log = reflex_tests::reflex::log(dir.path());
    assert!(
        log.contains("keeping routes of a restarting peer"),
        "the reflector did not keep FRR's routes\n{}",
        reflex_tests::reflex::log_tail(dir.path())
    );

    // A hard reset: both drop them (RFC 8538 §3), then learn them again.
    let t0 = Instant::now();
    let (f, b) = through(&frr, &bird, || reset(true));
    let t1 = Instant::now();
    for s in [&f, &b] {
        eprintln!("hard reset: {}: lowest {:?}", s.name, s.lowest(t0, t1));
        assert_eq!(
            s.lowest(t0, t1),
            Some(0),
            "{}: the route stayed through a Hard Reset",
            s.name
        );
    }
    // What the reflector counted: one Administrative Reset (the graceful
    // one), one Hard Reset.
    let status = reflex_tests::http::get(
        &rr.ns,
        "127.0.0.1:8179".parse().unwrap(),
        &format!("/api/v1/neighbors/{frr_address}"),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    assert_eq!(v["notifications_sent"]["6/4"], 1, "{v}");
    assert_eq!(v["notifications_sent"]["6/9"], 1, "{v}");
}
