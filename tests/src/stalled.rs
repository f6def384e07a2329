//! A BGP peer that stops reading: it opens a session (hold time 0, so no
//! KEEPALIVE is due either way), asks for the table again with ROUTE-REFRESH
//! as often as told, and never reads another octet. What a router sends it
//! piles up in the router: the case of a peer whose socket is stuck.

use bytes::BytesMut;
use speaker::wire::route_refresh::{RefreshSubtype, RouteRefresh};
use speaker::wire::{Capability, CodecContext, Family, Message, Open};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The open, stalled session; dropping it closes the connection.
pub struct Stalled {
    stream: TcpStream,
}

impl Stalled {
    /// From network namespace `ns` (its receive buffers should be small:
    /// `net.ipv4.tcp_rmem` there), a session with `router` as `router_id`
    /// in `asn`, then `refreshes` ROUTE-REFRESH messages (IPv4 unicast).
    pub fn open(
        ns: &str,
        router: Ipv4Addr,
        router_id: Ipv4Addr,
        asn: u32,
        refreshes: usize,
    ) -> Result<Stalled, String> {
        let ns = ns.to_string();
        // The socket is made in the namespace by a thread that enters it.
        std::thread::spawn(move || -> Result<Stalled, String> {
            crate::netns::enter(&ns)?;
            let stream = connect(SocketAddr::from((router, 179)))?;
            handshake(&stream, router_id, asn)?;
            let ctx = CodecContext::four_octet();
            let refresh = Message::RouteRefresh(RouteRefresh::new(
                Family::IPV4_UNICAST,
                RefreshSubtype::NORMAL,
            ))
            .to_bytes(&ctx)
            .map_err(|e| e.to_string())?;
            let mut w = &stream;
            for _ in 0..refreshes {
                w.write_all(&refresh)
                    .map_err(|e| format!("sending ROUTE-REFRESH: {e}"))?;
            }
            Ok(Stalled { stream })
        })
        .join()
        .map_err(|_| "the stalled peer's thread panicked".to_string())?
    }
}

impl Drop for Stalled {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= end => return Err(format!("connecting to {addr}: {e}")),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// OPEN both ways, then KEEPALIVE both ways; nothing is read after.
fn handshake(stream: &TcpStream, router_id: Ipv4Addr, asn: u32) -> Result<(), String> {
    let ctx = CodecContext::four_octet();
    let open = Open::new(
        asn,
        0,
        router_id,
        vec![
            Capability::Multiprotocol {
                family: Family::IPV4_UNICAST,
            },
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs { asn },
        ],
    );
    let encode = |m: Message| m.to_bytes(&ctx).map_err(|e| format!("encoding: {e}"));
    let mut w = stream;
    w.write_all(&encode(Message::Open(open))?)
        .map_err(|e| format!("sending OPEN: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = BytesMut::new();
    match read_message(stream, &mut buf, &ctx)? {
        Message::Open(_) => {}
        m => return Err(format!("expected OPEN, got {m:?}")),
    }
    w.write_all(&encode(Message::Keepalive)?)
        .map_err(|e| format!("sending KEEPALIVE: {e}"))?;
    match read_message(stream, &mut buf, &ctx)? {
        Message::Keepalive => Ok(()),
        m => Err(format!("expected KEEPALIVE, got {m:?}")),
    }
}

/// One message, reading only as much as it takes (the rest stays unread
/// in the socket).
fn read_message(
    mut stream: &TcpStream,
    buf: &mut BytesMut,
    ctx: &CodecContext,
) -> Result<Message, String> {
    let mut need = 19;
    while buf.len() < need {
        let mut chunk = vec![0u8; need - buf.len()];
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            return Err("the router closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() >= 19 {
            need = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
            if need < 19 {
                return Err(format!("bad message length {need}"));
            }
        }
    }
    let msg = buf.split_to(need).freeze();
    Message::decode(msg, ctx, None).map_err(|e| format!("decoding: {e:?}"))
}
