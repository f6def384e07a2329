//! The route source: a minimal BGP speaker that runs inside the source
//! namespace (the bench re-executes itself there), opens an iBGP session to
//! the reflector, replays the table as fast as the session takes it, sends
//! End-of-RIB and then only keeps the session up until it is killed.
//!
//! The wall-clock time of the first UPDATE written goes to a stamp file: the
//! bench reads it from another process, hence the realtime clock.

use crate::table;
use anyhow::{Context, Result, bail};
use bytes::BytesMut;
use speaker::wire::{Capability, CodecContext, Family, Message, Open, Update};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const KEEPALIVE_EVERY: Duration = Duration::from_secs(10);
const HOLD_TIME: u16 = 90;

#[derive(clap::Args, Debug)]
pub struct SourceArgs {
    /// The reflector's address.
    #[arg(long)]
    pub peer: Ipv4Addr,
    /// This node's address: router id and NEXT_HOP of every route.
    #[arg(long)]
    pub local: Ipv4Addr,
    #[arg(long)]
    pub asn: u32,
    #[arg(long)]
    pub mrt: PathBuf,
    /// Written after the first UPDATE: "<first update ns> <updates>", then
    /// after End-of-RIB a second line "<end of rib ns>".
    #[arg(long)]
    pub stamp: PathBuf,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub fn run(args: &SourceArgs) -> Result<()> {
    let table = table::load(&args.mrt, args.local)?;
    eprintln!(
        "source: {} UPDATEs loaded ({} prefixes at the end)",
        table.updates, table.prefixes
    );
    let ctx = CodecContext::four_octet();
    let mut stream = connect(SocketAddr::from((args.peer, 179)))?;
    stream.set_nodelay(true)?;
    let mut rx = stream.try_clone()?;
    let mut buf = BytesMut::new();
    handshake(&mut stream, &mut rx, &mut buf, args, &ctx)?;
    eprintln!("source: session established");

    // From here on the reflector's messages only need to be drained; a
    // NOTIFICATION or a closed connection ends the source (the bench sees
    // it exit).
    let rx_ctx = ctx.clone();
    std::thread::spawn(move || {
        let err = drain(&mut rx, &mut buf, &rx_ctx);
        eprintln!("source: session lost: {err:#}");
        std::process::exit(2);
    });

    let keepalive = Message::Keepalive.to_bytes(&ctx)?;
    let mut last_keepalive = Instant::now();
    let mut stamp = None;
    for chunk in &table.chunks {
        let t = now_ns();
        stream.write_all(chunk).context("sending UPDATEs")?;
        if stamp.is_none() {
            stamp = Some(t);
            std::fs::write(&args.stamp, format!("{t} {}\n", table.updates))?;
        }
        if last_keepalive.elapsed() >= KEEPALIVE_EVERY {
            stream.write_all(&keepalive)?;
            last_keepalive = Instant::now();
        }
    }
    let eor = Message::Update(Update::end_of_rib(Family::IPV4_UNICAST)).to_bytes(&ctx)?;
    stream.write_all(&eor)?;
    let end = now_ns();
    let first = stamp.unwrap_or(end);
    std::fs::write(&args.stamp, format!("{first} {}\n{end}\n", table.updates))?;
    eprintln!(
        "source: {} UPDATEs and End-of-RIB sent in {:.2} s",
        table.updates,
        (end - first) as f64 / 1e9
    );
    loop {
        std::thread::sleep(KEEPALIVE_EVERY);
        stream.write_all(&keepalive)?;
    }
}

/// Connects, retrying while the reflector is not listening yet.
fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= end => {
                return Err(e).with_context(|| format!("connecting to {addr}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// OPEN both ways, then KEEPALIVE both ways (RFC 4271 §8.2.2, as the
/// connecting side).
fn handshake(
    tx: &mut TcpStream,
    rx: &mut TcpStream,
    buf: &mut BytesMut,
    args: &SourceArgs,
    ctx: &CodecContext,
) -> Result<()> {
    let open = Open::new(
        args.asn,
        HOLD_TIME,
        args.local,
        vec![
            Capability::Multiprotocol {
                family: Family::IPV4_UNICAST,
            },
            Capability::RouteRefresh,
            Capability::FourOctetAs { asn: args.asn },
        ],
    );
    tx.write_all(&Message::Open(open).to_bytes(ctx)?)?;
    match next(rx, buf, ctx)? {
        Message::Open(o)
            if o.capabilities()
                .any(|c| matches!(c, Capability::FourOctetAs { .. })) => {}
        Message::Open(_) => bail!("the reflector did not offer 4-octet AS numbers"),
        m => bail!("expected OPEN, got {m:?}"),
    }
    tx.write_all(&Message::Keepalive.to_bytes(ctx)?)?;
    match next(rx, buf, ctx)? {
        Message::Keepalive => Ok(()),
        m => bail!("expected KEEPALIVE, got {m:?}"),
    }
}

/// The next message from the reflector; a NOTIFICATION is an error.
fn next(rx: &mut TcpStream, buf: &mut BytesMut, ctx: &CodecContext) -> Result<Message> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(m) =
            Message::decode_from(buf, ctx, None).map_err(|e| anyhow::anyhow!("{e:?}"))?
        {
            if let Message::Notification(n) = &m {
                bail!("NOTIFICATION from the reflector: {n:?}");
            }
            return Ok(m);
        }
        let n = rx.read(&mut chunk)?;
        if n == 0 {
            bail!("connection closed by the reflector");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads and drops messages until the session fails; returns why.
fn drain(rx: &mut TcpStream, buf: &mut BytesMut, ctx: &CodecContext) -> anyhow::Error {
    loop {
        if let Err(e) = next(rx, buf, ctx) {
            return e;
        }
    }
}
