//! `reflex run`: the actix system, one arbiter per core, a session actor per
//! neighbour, the listener, and a clean shutdown (Cease to every peer).

mod fatal_record;
mod proposed_record;
pub mod reload;
mod sessions;
mod spec;

pub use sessions::Sessions;
pub use spec::spec_from_config;

use crate::fib::{self, Fib, FibSpec};
use crate::listener;
use crate::rib::RibActor;
use crate::rib::hook::{DispatchHook, Routing, SharedRouting};
use crate::session::RibRole;
use actix::{Actor, Arbiter, System};
use anyhow::Context as _;
use consensus::{Member, Transport};
use speaker::fsm::SessionConfig;
use speaker::rib::RibCommand;
use speaker::rib::RibConfig;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use storage::Request;
use tracing::{error, info, warn};

/// One neighbour to run a session with.
#[derive(Clone, Debug)]
pub struct NeighborSpec {
    /// Address and port to connect to.
    pub addr: SocketAddr,
    pub session: SessionConfig,
    pub role: RibRole,
    /// The members that may run the session (`members = [..]`); none:
    /// any.
    pub members: Option<std::collections::BTreeSet<storage::NodeId>>,
    /// The source address of its connections (the service address's,
    /// when there is one).
    pub local: Option<std::net::IpAddr>,
    /// The address that follows its session ([`crate::service`]).
    pub service: Option<crate::config::ServiceAddress>,
}

/// What a node runs.
#[derive(Clone, Debug)]
pub struct DaemonSpec {
    pub rib: RibConfig,
    /// The member's store (the Raft log and RIB snapshots) is in here.
    pub data_dir: PathBuf,
    /// A border's kernel forwarding table (`None`: a reflector).
    pub fib: Option<FibSpec>,
    /// Every node is a member of a reflector cluster (by default, of a
    /// one-member one).
    pub member: MemberSpec,
    pub listen: Vec<SocketAddr>,
    pub neighbors: Vec<NeighborSpec>,
    /// Where the HTTP API and metrics listen (`None`: nowhere).
    pub api: Option<SocketAddr>,
    /// The bearer token of the API's actions.
    pub api_token: Option<String>,
    /// The bearer token of the API's reads (`None`: open).
    pub api_read_token: Option<String>,
    /// The API's certificate chain and key (`None`: plain HTTP).
    pub api_tls: Option<(PathBuf, PathBuf)>,
    /// The routing policy of the configuration, proposed to the cluster
    /// at start ([`reload`]).
    pub policy: reload::PolicySpec,
    /// Where to read the configuration again (SIGHUP, the API), and what
    /// it was.
    pub config_file: Option<(PathBuf, crate::config::Config)>,
}

/// This node as a member of its reflector cluster.
#[derive(Clone, Debug)]
pub struct MemberSpec {
    pub id: storage::NodeId,
    /// Where other members reach its Raft (port 0: any), and its TLS
    /// files; `None`: a one-member node, no Raft listener.
    pub raft: Option<(SocketAddr, consensus::tls::TlsFiles)>,
    /// A fresh store makes a one-member cluster; else wait to be added.
    pub bootstrap: bool,
}

/// RFC 4724 §4.1's Selection_Deferral_Timer: how long a restarted member
/// waits for the End-of-RIB of the neighbours of before its restart before
/// it sends its table anyway.
const SELECTION_DEFERRAL: Duration = Duration::from_secs(60);

/// The Raft address a one-member node records for itself: it has no
/// listener, and no other member ever connects to it.
const ALONE: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// How long a stopping member of a cluster waits for its sessions to move
/// to the others (make-before-break) before it closes what is left as a
/// restart of ours.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long sessions get to flush their Cease on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Runs until `shutdown` completes, then stops every session with a Cease
/// (Administrative Shutdown) and returns.
pub fn run(spec: DaemonSpec, shutdown: impl Future<Output = ()> + 'static) -> anyhow::Result<()> {
    let system = System::new();
    system.block_on(async move {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arbiters: Vec<Arbiter> = (0..cores).map(|_| Arbiter::new()).collect();
        let routing: SharedRouting = Arc::new(std::sync::Mutex::new(Routing::default()));
        // A border reads the kernel's routes before its RIB decides.
        let (fib, kernel_changes) = match spec.fib {
            Some(f) => {
                let (fib, rx) = Fib::start(f)?;
                (Some(fib), Some(rx))
            }
            None => (None, None),
        };
        let (fatal_exits, last_fatal) = fatal_record::read(&spec.data_dir);
        if let Some(last) = &last_fatal {
            warn!(
                count = fatal_exits,
                last = %last,
                "this member stopped on a fatal error before ({} in its data directory)",
                "fatal-exits"
            );
        }
        let (member, stale) = start_member(&spec, routing.clone(), fib.as_ref())
            .await
            .inspect_err(|e| fatal_record::record(&spec.data_dir, &format!("{e:#}")))?;
        let member = Arc::new(member);
        // The configured neighbours' ids, given now when this member leads
        // (else by the leader, or by the loop that follows the owners).
        let addresses: Vec<_> = spec.neighbors.iter().map(|n| n.addr.ip()).collect();
        let ids = if member.leader() == Some(member.id) {
            reload::register(&member, addresses.clone())
                .await
                .unwrap_or_else(|e| {
                    warn!(error = %e, "neighbours not registered yet");
                    member.read(|a| a.peer_ids.clone())
                })
        } else {
            member.read(|a| a.peer_ids.clone())
        };
        if let (Some(fib), Some(rx)) = (&fib, kernel_changes) {
            // The sweep waits for every neighbour (those of before a kill
            // or a clean stop are stale in the RIB, their routes in the
            // kernel still; one added since has none yet).
            let awaited = addresses
                .iter()
                .filter_map(|a| ids.get(a).copied())
                .collect();
            member.read(|a| fib::feed::lock(&fib.feed).load(&a.rib, awaited));
            actix_rt::spawn(reresolve(member.clone(), rx));
        }
        expire_later(member.clone(), stale.clone());
        let rib = RibActor::new(member.clone(), routing).start();
        rib.do_send(crate::rib::Defer {
            peers: stale.clone(),
            timeout: SELECTION_DEFERRAL,
        });
        // This configuration's policy, unless the cluster runs it already.
        actix_rt::spawn(reload::propose_at_start(
            member.clone(),
            spec.policy.clone(),
            spec.data_dir.clone(),
        ));
        let sessions = Sessions::new(
            spec.neighbors.clone(),
            arbiters.iter().map(Arbiter::handle).collect(),
            rib.clone(),
            member.clone(),
        );
        // The sessions of before the restart open as a restarting speaker.
        sessions.restarted(&stale);
        let reloader = spec.config_file.clone().map(|(path, running)| {
            Arc::new(reload::Reloader::new(
                path,
                running,
                member.clone(),
                sessions.clone(),
            ))
        });
        if let Some(r) = &reloader {
            actix_rt::spawn(reload::on_hangup(r.clone()));
        }
        if let Some(address) = spec.api {
            let state = crate::api::ApiState {
                sessions: sessions.clone(),
                member: member.clone(),
                fib: fib.as_ref().map(|f| f.stats.clone()),
                token: spec.api_token.clone(),
                read_token: spec.api_read_token.clone(),
                reloader: reloader.clone(),
                fatal_exits,
                digest: Default::default(),
            };
            // On a thread of its own, off the one Raft and the log's
            // apply run on (issue 19 §4): a slow request never holds up a
            // heartbeat. Every read of the whole table (the digest, the
            // metrics' counts, the MRT dump, RIB queries) takes the state
            // machine's lock a page at a time (`api::pages`): reads of the
            // whole table under the lock, polled every 100 ms, kept the
            // apply thread waiting for seconds (a member lost contact with
            // the majority for 17 s in cluster_continuity).
            let api_thread = Arbiter::new();
            api_thread.spawn(crate::api::serve(address, spec.api_tls.clone(), state));
        }
        // What a kill of this member left on its interfaces goes before
        // any session of ours starts.
        crate::service::release_at_start(spec.neighbors.iter().filter_map(|n| n.service.as_ref()));
        actix_rt::spawn(sessions::sweep_service_addresses(sessions.clone()));
        // The replicated owner map says which sessions run here.
        actix_rt::spawn(sessions::follow_owners(member.clone(), sessions.clone()));
        actix_rt::spawn(sessions::keep_fenced(member.clone(), sessions.clone()));
        for addr in &spec.listen {
            let peers = sessions.clone();
            match listener::bind(*addr) {
                Ok(l) => {
                    actix_rt::spawn(listener::serve(l, peers));
                }
                // Not on an interface yet (a link still down, an IPv6
                // address still tentative): listen once it is; the
                // sessions' own connections need no listener meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                    warn!(%addr, error = %e, "cannot listen yet; retrying every second");
                    actix_rt::spawn(listener::serve_once_bound(*addr, peers));
                }
                Err(e) => return Err(e).with_context(|| format!("cannot listen on {addr}")),
            }
        }
        info!(
            neighbors = sessions.neighbors().len(),
            arbiters = cores,
            "reflex running"
        );
        // A signal, or Raft stopped for good (a corrupt log entry, a store
        // that cannot be written): then this member can commit nothing,
        // and runs no session on a RIB that no longer moves.
        let fatal = {
            let member = member.clone();
            async move { member.fatal_error().await }
        };
        let fatal = tokio::select! {
            () = shutdown => None,
            why = fatal => Some(why),
        };
        if let Some(why) = &fatal {
            error!(reason = %why, "the replicated RIB stopped for good: sessions close as a restart of ours (the neighbours keep our routes), then this member exits");
            fatal_record::record(&spec.data_dir, &format!("the replicated RIB stopped for good: {why}"));
        }
        if let Some(f) = &fib {
            // Our routes stay in the kernel (or all go, at the FIB's stop),
            // not withdrawn one by one as the sessions end.
            fib::feed::lock(&f.feed).freeze();
        }
        // A restart of ours (RFC 4724 §4.1): the neighbours keep our routes
        // where they can (RFC 8538, or a close without NOTIFICATION to a
        // helper), and the RIB keeps theirs (marked stale when this member,
        // or the one given its sessions, runs them next).
        info!("shutting down: sessions closed as a graceful restart");
        // A drain writes through Raft: not with a Raft that stopped.
        if fatal.is_none() {
            sessions::drain(&member, &sessions, DRAIN_TIMEOUT).await;
        }
        let closing = sessions.leave_all("reflex restarting");
        for s in &closing {
            let _ = sessions::ask_status(s).await;
        }
        tokio::time::sleep(SHUTDOWN_GRACE).await;
        sessions.services.sweep(crate::service::Sweep::All);
        drop(rib);
        if fatal.is_some() {
            // The store failed: after an I/O error sled can wait for ever
            // in the flush its drop makes. What was committed is on disk
            // already; the process exits without closing it.
            std::mem::forget(member);
        } else if let Some(m) = Arc::into_inner(member) {
            m.shutdown().await;
        }
        if let Some(fib) = fib {
            // Blocking: the kernel's answers for what is still pending.
            let _ = tokio::task::spawn_blocking(move || fib.stop()).await;
        }
        for a in &arbiters {
            a.stop();
        }
        System::current().stop();
        match fatal {
            None => Ok::<(), anyhow::Error>(()),
            Some(why) => Err(anyhow::anyhow!(
                "the replicated RIB stopped for good: {why}"
            )),
        }
    })
}

/// Opens the member's store and starts its Raft. A store that was never
/// part of a cluster makes a one-member cluster of this node (the embedded
/// default). Peers the RIB still holds as up from before a restart are
/// taken down gracefully (RFC 4724 helper): their paths stay, stale, so
/// the table is whole again before anyone re-sends it, and go only if the
/// peer does not come back and send End-of-RIB in time.
async fn start_member(
    spec: &DaemonSpec,
    routing: SharedRouting,
    fib: Option<&Fib>,
) -> anyhow::Result<(Member, Vec<speaker::rib::PeerId>)> {
    let me = &spec.member;
    let dir = spec.data_dir.join("raft");
    let hook = Box::new(DispatchHook {
        routing,
        fib: fib.map(|f| (f.feed.clone(), f.resolver())),
    });
    let transport = match &me.raft {
        None => Transport::Alone,
        Some((listen, files)) => Transport::Tls {
            listen: *listen,
            tls: consensus::tls::Tls::load(files.clone())
                .context("cannot read the cluster's TLS files")?,
        },
    };
    let member = Member::start(me.id, transport, &dir, spec.rib.clone(), hook)
        .await
        .with_context(|| format!("cannot start the replicated RIB in {}", dir.display()))?;
    let initialized = member
        .raft
        .is_initialized()
        .await
        .map_err(|e| anyhow::anyhow!("raft: {e}"))?;
    if !initialized && me.bootstrap {
        member
            .init(
                [(me.id, member.addr.unwrap_or(ALONE))]
                    .into_iter()
                    .collect(),
            )
            .await
            .context("cannot make a one-member cluster")?;
    }
    let leader = member.leader_within(Duration::from_secs(5)).await;
    let stopped = |member: &Member| match member.fatal() {
        Some(why) => Err(anyhow::anyhow!(
            "the replicated RIB in {} stopped for good: {why}",
            dir.display()
        )),
        None => Ok(()),
    };
    stopped(&member)?;
    // The committed entries of before the restart are applied again after
    // the election: wait for them (when this member leads; a follower's
    // replay is not waited for) before reading who was up.
    if leader == Some(me.id)
        && let Err(e) = member.raft.ensure_linearizable().await
    {
        stopped(&member)?;
        warn!(error = %e, "cannot wait for the log's replay");
    }
    // The peers whose sessions ran here before the restart (all of them
    // in a one-member cluster that never assigned owners).
    let (restored, mut stale) = member.read(|a| {
        let mine =
            |p: &speaker::rib::PeerId| a.owners.is_empty() || a.owners.get(p) == Some(&me.id);
        let stale: Vec<_> = a.rib.peers_up().into_iter().filter(mine).collect();
        (a.rib.loc_rib_len(), stale)
    });
    if !stale.is_empty() {
        // Until a leader takes the write: a member started while the
        // leader is out of its reach (or the majority is down) waits for
        // it rather than exiting (a supervisor would only start it again
        // into the same wait; the fault campaign's seed 69).
        let mut again = Duration::from_millis(500);
        let r = loop {
            let commands = stale
                .iter()
                .map(|peer| RibCommand::PeerDownGraceful { peer: *peer })
                .collect();
            // A follower reads a replica that may be behind: under its
            // lease epochs, the write is refused for a session another
            // member took over meanwhile (its session is up there).
            let fence = member.read(|a| a.leases.fence(me.id, stale.iter().copied()));
            match member.write(Request::fenced(commands, fence)).await {
                Ok(r) => break r,
                Err(e) => {
                    stopped(&member)?;
                    warn!(
                        error = %e,
                        peers = stale.len(),
                        retry_in = ?again,
                        "cannot mark the peers of before the restart stale yet (no leader within reach?): waiting for one"
                    );
                    tokio::time::sleep(again).await;
                    again = (again * 2).min(Duration::from_secs(5));
                }
            }
        };
        if r.fenced > 0 {
            info!(
                refused = r.fenced,
                "sessions of before the restart run on other members now"
            );
            // Those are not waited for (route selection deferral, their
            // stale paths): they will not come back here. The replica, once
            // it applied our write, says which they are (a wiped member
            // restored from a snapshot found owners the leader changed).
            let _ = member
                .raft
                .wait(Some(Duration::from_secs(5)))
                .applied_index_at_least(Some(r.index), "the stale marks applied")
                .await;
            let elsewhere: Vec<_> = member.read(|a| {
                stale
                    .iter()
                    .copied()
                    .filter(|p| !a.owners.is_empty() && a.owners.get(p) != Some(&me.id))
                    .collect()
            });
            stale.retain(|p| !elsewhere.contains(p));
            info!(peers = ?elsewhere, "not waited for: their sessions run on other members");
        }
    }
    info!(
        member = me.id,
        leader = ?leader,
        raft = ?member.addr,
        loc_rib = restored,
        "replicated RIB ready"
    );
    Ok((member, stale))
}

/// How long the paths of a peer that was up before a restart are kept if
/// it does not come back (RFC 4724's default restart time is 120 s).
const RESTART_KEEP: Duration = Duration::from_secs(120);

/// After [`RESTART_KEEP`], the stale paths of the peers of before a restart
/// that are still not back go (a peer that is back sweeps its own with
/// End-of-RIB).
pub(super) fn expire_later(member: Arc<Member>, peers: Vec<speaker::rib::PeerId>) {
    if peers.is_empty() {
        return;
    }
    actix_rt::spawn(async move {
        tokio::time::sleep(RESTART_KEEP).await;
        let (peers, fence) = member.read(|a| {
            let up = a.rib.peers_up();
            let peers: Vec<_> = peers.into_iter().filter(|p| !up.contains(p)).collect();
            let fence = a.leases.fence(member.id, peers.iter().copied());
            (peers, fence)
        });
        let commands: Vec<RibCommand> = peers
            .into_iter()
            .map(|peer| RibCommand::RestartExpired { peer })
            .collect();
        if !commands.is_empty()
            && let Err(e) = member.write(Request::fenced(commands, fence)).await
        {
            tracing::warn!(error = %e, "cannot drop the stale paths of peers that did not come back");
        }
    });
}

/// Proposes a re-run of the decision process for the destinations whose
/// next hops are under prefixes where the kernel's routes changed; changes
/// that arrive while one is written go together in the next.
async fn reresolve(
    member: Arc<Member>,
    mut changes: tokio::sync::mpsc::UnboundedReceiver<Vec<speaker::wire::Prefix>>,
) {
    // What failed to be written is kept and written again with what came
    // since (resolving again is harmless, so a write that did commit and
    // was reported failed costs nothing): a kernel change is never lost
    // to an election.
    let mut prefixes: Vec<speaker::wire::Prefix> = Vec::new();
    loop {
        if prefixes.is_empty() {
            match changes.recv().await {
                Some(p) => prefixes = p,
                None => return,
            }
        }
        while let Ok(more) = changes.try_recv() {
            prefixes.extend(more);
        }
        prefixes.sort_by_key(|p| (p.addr(), p.len()));
        prefixes.dedup();
        let n = prefixes.len();
        let command = RibCommand::Reresolve {
            prefixes: prefixes.clone(),
        };
        match member.write(Request::new(vec![command])).await {
            Ok(_) => prefixes.clear(),
            Err(_) if member.fatal().is_some() => return,
            Err(e) => {
                warn!(error = %e, prefixes = n, "cannot have next hops resolved again yet; trying again in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
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
