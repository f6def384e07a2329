//! NOTIFICATION (RFC 4271 §4.5) with the codes and subcodes of RFC 4271,
//! 4486, 5492, 6608, 7313, 8538, 9234, 9384, and the shutdown communication of
//! RFC 9003.

use super::family::{Afi, Family, Safi};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

/// Error codes.
pub mod code {
    pub const MESSAGE_HEADER_ERROR: u8 = 1;
    pub const OPEN_MESSAGE_ERROR: u8 = 2;
    pub const UPDATE_MESSAGE_ERROR: u8 = 3;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM_ERROR: u8 = 5;
    pub const CEASE: u8 = 6;
    pub const ROUTE_REFRESH_MESSAGE_ERROR: u8 = 7;
}

/// Error subcodes per code.
pub mod subcode {
    pub const UNSPECIFIC: u8 = 0;
    pub mod header {
        pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
        pub const BAD_MESSAGE_LENGTH: u8 = 2;
        pub const BAD_MESSAGE_TYPE: u8 = 3;
    }
    pub mod open {
        pub const UNSPECIFIC: u8 = 0;
        pub const UNSUPPORTED_VERSION_NUMBER: u8 = 1;
        pub const BAD_PEER_AS: u8 = 2;
        pub const BAD_BGP_IDENTIFIER: u8 = 3;
        pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
        /// Deprecated (RFC 4271 §6.2).
        pub const AUTHENTICATION_FAILURE: u8 = 5;
        pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
        /// RFC 5492.
        pub const UNSUPPORTED_CAPABILITY: u8 = 7;
        /// RFC 9234.
        pub const ROLE_MISMATCH: u8 = 11;
    }
    pub mod update {
        pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
        pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
        pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
        pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
        pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
        pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
        /// Deprecated (RFC 4271 §6.3).
        pub const AS_ROUTING_LOOP: u8 = 7;
        pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
        pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
        pub const INVALID_NETWORK_FIELD: u8 = 10;
        pub const MALFORMED_AS_PATH: u8 = 11;
    }
    /// RFC 6608.
    pub mod fsm {
        pub const UNEXPECTED_IN_OPEN_SENT: u8 = 1;
        pub const UNEXPECTED_IN_OPEN_CONFIRM: u8 = 2;
        pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
    }
    /// RFC 4486, RFC 8538, RFC 9384.
    pub mod cease {
        pub const MAXIMUM_PREFIXES_REACHED: u8 = 1;
        pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
        pub const PEER_DECONFIGURED: u8 = 3;
        pub const ADMINISTRATIVE_RESET: u8 = 4;
        pub const CONNECTION_REJECTED: u8 = 5;
        pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
        pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
        pub const OUT_OF_RESOURCES: u8 = 8;
        pub const HARD_RESET: u8 = 9;
        pub const BFD_DOWN: u8 = 10;
    }
    /// RFC 7313.
    pub mod route_refresh {
        pub const INVALID_MESSAGE_LENGTH: u8 = 1;
    }
}

/// RFC 9003 §2: the shutdown communication is at most 255 octets.
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// A NOTIFICATION message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    #[serde(serialize_with = "super::serialize_hex")]
    pub data: Bytes,
}

/// What the data of an Administrative Shutdown/Reset says (RFC 9003 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShutdownCommunication {
    /// No data, or a zero length octet.
    None,
    Message(String),
    /// The length octet overruns the data, or the text is not UTF-8: the
    /// message is logged as received bytes, never an error (RFC 9003 §4).
    Invalid(Bytes),
}

impl Notification {
    pub fn new(code: u8, subcode: u8, data: Bytes) -> Notification {
        Notification {
            code,
            subcode,
            data,
        }
    }

    /// A Cease with a shutdown communication (RFC 9003): subcode must be
    /// Administrative Shutdown or Reset. The text is cut at a character
    /// boundary to fit 255 octets.
    pub fn cease_with_message(subcode: u8, text: &str) -> Notification {
        let mut end = text.len().min(MAX_SHUTDOWN_COMMUNICATION);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut d = BytesMut::with_capacity(end + 1);
        d.put_u8(end as u8);
        d.put_slice(&text.as_bytes()[..end]);
        Notification::new(code::CEASE, subcode, d.freeze())
    }

    /// Cease / Maximum Number of Prefixes Reached with the data RFC 4486
    /// §4 allows: the family (AFI, 2 octets; SAFI, 1 octet) and the upper
    /// bound that was passed (4 octets).
    pub fn max_prefixes_reached(family: Family, limit: u32) -> Notification {
        let mut d = BytesMut::with_capacity(7);
        d.put_u16(family.afi.0);
        d.put_u8(family.safi.0);
        d.put_u32(limit);
        Notification::new(
            code::CEASE,
            subcode::cease::MAXIMUM_PREFIXES_REACHED,
            d.freeze(),
        )
    }

    /// The family and upper bound of a Maximum Number of Prefixes Reached,
    /// when its data holds them (RFC 4486 §4: the data is optional).
    pub fn max_prefixes(&self) -> Option<(Family, u32)> {
        if self.code != code::CEASE || self.subcode != subcode::cease::MAXIMUM_PREFIXES_REACHED {
            return None;
        }
        let d: &[u8; 7] = self.data.get(..7)?.try_into().ok()?;
        let afi = Afi(u16::from_be_bytes([d[0], d[1]]));
        let limit = u32::from_be_bytes([d[3], d[4], d[5], d[6]]);
        Some((Family::new(afi, Safi(d[2])), limit))
    }

    /// Cease / Hard Reset (RFC 8538 §3): `inner`, the real reason, as its
    /// data (code, subcode, data). Sent instead of `inner` when both sides
    /// announced the N bit and the peer must not keep our routes.
    pub fn hard_reset(inner: &Notification) -> Notification {
        let mut d = BytesMut::with_capacity(2 + inner.data.len());
        inner.encode_body(&mut d);
        Notification::new(code::CEASE, subcode::cease::HARD_RESET, d.freeze())
    }

    /// Whether it is a Hard Reset (RFC 8538 §3): the one NOTIFICATION after
    /// which neither side keeps the other's routes when the N bit was
    /// negotiated.
    pub fn is_hard_reset(&self) -> bool {
        self.code == code::CEASE && self.subcode == subcode::cease::HARD_RESET
    }

    /// The NOTIFICATION a Hard Reset carries (RFC 8538 §3), if it is one
    /// with at least a code and subcode inside.
    pub fn hard_reset_reason(&self) -> Option<Notification> {
        (self.is_hard_reset() && self.data.len() >= 2)
            .then(|| Notification::decode(self.data.clone()))
    }

    pub fn decode(body: Bytes) -> Notification {
        // The header check guarantees two octets (minimum length 21).
        let code = body.first().copied().unwrap_or(0);
        let subcode = body.get(1).copied().unwrap_or(0);
        Notification {
            code,
            subcode,
            data: body.slice(2.min(body.len())..),
        }
    }

    pub fn encode_body(&self, out: &mut BytesMut) {
        self.encode_body_within(out, usize::MAX);
    }

    /// The body in at most `room` octets: the data cut where it would
    /// not fit.
    pub fn encode_body_within(&self, out: &mut BytesMut, room: usize) {
        out.put_u8(self.code);
        out.put_u8(self.subcode);
        let data = room.saturating_sub(2).min(self.data.len());
        out.put_slice(&self.data[..data]);
    }

    pub fn shutdown_communication(&self) -> Option<ShutdownCommunication> {
        if self.code != code::CEASE
            || !matches!(
                self.subcode,
                subcode::cease::ADMINISTRATIVE_SHUTDOWN | subcode::cease::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let Some((&len, rest)) = self.data.split_first() else {
            return Some(ShutdownCommunication::None);
        };
        if len == 0 {
            return Some(ShutdownCommunication::None);
        }
        match rest.get(..usize::from(len)).map(std::str::from_utf8) {
            Some(Ok(s)) => Some(ShutdownCommunication::Message(s.to_owned())),
            _ => Some(ShutdownCommunication::Invalid(self.data.clone())),
        }
    }

    /// Names of code and subcode, for logs.
    pub fn describe(&self) -> String {
        let (c, s) = names(self.code, self.subcode);
        let mut out = format!("{c} / {s}");
        if let Some(ShutdownCommunication::Message(m)) = self.shutdown_communication() {
            out.push_str(&format!(": {m:?}"));
        }
        if let Some((family, limit)) = self.max_prefixes() {
            out.push_str(&format!(": {family}, limit {limit}"));
        }
        if let Some(inner) = self.hard_reset_reason() {
            out.push_str(&format!(" ({})", inner.describe()));
        }
        out
    }
}

fn names(c: u8, s: u8) -> (&'static str, &'static str) {
    let code_name = match c {
        1 => "Message Header Error",
        2 => "OPEN Message Error",
        3 => "UPDATE Message Error",
        4 => "Hold Timer Expired",
        5 => "Finite State Machine Error",
        6 => "Cease",
        7 => "ROUTE-REFRESH Message Error",
        _ => "unknown code",
    };
    let sub = match (c, s) {
        (_, 0) => "Unspecific",
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 5) => "Authentication Failure (deprecated)",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (2, 11) => "Role Mismatch",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 7) => "AS Routing Loop (deprecated)",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 1) => "Unexpected Message in OpenSent State",
        (5, 2) => "Unexpected Message in OpenConfirm State",
        (5, 3) => "Unexpected Message in Established State",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (6, 10) => "BFD Down",
        (7, 1) => "Invalid Message Length",
        _ => "unknown subcode",
    };
    (code_name, sub)
}
