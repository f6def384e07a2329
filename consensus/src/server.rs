//! The server side of the Raft transport: every accepted connection is
//! authenticated (mutual TLS, [`crate::tls`]) before a frame is read, then
//! served in turn, request then reply, until the peer closes it or stays
//! idle too long. Each request is checked against the certificate: Raft's
//! own calls only from the member they claim to come from, forwarded
//! writes and pings from a member, cluster management from an operator.

use crate::contact::{Contact, Pong};
use crate::protocol::{
    ClusterStatus, ForwardError, MAX_FRAME, MAX_OPERATOR_FRAME, Manage, Rpc, RpcReply,
    encode_frame, read_body, read_length, write_frame,
};
use crate::tls::{Peer, Tls};
use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::{AppendEntriesResponse, InstallSnapshotRequest};
use openraft::{BasicNode, Raft, ServerState};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storage::TypeConfig;
use storage::{NodeId, StateMachine};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

/// Paths in the entries committed since the member started.
pub type CommittedPaths = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Connections from the members' addresses served at once; more are
/// closed as they come.
pub const MAX_MEMBER_CONNECTIONS: usize = 256;
/// Connections from any other address (operators' tools, and whoever
/// else reaches the port) served at once, handshakes under way included:
/// a flood of them takes none of the members' room.
pub const MAX_OTHER_CONNECTIONS: usize = 64;
/// The time a new connection has to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection with no request for this long is closed (members call
/// several times a second; their connections open again on demand).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The time a frame's octets have to arrive once its length has.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the connections of one server share.
struct Shared {
    raft: Raft<TypeConfig>,
    state: StateMachine,
    committed: CommittedPaths,
    contact: Arc<Contact>,
    /// InstallSnapshot chunks received since the member started.
    chunks: AtomicU64,
    /// The snapshot being received (its id) and the octets received so
    /// far: a chunk may only continue it, not leave a hole.
    receiving: Mutex<Option<(String, u64)>>,
    /// Refusals logged, to log them at a bounded rate.
    refusals: Mutex<(Instant, u32)>,
}

impl Shared {
    /// Logs a refused connection or request, at most 10 a minute.
    fn refused(&self, from: std::net::SocketAddr, why: &str) {
        let mut r = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        if r.0.elapsed() > Duration::from_secs(60) {
            *r = (Instant::now(), 0);
        }
        r.1 += 1;
        if r.1 <= 10 {
            warn!(%from, why, "raft connection refused");
        }
    }

    /// Whether `r` continues the snapshot being received (or starts one)
    /// without a hole; records it.
    fn snapshot_chunk_fits(&self, r: &InstallSnapshotRequest<TypeConfig>) -> bool {
        let mut receiving = self.receiving.lock().unwrap_or_else(|e| e.into_inner());
        let id = &r.meta.snapshot_id;
        let len = r.data.len() as u64;
        let next = match receiving.as_ref() {
            _ if r.offset == 0 => Some(0),
            Some((current, next)) if current == id && r.offset <= *next => Some(*next),
            _ => None,
        };
        let Some(next) = next else {
            return false;
        };
        let end = r.offset.saturating_add(len);
        *receiving = Some((id.clone(), if r.offset == 0 { end } else { next.max(end) }));
        true
    }
}

/// Serves `listener` until the task is aborted (which aborts the
/// connections too: they hold the store open).
pub async fn serve(
    listener: TcpListener,
    tls: Arc<Tls>,
    raft: Raft<TypeConfig>,
    state: StateMachine,
    committed: CommittedPaths,
    contact: Arc<Contact>,
) {
    let shared = Arc::new(Shared {
        raft,
        state,
        committed,
        contact,
        chunks: AtomicU64::new(0),
        receiving: Mutex::new(None),
        refusals: Mutex::new((Instant::now(), 0)),
    });
    let members = Arc::new(tokio::sync::Semaphore::new(MAX_MEMBER_CONNECTIONS));
    let others = Arc::new(tokio::sync::Semaphore::new(MAX_OTHER_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, from)) => {
                let budget = if member_addresses(&shared.raft).contains(&from.ip()) {
                    &members
                } else {
                    &others
                };
                let Ok(permit) = budget.clone().try_acquire_owned() else {
                    shared.refused(from, "too many connections");
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (shared, tls) = (shared.clone(), tls.clone());
                connections.spawn(async move {
                    if let Err(e) = connection(stream, from, &tls, &shared).await {
                        debug!(%from, error = %e, "raft connection closed");
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                debug!(error = %e, "raft accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The IP addresses of the members (voters and learners) this member
/// knows: connections from them have their own budget.
fn member_addresses(raft: &Raft<TypeConfig>) -> BTreeSet<std::net::IpAddr> {
    let metrics = raft.metrics();
    let m = metrics.borrow();
    m.membership_config
        .membership()
        .nodes()
        .filter_map(|(_, n)| n.addr.parse::<std::net::SocketAddr>().ok())
        .map(|a| a.ip())
        .collect()
}

async fn connection(
    stream: TcpStream,
    from: std::net::SocketAddr,
    tls: &Tls,
    shared: &Shared,
) -> Result<(), crate::protocol::FrameError> {
    let timed_out = || std::io::Error::from(std::io::ErrorKind::TimedOut);
    let (mut stream, mut peer) =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
            Ok(Ok(accepted)) => accepted,
            Ok(Err(e)) => {
                shared.refused(from, &format!("TLS: {e}"));
                return Err(e.into());
            }
            Err(_) => {
                shared.refused(from, "no TLS handshake in time");
                return Err(timed_out().into());
            }
        };
    if !peer.is_a_member() && !peer.is_operator() {
        shared.refused(from, "the certificate names no member and no operator");
        return Ok(());
    }
    // An operator's tool sends small requests only.
    let max = if peer.is_a_member() {
        MAX_FRAME
    } else {
        MAX_OPERATOR_FRAME
    };
    loop {
        let len = match tokio::time::timeout(IDLE_TIMEOUT, read_length(&mut stream, max)).await {
            Ok(len) => len?,
            Err(_) => return Ok(()),
        };
        let rpc: Rpc = tokio::time::timeout(BODY_TIMEOUT, read_body(&mut stream, len))
            .await
            .map_err(|_| timed_out())??;
        if let Err(why) = allowed(&rpc, &mut peer, shared) {
            shared.refused(from, &format!("{why} ({})", peer.describe()));
            let reply = match rpc {
                Rpc::Forward(_) => RpcReply::Forward(Err(ForwardError::Failed(why))),
                Rpc::Manage(_) => RpcReply::Manage(Err(ForwardError::Failed(why))),
                // Raft's own calls from a member that is not who it says.
                _ => return Ok(()),
            };
            write_frame(&mut stream, &encode_frame(&reply, MAX_FRAME)?).await?;
            continue;
        }
        let reply = serve_one(rpc, shared).await;
        write_frame(&mut stream, &encode_frame(&reply, MAX_FRAME)?).await?;
    }
}

/// Whether `peer` may make the call `rpc`; why not.
fn allowed(rpc: &Rpc, peer: &mut Peer, shared: &Shared) -> Result<(), String> {
    let claimed = match rpc {
        Rpc::Append(r, _) => r.vote.leader_id().voted_for(),
        Rpc::Vote(r) => r.vote.leader_id().voted_for(),
        Rpc::Snapshot(r) => r.vote.leader_id().voted_for(),
        Rpc::Forward(_) | Rpc::Ping => {
            return if peer.is_a_member() {
                Ok(())
            } else {
                Err("only a member may forward a write or ping".into())
            };
        }
        Rpc::Manage(_) => {
            return if peer.is_operator() {
                Ok(())
            } else {
                Err("cluster management needs an operator certificate".into())
            };
        }
    };
    if !claimed.is_some_and(|id| peer.is_member(id)) {
        return Err(format!(
            "a Raft call as member {claimed:?} with another's certificate"
        ));
    }
    match rpc {
        Rpc::Snapshot(r) if !shared.snapshot_chunk_fits(r) => Err(format!(
            "a snapshot chunk at offset {} that continues no snapshot received",
            r.offset
        )),
        _ => Ok(()),
    }
}

async fn serve_one(rpc: Rpc, shared: &Shared) -> RpcReply {
    let raft = &shared.raft;
    match rpc {
        Rpc::Append(r, vouch) => {
            let (entries, started) = (r.entries.len(), Instant::now());
            let reply = raft.append_entries(r).await;
            // From the current leader (a stale one gets HigherVote).
            if let Ok(
                AppendEntriesResponse::Success
                | AppendEntriesResponse::PartialSuccess(_)
                | AppendEntriesResponse::Conflict,
            ) = &reply
            {
                shared
                    .contact
                    .accepted_append(started, Duration::from_millis(vouch));
            }
            debug!(
                entries,
                micros = started.elapsed().as_micros() as u64,
                "append entries handled"
            );
            RpcReply::Append(reply)
        }
        Rpc::Vote(r) => RpcReply::Vote(raft.vote(r).await),
        Rpc::Snapshot(r) => {
            shared.chunks.fetch_add(1, Ordering::Relaxed);
            debug!(
                offset = r.offset,
                octets = r.data.len(),
                done = r.done,
                "snapshot chunk received"
            );
            RpcReply::Snapshot(raft.install_snapshot(r).await)
        }
        Rpc::Forward(req) => RpcReply::Forward(propose(raft, req).await),
        Rpc::Ping => RpcReply::Ping(pong(raft, &shared.contact)),
        Rpc::Manage(m) => RpcReply::Manage(manage(raft, m).await.map(|mut s| {
            s.owners = owners(&shared.state);
            s.paths = shared.state.paths();
            s.committed_paths = (shared.committed)();
            s.snapshot_chunks = shared.chunks.load(Ordering::Relaxed);
            s
        })),
    }
}

async fn manage(raft: &Raft<TypeConfig>, m: Manage) -> Result<ClusterStatus, ForwardError> {
    let failed = |e: &dyn std::fmt::Display| ForwardError::Failed(e.to_string());
    match m {
        Manage::Init(members) => {
            let nodes: BTreeMap<NodeId, BasicNode> = members
                .into_iter()
                .map(|(id, a)| (id, BasicNode::new(a)))
                .collect();
            raft.initialize(nodes).await.map_err(|e| failed(&e))?;
        }
        Manage::Add(id, addr) => {
            raft.add_learner(id, BasicNode::new(addr), true)
                .await
                .map_err(forward_error)?;
            let mut voters = status(raft).voters.into_keys().collect::<BTreeSet<_>>();
            voters.insert(id);
            raft.change_membership(voters, false)
                .await
                .map_err(forward_error)?;
        }
        Manage::Remove(id) => {
            let voters: BTreeSet<NodeId> = status(raft)
                .voters
                .into_keys()
                .filter(|v| *v != id)
                .collect();
            raft.change_membership(voters, false)
                .await
                .map_err(forward_error)?;
        }
        Manage::Status => {}
        Manage::Snapshot => {
            let before = status(raft).snapshot;
            raft.trigger().snapshot().await.map_err(|e| failed(&e))?;
            // Wait (a while) for the new snapshot, then drop the log it covers.
            let mut taken = None;
            for _ in 0..600 {
                let s = status(raft).snapshot;
                if s.is_some() && s != before {
                    taken = s;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let Some(upto) = taken else {
                return Err(ForwardError::Failed("no snapshot within 30 s".into()));
            };
            raft.trigger()
                .purge_log(upto)
                .await
                .map_err(|e| failed(&e))?;
        }
    }
    Ok(status(raft))
}

/// How this member stands, for another's contact and pre-vote.
fn pong(raft: &Raft<TypeConfig>, contact: &Contact) -> Pong {
    let m = raft.metrics().borrow().clone();
    Pong {
        leader: m.state == ServerState::Leader,
        heard_leader_ms: contact
            .heard_leader()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        last_log_index: m.last_log_index,
        build: Some(crate::build::Build::this()),
    }
}

/// What a member knows of the cluster.
pub fn status(raft: &Raft<TypeConfig>) -> ClusterStatus {
    let m = raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    ClusterStatus {
        id: m.id,
        leader: m.current_leader,
        voters: membership
            .voter_ids()
            .filter_map(|id| Some((id, membership.get_node(&id)?.addr.clone())))
            .collect(),
        last_applied: m.last_applied.map(|l| l.index),
        snapshot: m.snapshot.map(|l| l.index),
        owners: BTreeMap::new(),
        paths: 0,
        committed_paths: 0,
        snapshot_chunks: 0,
    }
}

/// The session owners this member has applied, by neighbour index.
pub fn owners(state: &StateMachine) -> BTreeMap<u32, NodeId> {
    state
        .applied()
        .owners
        .iter()
        .map(|(p, m)| (p.0, *m))
        .collect()
}

/// How long a write proposed on this member waits for its answer. openraft
/// 0.9 answers a write when this member applies its entry, or truncates
/// it: a leader deposed before it applied its entry, which the next leader
/// then committed and this member received inside a snapshot, is never
/// answered (openraft#1761, fixed after 0.9; fault campaign seed 66 of
/// 60 s: the loop that runs this member's sessions waited on such a write
/// for good, and a session leased to it ran nowhere). Past the deadline
/// the outcome is unknown and the write is reported failed: its writer
/// writes it again or decides anew (writes are numbered, one that did
/// commit is not applied twice). Shorter than the forward timeout, so a
/// forwarded write's writer hears of it.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(20);

/// Proposes `req` to this member's Raft (it must lead) and waits for its
/// answer, at most [`WRITE_TIMEOUT`].
pub(crate) async fn propose(
    raft: &Raft<TypeConfig>,
    req: storage::Request,
) -> Result<storage::Response, ForwardError> {
    match tokio::time::timeout(WRITE_TIMEOUT, raft.client_write(req)).await {
        Ok(Ok(r)) => Ok(r.data),
        Ok(Err(e)) => Err(forward_error(e)),
        Err(_) => Err(ForwardError::Failed(format!(
            "no answer within {} s: the entry may or may not have committed (this member stopped leading before it applied it)",
            WRITE_TIMEOUT.as_secs()
        ))),
    }
}

pub(crate) fn forward_error(
    e: RaftError<storage::NodeId, ClientWriteError<storage::NodeId, openraft::BasicNode>>,
) -> ForwardError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
            ForwardError::NotLeader(f.leader_id.zip(f.leader_node))
        }
        other => ForwardError::Failed(other.to_string()),
    }
}
