//! RFC 4271 §6.8 connection collision when both speakers hold the other's
//! connection: Reflex in OpenSent on its own connection gets one from the
//! peer, which does not answer on Reflex's (as another Reflex in the same
//! state does). Reflex must read the peer's identifier from the OPEN on
//! the incoming connection, and when the peer's is higher, give up its own
//! connection and answer on the peer's, not wait on both until the hold
//! timer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use reflex_tests::netns::{Lan, enter};
use speaker::wire::{Capability, CodecContext, Family, Message, Open};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

fn open(id: Ipv4Addr) -> Vec<u8> {
    let open = Open::new(
        65000,
        30,
        id,
        vec![
            Capability::Multiprotocol {
                family: Family::IPV4_UNICAST,
            },
            Capability::FourOctetAs { asn: 65000 },
        ],
    );
    Message::Open(open)
        .to_bytes(&CodecContext::four_octet())
        .unwrap()
        .to_vec()
}

/// The next message on `s`, `None` at EOF or after the timeout.
fn next(s: &mut TcpStream, buf: &mut BytesMut) -> Option<Message> {
    let ctx = CodecContext::four_octet();
    let mut chunk = [0u8; 4096];
    loop {
        if let Ok(Some(m)) = Message::decode_from(buf, &ctx, None) {
            return Some(m);
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn a_collision_with_a_peer_that_holds_our_connection_is_resolved_by_identifier() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rx = lan.node(1).unwrap();
    let peer = lan.node(2).unwrap();
    let config = format!(
        "router-id = \"{rx}\"\nlocal-as = 65000\ndata-dir = \"{data}\"\n[listen]\naddresses = [\"{rx}\"]\n[timers]\nconnect-retry = 1\nidle-hold = 1\n[[neighbor]]\naddress = \"{p}\"\nremote-as = 65000\n",
        rx = rx.v4,
        p = peer.v4,
        data = dir.path().join("data").display()
    );
    let (rx4, peer4) = (rx.v4, peer.v4);
    let ns = peer.ns.clone();
    // The peer: accepts Reflex's connection and holds it unanswered, then
    // opens its own with a higher identifier than Reflex's.
    let fake = std::thread::spawn(move || -> Result<(), String> {
        enter(&ns)?;
        let listener =
            TcpListener::bind(SocketAddr::from((peer4, 179))).map_err(|e| e.to_string())?;
        let (mut held, _) = listener.accept().map_err(|e| e.to_string())?;
        held.set_read_timeout(Some(Duration::from_secs(20))).ok();
        let mut held_buf = BytesMut::new();
        match next(&mut held, &mut held_buf) {
            Some(Message::Open(_)) => {}
            m => {
                return Err(format!(
                    "expected Reflex's OPEN on its connection, got {m:?}"
                ));
            }
        }
        let higher = Ipv4Addr::new(198, 18, 255, 254);
        assert!(u32::from(higher) > u32::from(rx4));
        let mut ours =
            TcpStream::connect(SocketAddr::from((rx4, 179))).map_err(|e| e.to_string())?;
        ours.set_read_timeout(Some(Duration::from_secs(20))).ok();
        ours.write_all(&open(higher)).map_err(|e| e.to_string())?;
        let mut buf = BytesMut::new();
        // Ours wins (higher identifier): Reflex answers on it.
        match next(&mut ours, &mut buf) {
            Some(Message::Open(o)) if o.bgp_identifier == rx4 => {}
            m => {
                return Err(format!(
                    "expected Reflex's OPEN on the peer's connection, got {m:?}"
                ));
            }
        }
        ours.write_all(
            &Message::Keepalive
                .to_bytes(&CodecContext::four_octet())
                .unwrap(),
        )
        .map_err(|e| e.to_string())?;
        match next(&mut ours, &mut buf) {
            Some(Message::Keepalive) => {}
            m => return Err(format!("expected KEEPALIVE, got {m:?}")),
        }
        // And Reflex's own connection goes, with Cease 6/7.
        match next(&mut held, &mut held_buf) {
            Some(Message::Notification(n)) if n.code == 6 && n.subcode == 7 => Ok(()),
            None => Ok(()),
            m => Err(format!(
                "expected Cease 6/7 or a close on Reflex's connection, got {m:?}"
            )),
        }
    });
    let _reflex = reflex_tests::reflex::start(&rx, dir.path(), &config).unwrap();
    let result = fake.join().unwrap();
    assert!(
        result.is_ok(),
        "{result:?}\n{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
}
