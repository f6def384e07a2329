//! FRR bgpd as a test peer: a configuration, bgpd in a namespace without
//! zebra, and its own view through `vtysh ... json`.

use crate::netns::{Daemon, Node};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use json::Json;

/// An FRR speaker in one AS with sessions to some neighbours and networks
/// to announce.
pub struct FrrConfig<'a> {
    pub router_id: std::net::Ipv4Addr,
    pub local_as: u32,
    /// (neighbour address, neighbour AS)
    pub neighbors: Vec<(IpAddr, u32)>,
    /// Prefixes announced (`network` statements; IPv4 or IPv6).
    pub routes: Vec<&'a str>,
    /// Hold time proposed (keepalive = a third).
    pub hold_time: u16,
}

impl FrrConfig<'_> {
    pub fn render(&self, local: &Node) -> String {
        let mut s = format!(
            "frr defaults traditional\nhostname {ns}\nlog stdout debugging\n!\nrouter bgp {asn}\n bgp router-id {id}\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n no bgp network import-check\n timers bgp {ka} {hold}\n",
            ns = local.ns,
            asn = self.local_as,
            id = self.router_id,
            ka = (self.hold_time / 3).max(1),
            hold = self.hold_time,
        );
        for (addr, asn) in &self.neighbors {
            s.push_str(&format!(
                " neighbor {addr} remote-as {asn}\n neighbor {addr} timers connect 2\n"
            ));
            let src = if addr.is_ipv4() {
                local.v4.to_string()
            } else {
                local.v6.to_string()
            };
            s.push_str(&format!(" neighbor {addr} update-source {src}\n"));
        }
        for (af, v4) in [("ipv4", true), ("ipv6", false)] {
            s.push_str(&format!(" address-family {af} unicast\n"));
            for r in self.routes.iter().filter(|r| r.contains(':') != v4) {
                s.push_str(&format!("  network {r}\n"));
            }
            for (addr, _) in self.neighbors.iter().filter(|(a, _)| a.is_ipv4() == v4) {
                s.push_str(&format!("  neighbor {addr} activate\n"));
            }
            s.push_str(" exit-address-family\n");
        }
        s.push_str("!\n");
        s
    }
}

/// A running bgpd.
pub struct Frr {
    pub daemon: Daemon,
    /// The vty socket directory (owned by user frr).
    pub vty: PathBuf,
    pub log: PathBuf,
    node: Node,
    local_as: u32,
}

impl Frr {
    pub fn start(node: &Node, dir: &Path, config: &FrrConfig<'_>) -> Result<Frr, String> {
        Frr::start_text(node, dir, &config.render(node), config.local_as)
    }

    /// Starts bgpd with a whole configuration of the caller's (`local_as`
    /// is its `router bgp`).
    pub fn start_text(node: &Node, dir: &Path, text: &str, local_as: u32) -> Result<Frr, String> {
        use std::os::unix::fs::PermissionsExt;
        // bgpd drops privileges to user frr: it must reach its directory.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let vty = dir.join(format!("frr-{}", node.ns));
        std::fs::create_dir_all(&vty).map_err(|e| e.to_string())?;
        let conf = vty.join("bgpd.conf");
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        let chown = std::process::Command::new("chown")
            .args(["-R", "frr:frr", &vty.to_string_lossy()])
            .status()
            .map_err(|e| e.to_string())?;
        if !chown.success() {
            return Err(format!("chown frr {}", vty.display()));
        }
        let log_path = dir.join(format!("frr-{}.log", node.ns));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let listen = node.v4.to_string();
        let mut cmd = node.command("/usr/lib/frr/bgpd");
        cmd.args([
            "-Z",
            "-n",
            "-S",
            "-l",
            &listen,
            "-l",
            &node.v6.to_string(),
            "-P",
            "0",
            "--vty_socket",
            &vty.to_string_lossy(),
            "-f",
            &conf.to_string_lossy(),
            "-i",
            &vty.join("bgpd.pid").to_string_lossy(),
        ])
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
        let daemon = Daemon::spawn("bgpd", cmd)?;
        Ok(Frr {
            daemon,
            vty,
            log: log_path,
            node: node.clone(),
            local_as,
        })
    }

    /// vtysh output of one or more commands (run in sequence, as in a
    /// configuration session when the first is `configure terminal`).
    pub fn vtysh(&self, commands: &[&str]) -> Result<String, String> {
        let sock = self.vty.to_string_lossy().into_owned();
        let mut args = vec!["vtysh", "--vty_socket", &sock, "-d", "bgpd"];
        for c in commands {
            args.push("-c");
            args.push(c);
        }
        self.node.run(&args)
    }

    /// The BGP table route by route ([`crate::table`]), dumped to `path`
    /// (a one-off `dump bgp routes-mrt`: a new path each time, as FRR
    /// takes the same command again as already done).
    pub fn routes(&self, path: &Path) -> Result<crate::table::Routes, String> {
        crate::table::dump_and_read(path, || {
            let command = format!("dump bgp routes-mrt {}", path.display());
            self.vtysh(&["configure terminal", &command]).map(|_| ())
        })
    }

    /// A `show ... json` command, parsed.
    pub fn json(&self, command: &str) -> Option<Json> {
        Json::parse(&self.vtysh(&[command]).ok()?).ok()
    }

    /// The neighbour's entry of `show bgp neighbors json`.
    pub fn neighbor(&self, addr: IpAddr) -> Option<Json> {
        self.json(&format!("show bgp neighbors {addr} json"))?
            .get(&addr.to_string())
            .cloned()
    }

    /// The BGP state of a session ("Established", "Active", ...).
    pub fn bgp_state(&self, addr: IpAddr) -> Option<String> {
        self.neighbor(addr)?
            .get("bgpState")?
            .as_str()
            .map(String::from)
    }

    /// The paths FRR holds for `prefix` (`show bgp ... PREFIX json`), or
    /// `None` when it has none.
    pub fn paths(&self, prefix: &str) -> Option<Vec<Json>> {
        let af = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        let j = self.json(&format!("show bgp {af} unicast {prefix} json"))?;
        let paths = j.get("paths")?.as_array()?.to_vec();
        (!paths.is_empty()).then_some(paths)
    }

    /// Announces (`true`) or withdraws a network.
    pub fn network(&self, prefix: &str, announce: bool) -> Result<String, String> {
        let af = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        let router = format!("router bgp {}", self.local_as);
        let af = format!("address-family {af} unicast");
        let net = format!("{}network {prefix}", if announce { "" } else { "no " });
        self.vtysh(&["configure terminal", &router, &af, &net])
    }

    /// The last lines of bgpd's log.
    pub fn log_tail(&self) -> String {
        crate::frr::tail(&self.log, 40)
    }
}

/// The last `n` lines of a text file.
pub fn tail(path: &Path, n: usize) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A small JSON reader for the daemons' CLI output (the test crate has no
/// JSON dependency).
pub mod json {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Json {
        Null,
        Bool(bool),
        /// Kept as written.
        Num(String),
        Str(String),
        Arr(Vec<Json>),
        Obj(Vec<(String, Json)>),
    }

    impl Json {
        pub fn parse(s: &str) -> Result<Json, String> {
            let mut p = Parser {
                b: s.as_bytes(),
                i: 0,
            };
            let v = p.value()?;
            p.ws();
            if p.i != p.b.len() {
                return Err(format!("trailing data at {}", p.i));
            }
            Ok(v)
        }

        /// A member of an object.
        pub fn get(&self, key: &str) -> Option<&Json> {
            match self {
                Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }

        /// Follows a path of object keys and array indexes ("a.0.b").
        pub fn at(&self, path: &str) -> Option<&Json> {
            path.split('.').try_fold(self, |j, k| match j {
                Json::Arr(a) => a.get(k.parse::<usize>().ok()?),
                _ => j.get(k),
            })
        }

        pub fn as_str(&self) -> Option<&str> {
            match self {
                Json::Str(s) => Some(s),
                _ => None,
            }
        }

        pub fn as_array(&self) -> Option<&[Json]> {
            match self {
                Json::Arr(a) => Some(a),
                _ => None,
            }
        }

        pub fn as_u64(&self) -> Option<u64> {
            match self {
                Json::Num(n) => n.parse().ok(),
                _ => None,
            }
        }

        pub fn as_bool(&self) -> Option<bool> {
            match self {
                Json::Bool(b) => Some(*b),
                _ => None,
            }
        }

        /// Object keys.
        pub fn keys(&self) -> Vec<&str> {
            match self {
                Json::Obj(m) => m.iter().map(|(k, _)| k.as_str()).collect(),
                _ => Vec::new(),
            }
        }
    }

    struct Parser<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.b.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
                self.i += 1;
            }
        }

        fn eat(&mut self, c: u8) -> Result<(), String> {
            self.ws();
            if self.b.get(self.i) == Some(&c) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected '{}' at {}", c as char, self.i))
            }
        }

        fn value(&mut self) -> Result<Json, String> {
            self.ws();
            match self.b.get(self.i).copied() {
                Some(b'{') => {
                    self.i += 1;
                    let mut m = Vec::new();
                    self.ws();
                    if self.b.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(Json::Obj(m));
                    }
                    loop {
                        self.ws();
                        let k = self.string()?;
                        self.eat(b':')?;
                        m.push((k, self.value()?));
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(Json::Obj(m));
                            }
                            _ => return Err(format!("bad object at {}", self.i)),
                        }
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut a = Vec::new();
                    self.ws();
                    if self.b.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(Json::Arr(a));
                    }
                    loop {
                        a.push(self.value()?);
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(Json::Arr(a));
                            }
                            _ => return Err(format!("bad array at {}", self.i)),
                        }
                    }
                }
                Some(b'"') => Ok(Json::Str(self.string()?)),
                Some(b't') => self.word("true", Json::Bool(true)),
                Some(b'f') => self.word("false", Json::Bool(false)),
                Some(b'n') => self.word("null", Json::Null),
                Some(c) if c == b'-' || c.is_ascii_digit() => {
                    let start = self.i;
                    while self
                        .b
                        .get(self.i)
                        .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
                    {
                        self.i += 1;
                    }
                    Ok(Json::Num(
                        String::from_utf8_lossy(&self.b[start..self.i]).into_owned(),
                    ))
                }
                _ => Err(format!("unexpected input at {}", self.i)),
            }
        }

        fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
            if self.b[self.i..].starts_with(w.as_bytes()) {
                self.i += w.len();
                Ok(v)
            } else {
                Err(format!("bad literal at {}", self.i))
            }
        }

        fn string(&mut self) -> Result<String, String> {
            if self.b.get(self.i) != Some(&b'"') {
                return Err(format!("expected a string at {}", self.i));
            }
            self.i += 1;
            let mut out = Vec::new();
            loop {
                match self.b.get(self.i).copied() {
                    None => return Err("unterminated string".into()),
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(String::from_utf8_lossy(&out).into_owned());
                    }
                    Some(b'\\') => {
                        let e = self.b.get(self.i + 1).copied().ok_or("bad escape")?;
                        self.i += 2;
                        match e {
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            b'r' => out.push(b'\r'),
                            b'b' => out.push(8),
                            b'f' => out.push(12),
                            b'u' => {
                                let hex = self.b.get(self.i..self.i + 4).ok_or("bad \\u")?;
                                let cp = u32::from_str_radix(&String::from_utf8_lossy(hex), 16)
                                    .map_err(|e| e.to_string())?;
                                self.i += 4;
                                let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                                out.extend_from_slice(ch.to_string().as_bytes());
                            }
                            c => out.push(c),
                        }
                    }
                    Some(c) => {
                        out.push(c);
                        self.i += 1;
                    }
                }
            }
        }
    }
}
