//! The BGP-4 wire codec: decode from `Bytes`, encode into `BytesMut`.
//!
//! Messages: OPEN with capabilities, UPDATE with every attribute a route
//! reflector meets, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH. Errors are typed
//! values that say what the session must do ([`error`]).

pub mod attr;
pub mod capability;
pub mod context;
pub mod error;
pub mod family;
pub mod header;
pub mod intern;
pub mod message;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod prefix;
pub mod route_refresh;
pub mod update;

pub use attr::{AttrFlags, AttrValue, PathAttribute, PathAttributes};
pub use capability::Capability;
pub use context::CodecContext;
pub use error::{DecodeError, EncodeError, ErrorAction, UpdateError};
pub use family::{Afi, Family, Safi};
pub use intern::AttrInterner;
pub use message::Message;
pub use nlri::{Nlri, NlriEntry};
pub use notification::Notification;
pub use open::Open;
pub use prefix::Prefix;
pub use route_refresh::RouteRefresh;
pub use update::Update;

/// Lower-case hex of some octets.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

pub(crate) fn serialize_hex<S: serde::Serializer>(
    b: &bytes::Bytes,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(b))
}

pub(crate) fn serialize_lossy<S: serde::Serializer>(
    b: &bytes::Bytes,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}
