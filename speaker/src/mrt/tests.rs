//! Synthetic records of every kind, and damaged streams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::wire::attr::{AsPath, AttrValue, MpNextHop, MpReachHeader, Origin, PathAttribute};
use crate::wire::{Family, Message, NlriEntry, PathAttributes, Prefix};
use bytes::{BufMut, BytesMut};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

fn record(t: u16, st: u16, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&1_000_000u32.to_be_bytes());
    v.extend_from_slice(&t.to_be_bytes());
    v.extend_from_slice(&st.to_be_bytes());
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn read_all(bytes: &[u8]) -> Vec<Result<Record, MrtError>> {
    MrtReader::new(bytes).unwrap().collect()
}

fn one(bytes: &[u8]) -> Record {
    let mut v = read_all(bytes);
    assert_eq!(v.len(), 1, "{v:?}");
    v.pop().unwrap().unwrap()
}

fn attrs(v4_next_hop: bool, family: Option<Family>) -> Arc<PathAttributes> {
    let mut a = vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(vec![
            65001,
            4_200_000_000,
        ]))),
    ];
    if v4_next_hop {
        a.push(PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(
            198, 18, 0, 1,
        ))));
    }
    if let Some(family) = family {
        let next_hop = MpNextHop::Ipv6("2001:db8::1".parse().unwrap());
        a.push(PathAttribute::new(AttrValue::MpReachNlri(Box::new(
            MpReachHeader {
                family,
                next_hop,
                reserved: 0,
                mrt_full_form: false,
            },
        ))));
    }
    Arc::new(PathAttributes::new(a))
}

fn peer_table() -> PeerIndexTable {
    PeerIndexTable {
        collector_bgp_id: Ipv4Addr::new(198, 18, 0, 254),
        view_name: bytes::Bytes::from_static(b"main"),
        peers: vec![
            Peer {
                bgp_id: Ipv4Addr::new(198, 18, 0, 1),
                address: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
                asn: 65001,
                as4: false,
            },
            Peer::new(
                Ipv4Addr::new(198, 18, 0, 2),
                IpAddr::V6("2001:db8::2".parse().unwrap()),
                4_200_000_000,
            ),
        ],
    }
}

#[test]
fn table_dump_v2_written_and_read_back() {
    let mut w = MrtWriter::new(Vec::new());
    let table = peer_table();
    w.write_peer_index_table(7, &table).unwrap();
    let v4 = RibRecord {
        sequence: 0,
        family: Family::IPV4_UNICAST,
        add_path: false,
        generic: false,
        nlri: NlriEntry::plain("198.18.0.0/15".parse().unwrap()),
        entries: vec![RibEntry {
            peer_index: 0,
            originated_time: 5,
            path_id: None,
            attributes: attrs(true, None),
            issues: vec![],
        }],
    };
    let v6 = RibRecord {
        sequence: 1,
        family: Family::IPV6_UNICAST,
        add_path: true,
        generic: false,
        nlri: NlriEntry::plain("2001:db8::/32".parse().unwrap()),
        entries: vec![
            RibEntry {
                peer_index: 1,
                originated_time: 6,
                path_id: Some(1),
                attributes: attrs(false, Some(Family::IPV6_UNICAST)),
                issues: vec![],
            },
            RibEntry {
                peer_index: 1,
                originated_time: 6,
                path_id: Some(2),
                attributes: attrs(false, Some(Family::IPV6_UNICAST)),
                issues: vec![],
            },
        ],
    };
    w.write_rib(7, &v4).unwrap();
    w.write_rib(7, &v6).unwrap();
    let bytes = w.into_inner();
    let recs: Vec<Record> = read_all(&bytes).into_iter().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 3);
    assert_eq!((recs[1].header.subtype, recs[2].header.subtype), (2, 10));
    match (&recs[0].data, &recs[1].data, &recs[2].data) {
        (RecordData::PeerIndexTable(t), RecordData::Rib(a), RecordData::Rib(b)) => {
            assert_eq!(t, &table);
            assert_eq!(a, &v4);
            assert_eq!(b, &v6);
            // The same attribute set is shared.
            assert!(Arc::ptr_eq(
                &b.entries[0].attributes,
                &b.entries[1].attributes
            ));
        }
        other => panic!("{other:?}"),
    }
    // The abbreviated MP_REACH_NLRI of RFC 6396 §4.3.4: flags, type, length 17, next-hop length 16.
    let at = bytes.windows(4).position(|w| w == [0x80, 14, 17, 16]);
    assert!(at.is_some());
}

#[test]
fn rib_generic_vpnv4() {
    let mut body = BytesMut::new();
    body.put_u32(9);
    body.put_u16(1);
    body.put_u8(128);
    // 24 label bits + 64 RD bits + 24 prefix bits.
    body.put_u8(24 + 64 + 24);
    body.put_slice(&[0x01, 0x00, 0x01]);
    body.put_slice(&[0, 0, 0xfd, 0xe8, 0, 0, 0, 1]);
    body.put_slice(&[198, 18, 7]);
    body.put_u16(1);
    body.put_u16(0);
    body.put_u32(0);
    body.put_u16(0);
    let r = one(&record(13, 6, &body));
    let RecordData::Rib(rib) = r.data else {
        panic!()
    };
    assert!(rib.generic);
    assert_eq!(rib.family, Family::VPNV4);
    assert_eq!(rib.nlri.prefix.to_string(), "198.18.7.0/24");
    assert_eq!(rib.nlri.rd.unwrap().to_string(), "65000:1");
    assert_eq!(rib.subtype(), 6);
    let mut again = BytesMut::new();
    rib.encode(&mut again).unwrap();
    assert_eq!(again, body);
}

#[test]
fn legacy_table_dump_ipv6() {
    let mut body = BytesMut::new();
    body.put_u16(0);
    body.put_u16(3);
    body.put_slice(&"2001:db8::".parse::<Ipv6Addr>().unwrap().octets());
    body.put_u8(32);
    body.put_u8(1);
    body.put_u32(100);
    body.put_slice(&"2001:db8::9".parse::<Ipv6Addr>().unwrap().octets());
    body.put_u16(65009);
    let a = [0x40, 1, 1, 0, 0x40, 2, 4, 2, 1, 0xfd, 0xf1];
    body.put_u16(a.len() as u16);
    body.put_slice(&a);
    let r = one(&record(12, 2, &body));
    let RecordData::TableDump(t) = r.data else {
        panic!()
    };
    assert_eq!(t.prefix, "2001:db8::/32".parse::<Prefix>().unwrap());
    assert_eq!((t.sequence, t.peer_as), (3, 65009));
    assert_eq!(t.attributes.as_path().unwrap().first_asn(), Some(65009));
    assert!(t.issues.is_empty());
}

fn peering(as4: bool, v6: bool) -> Vec<u8> {
    let mut b = BytesMut::new();
    if as4 {
        b.put_u32(4_200_000_001);
        b.put_u32(65000);
    } else {
        b.put_u16(65001);
        b.put_u16(65000);
    }
    b.put_u16(3);
    if v6 {
        b.put_u16(2);
        b.put_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.put_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    } else {
        b.put_u16(1);
        b.put_slice(&[198, 18, 0, 1, 198, 18, 0, 2]);
    }
    b.to_vec()
}

fn keepalive() -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&[0, 19, 4]);
    m
}

#[test]
fn bgp4mp_state_change_and_messages() {
    let mut sc = peering(true, true);
    sc.extend_from_slice(&[0, 1, 0, 6]);
    let r = one(&record(16, 5, &sc));
    let RecordData::Bgp4mp(Bgp4mp::StateChange(s)) = r.data else {
        panic!()
    };
    assert_eq!(
        (s.peering.peer_as, s.old_state, s.new_state),
        (4_200_000_001, 1, 6)
    );

    let mut m = peering(false, false);
    m.extend_from_slice(&keepalive());
    let r = one(&record(16, 1, &m));
    let RecordData::Bgp4mp(Bgp4mp::Message(msg)) = r.data else {
        panic!()
    };
    assert_eq!(msg.message, Ok(Message::Keepalive));
    assert_eq!(msg.raw[..], keepalive()[..]);
    assert!(!msg.as4 && !msg.add_path);

    // An ADD-PATH UPDATE in BGP4MP_ET (microseconds) under MESSAGE_AS4_ADDPATH.
    let mut upd = vec![0xff; 16];
    let body = [
        0, 0, 0, 0x0e, 0x40, 1, 1, 0, 0x40, 3, 4, 198, 18, 0, 1, 0x40, 2, 0,
    ];
    let nlri = [0, 0, 0, 7, 24, 198, 18, 9];
    upd.extend_from_slice(&((19 + body.len() + nlri.len()) as u16).to_be_bytes());
    upd.push(2);
    upd.extend_from_slice(&body);
    upd.extend_from_slice(&nlri);
    let mut b = 123_456u32.to_be_bytes().to_vec();
    b.extend_from_slice(&peering(true, false));
    b.extend_from_slice(&upd);
    let r = one(&record(17, 9, &b));
    assert_eq!(r.header.microseconds, Some(123_456));
    let RecordData::Bgp4mp(Bgp4mp::Message(msg)) = r.data else {
        panic!()
    };
    let Ok(Message::Update(u)) = &msg.message else {
        panic!("{:?}", msg.message)
    };
    let (_, e) = u.announced().next().unwrap();
    assert_eq!(
        (e.path_id, e.prefix.to_string().as_str()),
        (Some(7), "198.18.9.0/24")
    );
    assert_eq!(
        msg.message
            .as_ref()
            .unwrap()
            .to_bytes(&msg.codec_context())
            .unwrap()[..],
        upd[..]
    );
    // JSON output of a record.
    let v = crate::mrt::record::Record {
        offset: 0,
        header: r.header,
        data: RecordData::Bgp4mp(Bgp4mp::Message(msg)),
    };
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["message"]["type"], "UPDATE");
    assert_eq!(json["message"]["update"]["nlri"][0]["path_id"], 7);
}

#[test]
fn legacy_bgp_records() {
    let mut b = vec![0xfd, 0xe9, 198, 18, 0, 1, 0xfd, 0xe8, 198, 18, 0, 2];
    let r = one(&record(5, 7, &b));
    let RecordData::LegacyBgp(l) = r.data else {
        panic!()
    };
    assert_eq!(l.message, Some(Ok(Message::Keepalive)));
    b.truncate(6);
    b.extend_from_slice(&[0, 1, 0, 2]);
    let r = one(&record(5, 3, &b));
    let RecordData::LegacyBgp(l) = r.data else {
        panic!()
    };
    assert_eq!(l.states, Some((1, 2)));
}

#[test]
fn unknown_types_are_kept() {
    let r = one(&record(99, 1, b"abc"));
    assert!(
        matches!(r.data, RecordData::Unknown { mrt_type: 99, subtype: 1, ref body } if &body[..] == b"abc")
    );
    let r = one(&record(13, 200, b"x"));
    assert!(matches!(
        r.data,
        RecordData::Unknown {
            mrt_type: 13,
            subtype: 200,
            ..
        }
    ));
}

#[test]
fn a_bad_body_is_one_error_and_reading_goes_on() {
    // A PEER_INDEX_TABLE that announces 5 peers and holds none.
    let mut bytes = record(13, 1, &[198, 18, 0, 1, 0, 0, 0, 5]);
    bytes.extend(record(99, 0, b""));
    let v = read_all(&bytes);
    assert_eq!(v.len(), 2);
    match &v[0] {
        Err(
            e @ MrtError::Body {
                error: BodyError::Short { .. },
                ..
            },
        ) => assert!(!e.is_fatal()),
        other => panic!("{other:?}"),
    }
    assert!(v[1].is_ok());
    // A state change with octets left over.
    let mut sc = peering(false, false);
    sc.extend_from_slice(&[0, 1, 0, 2, 9]);
    assert!(matches!(
        &read_all(&record(16, 0, &sc))[0],
        Err(MrtError::Body {
            error: BodyError::TrailingData(1),
            ..
        })
    ));
}

#[test]
fn truncation_and_lying_lengths() {
    let good = record(99, 0, b"hello");
    // Header cut short.
    let mut bytes = good.clone();
    bytes.extend_from_slice(&good[..7]);
    let v = read_all(&bytes);
    assert_eq!(v.len(), 2);
    assert!(v[0].is_ok());
    assert!(matches!(&v[1], Err(MrtError::Truncated { offset: 17, .. })));
    // A length that claims more than the stream holds.
    let mut bytes = good.clone();
    let mut liar = record(99, 0, b"short");
    liar[8..12].copy_from_slice(&1000u32.to_be_bytes());
    bytes.extend(liar);
    let mut reader = MrtReader::new(&bytes[..]).unwrap();
    assert!(reader.next().unwrap().is_ok());
    assert!(matches!(
        reader.next(),
        Some(Err(MrtError::Truncated { offset: 17, .. }))
    ));
    assert!(reader.next().is_none());
    // A length beyond the limit: no allocation, a fatal error.
    let mut huge = record(13, 2, b"");
    huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    let v = read_all(&huge);
    assert!(matches!(
        &v[..],
        [Err(MrtError::RecordTooLong {
            length: u32::MAX,
            ..
        })]
    ));
    // The limit is configurable.
    let v: Vec<_> = MrtReader::new(&good[..])
        .unwrap()
        .with_max_record_len(4)
        .collect();
    assert!(matches!(
        &v[..],
        [Err(MrtError::RecordTooLong {
            length: 5,
            max: 4,
            ..
        })]
    ));
    // An _ET record too short for its microseconds.
    assert!(matches!(
        &read_all(&record(17, 4, &[0, 1]))[..],
        [Err(MrtError::Body { .. })]
    ));
    // Empty input: no records, no error.
    assert!(read_all(&[]).is_empty());
}

#[test]
fn compressed_input_and_truncated_compressed_input() {
    let mut plain = Vec::new();
    for i in 0..50u8 {
        plain.extend(record(99, 0, &[i; 100]));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&plain).unwrap();
    let bz = bz.finish().unwrap();
    for (data, c) in [
        (&gz, Compression::Gzip),
        (&bz, Compression::Bzip2),
        (&plain, Compression::None),
    ] {
        let r = MrtReader::new(&data[..]).unwrap();
        assert_eq!(r.compression(), c);
        assert_eq!(r.filter(Result::is_ok).count(), 50);
    }
    let cut = &gz[..gz.len() / 2];
    let v = read_all(cut);
    let (last, whole) = v.split_last().unwrap();
    assert!(whole.iter().all(Result::is_ok));
    assert!(
        matches!(
            last,
            Err(MrtError::Truncated { .. }) | Err(MrtError::Io { .. })
        ),
        "{last:?}"
    );
}

#[test]
fn summary_counts() {
    let mut bytes = Vec::new();
    let mut w = MrtWriter::new(&mut bytes);
    w.write_peer_index_table(1, &peer_table()).unwrap();
    drop(w);
    let mut m = peering(false, false);
    m.extend_from_slice(&keepalive());
    bytes.extend(record(16, 1, &m));
    bytes.extend(record(16, 0, b"\0\0"));
    let s = SummaryBuilder::from_records(MrtReader::new(&bytes[..]).unwrap());
    assert_eq!(s.records, 3);
    assert_eq!(s.types["16/1"], 1);
    let b = s.bgp4mp.as_ref().unwrap();
    assert_eq!(b.peers, 1);
    assert_eq!(b.messages["KEEPALIVE"], 1);
    assert_eq!(b.messages["STATE_CHANGE"], 1);
    assert_eq!(s.decode_errors["record:short_field"], 1);
    assert_eq!(s.table_dump_v2.as_ref().unwrap().peers_in_index, 2);
    assert_eq!(summary::utc(1_000_000), "1970-01-12 13:46:40");
    assert_eq!(summary::utc(951_782_400), "2000-02-29 00:00:00");
}
