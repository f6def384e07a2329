//! TABLE_DUMP_V2 files read, written back with `MrtWriter`, read again: the
//! records must be equal, and the bytes identical where the original writer
//! made the same choices as ours.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod table {
    include!("common/mrt_table.rs");
}

use speaker::mrt::{MrtReader, MrtWriter, RawRecord, Record, RecordData};

/// Rewrites the TDv2 records of a file; returns (records, original octets, written octets).
fn rewrite(file: &str) -> (Vec<Record>, Vec<u8>, Vec<u8>) {
    let path = table::data_dir().join("mrt").join(file);
    let mut raw = MrtReader::open(&path).unwrap();
    let mut original = Vec::new();
    let mut records = Vec::new();
    let mut w = MrtWriter::new(Vec::new());
    while let Some(r) = raw.next_raw() {
        let Ok(r) = r else { break };
        let RawRecord { header, body, .. } = r.clone();
        let rec = raw.decode(r).unwrap();
        match &rec.data {
            RecordData::PeerIndexTable(t) => w.write_peer_index_table(header.timestamp, t).unwrap(),
            RecordData::Rib(rib) => w.write_rib(header.timestamp, &rib.clone()).unwrap(),
            _ => continue,
        }
        let mut h = bytes::BytesMut::new();
        header.encode(body.len(), &mut h);
        original.extend_from_slice(&h);
        original.extend_from_slice(&body);
        records.push(rec);
    }
    (records, original, w.into_inner())
}

/// Equal records; the length may differ (RIS writes the whole MP_REACH_NLRI,
/// NLRI included, into RIB entries, where RFC 6396 §4.3.4 and our writer
/// keep only the next hop).
fn same(a: &Record, b: &Record) -> bool {
    let (x, y) = (a.header, b.header);
    (x.timestamp, x.mrt_type, x.subtype) == (y.timestamp, y.mrt_type, y.subtype)
        && match (&a.data, &b.data) {
            (RecordData::PeerIndexTable(x), RecordData::PeerIndexTable(y)) => x == y,
            (RecordData::Rib(x), RecordData::Rib(y)) => x == y,
            _ => false,
        }
}

#[test]
fn tdv2_files_round_trip_through_the_writer() {
    let files: Vec<String> = table::ROWS
        .iter()
        .filter(|r| r.types.split_whitespace().all(|t| t.starts_with("13/")))
        .map(|r| r.file.to_string())
        .collect();
    assert!(files.len() >= 10);
    let mut identical = Vec::new();
    let mut differing = Vec::new();
    for f in &files {
        let (records, original, written) = rewrite(f);
        let again: Vec<Record> = MrtReader::new(&written[..])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(records.len(), again.len(), "{f}");
        for (a, b) in records.iter().zip(&again) {
            assert!(
                same(a, b),
                "{f}: record at {} differs after rewriting:\n{a:?}\n{b:?}",
                a.offset
            );
        }
        if original == written {
            identical.push(f.clone());
        } else {
            let at = original
                .iter()
                .zip(&written)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            differing.push(format!("{f} (first difference at octet {at})"));
        }
    }
    eprintln!("byte-identical: {identical:?}\nnot byte-identical: {differing:?}");
    // Not byte-identical, by the original writer's choice: Quagga,
    // RouteViews (hask-mrt) and RIS (64k_stream_overflow) write the whole
    // MP_REACH_NLRI (AFI, SAFI, next hop, reserved, NLRI) into RIB entries;
    // RFC 6396 §4.3.4 and our writer keep only next-hop length and next hop.
    for must in [
        "rib/ryu_rib.20161101.0000_pick.bz2",
        "rib/bgpdump_bview.ipv4_unicast_add_path.gz",
        "rib/bgpdump_bview.ipv6_unicast_add_path.gz",
        "rib/pyasn_rib.20140523.0600_firstMB.bz2",
        "derived/DERIVED_rib-from-updates.et-header.2015_pch-as3856_fullv4.gz",
        "impl-samples/mrtparse_bird-mrtdump_rib",
        "impl-samples/mrtparse_bird6-mrtdump_rib",
        "impl-samples/mrtparse_openbgpd_rib_table-v2",
    ] {
        assert!(
            identical.iter().any(|f| f == must),
            "{must} not byte-identical: {differing:?}"
        );
    }
}
