//! `reflex cluster ...`: asks one member, over its Raft port, to change or
//! describe the cluster.

use crate::network::Connection;
use crate::protocol::{ClusterStatus, Manage, Rpc, RpcReply};
use crate::tls::Tls;
use std::sync::Arc;
use std::time::Duration;

/// Membership changes wait for the new member to catch up.
const MANAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a management request failed.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{0}")]
    Call(#[from] crate::network::CallError),
    #[error("{0}")]
    Refused(#[from] crate::protocol::ForwardError),
    #[error("reply of the wrong kind")]
    WrongReply,
}

/// Sends `m` to the member whose Raft listens on `addr`, as the operator
/// whose certificate `tls` holds.
pub async fn ask(addr: &str, tls: Arc<Tls>, m: Manage) -> Result<ClusterStatus, ManageError> {
    let mut c = Connection::new(None, addr.to_string(), Some(tls));
    match c.call(&Rpc::Manage(m), MANAGE_TIMEOUT).await? {
        RpcReply::Manage(r) => Ok(r?),
        _ => Err(ManageError::WrongReply),
    }
}
