//! GoBGP as the reflector. Its gRPC API listens on the reflector
//! namespace's own loopback, so a fixed port never clashes.

use super::{Setup, log_file};
use crate::proc::Proc;
use anyhow::Result;

pub fn start(s: &Setup<'_>) -> Result<Proc> {
    let mut conf = format!(
        "[global.config]\n  as = {asn}\n  router-id = \"{me}\"\n  local-address-list = [\"{me}\"]\n",
        asn = s.asn,
        me = s.node.v4,
    );
    for c in &s.clients {
        conf.push_str(&format!(
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{c}\"\n    peer-as = {asn}\n  \
             [neighbors.transport.config]\n    passive-mode = true\n  \
             [neighbors.route-reflector.config]\n    route-reflector-client = true\n    \
             route-reflector-cluster-id = \"{cid}\"\n  \
             [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n",
            asn = s.asn,
            cid = s.cluster_id,
        ));
    }
    let path = s.dir.join("gobgpd.toml");
    std::fs::write(&path, conf)?;
    let (out, err) = log_file(s, "gobgpd.log")?;
    let mut cmd = s.node.command("gobgpd");
    cmd.arg("-f")
        .arg(&path)
        .args(["--api-hosts", "127.0.0.1:50051"])
        .stdout(out)
        .stderr(err);
    Proc::spawn("gobgpd", cmd)
}
