//! Exactly-once writes through the state machine: a write written again
//! (its first copy committed while the writer lost track of it) is skipped,
//! also when it comes after a newer write of the same writer, and also
//! after a snapshot replaced the state. Without it, a repeated PeerUp
//! would reset the peer and withdraw the paths it sent since.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::config;
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder};
use speaker::rib::{PeerId, PeerInfo, RibCommand};
use speaker::wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
use speaker::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use storage::{Fence, LeaseCommand, NoHook, Request, TypeConfig, WriteId, format};

fn peer() -> PeerInfo {
    common::client(1)
}

fn routes(first: u32, count: u32) -> RibCommand {
    let attrs = Arc::new(PathAttributes::new(vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(vec![64512]))),
        PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 1, 1))),
    ]));
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    RibCommand::Routes {
        peer: PeerId(1),
        withdrawn: vec![],
        announced: (first..first + count)
            .map(|i| {
                let p = Prefix::new(IpAddr::V4(Ipv4Addr::from(base + i)), 32).unwrap();
                (Family::IPV4_UNICAST, NlriEntry::plain(p), attrs.clone())
            })
            .collect(),
    }
}

fn withdraw(first: u32, count: u32) -> RibCommand {
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    RibCommand::Routes {
        peer: PeerId(1),
        withdrawn: (first..first + count)
            .map(|i| {
                let p = Prefix::new(IpAddr::V4(Ipv4Addr::from(base + i)), 32).unwrap();
                (Family::IPV4_UNICAST, NlriEntry::plain(p))
            })
            .collect(),
        announced: vec![],
    }
}

/// Write `seq` of writer 7 at log `index`, read back as the log does.
fn entry(index: u64, seq: u64, commands: Vec<RibCommand>) -> Entry<TypeConfig> {
    fenced(index, 7, seq, None, commands)
}

/// Write `seq` of `writer` at log `index`, made while its member held
/// peer 1's lease with `epoch` (None: no lease).
fn fenced(
    index: u64,
    writer: u64,
    seq: u64,
    epoch: Option<u64>,
    commands: Vec<RibCommand>,
) -> Entry<TypeConfig> {
    let write = WriteId { writer, seq };
    let fence = Fence {
        epochs: epoch.map(|e| vec![(1, e)]).unwrap_or_default(),
    };
    logged(index, Request::new(commands).stored_as(write, fence))
}

fn logged(index: u64, req: Request) -> Entry<TypeConfig> {
    let e: Entry<TypeConfig> = Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(req),
    };
    format::decode(&format::encode(&e).unwrap()).unwrap()
}

#[tokio::test]
async fn a_write_that_overtook_an_earlier_one_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sm) = storage::open(dir.path(), config(), Box::new(NoHook)).unwrap();
    // Write 1 announces, write 2 withdraws what 1 announced; 2 commits
    // first (the leader changed under 1). Applied as committed, the paths
    // would stay announced.
    let r = sm
        .apply(vec![
            entry(1, 0, vec![RibCommand::PeerUp(peer())]),
            entry(2, 2, vec![withdraw(0, 10)]),
            entry(3, 1, vec![routes(0, 10)]),
        ])
        .await
        .unwrap();
    assert!(!r[0].early && r[1].early && !r[2].early, "{r:?}");
    assert_eq!(sm.applied().rib.adj_rib_in_len(PeerId(1)), 10);
    // The writer writes 2 again: now it applies, after 1.
    let r = sm
        .apply(vec![entry(4, 2, vec![withdraw(0, 10)])])
        .await
        .unwrap();
    assert!(!r[0].early);
    assert_eq!(sm.applied().rib.adj_rib_in_len(PeerId(1)), 0);
}

#[tokio::test]
async fn a_write_under_a_stale_lease_epoch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sm) = storage::open(dir.path(), config(), Box::new(NoHook)).unwrap();
    let lease = |index, cmd| logged(index, Request::leases(vec![cmd]));
    sm.apply(vec![lease(1, LeaseCommand::Assign { peer: 1, member: 1 })])
        .await
        .unwrap();
    let first = sm.applied().leases.grant_of(PeerId(1), 1).unwrap().epoch;
    sm.apply(vec![
        fenced(2, 11, 0, Some(first), vec![RibCommand::PeerUp(peer())]),
        fenced(3, 11, 1, Some(first), vec![routes(0, 10)]),
    ])
    .await
    .unwrap();
    // Member 1 is cut off; member 2 takes the session over.
    sm.apply(vec![lease(4, LeaseCommand::Assign { peer: 1, member: 2 })])
        .await
        .unwrap();
    let second = sm.applied().leases.grant_of(PeerId(1), 2).unwrap().epoch;
    // Member 1's queued withdrawal lands after the takeover: refused;
    // member 2's announcement applies.
    let r = sm
        .apply(vec![
            fenced(5, 11, 2, Some(first), vec![withdraw(0, 10)]),
            fenced(6, 22, 0, Some(second), vec![routes(10, 5)]),
        ])
        .await
        .unwrap();
    assert_eq!((r[0].fenced, r[1].fenced), (1, 0), "{r:?}");
    assert_eq!(sm.applied().rib.adj_rib_in_len(PeerId(1)), 15);
    assert_eq!(sm.applied().owners[&PeerId(1)], 2);
}

#[tokio::test]
async fn a_write_written_again_applies_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sm) = storage::open(dir.path(), config(), Box::new(NoHook)).unwrap();
    let up = || vec![RibCommand::PeerUp(peer())];
    sm.apply(vec![
        entry(1, 0, up()),
        entry(2, 1, vec![routes(0, 100)]),
        entry(3, 2, vec![withdraw(0, 10)]),
        // Writes 0 and 1 again, after write 2: without exactly-once the
        // PeerUp would reset the peer, and the announcements would bring
        // back the 10 paths write 2 withdrew.
        entry(4, 0, up()),
        entry(5, 1, vec![routes(0, 100)]),
    ])
    .await
    .unwrap();
    assert_eq!(sm.applied().rib.adj_rib_in_len(PeerId(1)), 90);
    let snap = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    drop(sm);

    // A member restored from the snapshot skips the same copies.
    let other = tempfile::tempdir().unwrap();
    let (_, mut restored) = storage::open(other.path(), config(), Box::new(NoHook)).unwrap();
    restored
        .install_snapshot(&snap.meta, snap.snapshot)
        .await
        .unwrap();
    restored
        .apply(vec![
            entry(6, 1, vec![routes(0, 100)]),
            entry(7, 3, vec![routes(100, 50)]),
        ])
        .await
        .unwrap();
    assert_eq!(restored.applied().rib.adj_rib_in_len(PeerId(1)), 140);
}
