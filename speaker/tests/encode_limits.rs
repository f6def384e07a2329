//! Encoders never cut or wrap a length (issue 19 §5): a field longer
//! than its length allows, or a message longer than the peer accepts
//! (4,096 octets, 65,535 with RFC 8654), is an error and nothing is
//! written; a NOTIFICATION's data is cut to fit instead (it is only a
//! diagnostic copy).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use speaker::wire::attr::{AttrFlags, AttrValue, Origin, PathAttribute, PathAttributes};
use speaker::wire::capability::Capability;
use speaker::wire::error::EncodeError;
use speaker::wire::open::Open;
use speaker::wire::{CodecContext, Family, Message, Notification};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// An UPDATE (no NLRI) whose one unknown optional transitive attribute
/// holds `octets` octets.
fn update_with(octets: usize) -> Message {
    let mut u = speaker::wire::update::Update::end_of_rib(Family::IPV4_UNICAST);
    let mut big = PathAttribute::new(AttrValue::Unknown {
        type_code: 250,
        value: Bytes::from(vec![7u8; octets]),
    });
    big.flags = AttrFlags(AttrFlags::OPTIONAL | AttrFlags::TRANSITIVE);
    u.attributes = Arc::new(PathAttributes::new(vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        big,
    ]));
    Message::Update(u)
}

fn extended() -> CodecContext {
    CodecContext {
        extended_message: true,
        ..CodecContext::four_octet()
    }
}

#[test]
fn an_update_longer_than_the_peer_accepts_is_not_encoded() {
    let m = update_with(5000);
    let mut out = BytesMut::from(&b"kept"[..]);
    let e = m.encode(&CodecContext::four_octet(), &mut out).unwrap_err();
    assert!(
        matches!(e, EncodeError::MessageTooLong { max: 4096, len } if len > 5000),
        "{e:?}"
    );
    assert_eq!(&out[..], b"kept", "nothing written on an error");
    // With extended messages it goes, and comes back the same.
    let wire = m.to_bytes(&extended()).unwrap();
    assert!(wire.len() > 5000);
    let Message::Update(back) = Message::decode(wire, &extended(), None).unwrap() else {
        panic!("not an UPDATE");
    };
    let value = back.attributes.attrs.iter().find_map(|a| match &a.value {
        AttrValue::Unknown { value, .. } => Some(value.len()),
        _ => None,
    });
    assert_eq!(value, Some(5000));
}

#[test]
fn an_attribute_longer_than_its_length_field_is_not_encoded() {
    // 65,530 octets of value fit an extended message; 65,536 fit no
    // attribute length.
    let fits = update_with(65_500);
    assert!(fits.to_bytes(&extended()).is_ok());
    let e = update_with(65_536).to_bytes(&extended()).unwrap_err();
    assert!(
        matches!(
            e,
            EncodeError::FieldTooLong {
                what: "a path attribute",
                len: 65_536,
                max: 65_535
            }
        ),
        "{e:?}"
    );
    // Two attributes that each fit but together overflow the attributes
    // field's length.
    let e = update_with(65_530).to_bytes(&extended()).unwrap_err();
    assert!(
        matches!(
            e,
            EncodeError::FieldTooLong {
                what: "the path attributes",
                len: 65_538,
                ..
            }
        ),
        "{e:?}"
    );
    // A field that fits, in a message that does not.
    let e = update_with(65_510).to_bytes(&extended()).unwrap_err();
    assert!(
        matches!(
            e,
            EncodeError::MessageTooLong {
                max: 65_535,
                len: 65_541
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_capability_longer_than_255_octets_is_not_encoded() {
    let open = Open::new(
        65000,
        90,
        Ipv4Addr::new(198, 18, 0, 1),
        vec![Capability::Unknown {
            code: 200,
            value: Bytes::from(vec![1u8; 300]),
        }],
    );
    let e = Message::Open(open)
        .to_bytes(&CodecContext::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            EncodeError::FieldTooLong {
                what: "a capability",
                len: 300,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_notification_s_data_is_cut_to_the_message_size() {
    let n = Notification::new(3, 1, Bytes::from(vec![9u8; 10_000]));
    let wire = Message::Notification(n.clone())
        .to_bytes(&CodecContext::default())
        .unwrap();
    assert_eq!(wire.len(), 4096);
    let Message::Notification(back) =
        Message::decode(wire, &CodecContext::default(), None).unwrap()
    else {
        panic!("not a NOTIFICATION");
    };
    assert_eq!((back.code, back.subcode), (3, 1));
    assert_eq!(back.data.len(), 4096 - 21);
    assert_eq!(back.data[..], n.data[..4096 - 21]);
    let wire = Message::Notification(n).to_bytes(&extended()).unwrap();
    assert_eq!(wire.len(), 10_021);
}
