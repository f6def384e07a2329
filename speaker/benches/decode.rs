//! Decoding throughput on real data, single core:
//! (a) the UPDATE stream of the PCH full feed (89,679 UPDATEs, 577,706 IPv4
//!     prefixes), attributes included: every prefix is walked and every
//!     attribute set decoded (through the interner);
//! (b) the TABLE_DUMP_V2 full table (577,703 RIB records).
//! Files are decompressed and framed before timing: what is timed is the
//! BGP/MRT decoding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use speaker::mrt::{Bgp4mp, Interners, MrtReader, RawRecord, RecordData, decode_record};
use speaker::wire::{AttrInterner, CodecContext, Message};
use std::hint::black_box;
use std::path::{Path, PathBuf};

// The allocator the reflex binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bgp-data")
        .join(rel)
}

const UPDATES: &str = "mrt/updates/bgpdump_updates.et-header.2015.gz";
const TABLE: &str = "mrt/derived/DERIVED_rib-from-updates.et-header.2015_pch-as3856_fullv4.gz";

/// The UPDATE messages of a BGP4MP dump, with the context each was recorded in.
fn load_updates(path: &Path) -> Vec<(Bytes, CodecContext)> {
    let mut out = Vec::new();
    for rec in MrtReader::open(path).expect("open") {
        let rec = rec.expect("record");
        if let RecordData::Bgp4mp(Bgp4mp::Message(m)) = rec.data
            && m.raw.get(18) == Some(&2)
        {
            let ctx = m.codec_context();
            out.push((m.raw, ctx));
        }
    }
    out
}

fn load_raw(path: &Path) -> Vec<RawRecord> {
    let mut r = MrtReader::open(path).expect("open");
    let mut out = Vec::new();
    while let Some(raw) = r.next_raw() {
        out.push(raw.expect("record"));
    }
    out
}

/// Decodes every UPDATE and walks every prefix; returns prefixes seen.
/// With `intern`, attribute sets go through one session's interner (kept
/// for the whole stream, as a session keeps it); without, each UPDATE's set
/// is decoded into its own `Arc`.
fn decode_updates(msgs: &[(Bytes, CodecContext)], intern: bool) -> usize {
    let mut interner = AttrInterner::new();
    let mut prefixes = 0;
    for (raw, ctx) in msgs {
        let i = if intern { Some(&mut interner) } else { None };
        let Ok(Message::Update(u)) = Message::decode(raw.clone(), ctx, i) else {
            panic!("UPDATE did not decode");
        };
        for (_, e) in u.announced() {
            black_box(e.prefix);
            prefixes += 1;
        }
        for (_, e) in u.withdrawals() {
            black_box(e.prefix);
            prefixes += 1;
        }
        black_box(&u.attributes);
    }
    prefixes
}

fn decode_table(raws: &[RawRecord]) -> usize {
    let mut interners = Interners::new();
    let mut prefixes = 0;
    for raw in raws {
        let rec = decode_record(raw.clone(), &mut interners).expect("record");
        if let RecordData::Rib(r) = rec.data {
            black_box(&r.entries);
            prefixes += 1;
        }
    }
    prefixes
}

fn benches(c: &mut Criterion) {
    let msgs = load_updates(&data(UPDATES));
    let bytes: usize = msgs.iter().map(|(b, _)| b.len()).sum();
    let prefixes = decode_updates(&msgs, false);
    eprintln!(
        "(a) {} UPDATEs, {} octets, {} prefixes",
        msgs.len(),
        bytes,
        prefixes
    );
    let mut g = c.benchmark_group("a_update_stream");
    g.sample_size(20);
    g.throughput(Throughput::Elements(prefixes as u64));
    g.bench_function("prefixes", |b| b.iter(|| decode_updates(&msgs, false)));
    g.bench_function("prefixes_interned", |b| {
        b.iter(|| decode_updates(&msgs, true))
    });
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("octets", |b| b.iter(|| decode_updates(&msgs, false)));
    g.finish();

    let raws = load_raw(&data(TABLE));
    let bytes: usize = raws.iter().map(|r| r.body.len() + 12).sum();
    let prefixes = decode_table(&raws);
    eprintln!(
        "(b) {} records, {} octets, {} prefixes",
        raws.len(),
        bytes,
        prefixes
    );
    let mut g = c.benchmark_group("b_table_dump_v2");
    g.sample_size(10);
    g.throughput(Throughput::Elements(prefixes as u64));
    g.bench_function("prefixes", |b| b.iter(|| decode_table(&raws)));
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("octets", |b| b.iter(|| decode_table(&raws)));
    g.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
