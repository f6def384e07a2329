//! FRR bgpd as the reflector, without zebra (no FIB, next hops taken as
//! valid), no vty TCP port, the vty socket in a directory of its own that
//! belongs to user frr (bgpd checks it).
//!
//! Logging is at "critical": without zebra, bgpd logs an error for every
//! next hop it fails to register (one line per route, 577k lines for the
//! table), which would measure its log file rather than its reflection.

use super::{Setup, log_file};
use crate::proc::Proc;
use anyhow::{Context, Result};
use std::process::Command;

pub fn start(s: &Setup<'_>) -> Result<Proc> {
    let me = s.node.v4;
    let mut conf = format!(
        "frr defaults traditional\nhostname reflector\nlog stdout critical\n!\n\
         router bgp {asn}\n bgp router-id {me}\n bgp cluster-id {cid}\n \
         no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n",
        asn = s.asn,
        cid = s.cluster_id,
    );
    for c in &s.clients {
        conf.push_str(&format!(
            " neighbor {c} remote-as {}\n neighbor {c} passive\n",
            s.asn
        ));
    }
    conf.push_str(" address-family ipv4 unicast\n");
    for c in &s.clients {
        conf.push_str(&format!(
            "  neighbor {c} activate\n  neighbor {c} route-reflector-client\n"
        ));
    }
    conf.push_str(" exit-address-family\n!\n");
    let path = s.dir.join("frr-bgpd.conf");
    std::fs::write(&path, conf)?;
    let vty = s.dir.join("frr-vty");
    std::fs::create_dir_all(&vty)?;
    let st = Command::new("chown")
        .arg("frr:frr")
        .arg(&vty)
        .status()
        .context("chown frr")?;
    anyhow::ensure!(st.success(), "chown frr:frr {} failed", vty.display());
    let (out, err) = log_file(s, "frr-bgpd.log")?;
    let mut cmd = s.node.command("/usr/lib/frr/bgpd");
    cmd.args([
        "-Z",
        "-n",
        "-S",
        "-l",
        &me.to_string(),
        "-P",
        "0",
        "--vty_socket",
    ])
    .arg(&vty)
    .arg("-f")
    .arg(&path)
    .arg("-i")
    .arg(s.dir.join("frr-bgpd.pid"))
    .stdout(out)
    .stderr(err);
    Proc::spawn("frr bgpd", cmd)
}
