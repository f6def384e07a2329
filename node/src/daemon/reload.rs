//! The routing policy as replicated state, and the configuration read
//! again on SIGHUP.
//!
//! The policy (lists, route-maps, RFC 8212's switch, each neighbour's
//! maps) goes through the log ([`RibCommand::Policy`]), so every member
//! evaluates the same version for the same entry. A member proposes its
//! configuration's policy when it reads its file again (SIGHUP), and at
//! start when the file's policy is not the one it last proposed; the
//! cluster runs the last one written (keep the policy sections the same on
//! every member). A policy equal to the one in force is not written.
//!
//! A file that fails validation changes nothing: the problems are logged
//! and the running configuration stays. Changes other than policy need a
//! restart for now; they are logged as not applied.

use crate::config::{self, Config};
use consensus::Member;
use speaker::rib::{Attachment, PeerId, ReplicatedPolicy, RibCommand};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use storage::Request;
use tracing::{error, info, warn};

/// The configuration file and what was last read from it.
#[derive(Clone, Debug)]
pub struct Reload {
    pub path: PathBuf,
    pub running: Config,
}

/// The policy a configuration gives the cluster.
pub fn replicated_policy(c: &Config) -> ReplicatedPolicy {
    reloaded_policy(c, c)
}

/// The policy a file read again (`new`) gives the running neighbours:
/// their sessions are numbered by their place in the `running`
/// configuration, so each takes the maps of the neighbour of the same
/// address in the new file (neighbours added, removed or moved need a
/// restart).
pub fn reloaded_policy(running: &Config, new: &Config) -> ReplicatedPolicy {
    ReplicatedPolicy {
        text: new.policy_text.clone(),
        compiled: Arc::new(new.policy.clone()),
        ebgp_requires_policy: new.ebgp_requires_policy,
        attachments: running
            .neighbors
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let n = new.neighbors.iter().find(|n| n.address == r.address)?;
                (n.import.is_some() || n.export.is_some()).then(|| {
                    (
                        PeerId(i as u32),
                        Attachment {
                            import: n.import.clone(),
                            export: n.export.clone(),
                        },
                    )
                })
            })
            .collect(),
    }
}

/// The version of the policy in force, and whether it is `policy`.
fn in_force(member: &Member, policy: &ReplicatedPolicy) -> Option<(u64, bool)> {
    let applied = member.state.applied();
    applied.rib.policy().map(|(v, p)| (v, **p == *policy))
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

/// The file in the data directory that keeps the policy this member last
/// proposed (in its stored form, as text).
const PROPOSED: &str = "policy-proposed";

fn stored_text(p: &ReplicatedPolicy) -> String {
    format!("{:?}", storage::StoredPolicy::of(p))
}

/// At start: proposes the configuration's policy if this member has not
/// proposed it before (the first start, or a file edited while it was
/// down), and retries until it is written. A member whose file is as it
/// last proposed does not undo a newer policy another member's reload
/// gave the cluster.
pub async fn propose_at_start(
    member: Arc<Member>,
    policy: Arc<ReplicatedPolicy>,
    data_dir: PathBuf,
) {
    let record = data_dir.join(PROPOSED);
    let text = stored_text(&policy);
    if std::fs::read_to_string(&record).is_ok_and(|t| t == text) {
        if let Some((version, false)) = in_force(&member, &policy) {
            info!(
                version,
                "the cluster runs a newer routing policy than this configuration's (read by another member): kept; send SIGHUP to propose this one"
            );
        }
        return;
    }
    propose_until_written(member, policy).await;
    if let Err(e) = std::fs::write(&record, text) {
        warn!(file = %record.display(), error = %e, "cannot record the proposed policy");
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

/// The top-level parts of the configuration that differ, policy aside.
pub fn differences_besides_policy(a: &Config, b: &Config) -> Vec<&'static str> {
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
    let without_maps = |c: &Config| {
        let mut n = c.neighbors.clone();
        for x in &mut n {
            x.import = None;
            x.export = None;
        }
        n
    };
    check("neighbor", without_maps(a) == without_maps(b));
    out
}

/// On every SIGHUP: reads the file again; a valid one's policy is
/// proposed to the cluster; an invalid one changes nothing.
pub async fn on_hangup(mut reload: Reload, member: Arc<Member>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "cannot catch SIGHUP: no reload");
            return;
        }
    };
    while hup.recv().await.is_some() {
        let path = reload.path.display().to_string();
        info!(config = %path, "SIGHUP: reading the configuration again");
        let new = match config::load(&reload.path) {
            Ok(c) => c,
            Err(config::ConfigError::Invalid(diagnostics)) => {
                for d in &diagnostics {
                    error!("{d}");
                }
                error!(config = %path, problems = diagnostics.len(), "configuration refused: the running one stays");
                continue;
            }
            Err(e) => {
                error!(config = %path, error = %e, "configuration not read: the running one stays");
                continue;
            }
        };
        let ignored = differences_besides_policy(&reload.running, &new);
        if !ignored.is_empty() {
            warn!(
                changed = ?ignored,
                "configuration changes besides policy need a restart: not applied"
            );
        }
        let policy = Arc::new(reloaded_policy(&reload.running, &new));
        match propose(&member, policy.clone()).await {
            Ok(_) => {
                let record = reload.running.data_dir.join(PROPOSED);
                if let Err(e) = std::fs::write(&record, stored_text(&policy)) {
                    warn!(file = %record.display(), error = %e, "cannot record the proposed policy");
                }
                // What runs now: the old configuration with the new policy.
                reload.running.policy = new.policy;
                reload.running.policy_text = new.policy_text;
                reload.running.ebgp_requires_policy = new.ebgp_requires_policy;
                for r in &mut reload.running.neighbors {
                    let n = new.neighbors.iter().find(|n| n.address == r.address);
                    r.import = n.and_then(|n| n.import.clone());
                    r.export = n.and_then(|n| n.export.clone());
                }
            }
            Err(e) => error!(error = %e, "routing policy not changed"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(s: &str) -> Config {
        config::parse(s, Path::new("t.toml")).unwrap()
    }

    const BASE: &str = "router-id = \"198.18.0.1\"\nlocal-as = 65000\n";

    #[test]
    fn a_configuration_gives_its_policy_and_each_neighbours_maps() {
        let c = parse(&format!(
            "{BASE}[[route-map.IN]]\naction = \"permit\"\n\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65001\n\n[[neighbor]]\naddress = \"198.18.0.3\"\nremote-as = 65000\nimport = \"IN\"\n"
        ));
        let p = replicated_policy(&c);
        assert!(p.ebgp_requires_policy);
        assert_eq!(p.attachments.len(), 1);
        assert_eq!(p.attachment(PeerId(1)).import.as_deref(), Some("IN"));
        assert_eq!(p.attachment(PeerId(0)), Attachment::default());
        assert_eq!(config::compile_policy_text(&p.text).unwrap(), *p.compiled);
    }

    #[test]
    fn only_what_is_not_policy_counts_as_needing_a_restart() {
        let a = parse(&format!(
            "{BASE}[[route-map.IN]]\naction = \"permit\"\n\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65001\n"
        ));
        let b = parse(&format!(
            "{BASE}[[route-map.IN]]\naction = \"deny\"\n\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65001\nimport = \"IN\"\nexport = \"IN\"\n"
        ));
        assert!(differences_besides_policy(&a, &b).is_empty());
        let c = parse(&format!(
            "{BASE}[[route-map.IN]]\naction = \"permit\"\n\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65002\n"
        ));
        assert_eq!(differences_besides_policy(&a, &c), vec!["neighbor"]);
    }

    #[test]
    fn a_reload_gives_the_running_neighbours_their_maps_by_address() {
        let n = |addr: &str, extra: &str| {
            format!("\n[[neighbor]]\naddress = \"{addr}\"\nremote-as = 65000\n{extra}")
        };
        let running = parse(&format!(
            "{BASE}[[route-map.IN]]\naction = \"permit\"\n{}{}",
            n("198.18.0.2", ""),
            n("198.18.0.3", "")
        ));
        // Reordered, one added: the maps follow the addresses; the new
        // neighbour (no session yet) is left out.
        let new = parse(&format!(
            "{BASE}[[route-map.IN]]\naction = \"permit\"\n{}{}{}",
            n("198.18.0.4", "import = \"IN\"\n"),
            n("198.18.0.3", "export = \"IN\"\n"),
            n("198.18.0.2", "")
        ));
        let p = reloaded_policy(&running, &new);
        assert_eq!(p.attachments.len(), 1);
        assert_eq!(p.attachment(PeerId(1)).export.as_deref(), Some("IN"));
        assert_eq!(p.attachment(PeerId(0)), Attachment::default());
        assert_eq!(differences_besides_policy(&running, &new), vec!["neighbor"]);
    }
}
