//! The common header (RFC 6396 §2), the extended-timestamp header (§3) and
//! the decoded record.

use super::bgp4mp::Bgp4mp;
use super::error::BodyError;
use super::legacy_bgp::LegacyBgp;
use super::table_dump::TableDumpEntry;
use super::table_dump_v2::{PeerIndexTable, RibRecord};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

/// MRT type codes (RFC 6396 §4, and §B for the deprecated ones).
pub mod mrt_type {
    pub const BGP: u16 = 5;
    pub const TABLE_DUMP: u16 = 12;
    pub const TABLE_DUMP_V2: u16 = 13;
    pub const BGP4MP: u16 = 16;
    pub const BGP4MP_ET: u16 = 17;
}

/// Length of the common header.
pub const HEADER_LEN: usize = 12;

/// The common header, with the microseconds of the `_ET` types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Header {
    /// Seconds since the Unix epoch.
    pub timestamp: u32,
    /// The `_ET` microsecond field (RFC 6396 §3), which the length counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microseconds: Option<u32>,
    #[serde(rename = "type")]
    pub mrt_type: u16,
    pub subtype: u16,
    /// The length field: octets after the common header.
    pub length: u32,
}

impl Header {
    /// Parses the 12-octet common header.
    pub fn parse(b: &[u8; HEADER_LEN]) -> Header {
        Header {
            timestamp: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            microseconds: None,
            mrt_type: u16::from_be_bytes([b[4], b[5]]),
            subtype: u16::from_be_bytes([b[6], b[7]]),
            length: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        }
    }

    /// Whether the type carries the extended timestamp field.
    pub fn is_extended(mrt_type: u16) -> bool {
        mrt_type == mrt_type::BGP4MP_ET
    }

    /// Writes the common header (and microseconds, for `_ET` types) for a
    /// body of `body_len` octets.
    pub fn encode(&self, body_len: usize, out: &mut BytesMut) {
        out.put_u32(self.timestamp);
        out.put_u16(self.mrt_type);
        out.put_u16(self.subtype);
        let extra = if self.microseconds.is_some() { 4 } else { 0 };
        out.put_u32((body_len + extra) as u32);
        if let Some(us) = self.microseconds {
            out.put_u32(us);
        }
    }
}

/// A record as framed: header and body (after the microseconds field, for `_ET` types).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord {
    /// Offset of the common header in the (decompressed) stream.
    pub offset: u64,
    pub header: Header,
    pub body: Bytes,
}

/// A decoded record.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// Offset of the common header in the (decompressed) stream.
    pub offset: u64,
    #[serde(flatten)]
    pub header: Header,
    #[serde(flatten)]
    pub data: RecordData,
}

/// What a record carries.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum RecordData {
    /// TABLE_DUMP_V2 PEER_INDEX_TABLE.
    PeerIndexTable(PeerIndexTable),
    /// TABLE_DUMP_V2 RIB_* (including RIB_GENERIC and the ADD-PATH subtypes).
    Rib(RibRecord),
    /// Legacy TABLE_DUMP.
    TableDump(TableDumpEntry),
    /// BGP4MP and BGP4MP_ET.
    Bgp4mp(Bgp4mp),
    /// Deprecated type 5 (BGP).
    LegacyBgp(LegacyBgp),
    /// A type or subtype this reader does not know, kept as received.
    Unknown {
        #[serde(rename = "unknown_type")]
        mrt_type: u16,
        subtype: u16,
        #[serde(serialize_with = "crate::wire::serialize_hex")]
        body: Bytes,
    },
}

impl RecordData {
    pub(crate) fn unknown(h: &Header, body: Bytes) -> RecordData {
        RecordData::Unknown {
            mrt_type: h.mrt_type,
            subtype: h.subtype,
            body,
        }
    }
}

pub(crate) type BodyResult<T> = Result<T, BodyError>;
