//! Issue 16, neighbours that reach one member: a source that peers with
//! member 1 only is pinned to it (`members = [1]`). Two BIRD clients
//! peer with all three members and are read every 100 ms:
//!
//! - a stop (SIGTERM) of another member neither moves nor drops the
//!   source's session, and costs the clients no route;
//! - a stop of member 1 itself drains the clients' sessions it runs to
//!   the others and closes the source's as a restart: the source's paths
//!   stay in the cluster (stale), so the clients keep every route; when
//!   member 1 is back the source's session comes up on it again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::cluster::{
    Cluster, client_neighbor, owner_of, source_and_clients, three_and_three,
};
use reflex_tests::continuity::{Sampler, check_counts};
use reflex_tests::netns::{Node, wait_for};
use std::time::{Duration, Instant};

/// Routes the source announces.
const ROUTES: u32 = 5000;

fn neighbors(source: &Node, clients: &[&Node]) -> String {
    let mut c = client_neighbor(source, 30, "connect-retry = 2\nmembers = [1]\n");
    for n in clients {
        c.push_str(&client_neighbor(
            n,
            30,
            "connect-retry = 2\nrestart-time = 20\n",
        ));
    }
    c
}

/// SIGTERM to member `i`; how long it took to stop (its drain).
fn stop(cluster: &mut Cluster, i: usize) -> Duration {
    let started = Instant::now();
    let mut d = cluster.daemons[i].take().unwrap();
    d.signal("TERM").unwrap();
    assert!(
        d.wait_exit(Duration::from_secs(90)),
        "member {} did not stop",
        i + 1
    );
    started.elapsed()
}

/// The source's session never left member 1 (as member 3 said, at
/// every reading it answered).
fn assert_owner_stays(owner: &reflex_tests::continuity::Series, from: Instant, to: Instant) {
    let elsewhere: Vec<_> = owner
        .samples
        .iter()
        .filter(|(t, o)| *t >= from && *t <= to && o.is_some_and(|o| o != 1))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "the source's session was given to another member: {} readings, first {:?}",
        elsewhere.len(),
        elsewhere.first().map(|(_, o)| o)
    );
}

#[test]
fn a_pinned_single_homed_neighbour_survives_stops_of_any_member() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, others) = three_and_three().unwrap();
    let (src, c1, c2) = (others[0].clone(), others[1].clone(), others[2].clone());
    let mut cluster =
        Cluster::start_with(members.clone(), dir.path(), &neighbors(&src, &[&c1, &c2])).unwrap();
    // The source peers with member 1 only.
    let (source, clients) = source_and_clients(
        dir.path(),
        &src,
        &[("m1", &members[0])],
        ROUTES,
        &[&c1, &c2],
        &members,
    )
    .unwrap();
    let full = ROUTES as usize;
    let all = wait_for(120, || {
        clients
            .iter()
            .all(|c| c.prefixes().is_some_and(|n| n >= full))
            .then_some(())
    });
    assert!(
        all.is_some(),
        "the clients did not get the source's routes: {:?}\n{}",
        clients.iter().map(|c| c.prefixes()).collect::<Vec<_>>(),
        reflex_tests::reflex::log_tail(&cluster.dirs[0])
    );
    let source = std::sync::Arc::new(source);
    let watch = || {
        let mut s = Sampler::new();
        for (i, c) in clients.iter().enumerate() {
            let c = c.clone();
            s.watch(&format!("client {}", i + 1), move || c.prefixes());
        }
        let b = source.clone();
        s.watch("source session", move || {
            Some(usize::from(
                b.bgp_state("m1").as_deref() == Some("Established"),
            ))
        });
        // Member 3 is never stopped: it tells the source's owner.
        let (m3, src) = (members[2].clone(), src.clone());
        s.watch("source owner", move || {
            owner_of(&m3, &src).map(|m| m as usize)
        });
        s
    };
    let settled = |cluster: &Cluster| {
        let ok = wait_for(120, || {
            (source.bgp_state("m1").as_deref() == Some("Established")
                && clients
                    .iter()
                    .all(|c| c.prefixes().is_some_and(|n| n >= full)))
            .then_some(())
        });
        assert!(
            ok.is_some(),
            "not settled\n{}",
            reflex_tests::reflex::log_tail(&cluster.dirs[0])
        );
        cluster
            .agree(60, full)
            .expect("the members' digests differ");
    };

    // Member `i` stopped (SIGTERM) and, 5 s later, started; the cluster
    // settled. The source's owner never changed; what the stop took, the
    // clients' count failures, and the source's session (the fewest
    // sessions seen, how long it was down).
    let stop_and_restart = |cluster: &mut Cluster, i: usize| {
        let name = format!("stop of member {}", i + 1);
        let sampler = watch();
        let from = Instant::now();
        let took = stop(cluster, i);
        eprintln!("{name}: {:.1} s to stop", took.as_secs_f64());
        std::thread::sleep(Duration::from_secs(5));
        cluster.restart(i).unwrap();
        settled(cluster);
        let to = Instant::now();
        let series = sampler.finish();
        let (counts, source_series): (Vec<_>, Vec<_>) =
            series.iter().partition(|s| s.name.starts_with("client"));
        let (session, owner): (Vec<_>, Vec<_>) = source_series
            .into_iter()
            .partition(|s| s.name == "source session");
        assert_owner_stays(owner[0], from, to);
        let failures = check_counts(&name, &counts, full, from, to, |_| Duration::from_secs(1));
        let down = session[0].below(1, from, to);
        eprintln!(
            "{name}: the source's session was down {:.1} s",
            down.as_secs_f64()
        );
        (took, failures, session[0].lowest(from, to))
    };

    // A stop of member 2, which the source does not reach.
    let (_, failures, lowest) = stop_and_restart(&mut cluster, 1);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        lowest,
        Some(1),
        "the source's session went down while member 2 stopped"
    );

    // A stop of member 1, the only one the source reaches.
    let (took, failures, _) = stop_and_restart(&mut cluster, 0);
    assert!(
        took < Duration::from_secs(30),
        "member 1's drain waited for the session pinned to it"
    );
    // How member 1's drain went (its log before the restart).
    let before = std::fs::read_to_string(cluster.dirs[0].join("reflex.log.1")).unwrap_or_default();
    for l in before
        .lines()
        .filter(|l| !l.contains("openraft") && (l.contains("drain") || l.contains("lease")))
    {
        eprintln!("member 1: {l}");
    }
    assert!(
        failures.is_empty(),
        "{failures:?}\n{}",
        reflex_tests::reflex::log_tail(&cluster.dirs[1])
    );
}
