//! The wire between members: each message is a frame, a 4-octet
//! big-endian length then the versioned postcard octets of an [`Rpc`] or
//! an [`RpcReply`] ([`storage::format`]). One request, one reply, in turn,
//! on a connection that is kept for the next request.

use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use storage::{NodeId, Request, Response, TypeConfig, format};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest frame a member may send: an AppendEntries of many entries
/// (a larger one is `PayloadTooLarge` to openraft, which sends fewer
/// entries at a time); a snapshot chunk is 1 MiB
/// ([`crate::config::SNAPSHOT_CHUNK`]).
pub const MAX_FRAME: usize = 16 << 20;

/// The largest frame an operator's tool may send (a management request)
/// and the largest reply it reads.
pub const MAX_OPERATOR_FRAME: usize = 64 << 10;

/// A request from one member to another.
#[derive(Debug, Serialize, Deserialize)]
pub enum Rpc {
    /// An AppendEntries, with how long ago (in milliseconds) the leader
    /// last heard from both the receiver and a majority
    /// ([`crate::contact::Contact::vouch_for`]).
    Append(AppendEntriesRequest<TypeConfig>, u64),
    Vote(VoteRequest<NodeId>),
    Snapshot(InstallSnapshotRequest<TypeConfig>),
    /// A follower hands a write to the leader.
    Forward(Request),
    /// Cluster management (`reflex cluster ...`).
    Manage(Manage),
    /// How the receiver stands (leader, when it last heard one, its log):
    /// for the sender's contact and pre-vote ([`crate::contact`]).
    Ping,
}

/// A change of the cluster, asked of one member.
#[derive(Debug, Serialize, Deserialize)]
pub enum Manage {
    /// Makes a new cluster of these members (once, on a member that has
    /// never been part of one).
    Init(BTreeMap<NodeId, String>),
    /// Adds a member (on the leader): learner first, then voter.
    Add(NodeId, String),
    /// Removes a member (on the leader).
    Remove(NodeId),
    /// The members and the leader, as this member knows them.
    Status,
    /// Takes a snapshot of the RIB now and drops the log it covers (a
    /// member that lacks that log is then sent the snapshot).
    Snapshot,
}

/// The members and leader as one member knows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub id: NodeId,
    pub leader: Option<NodeId>,
    pub voters: BTreeMap<NodeId, String>,
    pub last_applied: Option<u64>,
    /// The last log index the member's snapshot covers.
    pub snapshot: Option<u64>,
    /// Which member runs each neighbour's session (by neighbour index), as
    /// this member has applied it.
    pub owners: BTreeMap<u32, NodeId>,
    /// Paths in the Adj-RIBs-In of all peers, as this member has applied
    /// them (how far it has come through a burst).
    pub paths: u64,
    /// Paths announced or withdrawn in the log entries this member has
    /// learnt committed since it started.
    pub committed_paths: u64,
    /// InstallSnapshot chunks this member has received since it started.
    pub snapshot_chunks: u64,
}

/// Why a forwarded write was not done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ForwardError {
    /// The receiver is not the leader; it names the one it knows.
    #[error("not the leader (leader: {0:?})")]
    NotLeader(Option<(NodeId, BasicNode)>),
    #[error("{0}")]
    Failed(String),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum RpcReply {
    Append(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    Snapshot(Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>),
    Forward(Result<Response, ForwardError>),
    Manage(Result<ClusterStatus, ForwardError>),
    Ping(crate::contact::Pong),
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} octets is over the limit")]
    TooLarge(usize),
    #[error("frame does not decode: {0}")]
    Format(#[from] storage::FormatError),
}

/// Encodes `msg` as one frame; a frame over `max` is refused before
/// anything is written.
pub fn encode_frame<T: Serialize>(msg: &T, max: usize) -> Result<Vec<u8>, FrameError> {
    let octets = format::encode_as(msg, format::WIRE_FORMAT)?;
    if octets.len() > max {
        return Err(FrameError::TooLarge(octets.len()));
    }
    let mut frame = Vec::with_capacity(4 + octets.len());
    frame.extend_from_slice(&(octets.len() as u32).to_be_bytes());
    frame.extend_from_slice(&octets);
    Ok(frame)
}

pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &[u8]) -> Result<(), FrameError> {
    w.write_all(frame).await?;
    w.flush().await?;
    Ok(())
}

/// Reads a frame's length: the wait for the next request or reply.
pub async fn read_length<R: AsyncRead + Unpin>(r: &mut R, max: usize) -> Result<usize, FrameError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(FrameError::TooLarge(len));
    }
    Ok(len)
}

/// Reads a frame's `len` octets and decodes them. Memory grows with the
/// octets that arrive, not with the length announced.
pub async fn read_body<R, T>(r: &mut R, len: usize) -> Result<T, FrameError>
where
    R: AsyncRead + Unpin,
    T: serde::de::DeserializeOwned,
{
    let mut octets = Vec::with_capacity(len.min(64 << 10));
    r.take(len as u64).read_to_end(&mut octets).await?;
    if octets.len() != len {
        return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(format::decode(&octets)?)
}

pub async fn read_frame<R, T>(r: &mut R, max: usize) -> Result<T, FrameError>
where
    R: AsyncRead + Unpin,
    T: serde::de::DeserializeOwned,
{
    let len = read_length(r, max).await?;
    read_body(r, len).await
}
