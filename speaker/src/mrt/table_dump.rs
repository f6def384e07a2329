//! Legacy TABLE_DUMP (RFC 6396 §4.2): one RIB entry per record, 2-octet AS numbers.

use super::cursor::Cursor;
use super::error::BodyError;
use super::json::serialize_issues;
use super::record::BodyResult;
use super::table_dump_v2::{decode_attrs, rib_context};
use crate::wire::{AttrInterner, CodecContext, Family, PathAttributes, Prefix, UpdateError};
use bytes::Bytes;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;

/// TABLE_DUMP subtypes.
pub mod subtype {
    pub const AFI_IPV4: u16 = 1;
    pub const AFI_IPV6: u16 = 2;
}

/// One legacy TABLE_DUMP record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableDumpEntry {
    pub view: u16,
    pub sequence: u16,
    pub prefix: Prefix,
    pub status: u8,
    pub originated_time: u32,
    pub peer_address: IpAddr,
    pub peer_as: u32,
    #[serde(serialize_with = "super::json::serialize_attrs")]
    pub attributes: Arc<PathAttributes>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_issues"
    )]
    pub issues: Vec<UpdateError>,
}

/// The codec context of TABLE_DUMP attributes: 2-octet AS numbers, and an
/// MP_REACH_NLRI that may be abbreviated as in TABLE_DUMP_V2.
pub fn table_dump_context(family: Family) -> CodecContext {
    CodecContext {
        four_octet_as: false,
        ..rib_context(family)
    }
}

impl TableDumpEntry {
    pub fn decode(
        subtype: u16,
        body: Bytes,
        interner: &mut AttrInterner,
    ) -> BodyResult<TableDumpEntry> {
        let afi = match subtype {
            subtype::AFI_IPV4 => 1,
            subtype::AFI_IPV6 => 2,
            n => return Err(BodyError::BadAfi(n)),
        };
        let mut c = Cursor::new(body);
        let view = c.u16("view number")?;
        let sequence = c.u16("sequence number")?;
        let addr = c.ip(afi, "prefix")?;
        let len = c.u8("prefix length")?;
        let prefix = Prefix::new(addr, len).ok_or(BodyError::BadPrefixLength(len))?;
        let status = c.u8("status")?;
        let originated_time = c.u32("originated time")?;
        let peer_address = c.ip(afi, "peer address")?;
        let peer_as = u32::from(c.u16("peer AS")?);
        let attr_len = c.u16("attribute length")?;
        let raw = c.bytes(usize::from(attr_len), "attributes")?;
        c.finish()?;
        let family = if afi == 1 {
            Family::IPV4_UNICAST
        } else {
            Family::IPV6_UNICAST
        };
        let (attributes, issues) = decode_attrs(&raw, &table_dump_context(family), interner);
        Ok(TableDumpEntry {
            view,
            sequence,
            prefix,
            status,
            originated_time,
            peer_address,
            peer_as,
            attributes,
            issues,
        })
    }
}
