//! The session actor: feeds socket bytes, timer expiries and commands into
//! the FSM and carries out what it asks (connect, write, disconnect).

use super::transport::{WriteError, Writer};
use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use speaker::fsm::{AdminEvent, Event, Session, SessionConfig, State, TcpEvent};
use speaker::wire::Notification;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_util::io::ReaderStream;
use tracing::{debug, info, warn};

/// How long an outgoing connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What an observer (API, tests, the RIB later) learns about a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionStatus {
    pub peer: SocketAddr,
    pub state: State,
    pub updates_received: u64,
    pub prefixes_received: u64,
    pub last_error: Option<String>,
}

/// One peer session.
pub struct PeerSession {
    peer: SocketAddr,
    fsm: Session,
    /// Bumped per connection, so events of an old one are recognised.
    generation: u64,
    writer: Option<Writer>,
    reader: Option<SpawnHandle>,
    timer: Option<SpawnHandle>,
    inbuf: BytesMut,
    status: SessionStatus,
}

/// An accepted connection from this peer (the listener found its address).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Incoming(pub TcpStream);

/// Stop the session with an optional NOTIFICATION (a Cease, usually).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown(pub Option<Notification>);

/// Ask for the session's status.
#[derive(Message)]
#[rtype(result = "SessionStatus")]
pub struct Status;

#[derive(Message)]
#[rtype(result = "()")]
struct Chunk(u64, std::io::Result<Bytes>);

#[derive(Message)]
#[rtype(result = "()")]
struct WriteFailed(u64);

impl PeerSession {
    pub fn new(peer: SocketAddr, config: SessionConfig) -> PeerSession {
        PeerSession {
            peer,
            fsm: Session::new(config),
            generation: 0,
            writer: None,
            reader: None,
            timer: None,
            inbuf: BytesMut::new(),
            status: SessionStatus {
                peer,
                state: State::Idle,
                updates_received: 0,
                prefixes_received: 0,
                last_error: None,
            },
        }
    }

    /// After every input: write what the FSM queued, act on its events,
    /// re-arm the one timer.
    fn drive(&mut self, ctx: &mut Context<Self>) {
        while let Some(b) = self.fsm.poll_transmit() {
            self.write(b, ctx);
        }
        while let Some(ev) = self.fsm.poll_event() {
            self.on_event(ev, ctx);
        }
        self.status.state = self.fsm.state();
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        if let Some(at) = self.fsm.poll_timeout() {
            let wait = at.saturating_duration_since(Instant::now());
            self.timer = Some(ctx.run_later(wait, |act, ctx| {
                act.timer = None;
                act.fsm.handle_timeout(Instant::now());
                act.drive(ctx);
            }));
        }
    }

    fn write(&mut self, b: Bytes, ctx: &mut Context<Self>) {
        let Some(w) = &self.writer else {
            return;
        };
        if let Err(e) = w.send(b) {
            // A peer that does not read is treated like a lost connection.
            warn!(peer = %self.peer, error = ?e, "write queue unusable, closing");
            self.status.last_error = Some(match e {
                WriteError::Full => "peer too slow: write queue full".into(),
                WriteError::Closed => "connection closed while writing".into(),
            });
            self.close_connection(ctx);
            self.fsm.handle_tcp(Instant::now(), TcpEvent::Closed);
        }
    }

    fn on_event(&mut self, ev: Event, ctx: &mut Context<Self>) {
        match ev {
            Event::Connect => self.connect(ctx),
            Event::Disconnect => self.close_connection(ctx),
            Event::StateChanged { from, to } => {
                info!(peer = %self.peer, from = from.name(), to = to.name(), "session state");
            }
            Event::Established(n) => info!(
                peer = %self.peer,
                asn = n.peer_as,
                id = %n.peer_id,
                hold = n.hold_time.as_secs(),
                families = ?n.families,
                "session established"
            ),
            Event::Down(reason) => {
                info!(peer = %self.peer, ?reason, "session down");
                self.status.last_error = Some(format!("{reason:?}"));
            }
            Event::Update(u) => {
                self.status.updates_received += 1;
                self.status.prefixes_received += u.counts().0 as u64;
            }
            Event::RouteRefresh(r) => {
                debug!(peer = %self.peer, family = %r.family, "route refresh")
            }
        }
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        let addr = self.peer;
        let generation = self.generation;
        let fut =
            async move { tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            // A newer connection (an accepted one) may have won meanwhile.
            if act.generation != generation || act.writer.is_some() {
                return;
            }
            match res {
                Ok(Ok(stream)) => {
                    act.attach(stream, ctx);
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
        let (read, write) = stream.into_split();
        let me = ctx.address();
        self.writer = Some(Writer::spawn(write, move |_| {
            me.do_send(WriteFailed(generation))
        }));
        let reader =
            ReaderStream::with_capacity(read, 64 * 1024).map(move |r| Chunk(generation, r));
        self.reader = Some(ctx.add_stream(reader));
        self.inbuf.clear();
    }

    fn close_connection(&mut self, ctx: &mut Context<Self>) {
        // Dropping the writer flushes what is queued (a NOTIFICATION) and closes.
        self.writer = None;
        if let Some(h) = self.reader.take() {
            ctx.cancel_future(h);
        }
        self.inbuf.clear();
    }
}

impl Actor for PeerSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.fsm.handle_admin(Instant::now(), AdminEvent::Start);
        self.drive(ctx);
    }
}

impl StreamHandler<Chunk> for PeerSession {
    fn handle(&mut self, Chunk(generation, r): Chunk, ctx: &mut Context<Self>) {
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
    fn handle(&mut self, WriteFailed(generation): WriteFailed, ctx: &mut Context<Self>) {
        if generation == self.generation && self.writer.is_some() {
            self.close_connection(ctx);
            self.fsm.handle_tcp(Instant::now(), TcpEvent::Closed);
            self.drive(ctx);
        }
    }
}

impl Handler<Incoming> for PeerSession {
    type Result = ();
    fn handle(&mut self, Incoming(stream): Incoming, ctx: &mut Context<Self>) {
        // Without a connection of our own, take it; with one past Active,
        // the collision rule (RFC 4271 §6.8) needs both OPENs: until that
        // is implemented at this level, keep the existing connection.
        match self.fsm.state() {
            State::Idle | State::Connect | State::Active => {
                self.attach(stream, ctx);
                self.fsm.handle_tcp(Instant::now(), TcpEvent::Connected);
                self.drive(ctx);
            }
            _ => debug!(peer = %self.peer, "incoming connection refused: session already has one"),
        }
    }
}

impl Handler<Shutdown> for PeerSession {
    type Result = ();
    fn handle(&mut self, Shutdown(n): Shutdown, ctx: &mut Context<Self>) {
        self.fsm.handle_admin(Instant::now(), AdminEvent::Stop(n));
        self.drive(ctx);
    }
}

impl Handler<Status> for PeerSession {
    type Result = MessageResult<Status>;
    fn handle(&mut self, _: Status, _: &mut Context<Self>) -> MessageResult<Status> {
        MessageResult(self.status.clone())
    }
}
