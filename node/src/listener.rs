//! The BGP listener: accepts connections and hands each to the session of
//! the configured neighbour with that address, when it runs on this
//! member; a neighbour's connection while its session runs on another
//! member is parked ([`Parked`]); anything else is closed.

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

/// How long a parked connection is kept at most: under the 240 s a
/// neighbour waits for our OPEN (RFC 4271 §8.2.2's large hold time, which
/// BIRD, FRR and GoBGP use), so that we, not its hold timer, end it.
const PARK_FOR: Duration = Duration::from_secs(200);

/// How often parked connections are looked at.
const PARKED_CHECK_EVERY: Duration = Duration::from_millis(250);

/// Connections from neighbours whose session runs on another member, kept
/// open and unanswered (one per address, the latest) instead of closed.
/// A cluster's clients dial every member; a graceful-restart helper may
/// take a connection that fails after it was accepted for the end of the
/// restart and drop the routes it keeps stale from this member (GoBGP 3
/// does: its FSM goes from OpenSent to Idle, RFC 4724 §4.2 read
/// strictly). Right after a move, those are the routes that cover the
/// neighbour while it is still reading the new owner's table. A parked
/// connection goes to the session if it comes to run here (as any
/// incoming connection, collision detection included), and is closed
/// after [`PARK_FOR`] otherwise.
#[derive(Default)]
struct Parked(HashMap<IpAddr, (tokio::net::TcpStream, SocketAddr, Instant)>);

impl Parked {
    fn park(&mut self, stream: tokio::net::TcpStream, from: SocketAddr) {
        debug!(%from, "the neighbour's session does not run on this member: connection parked, unanswered");
        // An older one from the same address was given up by the neighbour.
        self.0
            .insert(unmapped(from.ip()), (stream, from, Instant::now()));
    }

    /// Hands parked connections to sessions that now run here; closes
    /// those parked too long.
    fn check(&mut self, sessions: &Sessions) {
        if self.0.is_empty() {
            return;
        }
        let running: Vec<(IpAddr, Addr<PeerSession>)> = {
            let map = sessions
                .by_address
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            self.0
                .keys()
                .filter_map(|ip| Some((*ip, map.get(ip)?.clone())))
                .collect()
        };
        for (ip, session) in running {
            if let Some((stream, from, since)) = self.0.remove(&ip) {
                info!(%from, parked_ms = since.elapsed().as_millis() as u64, "the neighbour's session runs here now: its parked connection handed to it");
                session.do_send(Incoming(stream));
            }
        }
        self.0.retain(|_, (_, from, since)| {
            let keep = since.elapsed() < PARK_FOR;
            if !keep {
                debug!(%from, "parked connection closed");
            }
            keep
        });
    }
}

/// Accepts forever (until the task is dropped).
pub async fn serve(listener: TcpListener, sessions: Sessions) {
    let local = listener.local_addr().ok();
    info!(addr = ?local, "listening for BGP connections");
    let mut strangers: HashMap<IpAddr, Instant> = HashMap::new();
    let mut parked = Parked::default();
    let mut check = tokio::time::interval(PARKED_CHECK_EVERY);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = check.tick() => {
                parked.check(&sessions);
                continue;
            }
        };
        match accepted {
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
                match session {
                    Some(session) => session.do_send(Incoming(stream)),
                    None => parked.park(stream, from),
                }
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
