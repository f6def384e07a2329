//! A cluster's clients dial every member; one runs each session. The
//! others hold a client's connection open, unanswered, instead of closing
//! it: a graceful-restart helper may take a connection that fails after it
//! was accepted for the end of our restart and drop the routes it keeps
//! stale from that member (GoBGP 3 does), which right after a move are
//! what covers it while it reads the new owner's table. When the session
//! comes to run on that member, the connection is handed to it: the
//! member's OPEN arrives on it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::cluster::{Cluster, client_neighbor, owner_of, three_and_three};
use reflex_tests::netns::wait_for;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TOKEN: &str = "a-cluster-parked-token";

/// What the client's connection to the member saw.
#[derive(Debug, PartialEq)]
enum Seen {
    /// Open and silent for the time asked.
    Held,
    /// Closed by the member.
    Closed,
    /// A BGP message of this type.
    Message(u8),
    Failed(String),
}

/// Reads `s` for `within`: the first message's type, the close, or
/// nothing.
fn watch(s: &mut TcpStream, within: Duration) -> Seen {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < within {
        match s.read(&mut buf) {
            Ok(0) => return Seen::Closed,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() >= 19 {
                    return Seen::Message(got[18]);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Seen::Closed,
            Err(e) => return Seen::Failed(e.to_string()),
        }
    }
    Seen::Held
}

#[test]
fn a_connection_to_a_member_not_running_the_session_is_held_then_used() {
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, clients) = three_and_three().unwrap();
    let client = clients[0].clone();
    // Passive: only the client's connection (this test's) brings the
    // session up.
    let neighbors = format!(
        "[api]\ntoken = \"{TOKEN}\"\n{}",
        client_neighbor(&client, 30, "passive = true\n")
    );
    let _cluster = Cluster::start_with(members.clone(), dir.path(), &neighbors).unwrap();
    let owner = wait_for(60, || owner_of(&members[0], &client)).expect("no owner");
    let other = members
        .iter()
        .enumerate()
        .find(|(i, _)| *i as u64 + 1 != owner)
        .map(|(i, m)| (i as u64 + 1, m.clone()))
        .unwrap();
    let to: SocketAddr = format!("{}:179", other.1.v4).parse().unwrap();
    let (held_tx, held_rx) = mpsc::channel();
    let (moved_tx, moved_rx) = mpsc::channel::<()>();
    let ns = client.ns.clone();
    let reader = std::thread::spawn(move || -> (Seen, Seen) {
        if let Err(e) = reflex_tests::netns::enter(&ns) {
            return (Seen::Failed(e), Seen::Failed(String::new()));
        }
        let mut s = match TcpStream::connect_timeout(&to, Duration::from_secs(5)) {
            Ok(s) => s,
            Err(e) => return (Seen::Failed(e.to_string()), Seen::Failed(String::new())),
        };
        s.set_read_timeout(Some(Duration::from_millis(200))).ok();
        // Before: the member closed it at once.
        let before = watch(&mut s, Duration::from_secs(5));
        let _ = held_tx.send(before == Seen::Held);
        if before != Seen::Held || moved_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            return (before, Seen::Failed("not moved".into()));
        }
        (before, watch(&mut s, Duration::from_secs(30)))
    });
    let held = held_rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or(false);
    if held {
        let (code, out, err) = reflex_tests::reflex::ctl(
            &members[0],
            Some(TOKEN),
            &["move", &client.v4.to_string(), "--to", &other.0.to_string()],
        );
        assert_eq!(code, Some(0), "ctl move: {out}{err}");
        moved_tx.send(()).unwrap();
    }
    let (before, after) = reader.join().unwrap();
    assert_eq!(
        before,
        Seen::Held,
        "member {}, not running the session, did not hold the connection",
        other.0
    );
    assert_eq!(
        after,
        Seen::Message(1),
        "member {}, running the session now, did not send its OPEN on the held connection",
        other.0
    );
}
