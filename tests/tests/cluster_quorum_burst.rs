//! Issue 19 §2: quorum lost during a burst larger than the RIB's
//! pending-path limit (16,384 paths waiting for the log). The leader
//! survives, the two others are killed, and a source pinned to the
//! leader then sends 40,000 routes that can never commit. A session that
//! waits for room in the RIB must not stop its actor (its timers, its
//! messages): the survivor still closes the source's session within its
//! lease (the takeover issue's fence, on purpose), `/metrics` and
//! `/api/v1/neighbors` answer within 2 s throughout, and SIGTERM ends the
//! member within its grace time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::cluster::{Cluster, client_neighbor, established_on, three_and_three};
use reflex_tests::http::get;
use reflex_tests::netns::{Node, wait_for};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Over the RIB's 16,384 pending paths.
const BURST: u32 = 40_000;

/// The leader's fence time (3.5 s) and confirmation (0.3 s), after the
/// burst has arrived, with a margin for a loaded machine.
const LEASE: Duration = Duration::from_secs(10);

/// How long one API answer may take.
const ANSWER: Duration = Duration::from_secs(2);

/// How long `path` of member `m` took to answer 200 (`None`: it did not
/// within [`ANSWER`] or answered otherwise).
fn answer_time(m: &Node, path: &str) -> Option<Duration> {
    let api: SocketAddr = "127.0.0.1:8179".parse().ok()?;
    let started = Instant::now();
    let r = get(&m.ns, api, path).ok()?;
    let took = started.elapsed();
    (r.status == 200 && took <= ANSWER).then_some(took)
}

#[test]
fn quorum_lost_under_a_burst_leaves_the_member_responsive() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, others) = three_and_three().unwrap();
    let src = others[0].clone();
    let cluster =
        |pin: usize| client_neighbor(&src, 30, &format!("connect-retry = 1\nmembers = [{pin}]\n"));
    // The first member inits the cluster and leads it.
    let mut c = Cluster::start_with(members.clone(), dir.path(), &cluster(1)).unwrap();
    let leader = wait_for(30, || c.leader(0)).expect("no leader") as usize;
    assert_eq!(leader, 1, "the member that made the cluster leads it");
    let survivor = members[0].clone();
    // Every member ready (the source's lease is member 1's).
    let ready = wait_for(60, || {
        members
            .iter()
            .all(|m| answer_time(m, "/api/v1/cluster").is_some())
            .then_some(())
    });
    assert!(ready.is_some(), "the members' APIs do not answer");
    std::thread::sleep(Duration::from_secs(2));

    // Quorum lost, then the burst.
    c.kill(1);
    c.kill(2);
    let lost = Instant::now();
    let routes: Vec<String> = (0..BURST)
        .map(|i| format!("198.19.{}.{}/32", i / 250, i % 250))
        .collect();
    let _source = Bird::start(
        &src,
        dir.path(),
        &BirdConfig {
            router_id: src.v4,
            local_as: 65000,
            neighbors: vec![("m1", IpAddr::V4(survivor.v4), 65000)],
            routes: routes.iter().map(String::as_str).collect(),
        },
    )
    .unwrap();

    // The API answers at every reading, for the lease and beyond.
    let mut slowest = Duration::ZERO;
    let mut up_seen = false;
    let mut closed_at = None;
    while lost.elapsed() < LEASE + Duration::from_secs(5) {
        for path in ["/metrics", "/api/v1/neighbors"] {
            let took = answer_time(&survivor, path);
            let took = took.unwrap_or_else(|| {
                panic!(
                    "{path} did not answer within {ANSWER:?}, {:.1} s after the quorum was lost\n{}",
                    lost.elapsed().as_secs_f64(),
                    reflex_tests::reflex::log_tail(&c.dirs[0])
                )
            });
            slowest = slowest.max(took);
        }
        match established_on(&survivor) {
            Some(1) => up_seen = true,
            Some(0) if up_seen && closed_at.is_none() => closed_at = Some(lost.elapsed()),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = reflex_tests::reflex::log(&c.dirs[0]);
    let waited = log.contains("the RIB is full");
    eprintln!(
        "quorum lost with a burst of {BURST} routes: the source's session {}; slowest API answer {:.0} ms",
        match closed_at {
            Some(t) => format!("closed {:.1} s after the quorum was lost", t.as_secs_f64()),
            None => "never came up or never closed".to_string(),
        },
        slowest.as_secs_f64() * 1000.0,
    );
    assert!(
        waited,
        "the burst never filled the RIB: the test shows nothing\n{}",
        reflex_tests::reflex::log_tail(&c.dirs[0])
    );
    assert!(
        up_seen,
        "the source's session never came up on the survivor"
    );
    let closed = closed_at.unwrap_or_else(|| {
        panic!(
            "the survivor kept the source's session\n{}",
            reflex_tests::reflex::log_tail(&c.dirs[0])
        )
    });
    assert!(closed <= LEASE, "closed after {closed:?}");

    // SIGTERM ends it.
    let mut d = c.daemons[0].take().unwrap();
    let asked = Instant::now();
    d.signal("TERM").unwrap();
    assert!(
        d.wait_exit(Duration::from_secs(30)),
        "the survivor did not exit within 30 s of SIGTERM\n{}",
        reflex_tests::reflex::log_tail(&c.dirs[0])
    );
    eprintln!(
        "SIGTERM: exited after {:.1} s",
        asked.elapsed().as_secs_f64()
    );
}
