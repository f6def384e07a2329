//! The BGP listener: accepts connections and hands each to the session of
//! the configured neighbour with that address; anything else is closed.

use crate::daemon::ByAddress;
use crate::session::{Incoming, PeerSession};
use actix::Addr;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpListener;
use tracing::{info, warn};

/// Accepts forever (until the task is dropped).
pub async fn serve(listener: TcpListener, peers: ByAddress) {
    let local = listener.local_addr().ok();
    info!(addr = ?local, "listening for BGP connections");
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let session = {
                    let map = peers.lock().unwrap_or_else(|p| p.into_inner());
                    map.get(&unmapped(from.ip())).cloned()
                };
                route(stream, from, session);
            }
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Binds `addr` as soon as it can be (the address is not on an interface
/// yet), then serves.
pub async fn serve_once_bound(addr: SocketAddr, peers: ByAddress) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        match TcpListener::bind(addr).await {
            Ok(l) => return serve(l, peers).await,
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {}
            Err(e) => {
                warn!(%addr, error = %e, "cannot listen; giving up on this address");
                return;
            }
        }
    }
}

/// IPv4-mapped IPv6 addresses come from dual-stack sockets.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn route(stream: tokio::net::TcpStream, from: SocketAddr, session: Option<Addr<PeerSession>>) {
    match session {
        Some(session) => session.do_send(Incoming(stream)),
        None => {
            warn!(%from, "connection from an address that is not a configured neighbour: closed")
        }
    }
}
