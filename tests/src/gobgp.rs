//! GoBGP as a test peer: a gobgpd configuration, the daemon in a namespace
//! (its gRPC API on the namespace's own loopback) and its own view through
//! the `gobgp` CLI.

use crate::frr::Json;
use crate::netns::{Daemon, Node};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The gRPC port of gobgpd; each namespace has its own loopback.
pub const API_PORT: u16 = 50051;

/// A GoBGP speaker with sessions to some neighbours.
pub struct GobgpConfig {
    pub router_id: std::net::Ipv4Addr,
    pub local_as: u32,
    /// (neighbour address, neighbour AS)
    pub neighbors: Vec<(IpAddr, u32)>,
    /// ADD-PATH (RFC 7911) receive and send (up to 8 paths) on every
    /// session.
    pub add_path: bool,
    pub hold_time: u16,
}

impl GobgpConfig {
    pub fn render(&self) -> String {
        let mut s = format!(
            "[global.config]\n  as = {}\n  router-id = \"{}\"\n  port = 179\n",
            self.local_as, self.router_id
        );
        for (addr, asn) in &self.neighbors {
            let family = if addr.is_ipv4() {
                "ipv4-unicast"
            } else {
                "ipv6-unicast"
            };
            s.push_str(&format!(
                "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{addr}\"\n    peer-as = {asn}\n  [neighbors.timers.config]\n    connect-retry = 2\n    hold-time = {hold}\n    keepalive-interval = {ka}\n    idle-hold-time-after-reset = 1\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{family}\"\n",
                hold = self.hold_time,
                ka = (self.hold_time / 3).max(1),
            ));
            if self.add_path {
                s.push_str(
                    "    [neighbors.afi-safis.add-paths.config]\n      receive = true\n      send-max = 8\n",
                );
            }
        }
        s
    }
}

/// A running gobgpd.
pub struct Gobgp {
    pub daemon: Daemon,
    pub log: PathBuf,
    node: Node,
}

/// One path of `gobgp global rib -j`.
#[derive(Clone, Debug)]
pub struct RibPath {
    pub next_hop: Option<String>,
    pub originator_id: Option<String>,
    pub cluster_list: Vec<String>,
    /// The raw JSON of the path.
    pub json: Json,
}

impl RibPath {
    /// Asserts the path came reflected from `source` (its ORIGINATOR_ID,
    /// one cluster in CLUSTER_LIST) with `next_hop` kept.
    pub fn assert_reflected(&self, source: &Node, next_hop: IpAddr, cluster_id: &str) {
        assert_eq!(
            self.originator_id.as_deref(),
            Some(source.v4.to_string().as_str()),
            "{:?}",
            self.json
        );
        assert_eq!(self.cluster_list, [cluster_id], "{:?}", self.json);
        assert_eq!(
            self.next_hop.as_deref(),
            Some(next_hop.to_string().as_str()),
            "{:?}",
            self.json
        );
    }
}

impl Gobgp {
    pub fn start(node: &Node, dir: &Path, config: &GobgpConfig) -> Result<Gobgp, String> {
        Gobgp::start_text(node, dir, &config.render())
    }

    /// gobgpd with `text` as its configuration (TOML).
    pub fn start_text(node: &Node, dir: &Path, text: &str) -> Result<Gobgp, String> {
        let conf = dir.join(format!("gobgp-{}.toml", node.ns));
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        let log_path = dir.join(format!("gobgp-{}.log", node.ns));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut cmd = node.command("gobgpd");
        cmd.args([
            "-f",
            &conf.to_string_lossy(),
            "--api-hosts",
            &format!("127.0.0.1:{API_PORT}"),
        ])
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
        let daemon = Daemon::spawn("gobgpd", cmd)?;
        let g = Gobgp {
            daemon,
            log: log_path,
            node: node.clone(),
        };
        // The API answers once gobgpd is up.
        crate::netns::wait_for(10, || g.gobgp(&["global"]).ok())
            .ok_or_else(|| format!("gobgpd API not up\n{}", g.log_tail()))?;
        Ok(g)
    }

    /// `gobgp -p PORT ARGS...` output.
    pub fn gobgp(&self, args: &[&str]) -> Result<String, String> {
        let port = API_PORT.to_string();
        let mut v = vec!["gobgp", "-p", &port];
        v.extend_from_slice(args);
        self.node.run(&v)
    }

    /// The session state as gobgp's text output names it ("ESTABLISHED",
    /// "ACTIVE", ...).
    pub fn bgp_state(&self, addr: IpAddr) -> Option<String> {
        let out = self.gobgp(&["neighbor", &addr.to_string()]).ok()?;
        out.lines().find_map(|l| {
            l.trim()
                .strip_prefix("BGP state =")
                .map(|s| s.split(',').next().unwrap_or("").trim().to_string())
        })
    }

    /// The text of `gobgp neighbor ADDR` (capabilities, counters).
    pub fn neighbor_text(&self, addr: IpAddr) -> String {
        self.gobgp(&["neighbor", &addr.to_string()])
            .unwrap_or_else(|e| e)
    }

    /// `gobgp neighbor -j`, parsed.
    pub fn neighbors_json(&self) -> Option<Json> {
        Json::parse(&self.gobgp(&["neighbor", "-j"]).ok()?).ok()
    }

    /// Announces `prefix` from the global RIB with this next hop.
    pub fn announce(&self, prefix: &str, next_hop: IpAddr) -> Result<String, String> {
        let mut v = vec!["global", "rib"];
        if prefix.contains(':') {
            v.extend(["-a", "ipv6"]);
        }
        let nh = next_hop.to_string();
        v.extend(["add", prefix, "nexthop", &nh]);
        self.gobgp(&v)
    }

    pub fn withdraw(&self, prefix: &str) -> Result<String, String> {
        let mut v = vec!["global", "rib"];
        if prefix.contains(':') {
            v.extend(["-a", "ipv6"]);
        }
        v.extend(["del", prefix]);
        self.gobgp(&v)
    }

    /// The paths of `prefix` in the global RIB (`gobgp global rib PREFIX -j`),
    /// learned from peers (locally originated ones are left out), or `None`
    /// when there are none.
    pub fn paths(&self, prefix: &str) -> Option<Vec<RibPath>> {
        let mut v = vec!["global", "rib"];
        if prefix.contains(':') {
            v.extend(["-a", "ipv6"]);
        }
        // Only this prefix: a full table as JSON takes GoBGP a minute.
        v.extend([prefix, "-j"]);
        let j = Json::parse(&self.gobgp(&v).ok()?).ok()?;
        let paths: Vec<RibPath> = j
            .get(prefix)?
            .as_array()?
            .iter()
            .filter(|p| {
                p.get("neighbor-ip")
                    .and_then(Json::as_str)
                    .is_some_and(|n| n != "<nil>")
            })
            .map(|p| {
                let attr = |t: u64| {
                    p.get("attrs")
                        .and_then(Json::as_array)
                        .unwrap_or_default()
                        .iter()
                        .find(|a| a.get("type").and_then(Json::as_u64) == Some(t))
                        .cloned()
                };
                let next_hop = attr(3)
                    .and_then(|a| a.get("nexthop").and_then(Json::as_str).map(String::from))
                    .or_else(|| {
                        attr(14)
                            .and_then(|a| a.get("nexthop").and_then(Json::as_str).map(String::from))
                    });
                let originator_id =
                    attr(9).and_then(|a| a.get("value").and_then(Json::as_str).map(String::from));
                let cluster_list = attr(10)
                    .and_then(|a| {
                        a.get("value").and_then(Json::as_array).map(|l| {
                            l.iter()
                                .filter_map(Json::as_str)
                                .map(String::from)
                                .collect()
                        })
                    })
                    .unwrap_or_default();
                RibPath {
                    next_hop,
                    originator_id,
                    cluster_list,
                    json: p.clone(),
                }
            })
            .collect();
        (!paths.is_empty()).then_some(paths)
    }

    /// Where [`Gobgp::monitor`] writes each `[DELROUTE]` line it reads.
    pub fn deleted_log(&self) -> PathBuf {
        self.log.with_extension("deleted.log")
    }

    pub fn log_tail(&self) -> String {
        crate::frr::tail(&self.log, 30)
    }
}

/// GoBGP's table and sessions as its own event stream tells them
/// (`gobgp monitor`): read without asking GoBGP anything. Its API counts
/// a neighbour's paths by walking them, in its main loop, for every
/// `neighbor` call: polled every 100 ms with a full table, it starves the
/// sessions it is measuring.
pub struct Monitor {
    prefixes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Best path per prefix: the digest of its text after the prefix.
    best: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>>,
    established: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<IpAddr, bool>>>,
    _streams: Vec<Daemon>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Gobgp {
    /// Starts following the best paths of the global IPv4 RIB (those there
    /// now, then every change) and the sessions with `neighbors`.
    pub fn monitor(&self, neighbors: &[IpAddr]) -> Result<Monitor, String> {
        use std::io::{BufRead, Write};
        use std::sync::atomic::Ordering;
        let port = API_PORT.to_string();
        let spawn = |args: &[&str]| -> Result<(Daemon, std::process::ChildStdout), String> {
            let mut cmd = self.node.command("gobgp");
            cmd.args(["-p", &port]).args(args);
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null());
            let mut child = cmd
                .stdin(std::process::Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            let out = child.stdout.take().ok_or("no stdout")?;
            Ok((Daemon::adopt("gobgp monitor", child), out))
        };
        let prefixes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (rib, out) = spawn(&["monitor", "global", "rib", "--current"])?;
        let count = prefixes.clone();
        // Every best path GoBGP reports gone, for the reader of a failure
        // (a loss is told by which prefixes went, and when).
        let mut gone = std::fs::File::create(self.deleted_log()).map_err(|e| e.to_string())?;
        let best: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>> =
            std::sync::Arc::default();
        let paths = best.clone();
        let mut readers = vec![std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                // "TIME [ROUTE] PREFIX via ..." or "TIME [DELROUTE] PREFIX ..."
                let mut w = line.split_whitespace().skip(1);
                let (Some(kind), Some(prefix)) = (w.next(), w.next()) else {
                    continue;
                };
                let mut best = paths.lock().unwrap_or_else(|p| p.into_inner());
                match kind {
                    "[ROUTE]" => {
                        let path = line.split_once(prefix).map_or("", |(_, rest)| rest);
                        best.insert(prefix.to_string(), crate::table::digest([path]));
                    }
                    "[DELROUTE]" => {
                        best.remove(prefix);
                        let at = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap_or_default();
                        let _ = writeln!(gone, "{:.3} {line}", at.as_secs_f64());
                    }
                    _ => continue,
                }
                count.store(best.len(), Ordering::Relaxed);
            }
        })];
        let mut streams = vec![rib];
        let established: std::sync::Arc<
            std::sync::Mutex<std::collections::BTreeMap<IpAddr, bool>>,
        > = std::sync::Arc::default();
        for n in neighbors {
            let (d, out) = spawn(&["monitor", "neighbor", &n.to_string()])?;
            streams.push(d);
            let (states, n) = (established.clone(), *n);
            readers.push(std::thread::spawn(move || {
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    // "TIME [NEIGH] ADDR fsm: STATE admin: ..."
                    let Some(state) = line.split("fsm: ").nth(1) else {
                        continue;
                    };
                    let up = state.to_ascii_uppercase().starts_with("ESTABLISHED");
                    states
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(n, up);
                }
            }));
        }
        // The states before the first change.
        let now = self.neighbors_json().ok_or("gobgp neighbor -j")?;
        {
            let mut s = established.lock().unwrap_or_else(|p| p.into_inner());
            for j in now.as_array().unwrap_or_default() {
                let addr = j
                    .at("conf.neighbor_address")
                    .and_then(|a| a.as_str())
                    .and_then(|a| a.parse::<IpAddr>().ok());
                if let Some(a) = addr {
                    let up = j.at("state.session_state").and_then(|s| s.as_u64()) == Some(6);
                    s.entry(a).or_insert(up);
                }
            }
        }
        Ok(Monitor {
            prefixes,
            best,
            established,
            _streams: streams,
            readers,
        })
    }
}

impl Monitor {
    /// Destinations with a best path.
    pub fn prefixes(&self) -> usize {
        self.prefixes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The best paths route by route ([`crate::table`]), as the events
    /// left them.
    pub fn routes(&self) -> crate::table::Routes {
        self.best
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(|(p, d)| Some((p.parse().ok()?, *d)))
            .collect()
    }

    /// Established sessions.
    pub fn sessions(&self) -> usize {
        self.established
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|up| **up)
            .count()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        // The streams end when their processes are killed.
        self._streams.clear();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}
