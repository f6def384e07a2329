//! An entry of more commands than one chunk is applied a chunk at a time,
//! the runtime's other tasks running in between. Whoever reads the RIB as
//! of an index (a snapshot's image, a digest compared across members)
//! must never see the RIB hold an entry that `last_applied` does not name
//! yet: `Applied::applying` marks the entry under way until then.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::config;
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};
use speaker::rib::{PeerId, RibCommand};
use speaker::wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
use speaker::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use storage::{NoHook, Request, TypeConfig};

/// Commands in the big entry: past two chunks of the state machine's.
const COMMANDS: u32 = 2500;

fn route(i: u32) -> RibCommand {
    let attrs = Arc::new(PathAttributes::new(vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(vec![64512]))),
        PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 1, 1))),
    ]));
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let p = Prefix::new(IpAddr::V4(Ipv4Addr::from(base + i)), 32).unwrap();
    RibCommand::Routes {
        peer: PeerId(1),
        withdrawn: vec![],
        announced: vec![(Family::IPV4_UNICAST, NlriEntry::plain(p), attrs)],
    }
}

fn entry(index: u64, commands: Vec<RibCommand>) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(Request::new(commands)),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_reader_sees_an_entry_its_index_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sm) = storage::open(dir.path(), config(), Box::new(NoHook)).unwrap();
    sm.apply(vec![entry(1, vec![RibCommand::PeerUp(common::client(1))])])
        .await
        .unwrap();

    // Runs whenever the apply yields (one thread): every state it sees
    // that is not marked as under way holds what its index says.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (sm, done) = (sm.clone(), done.clone());
        tokio::spawn(async move {
            let (mut consistent, mut under_way) = (0, 0);
            while !done.load(Ordering::Relaxed) {
                {
                    let a = sm.applied();
                    if a.applying.is_some() {
                        under_way += 1;
                    } else {
                        let expected = match a.last_applied.map(|l| l.index) {
                            Some(2) => COMMANDS as usize,
                            _ => 0,
                        };
                        assert_eq!(
                            a.rib.loc_rib_len(),
                            expected,
                            "the RIB holds an entry after index {:?}",
                            a.last_applied.map(|l| l.index)
                        );
                        consistent += 1;
                    }
                }
                tokio::task::yield_now().await;
            }
            (consistent, under_way)
        })
    };
    tokio::task::yield_now().await;
    sm.apply(vec![entry(2, (0..COMMANDS).map(route).collect())])
        .await
        .unwrap();
    tokio::task::yield_now().await;
    done.store(true, Ordering::Relaxed);
    let (consistent, under_way) = reader.await.unwrap();
    // The reader ran between the chunks (else the test proves nothing).
    assert!(
        under_way >= 2,
        "the reader saw the apply under way {under_way} times"
    );
    assert!(consistent >= 2, "{consistent}");
    assert_eq!(sm.applied().rib.loc_rib_len(), COMMANDS as usize);
}

/// `read_settled`, asked while an entry is half applied, answers once the
/// apply is over, of the whole entry and its index: the apply wakes it.
#[tokio::test(flavor = "current_thread")]
async fn a_settled_read_waits_for_the_entry_under_way() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sm) = storage::open(dir.path(), config(), Box::new(NoHook)).unwrap();
    sm.apply(vec![entry(1, vec![RibCommand::PeerUp(common::client(1))])])
        .await
        .unwrap();
    let reader = {
        let sm = sm.clone();
        tokio::spawn(async move {
            // Runs at the apply's first yield, between two chunks.
            let under_way = sm.applied().applying;
            let read = sm
                .read_settled(std::time::Duration::from_secs(10), |a| {
                    (a.last_applied.map(|l| l.index), a.rib.loc_rib_len())
                })
                .await;
            (under_way, read)
        })
    };
    sm.apply(vec![entry(2, (0..COMMANDS).map(route).collect())])
        .await
        .unwrap();
    let (under_way, read) = reader.await.unwrap();
    assert_eq!(under_way, Some(2), "the reader did not run mid-apply");
    assert_eq!(read, Some((Some(2), COMMANDS as usize)));
}
