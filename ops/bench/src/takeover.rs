//! `reflect-bench takeover`: how long a three-member cluster takes to take
//! a client's session over from a member killed with SIGKILL, a full
//! table in hand. A route source (the PCH full IPv4 table from
//! ../shared/bgp-data) and a BIRD client peer with every member; once the
//! client holds the table, the member owning its session is killed, and
//! the others' APIs are read every 20 ms until one runs the session
//! Established and has written it the table and End-of-RIB; the times
//! printed are that member's log's (to the millisecond, whatever the
//! polling's delay). The client is read every 100 ms meanwhile: its
//! lowest prefix count is printed too.

use anyhow::{Context, Result, bail};
use clap::Args;
use reflex_tests::bird::Bird;
use reflex_tests::cluster::{Cluster, owner_of};
use reflex_tests::continuity::Sampler;
use reflex_tests::http::get;
use reflex_tests::netns::{Lan, Node, wait_for};
use reflex_tests::replay::{Routes, Sender, Source, State, Table};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const AS: u32 = 65000;

/// The API's token (`reflex ctl move` needs one).
const TOKEN: &str = "takeover-bench-token";

/// The most a takeover may take (issue 16's goal).
const GOAL: Duration = Duration::from_secs(5);

#[derive(Args, Debug)]
pub struct TakeoverArgs {
    /// The RIB dump replayed as the full table.
    #[arg(
        long,
        default_value = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/bgp-data/mrt/derived/DERIVED_rib-from-updates.et-header.2015_pch-as3856_fullv4.gz"
        )
    )]
    rib: PathBuf,
    /// Takeovers to measure (each kills the owner, then starts it again).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Kill the leader: the client's session is moved to the leader
    /// first (a new leader is elected before the session moves).
    #[arg(long)]
    leader: bool,
    /// Keep the members' data directories and logs (their path is
    /// printed).
    #[arg(long)]
    keep: bool,
}

fn members_neighbors(source: &Node, client: &Node) -> String {
    format!(
        "\n[api]\ntoken = \"{TOKEN}\"\n\n[[neighbor]]\naddress = \"{}\"\nremote-as = {AS}\nroute-reflector-client = true\npassive = true\nhold-time = 30\n\
         \n[[neighbor]]\naddress = \"{}\"\nremote-as = {AS}\nroute-reflector-client = true\nhold-time = 30\nconnect-retry = 2\nidle-hold = 1\n",
        source.v4, client.v4
    )
}

fn json(m: &Node, path: &str) -> Option<serde_json::Value> {
    let r = get(&m.ns, "127.0.0.1:8179".parse().ok()?, path).ok()?;
    serde_json::from_str(&r.body).ok()
}

/// The client's session as member `m` runs it: (Established, table sent).
/// From the list of neighbours, which counts no Adj-RIB-Out: the view of
/// one neighbour walks the whole table for its advertised count, and
/// asked every 20 ms it would load the members it measures.
fn session_on(m: &Node, client: &Node) -> Option<(bool, bool)> {
    let all = json(m, "/api/v1/neighbors")?;
    let v = all
        .as_array()?
        .iter()
        .find(|n| n["address"].as_str() == Some(&client.v4.to_string()))?;
    Some((
        v["state"].as_str() == Some("Established"),
        v["table_sent"].as_bool() == Some(true),
    ))
}

/// Seconds since midnight (UTC) of a log line's timestamp
/// (`2026-12-07T02:26:50.582346Z ...`).
fn log_time(line: &str) -> Option<f64> {
    let t = line.get(11..26)?;
    let (h, rest) = t.split_once(':')?;
    let (m, s) = rest.split_once(':')?;
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

/// Seconds since midnight (UTC) now.
fn time_of_day() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_secs_f64() % 86_400.0
}

/// When, after `killed` (seconds since midnight), the member whose log is
/// in `dir` brought the client's session up and wrote it the table and
/// End-of-RIB, as its own log says: (Established, table written), in
/// seconds after the kill.
fn logged_takeover(dir: &std::path::Path, client: &Node, killed: f64) -> Option<(f64, f64)> {
    let log = reflex_tests::reflex::log(dir);
    let session = format!("session{{neighbor={}}}", client.v4);
    let after = |what: &str| {
        log.lines()
            .filter(|l| l.contains(&session) && l.contains(what))
            .filter_map(log_time)
            .map(|t| (t - killed).rem_euclid(86_400.0))
            .find(|d| *d < 600.0)
    };
    Some((
        after("session established")?,
        after("table and End-of-RIB written")?,
    ))
}

/// Moves the client's session to the leader (`reflex ctl move`) and
/// waits until the leader owns it, with no move under way.
fn move_to_leader(members: &[Node], client: &Node) -> Result<()> {
    let leader = wait_for(60, || {
        json(&members[0], "/api/v1/cluster")?["leader"].as_u64()
    })
    .context("no leader")?;
    if owner_of(&members[0], client) != Some(leader) {
        let out = reflex_tests::reflex::ctl(
            &members[0],
            Some(TOKEN),
            &["move", &client.v4.to_string(), "--to", &leader.to_string()],
        );
        if out.0 != Some(0) {
            bail!("cannot move the client's session to the leader: {}", out.2);
        }
    }
    let leader_node = &members[leader as usize - 1];
    wait_for(120, || {
        (owner_of(&members[0], client) == Some(leader)
            && session_on(leader_node, client) == Some((true, true)))
        .then_some(())
    })
    .context("the client's session did not move to the leader")?;
    // The old owner's session closes once the move is done.
    std::thread::sleep(Duration::from_secs(5));
    Ok(())
}

pub fn run(args: &TakeoverArgs) -> Result<()> {
    if !reflex_tests::netns::available() {
        bail!("cannot create network namespaces: run as root with iproute2 installed");
    }
    let routes = Routes::from_rib(&args.rib)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot read {}", args.rib.display()))?;
    let dir = tempfile::tempdir()?;
    if args.keep {
        eprintln!(
            "members' directories and logs kept in {}",
            dir.path().display()
        );
    }
    let mut lan = Lan::new().map_err(anyhow::Error::msg)?;
    let members: Vec<Node> = (1..=3)
        .map(|i| lan.node(i))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let src = lan.node(4).map_err(anyhow::Error::msg)?;
    let client = lan.node(5).map_err(anyhow::Error::msg)?;
    let mut cluster = Cluster::start_with(
        members.clone(),
        dir.path(),
        &members_neighbors(&src, &client),
    )
    .map_err(anyhow::Error::msg)?;
    let bird = std::sync::Arc::new(
        Bird::start_text(
            &client,
            dir.path(),
            &reflex_tests::cluster::bird_client_text(&client, &members),
        )
        .map_err(anyhow::Error::msg)?,
    );
    let sender = Sender {
        address: src.v4,
        address_v6: src.v6,
        local_as: AS,
        peer_as: AS,
    };
    let table = std::sync::Arc::new(Table::encode(&routes, &sender));
    let prefixes = table.prefixes;
    drop(routes);
    let _sources: Vec<Source> = members
        .iter()
        .map(|m| Source::start_reconnecting(&src.ns, m.v4, sender, table.clone()))
        .collect();
    eprintln!("replaying {prefixes} prefixes to a three-member cluster; waiting for the client");
    // The client's table: its count unchanged for 3 s.
    let mut last = (0, Instant::now());
    let full = wait_for(600, || {
        let n = bird.prefixes()?;
        if n != last.0 {
            last = (n, Instant::now());
            return None;
        }
        (n + 1000 > prefixes && last.1.elapsed() > Duration::from_secs(3)).then_some(n)
    })
    .context("the client never held the full table")?;
    let _ = &_sources
        .iter()
        .any(|s| matches!(s.state(), State::Sent { .. }));
    let mut results = Vec::new();
    for run in 1..=args.runs.max(1) {
        if args.leader {
            move_to_leader(&members, &client)?;
        }
        let owner = wait_for(60, || owner_of(&members[0], &client))
            .context("no owner for the client's session")? as usize;
        let mut sampler = Sampler::new();
        let b = bird.clone();
        sampler.watch("BIRD", move || b.prefixes());
        std::thread::sleep(Duration::from_millis(500));
        let source_owner = owner_of(&members[0], &src).map_or("?".into(), |o| o.to_string());
        let role = match json(&members[0], "/api/v1/cluster").and_then(|v| v["leader"].as_u64()) {
            Some(l) if l == owner as u64 => "the leader",
            Some(_) => "a follower",
            None => "no leader known",
        };
        let killed_at = time_of_day();
        let killed = Instant::now();
        cluster.kill(owner - 1);
        // Polled for when to look; the times are the new owner's log's.
        let taken = wait_for(120, || {
            (1..=3)
                .filter(|m| *m != owner)
                .find(|m| session_on(&members[m - 1], &client) == Some((true, true)))
        });
        std::thread::sleep(Duration::from_secs(3));
        let series = sampler.finish();
        let lowest = series
            .first()
            .and_then(|s| s.lowest(killed, Instant::now()))
            .unwrap_or(0);
        let Some(new_owner) = taken else {
            bail!("run {run}: the session was not taken over in 120 s");
        };
        let Some((up, sent)) = logged_takeover(&cluster.dirs[new_owner - 1], &client, killed_at)
        else {
            bail!("run {run}: member {new_owner}'s log does not say when it took the session over");
        };
        println!(
            "takeover {run}: member {owner} ({role}) killed (the source's session was on member {source_owner}); on member {new_owner} the session was Established after {up:.2} s, the table and End-of-RIB written after {sent:.2} s (its log); the client's lowest count {lowest} of {full}"
        );
        let sent = Duration::from_secs_f64(sent);
        results.push(sent);
        cluster.restart(owner - 1).map_err(anyhow::Error::msg)?;
        // Back in the cluster, caught up, before the next kill.
        wait_for(60, || {
            let v = json(&members[owner - 1], "/api/v1/cluster")?;
            v["leader"].as_u64()
        })
        .context("the restarted member did not rejoin")?;
        std::thread::sleep(Duration::from_secs(5));
    }
    if args.keep {
        let _ = dir.keep();
    }
    results.sort();
    let median = results[results.len() / 2];
    println!(
        "takeover from SIGKILL to the table and End-of-RIB sent, full table ({full} prefixes): median {:.2} s of {} (goal: at most {} s)",
        median.as_secs_f64(),
        results.len(),
        GOAL.as_secs()
    );
    Ok(())
}
