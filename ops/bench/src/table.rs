//! The table the route source replays: every UPDATE of an MRT update stream,
//! NEXT_HOP rewritten to the source's own address (so that no address
//! outside the benchmark's ranges enters the reflectors), encoded once up
//! front so that the replay runs at the speed of the session, not of gzip
//! and the decoder.
//!
//! RFC 7607 makes AS 0 in AS_PATH or AGGREGATOR malformed (RFC 7606:
//! treat-as-withdraw, attribute discard). The PCH table has one UPDATE
//! whose AS_PATH ends in 0 (4 prefixes) and a few AGGREGATORs with AS 0;
//! FRR and Reflex apply the RFC, BIRD does not. The replay leaves the NLRI
//! of the former out and drops the latter, so that "every route" is the
//! same set for every reflector.

use anyhow::{Context, Result, bail};
use bytes::{Bytes, BytesMut};
use speaker::mrt::MrtReader;
use speaker::mrt::bgp4mp::Bgp4mp;
use speaker::mrt::record::RecordData;
use speaker::wire::attr::{Aggregator, AsPath};
use speaker::wire::{AttrValue, CodecContext, Family, Message, Nlri, Prefix, Update};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

/// Writes go out in slices of whole messages of about this size, so that a
/// KEEPALIVE can be slipped in between them.
const CHUNK: usize = 64 * 1024;

/// The encoded replay.
pub struct Table {
    /// Whole UPDATE messages, in stream order, cut at message boundaries.
    pub chunks: Vec<Bytes>,
    pub updates: usize,
    /// Prefixes the stream leaves announced at its end.
    pub prefixes: usize,
}

/// Every UPDATE of the file, in order.
pub fn updates(path: &Path) -> Result<Vec<Update>> {
    let reader = MrtReader::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for r in reader {
        let r = r.with_context(|| format!("reading {}", path.display()))?;
        if let RecordData::Bgp4mp(Bgp4mp::Message(m)) = r.data
            && let Ok(Message::Update(u)) = m.message
            && let Some(u) = well_formed(u)
        {
            out.push(u);
        }
    }
    if out.is_empty() {
        bail!("{}: no UPDATE messages", path.display());
    }
    Ok(out)
}

/// The UPDATE without what RFC 7607 calls malformed; `None` when nothing
/// is left.
fn well_formed(mut u: Update) -> Option<Update> {
    let a = &u.attributes;
    let as0 = |p: Option<&AsPath>| p.is_some_and(|p| p.contains(0));
    // Our decoder already calls AS 0 malformed: the UPDATE is to be treated
    // as withdraw, the AGGREGATOR kept as an invalid attribute.
    if u.treat_as_withdraw() || as0(a.as_path()) || as0(a.as4_path()) {
        if u.withdrawn.is_empty() {
            return None;
        }
        u.nlri = Nlri::empty(Family::IPV4_UNICAST, false);
    }
    let drop = |v: &AttrValue| zero_aggregator(v) || matches!(v, AttrValue::Invalid { .. });
    if u.attributes.attrs.iter().any(|a| drop(&a.value)) {
        let mut attrs = (*u.attributes).clone();
        attrs.attrs.retain(|a| !drop(&a.value));
        u.attributes = Arc::new(attrs);
    }
    Some(u)
}

fn zero_aggregator(v: &AttrValue) -> bool {
    matches!(
        v,
        AttrValue::Aggregator(Aggregator { asn: 0, .. })
            | AttrValue::As4Aggregator(Aggregator { asn: 0, .. })
    )
}

/// What the stream leaves in a RIB: an announcement adds, a withdrawal (or
/// an UPDATE to treat as withdraw, RFC 7606) removes.
fn final_prefixes(updates: &[Update]) -> usize {
    let mut rib: BTreeSet<Prefix> = BTreeSet::new();
    for u in updates {
        for (_, e) in u.withdrawals() {
            rib.remove(&e.prefix);
        }
        for (_, e) in u.announced() {
            if u.treat_as_withdraw() {
                rib.remove(&e.prefix);
            } else {
                rib.insert(e.prefix);
            }
        }
    }
    rib.len()
}

/// The number of prefixes the replay of `updates` (read from `path`)
/// leaves announced, checking that no AS_PATH holds `local_as`: every
/// reflector would drop such routes as loops (the full table holds 65000
/// and even some documentation ASNs).
pub fn expected_prefixes(updates: &[Update], path: &Path, local_as: u32) -> Result<usize> {
    let looped = updates
        .iter()
        .filter(|u| u.attributes.as_path().is_some_and(|p| p.contains(local_as)))
        .count();
    if looped > 0 {
        bail!(
            "{looped} UPDATEs of {} carry AS {local_as} in AS_PATH: the bench must use another AS",
            path.display()
        );
    }
    Ok(final_prefixes(updates))
}

/// Loads `path` and encodes it for a 4-octet-AS session with `next_hop`.
pub fn load(path: &Path, next_hop: Ipv4Addr) -> Result<Table> {
    let updates = updates(path)?;
    let prefixes = final_prefixes(&updates);
    let ctx = CodecContext::four_octet();
    let mut chunks = Vec::new();
    let mut buf = BytesMut::with_capacity(2 * CHUNK);
    for u in &updates {
        let mut u = u.clone();
        if u.attributes.next_hop().is_some() {
            let mut attrs = (*u.attributes).clone();
            for a in &mut attrs.attrs {
                if let AttrValue::NextHop(h) = &mut a.value {
                    *h = next_hop;
                }
            }
            u.attributes = Arc::new(attrs);
        }
        Message::Update(u)
            .encode(&ctx, &mut buf)
            .context("re-encoding an UPDATE of the table")?;
        if buf.len() >= CHUNK {
            chunks.push(buf.split().freeze());
        }
    }
    if !buf.is_empty() {
        chunks.push(buf.freeze());
    }
    Ok(Table {
        chunks,
        updates: updates.len(),
        prefixes,
    })
}
