//! Three members on loopback: a cluster forms, writes to any member are
//! committed (forwarded from followers), every member applies the same
//! RIB (equal digests); the leader stops, another takes over; the stopped
//! member restarts from its store and catches up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use consensus::Member;
use consensus::protocol::Manage;
use speaker::rib::{NextHopSelf, PeerId, PeerInfo, RibCommand};
use speaker::wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
use speaker::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::{NodeId, Request};

use common::rib_config;

fn client(id: u32) -> PeerInfo {
    PeerInfo {
        id: PeerId(id),
        address: IpAddr::V4(Ipv4Addr::new(198, 18, 1, id as u8)),
        asn: 65000,
        router_id: Ipv4Addr::new(198, 18, 1, id as u8),
        rr_client: true,
        cluster_id: None,
        families: vec![Family::IPV4_UNICAST],
        add_path_send: vec![],
        four_octet_as: true,
        next_hop_self: NextHopSelf::default(),
        import: None,
        export: None,
        long_lived: false,
    }
}

async fn start(id: NodeId, addr: SocketAddr, dir: &Path) -> Member {
    common::start(id, addr, dir, rib_config()).await
}

async fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn applied(m: &Member) -> (u64, u64, usize) {
    m.read(|a| {
        (
            a.last_applied.map_or(0, |l| l.index),
            a.rib.digest(),
            a.rib.loc_rib_len(),
        )
    })
}

/// Waits until every member applied the same index, and returns the digest
/// they agree on.
async fn agree(members: &[&Member]) -> (u64, usize) {
    wait_for("members agree", || {
        let states: Vec<_> = members.iter().map(|m| applied(m)).collect();
        let first = states[0];
        states
            .iter()
            .all(|s| *s == first)
            .then_some((first.1, first.2))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_agree_through_leader_loss_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let m1 = start(1, any, dir.path()).await;
    let m2 = start(2, any, dir.path()).await;
    let m3 = start(3, any, dir.path()).await;
    let addrs: BTreeMap<NodeId, SocketAddr> = [
        (1, common::socket(&m1)),
        (2, common::socket(&m2)),
        (3, common::socket(&m3)),
    ]
    .into_iter()
    .collect();
    m1.init(addrs.clone()).await.unwrap();
    let leader = wait_for("a leader", || m1.leader()).await;

    // Clients come up and send routes; writes go to every member.
    let mut members = vec![m1, m2, m3];
    members[1]
        .write(Request::new(vec![
            RibCommand::PeerUp(client(1)),
            RibCommand::PeerUp(client(2)),
        ]))
        .await
        .unwrap();
    for (i, m) in members.iter().enumerate() {
        let batch: Vec<RibCommand> = (0..4)
            .map(|b| common::routes(1, (i as u32 * 4 + b) * 1000, 1000, 10))
            .collect();
        m.write(Request::new(batch)).await.unwrap();
    }
    // A better path for some from client 2 (lower MED).
    members[2]
        .write(Request::new(vec![common::routes(2, 0, 500, 5)]))
        .await
        .unwrap();
    let (digest, loc) = agree(&members.iter().collect::<Vec<_>>()).await;
    assert_eq!(loc, 12_000);

    // The leader stops; the others elect a new one and go on.
    let pos = members.iter().position(|m| m.id == leader).unwrap();
    let old = members.remove(pos);
    let (old_id, old_addr) = (old.id, common::socket(&old));
    old.shutdown().await;
    let new_leader = wait_for("a new leader", || {
        members[0].leader().filter(|l| *l != leader)
    })
    .await;
    assert_ne!(new_leader, old_id);
    members[0]
        .write(Request::new(vec![common::routes(2, 20_000, 2000, 5)]))
        .await
        .unwrap();
    let (digest2, loc2) = agree(&members.iter().collect::<Vec<_>>()).await;
    assert_eq!(loc2, 14_000);
    assert_ne!(digest2, digest);

    // The stopped member restarts from its store, on its address, and
    // catches up with what was committed without it.
    let back = start(old_id, old_addr, dir.path()).await;
    members.push(back);
    let (digest3, loc3) = agree(&members.iter().collect::<Vec<_>>()).await;
    assert_eq!((digest3, loc3), (digest2, loc2));
    for m in members {
        m.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joins_and_leaves_through_joint_consensus() {
    let dir = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let m1 = start(1, any, dir.path()).await;
    m1.init([(1, common::socket(&m1))].into_iter().collect())
        .await
        .unwrap();
    wait_for("a leader", || m1.leader()).await;
    m1.write(Request::new(vec![
        RibCommand::PeerUp(client(1)),
        common::routes(1, 0, 3000, 10),
    ]))
    .await
    .unwrap();

    // A second member joins (`reflex cluster add`, asked of the leader):
    // learner, caught up, then voter.
    let m2 = start(2, any, dir.path()).await;
    let status = common::ask(dir.path(), &m1, Manage::Add(2, common::addr(&m2)))
        .await
        .unwrap();
    assert_eq!(
        status.voters.keys().copied().collect::<Vec<_>>(),
        vec![1, 2]
    );
    let voters = || -> Vec<NodeId> {
        m1.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .collect()
    };
    assert_eq!(voters(), vec![1, 2]);
    let (digest, loc) = agree(&[&m1, &m2]).await;
    assert_eq!(loc, 3000);
    // Writes through the new member reach both.
    m2.write(Request::new(vec![common::routes(1, 3000, 1000, 10)]))
        .await
        .unwrap();
    let (digest2, loc2) = agree(&[&m1, &m2]).await;
    assert_eq!(loc2, 4000);
    assert_ne!(digest, digest2);

    // It leaves (`reflex cluster remove`): one voter again, and the
    // cluster goes on without it.
    let status = common::ask(dir.path(), &m1, Manage::Remove(2))
        .await
        .unwrap();
    assert_eq!(status.voters.keys().copied().collect::<Vec<_>>(), vec![1]);
    assert_eq!(voters(), vec![1]);
    m1.write(Request::new(vec![common::routes(1, 4000, 500, 10)]))
        .await
        .unwrap();
    assert_eq!(applied(&m1).2, 4500);
    m1.shutdown().await;
    m2.shutdown().await;
}

/// `count` host routes from `first`, each with its own AS path and MED: as
/// many attribute sets as routes, so the snapshot is several MB. Route 0's
/// AS path holds AS 0 (RFC 7607: malformed), which the log and the
/// snapshot must store alike.
fn routes_each_own_set(peer: u32, first: u32, count: u32) -> RibCommand {
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let announced = (first..first + count)
        .map(|i| {
            let attrs = Arc::new(PathAttributes::new(vec![
                PathAttribute::new(AttrValue::Origin(Origin::Igp)),
                PathAttribute::new(AttrValue::AsPath(AsPath::sequence(vec![64512, 64513, i]))),
                PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 1, peer as u8))),
                PathAttribute::new(AttrValue::MultiExitDisc(i)),
            ]));
            let p = Prefix::new(IpAddr::V4(Ipv4Addr::from(base + i)), 32).unwrap();
            (Family::IPV4_UNICAST, NlriEntry::plain(p), attrs)
        })
        .collect();
    RibCommand::Routes {
        peer: PeerId(peer),
        withdrawn: vec![],
        announced,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_streamed_in_chunks_to_a_member_without_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let m1 = start(1, any, dir.path()).await;
    m1.init([(1, common::socket(&m1))].into_iter().collect())
        .await
        .unwrap();
    wait_for("a leader", || m1.leader()).await;
    m1.write(Request::new(vec![RibCommand::PeerUp(client(1))]))
        .await
        .unwrap();
    const ROUTES: u32 = 120_000;
    for first in (0..ROUTES).step_by(20_000) {
        m1.write(Request::new(vec![routes_each_own_set(1, first, 20_000)]))
            .await
            .unwrap();
    }
    // Snapshot and drop the log it covers: a new member can only be
    // brought up to date with the snapshot.
    let status = common::ask(dir.path(), &m1, Manage::Snapshot)
        .await
        .unwrap();
    assert!(status.snapshot.is_some(), "{status:?}");

    let m2 = start(2, any, dir.path()).await;
    common::ask(dir.path(), &m1, Manage::Add(2, common::addr(&m2)))
        .await
        .unwrap();
    let (digest, loc) = agree(&[&m1, &m2]).await;
    assert_eq!(loc, ROUTES as usize);
    assert_eq!(digest, applied(&m1).1);
    let received = common::ask(dir.path(), &m2, Manage::Status).await.unwrap();
    // 120,000 attribute sets are several MB: more than one 1 MiB chunk.
    assert!(
        received.snapshot_chunks >= 3,
        "snapshot in {} chunk(s)",
        received.snapshot_chunks
    );
    m1.shutdown().await;
    m2.shutdown().await;
}

/// Writes `batches` batches of 100 routes of client 1 through `m`, each
/// its own set, from `sent` on.
async fn write_batches(m: &Member, batches: u32, sent: &mut u32) {
    for _ in 0..batches {
        m.write(Request::new(vec![routes_each_own_set(1, *sent, 100)]))
            .await
            .unwrap();
        *sent += 100;
    }
}

/// A member that lost its disk (its store emptied, the same id and
/// address) is brought back by the leader: a snapshot, then the log after
/// it. Twice, and with the leader's log compacted each time, as the
/// fault campaign's seed 2 did: openraft's leader kept the member's
/// matching index of before the loss, and sent it entries that did not
/// follow its (empty) log; the member's Raft stopped for good ('try to
/// get log at index 0 but got Some(3800)'), and its store could not be
/// opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_lost_its_disk_twice_is_brought_back_by_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut members = vec![
        start(1, any, dir.path()).await,
        start(2, any, dir.path()).await,
        start(3, any, dir.path()).await,
    ];
    let addrs: BTreeMap<NodeId, SocketAddr> =
        members.iter().map(|m| (m.id, common::socket(m))).collect();
    members[0].init(addrs).await.unwrap();
    wait_for("a leader", || members[0].leader()).await;
    members[0]
        .write(Request::new(vec![RibCommand::PeerUp(client(1))]))
        .await
        .unwrap();
    let mut sent = 0u32;
    let mut last_lost = 0;
    for round in 0..2 {
        // Entries, then a snapshot and the log it covers dropped on the
        // leader: the member that lost its disk can only get the snapshot.
        write_batches(&members[0], 20, &mut sent).await;
        agree(&members.iter().collect::<Vec<_>>()).await;
        let leader = wait_for("a leader", || members[0].leader()).await;
        let l = members.iter().position(|m| m.id == leader).unwrap();
        common::ask(dir.path(), &members[l], Manage::Snapshot)
            .await
            .unwrap();
        // The follower has more than the snapshot when it loses its disk:
        // the leader knew it matched past the snapshot.
        write_batches(&members[0], 20, &mut sent).await;
        agree(&members.iter().collect::<Vec<_>>()).await;
        // A follower loses its disk.
        let f = (l + 1 + round) % 3;
        let f = if f == l { (f + 1) % 3 } else { f };
        let lost = members.remove(f);
        let (id, addr) = (lost.id, common::socket(&lost));
        lost.shutdown().await;
        std::fs::remove_dir_all(dir.path().join(id.to_string())).unwrap();
        write_batches(&members[0], 5, &mut sent).await;
        members.insert(f, start(id, addr, dir.path()).await);
        last_lost = f;
        // Through a member that knows the leader (the one back may not yet).
        let w = if f == 0 { 1 } else { 0 };
        write_batches(&members[w], 5, &mut sent).await;
        let (_, loc) = agree(&members.iter().collect::<Vec<_>>()).await;
        assert_eq!(loc, sent as usize, "round {round}");
        for m in &members {
            assert_eq!(m.fatal(), None, "member {} stopped for good", m.id);
        }
    }
    // The one that lost its disk last restarts from what it was sent.
    let last = members.remove(last_lost);
    let (id, addr) = (last.id, common::socket(&last));
    last.shutdown().await;
    members.insert(last_lost, start(id, addr, dir.path()).await);
    let (_, loc) = agree(&members.iter().collect::<Vec<_>>()).await;
    assert_eq!(loc, sent as usize);
    for m in members {
        m.shutdown().await;
    }
}
