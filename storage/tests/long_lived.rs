//! Long-lived graceful restart (RFC 9494) is replicated state: a PeerUp
//! says whether the session negotiated it, the long-lived stale commands go
//! through the log, and a snapshot keeps which peers and groups have it
//! (format 7); a format-6 snapshot still reads, without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use speaker::rib::{
    GroupId, GroupImage, GroupKey, PeerId, PeerImage, PeerInfo, RibCommand, RibImage,
};
use speaker::wire::Family;
use speaker::wire::intern::AttrInterner;
use std::net::Ipv4Addr;
use storage::format;
use storage::stored::{StoredBatch, StoredCommand, StoredState};
use storage::writes::Writes;

fn long_lived(id: u32) -> PeerInfo {
    let mut p = common::client(id);
    p.long_lived = true;
    p
}

#[test]
fn long_lived_commands_go_through_the_log() {
    let commands = vec![
        RibCommand::PeerUp(long_lived(1)),
        RibCommand::PeerUp(common::client(2)),
        RibCommand::LongLivedStale {
            peer: PeerId(1),
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        },
        RibCommand::LongLivedExpired {
            peer: PeerId(1),
            family: Family::IPV6_UNICAST,
        },
    ];
    let batch = StoredBatch::of(&commands);
    assert!(matches!(
        batch.commands[0],
        StoredCommand::PeerUpLongLived { .. }
    ));
    // Without it: the command every format has.
    assert!(matches!(batch.commands[1], StoredCommand::PeerUp(_)));
    let octets = format::encode(&batch).unwrap();
    assert_eq!(octets[0], 7);
    let back: StoredBatch = format::decode(&octets).unwrap();
    let read: Vec<RibCommand> = back
        .commands_with(&mut AttrInterner::new())
        .unwrap()
        .into_iter()
        .map(|c| match c {
            storage::Command::Rib(c) => c,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(read, commands);
}

#[test]
fn a_snapshot_keeps_long_lived_peers_and_groups_and_reads_format_6() {
    let info = long_lived(1);
    let key = GroupKey::of(&info, 65000, Ipv4Addr::new(198, 18, 0, 1));
    assert!(key.long_lived);
    let image = RibImage {
        peers: vec![
            PeerImage {
                info,
                up: true,
                group: Some(GroupId(0)),
                stats: Default::default(),
            },
            PeerImage {
                info: common::client(2),
                up: false,
                group: None,
                stats: Default::default(),
            },
        ],
        groups: vec![GroupImage {
            id: GroupId(0),
            key,
            members: vec![PeerId(1)],
        }],
        next_group: 1,
        destinations: vec![],
        policy: None,
    };
    let state = StoredState::of(
        &image,
        &Default::default(),
        &Default::default(),
        &Writes::default(),
    );
    let octets = format::encode(&state).unwrap();
    assert_eq!(octets[0], format::FORMAT);
    let no_policy = |_: &str| Err("no policy expected".to_string());
    let back = StoredState::decode(&octets)
        .unwrap()
        .image_with(&mut AttrInterner::new(), &no_policy)
        .unwrap();
    assert_eq!(back, image);
    // Format 6 (before it) still reads, without it.
    let v6 = postcard::to_extend(
        &(
            &state.rib,
            &state.owners,
            &state.writes,
            &state.policy,
            &state.replicated_policy,
            &state.peer_ids,
            &state.leases,
        ),
        vec![6],
    )
    .unwrap();
    let old = StoredState::decode(&v6)
        .unwrap()
        .image_with(&mut AttrInterner::new(), &no_policy)
        .unwrap();
    assert!(!old.peers[0].info.long_lived);
    assert!(!old.groups[0].key.long_lived);
}
