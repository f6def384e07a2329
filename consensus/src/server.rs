//! The server side of the Raft transport: every accepted connection is
//! served in turn, request then reply, until the peer closes it.

use crate::contact::{Contact, Pong};
use crate::protocol::{
    ClusterStatus, ForwardError, Manage, Rpc, RpcReply, read_frame, write_frame,
};
use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::AppendEntriesResponse;
use openraft::{BasicNode, Raft, ServerState};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use storage::TypeConfig;
use storage::{NodeId, StateMachine};
use tokio::net::{TcpListener, TcpStream};
use tracing::debug;

/// Serves `listener` until the task is aborted (which aborts the
/// connections too: they hold the store open).
/// Paths in the entries committed since the member started.
pub type CommittedPaths = Arc<dyn Fn() -> u64 + Send + Sync>;

pub async fn serve(
    listener: TcpListener,
    raft: Raft<TypeConfig>,
    state: StateMachine,
    committed: CommittedPaths,
    contact: Arc<Contact>,
) {
    let chunks = Arc::new(AtomicU64::new(0));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, from)) => {
                let _ = stream.set_nodelay(true);
                let (raft, state) = (raft.clone(), state.clone());
                let (committed, chunks) = (committed.clone(), chunks.clone());
                let contact = contact.clone();
                connections.spawn(async move {
                    let served = connection(stream, raft, state, committed, chunks, contact);
                    if let Err(e) = served.await {
                        debug!(%from, error = %e, "raft connection closed");
                    }
                });
            }
            Err(e) => {
                debug!(error = %e, "raft accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(
    mut stream: TcpStream,
    raft: Raft<TypeConfig>,
    state: StateMachine,
    committed: CommittedPaths,
    chunks: Arc<AtomicU64>,
    contact: Arc<Contact>,
) -> Result<(), crate::protocol::FrameError> {
    loop {
        let rpc: Rpc = read_frame(&mut stream).await?;
        let reply = match rpc {
            Rpc::Append(r, vouch) => {
                let (entries, started) = (r.entries.len(), std::time::Instant::now());
                let reply = raft.append_entries(r).await;
                // From the current leader (a stale one gets HigherVote).
                if let Ok(
                    AppendEntriesResponse::Success
                    | AppendEntriesResponse::PartialSuccess(_)
                    | AppendEntriesResponse::Conflict,
                ) = &reply
                {
                    contact.accepted_append(started, Duration::from_millis(vouch));
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
                chunks.fetch_add(1, Ordering::Relaxed);
                debug!(
                    offset = r.offset,
                    octets = r.data.len(),
                    done = r.done,
                    "snapshot chunk received"
                );
                RpcReply::Snapshot(raft.install_snapshot(r).await)
            }
            Rpc::Forward(req) => RpcReply::Forward(match raft.client_write(req).await {
                Ok(r) => Ok(r.data),
                Err(e) => Err(forward_error(e)),
            }),
            Rpc::Ping => RpcReply::Ping(pong(&raft, &contact)),
            Rpc::Manage(m) => RpcReply::Manage(manage(&raft, m).await.map(|mut s| {
                s.owners = owners(&state);
                s.paths = state.paths();
                s.committed_paths = committed();
                s.snapshot_chunks = chunks.load(Ordering::Relaxed);
                s
            })),
        };
        write_frame(&mut stream, &reply).await?;
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
