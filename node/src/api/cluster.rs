//! `GET /api/v1/cluster`: the reflector cluster as this member knows it:
//! members and leader, Raft term and indexes, which member runs each
//! neighbour's session, and the RIB digest (equal on every member that
//! has applied the same log).

use super::ApiState;
use axum::extract::State;
use axum::response::Json;
use serde::Serialize;
use speaker::rib::digest::DigestWalk;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// The last Loc-RIB digest read: (the applied index it is of, digest,
/// destinations with a best path) and when it was read. It is read again
/// only when something was applied since and it is [`DIGEST_FRESH`] old,
/// one read at a time (a request that waits for another's read takes its
/// result).
pub type DigestCache =
    Arc<tokio::sync::Mutex<Option<((Option<u64>, u64, usize), std::time::Instant)>>>;

/// How long a digest answers for the indexes applied after it (the view
/// says which index it is of). Each read walks the whole Loc-RIB under the
/// state machine's lock: read for every index, while a full table is
/// applied and a monitor polls every member a few times a second, the
/// reads queued behind one another faster than they were served (the
/// answers came 30 s late) and held the apply back.
const DIGEST_FRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// How long the digest waits for an entry applied in chunks to end (a
/// full table's page takes milliseconds); then it answers the last one.
const DIGEST_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// The digest at the applied index of the moment, with the Loc-RIB's
/// size, read on this thread (off the one Raft runs on) under one hold of
/// the state machine's lock (about 90 ms for a full table): a digest must
/// be of one index, and a table that moves every few hundred milliseconds
/// is never seen whole a page at a time ([`super::pages`]). Monitoring and
/// the tests compare the digests of members at one index, whatever the
/// pace of the writes. The apply waits for it at most once per index
/// applied and [`DIGEST_FRESH`].
async fn digest(api: &ApiState) -> (Option<u64>, u64, usize) {
    let mut cache = api.digest.lock().await;
    let now = api.member.read(|a| a.last_applied.map(|l| l.index));
    if let Some((d, read_at)) = *cache
        && (d.0 == now || read_at.elapsed() < DIGEST_FRESH)
    {
        return d;
    }
    // An entry half applied: the RIB is of no one index yet; the rest of
    // it comes within a turn or two of the runtime.
    let d = api
        .member
        .read_settled(DIGEST_WAIT, |a| {
            let mut walk = DigestWalk::default();
            walk.step(&a.rib, usize::MAX);
            let prefixes = walk.prefixes();
            (
                a.last_applied.map(|l| l.index),
                walk.finish().unwrap_or_default(),
                prefixes,
            )
        })
        .await;
    if let Some(d) = d {
        *cache = Some((d, std::time::Instant::now()));
        return d;
    }
    cache.map(|(d, _)| d).unwrap_or_default()
}

#[derive(Serialize)]
pub struct ClusterView {
    member: u64,
    leader: Option<u64>,
    term: u64,
    /// Member id to its Raft address.
    voters: BTreeMap<u64, String>,
    last_log_index: Option<u64>,
    /// The last log index this member knows committed.
    commit_index: u64,
    applied_index: Option<u64>,
    /// The last log index this member's snapshot covers.
    snapshot_index: Option<u64>,
    /// Neighbour address to the member that runs its session.
    owners: BTreeMap<IpAddr, u64>,
    /// Neighbour address to the member its session is moving to
    /// (make-before-break: both run until the new one sent the table).
    moving: BTreeMap<IpAddr, u64>,
    /// Members that take no sessions: member id to why (`operator`:
    /// `reflex ctl drain`; `stopping`: it is stopping).
    drained: BTreeMap<u64, &'static str>,
    /// Destinations with a best path, at `rib_digest_index`.
    loc_rib_prefixes: usize,
    /// The Loc-RIB digest, hexadecimal, at `rib_digest_index`.
    rib_digest: String,
    /// The applied log index the digest is of (the applied index may have
    /// moved on since it was read): compare the digests of equal indexes.
    rib_digest_index: Option<u64>,
    /// This member's build (its package version).
    version: &'static str,
    /// The store and log format this member writes (it reads the earlier
    /// ones too).
    store_format: u8,
    /// Each voter's release as it said in its last answer to this
    /// member's pings ("0.1.0 (format 7)"; null: not said, a release
    /// before members said it): during a rolling upgrade, who runs what.
    member_builds: BTreeMap<u64, Option<String>>,
    /// The newest store format every voter reads (null while one has not
    /// said): commands of a newer format wait for it.
    format_read_by_all: Option<u8>,
}

pub async fn view(State(api): State<ApiState>) -> Json<ClusterView> {
    let digest = digest(&api).await;
    let status = consensus::server::status(&api.member.raft);
    let (term, last_log) = {
        let m = api.member.raft.metrics();
        let m = m.borrow();
        (m.current_term, m.last_log_index)
    };
    let (owners, moving, drained) = api.member.read(|a| {
        let owners = a
            .peer_ids
            .iter()
            .filter_map(|(ip, id)| Some((*ip, *a.owners.get(id)?)))
            .collect();
        let moving = a
            .peer_ids
            .iter()
            .filter_map(|(ip, id)| Some((*ip, a.leases.get(*id)?.joining?.member)))
            .collect();
        let drained = a
            .leases
            .drained()
            .iter()
            .map(|(m, d)| {
                let why = match d {
                    storage::Drain::Operator => "operator",
                    storage::Drain::Stopping => "stopping",
                };
                (*m, why)
            })
            .collect();
        (owners, moving, drained)
    });
    Json(ClusterView {
        member: status.id,
        leader: status.leader,
        term,
        voters: status.voters,
        last_log_index: last_log,
        commit_index: api.member.committed_index(),
        applied_index: status.last_applied,
        snapshot_index: status.snapshot,
        owners,
        moving,
        drained,
        loc_rib_prefixes: digest.2,
        rib_digest: format!("{:016x}", digest.1),
        rib_digest_index: digest.0,
        version: crate::VERSION,
        store_format: storage::format::FORMAT,
        member_builds: api
            .member
            .builds()
            .into_iter()
            .map(|(m, b)| (m, b.map(|b| b.to_string())))
            .collect(),
        format_read_by_all: api.member.format_read_by_all(),
    })
}
