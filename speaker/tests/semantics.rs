//! Behaviour around the codec that the RFCs fix: propagation of unknown
//! attributes, the AS4_PATH merge, path length, AS_TRANS, shutdown
//! communications.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use speaker::wire::attr::{
    AsPath, AsSegment, AttrFlags, AttrValue, PathAttribute, PathAttributes, SegmentType,
};
use speaker::wire::capability::Capability;
use speaker::wire::notification::{Notification, ShutdownCommunication, code, subcode};
use speaker::wire::open::AS_TRANS;
use speaker::wire::{CodecContext, Message, Open};
use std::net::Ipv4Addr;

#[test]
fn unknown_transitive_gets_partial_and_non_transitive_is_dropped() {
    // RFC 4271 §5 / §9.1.3.
    let mut attrs = PathAttributes::new(vec![
        PathAttribute::new(AttrValue::LocalPref(100)),
        PathAttribute {
            flags: AttrFlags::OPTIONAL_TRANSITIVE,
            value: AttrValue::Unknown {
                type_code: 99,
                value: Bytes::from_static(&[1]),
            },
        },
        PathAttribute {
            flags: AttrFlags::OPTIONAL_NON_TRANSITIVE,
            value: AttrValue::Unknown {
                type_code: 98,
                value: Bytes::from_static(&[2]),
            },
        },
        PathAttribute {
            flags: AttrFlags::WELL_KNOWN,
            value: AttrValue::Invalid {
                type_code: 1,
                value: Bytes::from_static(&[9]),
            },
        },
    ]);
    attrs.prepare_for_propagation();
    assert_eq!(attrs.attrs.len(), 2);
    assert_eq!(attrs.attrs[1].value.type_code(), 99);
    assert!(attrs.attrs[1].flags.partial());
    assert!(attrs.get(98).is_none());
}

#[test]
fn malformed_attribute_is_invisible_to_getters() {
    let attrs = PathAttributes::new(vec![PathAttribute {
        flags: AttrFlags::WELL_KNOWN,
        value: AttrValue::Invalid {
            type_code: 1,
            value: Bytes::from_static(&[7]),
        },
    }]);
    assert!(attrs.origin().is_none());
    assert!(!attrs.has(1));
}

fn seq(a: &[u32]) -> AsSegment {
    AsSegment {
        kind: SegmentType::Sequence,
        asns: a.to_vec(),
    }
}

#[test]
fn as4_path_merge_follows_rfc_6793() {
    // AS_PATH from a 2-octet speaker: 65001 AS_TRANS AS_TRANS; AS4_PATH: the
    // two real 4-octet ASes. Result: 65001 then AS4_PATH (§4.2.3).
    let t = u32::from(AS_TRANS);
    let path = AsPath::from_segments(vec![seq(&[65001, t, t])]);
    let as4 = AsPath::from_segments(vec![seq(&[4_200_000_001, 4_200_000_002])]);
    assert_eq!(
        path.merge_as4(&as4),
        AsPath::from_segments(vec![seq(&[65001]), seq(&[4_200_000_001, 4_200_000_002])])
    );
    // An AS4_PATH longer than AS_PATH is ignored.
    let long = AsPath::from_segments(vec![seq(&[1, 2, 3, 4])]);
    assert_eq!(path.merge_as4(&long), path);
}

#[test]
fn path_length_counts_sets_once_and_confederations_not_at_all() {
    let p = AsPath::from_segments(vec![
        AsSegment {
            kind: SegmentType::ConfedSequence,
            asns: vec![1, 2],
        },
        seq(&[3, 4, 5]),
        AsSegment {
            kind: SegmentType::Set,
            asns: vec![6, 7],
        },
    ]);
    assert_eq!(p.path_length(), 4);
    assert_eq!(p.to_string(), "(1 2) 3 4 5 {6,7}");
    assert_eq!(p.first_asn(), None);
}

#[test]
fn segments_longer_than_255_ases_are_split_on_encode() {
    let asns: Vec<u32> = (1..=300).collect();
    let path = AsPath::sequence(asns.clone());
    let mut out = bytes::BytesMut::new();
    path.encode(true, &mut out);
    let back = AsPath::decode(&out, true).unwrap();
    assert_eq!(back.segments().count(), 2);
    let flat: Vec<u32> = back
        .segments()
        .flat_map(|s| s.asns.iter().copied())
        .collect();
    assert_eq!(flat, asns);
}

#[test]
fn a_four_octet_as_is_sent_as_as_trans() {
    // RFC 6793 §4.1: My AS is AS_TRANS, the real AS in the capability.
    let o = Open::new(
        4_200_000_000,
        90,
        Ipv4Addr::new(192, 0, 2, 1),
        vec![Capability::FourOctetAs { asn: 4_200_000_000 }],
    );
    assert_eq!(o.my_as, AS_TRANS);
    let back = Message::decode(
        Message::Open(o).to_bytes(&CodecContext::default()).unwrap(),
        &CodecContext::default(),
        None,
    )
    .unwrap();
    let Message::Open(b) = back else { panic!() };
    assert_eq!(b.asn(), 4_200_000_000);
}

#[test]
fn shutdown_communication_is_length_checked_utf8() {
    // RFC 9003: length octet then UTF-8, at most 255 octets; cut on a char boundary.
    let long = "é".repeat(200);
    let n = Notification::cease_with_message(subcode::cease::ADMINISTRATIVE_SHUTDOWN, &long);
    assert_eq!(n.data[0], 254);
    assert!(
        matches!(n.shutdown_communication(), Some(ShutdownCommunication::Message(m)) if m.chars().count() == 127)
    );
    // A length that overruns, or bytes that are not UTF-8, are reported, not errors.
    let bad = Notification::new(
        code::CEASE,
        subcode::cease::ADMINISTRATIVE_RESET,
        Bytes::from_static(&[10, b'a']),
    );
    assert!(matches!(
        bad.shutdown_communication(),
        Some(ShutdownCommunication::Invalid(_))
    ));
    let bad = Notification::new(
        code::CEASE,
        subcode::cease::ADMINISTRATIVE_RESET,
        Bytes::from_static(&[2, 0xff, 0xfe]),
    );
    assert!(matches!(
        bad.shutdown_communication(),
        Some(ShutdownCommunication::Invalid(_))
    ));
    // Other codes carry no communication.
    assert!(
        Notification::new(code::HOLD_TIMER_EXPIRED, 0, Bytes::new())
            .shutdown_communication()
            .is_none()
    );
    assert_eq!(
        n.describe().split(':').next(),
        Some("Cease / Administrative Shutdown")
    );
}

#[test]
fn large_capability_sets_use_extended_optional_parameters() {
    // RFC 9072: parameters above 255 octets switch to the extended layout.
    let caps: Vec<Capability> = (0..70)
        .map(|i| Capability::Unknown {
            code: 200,
            value: Bytes::from(vec![i; 2]),
        })
        .collect();
    let o = Open::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), caps);
    let wire = Message::Open(o.clone())
        .to_bytes(&CodecContext::default())
        .unwrap();
    assert_eq!(&wire[28..30], &[255, 255]);
    let Message::Open(b) = Message::decode(wire, &CodecContext::default(), None).unwrap() else {
        panic!()
    };
    assert!(b.extended_params);
    assert_eq!(b.capability_params, o.capability_params);
}

#[test]
fn interner_shares_sets_and_purges_unused_ones() {
    use speaker::wire::AttrInterner;
    let mut i = AttrInterner::with_limit(4);
    let make = |n: u32| PathAttributes::new(vec![PathAttribute::new(AttrValue::LocalPref(n))]);
    let a = i.intern(make(1), None);
    let b = i.intern(make(1), None);
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    drop(b);
    for n in 2..10 {
        let _ = i.intern(make(n), None);
    }
    // Only the set still in use survives the purges, and sizes stay bounded.
    assert!(i.len() <= 8, "{}", i.len());
    let again = i.intern(make(1), None);
    assert!(std::sync::Arc::ptr_eq(&a, &again));
}

#[test]
fn maximum_prefixes_reached_carries_family_and_limit() {
    // RFC 4486 §4: AFI (2 octets), SAFI (1 octet), upper bound (4 octets).
    use speaker::wire::Family;
    let n = Notification::max_prefixes_reached(Family::VPNV4, 70_000);
    assert_eq!((n.code, n.subcode), (6, 1));
    assert_eq!(&n.data[..], &[0, 1, 128, 0, 1, 0x11, 0x70]);
    assert_eq!(n.max_prefixes(), Some((Family::VPNV4, 70_000)));
    assert_eq!(
        n.describe(),
        "Cease / Maximum Number of Prefixes Reached: ipv4-vpn, limit 70000"
    );
    // The data is optional: without it (or cut short) there is none to tell.
    let bare = Notification::new(
        code::CEASE,
        subcode::cease::MAXIMUM_PREFIXES_REACHED,
        Bytes::from_static(&[0, 1, 1]),
    );
    assert_eq!(bare.max_prefixes(), None);
    assert_eq!(
        bare.describe(),
        "Cease / Maximum Number of Prefixes Reached"
    );
}
