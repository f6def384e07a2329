//! Reflex's persistent, replicated RIB: the Raft log store and the RIB
//! state machine (openraft's v2 storage API) over one sled database.
//!
//! - [`log_store`]: the log, the vote, the committed and purged ids;
//!   appends are flushed before they are acknowledged.
//! - [`state_machine`]: applies committed batches of RIB commands to the
//!   deterministic `speaker::rib::Rib`; snapshots are its image.
//! - [`stored`] and [`format`]: the stored encodings (postcard behind a
//!   format version), separate from `speaker`'s types.
//! - [`flush`]: a deadline on every flush (a flush that hangs after a
//!   disk error is a store error, not a member that waits for ever).
//! - [`types`]: the Raft type configuration (entries carry [`Request`]s).

// openraft's storage traits return its `StorageError` (over 200 octets);
// the helpers here return what the traits need.
#![allow(clippy::result_large_err)]

pub mod error;
pub mod flush;
pub mod format;
pub mod leases;
pub mod log_store;
pub mod state_machine;
pub mod stored;
pub mod types;
pub mod writes;

pub use error::FormatError;
pub use leases::{Drain, Fence, Grant, Lease, LeaseCommand, Leases};
pub use log_store::LogStore;
pub use state_machine::{ApplyHook, NoHook, StateMachine};
pub use stored::StoredPolicy;
pub use types::{Command, NodeId, Owners, PeerIds, Request, Response, TypeConfig};
pub use writes::{Admission, WriteId};

/// Opens (or creates) the store at `path`: one sled database holding both
/// the log and the state machine's snapshots.
pub fn open(
    path: &std::path::Path,
    config: speaker::rib::RibConfig,
    hook: Box<dyn ApplyHook>,
) -> Result<(LogStore, StateMachine), OpenError> {
    // sled caches up to 1 GiB by default; the RIB is in memory already, the
    // store only needs the log tail and the snapshot being written.
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(SLED_CACHE)
        .open()?;
    let log = LogStore::open(&db)?;
    let sm = StateMachine::open(&db, config, hook).map_err(|e| OpenError::State(e.to_string()))?;
    Ok((log, sm))
}

/// Locks `m`, also after a panic while it was held: a panic while applying
/// cannot leave the RIB half changed in a way the next command would make
/// worse than stopping, so keep going.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A store I/O error as openraft takes it.
pub(crate) fn io_err(
    subject: openraft::ErrorSubject<NodeId>,
    verb: openraft::ErrorVerb,
    e: impl std::error::Error + 'static,
) -> openraft::StorageError<NodeId> {
    openraft::StorageIOError::new(subject, verb, openraft::AnyError::new(&e)).into()
}

/// Octets of sled page cache.
const SLED_CACHE: u64 = 8 << 20;

/// Why the store did not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("state machine: {0}")]
    State(String),
}
