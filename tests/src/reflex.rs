//! Running the `reflex` binary in a test topology.

use crate::netns::{Daemon, Node};
use std::path::PathBuf;

/// The `reflex` binary: `REFLEX_BIN` if set, else the one built next to
/// this program (cargo builds the workspace's binaries before running its
/// integration tests: target/<profile>/deps/<test> beside
/// target/<profile>/reflex; a bench sits in target/<profile> itself).
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("REFLEX_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let here = exe.parent().map(PathBuf::from).unwrap_or_default();
    if here.join("reflex").is_file() {
        return here.join("reflex");
    }
    here.parent()
        .map(PathBuf::from)
        .unwrap_or_default()
        .join("reflex")
}

/// Starts `reflex run` in `node` with `config` (TOML text); logs go to `log`.
pub fn start(node: &Node, dir: &std::path::Path, config: &str) -> Result<Daemon, String> {
    start_args(node, dir, config, &[])
}

/// [`start`] with more arguments to `reflex run` (`--log-json`).
pub fn start_args(
    node: &Node,
    dir: &std::path::Path,
    config: &str,
    args: &[&str],
) -> Result<Daemon, String> {
    let bin = binary();
    if !bin.exists() {
        return Err(format!(
            "{} not built: run the tests with `cargo test --workspace`",
            bin.display()
        ));
    }
    let conf = dir.join("reflex.toml");
    std::fs::write(&conf, config).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("reflex.log")).map_err(|e| e.to_string())?;
    let mut cmd = node.command(&bin.to_string_lossy());
    cmd.args(["run", "--config", &conf.to_string_lossy()])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(log);
    cmd.env("REFLEX_LOG", "debug,openraft=warn,sled=warn");
    Daemon::spawn("reflex", cmd)
}

/// What `reflex ctl` did: exit code, stdout, stderr.
pub type CtlOutput = (Option<i32>, String, String);

/// `reflex ctl ARGS` in `node` (with `token` in `REFLEX_API_TOKEN`).
pub fn ctl(node: &Node, token: Option<&str>, args: &[&str]) -> CtlOutput {
    let mut cmd = node.command(&binary().to_string_lossy());
    cmd.arg("ctl").args(args);
    if let Some(t) = token {
        cmd.env("REFLEX_API_TOKEN", t);
    }
    match cmd.output() {
        Ok(out) => (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        Err(e) => (None, String::new(), format!("cannot run reflex ctl: {e}")),
    }
}

/// Reflex's log (`DIR/reflex.log`) without terminal colours.
pub fn log(dir: &std::path::Path) -> String {
    let raw = std::fs::read_to_string(dir.join("reflex.log")).unwrap_or_default();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The last 40 lines of Reflex's log, for assertion messages.
pub fn log_tail(dir: &std::path::Path) -> String {
    let log = log(dir);
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Log lines about one peer (its address appears as `peer=ADDR:PORT`)
/// containing `what`.
pub fn peer_lines(dir: &std::path::Path, peer: &Node, what: &str) -> Vec<String> {
    let tag = format!("peer={}:", peer.v4);
    log(dir)
        .lines()
        .filter(|l| l.contains(&tag) && l.contains(what))
        .map(String::from)
        .collect()
}

/// "session down" lines of a peer after its first "session established"
/// (connection attempts before that are logged as downs too).
pub fn downs_after_up(dir: &std::path::Path, peer: &Node) -> Vec<String> {
    peer_lines(dir, peer, "session ")
        .into_iter()
        .skip_while(|l| !l.contains("session established"))
        .filter(|l| l.contains("session down"))
        .collect()
}

/// A one-member reflector on `rr` with one route-reflector client to be
/// (`client`), its store in `data`, `sections` added to its configuration.
pub fn reflector_config(
    rr: &crate::netns::Node,
    client: &crate::netns::Node,
    data: &std::path::Path,
    sections: &str,
) -> String {
    format!(
        "router-id = \"{rr}\"\nlocal-as = 65000\ndata-dir = \"{data}\"\n[listen]\naddresses = [\"{rr}\"]\n{sections}[timers]\nconnect-retry = 1\nidle-hold = 1\n\n[[neighbor]]\naddress = \"{c}\"\nremote-as = 65000\nroute-reflector-client = true\n",
        rr = rr.v4,
        c = client.v4,
        data = data.display()
    )
}

/// The IPv4 prefixes of an MRT dump, as `reflex mrt summary` counts them
/// (0 when it cannot read it).
pub fn mrt_prefixes_v4(dump: &std::path::Path) -> usize {
    let Ok(out) = std::process::Command::new(binary())
        .args(["mrt", "summary"])
        .arg(dump)
        .output()
    else {
        return 0;
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("tdv2 prefixes v4"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
