//! BIRD 2 as a test peer: a configuration, the daemon in a namespace, and
//! its own view through birdc.

use crate::netns::{Daemon, Node};
use std::path::{Path, PathBuf};

pub struct Bird {
    pub daemon: Daemon,
    pub socket: PathBuf,
    node: Node,
}

/// A BIRD speaker with one iBGP/eBGP session per neighbour and static
/// routes to announce.
pub struct BirdConfig<'a> {
    pub router_id: std::net::Ipv4Addr,
    pub local_as: u32,
    /// (protocol name, neighbour address, neighbour AS)
    pub neighbors: Vec<(&'a str, std::net::IpAddr, u32)>,
    /// IPv4 prefixes announced (as blackhole static routes).
    pub routes: Vec<&'a str>,
}

impl BirdConfig<'_> {
    pub fn render(&self, local: &Node) -> String {
        let mut s = format!(
            "router id {};\nlog stderr all;\nprotocol device {{}}\nprotocol direct {{ ipv4; ipv6; }}\n",
            self.router_id
        );
        if !self.routes.is_empty() {
            s.push_str("protocol static announced {\n  ipv4;\n");
            for r in &self.routes {
                s.push_str(&format!("  route {r} blackhole;\n"));
            }
            s.push_str("}\n");
        }
        for (name, addr, asn) in &self.neighbors {
            let local_addr = if addr.is_ipv4() {
                local.v4.to_string()
            } else {
                local.v6.to_string()
            };
            s.push_str(&format!(
                "protocol bgp {name} {{\n  local {local_addr} as {};\n  neighbor {addr} as {asn};\n  hold time 30;\n  connect retry time 2;\n  error wait time 1, 5;\n  ipv4 {{ import all; export all; next hop self; }};\n}}\n",
                self.local_as
            ));
        }
        s
    }
}

impl Bird {
    pub fn start(node: &Node, dir: &Path, config: &BirdConfig<'_>) -> Result<Bird, String> {
        Bird::start_with(node, dir, config, "")
    }

    /// birdc output of a command.
    pub fn birdc(&self, command: &str) -> Result<String, String> {
        let mut args = vec!["birdc", "-s"];
        let sock = self.socket.to_string_lossy().into_owned();
        args.push(&sock);
        args.extend(command.split(' '));
        self.node.run(&args)
    }

    /// The BGP state of a protocol ("Established", "Active", ...).
    pub fn bgp_state(&self, protocol: &str) -> Option<String> {
        let out = self.birdc(&format!("show protocols all {protocol}")).ok()?;
        out.lines().find_map(|l| {
            l.trim()
                .strip_prefix("BGP state:")
                .map(|s| s.trim().to_string())
        })
    }
}

impl Bird {
    /// `show route all PREFIX` as (attribute name, value) pairs, or `None`
    /// when BIRD has no route for it.
    pub fn route(&self, prefix: &str) -> Option<Vec<(String, String)>> {
        let out = self.birdc(&format!("show route all {prefix}")).ok()?;
        if !out.contains(prefix.split('/').next().unwrap_or(prefix)) {
            return None;
        }
        let attrs: Vec<(String, String)> = out
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let (k, v) = l.split_once(':')?;
                k.starts_with("BGP.")
                    .then(|| (k.to_string(), v.trim().to_string()))
            })
            .collect();
        (!attrs.is_empty()).then_some(attrs)
    }

    /// One BGP attribute of the route for `prefix`.
    pub fn route_attr(&self, prefix: &str, attr: &str) -> Option<String> {
        self.route(prefix)?
            .into_iter()
            .find(|(k, _)| k == attr)
            .map(|(_, v)| v)
    }
}

impl Bird {
    /// Like [`Bird::start`], with extra lines inside every `protocol bgp`
    /// block (e.g. `graceful restart on;`).
    pub fn start_with(
        node: &Node,
        dir: &Path,
        config: &BirdConfig<'_>,
        bgp_options: &str,
    ) -> Result<Bird, String> {
        let text = config.render(node).replace(
            "  hold time 30;\n",
            &format!("  hold time 30;\n{bgp_options}\n"),
        );
        Bird::start_text(node, dir, &text)
    }

    /// Starts BIRD with a whole configuration of the caller's.
    pub fn start_text(node: &Node, dir: &Path, text: &str) -> Result<Bird, String> {
        let conf = dir.join(format!("bird-{}.conf", node.ns));
        let socket = dir.join(format!("bird-{}.ctl", node.ns));
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("bird-{}.log", node.ns)))
            .map_err(|e| e.to_string())?;
        let mut cmd = node.command("bird");
        cmd.args([
            "-f",
            "-c",
            &conf.to_string_lossy(),
            "-s",
            &socket.to_string_lossy(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(log);
        let daemon = Daemon::spawn("bird", cmd)?;
        Ok(Bird {
            daemon,
            socket,
            node: node.clone(),
        })
    }
}

impl Bird {
    /// The node BIRD runs in.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Routes in table master4 (`show route count`).
    pub fn route_count(&self) -> Option<usize> {
        self.route_count_in("master4")
    }

    /// Prefixes in table master4 (`for K networks`: a prefix learned from
    /// several neighbours counts once).
    pub fn prefixes(&self) -> Option<usize> {
        let out = self.birdc("show route count").ok()?;
        let line = out.lines().find(|l| l.ends_with("in table master4"))?;
        let at = line.find(" for ")? + " for ".len();
        line[at..].split_whitespace().next()?.parse().ok()
    }

    /// IPv4 networks with a best route, summed from every protocol's
    /// `preferred` counter (`show protocols all`): what
    /// [`Bird::prefixes`] counts, read in constant time, where `show
    /// route count` walks the table (over a second with two full tables
    /// on a loaded machine: a blind spot in a continuity sample).
    pub fn preferred_ipv4(&self) -> Option<usize> {
        let out = self.birdc("show protocols all").ok()?;
        Some(preferred_in(&out, "ipv4"))
    }

    /// Routes in `table` (`master4`, `master6`).
    pub fn route_count_in(&self, table: &str) -> Option<usize> {
        let out = self.birdc("show route count").ok()?;
        let suffix = format!("in table {table}");
        out.lines()
            .find(|l| l.ends_with(&suffix))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// Writes table master4 to `path` as a TABLE_DUMP_V2 RIB (BIRD writes
    /// it in the background: the caller waits for the file to be whole).
    pub fn mrt_dump(&self, path: &Path) -> Result<(), String> {
        self.mrt_dump_table("master4", path)
    }

    /// Table master4 route by route ([`crate::table`]), dumped to `path`.
    pub fn routes(&self, path: &Path) -> Result<crate::table::Routes, String> {
        crate::table::dump_and_read(path, || self.mrt_dump(path))
    }

    /// [`Bird::mrt_dump`] of `table`.
    pub fn mrt_dump_table(&self, table: &str, path: &Path) -> Result<(), String> {
        let out = self.birdc(&format!(
            "mrt dump table \"{table}\" to \"{}\"",
            path.display()
        ))?;
        if out.lines().any(|l| l.contains("rror")) {
            return Err(out);
        }
        Ok(())
    }
}

/// Whether two pieces of birdc output are the same, times of day
/// (`HH:MM:SS.mmm`) allowed to differ by a few milliseconds: BIRD prints
/// a stored time as the wall clock less the monotonic time elapsed since,
/// both read anew for each command, so one instant can print 1 ms apart
/// on a loaded machine (seen: a route's time and a protocol's `since`).
pub fn same_output(a: &str, b: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (
        a.split_whitespace().collect(),
        b.split_whitespace().collect(),
    );
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x == y
                || matches!((time_of_day_ms(x), time_of_day_ms(y)), (Some(p), Some(q)) if p.abs_diff(q) <= 20)
        })
}

/// `HH:MM:SS.mmm` in milliseconds since midnight.
fn time_of_day_ms(t: &str) -> Option<u64> {
    let (hms, ms) = t.split_once('.')?;
    let mut parts = hms.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || ms.len() != 3 {
        return None;
    }
    Some(((h * 60 + m) * 60 + s) * 1000 + ms.parse::<u64>().ok()?)
}

/// The sum of the `preferred` route counts of the `channel` channels in
/// `show protocols all` output.
fn preferred_in(out: &str, channel: &str) -> usize {
    let mut current = String::new();
    let mut sum = 0;
    for line in out.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix("Channel ") {
            current = c.trim().to_string();
        } else if let Some(routes) = line.strip_prefix("Routes:")
            && current == channel
        {
            sum += routes
                .split(',')
                .filter_map(|part| part.trim().strip_suffix(" preferred"))
                .filter_map(|n| n.trim().parse::<usize>().ok())
                .sum::<usize>();
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    #[test]
    fn preferred_routes_are_summed_over_the_channels_asked() {
        let out = "m1         BGP        ---        up     00:01:02.000  Established
  BGP state:          Established
  Channel ipv4
    State:          UP
    Routes:         577616 imported, 0 exported, 300000 preferred
  Channel ipv6
    Routes:         10 imported, 0 exported, 10 preferred
m2         BGP        ---        up     00:01:02.000  Established
  Channel ipv4
    Routes:         577616 imported, 0 filtered, 0 exported, 277616 preferred
device1    Device     ---        up     00:01:00.000
";
        assert_eq!(super::preferred_in(out, "ipv4"), 577616);
        assert_eq!(super::preferred_in(out, "ipv6"), 10);
    }

    #[test]
    fn outputs_differing_by_a_millisecond_of_clock_are_the_same() {
        let a = "198.19.10.0/24 unicast [reflector 19:34:09.975 from 198.18.0.1] * (100)";
        let b = "198.19.10.0/24 unicast [reflector 19:34:09.974 from 198.18.0.1] * (100)";
        assert!(super::same_output(a, b));
        assert!(!super::same_output(a, &b.replace("09.974", "10.974")));
        assert!(!super::same_output(a, &b.replace("(100)", "(200)")));
        assert!(!super::same_output(a, &format!("{b} extra")));
        assert!(super::same_output("up 23:59:59.999", "up 23:59:59.990"));
        assert_eq!(super::time_of_day_ms("00:01:02.003"), Some(62_003));
        assert_eq!(super::time_of_day_ms("1.5"), None);
    }
}
