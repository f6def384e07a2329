//! openraft settings for a reflector cluster.

use openraft::{Config, SnapshotPolicy};

/// Timers for members on one LAN. A snapshot (a full table is tens of MB)
/// is streamed in 1 MiB InstallSnapshot chunks, each acknowledged and each
/// with its own timeout, and resumed at its offset after a failure: never
/// one message, and a slow chunk costs one chunk, not the transfer.
/// Octets of snapshot per InstallSnapshot message.
pub const SNAPSHOT_CHUNK: u64 = 1 << 20;

/// Time one chunk may take, there and acknowledged (a loaded member on a
/// busy host still moves 1 MiB in well under this).
const SNAPSHOT_CHUNK_TIMEOUT_MS: u64 = 10_000;

pub fn raft_config(cluster: &str) -> Config {
    Config {
        cluster_name: cluster.to_string(),
        // Also the time an AppendEntries may take (openraft 0.9): a member
        // catching up on hundreds of entries under a full table's load
        // needs more than 200 ms, and a timed-out stream can stall.
        heartbeat_interval: 500,
        // openraft elects nothing itself here (`enable_elect` is off):
        // the max is the lease for which a voter refuses its vote after it
        // last heard the leader (two heartbeats), the min the time a vote
        // request may take. How long a busy leader keeps its place is
        // `crate::campaign`'s to say; a leader whose process is gone is
        // replaced after this lease and little more.
        election_timeout_min: 900,
        election_timeout_max: 1000,
        install_snapshot_timeout: SNAPSHOT_CHUNK_TIMEOUT_MS,
        snapshot_max_chunk_size: SNAPSHOT_CHUNK,
        // Entries carry thousands of paths each.
        max_payload_entries: 64,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(1000),
        max_in_snapshot_log_to_keep: 200,
        // Elections are started by `crate::campaign`, after a pre-vote.
        enable_elect: false,
        ..Config::default()
    }
}
