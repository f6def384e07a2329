//! Reflex: `reflex run --config FILE`, logging at info level (debug logs
//! every route batch and would slow it down).

use super::{Setup, log_file};
use crate::proc::Proc;
use anyhow::{Result, bail};

/// `replicated`: with a `[cluster]` section (a one-member Raft cluster).
pub fn start(s: &Setup<'_>, replicated: bool) -> Result<Proc> {
    if !s.reflex_binary.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p reflex-node` or pass --reflex",
            s.reflex_binary.display()
        );
    }
    let me = s.node.v4;
    let mut conf = format!(
        "router-id = \"{me}\"\nlocal-as = {asn}\ncluster-id = \"{cid}\"\ndata-dir = \"{data}\"\n\n\
         [listen]\naddresses = [\"{me}\"]\n\n\
         [group.clients]\nremote-as = {asn}\nroute-reflector-client = true\npassive = true\n",
        asn = s.asn,
        cid = s.cluster_id,
        data = s.dir.join("reflex-data").display(),
    );
    if replicated {
        conf.push_str("\n[cluster]\nmember-id = 1\n");
    }
    for c in &s.clients {
        conf.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{c}\"\ngroup = \"clients\"\n"
        ));
    }
    let path = s.dir.join("reflex.toml");
    std::fs::write(&path, conf)?;
    let (out, err) = log_file(s, "reflex.log")?;
    let mut cmd = s.node.command(&s.reflex_binary.to_string_lossy());
    cmd.arg("run")
        .arg("--config")
        .arg(&path)
        .env("REFLEX_LOG", "info,openraft=warn")
        .stdout(out)
        .stderr(err);
    Proc::spawn("reflex", cmd)
}
