//! The deprecated BGP type (5) of MRTd (RFC 6396 §B.2.1): IPv4 peerings,
//! 2-octet AS numbers, and BGP messages recorded without their header.

use super::cursor::Cursor;
use super::json::serialize_message_opt;
use super::record::BodyResult;
use crate::wire::header::{HEADER_LEN, MARKER};
use crate::wire::{AttrInterner, CodecContext, DecodeError, Message};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use std::net::Ipv4Addr;

/// BGP (type 5) subtypes.
pub mod subtype {
    pub const NULL: u16 = 0;
    pub const UPDATE: u16 = 1;
    pub const PREF_UPDATE: u16 = 2;
    pub const STATE_CHANGE: u16 = 3;
    pub const SYNC: u16 = 4;
    pub const OPEN: u16 = 5;
    pub const NOTIFY: u16 = 6;
    pub const KEEPALIVE: u16 = 7;
}
use subtype as st;

/// A type 5 record.
#[derive(Clone, Debug, Serialize)]
pub struct LegacyBgp {
    pub subtype: u16,
    pub peer_as: Option<u16>,
    pub peer_address: Option<Ipv4Addr>,
    /// Local AS and address (message subtypes).
    pub local_as: Option<u16>,
    pub local_address: Option<Ipv4Addr>,
    /// Old and new FSM state (STATE_CHANGE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub states: Option<(u16, u16)>,
    /// View number (SYNC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<u16>,
    /// The message without its BGP header, the file name of SYNC, or the
    /// whole body of NULL and PREF_UPDATE.
    #[serde(serialize_with = "crate::wire::serialize_hex")]
    pub payload: Bytes,
    /// The message decoded after its header is rebuilt (2-octet AS numbers).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_message_opt"
    )]
    pub message: Option<Result<Message, DecodeError>>,
}

impl LegacyBgp {
    /// The BGP message type a subtype carries.
    pub fn message_type(subtype: u16) -> Option<u8> {
        match subtype {
            st::OPEN => Some(1),
            st::UPDATE => Some(2),
            st::NOTIFY => Some(3),
            st::KEEPALIVE => Some(4),
            _ => None,
        }
    }

    pub fn decode(subtype: u16, body: Bytes, interner: &mut AttrInterner) -> BodyResult<LegacyBgp> {
        let mut c = Cursor::new(body);
        let mut r = LegacyBgp {
            subtype,
            peer_as: None,
            peer_address: None,
            local_as: None,
            local_address: None,
            states: None,
            view: None,
            payload: Bytes::new(),
            message: None,
        };
        if let Some(code) = LegacyBgp::message_type(subtype) {
            r.peer_as = Some(c.u16("peer AS")?);
            r.peer_address = Some(c.ipv4("peer address")?);
            r.local_as = Some(c.u16("local AS")?);
            r.local_address = Some(c.ipv4("local address")?);
            r.payload = c.rest();
            let mut msg = BytesMut::with_capacity(HEADER_LEN + r.payload.len());
            msg.put_slice(&MARKER);
            msg.put_u16((HEADER_LEN + r.payload.len()).min(0xffff) as u16);
            msg.put_u8(code);
            msg.put_slice(&r.payload);
            let ctx = CodecContext {
                extended_message: true,
                ..CodecContext::default()
            };
            r.message = Some(Message::decode(msg.freeze(), &ctx, Some(interner)));
        } else if subtype == st::STATE_CHANGE {
            r.peer_as = Some(c.u16("peer AS")?);
            r.peer_address = Some(c.ipv4("peer address")?);
            r.states = Some((c.u16("old state")?, c.u16("new state")?));
            c.finish()?;
        } else if subtype == st::SYNC {
            r.view = Some(c.u16("view number")?);
            r.payload = c.rest();
        } else {
            r.payload = c.rest();
        }
        Ok(r)
    }
}
