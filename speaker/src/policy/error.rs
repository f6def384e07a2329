//! Why a policy was refused at load.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("{kind} '{name}' is not defined")]
    UnknownName { kind: &'static str, name: String },
    #[error("{kind} '{name}' is defined twice")]
    Duplicate { kind: &'static str, name: String },
    #[error("bad regular expression '{pattern}': {reason}")]
    BadRegex { pattern: String, reason: String },
    #[error(
        "impossible length range for {prefix}: ge {ge:?} and le {le:?} must satisfy {len} <= ge <= le <= {max}"
    )]
    LengthRange {
        prefix: String,
        len: u8,
        ge: Option<u8>,
        le: Option<u8>,
        max: u8,
    },
    #[error("sequence number {seq} is used twice")]
    DuplicateSeq { seq: u32 },
    #[error("entry {seq}: continue/goto {target} does not go forward (must be after {seq})")]
    BackwardGoto { seq: u32, target: u32 },
    #[error("entry {seq}: {what}")]
    Invalid { seq: u32, what: String },
    #[error("bad range {low}..{high}: the low end is above the high end")]
    BadRange { low: u32, high: u32 },
    #[error("{what}: {source}")]
    In {
        what: String,
        #[source]
        source: Box<PolicyError>,
    },
}

impl PolicyError {
    /// This error, said of `what` (a list, a route-map entry).
    pub fn in_(self, what: impl Into<String>) -> PolicyError {
        PolicyError::In {
            what: what.into(),
            source: Box::new(self),
        }
    }
}
