//! The server side of the Raft transport: every accepted connection is
//! served in turn, request then reply, until the peer closes it.

use crate::protocol::{ForwardError, Rpc, RpcReply, read_frame, write_frame};
use openraft::Raft;
use openraft::error::{ClientWriteError, RaftError};
use storage::TypeConfig;
use tokio::net::{TcpListener, TcpStream};
use tracing::debug;

/// Serves `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, raft: Raft<TypeConfig>) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let _ = stream.set_nodelay(true);
                let raft = raft.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection(stream, raft).await {
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
) -> Result<(), crate::protocol::FrameError> {
    loop {
        let rpc: Rpc = read_frame(&mut stream).await?;
        let reply = match rpc {
            Rpc::Append(r) => RpcReply::Append(raft.append_entries(r).await),
            Rpc::Vote(r) => RpcReply::Vote(raft.vote(r).await),
            Rpc::Snapshot(r) => RpcReply::Snapshot(raft.install_snapshot(r).await),
            Rpc::Forward(req) => RpcReply::Forward(match raft.client_write(req).await {
                Ok(r) => Ok(r.data),
                Err(e) => Err(forward_error(e)),
            }),
        };
        write_frame(&mut stream, &reply).await?;
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
