//! The Raft port under attack: three members on loopback with the
//! cluster's certificates, and callers without them (plain TCP), with a
//! certificate of another CA, with a member's certificate claiming to be
//! another member, or with the operator's certificate making a member's
//! calls. Every such call is refused and leaves every member's term, vote,
//! log and applied index as they were, and the leader in place. Then a
//! flood of idle connections and a huge length prefix: the members keep
//! their heartbeats and their file descriptors. Last, the certificates
//! are rotated to a new CA while the cluster runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use consensus::Member;
use consensus::network::{CallError, Connection};
use consensus::protocol::{
    FrameError, MAX_FRAME, Manage, Rpc, RpcReply, encode_frame, read_frame, write_frame,
};
use consensus::tls::{Tls, TlsFiles, make_certificates};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use openraft::{BasicNode, LogId, SnapshotMeta, StoredMembership, Vote};
use speaker::rib::{PeerId, RibCommand};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::{NodeId, Request};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use common::rib_config;

async fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What an attack must not change: term, vote, last log index, applied
/// index and the leader, of one member.
#[derive(Debug, PartialEq, Eq)]
struct Standing {
    term: u64,
    vote: String,
    last_log: Option<u64>,
    applied: Option<u64>,
    leader: Option<NodeId>,
}

fn standing(m: &Member) -> Standing {
    let x = m.raft.metrics().borrow().clone();
    Standing {
        term: x.current_term,
        vote: format!("{:?}", x.vote),
        last_log: x.last_log_index,
        applied: x.last_applied.map(|l| l.index),
        leader: x.current_leader,
    }
}

async fn three(dir: &Path) -> Vec<Member> {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut members = Vec::new();
    for id in 1..=3 {
        members.push(common::start(id, any, dir, rib_config()).await);
    }
    let addrs: BTreeMap<NodeId, SocketAddr> =
        members.iter().map(|m| (m.id, common::socket(m))).collect();
    members[0].init(addrs).await.unwrap();
    wait_for("a leader", 20, || {
        let l = members[0].leader()?;
        members.iter().all(|m| m.leader() == Some(l)).then_some(l)
    })
    .await;
    members[0]
        .write(Request::new(vec![RibCommand::PeerDown { peer: PeerId(7) }]))
        .await
        .unwrap();
    // Settled: every member applied its whole log, the same.
    wait_for("members applied the write", 20, || {
        let a: Vec<_> = members
            .iter()
            .map(|m| {
                let s = standing(m);
                (s.applied, s.last_log)
            })
            .collect();
        a.iter()
            .all(|x| *x == a[0] && x.0.is_some() && x.0 == x.1)
            .then_some(())
    })
    .await;
    members
}

fn vote_request(term: u64, candidate: NodeId) -> Rpc {
    Rpc::Vote(VoteRequest {
        vote: Vote::new(term, candidate),
        last_log_id: Some(LogId::new(
            openraft::CommittedLeaderId::new(term, candidate),
            u64::MAX / 2,
        )),
    })
}

fn append_request(term: u64, leader: NodeId) -> Rpc {
    Rpc::Append(
        AppendEntriesRequest {
            vote: Vote::new_committed(term, leader),
            prev_log_id: None,
            entries: vec![],
            leader_commit: None,
        },
        0,
    )
}

fn snapshot_request(term: u64, leader: NodeId, offset: u64) -> Rpc {
    Rpc::Snapshot(InstallSnapshotRequest {
        vote: Vote::new_committed(term, leader),
        meta: SnapshotMeta {
            last_log_id: None,
            last_membership: StoredMembership::<NodeId, BasicNode>::default(),
            snapshot_id: "forged".into(),
        },
        offset,
        data: vec![0; 16],
        done: false,
    })
}

fn forward_request() -> Rpc {
    Rpc::Forward(Request::new(vec![RibCommand::PeerDown {
        peer: PeerId(99),
    }]))
}

/// Every attack, as (what, request).
fn attacks(term: u64, leader: NodeId, other: NodeId) -> Vec<(&'static str, Rpc)> {
    vec![
        ("Forward", forward_request()),
        (
            "Manage::Add",
            Rpc::Manage(Manage::Add(9, "127.0.0.1:9".into())),
        ),
        ("Manage::Remove", Rpc::Manage(Manage::Remove(other))),
        ("Vote with term+100", vote_request(term + 100, other)),
        ("AppendEntries", append_request(term + 100, other)),
        (
            "InstallSnapshot at a huge offset",
            snapshot_request(term + 100, leader, 1 << 40),
        ),
    ]
}

/// Sends `rpc` in the clear; true if anything decodes as a reply.
async fn plain_call(addr: SocketAddr, rpc: &Rpc) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    let frame = encode_frame(rpc, MAX_FRAME).unwrap();
    let _ = write_frame(&mut s, &frame).await;
    matches!(
        tokio::time::timeout(
            Duration::from_secs(10),
            read_frame::<_, RpcReply>(&mut s, MAX_FRAME)
        )
        .await,
        Ok(Ok(_))
    )
}

/// The reply to `rpc` over TLS as `tls`; `None`: no reply (refused or
/// closed).
async fn tls_call(addr: SocketAddr, tls: Arc<Tls>, target: NodeId, rpc: &Rpc) -> Option<RpcReply> {
    let mut c = Connection::new(Some(target), addr.to_string(), Some(tls));
    c.call(rpc, Duration::from_secs(10)).await.ok()
}

/// A refusal as a reply: an error that says why.
fn refused(reply: &Option<RpcReply>) -> bool {
    match reply {
        None => true,
        Some(RpcReply::Forward(Err(_)) | RpcReply::Manage(Err(_))) => true,
        Some(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_the_right_certificate_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let members = three(dir.path()).await;
    let leader = members[0].leader().unwrap();
    let before: Vec<Standing> = members.iter().map(standing).collect();
    let term = before[0].term;
    let follower = members.iter().find(|m| m.id != leader).unwrap();

    // Another CA's certificates, with our CA to trust the member.
    let other = dir.path().join("other");
    make_certificates(&other, &[1, 2, 3], true).unwrap();
    let ours = common::certs(dir.path());
    let foreign = |name: &str| {
        Tls::load(TlsFiles {
            ca: ours.join("ca.pem"),
            ..TlsFiles::in_dir(&other, name)
        })
        .unwrap()
    };
    let operator = common::tls(dir.path(), "operator");
    let followers_cert = common::tls(dir.path(), &format!("member-{}", follower.id));

    for target in &members {
        let addr = common::socket(target);
        let other_id = members.iter().find(|m| m.id != target.id).unwrap().id;
        for (what, rpc) in attacks(term, leader, other_id) {
            assert!(
                !plain_call(addr, &rpc).await,
                "{what} in the clear to member {} was answered",
                target.id
            );
            let r = tls_call(addr, foreign("operator"), target.id, &rpc).await;
            assert!(r.is_none(), "{what} with another CA's operator: {r:?}");
            let r = tls_call(
                addr,
                foreign(&format!("member-{other_id}")),
                target.id,
                &rpc,
            )
            .await;
            assert!(r.is_none(), "{what} with another CA's member: {r:?}");
        }
        // The operator's certificate makes no member's call.
        for (what, rpc) in attacks(term, leader, other_id)
            .into_iter()
            .filter(|(w, _)| !w.starts_with("Manage"))
        {
            let r = tls_call(addr, operator.clone(), target.id, &rpc).await;
            assert!(refused(&r), "{what} as the operator: {r:?}");
        }
        // A member's certificate makes no management call, and no Raft
        // call as another member.
        if target.id != follower.id {
            for (what, rpc) in attacks(term, leader, other_id) {
                let claims_other =
                    matches!(&rpc, Rpc::Vote(_) | Rpc::Append(..) | Rpc::Snapshot(_))
                        && other_id != follower.id;
                if what.starts_with("Manage") || claims_other {
                    let r = tls_call(addr, followers_cert.clone(), target.id, &rpc).await;
                    assert!(
                        refused(&r),
                        "{what} with member {}'s certificate: {r:?}",
                        follower.id
                    );
                }
            }
        }
    }
    // The leader's own certificate cannot leave a hole in a snapshot.
    let leaders_cert = common::tls(dir.path(), &format!("member-{leader}"));
    let r = tls_call(
        common::socket(follower),
        leaders_cert,
        follower.id,
        &snapshot_request(term, leader, 1 << 40),
    )
    .await;
    assert!(refused(&r), "a snapshot chunk at 2^40: {r:?}");

    tokio::time::sleep(Duration::from_secs(3)).await;
    let after: Vec<Standing> = members.iter().map(standing).collect();
    assert_eq!(before, after, "an attack changed a member");
    // The operator is heard.
    let status = common::ask(dir.path(), &members[1], Manage::Status)
        .await
        .unwrap();
    assert_eq!(status.leader, Some(leader));
    for m in members {
        m.shutdown().await;
    }
}

/// How many of `streams` the other end closes (an end of stream or an
/// error) before `deadline`.
async fn closed_before<S: tokio::io::AsyncRead + Unpin>(
    streams: Vec<S>,
    deadline: Instant,
) -> usize {
    let mut closed = 0;
    for mut s in streams {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut b = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(left, s.read(&mut b)).await {
            closed += 1;
        }
    }
    closed
}

/// The number of file descriptors this process holds.
fn descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_a_huge_length_cost_no_heartbeat_and_no_descriptor() {
    const IDLE: usize = 10_000;
    let limit = rlimit::increase_nofile_limit(3 * IDLE as u64).unwrap();
    assert!(
        limit >= (IDLE + 2_000) as u64,
        "a file descriptor limit of {limit} is too low for {IDLE} connections"
    );
    let dir = tempfile::tempdir().unwrap();
    let members = three(dir.path()).await;
    let leader = members[0].leader().unwrap();
    let term = standing(&members[0]).term;
    let target = members.iter().find(|m| m.id == leader).unwrap();
    let addr = common::socket(target);
    let baseline = descriptors();

    // A member's certificate, then a 64 MiB length and silence; and one
    // under the limit (15 MiB) and silence.
    let follower = members.iter().find(|m| m.id != leader).unwrap().id;
    let cert = common::tls(dir.path(), &format!("member-{follower}"));
    let mut silent = Vec::new();
    for len in [64u32 << 20, 15 << 20] {
        let s = TcpStream::connect(addr).await.unwrap();
        let mut s = cert.connect(s, Some(leader)).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut s, &len.to_be_bytes())
            .await
            .unwrap();
        silent.push(s);
    }
    // Idle connections that never say anything, from another address
    // than the members' (127.0.0.2).
    let started = Instant::now();
    let mut idle = Vec::with_capacity(IDLE);
    let from_elsewhere = || async {
        let s = tokio::net::TcpSocket::new_v4()?;
        s.bind("127.0.0.2:0".parse().unwrap())?;
        s.connect(addr).await
    };
    while idle.len() < IDLE {
        match tokio::time::timeout(Duration::from_secs(2), from_elsewhere()).await {
            Ok(Ok(s)) => idle.push(s),
            // The backlog full: a connection refused or dropped.
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "connecting took too long"
        );
    }
    let opened = started.elapsed();
    // The cluster goes on: writes commit, the leader and term stay.
    let mut commits = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        members[1]
            .write(Request::new(vec![RibCommand::PeerDown { peer: PeerId(8) }]))
            .await
            .unwrap();
        commits.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let slowest = commits.iter().max().copied().unwrap_or_default();
    for m in &members {
        let s = standing(m);
        assert_eq!((s.leader, s.term), (Some(leader), term), "member {}", m.id);
    }
    assert!(slowest < Duration::from_secs(2), "a write took {slowest:?}");
    // The member closed every idle connection (a handshake never made)
    // and both silent ones (a length over the limit; a body that never
    // came).
    let closed_by = Instant::now() + Duration::from_secs(30);
    let closed = closed_before(idle, closed_by).await;
    let silent_closed = closed_before(silent, closed_by).await;
    // Our ends closed too: the descriptors are back to where they were.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = descriptors();
    eprintln!(
        "{IDLE} idle connections opened in {:.1} s; 10 writes meanwhile, the slowest {:?}; {closed} closed by the member, {silent_closed} of 2 silent ones; descriptors {baseline} before, {after} after",
        opened.as_secs_f64(),
        slowest
    );
    assert_eq!(closed, IDLE, "idle connections left open");
    assert_eq!(silent_closed, 2, "a silent connection left open");
    assert!(
        after <= baseline + 16,
        "descriptors: {baseline} before, {after} after"
    );
    for m in &members {
        let s = standing(m);
        assert_eq!((s.leader, s.term), (Some(leader), term), "member {}", m.id);
    }
    for m in members {
        m.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_rotate_to_a_new_ca_while_the_cluster_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut members = three(dir.path()).await;
    let leader = members[0].leader().unwrap();
    let certs = common::certs(dir.path());
    let old_operator = dir.path().join("old-operator");
    std::fs::create_dir_all(&old_operator).unwrap();
    for f in ["ca.pem", "operator.pem", "operator.key"] {
        std::fs::copy(certs.join(f), old_operator.join(f)).unwrap();
    }
    let new = dir.path().join("new");
    make_certificates(&new, &[1, 2, 3, 4, 5], true).unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    // 1. Every member trusts both CAs.
    let both = format!(
        "{}{}",
        read(&certs.join("ca.pem")),
        read(&new.join("ca.pem"))
    );
    std::fs::write(certs.join("ca.pem"), &both).unwrap();
    // 2. Every member's certificate from the new CA (and the operator's).
    for name in [
        "member-1", "member-2", "member-3", "member-4", "member-5", "operator",
    ] {
        for ext in ["pem", "key"] {
            std::fs::copy(
                new.join(format!("{name}.{ext}")),
                certs.join(format!("{name}.{ext}")),
            )
            .unwrap();
        }
    }
    // 3. The old CA no longer trusted.
    std::fs::copy(new.join("ca.pem"), certs.join("ca.pem")).unwrap();
    // A member restarts on the new files and catches up; writes commit.
    let pos = members.iter().position(|m| m.id != leader).unwrap();
    let restarted = members.remove(pos);
    let (id, addr) = (restarted.id, common::socket(&restarted));
    restarted.shutdown().await;
    members.push(common::start(id, addr, dir.path(), rib_config()).await);
    members[0]
        .write(Request::new(vec![RibCommand::PeerDown { peer: PeerId(5) }]))
        .await
        .unwrap();
    wait_for("every member applied the write", 30, || {
        let a: Vec<_> = members.iter().map(|m| standing(m).applied).collect();
        a.iter().all(|x| *x == a[0]).then_some(())
    })
    .await;
    for m in &members {
        assert_eq!(m.leader(), Some(leader), "member {}", m.id);
    }
    // The new operator is heard; the old one is not.
    let status = common::ask(dir.path(), &members[2], Manage::Status).await;
    assert_eq!(status.unwrap().leader, Some(leader));
    let old = Tls::load(TlsFiles::in_dir(&old_operator, "operator")).unwrap();
    let refused = consensus::manage::ask(&common::addr(&members[2]), old, Manage::Status).await;
    assert!(
        matches!(
            refused,
            Err(consensus::manage::ManageError::Call(
                CallError::Tls(..) | CallError::Frame(FrameError::Io(_))
            ))
        ),
        "the old CA's operator: {refused:?}"
    );
    for m in members {
        m.shutdown().await;
    }
}

/// An AppendEntries over the frame limit is openraft's PayloadTooLarge,
/// asking for fewer entries, before anything is sent (openraft then
/// sends fewer: no endless retry of a frame the receiver refuses).
#[tokio::test]
async fn an_append_over_the_frame_limit_asks_for_fewer_entries() {
    use openraft::error::RPCError;
    use openraft::network::{RPCOption, RaftNetwork};
    use openraft::{Entry, EntryPayload};
    // One entry of a fifth of the limit or more.
    let mut count = 50_000;
    let entry = |count: u32, index: u64| Entry::<storage::TypeConfig> {
        log_id: LogId::new(openraft::CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(Request::new(vec![common::routes(1, 0, count, 0)])),
    };
    while storage::format::encode(&entry(count, 1)).unwrap().len() < MAX_FRAME / 5 {
        count *= 2;
    }
    let append = |n: u64| AppendEntriesRequest::<storage::TypeConfig> {
        vote: Vote::new_committed(1, 1),
        prev_log_id: None,
        entries: (1..=n).map(|i| entry(count, i)).collect(),
        leader_commit: None,
    };
    // Nothing listens there: only a frame within the limit tries to
    // connect.
    let mut c = Connection::new(Some(2), "127.0.0.1:9".into(), None);
    let option = RPCOption::new(Duration::from_secs(1));
    match c.append_entries(append(8), option.clone()).await {
        Err(RPCError::PayloadTooLarge(p)) => assert_eq!(p.entries_hint(), 4),
        other => panic!("8 entries over the limit: {other:?}"),
    }
    match c.append_entries(append(2), option).await {
        Err(RPCError::Unreachable(_)) => {}
        other => panic!("2 entries within the limit: {other:?}"),
    }
}
