//! The table a replay source sends: every route of one family of one peer
//! of a TABLE_DUMP_V2 RIB, made what that peer would send over the session
//! (the next hop our address; towards eBGP our AS prepended and the
//! iBGP-only attributes left out), grouped by attribute set and packed into as few
//! UPDATEs as fit, encoded once up front so that the replay runs at the
//! speed of the session, not of gzip and the decoder.

use bytes::{Bytes, BytesMut};
use speaker::mrt::{MrtReader, RecordData};
use speaker::packing::Packer;
use speaker::wire::attr::type_code;
use speaker::wire::attr::{MpNextHop, MpReachHeader, PathAttribute};
use speaker::wire::{
    AttrValue, CodecContext, ErrorAction, Family, NlriEntry, PathAttributes, Prefix,
};
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;

/// Writes go out in slices of whole messages of about this size, so that
/// a KEEPALIVE can be slipped in between them.
const CHUNK: usize = 64 * 1024;

/// The routes of a RIB dump: attribute sets and the prefixes of each.
#[derive(Clone, Debug)]
pub struct Routes {
    /// IPv4 or IPv6 unicast.
    pub family: Family,
    pub sets: Vec<(PathAttributes, Vec<Prefix>)>,
    /// Entries left out: malformed in a way that withdraws the route
    /// (RFC 7606), so that no router gets to treat them differently.
    pub skipped: usize,
}

impl Routes {
    pub fn prefixes(&self) -> usize {
        self.sets.iter().map(|(_, p)| p.len()).sum()
    }

    /// Reads the IPv4 unicast routes of a TABLE_DUMP_V2 file (of the peer
    /// with the most of them). Malformed attributes that RFC 7606 discards
    /// are left out (the routers would discard them too).
    pub fn from_rib(path: &Path) -> Result<Routes, String> {
        Routes::from_rib_family(path, Family::IPV4_UNICAST)
    }

    /// Reads the routes of `family` (IPv4 or IPv6 unicast) of the peer
    /// with the most of them in a TABLE_DUMP_V2 file.
    pub fn from_rib_family(path: &Path, family: Family) -> Result<Routes, String> {
        Routes::from_rib_peer(path, family, None)
    }

    /// Reads the routes of `family` (IPv4 or IPv6 unicast) of one peer of
    /// a TABLE_DUMP_V2 file: the one of AS `peer_as` with the most of them
    /// (any AS when None).
    pub fn from_rib_peer(
        path: &Path,
        family: Family,
        peer_as: Option<u32>,
    ) -> Result<Routes, String> {
        let what = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let reader = MrtReader::open(path).map_err(|e| what(&e))?;
        // Per peer index: its attribute sets (by first appearance) and
        // their prefixes, and what was left out.
        #[derive(Default)]
        struct Peer {
            index: HashMap<Arc<PathAttributes>, usize>,
            sets: Vec<(PathAttributes, Vec<Prefix>)>,
            prefixes: usize,
            skipped: usize,
        }
        let mut peers: HashMap<u16, Peer> = HashMap::new();
        // Peer indexes of AS `peer_as`, from the PEER_INDEX_TABLE.
        let mut wanted: Option<Vec<u16>> = None;
        for r in reader {
            let r = r.map_err(|e| what(&e))?;
            let rib = match r.data {
                RecordData::PeerIndexTable(t) => {
                    wanted = peer_as.map(|asn| {
                        (0u16..)
                            .zip(&t.peers)
                            .filter(|(_, p)| p.asn == asn)
                            .map(|(i, _)| i)
                            .collect()
                    });
                    continue;
                }
                RecordData::Rib(rib) => rib,
                _ => continue,
            };
            if rib.family != family {
                continue;
            }
            for e in &rib.entries {
                if wanted.as_ref().is_some_and(|w| !w.contains(&e.peer_index)) {
                    continue;
                }
                let peer = peers.entry(e.peer_index).or_default();
                if e.issues
                    .iter()
                    .any(|i| i.action != ErrorAction::AttributeDiscard)
                {
                    peer.skipped += 1;
                    continue;
                }
                let attrs = if e.attributes.attrs.iter().any(|a| invalid(&a.value)) {
                    let mut a = (*e.attributes).clone();
                    a.attrs.retain(|a| !invalid(&a.value));
                    Arc::new(a)
                } else {
                    e.attributes.clone()
                };
                let at = *peer.index.entry(attrs.clone()).or_insert_with(|| {
                    peer.sets.push(((*attrs).clone(), Vec::new()));
                    peer.sets.len() - 1
                });
                if let Some((_, prefixes)) = peer.sets.get_mut(at) {
                    prefixes.push(rib.nlri.prefix);
                    peer.prefixes += 1;
                }
            }
        }
        // The fullest feed; the lowest index among equals, so that the
        // choice does not depend on the map's order.
        let best = peers
            .into_iter()
            .max_by_key(|(i, p)| (p.prefixes, std::cmp::Reverse(*i)))
            .map(|(_, p)| p)
            .filter(|p| !p.sets.is_empty())
            .ok_or_else(|| what(&format!("no {family} RIB entries")))?;
        Ok(Routes {
            family,
            sets: best.sets,
            skipped: best.skipped,
        })
    }
}

fn invalid(v: &AttrValue) -> bool {
    matches!(v, AttrValue::Invalid { .. })
}

/// Who sends: the address (router id and IPv4 NEXT_HOP) and AS of the
/// source, and the AS of the router it sends to; `address_v6`, the next
/// hop of IPv6 routes.
#[derive(Clone, Copy, Debug)]
pub struct Sender {
    pub address: Ipv4Addr,
    pub address_v6: Ipv6Addr,
    pub local_as: u32,
    pub peer_as: u32,
}

impl Sender {
    pub fn is_ebgp(&self) -> bool {
        self.local_as != self.peer_as
    }

    /// The attributes as this sender sends them (RFC 4271 §5.1): IPv4
    /// routes with NEXT_HOP, IPv6 ones with an MP_REACH_NLRI header
    /// (RFC 4760 §3, RFC 2545 §3: our global address).
    pub fn rewrite(&self, attrs: &PathAttributes, family: Family) -> PathAttributes {
        let mut a = attrs.clone();
        if family == Family::IPV4_UNICAST {
            a.remove(type_code::MP_REACH_NLRI);
            a.set(PathAttribute::new(AttrValue::NextHop(self.address)));
        } else {
            a.remove(type_code::NEXT_HOP);
            a.set(PathAttribute::new(AttrValue::MpReachNlri(Box::new(
                MpReachHeader {
                    family,
                    next_hop: MpNextHop::Ipv6(self.address_v6),
                    reserved: 0,
                    mrt_full_form: false,
                },
            ))));
        }
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
    pub family: Family,
    /// Whole UPDATE messages, cut at message boundaries.
    pub chunks: Vec<Bytes>,
    pub updates: usize,
    pub prefixes: usize,
    /// A live update stream after the table ([`Table::with_churn`]).
    pub churn: Option<Churn>,
    /// Time between chunks: a stream sent at its pace, not as fast as the
    /// router takes it ([`Table::paced`]).
    pub pace: Option<std::time::Duration>,
}

/// Prefixes outside the table that the source announces and withdraws in
/// turn, every `every`, once the table is sent: a live update stream.
#[derive(Clone, Debug)]
pub struct Churn {
    pub announce: Bytes,
    pub withdraw: Bytes,
    pub prefixes: usize,
    pub every: std::time::Duration,
}

impl Table {
    /// Encodes `routes` as `sender` sends them on a 4-octet-AS session.
    pub fn encode(routes: &Routes, sender: &Sender) -> Table {
        let ctx = CodecContext::four_octet();
        let mut packer = Packer::new(&ctx, routes.family);
        for (attrs, prefixes) in &routes.sets {
            let entries: Vec<NlriEntry> = prefixes.iter().map(|p| NlriEntry::plain(*p)).collect();
            packer.announce(&Arc::new(sender.rewrite(attrs, routes.family)), &entries);
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
            family: routes.family,
            chunks,
            updates: updates.len(),
            prefixes: routes.prefixes(),
            churn: None,
            pace: None,
        }
    }

    /// The IPv4 unicast UPDATEs of a BGP4MP file (every peer's, in the
    /// file's order) as `sender` sends them, one chunk per UPDATE of the
    /// file: a real update stream, with withdrawals, replayed over one
    /// session. Routes RFC 7606 withdraws are sent as withdrawals.
    pub fn from_updates(path: &Path, sender: &Sender) -> Result<Table, String> {
        use speaker::mrt::bgp4mp::Bgp4mp;
        use speaker::wire::Message;
        let what = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let family = Family::IPV4_UNICAST;
        let ctx = CodecContext::four_octet();
        let (mut chunks, mut updates) = (Vec::new(), 0usize);
        let mut announced = std::collections::HashSet::new();
        for r in MrtReader::open(path).map_err(|e| what(&e))? {
            let r = r.map_err(|e| what(&e))?;
            let RecordData::Bgp4mp(Bgp4mp::Message(m)) = r.data else {
                continue;
            };
            let Ok(Message::Update(u)) = m.message else {
                continue;
            };
            let mut gone: Vec<NlriEntry> = u
                .withdrawals()
                .filter(|(f, _)| *f == family)
                .map(|(_, e)| NlriEntry::plain(e.prefix))
                .collect();
            let mut new: Vec<NlriEntry> = u
                .announced()
                .filter(|(f, _)| *f == family)
                .map(|(_, e)| NlriEntry::plain(e.prefix))
                .collect();
            if u.treat_as_withdraw() {
                gone.append(&mut new);
            }
            if gone.is_empty() && new.is_empty() {
                continue;
            }
            let mut attrs = (*u.attributes).clone();
            attrs.attrs.retain(|a| !invalid(&a.value));
            // A 2-octet session's AS4_PATH and AS4_AGGREGATOR are left
            // out: one NEW speaker does not send them to another (RFC
            // 6793 §4.1); AS_PATH goes as the file has it.
            attrs.remove(type_code::AS4_PATH);
            attrs.remove(type_code::AS4_AGGREGATOR);
            let mut p = Packer::new(&ctx, family);
            p.withdraw(&gone);
            if !new.is_empty() {
                p.announce(&Arc::new(sender.rewrite(&attrs, family)), &new);
            }
            let mut chunk = BytesMut::new();
            for m in p.finish() {
                chunk.extend_from_slice(&m);
                updates += 1;
            }
            announced.extend(new.iter().map(|e| e.prefix));
            chunks.push(chunk.freeze());
        }
        if chunks.is_empty() {
            return Err(what(&"no IPv4 unicast UPDATEs"));
        }
        Ok(Table {
            family,
            chunks,
            updates,
            prefixes: announced.len(),
            churn: None,
            pace: None,
        })
    }

    /// The same stream, a chunk every `every` (the table's End-of-RIB
    /// after the last).
    pub fn paced(mut self, every: std::time::Duration) -> Table {
        self.pace = Some(every);
        self
    }

    /// The same table, followed by a live update stream: `prefixes` (not
    /// in the table) announced with the attributes of the table's first
    /// set, withdrawn `every` later, announced again, and so on.
    pub fn with_churn(
        mut self,
        routes: &Routes,
        sender: &Sender,
        prefixes: &[Prefix],
        every: std::time::Duration,
    ) -> Table {
        let ctx = CodecContext::four_octet();
        let entries: Vec<NlriEntry> = prefixes.iter().map(|p| NlriEntry::plain(*p)).collect();
        let attrs = routes
            .sets
            .first()
            .map(|(a, _)| sender.rewrite(a, routes.family))
            .unwrap_or_default();
        let join = |msgs: Vec<Bytes>| {
            let mut b = BytesMut::new();
            for m in msgs {
                b.extend_from_slice(&m);
            }
            b.freeze()
        };
        let mut a = Packer::new(&ctx, routes.family);
        a.announce(&Arc::new(attrs), &entries);
        let mut w = Packer::new(&ctx, routes.family);
        w.withdraw(&entries);
        self.churn = Some(Churn {
            announce: join(a.finish()),
            withdraw: join(w.finish()),
            prefixes: prefixes.len(),
            every,
        });
        self
    }
}
