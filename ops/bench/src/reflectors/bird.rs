//! BIRD 2 as the reflector. Its LAN route (protocol direct, which resolves
//! the iBGP next hops) must not be exported, or every client would count
//! one route more than the table.

use super::{Setup, log_file};
use crate::proc::Proc;
use anyhow::Result;

pub fn start(s: &Setup<'_>) -> Result<Proc> {
    let me = s.node.v4;
    let mut conf = format!(
        "router id {me};\nlog stderr all;\nprotocol device {{}}\nprotocol direct {{ ipv4; }}\n\
         template bgp rrclient {{\n  local {me} as {asn};\n  passive on;\n  rr client;\n  \
         rr cluster id {cid};\n  ipv4 {{ import all; export where source = RTS_BGP; }};\n}}\n",
        asn = s.asn,
        cid = s.cluster_id,
    );
    for (i, c) in s.clients.iter().enumerate() {
        conf.push_str(&format!(
            "protocol bgp peer{i} from rrclient {{ neighbor {c} as {}; }}\n",
            s.asn
        ));
    }
    let path = s.dir.join("bird-rr.conf");
    std::fs::write(&path, conf)?;
    let (out, err) = log_file(s, "bird-rr.log")?;
    let mut cmd = s.node.command("bird");
    cmd.args(["-f", "-c"])
        .arg(&path)
        .arg("-s")
        .arg(s.dir.join("bird-rr.ctl"))
        .stdout(out)
        .stderr(err);
    Proc::spawn("bird", cmd)
}
