//! The BGP listener: accepts connections and hands each to the session of
//! the configured neighbour with that address; anything else is closed.

use crate::session::{Incoming, PeerSession};
use actix::Addr;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpListener;
use tracing::{info, warn};

/// Accepts forever (until the task is dropped).
pub async fn serve(listener: TcpListener, peers: HashMap<IpAddr, Addr<PeerSession>>) {
    let local = listener.local_addr().ok();
    info!(addr = ?local, "listening for BGP connections");
    loop {
        match listener.accept().await {
            Ok((stream, from)) => route(stream, from, &peers),
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

fn route(
    stream: tokio::net::TcpStream,
    from: SocketAddr,
    peers: &HashMap<IpAddr, Addr<PeerSession>>,
) {
    // IPv4-mapped IPv6 addresses come from dual-stack sockets.
    let ip = match from.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match peers.get(&ip) {
        Some(session) => session.do_send(Incoming(stream)),
        None => {
            warn!(%from, "connection from an address that is not a configured neighbour: closed")
        }
    }
}
