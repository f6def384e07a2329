//! The four reflectors under test, each started in the reflector namespace
//! from a configuration written here: iBGP, every neighbour a passive
//! route-reflector client (the clients and the source connect), one cluster
//! id, IPv4 unicast only.

mod bird;
mod frr;
mod gobgp;
pub mod reflex;

use crate::proc::Proc;
use anyhow::{Result, bail};
use reflex_tests::netns::Node;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Reflex on its defaults: a one-member cluster.
    Reflex,
    /// Three Reflex members, one cluster; the source and the clients
    /// spread over them.
    ReflexCluster3,
    /// Reflex on its defaults with the import policy (20 entries,
    /// a 10,000-prefix list) on the source's session.
    ReflexPolicy,
    Bird,
    Frr,
    Gobgp,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Reflex,
        Kind::ReflexCluster3,
        Kind::ReflexPolicy,
        Kind::Bird,
        Kind::Frr,
        Kind::Gobgp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Reflex => "reflex",
            Kind::ReflexCluster3 => "reflex-3",
            Kind::ReflexPolicy => "reflex-policy",
            Kind::Bird => "bird",
            Kind::Frr => "frr",
            Kind::Gobgp => "gobgp",
        }
    }

    /// Reflex, whose members say how many paths they have committed.
    pub fn is_reflex(self) -> bool {
        matches!(
            self,
            Kind::Reflex | Kind::ReflexCluster3 | Kind::ReflexPolicy
        )
    }

    /// Members of the reflector (1 but for a Reflex cluster).
    pub fn members(self) -> usize {
        match self {
            Kind::ReflexCluster3 => 3,
            _ => 1,
        }
    }

    pub fn parse(s: &str) -> Result<Kind> {
        match Kind::ALL.into_iter().find(|k| k.name() == s) {
            Some(k) => Ok(k),
            None => {
                bail!("unknown reflector {s:?} (reflex, reflex-3, reflex-policy, bird, frr, gobgp)")
            }
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
    /// Policy sections for the configuration, and the route-map the
    /// source (the first of `clients`) imports through.
    pub import_policy: Option<(&'a str, &'a str)>,
    pub reflex_binary: &'a PathBuf,
}

/// Starts the reflector; the process returned is the one whose RSS counts.
pub fn start(kind: Kind, s: &Setup<'_>) -> Result<Proc> {
    match kind {
        Kind::Reflex | Kind::ReflexPolicy => reflex::start(s, reflex::Mode::OneMember),
        Kind::ReflexCluster3 => reflex::start(s, reflex::Mode::Member { id: 1 }),
        Kind::Bird => bird::start(s),
        Kind::Frr => frr::start(s),
        Kind::Gobgp => gobgp::start(s),
    }
}

/// Starts member `id` (1-based) of a Reflex cluster on `s.node`.
pub fn start_member(s: &Setup<'_>, id: u64) -> Result<Proc> {
    reflex::start(s, reflex::Mode::Member { id })
}

pub use reflex::RAFT_PORT;

/// A log file in the run directory, for a daemon's stdout and stderr.
fn log_file(s: &Setup<'_>, name: &str) -> Result<(std::fs::File, std::fs::File)> {
    let f = std::fs::File::create(s.dir.join(name))?;
    let g = f.try_clone()?;
    Ok((f, g))
}
