//! One measurement: a fresh LAN with the reflector (node 1), the source
//! (node 2) and the clients (nodes 10..), the clients' sessions up first,
//! then the source's replay, then polling until every client holds the
//! whole table. Everything is torn down when this returns (drop order:
//! processes first, the LAN last).

use crate::clients::{self, Client, View};
use crate::interrupt;
use crate::proc::Proc;
use crate::reflectors::{self, Kind, Setup};
use anyhow::{Context, Result, anyhow};
use reflex_tests::netns::{Daemon, Lan, Node};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// RFC 5398 documentation AS, absent from the full table's AS paths (65000
/// is in some, and would make every reflector drop them as loops).
pub const ASN: u32 = 64496;
const CLUSTER_ID: Ipv4Addr = Ipv4Addr::new(198, 18, 255, 1);
const POLL: Duration = Duration::from_millis(100);
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Options {
    pub clients: usize,
    pub mrt: PathBuf,
    pub reflex: PathBuf,
    pub timeout: Duration,
    /// Prefixes every client must hold at the end.
    pub expected: usize,
    /// Per-run directories (configurations, logs) go under this one.
    pub dir: PathBuf,
    /// The policy sections of `reflex-policy` ([`crate::policy`]).
    pub import_policy: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Status {
    Done,
    Timeout,
    Failed(String),
}

pub struct Outcome {
    pub kind: Kind,
    pub status: Status,
    /// Routes of the client that holds the fewest, at the end.
    pub routes: usize,
    /// First UPDATE sent to the last client holding every route.
    pub reflect: Option<f64>,
    /// The reflector's VmHWM just before it was stopped (of a cluster: the
    /// largest of its members').
    pub peak_rss: Option<u64>,
    /// Each member's VmHWM (one for a single reflector).
    pub member_rss: Vec<Option<u64>>,
    /// First UPDATE to End-of-RIB written by the source.
    pub send: Option<f64>,
    /// Client sessions that went down during the replay.
    pub resets: usize,
    /// The reflector's RSS once the clients held the table (or at the end).
    pub rss_after: Option<u64>,
    /// Reflex, per member: seconds from the first UPDATE to the member
    /// having applied every path of the table.
    pub applied: Vec<Option<f64>>,
    /// Reflex: seconds from the first UPDATE to the last log entry of the
    /// replay committed (on a majority), as the leader knows it, and the
    /// paths (announced or withdrawn) those entries hold.
    pub committed: Option<(f64, u64)>,
    /// Per client: seconds from the first UPDATE to the whole table.
    pub client_times: Vec<Option<f64>>,
    /// Routes of the client holding the fewest when the source had sent
    /// End-of-RIB (where the reflector's time goes: reading, or sending).
    pub routes_at_eor: Option<usize>,
}

fn ns_err(e: String) -> anyhow::Error {
    anyhow!(e)
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// The source's stamp file: (first UPDATE, End-of-RIB) in ns since the epoch.
pub fn read_stamp(path: &Path) -> (Option<u128>, Option<u128>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    let first = lines
        .next()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|t| t.parse().ok());
    let end = lines.next().and_then(|t| t.trim().parse().ok());
    (first, end)
}

fn last_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .last()
        .unwrap_or("")
        .to_string()
}

/// Round `round` (from 1) of `kind`, in a directory of its own: a Reflex
/// data directory left by an earlier round would hold the table already.
pub fn run(kind: Kind, o: &Options, round: usize) -> Result<Outcome> {
    let dir = o.dir.join(format!("{}-{round}", kind.name()));
    std::fs::create_dir_all(&dir)?;
    let mut lan = Lan::new().map_err(ns_err)?;
    let rr = lan.node(1).map_err(ns_err)?;
    let src = lan.node(2).map_err(ns_err)?;
    // Further members of a cluster on nodes 3, 4, ...
    let mut members = vec![rr.clone()];
    for i in 1..kind.members() {
        members.push(lan.node(2 + i as u8).map_err(ns_err)?);
    }
    let clients = clients::start_all(&mut lan, o.clients, &members, ASN, &dir)?;
    let mut peers = vec![src.v4];
    peers.extend(clients.iter().map(|c| c.node.v4));
    let setup = |node| Setup {
        node,
        asn: ASN,
        cluster_id: CLUSTER_ID,
        clients: peers.clone(),
        dir: &dir,
        reflex_binary: &o.reflex,
        import_policy: match (kind, &o.import_policy) {
            (Kind::ReflexPolicy, Some(p)) => Some((p.as_str(), crate::policy::ROUTE_MAP)),
            _ => None,
        },
    };
    let mut reflector: Vec<crate::proc::Proc> = if kind.members() == 1 {
        vec![reflectors::start(kind, &setup(&rr))?]
    } else {
        let procs = members
            .iter()
            .enumerate()
            .map(|(i, m)| reflectors::start_member(&setup(m), i as u64 + 1))
            .collect::<Result<Vec<_>>>()?;
        init_cluster(&members, o, &dir)?;
        procs
    };
    let mut out = Outcome {
        kind,
        status: Status::Done,
        routes: 0,
        reflect: None,
        peak_rss: None,
        member_rss: Vec::new(),
        send: None,
        resets: 0,
        rss_after: None,
        applied: Vec::new(),
        committed: None,
        client_times: Vec::new(),
        routes_at_eor: None,
    };
    if let Err(e) = wait_established(&clients, &mut reflector) {
        out.status = Status::Failed(format!("{e:#}"));
        return Ok(out);
    }
    eprintln!("{}: {} clients established", kind.name(), clients.len());

    let stamp = dir.join("source.stamp");
    let mut source = start_source(&src, &rr, o, &stamp, &dir)?;
    let members = if kind.is_reflex() { &members[..] } else { &[] };
    let measured = measure(&clients, members, &mut reflector, &mut source, o, &dir);
    out.member_rss = reflector.iter().map(|r| r.peak_rss()).collect();
    out.peak_rss = out.member_rss.iter().flatten().copied().max();
    out.rss_after = reflector.iter().filter_map(|r| r.rss()).max();
    let (first, end) = read_stamp(&stamp);
    if let (Some(f), Some(e)) = (first, end) {
        out.send = Some((e - f) as f64 / 1e9);
    }
    let m = measured?;
    out.routes = m.routes;
    out.resets = m.resets;
    out.status = m.status;
    out.routes_at_eor = m.routes_at_eor;
    out.client_times = m
        .client_done
        .iter()
        .map(|d| Some((*d)?.saturating_sub(first?) as f64 / 1e9))
        .collect();
    if let (Some(done), Some(f)) = (m.done_at, first) {
        out.reflect = Some(done.saturating_sub(f) as f64 / 1e9);
    }
    out.committed = m
        .committed
        .zip(first)
        .map(|((t, n), f)| (t.saturating_sub(f) as f64 / 1e9, n));
    out.applied = m
        .applied_at
        .iter()
        .map(|c| Some((*c)?.saturating_sub(first?) as f64 / 1e9))
        .collect();
    Ok(out)
}

/// `reflex cluster init`, asked of the first member, until it answers.
fn init_cluster(members: &[Node], o: &Options, dir: &Path) -> Result<()> {
    let raft = |m: &Node| format!("{}:{}", m.v4, reflectors::RAFT_PORT);
    let certs = reflectors::reflex::certs(dir, &o.reflex)?;
    let mut cmd_args = vec![
        "cluster".to_string(),
        "init".into(),
        "--raft".into(),
        raft(&members[0]),
        "--certs".into(),
        certs.display().to_string(),
    ];
    for (i, m) in members.iter().enumerate() {
        cmd_args.push("--member".into());
        cmd_args.push(format!("{}={}", i + 1, raft(m)));
    }
    let end = Instant::now() + SESSION_TIMEOUT;
    loop {
        let out = members[0]
            .command(&o.reflex.to_string_lossy())
            .args(&cmd_args)
            .output()?;
        if out.status.success() {
            return Ok(());
        }
        if Instant::now() >= end {
            anyhow::bail!(
                "reflex cluster init failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        interrupt::sleep(Duration::from_millis(200))?;
    }
}

/// Which of the reflector's processes has exited, if one has.
fn exited(reflector: &mut [Proc]) -> Option<String> {
    reflector
        .iter_mut()
        .find_map(|r| (!r.is_running()).then(|| r.name.clone()))
}

/// Waits until every client's session to the reflector is up.
fn wait_established(clients: &[Client], reflector: &mut [Proc]) -> Result<()> {
    let end = Instant::now() + SESSION_TIMEOUT;
    loop {
        interrupt::sleep(Duration::from_millis(200))?;
        if let Some(name) = exited(reflector) {
            anyhow::bail!("{name} exited before the clients connected");
        }
        let down: Vec<&Client> = clients
            .iter()
            .filter(|c| !c.view().is_some_and(|v| v.established))
            .collect();
        if down.is_empty() {
            return Ok(());
        }
        if Instant::now() >= end {
            anyhow::bail!(
                "client session not established after {SESSION_TIMEOUT:?}: {}",
                down[0].describe()
            );
        }
    }
}

/// Runs this binary's hidden `source` subcommand in the source namespace.
fn start_source(src: &Node, rr: &Node, o: &Options, stamp: &Path, dir: &Path) -> Result<Daemon> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let log = std::fs::File::create(dir.join("source.log"))?;
    let mut cmd = src.command(&exe.to_string_lossy());
    cmd.args(["source", "--peer", &rr.v4.to_string()])
        .args(["--local", &src.v4.to_string()])
        .args(["--asn", &ASN.to_string()])
        .arg("--mrt")
        .arg(&o.mrt)
        .arg("--stamp")
        .arg(stamp)
        .stdout(std::process::Stdio::null())
        .stderr(log);
    Daemon::spawn("source", cmd).map_err(ns_err)
}

struct Measured {
    status: Status,
    /// When the last client got the whole table (ns since the epoch).
    done_at: Option<u128>,
    /// Routes of the client holding the fewest.
    routes: usize,
    resets: usize,
    client_done: Vec<Option<u128>>,
    routes_at_eor: Option<usize>,
    /// When each Reflex member had applied every path.
    applied_at: Vec<Option<u128>>,
    /// When the replay was committed, and its paths.
    committed: Option<(u128, u64)>,
}

/// What `reflex cluster status` says of a member's progress.
struct Progress {
    /// Paths in its Adj-RIBs-In.
    applied: usize,
    /// Paths in the entries it knows committed.
    committed: u64,
}

/// `reflex cluster status --every 50` in a member's namespace, its JSON
/// lines in a file: one long-lived process per member, not one per poll
/// (which would cost the reflector's CPU and blur the times).
fn watch(member: &Node, i: usize, o: &Options, dir: &Path) -> Result<(Daemon, PathBuf)> {
    let raft = format!("{}:{}", member.v4, reflectors::RAFT_PORT);
    let path = dir.join(format!("status-m{}.jsonl", i + 1));
    let certs = reflectors::reflex::certs(dir, &o.reflex)?;
    let mut cmd = member.command(&o.reflex.to_string_lossy());
    cmd.args([
        "cluster", "status", "--raft", &raft, "--every", "50", "--certs",
    ])
    .arg(&certs)
    .stdout(std::fs::File::create(&path)?)
    .stderr(std::process::Stdio::null());
    Ok((Daemon::spawn("status", cmd).map_err(ns_err)?, path))
}

/// The samples a watcher wrote: (time, progress).
fn samples(path: &Path) -> Vec<(u128, Progress)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            Some((
                u128::from(v.get("at_unix_ns")?.as_u64()?),
                Progress {
                    applied: v.get("paths")?.as_u64()? as usize,
                    committed: v.get("committed_paths")?.as_u64()?,
                },
            ))
        })
        .collect()
}

/// The first sample at which the count reached its final value: when the
/// last entry was committed (clients send no routes, so nothing after the
/// replay adds to it).
fn commit_time(samples: &[(u128, u64)]) -> Option<(u128, u64)> {
    let last = samples.last()?.1;
    samples.iter().find(|(_, n)| *n == last).copied()
}

/// Polls the clients until each holds the whole table, the reflector or
/// the source dies, or the time is up.
///
/// "Holds the whole table" is the exact count after the source's End-of-RIB:
/// the stream announces 3 prefixes that it later withdraws, so a count
/// reached on the way can pass the final one.
fn measure(
    clients: &[Client],
    members: &[Node],
    reflector: &mut [Proc],
    source: &mut Daemon,
    o: &Options,
    dir: &Path,
) -> Result<Measured> {
    let end = Instant::now() + o.timeout;
    let stamp = dir.join("source.stamp");
    let mut done: Vec<Option<u128>> = vec![None; clients.len()];
    let mut last: Vec<View> = vec![View::default(); clients.len()];
    let mut resets = vec![0usize; clients.len()];
    let mut at_eor = None;
    let mut applied: Vec<Option<u128>> = vec![None; members.len()];
    // Per member: (time, paths committed) while it applies the replay.
    let mut commits: Vec<Vec<(u128, u64)>> = vec![Vec::new(); members.len()];
    let watchers = members
        .iter()
        .enumerate()
        .map(|(i, m)| watch(m, i, o, dir))
        .collect::<Result<Vec<_>>>()?;
    let status = loop {
        interrupt::sleep(POLL)?;
        // A member has applied the replay once its Adj-RIBs-In hold the
        // table (the clients send none) after the source sent it all.
        let sent_at = read_stamp(&stamp).1;
        let sent_all = sent_at.is_some();
        for (i, (_, path)) in watchers.iter().enumerate() {
            let s = samples(path);
            commits[i] = s.iter().map(|(t, p)| (*t, p.committed)).collect();
            applied[i] = s
                .iter()
                .find(|(t, p)| sent_at.is_some_and(|e| *t >= e) && p.applied == o.expected)
                .map(|(t, _)| *t);
        }
        for (i, c) in clients.iter().enumerate() {
            if done[i].is_some() {
                continue;
            }
            let Some(v) = c.view() else { continue };
            if last[i].established && !v.established {
                resets[i] += 1;
                eprintln!(
                    "  client {i} ({}): session reset at {} routes",
                    c.node.v4, last[i].routes
                );
            }
            if sent_all && v.established && v.routes == o.expected {
                done[i] = Some(now_ns());
            }
            last[i] = v;
        }
        if sent_all && at_eor.is_none() {
            at_eor = last.iter().map(|v| v.routes).min();
        }
        // Without clients (ingest alone) the members' applied times end it.
        let none_to_wait = !clients.is_empty() || sent_all;
        if none_to_wait && done.iter().all(Option::is_some) && applied.iter().all(Option::is_some) {
            break Status::Done;
        }
        if let Some(name) = exited(reflector) {
            let why = format!("{name} exited; client routes {:?}", counts(&last));
            break Status::Failed(why);
        }
        if !source.is_running() {
            let why = format!("source exited: {}", last_line(&dir.join("source.log")));
            break Status::Failed(why);
        }
        if Instant::now() >= end {
            eprintln!(
                "  timeout: client routes {:?}, session resets {resets:?}",
                counts(&last)
            );
            break Status::Timeout;
        }
    };
    Ok(Measured {
        status,
        // Ingest alone: the last member to have applied the table.
        done_at: if clients.is_empty() { &applied } else { &done }
            .iter()
            .copied()
            .collect::<Option<Vec<u128>>>()
            .and_then(|t| t.into_iter().max()),
        routes: last.iter().map(|v| v.routes).min().unwrap_or(0),
        resets: resets.iter().sum(),
        client_done: done,
        routes_at_eor: at_eor,
        applied_at: applied,
        // The leader learns of a commit first.
        committed: commits
            .iter()
            .filter_map(|c| commit_time(c))
            .min_by_key(|(t, _)| *t),
    })
}

fn counts(v: &[View]) -> Vec<usize> {
    v.iter().map(|v| v.routes).collect()
}
