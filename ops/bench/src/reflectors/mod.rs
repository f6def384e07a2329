//! The four reflectors under test, each started in the reflector namespace
//! from a configuration written here: iBGP, every neighbour a passive
//! route-reflector client (the clients and the source connect), one cluster
//! id, IPv4 unicast only.

mod bird;
mod frr;
mod gobgp;
mod reflex;

use crate::proc::Proc;
use anyhow::{Result, bail};
use reflex_tests::netns::Node;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Reflex,
    /// Reflex with its RIB replicated through Raft (a one-member cluster).
    ReflexRaft,
    Bird,
    Frr,
    Gobgp,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Reflex,
        Kind::ReflexRaft,
        Kind::Bird,
        Kind::Frr,
        Kind::Gobgp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Reflex => "reflex",
            Kind::ReflexRaft => "reflex-raft",
            Kind::Bird => "bird",
            Kind::Frr => "frr",
            Kind::Gobgp => "gobgp",
        }
    }

    pub fn parse(s: &str) -> Result<Kind> {
        match Kind::ALL.into_iter().find(|k| k.name() == s) {
            Some(k) => Ok(k),
            None => bail!("unknown reflector {s:?} (reflex, reflex-raft, bird, frr, gobgp)"),
        }
    }
}

/// What every reflector's configuration says.
pub struct Setup<'a> {
    pub node: &'a Node,
    pub asn: u32,
    pub cluster_id: Ipv4Addr,
    /// The source and the clients.
    pub clients: Vec<Ipv4Addr>,
    /// Configuration, logs and state go here.
    pub dir: &'a Path,
    pub reflex_binary: &'a PathBuf,
}

/// Starts the reflector; the process returned is the one whose RSS counts.
pub fn start(kind: Kind, s: &Setup<'_>) -> Result<Proc> {
    match kind {
        Kind::Reflex => reflex::start(s, false),
        Kind::ReflexRaft => reflex::start(s, true),
        Kind::Bird => bird::start(s),
        Kind::Frr => frr::start(s),
        Kind::Gobgp => gobgp::start(s),
    }
}

/// A log file in the run directory, for a daemon's stdout and stderr.
fn log_file(s: &Setup<'_>, name: &str) -> Result<(std::fs::File, std::fs::File)> {
    let f = std::fs::File::create(s.dir.join(name))?;
    let g = f.try_clone()?;
    Ok((f, g))
}
