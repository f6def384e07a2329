//! Peer sessions as actors: each owns its TCP connection, its
//! [`speaker::fsm::Session`] and the one timer that drives it.

mod actor;
mod transport;

pub use actor::{
    Act, ImportPolicy, Incoming, Leave, NeighborAction, PeerSession, RibRole, SendUpdates,
    SessionStatus, Shutdown, Status, TablePage,
};
