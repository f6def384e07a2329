//! The reflector's clients: BIRD 2 instances that only listen (export
//! nothing), so the routes a client imports from its one session are
//! exactly the reflected table. `show protocols all` gives that count in
//! constant time, cheap enough to poll every 100 ms.

use anyhow::{Context, Result};
use reflex_tests::netns::{Daemon, Node};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The name of the client's session to the reflector.
const PROTOCOL: &str = "reflector";

pub struct Client {
    pub node: Node,
    socket: PathBuf,
    _daemon: Daemon,
}

/// What one poll of a client saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct View {
    pub established: bool,
    /// Routes imported from the reflector.
    pub routes: usize,
}

impl Client {
    pub fn start(node: &Node, reflector: &Node, asn: u32, dir: &Path) -> Result<Client> {
        let conf = dir.join(format!("client-{}.conf", node.ns));
        let socket = dir.join(format!("client-{}.ctl", node.ns));
        // Connect delay and retry are short: the client may start before
        // the reflector listens. Direct routes resolve the iBGP next hops
        // (the source's LAN address) as a real router would.
        let text = format!(
            "router id {me};\nlog stderr all;\nprotocol device {{}}\nprotocol direct {{ ipv4; }}\n\
             protocol bgp {PROTOCOL} {{\n  local {me} as {asn};\n  neighbor {rr} as {asn};\n  \
             connect delay time 1;\n  connect retry time 2;\n  error wait time 1, 5;\n  \
             ipv4 {{ import all; export none; }};\n}}\n",
            me = node.v4,
            rr = reflector.v4,
        );
        std::fs::write(&conf, text)?;
        let log = std::fs::File::create(dir.join(format!("client-{}.log", node.ns)))?;
        let mut cmd = node.command("bird");
        cmd.args(["-f", "-c"])
            .arg(&conf)
            .arg("-s")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(log);
        let daemon = Daemon::spawn("bird client", cmd).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Client {
            node: node.clone(),
            socket,
            _daemon: daemon,
        })
    }

    /// The session state and imported route count; `None` while BIRD does
    /// not answer (starting, or busy for longer than birdc waits).
    pub fn view(&self) -> Option<View> {
        let sock = self.socket.to_string_lossy();
        let out = self
            .node
            .run(&["birdc", "-s", &sock, "show", "protocols", "all", PROTOCOL])
            .ok()?;
        Some(parse_view(&out))
    }

    pub fn describe(&self) -> String {
        let sock = self.socket.to_string_lossy();
        self.node
            .run(&["birdc", "-s", &sock, "show", "protocols", "all", PROTOCOL])
            .unwrap_or_else(|e| e)
    }
}

/// Reads "BGP state: Established" and "Routes: N imported, ...".
fn parse_view(out: &str) -> View {
    let mut v = View::default();
    for l in out.lines().map(str::trim) {
        if let Some(s) = l.strip_prefix("BGP state:") {
            v.established = s.trim() == "Established";
        } else if let Some(r) = l.strip_prefix("Routes:") {
            v.routes = r
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    v
}

/// Starts `n` clients as nodes 10, 11, ... of the LAN.
/// Starts `n` clients on nodes 10, 11, ...; client `i` peers with the
/// reflector member that runs its session: neighbour `i + 1` (the source
/// is neighbour 0) of a fresh cluster is owned by member `(i + 1) % m`.
pub fn start_all(
    lan: &mut reflex_tests::netns::Lan,
    n: usize,
    members: &[Node],
    asn: u32,
    dir: &Path,
) -> Result<Vec<Client>> {
    (0..n)
        .map(|i| {
            let host = u8::try_from(10 + i).context("at most 240 clients")?;
            let node = lan.node(host).map_err(|e| anyhow::anyhow!("{e}"))?;
            Client::start(&node, &members[(i + 1) % members.len()], asn, dir)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_state_and_count() {
        let out = "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\n\
                   reflector  BGP        ---        up     12:00:00.000  Established\n  \
                   BGP state:          Established\n    Neighbor address: 198.18.0.1\n  \
                   Channel ipv4\n    State:          UP\n    \
                   Routes:         577703 imported, 0 exported, 577703 preferred\n";
        assert_eq!(
            parse_view(out),
            View {
                established: true,
                routes: 577_703
            }
        );
        assert_eq!(parse_view("BGP state: Active\n"), View::default());
    }
}
