//! Route-map names and the policy are replicated state: a PeerUp carries
//! the names through the log, a snapshot keeps them (format 3); a policy
//! change goes through the log as its text and a snapshot keeps the one in
//! force with its version (format 4); a PeerUp without names is written as
//! before (so an older release reads it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use speaker::policy::Policy;
use speaker::rib::{
    Attachment, GroupId, GroupImage, GroupKey, NextHopSelf, PeerId, PeerImage, PeerInfo,
    ReplicatedPolicy, RibCommand, RibImage,
};
use speaker::wire::Family;
use speaker::wire::intern::AttrInterner;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use storage::format;
use storage::stored::{StoredBatch, StoredCommand, StoredState};
use storage::writes::Writes;

fn peer(id: u32, import: Option<&str>, export: Option<&str>) -> PeerInfo {
    PeerInfo {
        id: PeerId(id),
        address: IpAddr::V4(Ipv4Addr::new(198, 18, 1, id as u8)),
        asn: 65001,
        router_id: Ipv4Addr::new(198, 18, 1, id as u8),
        rr_client: false,
        cluster_id: None,
        families: vec![Family::IPV4_UNICAST],
        add_path_send: vec![],
        four_octet_as: true,
        next_hop_self: NextHopSelf::default(),
        import: import.map(String::from),
        export: export.map(String::from),
        long_lived: false,
    }
}

fn no_policy(_: &str) -> Result<Policy, String> {
    Err("no policy expected".into())
}

#[test]
fn a_peer_up_keeps_its_route_maps_through_the_log() {
    let with = peer(1, Some("IN"), Some("OUT"));
    let without = peer(2, None, None);
    let batch = StoredBatch::of(&[
        RibCommand::PeerUp(with.clone()),
        RibCommand::PeerUp(without.clone()),
    ]);
    assert!(matches!(
        batch.commands[0],
        StoredCommand::PeerUpWithPolicy { .. }
    ));
    // Without route-maps: the command every format has.
    assert!(matches!(batch.commands[1], StoredCommand::PeerUp(_)));
    let octets = format::encode(&batch).unwrap();
    let back: StoredBatch = format::decode(&octets).unwrap();
    let commands = back.commands_with(&mut AttrInterner::new()).unwrap();
    let infos: Vec<PeerInfo> = commands
        .into_iter()
        .map(|c| match c {
            storage::Command::Rib(RibCommand::PeerUp(p)) => p,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(infos, vec![with, without]);
}

#[test]
fn a_snapshot_keeps_peer_and_group_route_maps() {
    let info = peer(1, Some("IN"), Some("OUT"));
    let key = GroupKey::of(&info, 65000, Ipv4Addr::new(198, 18, 0, 1));
    assert_eq!(key.export.as_deref(), Some("OUT"));
    let image = RibImage {
        peers: vec![
            PeerImage {
                info: info.clone(),
                up: true,
                group: Some(GroupId(0)),
                stats: Default::default(),
            },
            PeerImage {
                info: peer(2, None, None),
                up: true,
                group: None,
                stats: Default::default(),
            },
        ],
        groups: vec![GroupImage {
            id: GroupId(0),
            key: key.clone(),
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
    let back = StoredState::decode(&octets)
        .unwrap()
        .image_with(&mut AttrInterner::new(), &no_policy)
        .unwrap();
    assert_eq!(back, image);
    // Format 2 (no route-maps) still reads, without them.
    let v2 = postcard::to_extend(&(&state.rib, &state.owners, &state.writes), vec![2]).unwrap();
    let old = StoredState::decode(&v2)
        .unwrap()
        .image_with(&mut AttrInterner::new(), &no_policy)
        .unwrap();
    assert_eq!(old.peers[0].info.import, None);
    assert_eq!(old.groups[0].key.export, None);
}

fn replicated() -> ReplicatedPolicy {
    ReplicatedPolicy {
        text: "[[route-map.OUT]]\naction = \"permit\"\n".into(),
        compiled: Arc::new(Policy::default()),
        ebgp_requires_policy: false,
        attachments: [(
            PeerId(3),
            Attachment {
                import: None,
                export: Some("OUT".into()),
            },
        )]
        .into_iter()
        .collect(),
    }
}

/// A compiler for the test's text only (the node's reads the real language).
fn compile(text: &str) -> Result<Policy, String> {
    if text == replicated().text {
        Ok(Policy::default())
    } else {
        Err(format!("unexpected policy text {text:?}"))
    }
}

#[test]
fn a_policy_change_goes_through_the_log_as_its_text() {
    let p = replicated();
    let batch = StoredBatch::of(&[RibCommand::Policy(Arc::new(p.clone()))]);
    let octets = format::encode(&batch).unwrap();
    let back: StoredBatch = format::decode(&octets).unwrap();
    let commands = back.commands_with(&mut AttrInterner::new()).unwrap();
    let [storage::Command::Policy(stored)] = commands.as_slice() else {
        panic!("{commands:?}");
    };
    assert_eq!(stored.text, p.text);
    assert_eq!(stored.with(p.compiled.clone()), p);
}

#[test]
fn a_snapshot_keeps_the_replicated_policy_and_reads_format_3() {
    let image = RibImage {
        policy: Some((7, Arc::new(replicated()))),
        ..RibImage::default()
    };
    let state = StoredState::of(
        &image,
        &Default::default(),
        &Default::default(),
        &Writes::default(),
    );
    let octets = format::encode(&state).unwrap();
    let back = StoredState::decode(&octets).unwrap();
    assert_eq!(
        back.image_with(&mut AttrInterner::new(), &compile).unwrap(),
        image
    );
    // A member that cannot compile it refuses the snapshot, saying why.
    let e = back
        .image_with(&mut AttrInterner::new(), &no_policy)
        .unwrap_err();
    assert!(e.to_string().contains("policy does not compile"), "{e}");
    // Format 3 (no replicated policy) still reads, without one.
    let v3 = postcard::to_extend(
        &(&state.rib, &state.owners, &state.writes, &state.policy),
        vec![3],
    )
    .unwrap();
    let old = StoredState::decode(&v3)
        .unwrap()
        .image_with(&mut AttrInterner::new(), &no_policy)
        .unwrap();
    assert_eq!(old.policy, None);
}
