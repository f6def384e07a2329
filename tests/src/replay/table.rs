//! The table a replay source sends: every route of one peer of a
//! TABLE_DUMP_V2 RIB, made what that peer would send over the session
//! (NEXT_HOP our address; towards eBGP our AS prepended and the iBGP-only
//! attributes left out), grouped by attribute set and packed into as few
//! UPDATEs as fit, encoded once up front so that the replay runs at the
//! speed of the session, not of gzip and the decoder.

use bytes::{Bytes, BytesMut};
use speaker::mrt::{MrtReader, RecordData};
use speaker::packing::Packer;
use speaker::wire::attr::type_code;
use speaker::wire::{
    AttrValue, CodecContext, ErrorAction, Family, NlriEntry, PathAttributes, Prefix,
};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

/// Writes go out in slices of whole messages of about this size, so that
/// a KEEPALIVE can be slipped in between them.
const CHUNK: usize = 64 * 1024;

/// The routes of a RIB dump: attribute sets and the prefixes of each.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    pub sets: Vec<(PathAttributes, Vec<Prefix>)>,
    /// Entries left out: malformed in a way that withdraws the route
    /// (RFC 7606), so that no router gets to treat them differently.
    pub skipped: usize,
}

impl Routes {
    pub fn prefixes(&self) -> usize {
        self.sets.iter().map(|(_, p)| p.len()).sum()
    }

    /// Reads the IPv4 unicast routes of the first peer with entries in a
    /// TABLE_DUMP_V2 file. Malformed attributes that RFC 7606 discards are
    /// left out (the routers would discard them too).
    pub fn from_rib(path: &Path) -> Result<Routes, String> {
        let what = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let reader = MrtReader::open(path).map_err(|e| what(&e))?;
        let mut index: HashMap<Arc<PathAttributes>, usize> = HashMap::new();
        let mut out = Routes::default();
        let mut peer = None;
        for r in reader {
            let r = r.map_err(|e| what(&e))?;
            let RecordData::Rib(rib) = r.data else {
                continue;
            };
            if rib.family != Family::IPV4_UNICAST {
                continue;
            }
            for e in &rib.entries {
                if *peer.get_or_insert(e.peer_index) != e.peer_index {
                    continue;
                }
                if e.issues
                    .iter()
                    .any(|i| i.action != ErrorAction::AttributeDiscard)
                {
                    out.skipped += 1;
                    continue;
                }
                let attrs = if e.attributes.attrs.iter().any(|a| invalid(&a.value)) {
                    let mut a = (*e.attributes).clone();
                    a.attrs.retain(|a| !invalid(&a.value));
                    Arc::new(a)
                } else {
                    e.attributes.clone()
                };
                let at = *index.entry(attrs.clone()).or_insert_with(|| {
                    out.sets.push(((*attrs).clone(), Vec::new()));
                    out.sets.len() - 1
                });
                if let Some((_, prefixes)) = out.sets.get_mut(at) {
                    prefixes.push(rib.nlri.prefix);
                }
            }
        }
        if out.sets.is_empty() {
            return Err(what(&"no IPv4 unicast RIB entries"));
        }
        Ok(out)
    }
}

fn invalid(v: &AttrValue) -> bool {
    matches!(v, AttrValue::Invalid { .. })
}

/// Who sends: the address (router id and NEXT_HOP) and AS of the source,
/// and the AS of the router it sends to.
#[derive(Clone, Copy, Debug)]
pub struct Sender {
    pub address: Ipv4Addr,
    pub local_as: u32,
    pub peer_as: u32,
}

impl Sender {
    pub fn is_ebgp(&self) -> bool {
        self.local_as != self.peer_as
    }

    /// The attributes as this sender sends them (RFC 4271 §5.1).
    pub fn rewrite(&self, attrs: &PathAttributes) -> PathAttributes {
        let mut a = attrs.clone();
        a.set(speaker::wire::attr::PathAttribute::new(AttrValue::NextHop(
            self.address,
        )));
        if self.is_ebgp() {
            // LOCAL_PREF and the RFC 4456 attributes stay inside the AS.
            for t in [
                type_code::LOCAL_PREF,
                type_code::ORIGINATOR_ID,
                type_code::CLUSTER_LIST,
            ] {
                a.remove(t);
            }
            let path = a.as_path().map_or_else(
                || speaker::wire::attr::AsPath::sequence(vec![self.local_as]),
                |p| p.prepended(&[self.local_as]),
            );
            a.set(speaker::wire::attr::PathAttribute::new(AttrValue::AsPath(
                path,
            )));
        }
        a
    }
}

/// The encoded replay.
pub struct Table {
    /// Whole UPDATE messages, cut at message boundaries.
    pub chunks: Vec<Bytes>,
    pub updates: usize,
    pub prefixes: usize,
}

impl Table {
    /// Encodes `routes` as `sender` sends them on a 4-octet-AS session.
    pub fn encode(routes: &Routes, sender: &Sender) -> Table {
        let ctx = CodecContext::four_octet();
        let mut packer = Packer::new(&ctx, Family::IPV4_UNICAST);
        for (attrs, prefixes) in &routes.sets {
            let entries: Vec<NlriEntry> = prefixes.iter().map(|p| NlriEntry::plain(*p)).collect();
            packer.announce(&Arc::new(sender.rewrite(attrs)), &entries);
        }
        let updates = packer.finish();
        let mut chunks = Vec::new();
        let mut buf = BytesMut::with_capacity(2 * CHUNK);
        for u in &updates {
            buf.extend_from_slice(u);
            if buf.len() >= CHUNK {
                chunks.push(buf.split().freeze());
            }
        }
        if !buf.is_empty() {
            chunks.push(buf.freeze());
        }
        Table {
            chunks,
            updates: updates.len(),
            prefixes: routes.prefixes(),
        }
    }
}
