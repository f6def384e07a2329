//! Version skew (issue 17 §3): during a rolling upgrade members of two
//! releases share one log and talk on one wire. What this release writes
//! is marked with the lowest format whose release reads it, so a member
//! of the previous release reads every entry that holds only commands it
//! knows, and refuses (never misreads) one that holds a newer command.
//! What the previous release wrote (its own octets, kept below as a
//! fixture) is read by this one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};
use speaker::rib::{PeerId, RibCommand};
use speaker::wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
use speaker::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use storage::stored::{StoredBatch, StoredCommand};
use storage::{Fence, FormatError, LeaseCommand, Request, TypeConfig, WriteId, format};

fn announce() -> RibCommand {
    let attrs = Arc::new(PathAttributes::new(vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(vec![64512]))),
        PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 1, 1))),
    ]));
    let p = Prefix::new(IpAddr::V4(Ipv4Addr::new(198, 18, 7, 0)), 24).unwrap();
    RibCommand::Routes {
        peer: PeerId(1),
        withdrawn: vec![],
        announced: vec![(Family::IPV4_UNICAST, NlriEntry::plain(p), attrs)],
    }
}

/// How a release that reads formats up to `reads` decodes a value laid
/// out the same in every format (what `format::decode` is in each
/// release): by the mark, then the octets.
fn read_as_release<T: serde::de::DeserializeOwned>(
    octets: &[u8],
    reads: u8,
) -> Result<T, FormatError> {
    match octets.split_first() {
        Some((v, rest)) if (1..=reads).contains(v) => Ok(postcard::from_bytes(rest)?),
        Some((v, _)) => Err(FormatError::Version(*v)),
        None => Err(FormatError::Empty),
    }
}

#[test]
fn each_batch_is_marked_with_the_format_of_its_newest_command() {
    let routes = StoredBatch::of(&[RibCommand::PeerUp(common::client(1)), announce()]);
    assert_eq!(routes.format(), format::FORMAT_1);
    assert_eq!(routes.encode().unwrap()[0], format::FORMAT_1);
    let lease = StoredBatch::leases(&[LeaseCommand::Assign { peer: 1, member: 2 }]);
    assert_eq!(lease.encode().unwrap()[0], format::FORMAT_6);
    let register = StoredBatch::register(&[IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1))]);
    assert_eq!(register.encode().unwrap()[0], format::FORMAT_5);
    let long_lived = StoredBatch::of(&[RibCommand::LongLivedStale {
        peer: PeerId(1),
        families: vec![Family::IPV4_UNICAST],
    }]);
    assert_eq!(long_lived.encode().unwrap()[0], format::FORMAT_7);
    // A write's number (format 2) and its fence (format 6) count too.
    let write = Request::new(vec![announce()]).stored_as(
        WriteId { writer: 7, seq: 1 },
        Fence {
            epochs: vec![(1, 4)],
        },
    );
    let octets = postcard::to_allocvec(&write).unwrap();
    // The request is a byte string: its length (one octet here), then
    // the batch's own mark.
    assert_eq!(octets[1], format::FORMAT_6);
    let unfenced =
        Request::new(vec![announce()]).stored_as(WriteId { writer: 7, seq: 2 }, Fence::default());
    assert_eq!(
        postcard::to_allocvec(&unfenced).unwrap()[1],
        format::FORMAT_2
    );
}

#[test]
fn the_previous_release_reads_entries_of_commands_it_knows_and_refuses_the_others() {
    // The previous release read formats 1 to 7; one before it, 1 to 6.
    let entry = |req: Request| -> Vec<u8> {
        let e: Entry<TypeConfig> = Entry {
            log_id: LogId::new(CommittedLeaderId::new(3, 1), 42),
            payload: EntryPayload::Normal(req),
        };
        // As the log store writes it.
        format::encode_as(&e, format::FORMAT_1).unwrap()
    };
    let plain = entry(Request::new(vec![announce()]).stored());
    let read: Entry<TypeConfig> = read_as_release(&plain, 6).unwrap();
    assert_eq!(read.log_id.index, 42);
    let EntryPayload::Normal(req) = read.payload else {
        panic!("not a normal entry")
    };
    assert_eq!(req, Request::new(vec![announce()]).stored());

    // The entry is marked format 1 (its layout); the batch inside carries
    // its own mark, which each release checks as it reads the request.
    assert_eq!(plain[0], format::FORMAT_1);
    let batch = |c: RibCommand| StoredBatch::of(&[c]).encode().unwrap();
    assert!(read_as_release::<StoredBatch>(&batch(announce()), 6).is_ok());
    let long_lived = batch(RibCommand::LongLivedExpired {
        peer: PeerId(1),
        family: Family::IPV4_UNICAST,
    });
    assert!(read_as_release::<StoredBatch>(&long_lived, 7).is_ok());
    let refused = read_as_release::<StoredBatch>(&long_lived, 6)
        .expect_err("a format 6 release read a format 7 command");
    assert!(matches!(refused, FormatError::Version(7)), "{refused}");
}

/// A log entry exactly as the previous release (format 7 on every value)
/// wrote it: log id (term 3, node 1, index 42), a write (writer 7, seq 1)
/// announcing 198.18.7.0/24 from peer 1 (origin IGP, AS path 64512,
/// next hop 198.18.1.1).
const PREVIOUS_RELEASE_ENTRY: &str = "0703012a012b0701144001010040020602010000fc00400304c61201010207070101010001010100c61207001800000000";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn this_release_reads_the_previous_release_s_log_entries() {
    let octets = unhex(PREVIOUS_RELEASE_ENTRY);
    let e: Entry<TypeConfig> = format::decode(&octets).unwrap();
    assert_eq!(e.log_id, LogId::new(CommittedLeaderId::new(3, 1), 42));
    let EntryPayload::Normal(req) = e.payload else {
        panic!("not a normal entry")
    };
    let expected =
        Request::new(vec![announce()]).stored_as(WriteId { writer: 7, seq: 1 }, Fence::default());
    assert_eq!(req, expected);
    // And this release writes the same entry, marked as the lowest
    // formats that hold it: the layout did not change.
    let ours = format::encode_as(
        &Entry::<TypeConfig> {
            log_id: e.log_id,
            payload: EntryPayload::Normal(expected),
        },
        format::FORMAT_1,
    )
    .unwrap();
    let mut previous = octets.clone();
    previous[0] = format::FORMAT_1;
    // The request's own mark, after the entry's (1 octet), log id (3),
    // payload variant (1) and the request's length (1): format 2 (a
    // write's number) now, 7 then.
    assert_eq!(previous[6], 7);
    previous[6] = format::FORMAT_2;
    assert_eq!(ours, previous);
    assert!(matches!(
        StoredBatch::of(&[announce()]).commands[0],
        StoredCommand::Routes { .. }
    ));
}
