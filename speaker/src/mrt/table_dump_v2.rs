//! TABLE_DUMP_V2 (RFC 6396 §4.3, RFC 8050 §4.2): the peer index table and
//! RIB records, decoded and encoded.

use super::cursor::Cursor;
use super::error::BodyError;
use super::json::serialize_issues;
use super::record::BodyResult;
use crate::wire::attr::encode_attributes;
use crate::wire::family::NlriFormat;
use crate::wire::update::decode_interned;
use crate::wire::{
    Afi, AttrInterner, CodecContext, Family, Nlri, NlriEntry, PathAttributes, Prefix, Safi,
    UpdateError,
};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

/// TABLE_DUMP_V2 subtypes.
pub mod subtype {
    pub const PEER_INDEX_TABLE: u16 = 1;
    pub const RIB_IPV4_UNICAST: u16 = 2;
    pub const RIB_IPV4_MULTICAST: u16 = 3;
    pub const RIB_IPV6_UNICAST: u16 = 4;
    pub const RIB_IPV6_MULTICAST: u16 = 5;
    pub const RIB_GENERIC: u16 = 6;
    pub const GEO_PEER_TABLE: u16 = 7;
    pub const RIB_IPV4_UNICAST_ADDPATH: u16 = 8;
    pub const RIB_IPV4_MULTICAST_ADDPATH: u16 = 9;
    pub const RIB_IPV6_UNICAST_ADDPATH: u16 = 10;
    pub const RIB_IPV6_MULTICAST_ADDPATH: u16 = 11;
    pub const RIB_GENERIC_ADDPATH: u16 = 12;
}
use subtype as st;

/// PEER_INDEX_TABLE (RFC 6396 §4.3.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerIndexTable {
    pub collector_bgp_id: Ipv4Addr,
    #[serde(serialize_with = "crate::wire::serialize_lossy")]
    pub view_name: Bytes,
    pub peers: Vec<Peer>,
}

/// One peer of the index table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Peer {
    pub bgp_id: Ipv4Addr,
    pub address: IpAddr,
    pub asn: u32,
    /// Whether the AS number is written in 4 octets (Peer Type bit 1).
    pub as4: bool,
}

impl Peer {
    /// A peer written with a 4-octet AS number.
    pub fn new(bgp_id: Ipv4Addr, address: IpAddr, asn: u32) -> Peer {
        Peer {
            bgp_id,
            address,
            asn,
            as4: true,
        }
    }

    /// The Peer Type octet: bit 0 IPv6 address, bit 1 4-octet AS.
    pub fn peer_type(&self) -> u8 {
        u8::from(self.address.is_ipv6()) | (u8::from(self.as4 || self.asn > 0xffff) << 1)
    }
}

impl PeerIndexTable {
    pub fn decode(body: Bytes) -> BodyResult<PeerIndexTable> {
        let mut c = Cursor::new(body);
        let collector_bgp_id = c.ipv4("collector BGP ID")?;
        let name_len = c.u16("view name length")?;
        let view_name = c.bytes(usize::from(name_len), "view name")?;
        let count = c.u16("peer count")?;
        let mut peers = Vec::with_capacity(usize::from(count).min(c.remaining() / 7 + 1));
        for _ in 0..count {
            let peer_type = c.u8("peer type")?;
            let bgp_id = c.ipv4("peer BGP ID")?;
            let address = if peer_type & 1 != 0 {
                IpAddr::V6(c.ipv6("peer IPv6 address")?)
            } else {
                IpAddr::V4(c.ipv4("peer IPv4 address")?)
            };
            let as4 = peer_type & 2 != 0;
            let asn = c.asn(as4, "peer AS")?;
            peers.push(Peer {
                bgp_id,
                address,
                asn,
                as4,
            });
        }
        c.finish()?;
        Ok(PeerIndexTable {
            collector_bgp_id,
            view_name,
            peers,
        })
    }

    /// Appends the body. More than 65535 peers cannot be written; the count
    /// is truncated to the peers written.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&self.collector_bgp_id.octets());
        let name = &self.view_name[..self.view_name.len().min(0xffff)];
        out.put_u16(name.len() as u16);
        out.put_slice(name);
        let peers = &self.peers[..self.peers.len().min(0xffff)];
        out.put_u16(peers.len() as u16);
        for p in peers {
            let t = p.peer_type();
            out.put_u8(t);
            out.put_slice(&p.bgp_id.octets());
            match p.address {
                IpAddr::V4(a) => out.put_slice(&a.octets()),
                IpAddr::V6(a) => out.put_slice(&a.octets()),
            }
            if t & 2 != 0 {
                out.put_u32(p.asn);
            } else {
                out.put_u16(p.asn as u16);
            }
        }
    }
}

/// A RIB_* record: one prefix and its paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RibRecord {
    pub sequence: u32,
    /// The family: from the subtype, or from the AFI/SAFI of RIB_GENERIC.
    #[serde(serialize_with = "serialize_family")]
    pub family: Family,
    /// Whether the entries carry path identifiers (RFC 8050).
    pub add_path: bool,
    /// Whether the record is RIB_GENERIC(_ADDPATH) rather than a per-family subtype.
    pub generic: bool,
    /// The prefix (with label and route distinguisher, for RIB_GENERIC).
    pub nlri: NlriEntry,
    pub entries: Vec<RibEntry>,
}

/// One path of a RIB record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RibEntry {
    pub peer_index: u16,
    pub originated_time: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    #[serde(serialize_with = "super::json::serialize_attrs")]
    pub attributes: Arc<PathAttributes>,
    /// RFC 7606 errors in the attributes; a fatal one leaves `attributes` empty.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_issues"
    )]
    pub issues: Vec<UpdateError>,
}

pub(crate) fn serialize_family<S: serde::Serializer>(f: &Family, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(f)
}

pub(crate) fn empty_attributes() -> Arc<PathAttributes> {
    static EMPTY: OnceLock<Arc<PathAttributes>> = OnceLock::new();
    EMPTY
        .get_or_init(|| Arc::new(PathAttributes::default()))
        .clone()
}

/// The codec context of RIB entry attributes (RFC 6396 §4.3.4).
pub fn rib_context(family: Family) -> CodecContext {
    CodecContext {
        four_octet_as: true,
        extended_message: true,
        add_path: Vec::new(),
        mrt_rib_entry: Some(family),
    }
}

/// Decodes one attribute field through the interner; a fatal error leaves
/// the set empty and becomes the only issue.
pub(crate) fn decode_attrs(
    raw: &Bytes,
    ctx: &CodecContext,
    interner: &mut AttrInterner,
) -> (Arc<PathAttributes>, Vec<UpdateError>) {
    match decode_interned(raw, ctx, Some(interner)) {
        Ok((a, _, _, issues)) => (a, issues),
        Err(e) => (empty_attributes(), vec![e]),
    }
}

/// Reads one NLRI entry of `family` (as RIB_GENERIC and BGP4MP_ENTRY carry it).
pub(crate) fn read_nlri_entry(c: &mut Cursor, family: Family) -> BodyResult<NlriEntry> {
    if family.nlri_format() == NlriFormat::Opaque {
        return Err(BodyError::UnsupportedFamily(family));
    }
    let bits = c.bytes(1, "prefix length")?;
    let n = usize::from(bits[0]).div_ceil(8);
    let rest = c.bytes(n, "prefix")?;
    let mut raw = BytesMut::with_capacity(1 + n);
    raw.put_slice(&bits);
    raw.put_slice(&rest);
    let nlri = Nlri::decode(family, false, raw.freeze())?;
    nlri.iter()
        .next()
        .ok_or(BodyError::BadPrefixLength(bits[0]))
}

/// Reads a prefix length and the significant octets of an address.
pub(crate) fn read_prefix(c: &mut Cursor, ipv6: bool) -> BodyResult<Prefix> {
    let family = if ipv6 {
        Family::IPV6_UNICAST
    } else {
        Family::IPV4_UNICAST
    };
    Ok(read_nlri_entry(c, family)?.prefix)
}

impl RibRecord {
    /// The family, add-path flag and generic flag of a RIB subtype.
    pub fn subtype_layout(subtype: u16) -> Option<(Option<Family>, bool)> {
        Some(match subtype {
            st::RIB_IPV4_UNICAST => (Some(Family::IPV4_UNICAST), false),
            st::RIB_IPV4_MULTICAST => (Some(Family::IPV4_MULTICAST), false),
            st::RIB_IPV6_UNICAST => (Some(Family::IPV6_UNICAST), false),
            st::RIB_IPV6_MULTICAST => (Some(Family::IPV6_MULTICAST), false),
            st::RIB_GENERIC => (None, false),
            st::RIB_IPV4_UNICAST_ADDPATH => (Some(Family::IPV4_UNICAST), true),
            st::RIB_IPV4_MULTICAST_ADDPATH => (Some(Family::IPV4_MULTICAST), true),
            st::RIB_IPV6_UNICAST_ADDPATH => (Some(Family::IPV6_UNICAST), true),
            st::RIB_IPV6_MULTICAST_ADDPATH => (Some(Family::IPV6_MULTICAST), true),
            st::RIB_GENERIC_ADDPATH => (None, true),
            _ => return None,
        })
    }

    /// The subtype this record is written as.
    pub fn subtype(&self) -> u16 {
        let base = match (self.generic, self.family) {
            (false, Family::IPV4_UNICAST) => st::RIB_IPV4_UNICAST,
            (false, Family::IPV4_MULTICAST) => st::RIB_IPV4_MULTICAST,
            (false, Family::IPV6_UNICAST) => st::RIB_IPV6_UNICAST,
            (false, Family::IPV6_MULTICAST) => st::RIB_IPV6_MULTICAST,
            _ => st::RIB_GENERIC,
        };
        if self.add_path { base + 6 } else { base }
    }

    /// Decodes a RIB record of a subtype for which [`Self::subtype_layout`] is `Some`.
    pub fn decode(subtype: u16, body: Bytes, interner: &mut AttrInterner) -> BodyResult<RibRecord> {
        let Some((family, add_path)) = RibRecord::subtype_layout(subtype) else {
            return Err(BodyError::BadAfi(0));
        };
        let mut c = Cursor::new(body);
        let sequence = c.u32("sequence number")?;
        let (family, generic, nlri) = match family {
            Some(f) => {
                let p = read_prefix(&mut c, f.afi == Afi::IPV6)?;
                (f, false, NlriEntry::plain(p))
            }
            None => {
                let afi = Afi(c.u16("AFI")?);
                let safi = Safi(c.u8("SAFI")?);
                let f = Family::new(afi, safi);
                (f, true, read_nlri_entry(&mut c, f)?)
            }
        };
        let count = c.u16("entry count")?;
        let ctx = rib_context(family);
        let mut entries = Vec::with_capacity(usize::from(count).min(c.remaining() / 8 + 1));
        for _ in 0..count {
            let peer_index = c.u16("peer index")?;
            let originated_time = c.u32("originated time")?;
            let path_id = if add_path {
                Some(c.u32("path identifier")?)
            } else {
                None
            };
            let len = c.u16("attribute length")?;
            let raw = c.bytes(usize::from(len), "attributes")?;
            let (attributes, issues) = decode_attrs(&raw, &ctx, interner);
            entries.push(RibEntry {
                peer_index,
                originated_time,
                path_id,
                attributes,
                issues,
            });
        }
        c.finish()?;
        Ok(RibRecord {
            sequence,
            family,
            add_path,
            generic,
            nlri,
            entries,
        })
    }

    /// Appends the body. Entries past 65535 are not written, nor those
    /// whose attributes do not fit the entry's two-octet length.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), crate::wire::error::NlriError> {
        out.put_u32(self.sequence);
        if self.generic {
            out.put_u16(self.family.afi.0);
            out.put_u8(self.family.safi.0);
        }
        // The prefix without path identifier (RFC 8050 puts it in the entries).
        let entry = NlriEntry {
            path_id: None,
            ..self.nlri
        };
        let nlri = Nlri::from_entries(self.family, false, [&entry])?;
        nlri.encode(out);
        let count_at = out.len();
        out.put_u16(0);
        let ctx = rib_context(self.family);
        let mut written: u16 = 0;
        for e in &self.entries {
            if written == u16::MAX {
                break;
            }
            let start = out.len();
            out.put_u16(e.peer_index);
            out.put_u32(e.originated_time);
            if self.add_path {
                out.put_u32(e.path_id.unwrap_or(0));
            }
            let len_at = out.len();
            out.put_u16(0);
            let encoded = encode_attributes(&e.attributes, None, None, &ctx, out)
                .ok()
                .and_then(|()| u16::try_from(out.len() - len_at - 2).ok());
            match encoded {
                Some(len) => {
                    out[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
                    written += 1;
                }
                None => out.truncate(start),
            }
        }
        out[count_at..count_at + 2].copy_from_slice(&written.to_be_bytes());
        Ok(())
    }
}
