//! `GET /api/v1/cluster`: the reflector cluster as this member knows it:
//! members and leader, Raft term and indexes, which member runs each
//! neighbour's session, and the RIB digest (equal on every member that
//! has applied the same log).

use super::ApiState;
use axum::extract::State;
use axum::response::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The Loc-RIB digest read at a log position. A full table's digest costs
/// about 90 ms of the thread Raft runs on, and monitoring (and the tests)
/// poll this view several times a second: it is read again only when the
/// state machine has applied something since.
pub type DigestCache = Arc<Mutex<Option<(Option<u64>, u64)>>>;

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
    loc_rib_prefixes: usize,
    /// The Loc-RIB digest, hexadecimal.
    rib_digest: String,
}

pub async fn view(State(api): State<ApiState>) -> Json<ClusterView> {
    let status = consensus::server::status(&api.member.raft);
    let (term, last_log) = {
        let m = api.member.raft.metrics();
        let m = m.borrow();
        (m.current_term, m.last_log_index)
    };
    let (digest, loc_rib, owners, moving, drained) = api.member.read(|a| {
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
        let mut cache = api.digest.lock().unwrap_or_else(|p| p.into_inner());
        let digest = match *cache {
            Some((at, digest)) if at == a.last_applied.map(|l| l.index) => digest,
            _ => {
                let digest = a.rib.digest();
                *cache = Some((a.last_applied.map(|l| l.index), digest));
                digest
            }
        };
        (digest, a.rib.loc_rib_len(), owners, moving, drained)
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
        loc_rib_prefixes: loc_rib,
        rib_digest: format!("{digest:016x}"),
    })
}
