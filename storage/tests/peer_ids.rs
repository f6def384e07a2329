//! The neighbours' ids: given through the log by address, kept in
//! snapshots, never reused, and read as empty from a format-4 snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::config;
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder};
use speaker::rib::{PeerId, RibCommand};
use std::net::IpAddr;
use storage::stored::{StoredState, StoredStateV4};
use storage::{NoHook, Request, TypeConfig, format};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `request` as entry `index`, through the stored encoding (as the log and
/// a follower read it).
fn entry(index: u64, request: Request) -> Entry<TypeConfig> {
    let e: Entry<TypeConfig> = Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(request),
    };
    format::decode(&format::encode(&e).unwrap()).unwrap()
}

fn peer_up(id: u32) -> Request {
    Request::new(vec![RibCommand::PeerUp(common::client(id))])
}

#[tokio::test]
async fn ids_follow_addresses_through_the_log_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sm) = storage::open(dir.path(), config(), Box::new(NoHook)).unwrap();
    let (a, b, c, d) = (
        ip("198.18.0.2"),
        ip("198.18.0.3"),
        ip("2001:db8::4"),
        ip("198.18.0.5"),
    );
    // An empty registry numbers in order from 0 (as the configuration's
    // order numbered them before the registry).
    sm.apply([entry(1, Request::register(vec![a, b]))])
        .await
        .unwrap();
    // Known ones keep theirs; a new one comes after every id used, also
    // one only the RIB knows (a peer of before the registry).
    sm.apply([
        entry(2, peer_up(7)),
        entry(3, Request::register(vec![c, b, a])),
    ])
    .await
    .unwrap();
    let ids = sm.applied().peer_ids.clone();
    assert_eq!(ids[&a], PeerId(0));
    assert_eq!(ids[&b], PeerId(1));
    assert_eq!(ids[&c], PeerId(8));
    sm.get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    drop(sm);
    let (_, mut again) = storage::open(dir.path(), config(), Box::new(NoHook)).unwrap();
    assert_eq!(again.applied().peer_ids, ids);
    again
        .apply([entry(4, Request::register(vec![d]))])
        .await
        .unwrap();
    assert_eq!(again.applied().peer_ids[&d], PeerId(9));
}

#[test]
fn a_format_4_snapshot_reads_with_no_ids() {
    #[derive(serde::Serialize)]
    struct V4 {
        rib: storage::stored::StoredImage,
        owners: Vec<(u32, u64)>,
        writes: storage::writes::Writes,
        policy: storage::stored::StoredPolicyRefs,
        replicated_policy: Option<(u64, storage::StoredPolicy)>,
    }
    let image = speaker::rib::Rib::new(config()).image();
    let v4 = V4 {
        rib: storage::stored::StoredImage::of(&image),
        owners: vec![(0, 1)],
        writes: Default::default(),
        policy: Default::default(),
        replicated_policy: None,
    };
    let octets = postcard::to_extend(&v4, vec![4]).unwrap();
    let read = StoredState::decode(&octets).unwrap();
    assert!(read.peer_ids.is_empty());
    assert_eq!(read.owners, vec![(0, 1)]);
    let _: fn(StoredStateV4) -> StoredState = StoredState::from;
}
