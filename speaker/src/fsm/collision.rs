//! Connection collision detection (RFC 4271 §6.8).

use std::net::Ipv4Addr;

/// Which of two connections to the same peer survives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Survivor {
    /// The connection we initiated.
    Outgoing,
    /// The connection the peer initiated.
    Incoming,
}

/// §6.8: compare the BGP identifiers as 4-octet unsigned integers; the
/// connection initiated by the speaker with the higher identifier survives
/// (the other is closed with Cease / Connection Collision Resolution).
pub fn resolve(local_id: Ipv4Addr, remote_id: Ipv4Addr) -> Survivor {
    if u32::from(local_id) > u32::from(remote_id) {
        Survivor::Outgoing
    } else {
        Survivor::Incoming
    }
}
