//! Every BGP message recorded in the MRT dumps of the data folder, re-encoded
//! with the context of its record subtype, must give back the recorded octets
//! (for every message that decoded without error).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod table {
    include!("common/mrt_table.rs");
}

use bytes::BytesMut;
use speaker::mrt::{Bgp4mp, MrtReader, RecordData};
use speaker::wire::{CodecContext, hex};
use std::collections::BTreeMap;

#[derive(Default)]
struct Tally {
    compared: u64,
    identical: u64,
    undecodable: u64,
    first_diff: Option<(u64, String, String)>,
}

#[test]
fn recorded_messages_reencode_byte_identically() {
    let mut per_file: BTreeMap<String, Tally> = BTreeMap::new();
    let mut legacy = Tally::default();
    for f in table::mrt_files() {
        let reader = MrtReader::open(table::data_dir().join("mrt").join(&f)).unwrap();
        let t = per_file.entry(f.clone()).or_default();
        for rec in reader.flatten() {
            match &rec.data {
                RecordData::Bgp4mp(Bgp4mp::Message(m)) => {
                    let Ok(msg) = &m.message else {
                        t.undecodable += 1;
                        continue;
                    };
                    let mut out = BytesMut::new();
                    msg.encode(&m.codec_context(), &mut out).unwrap();
                    t.compared += 1;
                    if out[..] == m.raw[..] {
                        t.identical += 1;
                    } else if t.first_diff.is_none() {
                        t.first_diff = Some((rec.offset, hex(&m.raw), hex(&out)));
                    }
                }
                RecordData::LegacyBgp(l) => {
                    let Some(Ok(msg)) = &l.message else { continue };
                    let ctx = CodecContext {
                        extended_message: true,
                        ..CodecContext::default()
                    };
                    let out = msg.to_bytes(&ctx).unwrap();
                    legacy.compared += 1;
                    if out[19..] == l.payload[..] {
                        legacy.identical += 1;
                    } else if legacy.first_diff.is_none() {
                        legacy.first_diff = Some((rec.offset, hex(&l.payload), hex(&out[19..])));
                    }
                }
                _ => {}
            }
        }
    }
    let mut report = Vec::new();
    let (mut compared, mut identical) = (0, 0);
    for (f, t) in &per_file {
        compared += t.compared;
        identical += t.identical;
        if t.compared > 0 || t.undecodable > 0 {
            eprintln!(
                "{f}: {} compared, {} identical, {} did not decode",
                t.compared, t.identical, t.undecodable
            );
        }
        if let Some((off, want, got)) = &t.first_diff {
            report.push(format!(
                "{f}: {} of {} differ; first at record offset {off}:\n  recorded {want}\n  encoded  {got}",
                t.compared - t.identical,
                t.compared
            ));
        }
    }
    eprintln!(
        "BGP4MP: {identical} of {compared} messages re-encoded byte-identically; \
         legacy type 5: {} of {}",
        legacy.identical, legacy.compared
    );
    if let Some((off, want, got)) = &legacy.first_diff {
        report.push(format!(
            "legacy type 5: first difference at {off}:\n  recorded {want}\n  encoded  {got}"
        ));
    }
    assert!(compared > 100_000, "only {compared} messages compared");
    assert!(report.is_empty(), "{}", report.join("\n"));
}
