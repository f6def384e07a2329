//! openraft settings for a reflector cluster.

use openraft::{Config, SnapshotPolicy};

/// Timers for members on one LAN; snapshot transfer sized for a full
/// table (tens of MB): openraft's defaults (200 ms per 3 MiB chunk) would
/// time out and resend a chunk forever.
pub fn raft_config(cluster: &str) -> Config {
    Config {
        cluster_name: cluster.to_string(),
        heartbeat_interval: 200,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        install_snapshot_timeout: 30_000,
        snapshot_max_chunk_size: 16 << 20,
        // Entries carry thousands of paths each.
        max_payload_entries: 64,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(1000),
        max_in_snapshot_log_to_keep: 200,
        ..Config::default()
    }
}
