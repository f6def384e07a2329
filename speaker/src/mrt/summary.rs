//! What a file holds, in the figures the data README gives per file:
//! records by type, time range, peers, prefixes, RIB entries, BGP messages
//! by type, announcements and withdrawals, and errors by kind.

use super::bgp4mp::{Bgp4mp, Bgp4mpMessage};
use super::error::MrtError;
use super::record::{Header, Record, RecordData, mrt_type};
use crate::wire::header::{HEADER_LEN, MARKER, MessageType};
use crate::wire::{Afi, DecodeError, Message, Prefix};
use foldhash::fast::FixedState;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

/// The figures of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Framed records, including those whose body did not decode.
    pub records: u64,
    /// Records by "type/subtype".
    pub types: BTreeMap<String, u64>,
    /// Earliest and latest record timestamps (seconds since the epoch).
    pub first_timestamp: Option<u32>,
    pub last_timestamp: Option<u32>,
    /// Record bodies, BGP messages and attribute fields that did not decode, by kind.
    pub decode_errors: BTreeMap<String, u64>,
    /// The error that ended the stream early (truncation, I/O, oversized record).
    pub fatal_error: Option<String>,
    /// Its kind ([`MrtError::kind`]): "truncated", "record_too_long", "io".
    pub fatal_error_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_dump_v2: Option<TableDumpV2Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_dump: Option<TableDumpSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgp4mp: Option<Bgp4mpSummary>,
}

/// TABLE_DUMP_V2 figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TableDumpV2Summary {
    /// From the last PEER_INDEX_TABLE.
    pub collector_bgp_id: Option<Ipv4Addr>,
    pub peer_index_tables: u64,
    /// Peers of all the index tables together.
    pub peers_in_index: usize,
    /// Distinct peers (address and AS, through the index table in force;
    /// the index where there is none) with at least one RIB entry.
    pub peers_with_entries: usize,
    /// Unique IPv4 / IPv6 prefixes of the per-family RIB subtypes.
    pub prefixes_v4: usize,
    pub prefixes_v6: usize,
    /// RIB records by family (RIB_GENERIC included): unique prefixes and records.
    pub families: BTreeMap<String, PrefixCount>,
    pub rib_entries: u64,
    /// The peers with the most entries: address, AS, entries.
    pub top_peers: Vec<(String, u32, u64)>,
}

/// Unique prefixes and total records of a family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PrefixCount {
    pub unique: usize,
    pub total: u64,
}

/// Legacy TABLE_DUMP figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TableDumpSummary {
    pub entries: u64,
    pub unique_prefixes: usize,
    /// Distinct (peer address, peer AS).
    pub peers: usize,
    pub top_peers: Vec<(String, u32, u64)>,
}

/// BGP4MP (and legacy BGP) figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Bgp4mpSummary {
    /// Distinct (peer AS, peer address) of BGP messages.
    pub peers: usize,
    /// Distinct peer addresses of state changes.
    pub state_change_peers: usize,
    /// Messages by type name (from the BGP header), plus STATE_CHANGE,
    /// MALFORMED(header) (a message record too short for its fields),
    /// UPDATE_unparsed (UPDATEs, also counted under UPDATE, that do not
    /// decode) and legacy_BGP_subtypeN.
    pub messages: BTreeMap<String, u64>,
    /// NLRI announced (NLRI field and MP_REACH_NLRI) in decoded UPDATEs.
    pub announced: u64,
    pub announced_unique: usize,
    /// NLRI withdrawn (Withdrawn Routes and MP_UNREACH_NLRI).
    pub withdrawn: u64,
    pub withdrawn_unique: usize,
}

type Set<T> = HashSet<T, FixedState>;

/// Accumulates a [`Summary`] record by record.
#[derive(Default)]
pub struct SummaryBuilder {
    s: Summary,
    tdv2: Option<Tdv2Acc>,
    tdv1: Option<Tdv1Acc>,
    bgp: Option<BgpAcc>,
}

#[derive(Default)]
struct Tdv2Acc {
    peers: Vec<(IpAddr, u32)>,
    per_peer: HashMap<PeerKey, u64, FixedState>,
    v4: Set<Prefix>,
    v6: Set<Prefix>,
    families: BTreeMap<String, (Set<String>, u64)>,
    out: TableDumpV2Summary,
}

/// A RIB entry's peer: resolved through the current index table, or only
/// its index when the table does not have it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum PeerKey {
    Known(IpAddr, u32),
    Index(u16),
}

#[derive(Default)]
struct Tdv1Acc {
    prefixes: Set<Prefix>,
    per_peer: HashMap<(IpAddr, u32), u64, FixedState>,
    entries: u64,
}

#[derive(Default)]
struct BgpAcc {
    peers: Set<(u32, IpAddr)>,
    state_change_peers: Set<IpAddr>,
    announced: Set<Prefix>,
    withdrawn: Set<Prefix>,
    out: Bgp4mpSummary,
}

fn bump<K: Ord>(m: &mut BTreeMap<K, u64>, k: K) {
    *m.entry(k).or_insert(0) += 1;
}

fn top(mut v: Vec<(String, u32, u64)>) -> Vec<(String, u32, u64)> {
    v.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    v.truncate(5);
    v
}

impl SummaryBuilder {
    pub fn new() -> SummaryBuilder {
        SummaryBuilder::default()
    }

    /// Summarises a whole stream.
    pub fn from_records(records: impl IntoIterator<Item = Result<Record, MrtError>>) -> Summary {
        let mut b = SummaryBuilder::new();
        for r in records {
            b.add(&r);
        }
        b.finish()
    }

    fn header(&mut self, h: &Header) {
        self.s.records += 1;
        bump(&mut self.s.types, format!("{}/{}", h.mrt_type, h.subtype));
        self.s.first_timestamp = Some(
            self.s
                .first_timestamp
                .map_or(h.timestamp, |t| t.min(h.timestamp)),
        );
        self.s.last_timestamp = Some(
            self.s
                .last_timestamp
                .map_or(h.timestamp, |t| t.max(h.timestamp)),
        );
    }

    fn error(&mut self, kind: impl Into<String>) {
        bump(&mut self.s.decode_errors, kind.into());
    }

    pub fn add(&mut self, r: &Result<Record, MrtError>) {
        match r {
            Ok(rec) => {
                self.header(&rec.header);
                self.record(rec);
            }
            Err(e @ MrtError::Body { header, .. }) => {
                self.header(header);
                self.error(format!("record:{}", e.kind()));
                self.bad_bgp4mp(header);
            }
            Err(e) => {
                self.s.fatal_error = Some(e.to_string());
                self.s.fatal_error_kind = Some(e.kind().to_string());
            }
        }
    }

    /// A BGP4MP record whose body does not decode still counts as its
    /// subtype: a state change, or a message without a usable header.
    fn bad_bgp4mp(&mut self, h: &Header) {
        use super::bgp4mp::subtype as st;
        if !matches!(h.mrt_type, mrt_type::BGP4MP | mrt_type::BGP4MP_ET) {
            return;
        }
        let name = match h.subtype {
            st::STATE_CHANGE | st::STATE_CHANGE_AS4 => "STATE_CHANGE",
            st::ENTRY | st::SNAPSHOT => return,
            _ => "MALFORMED(header)",
        };
        let acc = self.bgp.get_or_insert_with(BgpAcc::default);
        bump(&mut acc.out.messages, name.to_string());
    }

    fn record(&mut self, rec: &Record) {
        match &rec.data {
            RecordData::PeerIndexTable(t) => {
                let acc = self.tdv2.get_or_insert_with(Tdv2Acc::default);
                acc.out.peer_index_tables += 1;
                acc.out.collector_bgp_id = Some(t.collector_bgp_id);
                acc.out.peers_in_index += t.peers.len();
                acc.peers = t.peers.iter().map(|p| (p.address, p.asn)).collect();
            }
            RecordData::Rib(rib) => {
                let acc = self.tdv2.get_or_insert_with(Tdv2Acc::default);
                let p = rib.nlri.prefix;
                if !rib.generic {
                    if rib.family.afi == Afi::IPV6 {
                        acc.v6.insert(p);
                    } else {
                        acc.v4.insert(p);
                    }
                }
                let fam = acc.families.entry(rib.family.to_string()).or_default();
                let key = match rib.nlri.rd {
                    Some(rd) => format!("{rd}:{p}"),
                    None => p.to_string(),
                };
                fam.0.insert(key);
                fam.1 += 1;
                acc.out.rib_entries += rib.entries.len() as u64;
                for e in &rib.entries {
                    let peer = match acc.peers.get(usize::from(e.peer_index)) {
                        Some(&(a, asn)) => PeerKey::Known(a, asn),
                        None => PeerKey::Index(e.peer_index),
                    };
                    *acc.per_peer.entry(peer).or_insert(0) += 1;
                }
                let issues: Vec<String> = rib
                    .entries
                    .iter()
                    .flat_map(|e| &e.issues)
                    .map(|i| format!("attributes:{:?}", i.kind))
                    .collect();
                issues.into_iter().for_each(|k| self.error(k));
            }
            RecordData::TableDump(t) => {
                let acc = self.tdv1.get_or_insert_with(Tdv1Acc::default);
                acc.entries += 1;
                acc.prefixes.insert(t.prefix);
                *acc.per_peer.entry((t.peer_address, t.peer_as)).or_insert(0) += 1;
                let issues: Vec<String> = t
                    .issues
                    .iter()
                    .map(|i| format!("attributes:{:?}", i.kind))
                    .collect();
                issues.into_iter().for_each(|k| self.error(k));
            }
            RecordData::Bgp4mp(Bgp4mp::StateChange(sc)) => {
                let acc = self.bgp.get_or_insert_with(BgpAcc::default);
                acc.state_change_peers.insert(sc.peering.peer_address);
                bump(&mut acc.out.messages, "STATE_CHANGE".to_string());
            }
            RecordData::Bgp4mp(Bgp4mp::Message(m)) => self.message(m),
            RecordData::Bgp4mp(Bgp4mp::Entry(_) | Bgp4mp::Snapshot(_)) => {}
            RecordData::LegacyBgp(l) => {
                let acc = self.bgp.get_or_insert_with(BgpAcc::default);
                bump(
                    &mut acc.out.messages,
                    format!("legacy_BGP_subtype{}", l.subtype),
                );
                if let Some(Err(e)) = &l.message {
                    let k = format!("legacy_message:{}", error_kind(e));
                    self.error(k);
                }
            }
            RecordData::Unknown { .. } => {}
        }
    }

    fn message(&mut self, m: &Bgp4mpMessage) {
        let acc = self.bgp.get_or_insert_with(BgpAcc::default);
        acc.peers
            .insert((m.peering.peer_as, m.peering.peer_address));
        let name = match (m.raw.get(..16), m.raw.get(HEADER_LEN - 1)) {
            (Some(marker), Some(&code)) if marker == MARKER => match MessageType::from_code(code) {
                Some(t) => t.name().to_string(),
                None => format!("type{code}"),
            },
            _ => "MALFORMED(header)".to_string(),
        };
        bump(&mut acc.out.messages, name);
        match &m.message {
            Ok(Message::Update(u)) => {
                for (_, e) in u.announced() {
                    acc.out.announced += 1;
                    acc.announced.insert(e.prefix);
                }
                for (_, e) in u.withdrawals() {
                    acc.out.withdrawn += 1;
                    acc.withdrawn.insert(e.prefix);
                }
            }
            Ok(_) => {}
            Err(e) => {
                if matches!(e, DecodeError::Update(_)) {
                    bump(&mut acc.out.messages, "UPDATE_unparsed".to_string());
                }
                let k = format!("message:{}", error_kind(e));
                self.error(k);
            }
        }
    }

    pub fn finish(self) -> Summary {
        let mut s = self.s;
        if let Some(mut acc) = self.tdv2 {
            acc.out.peers_with_entries = acc.per_peer.len();
            acc.out.prefixes_v4 = acc.v4.len();
            acc.out.prefixes_v6 = acc.v6.len();
            acc.out.families = acc
                .families
                .into_iter()
                .map(|(k, (set, total))| {
                    (
                        k,
                        PrefixCount {
                            unique: set.len(),
                            total,
                        },
                    )
                })
                .collect();
            acc.out.top_peers = top(acc
                .per_peer
                .iter()
                .map(|(k, &n)| match k {
                    PeerKey::Known(a, asn) => (a.to_string(), *asn, n),
                    PeerKey::Index(i) => (format!("index {i}"), 0, n),
                })
                .collect());
            s.table_dump_v2 = Some(acc.out);
        }
        if let Some(acc) = self.tdv1 {
            s.table_dump = Some(TableDumpSummary {
                entries: acc.entries,
                unique_prefixes: acc.prefixes.len(),
                peers: acc.per_peer.len(),
                top_peers: top(acc
                    .per_peer
                    .iter()
                    .map(|(&(a, asn), &n)| (a.to_string(), asn, n))
                    .collect()),
            });
        }
        if let Some(mut acc) = self.bgp {
            acc.out.peers = acc.peers.len();
            acc.out.state_change_peers = acc.state_change_peers.len();
            acc.out.announced_unique = acc.announced.len();
            acc.out.withdrawn_unique = acc.withdrawn.len();
            s.bgp4mp = Some(acc.out);
        }
        s
    }
}

/// A short name for a message decode error.
pub fn error_kind(e: &DecodeError) -> String {
    match e {
        DecodeError::Header(h) => format!("header:{h}"),
        DecodeError::Open(_) => "open".to_string(),
        DecodeError::Update(u) => format!("update:{:?}", u.kind),
        DecodeError::RouteRefresh(_) => "route_refresh".to_string(),
    }
}

impl Summary {
    /// The figures as (label, value) lines, in a fixed order.
    pub fn lines(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, val: String| v.push((k.to_string(), val));
        put("records", self.records.to_string());
        for (t, n) in &self.types {
            put(&format!("type {t}"), n.to_string());
        }
        if let (Some(a), Some(b)) = (self.first_timestamp, self.last_timestamp) {
            put("time", format!("{} .. {} UTC", utc(a), utc(b)));
        }
        if let Some(t) = &self.table_dump_v2 {
            let id = t
                .collector_bgp_id
                .map_or("-".to_string(), |a| a.to_string());
            put("tdv2 collector_bgp_id", id);
            put("tdv2 peers_in_index", t.peers_in_index.to_string());
            put("tdv2 peers_with_entries", t.peers_with_entries.to_string());
            put("tdv2 prefixes v4", t.prefixes_v4.to_string());
            put("tdv2 prefixes v6", t.prefixes_v6.to_string());
            for (f, c) in &t.families {
                put(
                    &format!("tdv2 {f} prefixes"),
                    format!("{} unique, {} records", c.unique, c.total),
                );
            }
            put("tdv2 rib_entries", t.rib_entries.to_string());
            for (a, asn, n) in &t.top_peers {
                put("tdv2 top peer", format!("{a} AS{asn} {n}"));
            }
        }
        if let Some(t) = &self.table_dump {
            put("tdv1 entries", t.entries.to_string());
            put("tdv1 unique_prefixes", t.unique_prefixes.to_string());
            put("tdv1 peers", t.peers.to_string());
            for (a, asn, n) in &t.top_peers {
                put("tdv1 top peer", format!("{a} AS{asn} {n}"));
            }
        }
        if let Some(b) = &self.bgp4mp {
            put("bgp4mp peers", b.peers.to_string());
            put(
                "bgp4mp state_change_peers",
                b.state_change_peers.to_string(),
            );
            for (m, n) in &b.messages {
                put(&format!("bgp4mp messages {m}"), n.to_string());
            }
            put("bgp4mp announced", b.announced.to_string());
            put("bgp4mp announced unique", b.announced_unique.to_string());
            put("bgp4mp withdrawn", b.withdrawn.to_string());
            put("bgp4mp withdrawn unique", b.withdrawn_unique.to_string());
        }
        for (k, n) in &self.decode_errors {
            put(&format!("decode errors {k}"), n.to_string());
        }
        if let Some(e) = &self.fatal_error {
            put("fatal error", e.clone());
        }
        v
    }
}

/// "YYYY-MM-DD HH:MM:SS" of a Unix timestamp (proleptic Gregorian, UTC).
pub fn utc(t: u32) -> String {
    let days = i64::from(t / 86_400);
    let secs = t % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}
