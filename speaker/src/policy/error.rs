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
}

/// Where in a policy a problem is: what the configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    PrefixList(String),
    AsPathList(String),
    CommunityList(String),
    /// The entry at `index` as written (not sorted) of a route-map.
    RouteMap {
        name: String,
        index: usize,
        seq: u32,
    },
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::PrefixList(n) => write!(f, "prefix list '{n}'"),
            Place::AsPathList(n) => write!(f, "AS-path list '{n}'"),
            Place::CommunityList(n) => write!(f, "community list '{n}'"),
            Place::RouteMap { name, seq, .. } => write!(f, "route-map '{name}' entry {seq}"),
        }
    }
}

/// A problem and its place.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{place}: {error}")]
pub struct Located {
    pub place: Place,
    pub error: PolicyError,
}

impl PolicyError {
    pub fn at(self, place: Place) -> Located {
        Located { place, error: self }
    }
}
