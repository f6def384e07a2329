//! Test topologies in Linux network namespaces: a bridge in a hub namespace
//! and one namespace per node, joined by veth pairs, addressed from
//! 198.18.0.0/15 (IPv4) and 2001:db8::/32 (IPv6). Everything is removed on
//! drop, also when a test fails; names carry the process id so tests can run
//! side by side and twice in a row.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn sh(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether this process may build namespaces (root with `ip` available).
pub fn available() -> bool {
    let name = format!("rfx-probe-{}", std::process::id());
    let ok = sh(&["ip", "netns", "add", &name]).is_ok();
    let _ = sh(&["ip", "netns", "del", &name]);
    ok
}

/// A LAN: one bridge, any number of nodes.
pub struct Lan {
    id: String,
    hub: String,
    nodes: Vec<String>,
    /// Third octet of 198.18.X.0/24 and hextet of 2001:db8:X::/64.
    subnet: u8,
}

/// A node on a [`Lan`].
#[derive(Clone, Debug)]
pub struct Node {
    pub ns: String,
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
}

impl Lan {
    pub fn new() -> Result<Lan, String> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Lan::numbered(n, (n % 250) as u8)
    }

    /// A LAN on 198.18.`subnet`.0/24 (and 2001:db8:`subnet`::/64),
    /// whatever LANs this process made before: runs that compare routes
    /// (next hops, originator ids) between two LANs use one subnet.
    pub fn on_subnet(subnet: u8) -> Result<Lan, String> {
        Lan::numbered(NEXT.fetch_add(1, Ordering::Relaxed), subnet)
    }

    fn numbered(n: u32, subnet: u8) -> Result<Lan, String> {
        let id = format!("{}x{n}", std::process::id() % 100_000);
        let hub = format!("rfx{id}h");
        sh(&["ip", "netns", "add", &hub])?;
        let lan = Lan {
            id,
            hub,
            nodes: Vec::new(),
            subnet,
        };
        lan.exec_ok(&lan.hub, &["ip", "link", "add", "br0", "type", "bridge"])?;
        lan.exec_ok(&lan.hub, &["ip", "link", "set", "br0", "up"])?;
        lan.exec_ok(&lan.hub, &["ip", "link", "set", "lo", "up"])?;
        Ok(lan)
    }

    fn exec_ok(&self, ns: &str, args: &[&str]) -> Result<(), String> {
        let mut v = vec!["ip", "netns", "exec", ns];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Adds node number `host` (1..=250): 198.18.X.host and 2001:db8:X::host.
    pub fn node(&mut self, host: u8) -> Result<Node, String> {
        let ns = format!("rfx{}n{host}", self.id);
        sh(&["ip", "netns", "add", &ns])?;
        self.nodes.push(ns.clone());
        let a = format!("v{}n{host}", self.id);
        let b = format!("v{}b{host}", self.id);
        self.exec_ok(&ns, &["ip", "link", "set", "lo", "up"])?;
        self.plug(&ns, host, &a, &b, "eth0")
    }

    /// A veth pair from namespace `ns` (as `ifname`, addressed as host
    /// `host` of this LAN) to the bridge.
    fn plug(&self, ns: &str, host: u8, a: &str, b: &str, ifname: &str) -> Result<Node, String> {
        sh(&[
            "ip", "link", "add", a, "netns", ns, "type", "veth", "peer", "name", b, "netns",
            &self.hub,
        ])?;
        self.exec_ok(&self.hub, &["ip", "link", "set", b, "master", "br0", "up"])?;
        let v4 = Ipv4Addr::new(198, 18, self.subnet, host);
        let v6 = Ipv6Addr::new(
            0x2001,
            0xdb8,
            u16::from(self.subnet),
            0,
            0,
            0,
            0,
            u16::from(host),
        );
        self.exec_ok(ns, &["ip", "link", "set", a, "name", ifname])?;
        self.exec_ok(
            ns,
            &["ip", "addr", "add", &format!("{v4}/24"), "dev", ifname],
        )?;
        self.exec_ok(
            ns,
            &[
                "ip",
                "-6",
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                ifname,
                "nodad",
            ],
        )?;
        self.exec_ok(ns, &["ip", "link", "set", ifname, "up"])?;
        Ok(Node {
            ns: ns.to_string(),
            v4,
            v6,
        })
    }

    /// Connects the namespace of `node` (of another LAN) to this one too,
    /// as host `host` on interface `ifname`: a router between LANs. The
    /// namespace stays the other LAN's to remove.
    pub fn join(&mut self, node: &Node, host: u8, ifname: &str) -> Result<Node, String> {
        let a = format!("v{}j{host}", self.id);
        let b = format!("v{}c{host}", self.id);
        self.plug(&node.ns, host, &a, &b, ifname)
    }

    /// Cuts a node off the LAN (its link goes down) or brings it back.
    pub fn set_link(&self, node: &Node, up: bool) -> Result<(), String> {
        self.exec_ok(
            &node.ns,
            &["ip", "link", "set", "eth0", if up { "up" } else { "down" }],
        )
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in self.nodes.iter().chain(std::iter::once(&self.hub)) {
            let _ = sh(&["ip", "netns", "del", ns]);
        }
    }
}

impl Node {
    /// A command to run inside this node's namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, program]);
        c
    }

    /// Runs a command inside the namespace and returns its stdout.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut c = self.command(args[0]);
        c.args(&args[1..]).stdin(Stdio::null());
        let out = c.output().map_err(|e| format!("{}: {e}", args.join(" ")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "{}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// Moves the calling thread into network namespace `ns` (`ip netns`
/// names it under /run/netns): sockets it opens then are the namespace's.
pub fn enter(ns: &str) -> Result<(), String> {
    let path = format!("/run/netns/{ns}");
    let f = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&f),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .map_err(|e| format!("entering {ns}: {e}"))
}

/// A child process killed (and reaped) on drop.
pub struct Daemon {
    pub name: String,
    child: Option<Child>,
}

impl Daemon {
    pub fn spawn(name: &str, mut cmd: Command) -> Result<Daemon, String> {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Daemon {
            name: name.into(),
            child: Some(child),
        })
    }

    /// Kills with SIGKILL now (a crash, for fault tests).
    /// A process already spawned, killed on drop like the others.
    pub fn adopt(name: &str, child: Child) -> Daemon {
        Daemon {
            name: name.to_string(),
            child: Some(child),
        }
    }

    /// The process id, while it runs here.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends a signal by name (`HUP`, `TERM`) to the process.
    pub fn signal(&self, name: &str) -> Result<(), String> {
        let Some(c) = &self.child else {
            return Err(format!("{}: not running", self.name));
        };
        let status = Command::new("kill")
            .args(["-s", name, &c.id().to_string()])
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -s {name} {}: {status}", c.id()))
        }
    }

    /// How the process exited (`None`: it runs, or was killed here).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits up to `within` for the process to exit (after a signal):
    /// whether it did.
    pub fn wait_exit(&mut self, within: std::time::Duration) -> bool {
        let end = std::time::Instant::now() + within;
        while self.is_running() {
            if std::time::Instant::now() >= end {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        true
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `f` every 200 ms until it returns `Some` or `secs` pass.
pub fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if std::time::Instant::now() >= end {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
