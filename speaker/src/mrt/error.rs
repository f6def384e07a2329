//! Errors of the MRT reader: fatal ones end the stream (I/O, truncation, a
//! record too long to hold), a [`BodyError`] spoils one record and reading
//! goes on with the next (framing is by the common header's length).

use super::record::Header;
use crate::wire::error::{NlriError, UpdateError};
use thiserror::Error;

/// What went wrong while reading an MRT stream.
#[derive(Debug, Error)]
pub enum MrtError {
    /// The stream ended inside a record (or inside the compressed stream):
    /// every whole record before `offset` was returned.
    #[error("truncated input at offset {offset}: {detail}")]
    Truncated { offset: u64, detail: String },
    /// The common header declares a length above the reader's limit.
    #[error("record at offset {offset} declares length {length}, above the limit of {max} octets")]
    RecordTooLong { offset: u64, length: u32, max: u32 },
    /// A read error other than an early end.
    #[error("I/O error at offset {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    /// One record's body does not decode; reading continues after it.
    #[error("record at offset {offset} (type {}/{}): {error}", header.mrt_type, header.subtype)]
    Body {
        offset: u64,
        header: Header,
        error: BodyError,
    },
}

impl MrtError {
    /// Whether the reader stops after this error.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, MrtError::Body { .. })
    }

    /// A short stable name for counting errors by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            MrtError::Truncated { .. } => "truncated",
            MrtError::RecordTooLong { .. } => "record_too_long",
            MrtError::Io { .. } => "io",
            MrtError::Body { error, .. } => error.kind(),
        }
    }
}

/// Why one record body does not decode.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("{what}: needs {need} octets, {have} left")]
    Short {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("{0} octets left over after the record's fields")]
    TrailingData(usize),
    #[error("unknown address family {0}")]
    BadAfi(u16),
    #[error("prefix length {0} too long for the address family")]
    BadPrefixLength(u8),
    #[error("NLRI: {0}")]
    Nlri(#[from] NlriError),
    #[error("path attributes: {0}")]
    Attributes(#[from] UpdateError),
    #[error("family {0} has no prefix layout this reader can frame")]
    UnsupportedFamily(crate::wire::Family),
}

impl BodyError {
    pub fn kind(&self) -> &'static str {
        match self {
            BodyError::Short { .. } => "short_field",
            BodyError::TrailingData(_) => "trailing_data",
            BodyError::BadAfi(_) => "bad_afi",
            BodyError::BadPrefixLength(_) => "bad_prefix_length",
            BodyError::Nlri(_) => "nlri",
            BodyError::Attributes(_) => "attributes",
            BodyError::UnsupportedFamily(_) => "unsupported_family",
        }
    }
}
