//! Issue 16, quorum lost: two of three members killed. The survivor (the
//! leader) can commit nothing, so it must not run sessions on a RIB that
//! can no longer change: within its lease it closes every session it runs
//! as a restart of ours, and runs none until a majority is back. Two BIRD
//! clients (graceful-restart helpers) and a source peer with all three
//! members; the clients are read every 100 ms through the whole event and
//! keep every route (stale while no member runs their session), and when
//! the two members are back every session comes up again and the members'
//! digests agree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::Bird;
use reflex_tests::cluster::{
    Cluster, client_neighbor, established_on, source_and_clients, three_and_three,
};
use reflex_tests::continuity::{Sampler, check_counts};
use reflex_tests::netns::{Node, wait_for};
use std::time::{Duration, Instant};

/// Routes the source announces.
const ROUTES: u32 = 5000;

/// The leader's fence time (3.5 s, `FENCE_LEADER_AFTER`), its 0.3 s of
/// confirmation, and a margin for a loaded machine.
const LEADER_LEASE: Duration = Duration::from_millis(5500);

/// How long the quorum stays lost.
const LOST_FOR: Duration = Duration::from_secs(15);

#[test]
fn a_member_left_without_a_majority_closes_its_sessions_and_no_client_loses_a_route() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, others) = three_and_three().unwrap();
    let (src, c1, c2) = (others[0].clone(), others[1].clone(), others[2].clone());
    let mut neighbors = client_neighbor(&src, 30, "connect-retry = 2\n");
    for c in [&c1, &c2] {
        neighbors.push_str(&client_neighbor(c, 30, "connect-retry = 2\n"));
    }
    let mut cluster = Cluster::start_with(members.clone(), dir.path(), &neighbors).unwrap();
    let names = ["m1", "m2", "m3"];
    let reaches: Vec<(&str, &Node)> = names.iter().copied().zip(&members).collect();
    let (_source, clients) =
        source_and_clients(dir.path(), &src, &reaches, ROUTES, &[&c1, &c2], &members).unwrap();
    let full = ROUTES as usize;
    let tail = |cluster: &Cluster| {
        cluster
            .dirs
            .iter()
            .map(|d| reflex_tests::reflex::log_tail(d))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sessions_up = |c: &Bird| {
        names
            .iter()
            .filter(|n| c.bgp_state(n).as_deref() == Some("Established"))
            .count()
    };
    let settled = wait_for(120, || {
        clients
            .iter()
            .all(|c| sessions_up(c) == 1 && c.prefixes().is_some_and(|n| n >= full))
            .then_some(())
    });
    assert!(settled.is_some(), "not settled\n{}", tail(&cluster));
    cluster
        .agree(60, full)
        .expect("the members' digests differ");

    // The leader survives; the two others are killed.
    let leader = wait_for(30, || cluster.leader(0)).expect("no leader") as usize;
    let survivor = &members[leader - 1];
    let mut sampler = Sampler::new();
    for (i, c) in clients.iter().enumerate() {
        let c = c.clone();
        sampler.watch(&format!("client {}", i + 1), move || c.prefixes());
    }
    let m = survivor.clone();
    sampler.watch("survivor sessions", move || established_on(&m));
    let from = Instant::now();
    let killed: Vec<usize> = (0..3).filter(|i| *i != leader - 1).collect();
    for i in &killed {
        cluster.kill(*i);
    }
    let lost = Instant::now();
    let closed = wait_for(30, || {
        (established_on(survivor) == Some(0)).then(|| lost.elapsed())
    })
    .unwrap_or_else(|| panic!("the survivor kept its sessions\n{}", tail(&cluster)));
    eprintln!(
        "quorum lost: the survivor (member {leader}) closed its sessions {:.1} s after the others were killed",
        closed.as_secs_f64()
    );
    assert!(
        closed <= LEADER_LEASE,
        "the survivor closed its sessions {closed:?} after losing its majority (lease {LEADER_LEASE:?})"
    );
    // No session again while it has no majority.
    std::thread::sleep(LOST_FOR.saturating_sub(lost.elapsed()));
    let quiet_from = lost + closed + Duration::from_millis(500);
    let quiet_to = Instant::now();

    // The two members back: every session comes up again.
    for i in &killed {
        cluster.restart(*i).unwrap();
    }
    let back = wait_for(120, || {
        clients
            .iter()
            .all(|c| sessions_up(c) == 1 && c.prefixes().is_some_and(|n| n >= full))
            .then_some(())
    });
    let to = Instant::now();
    let series = sampler.finish();
    assert!(
        back.is_some(),
        "the sessions did not come back\n{}",
        tail(&cluster)
    );
    cluster
        .agree(60, full)
        .expect("the members' digests differ");

    let (counts, survivor_sessions): (Vec<_>, Vec<_>) =
        series.iter().partition(|s| s.name.starts_with("client"));
    let ran = survivor_sessions[0]
        .samples
        .iter()
        // An unanswered reading counts as a session run (the worst case).
        .filter(|(t, n)| *t >= quiet_from && *t <= quiet_to && *n != Some(0))
        .count();
    eprintln!(
        "quorum lost: {ran} readings of the survivor with a session (or unanswered) in the {:.1} s without a majority",
        (quiet_to - quiet_from).as_secs_f64()
    );
    assert_eq!(
        ran,
        0,
        "the survivor ran sessions without a majority\n{}",
        tail(&cluster)
    );
    let failures = check_counts("quorum lost", &counts, full, from, to, |_| {
        Duration::from_secs(1)
    });
    assert!(failures.is_empty(), "{failures:?}\n{}", tail(&cluster));
}
