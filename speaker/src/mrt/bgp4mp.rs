//! BGP4MP and BGP4MP_ET (RFC 6396 §4.4, RFC 8050 §4.1): state changes and
//! BGP messages with the peering they were seen on; the deprecated ENTRY and
//! SNAPSHOT subtypes (RFC 6396 §B.2.5).

use super::cursor::Cursor;
use super::json::{serialize_issues, serialize_message};
use super::record::BodyResult;
use super::table_dump::table_dump_context;
use super::table_dump_v2::{decode_attrs, read_nlri_entry, serialize_family};
use crate::wire::{
    Afi, AttrInterner, CodecContext, DecodeError, Family, Message, NlriEntry, PathAttributes, Safi,
    UpdateError,
};
use bytes::Bytes;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;

/// BGP4MP subtypes.
pub mod subtype {
    pub const STATE_CHANGE: u16 = 0;
    pub const MESSAGE: u16 = 1;
    pub const ENTRY: u16 = 2;
    pub const SNAPSHOT: u16 = 3;
    pub const MESSAGE_AS4: u16 = 4;
    pub const STATE_CHANGE_AS4: u16 = 5;
    pub const MESSAGE_LOCAL: u16 = 6;
    pub const MESSAGE_AS4_LOCAL: u16 = 7;
    pub const MESSAGE_ADDPATH: u16 = 8;
    pub const MESSAGE_AS4_ADDPATH: u16 = 9;
    pub const MESSAGE_LOCAL_ADDPATH: u16 = 10;
    pub const MESSAGE_AS4_LOCAL_ADDPATH: u16 = 11;
}
use subtype as st;

/// Families whose NLRI carry path identifiers in the ADD-PATH subtypes.
pub const ADD_PATH_FAMILIES: [Family; 8] = [
    Family::IPV4_UNICAST,
    Family::IPV6_UNICAST,
    Family::IPV4_MULTICAST,
    Family::IPV6_MULTICAST,
    Family::IPV4_LABELED,
    Family::IPV6_LABELED,
    Family::VPNV4,
    Family::VPNV6,
];

/// A BGP4MP record.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "bgp4mp", rename_all = "snake_case")]
pub enum Bgp4mp {
    StateChange(StateChange),
    Message(Bgp4mpMessage),
    Entry(Bgp4mpEntry),
    Snapshot(Snapshot),
}

/// The peering fields that start most BGP4MP subtypes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Peering {
    pub peer_as: u32,
    pub local_as: u32,
    pub interface_index: u16,
    /// The AFI of the two addresses (1 or 2).
    pub afi: u16,
    pub peer_address: IpAddr,
    pub local_address: IpAddr,
}

impl Peering {
    fn decode(c: &mut Cursor, as4: bool) -> BodyResult<Peering> {
        let peer_as = c.asn(as4, "peer AS")?;
        let local_as = c.asn(as4, "local AS")?;
        let interface_index = c.u16("interface index")?;
        let afi = c.u16("address family")?;
        let peer_address = c.ip(afi, "peer address")?;
        let local_address = c.ip(afi, "local address")?;
        Ok(Peering {
            peer_as,
            local_as,
            interface_index,
            afi,
            peer_address,
            local_address,
        })
    }
}

/// STATE_CHANGE and STATE_CHANGE_AS4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StateChange {
    #[serde(flatten)]
    pub peering: Peering,
    pub as4: bool,
    pub old_state: u16,
    pub new_state: u16,
}

/// MESSAGE and its AS4, LOCAL and ADD-PATH variants.
#[derive(Clone, Debug, Serialize)]
pub struct Bgp4mpMessage {
    #[serde(flatten)]
    pub peering: Peering,
    /// AS numbers in the record and in the message's AS_PATH are 4 octets.
    pub as4: bool,
    /// A message sent by the local speaker (the `_LOCAL` subtypes).
    pub local: bool,
    /// NLRI carry path identifiers (RFC 8050).
    pub add_path: bool,
    /// The subtype does not say ADD-PATH, but the UPDATE only decodes with
    /// path identifiers (`add_path` is then true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub add_path_inferred: bool,
    /// The whole BGP message as recorded, header included.
    #[serde(skip)]
    pub raw: Bytes,
    /// The decoded message, or why it does not decode.
    #[serde(serialize_with = "serialize_message")]
    pub message: Result<Message, DecodeError>,
}

impl Bgp4mpMessage {
    /// The context the message was written under.
    pub fn codec_context(&self) -> CodecContext {
        message_context(self.as4, self.add_path)
    }
}

/// The codec context of a BGP4MP message: extended length always allowed,
/// since a collector records what it received.
pub fn message_context(as4: bool, add_path: bool) -> CodecContext {
    CodecContext {
        four_octet_as: as4,
        extended_message: true,
        add_path: if add_path {
            ADD_PATH_FAMILIES.to_vec()
        } else {
            Vec::new()
        },
        mrt_rib_entry: None,
    }
}

/// The deprecated BGP4MP_ENTRY (RFC 6396 §B.2.5 refers to MRTd's layout).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bgp4mpEntry {
    #[serde(flatten)]
    pub peering: Peering,
    pub view: u16,
    pub status: u16,
    pub time_last_change: u32,
    #[serde(serialize_with = "serialize_family")]
    pub family: Family,
    #[serde(serialize_with = "crate::wire::serialize_hex")]
    pub next_hop: Bytes,
    pub nlri: NlriEntry,
    #[serde(serialize_with = "super::json::serialize_attrs")]
    pub attributes: Arc<PathAttributes>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_issues"
    )]
    pub issues: Vec<UpdateError>,
}

/// The deprecated BGP4MP_SNAPSHOT: a view number and a file name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub view: u16,
    #[serde(serialize_with = "crate::wire::serialize_lossy")]
    pub filename: Bytes,
}

/// Interners for the two AS number sizes (raw attribute octets mean different things).
#[derive(Default)]
pub struct Interners {
    pub as2: AttrInterner,
    pub as4: AttrInterner,
}

impl Interners {
    pub fn new() -> Interners {
        Interners {
            // A reader streams: sets no record holds any more are dropped
            // every 4096 new ones, so memory follows what callers keep.
            as2: AttrInterner::with_limit(1 << 12),
            as4: AttrInterner::with_limit(1 << 12),
        }
    }

    pub fn get(&mut self, as4: bool) -> &mut AttrInterner {
        if as4 { &mut self.as4 } else { &mut self.as2 }
    }
}

impl Bgp4mp {
    /// Whether this reader knows the subtype.
    pub fn known_subtype(subtype: u16) -> bool {
        subtype <= st::MESSAGE_AS4_LOCAL_ADDPATH
    }

    pub fn decode(subtype: u16, body: Bytes, interners: &mut Interners) -> BodyResult<Bgp4mp> {
        let mut c = Cursor::new(body);
        match subtype {
            st::STATE_CHANGE | st::STATE_CHANGE_AS4 => {
                let as4 = subtype == st::STATE_CHANGE_AS4;
                let peering = Peering::decode(&mut c, as4)?;
                let old_state = c.u16("old state")?;
                let new_state = c.u16("new state")?;
                c.finish()?;
                Ok(Bgp4mp::StateChange(StateChange {
                    peering,
                    as4,
                    old_state,
                    new_state,
                }))
            }
            st::ENTRY => decode_entry(&mut c, interners.get(false)).map(Bgp4mp::Entry),
            st::SNAPSHOT => {
                let view = c.u16("view number")?;
                let rest = c.rest();
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                Ok(Bgp4mp::Snapshot(Snapshot {
                    view,
                    filename: rest.slice(..end),
                }))
            }
            _ => {
                let as4 = matches!(
                    subtype,
                    st::MESSAGE_AS4
                        | st::MESSAGE_AS4_LOCAL
                        | st::MESSAGE_AS4_ADDPATH
                        | st::MESSAGE_AS4_LOCAL_ADDPATH
                );
                let local = matches!(
                    subtype,
                    st::MESSAGE_LOCAL
                        | st::MESSAGE_AS4_LOCAL
                        | st::MESSAGE_LOCAL_ADDPATH
                        | st::MESSAGE_AS4_LOCAL_ADDPATH
                );
                let add_path = subtype >= st::MESSAGE_ADDPATH;
                let peering = Peering::decode(&mut c, as4)?;
                let raw = c.rest();
                let ctx = message_context(as4, add_path);
                let mut message = Message::decode(raw.clone(), &ctx, Some(interners.get(as4)));
                let mut add_path_inferred = false;
                if !add_path && matches!(message, Err(DecodeError::Update(_))) {
                    // Writers older than RFC 8050 (BIRD before 2.0) record
                    // ADD-PATH sessions under the plain subtypes: when the
                    // UPDATE only decodes with path identifiers, it has them.
                    let retry = Message::decode(
                        raw.clone(),
                        &message_context(as4, true),
                        Some(interners.get(as4)),
                    );
                    if retry.is_ok() {
                        message = retry;
                        add_path_inferred = true;
                    }
                }
                Ok(Bgp4mp::Message(Bgp4mpMessage {
                    peering,
                    as4,
                    local,
                    add_path: add_path || add_path_inferred,
                    add_path_inferred,
                    raw,
                    message,
                }))
            }
        }
    }
}

fn decode_entry(c: &mut Cursor, interner: &mut AttrInterner) -> BodyResult<Bgp4mpEntry> {
    let peering = Peering::decode(c, false)?;
    let view = c.u16("view number")?;
    let status = c.u16("status")?;
    let time_last_change = c.u32("time last change")?;
    let family = Family::new(Afi(c.u16("AFI")?), Safi(c.u8("SAFI")?));
    let nh_len = c.u8("next hop length")?;
    let next_hop = c.bytes(usize::from(nh_len), "next hop")?;
    let nlri = read_nlri_entry(c, family)?;
    let attr_len = c.u16("attribute length")?;
    let raw = c.bytes(usize::from(attr_len), "attributes")?;
    c.finish()?;
    let (attributes, issues) = decode_attrs(&raw, &table_dump_context(family), interner);
    Ok(Bgp4mpEntry {
        peering,
        view,
        status,
        time_last_change,
        family,
        next_hop,
        nlri,
        attributes,
        issues,
    })
}
