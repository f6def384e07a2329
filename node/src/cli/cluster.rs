//! `reflex cluster init|add|remove|status|snapshot`: cluster management,
//! asked of a running member over its Raft address (mutual TLS, with the
//! operator's certificate). Prints what that member then knows of the
//! cluster, as JSON. `reflex cluster certs` makes the certificates.

use anyhow::{Context as _, Result, anyhow};
use clap::{Args, Subcommand};
use consensus::manage::{ManageError, ask};
use consensus::protocol::Manage;
use consensus::tls::{Tls, TlsFiles, make_certificates};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Makes a new cluster of the given members, asking one of them (once,
    /// when none has been part of a cluster).
    Init(Init),
    /// Adds a member (ask the leader): it catches up as a learner, then
    /// votes (joint consensus).
    Add(Add),
    /// Removes a member (ask the leader).
    Remove(Remove),
    /// The members and the leader, as one member knows them.
    Status(Status),
    /// Has a member snapshot its RIB now and drop the log the snapshot
    /// covers.
    Snapshot(Target),
    /// Makes a cluster CA (unless DIR has one: then it signs with it), a
    /// certificate and key per member, and the operator's.
    Certs(Certs),
}

#[derive(Args, Debug)]
pub struct Target {
    /// The Raft address of the member to ask.
    #[arg(long)]
    raft: SocketAddr,
    /// The directory with the cluster CA (`ca.pem`) and the operator's
    /// certificate and key (`operator.pem`, `operator.key`), as `reflex
    /// cluster certs` made them.
    #[arg(long, env = "REFLEX_CLUSTER_CERTS", value_name = "DIR")]
    certs: PathBuf,
}

impl Target {
    fn tls(&self) -> Result<Arc<Tls>> {
        Tls::load(TlsFiles::in_dir(&self.certs, "operator"))
            .context("cannot read the operator's TLS files")
    }
}

#[derive(Args, Debug)]
pub struct Certs {
    /// Where to write them (made if missing; no file is overwritten).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// A member id to make a certificate for; repeat for each.
    #[arg(long = "member", value_name = "ID", value_parser = clap::value_parser!(u64).range(1..))]
    members: Vec<u64>,
    /// Make no operator certificate.
    #[arg(long)]
    no_operator: bool,
}

#[derive(Args, Debug)]
pub struct Status {
    #[command(flatten)]
    target: Target,
    /// Ask again every this many milliseconds, one JSON line each time
    /// with the time of the answer (`at_unix_ns`), until interrupted (to
    /// follow a member through a burst).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(10..))]
    every: Option<u64>,
}

#[derive(Args, Debug)]
pub struct Init {
    #[command(flatten)]
    target: Target,
    /// A member, as ID=RAFT-ADDRESS; repeat for each.
    #[arg(long = "member", required = true, value_parser = member)]
    members: Vec<(u64, SocketAddr)>,
}

#[derive(Args, Debug)]
pub struct Add {
    #[command(flatten)]
    target: Target,
    /// The new member, as ID=RAFT-ADDRESS.
    #[arg(long, value_parser = member)]
    member: (u64, SocketAddr),
}

#[derive(Args, Debug)]
pub struct Remove {
    #[command(flatten)]
    target: Target,
    /// The id of the member to remove.
    #[arg(long)]
    id: u64,
}

fn member(s: &str) -> Result<(u64, SocketAddr), String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not ID=RAFT-ADDRESS"))?;
    let id: u64 = id
        .parse()
        .ok()
        .filter(|i| *i >= 1)
        .ok_or_else(|| format!("member id `{id}` is not a number of 1 or more"))?;
    let addr = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not an address and port"))?;
    Ok((id, addr))
}

pub fn run(cmd: ClusterCommand) -> Result<()> {
    let (target, m) = match cmd {
        ClusterCommand::Init(i) => {
            let members: BTreeMap<u64, String> = i
                .members
                .into_iter()
                .map(|(id, a)| (id, a.to_string()))
                .collect();
            (i.target, Manage::Init(members))
        }
        ClusterCommand::Add(a) => (a.target, Manage::Add(a.member.0, a.member.1.to_string())),
        ClusterCommand::Remove(r) => (r.target, Manage::Remove(r.id)),
        ClusterCommand::Status(Status {
            target,
            every: Some(ms),
        }) => return follow(&target, std::time::Duration::from_millis(ms)),
        ClusterCommand::Status(s) => (s.target, Manage::Status),
        ClusterCommand::Snapshot(t) => (t, Manage::Snapshot),
        ClusterCommand::Certs(c) => return certs(&c),
    };
    let tls = target.tls()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    let addr = target.raft.to_string();
    let status = runtime
        .block_on(ask(&addr, tls, m))
        .map_err(|e: ManageError| anyhow!("member at {addr}: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&status)?);
    Ok(())
}

/// `status --every MS`: one compact JSON line per answer; a member that
/// does not answer is said on stderr and asked again.
fn follow(target: &Target, every: std::time::Duration) -> Result<()> {
    use std::io::Write as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    let addr = target.raft.to_string();
    let tls = target.tls()?;
    let mut out = std::io::stdout().lock();
    runtime.block_on(async {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match ask(&addr, tls.clone(), Manage::Status).await {
                Ok(status) => {
                    let mut line = serde_json::to_value(&status)?;
                    if let Some(o) = line.as_object_mut() {
                        let at = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_nanos() as u64);
                        o.insert("at_unix_ns".into(), at.into());
                    }
                    // A closed stdout (the reader went away) ends it.
                    if writeln!(out, "{line}").is_err() || out.flush().is_err() {
                        return Ok(());
                    }
                }
                Err(e) => eprintln!("member at {addr}: {e}"),
            }
        }
    })
}

/// `certs`: prints each file written.
fn certs(c: &Certs) -> Result<()> {
    if c.members.is_empty() && c.no_operator {
        return Err(anyhow!(
            "nothing to make: give --member ID, or leave out --no-operator"
        ));
    }
    let written = make_certificates(&c.dir, &c.members, !c.no_operator)
        .with_context(|| format!("cannot make the certificates in {}", c.dir.display()))?;
    for f in written {
        println!("{}", f.display());
    }
    Ok(())
}
