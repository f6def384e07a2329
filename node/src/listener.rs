//! The BGP listener: accepts connections and hands each to the session of
//! the configured neighbour with that address, when it runs on this
//! member; anything else is closed.

use crate::daemon::Sessions;
use crate::session::{Incoming, PeerSession};
use actix::Addr;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

/// A stranger's connections are logged at most this often per address.
const STRANGER_LOG_EVERY: Duration = Duration::from_secs(60);

/// Strangers remembered for the log's rate at most (then forgotten).
const STRANGERS_KEPT: usize = 1024;

/// Accepts forever (until the task is dropped).
pub async fn serve(listener: TcpListener, sessions: Sessions) {
    let local = listener.local_addr().ok();
    info!(addr = ?local, "listening for BGP connections");
    let mut strangers: HashMap<IpAddr, Instant> = HashMap::new();
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let ip = unmapped(from.ip());
                let session = {
                    let map = sessions
                        .by_address
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    map.get(&ip).cloned()
                };
                if session.is_none() && !sessions.neighbors().iter().any(|n| n.addr.ip() == ip) {
                    if strangers.len() >= STRANGERS_KEPT {
                        strangers.clear();
                    }
                    let last = strangers.get(&ip).copied();
                    if last.is_none_or(|t| t.elapsed() >= STRANGER_LOG_EVERY) {
                        strangers.insert(ip, Instant::now());
                        warn!(%from, "connection from an address that is not a configured neighbour: closed (logged once a minute per address)");
                    }
                    continue;
                }
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

/// A listening socket on `addr`. An IPv6 one is IPv6 only (IPV6_V6ONLY),
/// so that "::" and "0.0.0.0" on the same port are two sockets, as the
/// default `[listen]` has them, whatever the host's `bindv6only`.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Binds `addr` as soon as it can be (the address is not on an interface
/// yet), then serves.
pub async fn serve_once_bound(addr: SocketAddr, peers: Sessions) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        match bind(addr) {
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
        // A cluster's clients dial every member; one runs the session.
        None => debug!(%from, "the neighbour's session does not run on this member: closed"),
    }
}
