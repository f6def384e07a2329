//! The replay source's BGP session: a thread that enters a node's network
//! namespace, connects to the router, opens the session, sends the table
//! and End-of-RIB as fast as the router takes them, then only keeps the
//! session up until the [`Source`] is dropped. A second thread reads (and
//! drops) what the router sends, so that a NOTIFICATION or a closed
//! connection is seen at once.

use super::table::{Sender, Table};
use bytes::BytesMut;
use speaker::wire::{Capability, CodecContext, Family, Message, Open, Update};
use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const HOLD_TIME: u16 = 90;
/// How long the source tries to reach the router.
const CONNECT_FOR: Duration = Duration::from_secs(60);

/// Where the source is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Connecting,
    Established,
    /// Every UPDATE and End-of-RIB written, in this time from the first.
    Sent {
        updates: usize,
        took: Duration,
    },
    /// The session failed (and the source stopped): why.
    Failed(String),
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    state: Mutex<Option<State>>,
    /// A handle on the connection, to shut it down from `drop`.
    stream: Mutex<Option<TcpStream>>,
    /// Sessions established so far.
    sessions: std::sync::atomic::AtomicU32,
    /// Churn UPDATEs sent so far (announcements and withdrawals).
    churned: std::sync::atomic::AtomicU64,
    /// The live update stream is held: keepalives only.
    churn_held: AtomicBool,
    /// Sessions that sent the whole table and its End-of-RIB.
    completed: std::sync::atomic::AtomicU32,
    /// Why the sessions that ended ended (a reconnecting source).
    ended: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn set(&self, s: State) {
        let mut st = lock(&self.state);
        // The first failure is the one to report.
        if !matches!(*st, Some(State::Failed(_))) {
            *st = Some(s);
        }
    }
}

/// A running replay; dropping it closes the session and joins its threads.
pub struct Source {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Source {
    /// Starts the source in network namespace `ns`, towards `peer` (port
    /// 179, over IPv4 or IPv6); the session carries the table's family.
    /// It stops when the session ends.
    pub fn start(ns: &str, peer: impl Into<IpAddr>, sender: Sender, table: Arc<Table>) -> Source {
        Source::spawn(ns, peer.into(), sender, table, false)
    }

    /// [`Source::start`], but a session that ends is opened again (the
    /// router restarted, or moved the session), and the table sent again
    /// with End-of-RIB, as a real speaker would; the state stays the
    /// first `Sent` once reached.
    pub fn start_reconnecting(
        ns: &str,
        peer: impl Into<IpAddr>,
        sender: Sender,
        table: Arc<Table>,
    ) -> Source {
        Source::spawn(ns, peer.into(), sender, table, true)
    }

    fn spawn(ns: &str, peer: IpAddr, sender: Sender, table: Arc<Table>, again: bool) -> Source {
        let shared = Arc::new(Shared::default());
        shared.set(State::Connecting);
        let (sh, ns) = (shared.clone(), ns.to_string());
        let thread = std::thread::spawn(move || {
            if let Err(e) = crate::netns::enter(&ns) {
                sh.set(State::Failed(e));
                return;
            }
            loop {
                let result = run(&sh, peer, &sender, &table);
                if let Some(s) = lock(&sh.stream).take() {
                    let _ = s.shutdown(Shutdown::Both);
                }
                if sh.stopping() {
                    return;
                }
                match result {
                    Err(e) if !again => {
                        sh.set(State::Failed(e));
                        return;
                    }
                    Err(e) => lock(&sh.ended).push(e),
                    Ok(()) => return,
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        Source {
            shared,
            thread: Some(thread),
        }
    }

    /// Sessions established so far.
    pub fn sessions(&self) -> u32 {
        self.shared.sessions.load(Ordering::Relaxed)
    }

    /// Sessions that sent the whole table and End-of-RIB so far (a
    /// reconnecting source sends it again on each).
    pub fn completed(&self) -> u32 {
        self.shared.completed.load(Ordering::Relaxed)
    }

    /// Churn UPDATEs sent so far ([`super::table::Table::with_churn`]).
    pub fn churned(&self) -> u64 {
        self.shared.churned.load(Ordering::Relaxed)
    }

    /// Holds the live update stream (`true`: no churn UPDATE is sent,
    /// keepalives go on) or lets it go on (`false`), for a reading of the
    /// router at rest.
    pub fn hold_churn(&self, held: bool) {
        self.shared.churn_held.store(held, Ordering::Relaxed);
    }

    /// Why each session that ended ended (a reconnecting source).
    pub fn ended(&self) -> Vec<String> {
        lock(&self.shared.ended).clone()
    }

    pub fn state(&self) -> State {
        lock(&self.shared.state)
            .clone()
            .unwrap_or(State::Connecting)
    }

    /// Waits until the whole table is sent: how long sending took, or why
    /// it was not.
    pub fn wait_sent(&self, within: Duration) -> Result<Duration, String> {
        let end = Instant::now() + within;
        loop {
            match self.state() {
                State::Sent { took, .. } => return Ok(took),
                State::Failed(e) => return Err(e),
                s if Instant::now() >= end => {
                    return Err(format!("not sent within {within:?}: {s:?}"));
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(s) = lock(&self.shared.stream).as_ref() {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One session: connect, open, send the table, keep it up until stopped
/// (Ok) or until it fails (the error).
fn run(sh: &Arc<Shared>, peer: IpAddr, sender: &Sender, table: &Table) -> Result<(), String> {
    let mut tx = connect(sh, SocketAddr::from((peer, 179)))?;
    *lock(&sh.stream) = Some(tx.try_clone().map_err(|e| e.to_string())?);
    if sh.stopping() {
        return Ok(());
    }
    let _ = tx.set_nodelay(true);
    let ctx = CodecContext::four_octet();
    let mut rx = tx.try_clone().map_err(|e| e.to_string())?;
    let mut buf = BytesMut::new();
    let hold = handshake(&mut tx, &mut rx, &mut buf, sender, table.family, &ctx)?;
    if sh.sessions.fetch_add(1, Ordering::Relaxed) == 0 {
        sh.set(State::Established);
    }
    let keepalive_every = Duration::from_secs(u64::from(hold / 3).clamp(1, 10));
    // Why this session was lost, once the reader sees it.
    let lost: Arc<Mutex<Option<String>>> = Arc::default();
    let reader = {
        let (lost, ctx) = (lost.clone(), ctx.clone());
        std::thread::spawn(move || {
            let e = drain(&mut rx, &mut buf, &ctx);
            *lock(&lost) = Some(format!("session lost: {e}"));
        })
    };
    let result = send(sh, &mut tx, table, &ctx, keepalive_every, &lost);
    let _ = tx.shutdown(Shutdown::Both);
    let _ = reader.join();
    if sh.stopping() {
        return Ok(());
    }
    result?;
    match lock(&lost).take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Sends the table and End-of-RIB (the first time: the state `Sent`),
/// then keepalives until told to stop or the session is `lost`.
fn send(
    sh: &Shared,
    tx: &mut TcpStream,
    table: &Table,
    ctx: &CodecContext,
    keepalive_every: Duration,
    lost: &Mutex<Option<String>>,
) -> Result<(), String> {
    let encode = |m: Message| m.to_bytes(ctx).map_err(|e| format!("encoding: {e}"));
    let keepalive = encode(Message::Keepalive)?;
    let mut last = Instant::now();
    let started = Instant::now();
    let over = || sh.stopping() || lock(lost).is_some();
    let w = |tx: &mut TcpStream, b: &[u8]| tx.write_all(b).map_err(|e| format!("sending: {e}"));
    for chunk in &table.chunks {
        if over() {
            return Ok(());
        }
        w(tx, chunk)?;
        if let Some(pace) = table.pace {
            std::thread::sleep(pace);
        }
        if last.elapsed() >= keepalive_every {
            w(tx, &keepalive)?;
            last = Instant::now();
        }
    }
    w(
        tx,
        &encode(Message::Update(Update::end_of_rib(table.family)))?,
    )?;
    sh.completed.fetch_add(1, Ordering::Relaxed);
    if !matches!(*lock(&sh.state), Some(State::Sent { .. })) {
        sh.set(State::Sent {
            updates: table.updates,
            took: started.elapsed(),
        });
    }
    let mut next_churn = Instant::now();
    let mut announced = false;
    while !over() {
        std::thread::sleep(Duration::from_millis(20));
        if let Some(c) = &table.churn
            && Instant::now() >= next_churn
            && !sh.churn_held.load(Ordering::Relaxed)
        {
            w(tx, if announced { &c.withdraw } else { &c.announce })?;
            announced = !announced;
            next_churn = Instant::now() + c.every;
            last = Instant::now();
            sh.churned.fetch_add(1, Ordering::Relaxed);
        }
        if last.elapsed() >= keepalive_every {
            w(tx, &keepalive)?;
            last = Instant::now();
        }
    }
    Ok(())
}

/// Connects, retrying while the router is not listening yet.
fn connect(sh: &Shared, addr: SocketAddr) -> Result<TcpStream, String> {
    let end = Instant::now() + CONNECT_FOR;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= end || sh.stopping() => {
                return Err(format!("connecting to {addr}: {e}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// OPEN both ways, then KEEPALIVE both ways (RFC 4271 §8.2.2, as the
/// connecting side); the hold time negotiated.
fn handshake(
    tx: &mut TcpStream,
    rx: &mut TcpStream,
    buf: &mut BytesMut,
    sender: &Sender,
    family: Family,
    ctx: &CodecContext,
) -> Result<u16, String> {
    let _ = rx.set_read_timeout(Some(Duration::from_secs(30)));
    let open = Open::new(
        sender.local_as,
        HOLD_TIME,
        sender.address,
        vec![
            Capability::Multiprotocol { family },
            Capability::RouteRefresh,
            Capability::FourOctetAs {
                asn: sender.local_as,
            },
        ],
    );
    let io = |e: std::io::Error| format!("handshake: {e}");
    let encode = |m: Message| m.to_bytes(ctx).map_err(|e| format!("encoding: {e}"));
    tx.write_all(&encode(Message::Open(open))?).map_err(io)?;
    let hold = match next(rx, buf, ctx)? {
        Message::Open(o)
            if o.capabilities()
                .any(|c| matches!(c, Capability::FourOctetAs { .. })) =>
        {
            o.hold_time.min(HOLD_TIME)
        }
        Message::Open(_) => return Err("the router did not offer 4-octet AS numbers".into()),
        m => return Err(format!("expected OPEN, got {m:?}")),
    };
    tx.write_all(&encode(Message::Keepalive)?).map_err(io)?;
    match next(rx, buf, ctx)? {
        Message::Keepalive => {}
        m => return Err(format!("expected KEEPALIVE, got {m:?}")),
    }
    let _ = rx.set_read_timeout(None);
    Ok(hold)
}

/// The next message from the router; a NOTIFICATION is an error.
fn next(rx: &mut TcpStream, buf: &mut BytesMut, ctx: &CodecContext) -> Result<Message, String> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(m) = Message::decode_from(buf, ctx, None).map_err(|e| format!("{e:?}"))? {
            if let Message::Notification(n) = &m {
                return Err(format!("NOTIFICATION from the router: {n:?}"));
            }
            return Ok(m);
        }
        let n = rx.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed by the router".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads and drops messages until the session fails; returns why.
fn drain(rx: &mut TcpStream, buf: &mut BytesMut, ctx: &CodecContext) -> String {
    loop {
        if let Err(e) = next(rx, buf, ctx) {
            return e;
        }
    }
}
