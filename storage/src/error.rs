//! Errors of the stored formats.

use crate::format::FORMAT;

/// A stored value this release cannot read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("stored value is in format version {0}; this release reads version {FORMAT}")]
    Version(u8),
    #[error("stored value is empty")]
    Empty,
    #[error("stored value does not decode: {0}")]
    Postcard(#[from] postcard::Error),
    #[error("stored value is invalid: {0}")]
    Invalid(&'static str),
    /// A replicated policy this member cannot compile (a release that
    /// reads the policy language differently).
    #[error("stored policy does not compile: {0}")]
    Policy(String),
}
