//! `reflex run`: the actix system, one arbiter per core, a session actor per
//! neighbour, the listener, and a clean shutdown (Cease to every peer).

mod spec;

pub use spec::spec_from_config;

use crate::listener;
use crate::rib::RibActor;
use crate::session::{PeerSession, RibRole, Shutdown, Status};
use actix::{Actor, Addr, Arbiter, System};
use anyhow::Context as _;
use speaker::fsm::SessionConfig;
use speaker::rib::RibConfig;
use speaker::wire::Notification;
use speaker::wire::notification::subcode;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpListener;
use tracing::info;

/// One neighbour to run a session with.
#[derive(Clone, Debug)]
pub struct NeighborSpec {
    /// Address and port to connect to.
    pub addr: SocketAddr,
    pub session: SessionConfig,
    pub role: RibRole,
}

/// What a node runs.
#[derive(Clone, Debug)]
pub struct DaemonSpec {
    pub rib: RibConfig,
    pub listen: Vec<SocketAddr>,
    pub neighbors: Vec<NeighborSpec>,
}

/// How long sessions get to flush their Cease on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Runs until `shutdown` completes, then stops every session with a Cease
/// (Administrative Shutdown) and returns.
pub fn run(spec: DaemonSpec, shutdown: impl Future<Output = ()> + 'static) -> anyhow::Result<()> {
    let system = System::new();
    system.block_on(async move {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arbiters: Vec<Arbiter> = (0..cores).map(|_| Arbiter::new()).collect();
        let rib = RibActor::new(spec.rib.clone()).start();
        let mut sessions: Vec<Addr<PeerSession>> = Vec::new();
        let mut by_ip: HashMap<IpAddr, Addr<PeerSession>> = HashMap::new();
        for (i, n) in spec.neighbors.iter().enumerate() {
            let (addr, cfg, role, rib) = (n.addr, n.session.clone(), n.role.clone(), rib.clone());
            let session = PeerSession::start_in_arbiter(&arbiters[i % cores].handle(), move |_| {
                PeerSession::new(addr, cfg, role, rib)
            });
            by_ip.insert(n.addr.ip(), session.clone());
            sessions.push(session);
        }
        for addr in &spec.listen {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            actix_rt::spawn(listener::serve(l, by_ip.clone()));
        }
        info!(
            neighbors = sessions.len(),
            arbiters = cores,
            "reflex running"
        );
        shutdown.await;
        info!("shutting down: Cease to every peer");
        for s in &sessions {
            let cease = Notification::cease_with_message(
                subcode::cease::ADMINISTRATIVE_SHUTDOWN,
                "reflex shutting down",
            );
            s.do_send(Shutdown(Some(cease)));
        }
        for s in &sessions {
            let _ = s.send(Status).await;
        }
        tokio::time::sleep(SHUTDOWN_GRACE).await;
        for a in &arbiters {
            a.stop();
        }
        System::current().stop();
        Ok::<(), anyhow::Error>(())
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn signals() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
