//! Decode errors, grouped by NOTIFICATION error code (RFC 4271 §6), each able
//! to say what the session must do.
//!
//! A message-level error always resets the session. Inside an UPDATE, RFC 7606
//! grades attribute errors: [`ErrorAction`] says which approach applies, and
//! the strongest one of a message wins (RFC 7606 §3 (g)).

use super::family::Family;
use super::notification::{Notification, code, subcode};
use bytes::Bytes;
use thiserror::Error;

/// A malformed NLRI or Withdrawn Routes field (RFC 7606 §5.3).
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum NlriError {
    #[error("NLRI entry runs past the end of its field")]
    Truncated,
    #[error("NLRI prefix length {bits} exceeds {max} bits")]
    PrefixTooLong { bits: u32, max: u8 },
    #[error("NLRI label stack is malformed")]
    BadLabelStack,
    #[error("VPN NLRI too short for a route distinguisher")]
    BadRouteDistinguisher,
    #[error("entry does not belong to the NLRI's family")]
    WrongFamily,
}

/// Message header errors (RFC 4271 §6.1).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("marker is not all ones (connection not synchronized)")]
    NotSynchronized,
    #[error("bad message length {length}")]
    BadLength { length: u16 },
    #[error("bad message type {message_type}")]
    BadType { message_type: u8 },
}

/// OPEN message errors (RFC 4271 §6.2, RFC 5492 §5, RFC 9072, RFC 9234).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("unsupported BGP version {version}")]
    UnsupportedVersion { version: u8 },
    #[error("bad peer AS {asn}")]
    BadPeerAs { asn: u32 },
    #[error("bad BGP identifier {id}")]
    BadBgpIdentifier { id: std::net::Ipv4Addr },
    #[error("unsupported optional parameter type {param_type}")]
    UnsupportedOptionalParameter { param_type: u8 },
    #[error("unacceptable hold time {hold_time}")]
    UnacceptableHoldTime { hold_time: u16 },
    #[error("unsupported capability")]
    UnsupportedCapability { capabilities: Bytes },
    #[error("role mismatch")]
    RoleMismatch,
    #[error("malformed OPEN: {0}")]
    Malformed(&'static str),
}

/// What RFC 7606 says to do about an error in an UPDATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorAction {
    /// RFC 7606 §2: drop this attribute and process the rest.
    AttributeDiscard,
    /// RFC 7606 §2: handle every NLRI of the UPDATE as withdrawn.
    TreatAsWithdraw,
    /// RFC 4760 §7 / RFC 7606 §2: stop exchanging this family with the peer
    /// (or reset the session, which the session may prefer).
    AfiSafiDisable(Family),
    /// Send NOTIFICATION and close.
    SessionReset,
}

impl ErrorAction {
    /// Strength order of RFC 7606 §3 (g).
    fn rank(self) -> u8 {
        match self {
            ErrorAction::AttributeDiscard => 0,
            ErrorAction::TreatAsWithdraw => 1,
            ErrorAction::AfiSafiDisable(_) => 2,
            ErrorAction::SessionReset => 3,
        }
    }
    pub fn stronger(self, other: ErrorAction) -> ErrorAction {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// Which rule an UPDATE broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpdateErrorKind {
    /// Withdrawn Routes Length or Total Path Attribute Length overrun the message.
    MalformedAttributeList,
    /// An attribute header or length overruns the path attributes (RFC 7606 §4).
    AttributeOverrun,
    /// MP_REACH_NLRI or MP_UNREACH_NLRI more than once (RFC 7606 §3 (f)).
    DuplicateMpAttribute,
    /// Any other attribute more than once: later copies discarded (RFC 7606 §3 (f)).
    DuplicateAttribute,
    UnrecognizedWellKnown,
    MissingWellKnown,
    AttributeFlags,
    AttributeLength,
    InvalidOrigin,
    InvalidNextHop,
    MalformedAsPath,
    OptionalAttribute,
    InvalidNetworkField,
    /// AS4_PATH / AS4_AGGREGATOR from a 4-octet speaker (RFC 6793 §6).
    UnexpectedAs4Attribute,
}

/// An error found in an UPDATE, with the approach it calls for.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{kind:?} in attribute {type_code} ({detail}): {action:?}")]
pub struct UpdateError {
    pub kind: UpdateErrorKind,
    /// Attribute type code, or 0 when not about one attribute.
    pub type_code: u8,
    pub action: ErrorAction,
    pub detail: &'static str,
    /// NOTIFICATION data (RFC 4271 §6.3): the attribute, or the missing type code.
    pub data: Bytes,
}

impl UpdateError {
    pub(crate) fn new(
        kind: UpdateErrorKind,
        type_code: u8,
        action: ErrorAction,
        detail: &'static str,
        data: Bytes,
    ) -> UpdateError {
        UpdateError {
            kind,
            type_code,
            action,
            detail,
            data,
        }
    }

    /// The NOTIFICATION that RFC 4271 §6.3 prescribes for this error, for a
    /// session that resets.
    pub fn notification(&self) -> Notification {
        use UpdateErrorKind as K;
        let sub = match self.kind {
            K::MalformedAttributeList | K::AttributeOverrun | K::DuplicateMpAttribute => {
                subcode::update::MALFORMED_ATTRIBUTE_LIST
            }
            K::DuplicateAttribute => subcode::update::MALFORMED_ATTRIBUTE_LIST,
            K::UnrecognizedWellKnown => subcode::update::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
            K::MissingWellKnown => subcode::update::MISSING_WELL_KNOWN_ATTRIBUTE,
            K::AttributeFlags => subcode::update::ATTRIBUTE_FLAGS_ERROR,
            K::AttributeLength => subcode::update::ATTRIBUTE_LENGTH_ERROR,
            K::InvalidOrigin => subcode::update::INVALID_ORIGIN_ATTRIBUTE,
            K::InvalidNextHop => subcode::update::INVALID_NEXT_HOP_ATTRIBUTE,
            K::MalformedAsPath => subcode::update::MALFORMED_AS_PATH,
            K::OptionalAttribute | K::UnexpectedAs4Attribute => {
                subcode::update::OPTIONAL_ATTRIBUTE_ERROR
            }
            K::InvalidNetworkField => subcode::update::INVALID_NETWORK_FIELD,
        };
        let data = match self.kind {
            K::MalformedAttributeList | K::AttributeOverrun | K::DuplicateMpAttribute => {
                Bytes::new()
            }
            K::InvalidNetworkField => Bytes::new(),
            _ => self.data.clone(),
        };
        Notification::new(code::UPDATE_MESSAGE_ERROR, sub, data)
    }
}

/// ROUTE-REFRESH errors (RFC 7313 §5).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RouteRefreshError {
    #[error("ROUTE-REFRESH with invalid length {length}")]
    InvalidLength { length: u16, message: Bytes },
}

/// Anything that stops a message from being decoded. Each maps to the
/// NOTIFICATION the session must send ([`DecodeError::notification`]).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message header: {0}")]
    Header(#[from] HeaderError),
    #[error("OPEN: {0}")]
    Open(#[from] OpenError),
    #[error("UPDATE: {0}")]
    Update(#[from] UpdateError),
    #[error("ROUTE-REFRESH: {0}")]
    RouteRefresh(#[from] RouteRefreshError),
}

impl DecodeError {
    /// The NOTIFICATION to send (for an UPDATE error whose action is
    /// AFI/SAFI disable, the one to send when the session resets instead).
    pub fn notification(&self) -> Notification {
        match self {
            DecodeError::Header(e) => match e {
                HeaderError::NotSynchronized => Notification::new(
                    code::MESSAGE_HEADER_ERROR,
                    subcode::header::CONNECTION_NOT_SYNCHRONIZED,
                    Bytes::new(),
                ),
                HeaderError::BadLength { length } => Notification::new(
                    code::MESSAGE_HEADER_ERROR,
                    subcode::header::BAD_MESSAGE_LENGTH,
                    Bytes::copy_from_slice(&length.to_be_bytes()),
                ),
                HeaderError::BadType { message_type } => Notification::new(
                    code::MESSAGE_HEADER_ERROR,
                    subcode::header::BAD_MESSAGE_TYPE,
                    Bytes::copy_from_slice(&[*message_type]),
                ),
            },
            DecodeError::Open(e) => {
                use subcode::open as s;
                let (sub, data) = match e {
                    // RFC 4271 §6.2: data is the largest supported version.
                    OpenError::UnsupportedVersion { .. } => {
                        (s::UNSUPPORTED_VERSION_NUMBER, Bytes::from_static(&[0, 4]))
                    }
                    OpenError::BadPeerAs { .. } => (s::BAD_PEER_AS, Bytes::new()),
                    OpenError::BadBgpIdentifier { .. } => (s::BAD_BGP_IDENTIFIER, Bytes::new()),
                    OpenError::UnsupportedOptionalParameter { .. } => {
                        (s::UNSUPPORTED_OPTIONAL_PARAMETER, Bytes::new())
                    }
                    OpenError::UnacceptableHoldTime { .. } => {
                        (s::UNACCEPTABLE_HOLD_TIME, Bytes::new())
                    }
                    // RFC 5492 §5: data lists the unsupported capabilities.
                    OpenError::UnsupportedCapability { capabilities } => {
                        (s::UNSUPPORTED_CAPABILITY, capabilities.clone())
                    }
                    OpenError::RoleMismatch => (s::ROLE_MISMATCH, Bytes::new()),
                    OpenError::Malformed(_) => (s::UNSPECIFIC, Bytes::new()),
                };
                Notification::new(code::OPEN_MESSAGE_ERROR, sub, data)
            }
            DecodeError::Update(e) => e.notification(),
            // RFC 7313 §5: data is the complete ROUTE-REFRESH message.
            DecodeError::RouteRefresh(RouteRefreshError::InvalidLength { message, .. }) => {
                Notification::new(
                    code::ROUTE_REFRESH_MESSAGE_ERROR,
                    subcode::route_refresh::INVALID_MESSAGE_LENGTH,
                    message.clone(),
                )
            }
        }
    }
}

/// Why a message could not be encoded: a length that does not fit its
/// field, or a message longer than the peer accepts (RFC 4271 §4.1,
/// RFC 8654 §4). Never sent cut or wrapped.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("{what} of {len} octets is longer than its length field allows ({max})")]
    FieldTooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("a message of {len} octets is longer than the {max} the peer accepts")]
    MessageTooLong { len: usize, max: usize },
}

/// `len` as a one-octet length field of `what`.
pub fn len_u8(what: &'static str, len: usize) -> Result<u8, EncodeError> {
    u8::try_from(len).map_err(|_| EncodeError::FieldTooLong {
        what,
        len,
        max: usize::from(u8::MAX),
    })
}

/// `len` as a two-octet length field of `what`.
pub fn len_u16(what: &'static str, len: usize) -> Result<u16, EncodeError> {
    u16::try_from(len).map_err(|_| EncodeError::FieldTooLong {
        what,
        len,
        max: usize::from(u16::MAX),
    })
}
