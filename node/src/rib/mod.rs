//! The sessions' way into the RIB. Sessions send the RIB actor their
//! commands; what the RIB then does is sent to the sessions by
//! [`hook::DispatchHook`]. The RIB is replicated (a one-member cluster
//! without `[cluster]` in the configuration: the same code path):
//! commands are gathered while writes are in flight into the next write
//! (many paths per log entry) and committed through Raft
//! ([`consensus::Member::write`]); every member applies committed entries
//! to its RIB, and the hook runs in that apply.

pub mod coming_up;
pub mod hook;
pub mod table;

use crate::session::PeerSession;
use actix::prelude::*;
use consensus::Member;
use hook::{SharedRouting, lock};
use speaker::rib::{PeerId, PeerInfo, RibCommand};
use speaker::wire::CodecContext;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use storage::{Request, WriteId};
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

/// Says that routes were left out of what is sent (`peer`'s, or a
/// group's) because no UPDATE of the neighbours' message size holds them:
/// they are withdrawn instead (RFC 8654 §4).
fn oversized(routes: usize, peer: Option<PeerId>) {
    if routes > 0 {
        warn!(
            routes,
            peer = peer.map(|p| p.0),
            "routes whose UPDATE is too large for the neighbours' message size: withdrawn, not sent (RFC 8654 §4)"
        );
    }
}

/// `peer`'s UPDATEs, the routes left out of them logged ([`oversized`]).
fn sendable(packed: speaker::dispatch::Packed, peer: PeerId) -> Vec<bytes::Bytes> {
    oversized(packed.oversized, Some(peer));
    packed.msgs
}

/// What a session tells the RIB.
#[derive(Debug)]
pub enum SessionCommand {
    /// Established: the peer, how to encode for it, and whether it
    /// negotiated graceful restart (then it sends End-of-RIB, which a
    /// restarting member waits for: RFC 4724 §4.1).
    Up {
        info: Box<PeerInfo>,
        codec: CodecContext,
        graceful_restart: bool,
        /// A make-before-break move's session ([`crate::session::RibRole::joining`]).
        joining: bool,
    },
    Rib(RibCommand),
}

/// A batch of commands from one session, in order; the sender hears
/// (`room`) once they are queued, or, while too much waits for the log,
/// once there is room again. Sent with `do_send`: never held back by a
/// full mailbox, so never lost with a session that stops meanwhile.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Commands(pub Vec<SessionCommand>, pub oneshot::Sender<()>);

/// A session announces itself, so the RIB can send it UPDATEs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Register(pub PeerId, pub Addr<PeerSession>);

/// A peer asked for its routes again (ROUTE-REFRESH): its Adj-RIB-Out of
/// `family` is sent again, in order with every other UPDATE to it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refresh {
    pub peer: PeerId,
    pub family: speaker::wire::Family,
    /// RFC 7313 negotiated: the table goes between BoRR and EoRR.
    pub enhanced: bool,
}

/// The session of this peer has room for the next page of the table it
/// is being sent ([`table`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct NextPage(pub PeerId);

/// Paths waiting for the log beyond which sessions wait before sending
/// more: a burst is written in large entries without growing memory
/// without bound.
const PENDING_PATHS: usize = 16 * 1024;

/// How long to wait before writing again after a failed write (no leader
/// during an election).
const RETRY: Duration = Duration::from_millis(200);

/// Writes in flight at once on the leader: the next entry is appended
/// (and flushed) while the previous one is applied.
const IN_FLIGHT: usize = 2;

pub struct RibActor {
    routing: SharedRouting,
    /// The RIB is the state machine of this member's Raft.
    member: Arc<Member>,
    /// Commands not yet written, in arrival order.
    pending: Vec<RibCommand>,
    pending_paths: usize,
    /// Writes submitted and not yet answered.
    in_flight: usize,
    /// This process as a writer of the log: random, so no two processes
    /// (nor two runs of one) share it.
    writer: u64,
    /// The number of the next write made ([`storage::writes`]).
    next_seq: u64,
    /// Failed writes, by write number: written again, in that order and
    /// before anything newer, once nothing is in flight.
    failed: BTreeMap<u64, Request>,
    /// Failed writes to write again first, with their numbers.
    retry: VecDeque<(u64, Request)>,
    /// Sessions waiting for room.
    waiting: VecDeque<oneshot::Sender<()>>,
}

/// A random writer id: std's hasher keys are random per process.
fn random_writer() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}

impl RibActor {
    pub fn new(member: Arc<Member>, routing: SharedRouting) -> RibActor {
        RibActor {
            routing,
            member,
            pending: Vec::new(),
            pending_paths: 0,
            in_flight: 0,
            writer: random_writer(),
            next_seq: 0,
            failed: BTreeMap::new(),
            retry: VecDeque::new(),
            waiting: VecDeque::new(),
        }
    }

    /// Writes what is pending, as long as writes may be added.
    fn write(&mut self, ctx: &mut Context<Self>) {
        if !self.failed.is_empty() {
            if self.in_flight > 0 {
                return;
            }
            // Everything that failed goes first, in the order it came.
            self.retry.extend(std::mem::take(&mut self.failed));
        }
        let member = &self.member;
        // A second write only on the leader: there, `Member::write` hands
        // the entry to Raft as soon as it runs, so entries keep the order
        // of their writes; a forwarded write may wait and be overtaken.
        let limit = if member.leader() == Some(member.id) {
            IN_FLIGHT
        } else {
            1
        };
        while self.in_flight < limit {
            let (seq, req) = match self.retry.pop_front() {
                Some(r) => r,
                None if !self.pending.is_empty() => {
                    self.pending_paths = 0;
                    // In the stored form once: the log, every follower and
                    // a retry share it (clones are reference counts). Its
                    // write id makes a retry of a write that did commit a
                    // copy every member skips.
                    let write = WriteId {
                        writer: self.writer,
                        seq: self.next_seq,
                    };
                    self.next_seq += 1;
                    let commands = std::mem::take(&mut self.pending);
                    let fence = self.fence(&commands);
                    let req = Request::new(commands).stored_as(write, fence);
                    (write.seq, req)
                }
                None => break,
            };
            self.submit(seq, req, ctx);
        }
    }

    /// The lease epochs this member holds for the sessions `commands`
    /// come from: a neighbour with a lease this member no longer holds
    /// gets epoch 0, which no lease has (its commands are refused).
    fn fence(&self, commands: &[RibCommand]) -> storage::Fence {
        let peers: BTreeSet<PeerId> = commands.iter().filter_map(RibCommand::peer).collect();
        self.member.read(|a| a.leases.fence(self.member.id, peers))
    }

    fn submit(&mut self, seq: u64, req: Request, ctx: &mut Context<Self>) {
        let member = self.member.clone();
        self.in_flight += 1;
        ctx.spawn(
            async move {
                let started = std::time::Instant::now();
                let r = member.write(req.clone()).await;
                tracing::debug!(
                    write = seq,
                    commands = req.len(),
                    micros = started.elapsed().as_micros() as u64,
                    "RIB write committed"
                );
                (r, req)
            }
            .into_actor(self)
            .map(move |(r, req), act, ctx| {
                act.in_flight -= 1;
                let retry = match &r {
                    // A write whose outcome is unknown (the leader changed
                    // under it) is written again: if the first copy did
                    // commit, its write id makes every member skip this one.
                    Err(e) => {
                        warn!(error = %e, commands = req.len(), "RIB write failed; retrying");
                        true
                    }
                    // Committed before an earlier write of ours that is
                    // being written again: skipped, written after it.
                    Ok(r) if r.early => {
                        debug!(
                            write = seq,
                            "RIB write overtook an earlier one; writing it again"
                        );
                        true
                    }
                    Ok(r) => {
                        if r.fenced > 0 {
                            warn!(
                                refused = r.fenced,
                                "RIB commands refused: this member no longer holds the session"
                            );
                        }
                        false
                    }
                };
                if retry {
                    act.failed.insert(seq, req);
                    if act.in_flight == 0 {
                        ctx.run_later(RETRY, |act, ctx| act.write(ctx));
                    }
                    return;
                }
                while act.pending_paths < PENDING_PATHS {
                    let Some(w) = act.waiting.pop_front() else {
                        break;
                    };
                    let _ = w.send(());
                }
                act.write(ctx);
            }),
        );
    }
}

impl Actor for RibActor {
    type Context = Context<Self>;
}

impl Handler<Register> for RibActor {
    type Result = ();
    fn handle(&mut self, Register(id, addr): Register, _: &mut Context<Self>) {
        lock(&self.routing).sessions.insert(id, addr);
    }
}

impl Handler<Commands> for RibActor {
    type Result = ();
    fn handle(&mut self, Commands(cmds, room): Commands, ctx: &mut Context<Self>) {
        let mut not_awaited = Vec::new();
        let mut out: Vec<RibCommand> = Vec::with_capacity(cmds.len());
        for c in cmds {
            match c {
                SessionCommand::Up {
                    info,
                    codec,
                    graceful_restart,
                    joining,
                } => {
                    if !graceful_restart {
                        not_awaited.push(info.id);
                    }
                    lock(&self.routing).coming_up.proposed(info.id, codec);
                    // Another member's session with the neighbour is up:
                    // its paths stay, as stale, until the neighbour's
                    // End-of-RIB on this one (a PeerUp alone would take
                    // them down first).
                    if joining {
                        out.push(RibCommand::PeerDownGraceful { peer: info.id });
                    }
                    out.push(RibCommand::PeerUp(*info));
                }
                SessionCommand::Rib(cmd) => out.push(cmd),
            }
        }
        let cmds = out;
        if !not_awaited.is_empty() && lock(&self.routing).deferral.is_some() {
            // The state machine's lock first, as in apply.
            self.member.read(|applied| {
                let mut routing = lock(&self.routing);
                for peer in not_awaited {
                    routing.not_awaited(&applied.rib, peer);
                }
            });
        }
        for cmd in cmds {
            self.pending_paths += cmd.paths().max(1);
            self.pending.push(cmd);
        }
        self.write(ctx);
        if self.pending_paths < PENDING_PATHS {
            let _ = room.send(());
        } else {
            if self.waiting.is_empty() {
                info!(
                    paths = self.pending_paths,
                    "the RIB is full (paths waiting for the log): sessions wait for room, reading nothing meanwhile"
                );
            }
            self.waiting.push_back(room);
        }
    }
}

impl RibActor {
    /// Starts the restarting speaker's deferral (RFC 4724 §4.1): nothing
    /// is sent until every one of `peers` (up before the restart) has sent
    /// End-of-RIB, or `timeout` has passed.
    pub fn defer(&self, peers: &[PeerId], timeout: Duration, ctx: &mut Context<Self>) {
        if peers.is_empty() {
            return;
        }
        {
            let awaited = self.member.read(|applied| {
                peers
                    .iter()
                    .map(|p| {
                        let families = applied
                            .rib
                            .peer(*p)
                            .map(|i| i.families.iter().copied().collect())
                            .unwrap_or_default();
                        (*p, families)
                    })
                    .collect()
            });
            lock(&self.routing).deferral = Some(hook::Deferral { awaited });
        }
        tracing::info!(
            neighbors = peers.len(),
            timeout_secs = timeout.as_secs(),
            "deferring route selection until the neighbours of before the restart send End-of-RIB"
        );
        ctx.run_later(timeout, |act, _| {
            act.member.read(|applied| {
                lock(&act.routing).end_deferral(&applied.rib, "selection deferral timer");
            });
        });
    }
}

/// Start the restarting speaker's deferral ([`RibActor::defer`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Defer {
    pub peers: Vec<PeerId>,
    pub timeout: Duration,
}

impl Handler<Defer> for RibActor {
    type Result = ();
    fn handle(&mut self, d: Defer, ctx: &mut Context<Self>) {
        self.defer(&d.peers, d.timeout, ctx);
    }
}

impl Handler<Refresh> for RibActor {
    type Result = ();
    fn handle(&mut self, r: Refresh, _: &mut Context<Self>) {
        // Under the state machine's lock (a page at a time): no apply,
        // nor its UPDATEs to the session, comes between a page's read
        // and its sending.
        self.member.read(|applied| {
            let mut routing = lock(&self.routing);
            let routing = &mut *routing;
            // The session's PeerUp is still on its way through the log:
            // the request overtook it; answered after the table the PeerUp
            // starts (else it would be lost, and a member joining a move
            // of this neighbour would wait for its EoRR until the move
            // times out).
            if routing.coming_up.contains(r.peer) {
                routing
                    .tables
                    .refresh_after_up(r.peer, r.family, r.enhanced);
                tracing::info!(
                    peer = r.peer.0,
                    family = %r.family,
                    "route refresh asked before the session's PeerUp applied: answered after its table"
                );
                return;
            }
            let (Some(ctx), Some(session)) =
                (routing.contexts.get(&r.peer), routing.sessions.get(&r.peer))
            else {
                return;
            };
            let first = routing
                .tables
                .refresh(&applied.rib, r.peer, r.family, r.enhanced, ctx);
            tracing::info!(
                peer = r.peer.0,
                family = %r.family,
                started = first.is_some(),
                "route refresh asked: the table goes again, in pages as the session takes them"
            );
            if let Some(page) = first {
                session.do_send(page);
            }
        });
    }
}

impl Handler<NextPage> for RibActor {
    type Result = ();
    fn handle(&mut self, NextPage(peer): NextPage, ctx: &mut Context<Self>) {
        // After a turn of the runtime: a session on another thread asks
        // for the next page within microseconds, and actix handles what
        // its mailbox holds without yielding, so a table answered page
        // after page in one go held up Raft, which shares this thread, for
        // seconds (a member lost contact with the majority in a move).
        ctx.spawn(
            tokio::task::yield_now()
                .into_actor(self)
                .map(move |(), act, _| act.next_page(peer)),
        );
    }
}

impl RibActor {
    fn next_page(&self, peer: PeerId) {
        self.member.read(|applied| {
            let mut routing = lock(&self.routing);
            let routing = &mut *routing;
            let (Some(ctx), Some(session)) =
                (routing.contexts.get(&peer), routing.sessions.get(&peer))
            else {
                routing.tables.forget(peer);
                return;
            };
            if let Some(page) = routing.tables.next_page(&applied.rib, peer, ctx) {
                session.do_send(page);
            }
        });
    }
}
