//! `reflex cluster init|add|remove|status`: cluster management, asked of a
//! running member over its Raft address. Prints what that member then
//! knows of the cluster, as JSON.

use anyhow::{Context as _, Result, anyhow};
use clap::{Args, Subcommand};
use consensus::manage::{ManageError, ask};
use consensus::protocol::Manage;
use std::collections::BTreeMap;
use std::net::SocketAddr;

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
    Status(Target),
    /// Has a member snapshot its RIB now and drop the log the snapshot
    /// covers.
    Snapshot(Target),
}

#[derive(Args, Debug)]
pub struct Target {
    /// The Raft address of the member to ask.
    #[arg(long)]
    raft: SocketAddr,
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
        ClusterCommand::Status(t) => (t, Manage::Status),
        ClusterCommand::Snapshot(t) => (t, Manage::Snapshot),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    let addr = target.raft.to_string();
    let status = runtime
        .block_on(ask(&addr, m))
        .map_err(|e: ManageError| anyhow!("member at {addr}: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&status)?);
    Ok(())
}
