//! ExaBGP as a test peer: one neighbour, static routes, and an API process
//! that logs every message ExaBGP receives (JSON, one per line) and passes
//! on commands appended to a file (`announce route ...`, `withdraw ...`).
//!
//! Also a scripted peer (Python, in the namespace) for messages ExaBGP
//! cannot send, such as a bad header marker.

use crate::frr::Json;
use crate::netns::{Daemon, Node};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The API process: stdin (what ExaBGP received, JSON) is appended to the
/// receive log; new lines of the command file go to stdout (to ExaBGP).
/// It ends when ExaBGP closes its stdin, so nothing outlives the daemon.
const API_PROCESS: &str = r#"
import os, sys, threading, time
recv, cmds = sys.argv[1], sys.argv[2]
def reader():
    with open(recv, 'a') as out:
        for line in sys.stdin:
            out.write(line)
            out.flush()
    os._exit(0)
threading.Thread(target=reader, daemon=True).start()
pos = 0
while True:
    try:
        with open(cmds) as f:
            f.seek(pos)
            data = f.read()
            done = data.rfind('\n') + 1
            pos += len(data[:done].encode())
            for line in data[:done].splitlines():
                if line.strip():
                    sys.stdout.write(line + '\n')
                    sys.stdout.flush()
    except FileNotFoundError:
        pass
    time.sleep(0.1)
"#;

/// An ExaBGP speaker with one session.
pub struct ExabgpConfig<'a> {
    pub router_id: Ipv4Addr,
    pub local_as: u32,
    pub peer: Ipv4Addr,
    pub peer_as: u32,
    pub hold_time: u16,
    /// Static routes: the text after `route` in ExaBGP's syntax, e.g.
    /// `198.19.1.0/24 next-hop self`.
    pub routes: Vec<&'a str>,
}

pub struct Exabgp {
    pub daemon: Daemon,
    pub log: PathBuf,
    /// JSON lines of what ExaBGP received (updates, notifications, state).
    pub received: PathBuf,
    commands: PathBuf,
}

impl Exabgp {
    pub fn start(node: &Node, dir: &Path, config: &ExabgpConfig<'_>) -> Result<Exabgp, String> {
        let script = dir.join("exabgp-api.py");
        std::fs::write(&script, API_PROCESS).map_err(|e| e.to_string())?;
        let received = dir.join(format!("exabgp-{}-received.json", node.ns));
        let commands = dir.join(format!("exabgp-{}-commands", node.ns));
        std::fs::write(&commands, "").map_err(|e| e.to_string())?;
        let mut conf = format!(
            "process api {{\n  run /usr/bin/python3 {} {} {};\n  encoder json;\n}}\n\nneighbor {} {{\n  router-id {};\n  local-address {};\n  local-as {};\n  peer-as {};\n  hold-time {};\n  family {{ ipv4 unicast; }}\n  capability {{ route-refresh; }}\n  api {{\n    processes [ api ];\n    neighbor-changes;\n    receive {{ parsed; update; notification; }}\n  }}\n",
            script.display(),
            received.display(),
            commands.display(),
            config.peer,
            config.router_id,
            node.v4,
            config.local_as,
            config.peer_as,
            config.hold_time,
        );
        if !config.routes.is_empty() {
            conf.push_str("  static {\n");
            for r in &config.routes {
                conf.push_str(&format!("    route {r};\n"));
            }
            conf.push_str("  }\n");
        }
        conf.push_str("}\n");
        let conf_path = dir.join(format!("exabgp-{}.conf", node.ns));
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let log_path = dir.join(format!("exabgp-{}.log", node.ns));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut cmd = node.command("exabgp");
        cmd.arg(&conf_path)
            .env("exabgp.daemon.user", "root")
            .env("exabgp.daemon.daemonize", "false")
            .env("exabgp.api.cli", "false")
            .env("exabgp.log.destination", "stdout")
            .env("exabgp.log.level", "INFO")
            .env("exabgp.tcp.bind", "")
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let daemon = Daemon::spawn("exabgp", cmd)?;
        Ok(Exabgp {
            daemon,
            log: log_path,
            received,
            commands,
        })
    }

    /// Sends an API command (`announce route ...`, `withdraw route ...`).
    pub fn command(&self, line: &str) -> Result<(), String> {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.commands)
            .map_err(|e| e.to_string())?;
        writeln!(f, "{line}").map_err(|e| e.to_string())
    }

    /// Every message ExaBGP reported, parsed.
    pub fn messages(&self) -> Vec<Json> {
        std::fs::read_to_string(&self.received)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| Json::parse(l).ok())
            .collect()
    }

    /// The session state changes ExaBGP reported ("connected", "up",
    /// "down"), in order.
    pub fn states(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter(|m| m.get("type").and_then(Json::as_str) == Some("state"))
            .filter_map(|m| m.at("neighbor.state").and_then(Json::as_str))
            .map(String::from)
            .collect()
    }

    /// Whether the session is up (its last reported state is "up").
    pub fn is_up(&self) -> bool {
        self.states().last().map(String::as_str) == Some("up")
    }

    /// NOTIFICATIONs ExaBGP received.
    pub fn notifications(&self) -> Vec<Json> {
        self.messages()
            .into_iter()
            .filter(|m| m.get("type").and_then(Json::as_str) == Some("notification"))
            .collect()
    }

    /// The IPv4 unicast prefixes announced to ExaBGP and not withdrawn
    /// since, with their attributes (in message order).
    pub fn routes(&self) -> Vec<(String, Json)> {
        let mut rib: Vec<(String, Json)> = Vec::new();
        for m in self.messages() {
            if m.get("type").and_then(Json::as_str) != Some("update") {
                continue;
            }
            let Some(u) = m.at("neighbor.message.update") else {
                continue;
            };
            if let Some(w) = u.at("withdraw.ipv4 unicast").and_then(Json::as_array) {
                for p in w {
                    let p = p.get("nlri").and_then(Json::as_str).or(p.as_str());
                    rib.retain(|(q, _)| Some(q.as_str()) != p);
                }
            }
            let attrs = u.get("attribute").cloned().unwrap_or(Json::Null);
            if let Some(Json::Obj(by_nh)) = u.at("announce.ipv4 unicast") {
                for (_, nlris) in by_nh {
                    for p in nlris.as_array().unwrap_or_default() {
                        let p = p.get("nlri").and_then(Json::as_str).or(p.as_str());
                        if let Some(p) = p {
                            rib.retain(|(q, _)| q != p);
                            rib.push((p.to_string(), attrs.clone()));
                        }
                    }
                }
            }
        }
        rib
    }

    pub fn log_tail(&self) -> String {
        crate::frr::tail(&self.log, 30)
    }
}

/// A scripted BGP peer (Python, run in the namespace): it connects to
/// `peer`, brings the session to Established (OPEN with multiprotocol IPv4
/// unicast and 4-octet AS), waits a second, sends a KEEPALIVE whose marker
/// is all zeros, prints the NOTIFICATION it gets back as
/// `NOTIFICATION <code> <subcode>`, then reconnects until the session is
/// Established again and prints `ESTABLISHED AGAIN`. Each step is printed
/// on its own line.
pub const BAD_MARKER_PEER: &str = r#"
import socket, struct, sys, time
local, peer, asn, rid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def msg(t, body=b'', marker=b'\xff' * 16):
    return marker + struct.pack('!HB', 19 + len(body), t) + body
def open_msg():
    caps = bytes([1, 4, 0, 1, 0, 1]) + bytes([65, 4]) + struct.pack('!I', asn)
    opt = bytes([2, len(caps)]) + caps
    return msg(1, struct.pack('!BHH', 4, 23456 if asn > 65535 else asn, 30)
               + socket.inet_aton(rid) + bytes([len(opt)]) + opt)
def read_msg(s):
    hdr = b''
    while len(hdr) < 19:
        d = s.recv(19 - len(hdr))
        if not d:
            return None, None
        hdr += d
    length, t = struct.unpack('!HB', hdr[16:19])
    body = b''
    while len(body) < length - 19:
        d = s.recv(length - 19 - len(body))
        if not d:
            return None, None
        body += d
    return t, body
def establish():
    s = socket.create_connection((peer, 179), timeout=10, source_address=(local, 0))
    s.sendall(open_msg())
    while True:
        t, body = read_msg(s)
        if t is None:
            raise OSError('closed before Established')
        if t == 1:
            s.sendall(msg(4))
        elif t == 4:
            return s
        elif t == 3:
            raise OSError('NOTIFICATION %d %d' % (body[0], body[1]))
def establish_retrying():
    end = time.time() + 30
    while True:
        try:
            return establish()
        except OSError as e:
            if time.time() > end:
                raise
            print('retry', e, flush=True)
            time.sleep(0.5)
s = establish_retrying()
print('ESTABLISHED', flush=True)
time.sleep(1)
s.sendall(msg(4, marker=b'\x00' * 16))
while True:
    t, body = read_msg(s)
    if t is None:
        print('CLOSED WITHOUT NOTIFICATION', flush=True)
        break
    if t == 3:
        print('NOTIFICATION %d %d' % (body[0], body[1]), flush=True)
        break
s.close()
s = establish_retrying()
print('ESTABLISHED AGAIN', flush=True)
for _ in range(3):
    time.sleep(1)
    s.sendall(msg(4))
s.close()
"#;
