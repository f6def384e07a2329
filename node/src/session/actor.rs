//! The session actor: feeds socket bytes, timer expiries and commands into
//! the FSM and carries out what it asks (connect, write, disconnect).

use super::transport::{WriteError, Writer, is_notification};
use crate::rib::{Commands, NextPage, Refresh, Register, RibActor, SessionCommand};
use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use speaker::fsm::collision::{Survivor, resolve};
use speaker::fsm::mrai::{Mrai, Offer};
use speaker::fsm::{AdminEvent, DownReason, Event, Session, SessionConfig, State, TcpEvent};
use speaker::policy::{
    Crossing, ImportFilter, LimitAction, PrefixCounter, PrefixLimit, ReceivedRoutes, RouteMap,
};
use speaker::rib::{NextHopSelf, PeerId, PeerInfo, RibCommand};
use speaker::wire::notification::subcode;
use speaker::wire::route_refresh::{RefreshSubtype, RouteRefresh};
use speaker::wire::{Family, Message, Notification};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_util::io::ReaderStream;
use tracing::{debug, info, warn};

/// How long an outgoing connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Octets queued for the peer below which the next page of a table being
/// sent is asked for: enough that the socket never runs dry while the
/// RIB packs it, small beside the output buffer's bound.
const PAGE_ROOM: u64 = 4 << 20;

/// What an observer (API, tests, the RIB later) learns about a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionStatus {
    pub peer: SocketAddr,
    pub state: State,
    pub updates_received: u64,
    pub prefixes_received: u64,
    /// Received prefixes import policy denied (a route-map, or RFC 8212).
    pub prefixes_denied: u64,
    pub last_error: Option<String>,
    /// UPDATE messages handed to the connection for the peer.
    pub updates_sent: u64,
    /// Times the session reached Established (flaps: this, less one).
    pub established_transitions: u64,
    /// When the session last reached Established, while it is.
    pub established_at: Option<Instant>,
    /// What the OPENs agreed, while Established.
    pub negotiated: Option<Box<speaker::fsm::Negotiated>>,
    /// The table this session was sent when it came up, and its
    /// End-of-RIB, are written to the socket.
    pub table_sent: bool,
    /// NOTIFICATIONs that ended sessions, by (code, subcode).
    pub notifications_sent: BTreeMap<(u8, u8), u64>,
    pub notifications_received: BTreeMap<(u8, u8), u64>,
    /// Octets queued for the peer and not yet taken by its socket (the
    /// write queue, the backlog and what MRAI holds).
    pub output_octets: u64,
    /// The bound on `output_octets` (`output-buffer`).
    pub output_limit: u64,
    /// Sessions closed because the peer did not take what was sent to it:
    /// the output buffer over its bound (Cease 6/8), or a write timeout.
    pub output_resets: u64,
}

/// Where a session sits in the RIB.
#[derive(Clone, Debug, PartialEq)]
pub struct RibRole {
    pub id: PeerId,
    pub rr_client: bool,
    /// The CLUSTER_ID for this neighbour, when it differs from the node's.
    pub cluster_id: Option<Ipv4Addr>,
    /// MinRouteAdvertisementInterval (RFC 4271 §9.2.1.1): UPDATEs to this
    /// peer leave at most once per interval; zero sends at once.
    pub mrai: Duration,
    /// The import route-map, which this session runs on what the
    /// neighbour sends, before the log; its name goes in the PeerUp.
    pub import: Option<Arc<RouteMap>>,
    /// The export route-map's name, carried in the PeerUp (replicated
    /// with it): the RIB runs it per update group.
    pub export: Option<String>,
    /// An eBGP neighbour (by configuration), and whether RFC 8212 holds.
    pub ebgp: bool,
    pub ebgp_requires_policy: bool,
    pub local_as: u32,
    /// Keep the routes as received (soft reconfiguration inbound): an
    /// import change re-runs over them instead of a ROUTE-REFRESH.
    pub soft_reconfiguration: bool,
    /// The most paths the neighbour may hold announced (RFC 4486 §4),
    /// counted in the session before import.
    pub max_prefix: Option<PrefixLimit>,
    /// Brought up beside another member's session with the neighbour (a
    /// make-before-break move): the other's paths stay, as stale, until
    /// the neighbour's End-of-RIB on this one.
    pub joining: bool,
    /// The most octets queued for the peer (`output-buffer`): past it
    /// the session is closed with Cease / Out of Resources (RFC 4486).
    pub output_buffer: u64,
    /// How long the socket may take nothing before the connection is
    /// closed (`write-timeout`).
    pub write_timeout: Duration,
}

impl RibRole {
    /// The import filter this role gives the session with `neighbor`.
    fn import_filter(&self, neighbor: IpAddr) -> ImportFilter {
        ImportFilter::new(
            self.import.clone(),
            self.ebgp,
            self.ebgp_requires_policy,
            neighbor,
            self.local_as,
        )
    }
}

/// One peer session.
pub struct PeerSession {
    peer: SocketAddr,
    /// The source address of our connections (`local-address`); `None`:
    /// the kernel's choice.
    bind: Option<IpAddr>,
    fsm: Session,
    role: RibRole,
    /// Import policy, run on every UPDATE before its routes go to the log.
    import: ImportFilter,
    /// Whether this session's first denial was logged.
    denial_logged: bool,
    /// What the neighbour sent, before import (soft reconfiguration).
    received: Option<ReceivedRoutes>,
    /// The paths the neighbour holds announced, against its max-prefix.
    prefixes: Option<PrefixCounter>,
    rib: Addr<RibActor>,
    local_addr: Option<SocketAddr>,
    /// Established and known to the RIB.
    up: bool,
    /// Commands for the RIB gathered while handling one input.
    pending: Vec<SessionCommand>,
    /// A batch of `pending` is on its way to the RIB: the next waits for
    /// it (the RIB takes them in order), and reading the socket pauses
    /// meanwhile (a busy RIB slows this session's reading down rather than
    /// queueing without bound), while timers and messages go on (its
    /// KEEPALIVEs are sent, its hold timer runs).
    rib_in_flight: bool,
    /// Opens (`true`) and closes the reader of the current connection.
    read_gate: Option<tokio::sync::watch::Sender<bool>>,
    /// Encoded UPDATEs waiting for room in the write queue.
    backlog: VecDeque<Bytes>,
    /// Octets handed to this connection (its writer or the backlog).
    queued_octets: u64,
    /// The RIB has more pages of a table for this session
    /// ([`crate::rib::table`]): asked for once there is room.
    table_more: bool,
    /// Waiting for room before asking for the next page, on this
    /// connection (its generation).
    page_wait: Option<u64>,
    /// The table of a session coming up, while the RIB pages it: its
    /// pages and the UPDATEs sent meanwhile, in order, written whole at
    /// its last page.
    table_hold: Option<Vec<Bytes>>,
    waiting_for_room: bool,
    /// RFC 4724 restart timer while the RIB keeps a gracefully-down peer's
    /// paths, then RFC 9494's long-lived stale timers, one per family.
    restart: Vec<SpawnHandle>,
    /// Whether the current connection is the one we initiated (§6.8).
    outgoing: bool,
    /// A connection from the peer that arrived while ours was in OpenSent:
    /// held until ours learns the peer's BGP identifier (§6.8).
    pending_incoming: Option<TcpStream>,
    /// An incoming connection's OPEN is being read (its identifier).
    peeking: bool,
    /// UPDATEs held back by MRAI (RFC 4271 §9.2.1.1), and when the
    /// last batch left.
    mrai: Mrai,
    /// Bumped per connection, so events of an old one are recognised.
    generation: u64,
    writer: Option<Writer>,
    reader: Option<SpawnHandle>,
    timer: Option<SpawnHandle>,
    inbuf: BytesMut,
    status: SessionStatus,
    /// Every event of the session is logged in it (the neighbour's
    /// address as a field).
    span: tracing::Span,
    /// The start a reset scheduled.
    reset_start: Option<SpawnHandle>,
    /// Left ([`Leave`]): the RIB hears nothing of the end.
    leaving: bool,
    /// Messages handed to this connection's writer (queued or in the
    /// backlog), and how many of them make up the table it was sent on
    /// coming up ([`TableSent`]).
    queued: u64,
    table_mark: Option<u64>,
    /// A joining session's proof that the neighbour has taken in its
    /// table ([`TakenIn`]).
    taken_in: TakenIn,
    /// The NOTIFICATION that ends the connection, sent when it closes.
    notification: Option<Bytes>,
}

/// Whether the neighbour of a joining session (a make-before-break move)
/// has taken in the table we sent it. The table written to the socket is
/// not yet the table read and installed by the neighbour (a busy one
/// has taken a full table in over a minute late), and the old owner's
/// session ends with the move. Where the neighbour negotiated enhanced
/// route refresh (RFC 7313), the session asks it for its routes once the
/// table is written: it reads its socket in order, so its BoRR (or EoRR)
/// comes after it has read all of the table. Only then does the move
/// complete, and the old owner can close its session with a Hard Reset
/// (RFC 8538), so the neighbour keeps no stale copy of it that would hide
/// a later withdrawal for the restart time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum TakenIn {
    /// Nothing to wait for (not joining, or no enhanced route refresh):
    /// the table written counts.
    #[default]
    NotAsked,
    /// Asked once the table is written; the families not yet answered.
    Awaiting(BTreeSet<Family>),
    /// Every family answered.
    Answered,
}

/// How long a reset session stays down before it starts again.
const RESET_WAIT: Duration = Duration::from_secs(1);

/// How long the OPEN of a colliding incoming connection is waited for.
const PEEK_TIMEOUT: Duration = Duration::from_secs(10);

/// The BGP identifier of the OPEN at the start of what `stream` has
/// received, without taking it out (RFC 4271 §4.2: marker 16, length 2,
/// type 1 = OPEN, version 1, my AS 2, hold time 2, then the identifier).
async fn peek_open_id(stream: &TcpStream) -> Option<Ipv4Addr> {
    let mut buf = [0u8; 29];
    loop {
        let n = stream.peek(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        if n >= 19 && buf[18] != 1 {
            return None;
        }
        if n == buf.len() {
            return Some(Ipv4Addr::new(buf[24], buf[25], buf[26], buf[27]));
        }
        // Not all there yet: wait for more.
        stream.readable().await.ok()?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An accepted connection from this peer (the listener found its address).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Incoming(pub TcpStream);

/// Stop the session with a NOTIFICATION (a Cease, usually). `hard`: the
/// peer must not keep our routes, so with the N bit negotiated it is sent
/// as a Hard Reset (RFC 8538 §3, §5).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown {
    pub notification: Notification,
    pub hard: bool,
}

/// Stop the session as a restart of ours (RFC 4724 §4.1, RFC 8538): this
/// member stops, or another member of the cluster runs the session now.
/// The peer is told in the way that keeps our routes with it where it can
/// ([`speaker::fsm::AdminEvent::StopGracefully`], the message in the
/// Cease), and the RIB hears nothing of the end: the neighbour's paths are
/// marked stale by whoever runs its session next (PeerDown, written after
/// a new owner's PeerUp, would take its routes away while its session is
/// up).
///
/// `moved`: the neighbour's session runs on another member now, which
/// has had it answer a ROUTE-REFRESH after its table ([`TakenIn`]):
/// where this session negotiated enhanced route refresh (so the new one
/// waited for that answer), it ends with a Hard Reset instead (RFC 8538;
/// a Cease without the N bit), so the neighbour keeps no stale copy of
/// its routes: the new session's are all there, and a stale copy would
/// hide a later withdrawal until the restart time runs out. The RIB hears
/// nothing of the end either way.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub message: String,
    pub moved: bool,
}

/// UPDATEs the RIB packed for this peer.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SendUpdates(pub Vec<Bytes>);

/// The import policy the replicated policy gives this neighbour (sent
/// when a policy version is applied). A change re-runs import over what
/// the peer sends again: we ask it for a ROUTE-REFRESH (RFC 2918).
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct ImportPolicy {
    pub map: Option<Arc<RouteMap>>,
    pub ebgp_requires_policy: bool,
}

/// Ask for the session's status.
#[derive(Message)]
#[rtype(result = "SessionStatus")]
pub struct Status;

#[derive(Message)]
#[rtype(result = "()")]
struct Chunk(u64, std::io::Result<Bytes>);

#[derive(Message)]
#[rtype(result = "()")]
struct WriteFailed(u64, String);

impl PeerSession {
    pub fn new(
        peer: SocketAddr,
        bind: Option<IpAddr>,
        config: SessionConfig,
        role: RibRole,
        rib: Addr<RibActor>,
    ) -> PeerSession {
        let import = role.import_filter(peer.ip());
        PeerSession {
            peer,
            bind,
            fsm: Session::new(config),
            rib,
            local_addr: None,
            up: false,
            pending: Vec::new(),
            rib_in_flight: false,
            read_gate: None,
            backlog: VecDeque::new(),
            queued_octets: 0,
            table_more: false,
            page_wait: None,
            table_hold: None,
            waiting_for_room: false,
            restart: Vec::new(),
            outgoing: false,
            pending_incoming: None,
            peeking: false,
            mrai: Mrai::new(role.mrai),
            generation: 0,
            writer: None,
            reader: None,
            timer: None,
            inbuf: BytesMut::new(),
            import,
            received: role.soft_reconfiguration.then(ReceivedRoutes::default),
            prefixes: role.max_prefix.clone().map(PrefixCounter::new),
            role,
            denial_logged: false,
            span: tracing::info_span!("session", neighbor = %peer.ip()),
            reset_start: None,
            leaving: false,
            queued: 0,
            table_mark: None,
            taken_in: TakenIn::NotAsked,
            notification: None,
            status: SessionStatus {
                peer,
                state: State::Idle,
                updates_received: 0,
                prefixes_received: 0,
                prefixes_denied: 0,
                last_error: None,
                updates_sent: 0,
                established_transitions: 0,
                established_at: None,
                negotiated: None,
                table_sent: false,
                notifications_sent: BTreeMap::new(),
                notifications_received: BTreeMap::new(),
                output_octets: 0,
                output_limit: 0,
                output_resets: 0,
            },
        }
    }

    /// After every input: write what the FSM queued, act on its events,
    /// re-arm the one timer.
    fn drive(&mut self, ctx: &mut Context<Self>) {
        // What the FSM queues to send goes out before its next event: an
        // event's handling can queue a NOTIFICATION (max-prefix's Cease)
        // ahead of the Disconnect that closes the writer.
        loop {
            while let Some(b) = self.fsm.poll_transmit() {
                self.write(b, ctx);
            }
            let Some(ev) = self.fsm.poll_event() else {
                break;
            };
            self.on_event(ev, ctx);
        }
        self.status.state = self.fsm.state();
        self.flush_pending(ctx);
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        if let Some(at) = self.fsm.poll_timeout() {
            let wait = at.saturating_duration_since(Instant::now());
            self.timer = Some(ctx.run_later(wait, |act, ctx| {
                let _session = act.span.clone().entered();
                act.timer = None;
                act.fsm.handle_timeout(Instant::now());
                act.drive(ctx);
            }));
        }
        if self.fsm.state() != State::OpenSent
            && let Some(stream) = self.pending_incoming.take()
        {
            self.take_incoming(stream, ctx);
        }
    }

    /// Sends what is pending to the RIB, unless a batch is on its way: then
    /// once it arrived. Reading pauses until the RIB took everything.
    fn flush_pending(&mut self, ctx: &mut Context<Self>) {
        if self.rib_in_flight {
            return;
        }
        if self.pending.is_empty() {
            self.open_reader(true);
            return;
        }
        self.rib_in_flight = true;
        self.open_reader(false);
        let cmds = std::mem::take(&mut self.pending);
        let (room, has_room) = tokio::sync::oneshot::channel();
        self.rib.do_send(Commands(cmds, room));
        ctx.spawn(
            async move {
                // The RIB gone answers too (an error): nothing to wait for.
                let _ = has_room.await;
            }
            .into_actor(self)
            .map(|(), act, ctx| {
                act.rib_in_flight = false;
                act.flush_pending(ctx);
            }),
        );
    }

    /// Lets the reader of the connection go on (`true`) or pause.
    fn open_reader(&self, open: bool) {
        if let Some(g) = &self.read_gate {
            g.send_if_modified(|o| std::mem::replace(o, open) != open);
        }
    }

    /// A connection from the peer, in whatever state we are (§6.8, §8.2.2).
    fn take_incoming(&mut self, stream: TcpStream, ctx: &mut Context<Self>) {
        match self.fsm.state() {
            State::Connect | State::Active => {
                self.attach(stream, ctx);
                self.outgoing = false;
                self.fsm.handle_tcp(Instant::now(), TcpEvent::Connected);
                self.drive(ctx);
            }
            State::OpenSent => {
                if self.pending_incoming.is_none() && !self.peeking {
                    // The peer may hold our connection the same way: read
                    // the identifier from the OPEN it sent on this one
                    // (left in the socket), not only from ours.
                    debug!(peer = %self.peer, "collision: reading the peer's identifier from the OPEN of its connection");
                    self.peeking = true;
                    let generation = self.generation;
                    ctx.spawn(
                        async move {
                            let id = tokio::time::timeout(PEEK_TIMEOUT, peek_open_id(&stream))
                                .await
                                .ok()
                                .flatten();
                            (stream, id)
                        }
                        .into_actor(self)
                        .map(move |(stream, id), act, ctx| {
                            let _session = act.span.clone().entered();
                            act.peeking = false;
                            act.incoming_identified(stream, id, generation, ctx);
                        }),
                    );
                } else {
                    info!(peer = %self.peer, "incoming connection refused: a collision is already being resolved");
                }
            }
            State::OpenConfirm => {
                let local = self.fsm.config().router_id;
                let Some(remote) = self.fsm.negotiated().map(|n| n.peer_id) else {
                    return;
                };
                let keep_ours = (resolve(local, remote) == Survivor::Outgoing) == self.outgoing;
                if keep_ours {
                    info!(peer = %self.peer, "collision: keeping the existing connection, closing the new one");
                } else {
                    info!(peer = %self.peer, "collision: the new connection wins, closing ours with Cease 6/7");
                    self.yield_to(stream, ctx);
                }
            }
            // §8.2.2: Idle refuses connections (IdleHold after an error, or
            // administratively down); Established keeps its connection.
            State::Idle => info!(peer = %self.peer, "incoming connection refused: session idle"),
            State::Established => {
                info!(peer = %self.peer, "incoming connection refused: session already established")
            }
        }
    }

    /// The incoming connection held in OpenSent, with the identifier its
    /// OPEN carries (`None`: none came in time). §6.8: the connection the
    /// speaker with the higher identifier opened survives.
    fn incoming_identified(
        &mut self,
        stream: TcpStream,
        remote: Option<Ipv4Addr>,
        generation: u64,
        ctx: &mut Context<Self>,
    ) {
        if self.fsm.state() != State::OpenSent || self.generation != generation {
            // Ours moved on meanwhile: decide as for any new connection.
            self.take_incoming(stream, ctx);
            return;
        }
        let Some(remote) = remote else {
            info!(peer = %self.peer, "collision: no OPEN on the incoming connection; closing it");
            return;
        };
        if resolve(self.fsm.config().router_id, remote) == Survivor::Outgoing {
            // Ours survives; so does its held OPEN exchange. The incoming
            // one is held until ours reaches OpenConfirm (then refused
            // there with the identifier known).
            self.pending_incoming = Some(stream);
        } else {
            info!(peer = %self.peer, "collision: the peer's connection wins, closing ours with Cease 6/7");
            self.yield_to(stream, ctx);
        }
    }

    /// §6.8: ours loses the collision: closed with Cease 6/7, and the
    /// session goes on over the peer's `stream`.
    fn yield_to(&mut self, stream: TcpStream, ctx: &mut Context<Self>) {
        self.fsm.yield_to_other_connection(Instant::now());
        self.drive(ctx);
        self.attach(stream, ctx);
        self.outgoing = false;
        self.fsm.handle_tcp(Instant::now(), TcpEvent::Connected);
        self.drive(ctx);
    }

    fn write(&mut self, b: Bytes, ctx: &mut Context<Self>) {
        if self.writer.is_none() {
            return;
        }
        self.queued += 1;
        self.queued_octets += b.len() as u64;
        if is_notification(&b) {
            // It ends the connection: sent at its close, ahead of the
            // UPDATEs still queued ([`Self::close_connection`]).
            self.notification = Some(b);
            return;
        }
        if !self.backlog.is_empty() {
            self.backlog.push_back(b);
            return;
        }
        let Some(w) = &self.writer else { return };
        match w.send(b) {
            Ok(()) => {}
            Err((WriteError::Full, b)) => {
                self.backlog.push_back(b);
                self.wait_for_room(ctx);
            }
            Err((WriteError::Closed, _)) => {
                self.status.last_error = Some("connection closed while writing".into());
                self.close_connection(ctx);
                self.fsm.handle_tcp(Instant::now(), TcpEvent::Closed);
            }
        }
    }

    /// The write queue is full: wait for room, then move the backlog on.
    fn wait_for_room(&mut self, ctx: &mut Context<Self>) {
        let Some(w) = &self.writer else { return };
        if self.waiting_for_room {
            return;
        }
        self.waiting_for_room = true;
        let generation = self.generation;
        ctx.spawn(w.room().into_actor(self).map(move |ok, act, ctx| {
            act.waiting_for_room = false;
            if !ok || act.generation != generation {
                return;
            }
            while let Some(b) = act.backlog.pop_front() {
                let Some(w) = &act.writer else { return };
                if let Err((e, b)) = w.send(b) {
                    act.backlog.push_front(b);
                    if e == WriteError::Full {
                        act.wait_for_room(ctx);
                    }
                    return;
                }
            }
        }));
    }

    fn on_event(&mut self, ev: Event, ctx: &mut Context<Self>) {
        match ev {
            Event::Connect => self.connect(ctx),
            Event::Disconnect => self.close_connection(ctx),
            Event::StateChanged { from, to } => {
                info!(peer = %self.peer, from = from.name(), to = to.name(), "session state");
            }
            Event::Established(n) => {
                info!(
                    peer = %self.peer,
                    asn = n.peer_as,
                    id = %n.peer_id,
                    hold = n.hold_time.as_secs(),
                    families = ?n.families,
                    "session established"
                );
                for h in std::mem::take(&mut self.restart) {
                    ctx.cancel_future(h);
                }
                let nhs = match self.local_addr.map(|a| a.ip()) {
                    Some(IpAddr::V4(a)) => NextHopSelf {
                        ipv4: Some(a),
                        ipv6: None,
                    },
                    Some(IpAddr::V6(a)) => NextHopSelf {
                        ipv4: None,
                        ipv6: Some(a),
                    },
                    None => NextHopSelf::default(),
                };
                let mut info = PeerInfo::from_negotiated(
                    self.role.id,
                    self.peer.ip(),
                    &n,
                    self.role.rr_client,
                    nhs,
                );
                info.cluster_id = self.role.cluster_id;
                info.import = self.role.import.as_ref().map(|m| m.name.clone());
                info.export = self.role.export.clone();
                self.pending.push(SessionCommand::Up {
                    info: Box::new(info),
                    codec: n.send_context(),
                    graceful_restart: n.peer_graceful_restart.is_some(),
                    joining: self.role.joining,
                });
                if self.role.joining && n.route_refresh && n.enhanced_route_refresh {
                    // Asked once the table is written.
                    self.taken_in = TakenIn::Awaiting(n.families.iter().copied().collect());
                }
                self.up = true;
                self.status.established_transitions += 1;
                self.status.established_at = Some(Instant::now());
                self.status.negotiated = Some(n.clone());
            }
            Event::Down(reason) => {
                info!(peer = %self.peer, ?reason, "session down");
                self.status.last_error = Some(format!("{reason:?}"));
                self.status.established_at = None;
                self.status.negotiated = None;
                match &reason {
                    DownReason::NotificationSent(n) => {
                        *self
                            .status
                            .notifications_sent
                            .entry((n.code, n.subcode))
                            .or_default() += 1;
                    }
                    DownReason::NotificationReceived(n) => {
                        *self
                            .status
                            .notifications_received
                            .entry((n.code, n.subcode))
                            .or_default() += 1;
                    }
                    _ => {}
                }
                // A NOTIFICATION waiting for room goes still
                // ([`Self::close_connection`]).
                self.backlog.retain(is_notification);
                self.mrai.reset();
                self.table_more = false;
                self.table_hold = None;
                if let Some(r) = &mut self.received {
                    r.clear();
                }
                if let Some(p) = &mut self.prefixes {
                    p.clear();
                }
                if self.up {
                    self.up = false;
                    self.peer_down(reason, ctx);
                }
            }
            Event::NotSent(e) => {
                warn!(peer = %self.peer, error = %e, "a message to the peer could not be encoded: not sent");
            }
            Event::Update(u) => {
                if !u.issues.is_empty() {
                    // RFC 7606 §3: errors handled without a reset are logged.
                    for i in &u.issues {
                        warn!(
                            peer = %self.peer,
                            action = ?i.action,
                            kind = ?i.kind,
                            attribute = i.type_code,
                            detail = i.detail,
                            "malformed UPDATE handled without a session reset"
                        );
                    }
                }
                self.status.updates_received += 1;
                self.status.prefixes_received += u.counts().0 as u64;
                let cmd = RibCommand::from_update(self.role.id, &u);
                if self.over_max_prefix(&cmd) {
                    // The session is closing: its routes go with it.
                    return;
                }
                if let Some(r) = &mut self.received {
                    r.record(&cmd);
                }
                let loops_before = self.import.as_loops();
                let (cmd, denied) = self.import.filter(cmd);
                if loops_before == 0 && self.import.as_loops() > 0 {
                    info!(
                        peer = %self.peer,
                        "received routes whose AS_PATH holds our AS dropped (RFC 4271 §9.1.2), before import policy"
                    );
                }
                if denied > 0 {
                    self.status.prefixes_denied += denied as u64;
                    if !self.denial_logged {
                        self.denial_logged = true;
                        info!(
                            peer = %self.peer,
                            route_map = ?self.role.import.as_ref().map(|m| &m.name),
                            "received routes denied by import policy (the neighbour's import route-map, or none for an eBGP neighbour: RFC 8212); counted in its status"
                        );
                    }
                }
                self.pending.push(SessionCommand::Rib(cmd));
            }
            // RFC 2918 §4: the peer asks for our routes again. BoRR and
            // EoRR (RFC 7313) frame what it re-sends us: the routes it
            // re-sends replace ours, and those it no longer has it
            // withdrew already.
            Event::RouteRefresh(r) if r.subtype == RefreshSubtype::NORMAL => {
                debug!(peer = %self.peer, family = %r.family, "route refresh asked");
                let enhanced = self
                    .fsm
                    .negotiated()
                    .is_some_and(|n| n.enhanced_route_refresh);
                if self.up {
                    self.rib.do_send(Refresh {
                        peer: self.role.id,
                        family: r.family,
                        enhanced,
                    });
                }
            }
            Event::RouteRefresh(r) => {
                debug!(peer = %self.peer, family = %r.family, subtype = r.subtype.0, "route refresh marker");
                if let TakenIn::Awaiting(families) = &mut self.taken_in
                    && self.table_mark.is_some()
                {
                    families.remove(&r.family);
                    if families.is_empty() {
                        self.taken_in = TakenIn::Answered;
                        info!(
                            peer = %self.peer,
                            "the neighbour has taken in the table (it answered our ROUTE-REFRESH, RFC 7313)"
                        );
                    }
                }
            }
        }
    }

    /// Counts what the neighbour announced against its max-prefix and
    /// acts on a crossing: a warning, or (restart) the session closed with
    /// Cease / Maximum Number of Prefixes Reached (RFC 4486 §4), Idle for
    /// the restart time. True when the session is closing.
    fn over_max_prefix(&mut self, cmd: &RibCommand) -> bool {
        let Some(counter) = &mut self.prefixes else {
            return false;
        };
        let crossing = counter.record(cmd);
        let max = counter.limit().max;
        let action = counter.limit().action;
        match crossing {
            None => false,
            Some(Crossing::Warning { count, threshold }) => {
                warn!(
                    peer = %self.peer,
                    count,
                    limit = max,
                    threshold,
                    "prefixes from the neighbour nearing max-prefix"
                );
                false
            }
            Some(Crossing::Exceeded { family, count }) => match action {
                LimitAction::Warn => {
                    warn!(
                        peer = %self.peer,
                        count,
                        limit = max,
                        %family,
                        "max-prefix exceeded: routes kept (max-prefix-action = warn)"
                    );
                    false
                }
                LimitAction::Restart(idle_for) => {
                    warn!(
                        peer = %self.peer,
                        count,
                        limit = max,
                        %family,
                        restart_after = ?idle_for,
                        "max-prefix exceeded: closing the session with Cease 6/1 (Maximum Number of Prefixes Reached); not reconnecting until the restart time has passed (none: until the daemon restarts)"
                    );
                    // RFC 8538 §5: a Hard Reset (the routes over the limit
                    // are not to be kept).
                    let cease = self
                        .fsm
                        .hard(Notification::max_prefixes_reached(family, max));
                    self.fsm.handle_admin(
                        Instant::now(),
                        AdminEvent::AutomaticStop { cease, idle_for },
                    );
                    true
                }
            },
        }
    }

    /// RFC 4724 §4.2: when the connection of a peer that announced graceful
    /// restart drops (no NOTIFICATION), its routes stay, stale, until it is
    /// back and sends End-of-RIB, or its restart time passes.
    fn peer_down(&mut self, reason: speaker::fsm::DownReason, ctx: &mut Context<Self>) {
        if self.leaving || reason == DownReason::GracefulStop {
            return;
        }
        let id = self.role.id;
        match self.fsm.keeps_routes_after(&reason) {
            Some(t) => {
                self.pending
                    .push(SessionCommand::Rib(RibCommand::PeerDownGraceful {
                        peer: id,
                    }));
                info!(peer = %self.peer, restart_time = t.as_secs(), "keeping routes of a restarting peer");
                let long_lived = self.fsm.long_lived_after().to_vec();
                let h = ctx.run_later(t, move |act, ctx| {
                    if !act.up {
                        act.restart_time_over(id, long_lived, ctx);
                    }
                });
                self.restart.push(h);
            }
            None => self
                .pending
                .push(SessionCommand::Rib(RibCommand::PeerDown { peer: id })),
        }
    }

    /// The restart time of a peer still down ran out: its stale routes go,
    /// or (RFC 9494 §4.2) those of the families it announced long-lived
    /// graceful restart for stay as LLGR_STALE, each until its long-lived
    /// stale time runs out too.
    fn restart_time_over(
        &mut self,
        id: PeerId,
        long_lived: Vec<(Family, Duration)>,
        ctx: &mut Context<Self>,
    ) {
        // Through `pending`: after whatever this session sent before.
        if long_lived.is_empty() {
            self.pending
                .push(SessionCommand::Rib(RibCommand::RestartExpired { peer: id }));
            self.flush_pending(ctx);
            return;
        }
        info!(peer = %self.peer, families = ?long_lived, "restart time over: keeping the routes as long-lived stale (RFC 9494)");
        let families = long_lived.iter().map(|(f, _)| *f).collect();
        self.pending
            .push(SessionCommand::Rib(RibCommand::LongLivedStale {
                peer: id,
                families,
            }));
        self.flush_pending(ctx);
        for (family, stale_time) in long_lived {
            let h = ctx.run_later(stale_time, move |act, ctx| {
                if !act.up {
                    info!(peer = %act.peer, %family, "long-lived stale time over: the routes go");
                    act.pending
                        .push(SessionCommand::Rib(RibCommand::LongLivedExpired {
                            peer: id,
                            family,
                        }));
                    act.flush_pending(ctx);
                }
            });
            self.restart.push(h);
        }
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        let (addr, bind) = (self.peer, self.bind);
        let generation = self.generation;
        let fut = async move { tokio::time::timeout(CONNECT_TIMEOUT, dial(addr, bind)).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            let _session = act.span.clone().entered();
            // A newer connection (an accepted one) may have won meanwhile.
            if act.generation != generation || act.writer.is_some() {
                return;
            }
            match res {
                Ok(Ok(stream)) => {
                    act.attach(stream, ctx);
                    act.outgoing = true;
                    act.fsm.handle_tcp(Instant::now(), TcpEvent::Connected);
                }
                Ok(Err(e)) => {
                    debug!(peer = %act.peer, error = %e, "connect failed");
                    act.fsm.handle_tcp(Instant::now(), TcpEvent::Failed);
                }
                Err(_) => act.fsm.handle_tcp(Instant::now(), TcpEvent::Failed),
            }
            act.drive(ctx);
        }));
    }

    /// Takes a connected stream: reader as an actor stream, writer as a task.
    fn attach(&mut self, stream: TcpStream, ctx: &mut Context<Self>) {
        self.close_connection(ctx);
        self.generation += 1;
        let generation = self.generation;
        let _ = stream.set_nodelay(true);
        self.local_addr = stream.local_addr().ok();
        let (read, write) = stream.into_split();
        let me = ctx.address();
        self.writer = Some(Writer::spawn(write, self.role.write_timeout, move |e| {
            me.do_send(WriteFailed(generation, e.to_string()))
        }));
        let (gate, open) = tokio::sync::watch::channel(!self.rib_in_flight);
        self.read_gate = Some(gate);
        let reader = gated(ReaderStream::with_capacity(read, 64 * 1024), open)
            .map(move |r| Chunk(generation, r));
        self.reader = Some(ctx.add_stream(reader));
        self.inbuf.clear();
        self.queued = 0;
        self.queued_octets = 0;
        self.table_mark = None;
        self.taken_in = TakenIn::NotAsked;
        self.notification = None;
    }

    fn close_connection(&mut self, ctx: &mut Context<Self>) {
        // Dropping the writer flushes what is queued (a NOTIFICATION) and
        // closes. A NOTIFICATION that waited behind UPDATEs for room (a
        // session closed while its writer was full, as when a table is
        // being sent) still goes, after what the writer holds: without
        // it the peer takes the close for a restart of ours and keeps our
        // routes for the restart time (RFC 4724 §4.2), a Hard Reset
        // included (RFC 8538). The UPDATEs behind it are dropped.
        let notification = self
            .notification
            .take()
            .or_else(|| self.backlog.iter().find(|b| is_notification(b)).cloned());
        match (self.writer.take(), notification) {
            (Some(w), Some(n)) => w.close_with(n),
            (w, _) => drop(w),
        }
        self.backlog.clear();
        self.queued_octets = 0;
        if let Some(h) = self.reader.take() {
            ctx.cancel_future(h);
        }
        self.inbuf.clear();
    }
}

impl Actor for PeerSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        self.rib.do_send(Register(self.role.id, ctx.address()));
        self.fsm.handle_admin(Instant::now(), AdminEvent::Start);
        self.drive(ctx);
    }
}

impl StreamHandler<Chunk> for PeerSession {
    fn handle(&mut self, Chunk(generation, r): Chunk, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        if generation != self.generation {
            return;
        }
        match r {
            Ok(b) => {
                self.inbuf.extend_from_slice(&b);
                self.fsm.handle_data(Instant::now(), &mut self.inbuf);
            }
            Err(e) => {
                debug!(peer = %self.peer, error = %e, "read failed");
                self.close_connection(ctx);
                self.fsm.handle_tcp(Instant::now(), TcpEvent::Closed);
            }
        }
        self.drive(ctx);
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        // End of stream: the peer closed. (A cancelled old stream lands here
        // too; the FSM ignores a close when it has no connection.)
        if self.reader.is_some() {
            self.reader = None;
            self.writer = None;
            self.fsm.handle_tcp(Instant::now(), TcpEvent::Closed);
            self.drive(ctx);
        }
    }
}

impl Handler<WriteFailed> for PeerSession {
    type Result = ();
    fn handle(&mut self, WriteFailed(generation, error): WriteFailed, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        if generation == self.generation && self.writer.is_some() {
            if error.contains("write timeout") {
                self.status.output_resets += 1;
            }
            warn!(peer = %self.peer, %error, "writing to the peer failed: connection closed");
            self.status.last_error = Some(format!("write failed: {error}"));
            self.close_connection(ctx);
            self.fsm.handle_tcp(Instant::now(), TcpEvent::Closed);
            self.drive(ctx);
        }
    }
}

impl Handler<Incoming> for PeerSession {
    type Result = ();
    fn handle(&mut self, Incoming(stream): Incoming, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        self.take_incoming(stream, ctx);
    }
}

impl Handler<Shutdown> for PeerSession {
    type Result = ();
    fn handle(&mut self, s: Shutdown, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        self.admin_stop(s.notification, s.hard, ctx);
        self.drive(ctx);
    }
}

impl Handler<Leave> for PeerSession {
    type Result = ();
    fn handle(&mut self, Leave { message, moved }: Leave, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        self.leaving = true;
        if let Some(h) = self.reset_start.take() {
            ctx.cancel_future(h);
        }
        let answered_elsewhere = moved
            && self
                .fsm
                .negotiated()
                .is_some_and(|n| n.route_refresh && n.enhanced_route_refresh);
        if answered_elsewhere {
            info!(peer = %self.peer, "closing with a Hard Reset: the new member's session has the neighbour's acknowledgement of its table");
            let cease =
                Notification::cease_with_message(subcode::cease::ADMINISTRATIVE_RESET, &message);
            self.admin_stop(cease, true, ctx);
        } else {
            self.fsm
                .handle_admin(Instant::now(), AdminEvent::StopGracefully { message });
        }
        self.drive(ctx);
    }
}

impl Handler<SendUpdates> for PeerSession {
    type Result = ();
    fn handle(&mut self, SendUpdates(msgs): SendUpdates, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        match &mut self.table_hold {
            // After the table's pages read so far: they go out together.
            Some(held) if self.fsm.state() == State::Established => held.extend(msgs),
            _ => self.queue_updates(msgs, ctx),
        }
    }
}

/// A page of a table the RIB sends this session in pages: its
/// Adj-RIB-Out when it came up, or the answer to a ROUTE-REFRESH
/// ([`crate::rib::table`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TablePage {
    pub msgs: Vec<Bytes>,
    /// More pages follow: asked for ([`NextPage`]) once there is room.
    pub more: bool,
    /// A page of the table the session is sent on coming up: held until
    /// its last page, then written whole (the next page is asked for at
    /// once).
    pub first_table: bool,
    /// The page ends the table the session was sent on coming up (its
    /// End-of-RIB is in it).
    pub table_done: bool,
}

impl Handler<TablePage> for PeerSession {
    type Result = ();
    fn handle(&mut self, page: TablePage, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        if self.fsm.state() != State::Established {
            return;
        }
        // A ROUTE-REFRESH answer's pages follow the table's (the RIB
        // queues them after it), so none comes while a table is held.
        let msgs = if page.first_table {
            let mut held = self.table_hold.take().unwrap_or_default();
            held.extend(page.msgs);
            if !page.table_done {
                self.table_hold = Some(held);
                self.rib.do_send(NextPage(self.role.id));
                return;
            }
            held
        } else {
            page.msgs
        };
        // The table's size, for the log once it is written (its last
        // page only: a ROUTE-REFRESH answer's pages are not summed).
        let table_octets = page
            .table_done
            .then(|| msgs.iter().map(|m| m.len() as u64).sum::<u64>());
        self.queue_updates(msgs, ctx);
        if let Some(octets) = table_octets
            && self.fsm.state() == State::Established
        {
            // Those MRAI holds go out after the ones queued.
            self.table_mark = Some(self.queued + self.mrai.held_len() as u64);
            self.log_table_written(octets, ctx);
        }
        self.table_more = page.more;
        self.ask_page(ctx);
    }
}

impl PeerSession {
    /// Logs when the table the session was sent on coming up, End-of-RIB
    /// last, has been handed to the socket (what takeover time is
    /// measured to); `octets`, the table's size (held and queued whole).
    fn log_table_written(&mut self, octets: u64, ctx: &mut Context<Self>) {
        let Some(w) = &self.writer else { return };
        let generation = self.generation;
        let wait = w.written_up_to(self.queued_octets + self.mrai.held_octets());
        ctx.spawn(wait.into_actor(self).map(move |ok, act, ctx| {
            if !ok || act.generation != generation {
                return;
            }
            let _session = act.span.clone().entered();
            info!(
                ms = act
                    .status
                    .established_at
                    .map_or(0, |t| t.elapsed().as_millis() as u64),
                octets, "table and End-of-RIB written"
            );
            if let TakenIn::Awaiting(families) = &act.taken_in {
                let families: Vec<Family> = families.iter().copied().collect();
                act.ask_refresh(&families, ctx);
            }
        }));
    }

    /// UPDATEs for the peer: sent, or held by MRAI; past the output
    /// buffer's bound the session is closed.
    fn queue_updates(&mut self, msgs: Vec<Bytes>, ctx: &mut Context<Self>) {
        if self.fsm.state() != State::Established {
            return;
        }
        // Queued for the peer (MRAI may hold them a while).
        self.status.updates_sent += msgs.len() as u64;
        let now = Instant::now();
        match self.mrai.offer(now, msgs) {
            Offer::Send(msgs) => self.send_updates(msgs, ctx),
            // Within the interval: held, and the lot sent when it ends.
            Offer::Held { flush_at } => {
                if let Some(at) = flush_at {
                    ctx.run_later(at.saturating_duration_since(now), |act, ctx| {
                        let held = act.mrai.flush();
                        act.send_updates(held, ctx);
                    });
                }
                self.over_output_bound(ctx);
            }
        }
    }

    /// Octets queued for the peer that its socket has not taken.
    fn output_octets(&self) -> u64 {
        let written = self.writer.as_ref().map_or(0, Writer::octets_written);
        self.queued_octets.saturating_sub(written) + self.mrai.held_octets()
    }

    /// RFC 4486 §4 Out of Resources: a peer that does not take what is
    /// sent to it fast enough (or at all) would grow our memory with every
    /// change; past `output-buffer` its session is closed and stays down
    /// for `idle-hold-max`. True when it was.
    fn over_output_bound(&mut self, ctx: &mut Context<Self>) -> bool {
        let queued = self.output_octets();
        if queued <= self.role.output_buffer || self.fsm.state() != State::Established {
            return false;
        }
        let idle_for = self.fsm.config().idle_hold_max;
        warn!(
            peer = %self.peer,
            queued_octets = queued,
            output_buffer = self.role.output_buffer,
            down_for_secs = idle_for.as_secs(),
            "the neighbour does not take what is sent to it: output buffer over its bound, closing the session with Cease 6/8 (Out of Resources)"
        );
        self.status.output_resets += 1;
        self.status.last_error = Some(format!(
            "output buffer over its bound ({queued} octets queued, output-buffer {})",
            self.role.output_buffer
        ));
        // What waits is dropped: the peer gets the table again when it
        // is back.
        self.backlog.clear();
        self.mrai.drop_held();
        let cease = Notification::new(
            speaker::wire::notification::code::CEASE,
            subcode::cease::OUT_OF_RESOURCES,
            Bytes::new(),
        );
        self.fsm.handle_admin(
            Instant::now(),
            AdminEvent::AutomaticStop {
                cease,
                idle_for: Some(idle_for),
            },
        );
        self.drive(ctx);
        true
    }

    /// Asks the RIB for the next page of the table being sent once what
    /// is queued for the peer is below [`PAGE_ROOM`] (or a quarter of
    /// `output-buffer`, if less): a table costs a
    /// page or two of memory per session, however long it is and however
    /// slowly the peer reads.
    fn ask_page(&mut self, ctx: &mut Context<Self>) {
        if !self.table_more || self.page_wait == Some(self.generation) {
            return;
        }
        let Some(w) = &self.writer else { return };
        // A quarter of the bound at most, so pages alone never pass it.
        let room = PAGE_ROOM.min(self.role.output_buffer / 4);
        let written = w.octets_written();
        let in_writer = self.queued_octets.saturating_sub(written);
        if in_writer + self.mrai.held_octets() <= room {
            self.table_more = false;
            self.rib.do_send(NextPage(self.role.id));
            return;
        }
        if in_writer <= room {
            // MRAI holds the rest: its flush asks again.
            return;
        }
        let generation = self.generation;
        self.page_wait = Some(generation);
        let wait = w.written_up_to(self.queued_octets - room);
        ctx.spawn(wait.into_actor(self).map(move |ok, act, ctx| {
            if act.page_wait == Some(generation) {
                act.page_wait = None;
            }
            if ok && act.generation == generation {
                act.ask_page(ctx);
            }
        }));
    }
}

impl PeerSession {
    fn send_updates(&mut self, msgs: Vec<Bytes>, ctx: &mut Context<Self>) {
        if self.fsm.state() != State::Established || msgs.is_empty() {
            return;
        }
        for m in msgs {
            self.write(m, ctx);
        }
        if self.over_output_bound(ctx) {
            return;
        }
        let now = Instant::now();
        self.mrai.sent(now);
        self.fsm.updates_sent(now);
        self.drive(ctx);
        self.ask_page(ctx);
    }
}

impl Handler<ImportPolicy> for PeerSession {
    type Result = ();
    fn handle(&mut self, p: ImportPolicy, ctx: &mut Context<Self>) {
        let _session = self.span.clone().entered();
        let same = self.role.import.as_deref() == p.map.as_deref()
            && self.role.ebgp_requires_policy == p.ebgp_requires_policy;
        if same {
            return;
        }
        self.role.import = p.map;
        self.role.ebgp_requires_policy = p.ebgp_requires_policy;
        self.import = self.role.import_filter(self.peer.ip());
        self.denial_logged = false;
        let route_map = self.role.import.as_ref().map(|m| m.name.clone());
        let Some(n) = self.fsm.negotiated().filter(|_| self.up).cloned() else {
            info!(peer = %self.peer, ?route_map, "import policy changed; applies from the next session");
            return;
        };
        match self.soft_reset_in(&n, ctx) {
            SoftResetIn::Reimported { kept, denied } => info!(
                peer = %self.peer,
                ?route_map,
                kept,
                denied,
                "import policy changed: re-ran over the routes kept as received (soft reconfiguration)"
            ),
            SoftResetIn::Refreshing => info!(
                peer = %self.peer,
                ?route_map,
                "import policy changed: asked the peer to send its routes again (ROUTE-REFRESH)"
            ),
            SoftResetIn::Unsupported => warn!(
                peer = %self.peer,
                ?route_map,
                "import policy changed, but the peer does not support route refresh: the new policy applies to the routes it sends from now on; reset the session to apply it to all"
            ),
        }
    }
}

/// How an inbound soft reset went ([`PeerSession::soft_reset_in`]).
enum SoftResetIn {
    /// Import re-ran over the routes kept as received.
    Reimported { kept: usize, denied: usize },
    /// A ROUTE-REFRESH asked the peer for its routes again.
    Refreshing,
    /// Neither: no routes kept and no route refresh negotiated.
    Unsupported,
}

impl PeerSession {
    /// ManualStop with `cease` (a Hard Reset carrying it when `hard` and
    /// the N bit was negotiated, RFC 8538), counted as sent when a
    /// connection is there to carry it.
    fn admin_stop(&mut self, cease: Notification, hard: bool, ctx: &mut Context<Self>) {
        // A stop cancels the start a reset has scheduled.
        if let Some(h) = self.reset_start.take() {
            ctx.cancel_future(h);
        }
        let cease = if hard { self.fsm.hard(cease) } else { cease };
        if matches!(
            self.fsm.state(),
            State::OpenSent | State::OpenConfirm | State::Established
        ) {
            *self
                .status
                .notifications_sent
                .entry((cease.code, cease.subcode))
                .or_default() += 1;
        }
        self.fsm
            .handle_admin(Instant::now(), AdminEvent::Stop(Some(cease)));
    }

    /// RFC 2918: asks the peer to send its routes of `families` again.
    /// Inbound soft reset: the neighbour's routes through import again,
    /// from those kept as received (soft reconfiguration), else asked of
    /// it by ROUTE-REFRESH (RFC 2918) where it negotiated that.
    fn soft_reset_in(
        &mut self,
        n: &speaker::fsm::Negotiated,
        ctx: &mut Context<Self>,
    ) -> SoftResetIn {
        if let Some(r) = &self.received {
            let again = r.reimport(self.role.id, &mut self.import);
            self.pending
                .extend(again.commands.into_iter().map(SessionCommand::Rib));
            self.drive(ctx);
            return SoftResetIn::Reimported {
                kept: again.kept,
                denied: again.denied,
            };
        }
        if !n.route_refresh {
            return SoftResetIn::Unsupported;
        }
        self.ask_refresh(&n.families, ctx);
        SoftResetIn::Refreshing
    }

    fn ask_refresh(&mut self, families: &[speaker::wire::Family], ctx: &mut Context<Self>) {
        let now = Instant::now();
        for f in families {
            let m = Message::RouteRefresh(RouteRefresh::new(*f, RefreshSubtype::NORMAL));
            self.fsm.send_message(now, &m);
        }
        self.drive(ctx);
    }
}

/// What an operator asks of a session (the API's actions).
#[derive(Clone, Debug)]
pub enum NeighborAction {
    /// Close it with Cease / Administrative Reset and start it again.
    /// With the N bit negotiated (RFC 8538) the peer keeps our routes
    /// meanwhile, and we its; `hard`: a Hard Reset, neither does.
    Reset {
        hard: bool,
    },
    /// Inbound soft reset: the routes again, from those kept as received
    /// (soft reconfiguration) or by ROUTE-REFRESH (RFC 2918).
    Refresh,
    /// Close it with Cease / Administrative Shutdown and this RFC 9003
    /// message, and keep it down until `Enable`.
    Shutdown(String),
    Enable,
}

/// An operator's action; what was done, or why it cannot be.
#[derive(Message)]
#[rtype(result = "Result<String, String>")]
pub struct Act(pub NeighborAction);

impl Handler<Act> for PeerSession {
    type Result = Result<String, String>;
    fn handle(&mut self, Act(action): Act, ctx: &mut Context<Self>) -> Self::Result {
        let _session = self.span.clone().entered();
        let now = Instant::now();
        info!(peer = %self.peer, ?action, "operator action");
        match action {
            NeighborAction::Reset { hard } => {
                let cease = Notification::cease_with_message(
                    subcode::cease::ADMINISTRATIVE_RESET,
                    "reset by the operator",
                );
                self.admin_stop(cease, hard, ctx);
                self.drive(ctx);
                // Started again a moment later: the peer reads our Cease
                // before our next connection (else it may take that one
                // for a collision and drop the old one unread).
                self.reset_start = Some(ctx.run_later(RESET_WAIT, |act, ctx| {
                    let _session = act.span.clone().entered();
                    act.reset_start = None;
                    act.fsm.handle_admin(Instant::now(), AdminEvent::Start);
                    act.drive(ctx);
                }));
                Ok("session reset".into())
            }
            NeighborAction::Refresh => {
                let Some(n) = self.fsm.negotiated().filter(|_| self.up).cloned() else {
                    return Err("the session is not established".into());
                };
                match self.soft_reset_in(&n, ctx) {
                    SoftResetIn::Reimported { kept, .. } => Ok(format!(
                        "import re-ran over the {kept} routes kept as received"
                    )),
                    SoftResetIn::Refreshing => Ok("ROUTE-REFRESH sent".into()),
                    SoftResetIn::Unsupported => Err("the peer does not support route refresh (RFC 2918); reset the session instead".into()),
                }
            }
            NeighborAction::Shutdown(message) => {
                // RFC 8538 §5: an Administrative Shutdown SHOULD be a Hard
                // Reset (the operator wants the routes gone).
                let cease = Notification::cease_with_message(
                    subcode::cease::ADMINISTRATIVE_SHUTDOWN,
                    &message,
                );
                self.admin_stop(cease, true, ctx);
                self.drive(ctx);
                Ok("session shut down".into())
            }
            NeighborAction::Enable => {
                if self.fsm.state() != State::Idle {
                    return Ok("session already enabled".into());
                }
                self.fsm.handle_admin(now, AdminEvent::Start);
                self.drive(ctx);
                Ok("session enabled".into())
            }
        }
    }
}

impl Handler<Status> for PeerSession {
    type Result = MessageResult<Status>;
    fn handle(&mut self, _: Status, _: &mut Context<Self>) -> MessageResult<Status> {
        let mut status = self.status.clone();
        status.output_octets = self.output_octets();
        status.output_limit = self.role.output_buffer;
        status.table_sent = self.fsm.state() == State::Established
            && match (self.table_mark, &self.writer) {
                (Some(mark), Some(w)) => w.written() >= mark,
                _ => false,
            }
            && !matches!(self.taken_in, TakenIn::Awaiting(_));
        MessageResult(status)
    }
}

/// A connection to `peer`, from `bind` when given.
async fn dial(peer: SocketAddr, bind: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let Some(local) = bind else {
        return TcpStream::connect(peer).await;
    };
    let socket = match peer {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(local, 0))?;
    socket.connect(peer).await
}

/// `inner`, read only while `open` says so: the session closes the gate
/// while the RIB has not taken what was read (back-pressure without
/// stopping the actor).
fn gated<S>(
    inner: S,
    open: tokio::sync::watch::Receiver<bool>,
) -> impl futures_util::Stream<Item = S::Item>
where
    S: futures_util::Stream + Unpin,
{
    futures_util::stream::unfold((inner, open), |(mut inner, mut open)| async move {
        // A gate whose sender is gone (the connection replaced) opens.
        while !*open.borrow_and_update() {
            if open.changed().await.is_err() {
                break;
            }
        }
        let item = inner.next().await?;
        Some((item, (inner, open)))
    })
}
