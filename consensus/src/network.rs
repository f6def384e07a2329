//! The client side of the Raft transport: one connection per target
//! member, opened on first use and kept; a connection that fails is
//! dropped and opened again on the next call. A target that cannot be
//! connected to is `Unreachable` (openraft backs off); a failure or
//! timeout on an open connection is a network error (it retries). Every
//! connection is mutual TLS ([`crate::tls`]); the target's certificate must
//! name the member asked for.

use crate::contact::Contact;
use crate::protocol::{
    FrameError, MAX_FRAME, Rpc, RpcReply, encode_frame, read_frame, write_frame,
};
use crate::tls::Tls;
use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use std::sync::Arc;
use std::time::Duration;
use storage::{NodeId, TypeConfig};
use tokio::net::TcpStream;

/// How long connecting to a member may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Makes a [`Connection`] per target member; every answer is recorded in
/// the member's [`Contact`] (on the leader, whose heartbeats go to every
/// member several times a second: who is alive).
#[derive(Clone)]
pub struct Network {
    pub contact: Arc<Contact>,
    /// `None`: a member with no Raft transport (a one-member node).
    pub tls: Option<Arc<Tls>>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Connection {
        let mut c = Connection::new(Some(target), node.addr.clone(), self.tls.clone());
        c.contact = Some(self.contact.clone());
        c
    }
}

type Stream = tokio_rustls::client::TlsStream<TcpStream>;

/// A kept connection to one member.
pub struct Connection {
    /// The member asked (`None`: whichever member listens on `addr`, for
    /// an operator's tools).
    target: Option<NodeId>,
    addr: String,
    tls: Option<Arc<Tls>>,
    stream: Option<Stream>,
    /// Where an answer is recorded (Raft's own connections and pings).
    pub(crate) contact: Option<Arc<Contact>>,
    /// How long connecting may take.
    pub(crate) connect_timeout: Duration,
}

/// Why a call failed, before openraft's error types.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS with {0}: {1}")]
    Tls(String, std::io::Error),
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("reply of the wrong kind")]
    WrongReply,
}

/// An I/O error that says the other end had closed the connection.
fn closed(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(
        e.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted | UnexpectedEof
    )
}

impl Connection {
    pub fn new(target: Option<NodeId>, addr: String, tls: Option<Arc<Tls>>) -> Connection {
        Connection {
            target,
            addr,
            tls,
            stream: None,
            contact: None,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }

    /// Sends `rpc` and waits up to `ttl` for the reply. A connection kept
    /// from an earlier call that turns out closed (the other member
    /// restarted: a broken pipe, a reset, an end of stream) is replaced
    /// once: its process is gone, so it did not take the call (and every
    /// call here may be repeated: Raft's are, forwarded writes carry
    /// their write id, lease changes set a state).
    pub async fn call(&mut self, rpc: &Rpc, ttl: Duration) -> Result<RpcReply, CallError> {
        let frame = encode_frame(rpc, MAX_FRAME)?;
        self.call_frame(&frame, ttl).await
    }

    async fn call_frame(&mut self, frame: &[u8], ttl: Duration) -> Result<RpcReply, CallError> {
        let reused = self.stream.is_some();
        match self.call_once(frame, ttl).await {
            Err(CallError::Frame(FrameError::Io(e))) if reused && closed(&e) => {
                tracing::debug!(target = ?self.target, error = %e, "kept connection closed: calling again on a new one");
                self.call_once(frame, ttl).await
            }
            other => other,
        }
    }

    /// Connects (TCP, then TLS) within the connect timeout.
    async fn connect(&self) -> Result<Stream, CallError> {
        let timed_out = || std::io::Error::from(std::io::ErrorKind::TimedOut);
        let Some(tls) = &self.tls else {
            return Err(CallError::Tls(
                self.addr.clone(),
                std::io::Error::other("this member has no Raft transport (no raft-address)"),
            ));
        };
        let s = tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| CallError::Connect(self.addr.clone(), timed_out()))?
            .map_err(|e| {
                // Nothing listens there: the member's process is gone.
                if e.kind() == std::io::ErrorKind::ConnectionRefused
                    && let (Some(c), Some(target)) = (&self.contact, self.target)
                {
                    c.refused(target);
                }
                CallError::Connect(self.addr.clone(), e)
            })?;
        // Small frames (votes, heartbeats) must not wait for Nagle.
        let _ = s.set_nodelay(true);
        tokio::time::timeout(self.connect_timeout, tls.connect(s, self.target))
            .await
            .map_err(|_| CallError::Tls(self.addr.clone(), timed_out()))?
            .map_err(|e| CallError::Tls(self.addr.clone(), e))
    }

    async fn call_once(&mut self, frame: &[u8], ttl: Duration) -> Result<RpcReply, CallError> {
        // Out of `self` for the exchange, put back only once the reply is
        // read: a caller that gives up (openraft's own timeout drops this
        // future) drops the connection with it, so the next call never
        // reads a reply meant for this one.
        let mut stream = match self.stream.take() {
            Some(s) => s,
            None => self.connect().await?,
        };
        let exchange = async {
            let started = std::time::Instant::now();
            write_frame(&mut stream, frame).await?;
            let written = started.elapsed();
            let reply = read_frame::<_, RpcReply>(&mut stream, MAX_FRAME).await;
            tracing::debug!(
                write_us = written.as_micros() as u64,
                total_us = started.elapsed().as_micros() as u64,
                "raft call"
            );
            reply
        };
        match tokio::time::timeout(ttl, exchange).await {
            Ok(Ok(reply)) => {
                self.stream = Some(stream);
                if let (Some(c), Some(target)) = (&self.contact, self.target) {
                    c.answered(target);
                }
                Ok(reply)
            }
            Ok(Err(e)) => Err(e.into()),
            // The reply may still come: the connection is out of step, and
            // goes.
            Err(_) => Err(CallError::Timeout(ttl)),
        }
    }

    fn rpc_error<E: std::error::Error>(&self, e: CallError) -> RPCError<NodeId, BasicNode, E> {
        match e {
            CallError::Connect(..) | CallError::Tls(..) => {
                RPCError::Unreachable(Unreachable::new(&e))
            }
            other => RPCError::Network(NetworkError::new(&other)),
        }
    }

    fn remote<T, E: std::error::Error>(
        &self,
        r: Result<T, E>,
    ) -> Result<T, RPCError<NodeId, BasicNode, E>> {
        r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target.unwrap_or_default(), e)))
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let vouch = match (&self.contact, self.target) {
            (Some(c), Some(t)) => u64::try_from(c.vouch_for(t).as_millis()).unwrap_or(u64::MAX),
            _ => u64::MAX,
        };
        let entries = rpc.entries.len() as u64;
        let frame = match encode_frame(&Rpc::Append(rpc, vouch), MAX_FRAME) {
            // Too many entries for one frame: openraft sends fewer.
            Err(FrameError::TooLarge(_)) if entries > 1 => {
                return Err(RPCError::PayloadTooLarge(
                    PayloadTooLarge::new_entries_hint(entries / 2),
                ));
            }
            Err(e) => return Err(self.rpc_error(e.into())),
            Ok(f) => f,
        };
        match self.call_frame(&frame, option.hard_ttl()).await {
            Ok(RpcReply::Append(r)) => self.remote(r),
            Ok(_) => Err(self.rpc_error(CallError::WrongReply)),
            Err(e) => Err(self.rpc_error(e)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        match self.call(&Rpc::Snapshot(rpc), option.hard_ttl()).await {
            Ok(RpcReply::Snapshot(r)) => self.remote(r),
            Ok(_) => Err(self.rpc_error(CallError::WrongReply)),
            Err(e) => Err(self.rpc_error(e)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        match self.call(&Rpc::Vote(rpc), option.hard_ttl()).await {
            Ok(RpcReply::Vote(r)) => self.remote(r),
            Ok(_) => Err(self.rpc_error(CallError::WrongReply)),
            Err(e) => Err(self.rpc_error(e)),
        }
    }
}
