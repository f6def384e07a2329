//! A Raft call given up by its caller (openraft drops the future at its
//! own timeout) must not leave its reply on the kept connection for the
//! next call to read: a leader that read a Conflict meant for an earlier
//! AppendEntries as the answer to one from the start of the log panicked
//! in openraft's replication task and never replicated to that member
//! again (seen after a Raft-only partition healed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use consensus::contact::Pong;
use consensus::network::Connection;
use consensus::protocol::{MAX_FRAME, Rpc, RpcReply, encode_frame, read_frame, write_frame};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// A member that answers each ping with a pong numbered in the order the
/// pings came (in `last_log_index`), the second one late.
async fn numbering_member(listener: TcpListener, tls: Arc<consensus::tls::Tls>) {
    let counter = Arc::new(AtomicU64::new(0));
    loop {
        let (tcp, _) = listener.accept().await.unwrap();
        let (tls, counter) = (tls.clone(), counter.clone());
        tokio::spawn(async move {
            let Ok((mut stream, _)) = tls.accept(tcp).await else {
                return;
            };
            while let Ok(Rpc::Ping) = read_frame::<_, Rpc>(&mut stream, MAX_FRAME).await {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                if n == 2 {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                let pong = Pong {
                    leader: false,
                    heard_leader_ms: None,
                    last_log_index: Some(n),
                    build: None,
                };
                let frame = encode_frame(&RpcReply::Ping(pong), MAX_FRAME).unwrap();
                if write_frame(&mut stream, &frame).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn number(reply: RpcReply) -> Option<u64> {
    match reply {
        RpcReply::Ping(p) => p.last_log_index,
        _ => None,
    }
}

#[tokio::test]
async fn a_call_given_up_leaves_no_reply_for_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(numbering_member(
        listener,
        common::tls(dir.path(), "member-2"),
    ));
    let mut c = Connection::new(
        Some(2),
        addr.to_string(),
        Some(common::tls(dir.path(), "member-1")),
    );
    // A first call answered at once: the connection is kept.
    let ttl = Duration::from_secs(5);
    let first = c.call(&Rpc::Ping, ttl).await.unwrap();
    assert_eq!(number(first), Some(1));
    // The second is answered late: the caller gives up before.
    let given_up = tokio::time::timeout(Duration::from_millis(150), c.call(&Rpc::Ping, ttl)).await;
    assert!(given_up.is_err(), "the second ping was to be answered late");
    // The next call gets its own answer, not the late one of the call
    // given up.
    let next = c.call(&Rpc::Ping, ttl).await.unwrap();
    assert_eq!(number(next), Some(3), "the reply of the call given up");
    // And that connection is kept for the one after.
    let after = c.call(&Rpc::Ping, ttl).await.unwrap();
    assert_eq!(number(after), Some(4));
}
