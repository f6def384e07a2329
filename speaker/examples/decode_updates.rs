//! Decodes the UPDATE stream of an MRT file once, for instruction-level
//! profiling: `valgrind --tool=callgrind --toggle-collect=*decode_all* ...`
//! counts only the decoding (the same work as benches/decode.rs (a)).
//!
//! Usage: cargo run --release -p reflex-speaker --example decode_updates -- FILE
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use speaker::mrt::{Bgp4mp, MrtReader, RecordData};
use speaker::wire::{CodecContext, Message};
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[inline(never)]
fn decode_all(msgs: &[(Bytes, CodecContext)]) -> usize {
    let mut prefixes = 0;
    for (raw, ctx) in msgs {
        let Ok(Message::Update(u)) = Message::decode(raw.clone(), ctx, None) else {
            panic!("UPDATE did not decode");
        };
        for (_, e) in u.announced().chain(u.withdrawals()) {
            black_box(e.prefix);
            prefixes += 1;
        }
        black_box(&u.attributes);
    }
    prefixes
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: decode_updates FILE");
    let mut msgs = Vec::new();
    for rec in MrtReader::open(&path).expect("open") {
        if let Ok(rec) = rec
            && let RecordData::Bgp4mp(Bgp4mp::Message(m)) = rec.data
            && m.raw.get(18) == Some(&2)
        {
            let ctx = m.codec_context();
            msgs.push((m.raw, ctx));
        }
    }
    let n = decode_all(&msgs);
    println!("{} UPDATEs, {n} prefixes", msgs.len());
}
