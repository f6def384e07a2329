//! Faults in a three-member cluster, against the real binary: the leader
//! is killed (SIGKILL) while a client sends a burst of routes; the others
//! elect a new leader and go on; the killed member restarts from its data
//! directory and catches up. No committed route is lost, and every member
//! ends with the same RIB digest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::cluster::{Cluster, bird_client, host_routes, imported, three_and_three};
use reflex_tests::netns::{Node, wait_for};

fn client(
    node: &Node,
    members: &[Node],
    dir: &std::path::Path,
    routes: Vec<&str>,
) -> reflex_tests::bird::Bird {
    bird_client(node, members, dir, routes).unwrap()
}

/// Routes in the burst (at most 65,536).
const BURST: u32 = 65_000;

#[test]
fn leader_killed_during_a_burst_then_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, clients) = three_and_three().unwrap();
    let mut cluster = Cluster::start(members.clone(), dir.path(), &clients).unwrap();
    let leader = wait_for(20, || cluster.leader(0)).expect("a leader") as usize;
    // The burst comes from the client of a member that is not the leader
    // (client i is owned by member i + 1).
    let source = (0..3).find(|i| i + 1 != leader).unwrap();
    let receiver = (0..3).find(|i| i + 1 != leader && *i != source).unwrap();
    let burst = host_routes(BURST);
    let _receiver_bird = client(&clients[receiver], &members, dir.path(), vec![]);
    let rx = &_receiver_bird;
    let owner = |i: usize| format!("m{}", i + 1);
    assert!(
        wait_for(60, || rx
            .bgp_state(&owner(receiver))
            .filter(|s| s == "Established"))
        .is_some()
    );
    let source_bird = client(
        &clients[source],
        &members,
        dir.path(),
        burst.iter().map(String::as_str).collect(),
    );
    // Once the first routes of the burst reach the receiver, the leader
    // dies.
    assert!(
        wait_for(60, || source_bird
            .bgp_state(&owner(source))
            .filter(|s| s == "Established"))
        .is_some()
    );
    let started = (0..2000).find(|_| {
        std::thread::sleep(std::time::Duration::from_millis(5));
        imported(rx, &owner(receiver)).is_some_and(|n| n > 1)
    });
    assert!(started.is_some(), "the burst did not start");
    let before_kill = imported(rx, &owner(receiver)).unwrap_or(0);
    cluster.kill(leader - 1);

    // The two others elect a leader and commit the whole burst.
    let other = (0..3).find(|i| i + 1 != leader).unwrap();
    let new_leader = wait_for(30, || cluster.leader(other).filter(|l| *l != leader as u64));
    assert!(new_leader.is_some(), "no new leader");
    let all = wait_for(120, || {
        imported(rx, &owner(receiver)).filter(|n| *n >= u64::from(BURST))
    });
    assert!(
        all.is_some(),
        "receiver has {:?} of {BURST}\n{}",
        imported(rx, &owner(receiver)),
        reflex_tests::reflex::log_tail(&cluster.dirs[source])
    );

    // The killed member comes back from its store and catches up.
    cluster.restart(leader - 1).unwrap();
    let agreed = cluster.agree(60, BURST as usize);
    assert!(agreed.is_some(), "digests differ: {:?}", cluster.digests());
    eprintln!(
        "leader {leader} killed with {before_kill} of {BURST} routes at the receiver; \
         new leader {new_leader:?}; all members agree on {agreed:?}"
    );
}

#[test]
fn wiped_member_rejoins_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, clients) = three_and_three().unwrap();
    let mut cluster = Cluster::start(members.clone(), dir.path(), &clients).unwrap();
    let routes = host_routes(5000);
    let _source = client(
        &clients[0],
        &members,
        dir.path(),
        routes.iter().map(String::as_str).collect(),
    );
    assert!(cluster.agree(60, 5000).is_some(), "{:?}", cluster.digests());
    let leader = wait_for(20, || cluster.leader(0)).expect("a leader") as usize;
    // The leader snapshots and drops its log: a member without that log
    // can only be brought up to date with the snapshot.
    let snap = cluster.ask(leader - 1, &["snapshot".into()]);
    assert!(snap.is_some(), "snapshot failed");
    // A follower loses its disk.
    let victim = (0..3).find(|i| i + 1 != leader).unwrap();
    cluster.kill(victim);
    std::fs::remove_dir_all(cluster.dirs[victim].join("data")).unwrap();
    cluster.restart(victim).unwrap();
    let agreed = cluster.agree(60, 5000);
    assert!(agreed.is_some(), "digests differ: {:?}", cluster.digests());
    let log = reflex_tests::reflex::log(&cluster.dirs[victim]);
    assert!(
        log.contains("RIB replaced by a snapshot"),
        "the wiped member did not install a snapshot\n{}",
        reflex_tests::reflex::log_tail(&cluster.dirs[victim])
    );
}

#[test]
fn partitioned_member_catches_up_after_healing() {
    let dir = tempfile::tempdir().unwrap();
    let (lan, members, clients) = three_and_three().unwrap();
    let cluster = Cluster::start(members.clone(), dir.path(), &clients).unwrap();
    let leader = wait_for(20, || cluster.leader(0)).expect("a leader") as usize;
    // Cut a follower off; the source is the client of a member on the
    // majority side.
    let cut = (0..3).find(|i| i + 1 != leader).unwrap();
    let source = (0..3).find(|i| *i != cut).unwrap();
    lan.set_link(&members[cut], false).unwrap();
    let routes = host_routes(3000);
    let _source = client(
        &clients[source],
        &members,
        dir.path(),
        routes.iter().map(String::as_str).collect(),
    );
    // The majority commits the routes while the member is away.
    let majority: Vec<usize> = (0..3).filter(|i| *i != cut).collect();
    let committed = wait_for(60, || {
        let d: Vec<_> = majority
            .iter()
            .map(|i| reflex_tests::cluster::digest(&cluster.dirs[*i]))
            .collect::<Option<Vec<_>>>()?;
        (d.iter().all(|x| *x == d[0]) && d[0].1 >= 3000).then(|| d[0].clone())
    });
    assert!(committed.is_some(), "{:?}", cluster.digests());
    let away = reflex_tests::cluster::digest(&cluster.dirs[cut]);
    assert!(away.as_ref().is_none_or(|d| d.1 < 3000), "{away:?}");
    // Healed: the member catches up.
    lan.set_link(&members[cut], true).unwrap();
    let agreed = cluster.agree(60, 3000);
    assert!(
        agreed.is_some(),
        "digests differ: {:?}\nthe member cut off:\n{}",
        cluster.digests(),
        reflex_tests::reflex::log_tail(&cluster.dirs[cut])
    );
}

#[test]
fn follower_killed_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, clients) = three_and_three().unwrap();
    let mut cluster = Cluster::start(members.clone(), dir.path(), &clients).unwrap();
    let leader = wait_for(20, || cluster.leader(0)).expect("a leader") as usize;
    let follower = (0..3).find(|i| i + 1 != leader).unwrap();
    let source = (0..3).find(|i| *i != follower).unwrap();
    let receiver = (0..3).find(|i| *i != follower && *i != source).unwrap();
    let rx = client(&clients[receiver], &members, dir.path(), vec![]);
    // The follower dies; the two others go on and commit a burst.
    cluster.kill(follower);
    let routes = host_routes(10_000);
    let _source = client(
        &clients[source],
        &members,
        dir.path(),
        routes.iter().map(String::as_str).collect(),
    );
    let proto = format!("m{}", receiver + 1);
    assert!(
        wait_for(120, || imported(&rx, &proto).filter(|n| *n >= 10_000)).is_some(),
        "receiver has {:?}",
        imported(&rx, &proto)
    );
    // Back from its store, it catches up with what it missed.
    cluster.restart(follower).unwrap();
    let agreed = cluster.agree(60, 10_000);
    assert!(agreed.is_some(), "digests differ: {:?}", cluster.digests());
}

/// A member that restarts while no leader is within its reach (here: the
/// other two are down) cannot mark the sessions it ran before as stale;
/// it waits for a leader instead of exiting (it used to exit 1 within
/// seconds, and its supervisor restarted it into the same failure: the
/// fault campaign's seed 69, a member restarted while the leader was cut
/// off). Once the others are back it finishes starting and catches up.
#[test]
fn member_restarted_without_a_leader_in_reach_waits_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, clients) = three_and_three().unwrap();
    let mut cluster = Cluster::start(members.clone(), dir.path(), &clients).unwrap();
    let leader = wait_for(20, || cluster.leader(0)).expect("a leader") as usize;
    // A follower with its client's session up (client i is owned by
    // member i + 1): it has a peer to mark stale when it restarts.
    let victim = (0..3).find(|i| i + 1 != leader).unwrap();
    let routes = host_routes(500);
    let bird = client(
        &clients[victim],
        &members,
        dir.path(),
        routes.iter().map(String::as_str).collect(),
    );
    let owner = format!("m{}", victim + 1);
    assert!(
        wait_for(60, || bird.bgp_state(&owner).filter(|s| s == "Established")).is_some(),
        "the client's session never came up on member {}",
        victim + 1
    );
    assert!(cluster.agree(60, 500).is_some(), "{:?}", cluster.digests());
    for i in 0..3 {
        cluster.kill(i);
    }
    cluster.restart(victim).unwrap();
    // Alone for 20 s: long past the 5 s it waits for a leader and the
    // write's own tries.
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(20) {
        let d = cluster.daemons[victim].as_mut().unwrap();
        assert!(
            d.is_running(),
            "member {} exited with no leader in reach: {:?}\n{}",
            victim + 1,
            d.exited(),
            reflex_tests::reflex::log_tail(&cluster.dirs[victim])
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let log = reflex_tests::reflex::log(&cluster.dirs[victim]);
    assert!(
        log.contains("waiting for one"),
        "the wait is logged\n{}",
        reflex_tests::reflex::log_tail(&cluster.dirs[victim])
    );
    for i in (0..3).filter(|i| *i != victim) {
        cluster.restart(i).unwrap();
    }
    let ready = wait_for(60, || {
        reflex_tests::reflex::log(&cluster.dirs[victim])
            .contains("replicated RIB ready")
            .then_some(())
    });
    assert!(
        ready.is_some(),
        "member {} never finished starting\n{}",
        victim + 1,
        reflex_tests::reflex::log_tail(&cluster.dirs[victim])
    );
    let agreed = cluster.agree(60, 500);
    assert!(agreed.is_some(), "digests differ: {:?}", cluster.digests());
    eprintln!(
        "member {} waited alone 20 s, then started and agrees: {agreed:?}",
        victim + 1
    );
}
