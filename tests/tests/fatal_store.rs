//! Issue 19 §3: a fatal consensus error does not leave a zombie. A
//! one-member reflector takes a BIRD client's routes (many log entries),
//! is killed, and an entry in the middle of its Raft log is overwritten
//! with garbage. Started again, it reads that entry back, fails, and exits
//! non-zero with the reason logged, within seconds: it runs no BGP on a
//! RIB that can never move.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::http::get;
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

const API: &str = "127.0.0.1:8179";

/// The member's applied index, as its API says.
fn applied(rr: &Node) -> Option<u64> {
    let api: SocketAddr = API.parse().ok()?;
    let r = get(&rr.ns, api, "/api/v1/cluster").ok()?;
    let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    v["applied_index"].as_u64()
}

#[test]
fn a_corrupt_log_entry_makes_the_member_exit_non_zero() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let client = lan.node(2).unwrap();
    let data = dir.path().join("data");
    let conf = reflex_tests::reflex::reflector_config(&rr, &client, &data, "");
    let mut reflex = reflex_tests::reflex::start(&rr, dir.path(), &conf).unwrap();
    // Routes in small batches: a log of many entries.
    let routes: Vec<String> = (0..2000u32)
        .map(|i| format!("198.19.{}.{}/32", i / 250, i % 250))
        .collect();
    let _bird = Bird::start(
        &client,
        dir.path(),
        &BirdConfig {
            router_id: client.v4,
            local_as: 65000,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes: routes.iter().map(String::as_str).collect(),
        },
    )
    .unwrap();
    let last = wait_for(60, || {
        let a = applied(&rr)?;
        (a >= 6).then_some(a)
    });
    let last = last.unwrap_or_else(|| {
        panic!(
            "too few log entries: {:?}\n{}",
            applied(&rr),
            reflex_tests::reflex::log_tail(dir.path())
        )
    });
    // Quiet for a second: nothing more in flight.
    std::thread::sleep(Duration::from_secs(1));
    let last = applied(&rr).unwrap_or(last);
    reflex.kill();

    // An entry in the middle, garbage. (No snapshot yet: one is taken
    // every 1,000 entries.)
    let middle = last / 2;
    {
        let db = sled::open(data.join("raft")).unwrap();
        let log = db.open_tree("raft_log").unwrap();
        let key = middle.to_be_bytes();
        assert!(
            log.get(key).unwrap().is_some(),
            "no entry {middle} in the log (of {last})"
        );
        log.insert(key, &b"\xff\xfe not a log entry"[..]).unwrap();
        db.flush().unwrap();
    }
    let log_before = std::fs::read_to_string(dir.path().join("reflex.log")).unwrap_or_default();
    std::fs::write(dir.path().join("reflex.log.1"), log_before).unwrap();

    let started = Instant::now();
    let mut reflex = reflex_tests::reflex::start(&rr, dir.path(), &conf).unwrap();
    let exited = wait_for(60, || reflex.exited());
    let log = reflex_tests::reflex::log(dir.path());
    let status = exited.unwrap_or_else(|| panic!("still running after 60 s\n{log}"));
    eprintln!(
        "entry {middle} of {last} corrupt: exited after {:.1} s with {status}",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(status.code(), Some(1), "{log}");
    // Read back at start (the committed entries are applied again), or
    // later: either way the reason names the log.
    assert!(
        (log.contains("cannot start the replicated RIB") || log.contains("stopped for good"))
            && log.contains("Read Logs"),
        "the reason is not in the log:\n{log}"
    );
    assert!(
        !log.contains("panicked"),
        "a panic, not an orderly exit:\n{log}"
    );
    // Recorded in the data directory, for the next start's log and
    // /metrics (reflex_fatal_exits_total).
    let record = std::fs::read_to_string(data.join("fatal-exits")).unwrap_or_default();
    assert!(
        record.lines().count() == 1 && record.contains("Read Logs"),
        "the fatal exit is not recorded: {record:?}"
    );
}
