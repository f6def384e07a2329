//! Reflex: `reflex run --config FILE`, logging at info level (debug logs
//! every route batch and would slow it down).

use super::{Setup, log_file};
use crate::proc::Proc;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// How Reflex keeps its RIB.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// The default: a one-member Raft cluster.
    OneMember,
    /// Member `id` of a cluster that `reflex cluster init` makes.
    Member { id: u64 },
}

/// The Raft port of cluster members.
pub const RAFT_PORT: u16 = 11179;

/// The most members a bench cluster has.
const MEMBERS: u64 = 3;

/// The cluster's certificates (`reflex cluster certs`) in `dir/certs`,
/// made on first use: members 1 to 3 and the operator's.
pub fn certs(dir: &Path, binary: &Path) -> Result<PathBuf> {
    let certs = dir.join("certs");
    if certs.join("ca.pem").exists() {
        return Ok(certs);
    }
    reflex_tests::cluster::make_certificates(binary, &certs, MEMBERS)
        .map_err(anyhow::Error::msg)?;
    Ok(certs)
}

pub fn start(s: &Setup<'_>, mode: Mode) -> Result<Proc> {
    if !s.reflex_binary.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p reflex-node` or pass --reflex",
            s.reflex_binary.display()
        );
    }
    let me = s.node.v4;
    // A cluster's members share the RIB's identity: the cluster id is
    // their router id.
    let router_id = match mode {
        Mode::Member { .. } => s.cluster_id.to_string(),
        _ => me.to_string(),
    };
    let name = match mode {
        Mode::Member { id } => format!("reflex-m{id}"),
        _ => "reflex".into(),
    };
    let mut conf = format!(
        "router-id = \"{router_id}\"\nlocal-as = {asn}\ncluster-id = \"{cid}\"\ndata-dir = \"{data}\"\n\n\
         [listen]\naddresses = [\"{me}\"]\n\n\
         [group.clients]\nremote-as = {asn}\nroute-reflector-client = true\npassive = true\n",
        asn = s.asn,
        cid = s.cluster_id,
        data = s.dir.join(format!("{name}-data")).display(),
    );
    // A known Raft port even for one member: the bench asks the member
    // how many paths it has committed.
    let certs = certs(s.dir, s.reflex_binary)?;
    let (id, bootstrap) = match mode {
        Mode::OneMember => (1, true),
        Mode::Member { id } => (id, false),
    };
    conf.push_str(&format!(
        "\n[cluster]\nmember-id = {id}\nraft-address = \"{me}:{RAFT_PORT}\"\nbootstrap = {bootstrap}\n\
         ca = \"{ca}\"\ncertificate = \"{cert}\"\nkey = \"{key}\"\n",
        ca = certs.join("ca.pem").display(),
        cert = certs.join(format!("member-{id}.pem")).display(),
        key = certs.join(format!("member-{id}.key")).display(),
    ));
    if let Some((sections, _)) = s.import_policy {
        conf.push_str(sections);
    }
    for (i, c) in s.clients.iter().enumerate() {
        conf.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{c}\"\ngroup = \"clients\"\n"
        ));
        if let (0, Some((_, map))) = (i, s.import_policy) {
            conf.push_str(&format!("import = \"{map}\"\n"));
        }
    }
    let path = s.dir.join(format!("{name}.toml"));
    std::fs::write(&path, conf)?;
    let (out, err) = log_file(s, &format!("{name}.log"))?;
    let mut cmd = s.node.command(&s.reflex_binary.to_string_lossy());
    cmd.arg("run")
        .arg("--config")
        .arg(&path)
        // REFLEX_LOG in the bench's environment wins (to profile a run).
        .env(
            "REFLEX_LOG",
            std::env::var("REFLEX_LOG").unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .stdout(out)
        .stderr(err);
    Proc::spawn(&name, cmd)
}
