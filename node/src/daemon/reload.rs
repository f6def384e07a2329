//! The configuration read again (SIGHUP, or `POST /api/v1/reload`), and
//! the routing policy as replicated state.
//!
//! A reload applies what can change while sessions run: neighbours added
//! start, removed ones stop with a Cease (Peer De-configured), changed ones
//! (timers, families, ...) start again with their new configuration, and
//! the others are not touched. The policy (lists, route-maps, RFC 8212's
//! switch, each neighbour's maps) goes through the log
//! ([`RibCommand::Policy`]), so every member evaluates the same version for
//! the same entry; a change is applied from the stored Adj-RIB-In or with
//! a route refresh, without resetting a session. A member proposes its
//! configuration's policy when it reads its file again, and at start when
//! the file's policy is not the one it last proposed; the cluster runs the
//! last one written (keep the files the same on every member).
//!
//! A file that fails validation changes nothing: the problems are logged,
//! returned to the API's caller, and the running configuration stays.
//! Changes to what a running node is built on (router id, AS, addresses,
//! cluster, API, FIB) need a restart: they are reported as not applied.

use super::Sessions;
use super::proposed_record::{self, Recorded};
use crate::config::{self, Config};
use consensus::Member;
use serde::Serialize;
use speaker::policy::Policy;
use speaker::rib::{Attachment, ReplicatedPolicy, RibCommand};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use storage::{PeerIds, Request};
use tracing::{error, info, warn};

/// A configuration's routing policy, its neighbours named by address (the
/// replicated registry gives their ids).
#[derive(Clone, Debug, PartialEq)]
pub struct PolicySpec {
    text: String,
    compiled: Arc<Policy>,
    ebgp_requires_policy: bool,
    /// Neighbours with a route-map.
    maps: Vec<(IpAddr, Attachment)>,
}

impl PolicySpec {
    pub fn of(c: &Config) -> PolicySpec {
        PolicySpec {
            text: c.policy_text.clone(),
            compiled: Arc::new(c.policy.clone()),
            ebgp_requires_policy: c.ebgp_requires_policy,
            maps: c
                .neighbors
                .iter()
                .filter(|n| n.import.is_some() || n.export.is_some())
                .map(|n| {
                    (
                        n.address,
                        Attachment {
                            import: n.import.clone(),
                            export: n.export.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The neighbours it attaches maps to.
    fn addresses(&self) -> Vec<IpAddr> {
        self.maps.iter().map(|(a, _)| *a).collect()
    }

    /// The replicated policy: each neighbour's maps under its id in `ids`
    /// (one without an id has no session yet, nor paths to apply them to).
    pub fn resolve(&self, ids: &PeerIds) -> ReplicatedPolicy {
        ReplicatedPolicy {
            text: self.text.clone(),
            compiled: self.compiled.clone(),
            ebgp_requires_policy: self.ebgp_requires_policy,
            attachments: self
                .maps
                .iter()
                .filter_map(|(a, m)| Some((*ids.get(a)?, m.clone())))
                .collect(),
        }
    }
}

/// Gives ids to those of `addresses` without one; the registry after,
/// once this member has applied the write (a follower's write returns
/// when the leader has applied it).
pub async fn register(member: &Member, addresses: Vec<IpAddr>) -> anyhow::Result<PeerIds> {
    // The registry, once it has every address.
    let whole = |a: &storage::state_machine::Applied| {
        addresses
            .iter()
            .all(|ip| a.peer_ids.contains_key(ip))
            .then(|| a.peer_ids.clone())
    };
    if let Some(ids) = member.read(whole) {
        return Ok(ids);
    }
    let unknown: Vec<IpAddr> = member.read(|a| {
        addresses
            .iter()
            .filter(|ip| !a.peer_ids.contains_key(ip))
            .copied()
            .collect()
    });
    info!(neighbors = ?unknown, "registering neighbours");
    member
        .write(Request::register(unknown))
        .await
        .map_err(|e| anyhow::anyhow!("cannot register the neighbours: {e}"))?;
    member
        .read_when(Duration::from_secs(5), whole)
        .await
        .ok_or_else(|| {
            anyhow::anyhow!("the neighbours' ids are not applied on this member after 5 s")
        })
}

/// The version of the policy in force, and whether it is `policy`.
fn in_force(member: &Member, policy: &ReplicatedPolicy) -> Option<(u64, bool)> {
    member.read(|a| a.rib.policy().map(|(v, p)| (v, **p == *policy)))
}

/// Writes `policy` to the log unless it is the one in force; `Ok(true)`
/// when written.
pub async fn propose(member: &Member, policy: Arc<ReplicatedPolicy>) -> anyhow::Result<bool> {
    match in_force(member, &policy) {
        Some((version, true)) => {
            info!(version, "routing policy unchanged");
            return Ok(false);
        }
        Some((version, false)) => {
            info!(
                replaces = version,
                "routing policy of this configuration proposed to the cluster"
            )
        }
        None => info!("routing policy of this configuration proposed to the cluster"),
    }
    member
        .write(Request::new(vec![RibCommand::Policy(policy)]))
        .await
        .map_err(|e| anyhow::anyhow!("cannot write the routing policy: {e}"))?;
    Ok(true)
}

/// How long to wait before proposing again after a failed write (no
/// leader yet, or this member not yet added to the cluster).
const RETRY: Duration = Duration::from_secs(1);

/// At start: proposes the configuration's policy if this member has not
/// proposed it before (the first start, or a file edited while it was
/// down), and retries until it is written. A member whose file is as it
/// last proposed does not undo a newer policy another member's reload
/// gave the cluster.
pub async fn propose_at_start(member: Arc<Member>, spec: PolicySpec, data_dir: PathBuf) {
    let ids = loop {
        match register(&member, spec.addresses()).await {
            Ok(ids) => break ids,
            Err(e) => {
                warn!(error = %e, "routing policy not written yet; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    // The policy in force is the one of the whole log, not of the part a
    // restarted follower has replayed so far.
    caught_up(&member).await;
    let policy = Arc::new(spec.resolve(&ids));
    match proposed_record::recorded(&data_dir, &policy) {
        Recorded::Same => {
            if let Some((version, false)) = in_force(&member, &policy) {
                info!(
                    version,
                    "the cluster runs a newer routing policy than this configuration's (read by another member): kept; reload to propose this one"
                );
            }
            return;
        }
        Recorded::Other => {}
        Recorded::Unreadable(why) => warn!(
            file = %proposed_record::path(&data_dir).display(),
            %why,
            "the record of the policy last proposed cannot be read: proposing this configuration's"
        ),
    }
    // Recorded first: a member stopped while its proposal is on its way
    // must not propose this file again at its next start, over a newer
    // policy a reload elsewhere gave the cluster meanwhile (the other
    // members propose the same file at their own start).
    if let Err(e) = proposed_record::write(&data_dir, &policy) {
        warn!(error = %e, "cannot record the proposed policy");
    }
    propose_until_written(member, policy).await;
}

/// Waits (10 s at most) until this member has applied the log it holds
/// (a restarted member replays it once a leader says it is committed).
async fn caught_up(member: &Member) {
    let held = member.raft.metrics().borrow().last_log_index.unwrap_or(0);
    let applied = member
        .read_when(Duration::from_secs(10), |a| {
            (a.last_applied.map_or(0, |l| l.index) >= held).then_some(())
        })
        .await;
    if applied.is_none() {
        warn!("the log this member holds is not applied after 10 s: comparing the policy anyway");
    }
}

/// [`propose`], again until it is written or found in force.
pub async fn propose_until_written(member: Arc<Member>, policy: Arc<ReplicatedPolicy>) {
    loop {
        match propose(&member, policy.clone()).await {
            Ok(_) => return,
            Err(e) => {
                warn!(error = %e, "routing policy not written yet; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// The parts of the configuration a reload cannot change while the node
/// runs, that differ.
pub fn needing_restart(a: &Config, b: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name, same: bool| {
        if !same {
            out.push(name);
        }
    };
    check("router-id", a.router_id == b.router_id);
    check("local-as", a.local_as == b.local_as);
    check("cluster-id", a.cluster_id == b.cluster_id);
    check("role", a.role == b.role);
    check("hostname", a.hostname == b.hostname);
    check("data-dir", a.data_dir == b.data_dir);
    check("listen", a.listen == b.listen);
    check("cluster", a.cluster == b.cluster);
    check("api", a.api == b.api);
    check("fib", a.fib == b.fib);
    out
}

/// What a reload did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReloadReport {
    /// Neighbours whose sessions start.
    pub added: Vec<IpAddr>,
    /// Neighbours whose sessions stopped (Cease, Peer De-configured).
    pub removed: Vec<IpAddr>,
    /// Neighbours whose sessions start again with their new configuration
    /// (Cease, Other Configuration Change).
    pub changed: Vec<IpAddr>,
    /// Whether a new routing policy was written to the cluster.
    pub policy_changed: bool,
    /// Parts that differ but need a restart: not applied.
    pub not_applied: Vec<&'static str>,
}

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("configuration refused ({} problems): the running one stays", .0.len())]
    Invalid(Vec<String>),
    #[error("configuration not read: {0}; the running one stays")]
    Unreadable(String),
    #[error("{0}")]
    Cluster(String),
}

/// Reads the configuration file again and applies it.
pub struct Reloader {
    path: PathBuf,
    /// What runs: the last file applied, with the parts a reload cannot
    /// change as they were at start.
    running: tokio::sync::Mutex<Config>,
    member: Arc<Member>,
    sessions: Sessions,
}

impl Reloader {
    pub fn new(
        path: PathBuf,
        running: Config,
        member: Arc<Member>,
        sessions: Sessions,
    ) -> Reloader {
        Reloader {
            path,
            running: tokio::sync::Mutex::new(running),
            member,
            sessions,
        }
    }

    /// Reads and applies the file; one reload at a time.
    pub async fn reload(&self) -> Result<ReloadReport, ReloadError> {
        let mut running = self.running.lock().await;
        let path = self.path.display().to_string();
        info!(config = %path, "reading the configuration again");
        let new = match config::load(&self.path) {
            Ok(c) => c,
            Err(config::ConfigError::Invalid(diagnostics)) => {
                let problems: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
                for p in &problems {
                    error!("{p}");
                }
                let e = ReloadError::Invalid(problems);
                error!(config = %path, "{e}");
                return Err(e);
            }
            Err(e) => {
                let e = ReloadError::Unreadable(e.to_string());
                error!(config = %path, "{e}");
                return Err(e);
            }
        };
        let not_applied = needing_restart(&running, &new);
        if !not_applied.is_empty() {
            warn!(changed = ?not_applied, "configuration changes that need a restart: not applied");
        }
        // The new neighbours and policy on what runs.
        let mut next = running.clone();
        next.neighbors = new.neighbors;
        next.policy = new.policy;
        next.policy_text = new.policy_text;
        next.ebgp_requires_policy = new.ebgp_requires_policy;
        let after = super::spec_from_config(&next).neighbors;
        // Ids first: nothing has changed if the cluster cannot take them.
        let ids = register(&self.member, after.iter().map(|n| n.addr.ip()).collect())
            .await
            .map_err(|e| ReloadError::Cluster(format!("{e}; nothing changed")))?;
        let changes = self.sessions.reconfigure(after);
        let mut report = ReloadReport {
            added: changes.added,
            removed: changes.removed,
            changed: changes.changed,
            policy_changed: false,
            not_applied,
        };
        let spec = PolicySpec::of(&next);
        *running = next;
        let policy = Arc::new(spec.resolve(&ids));
        report.policy_changed = propose(&self.member, policy.clone())
            .await
            .map_err(|e| ReloadError::Cluster(format!("neighbours applied, but {e}")))?;
        if let Err(e) = proposed_record::write(&running.data_dir, &policy) {
            warn!(error = %e, "cannot record the proposed policy");
        }
        info!(
            added = ?report.added,
            removed = ?report.removed,
            changed = ?report.changed,
            policy_changed = report.policy_changed,
            "configuration reloaded"
        );
        Ok(report)
    }
}

/// Reloads on every SIGHUP.
pub async fn on_hangup(reloader: Arc<Reloader>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "cannot catch SIGHUP: reload through the API only");
            return;
        }
    };
    while hup.recv().await.is_some() {
        info!("SIGHUP");
        // Logged by the reload.
        let _ = reloader.reload().await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use speaker::rib::PeerId;
    use std::path::Path;

    fn parse(s: &str) -> Config {
        config::parse(s, Path::new("t.toml")).unwrap()
    }

    const BASE: &str = "router-id = \"198.18.0.1\"\nlocal-as = 65000\n";

    fn ids(pairs: &[(&str, u32)]) -> PeerIds {
        pairs
            .iter()
            .map(|(a, i)| (a.parse().unwrap(), PeerId(*i)))
            .collect()
    }

    #[test]
    fn a_configuration_gives_each_neighbours_maps_under_its_registered_id() {
        let c = parse(&format!(
            "{BASE}[[route-map.IN]]\naction = \"permit\"\n\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65001\n\n[[neighbor]]\naddress = \"198.18.0.3\"\nremote-as = 65000\nimport = \"IN\"\n"
        ));
        let spec = PolicySpec::of(&c);
        // The id is the registry's, not the place in the file.
        let p = spec.resolve(&ids(&[("198.18.0.2", 0), ("198.18.0.3", 7)]));
        assert!(p.ebgp_requires_policy);
        assert_eq!(p.attachments.len(), 1);
        assert_eq!(p.attachment(PeerId(7)).import.as_deref(), Some("IN"));
        assert_eq!(p.attachment(PeerId(1)), Attachment::default());
        assert_eq!(config::compile_policy_text(&p.text).unwrap(), *p.compiled);
        // Not registered yet: no session, no attachment.
        assert!(spec.resolve(&PeerIds::new()).attachments.is_empty());
    }

    #[test]
    fn neighbours_and_policy_reload_the_rest_needs_a_restart() {
        let a = parse(&format!(
            "{BASE}[[route-map.IN]]\naction = \"permit\"\n\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65001\n"
        ));
        let b = parse(&format!(
            "{BASE}[[route-map.IN]]\naction = \"deny\"\n\n[[neighbor]]\naddress = \"198.18.0.3\"\nremote-as = 65002\nimport = \"IN\"\nexport = \"IN\"\n"
        ));
        assert!(needing_restart(&a, &b).is_empty());
        let c = parse("router-id = \"198.18.0.9\"\nlocal-as = 65001\n[api]\naddress = \"\"\n");
        assert_eq!(
            needing_restart(&a, &c),
            vec!["router-id", "local-as", "cluster-id", "api"]
        );
    }
}
