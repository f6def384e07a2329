//! A cluster of Reflex members in a test topology: configuration,
//! `reflex cluster init`, and reading what each member logs.

use crate::netns::{Daemon, Lan, Node, wait_for};
use std::path::{Path, PathBuf};

pub const CLUSTER_ID: &str = "198.18.255.1";
pub const RAFT_PORT: u16 = 11179;

/// A member's configuration: the RIB's identity (router id, cluster id,
/// AS) is the cluster's, the same on every member; each member listens on
/// its IPv4 and IPv6 addresses, reaches the others with the certificates
/// in `certs` ([`make_certificates`]) and waits for `reflex cluster
/// init`; `neighbors` is its `[[neighbor]]` sections (the same on every
/// member).
pub fn member_config(me: u64, member: &Node, data: &Path, certs: &Path, neighbors: &str) -> String {
    member_config_listening(me, member, data, certs, neighbors, &[])
}

/// [`member_config`] listening on the addresses `also` too.
pub fn member_config_listening(
    me: u64,
    member: &Node,
    data: &Path,
    certs: &Path,
    neighbors: &str,
    also: &[std::net::IpAddr],
) -> String {
    let file = |name: &str| certs.join(name).display().to_string();
    let also: String = also.iter().map(|a| format!(", \"{a}\"")).collect();
    format!(
        "router-id = \"{CLUSTER_ID}\"\nlocal-as = 65000\ncluster-id = \"{CLUSTER_ID}\"\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{}\", \"{}\"{also}]\n\n[cluster]\nmember-id = {me}\nraft-address = \"{}:{RAFT_PORT}\"\nbootstrap = false\nca = \"{}\"\ncertificate = \"{}\"\nkey = \"{}\"\n{neighbors}",
        data.display(),
        member.v4,
        member.v6,
        member.v4,
        file("ca.pem"),
        file(&format!("member-{me}.pem")),
        file(&format!("member-{me}.key")),
    )
}

/// Makes the cluster CA, members `1..=members`' certificates and the
/// operator's in `certs` (`reflex cluster certs` of `binary`).
pub fn make_certificates(binary: &Path, certs: &Path, members: u64) -> Result<(), String> {
    let mut args = vec![
        "cluster".to_string(),
        "certs".into(),
        "--dir".into(),
        certs.display().to_string(),
    ];
    for id in 1..=members {
        args.extend(["--member".to_string(), id.to_string()]);
    }
    let out = std::process::Command::new(binary)
        .args(&args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "reflex cluster certs: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// A LAN with three member nodes (hosts 1 to 3) and three client nodes
/// (hosts 4 to 6): `(lan, members, clients)`.
pub fn three_and_three() -> Result<(Lan, Vec<Node>, Vec<Node>), String> {
    three_and_three_on(Lan::new()?)
}

/// [`three_and_three`] on `lan` (a new one, [`Lan::on_subnet`]).
pub fn three_and_three_on(mut lan: Lan) -> Result<(Lan, Vec<Node>, Vec<Node>), String> {
    let members = (1..=3).map(|i| lan.node(i)).collect::<Result<_, _>>()?;
    let clients = (4..=6).map(|i| lan.node(i)).collect::<Result<_, _>>()?;
    Ok((lan, members, clients))
}

/// IPv4 route-reflector clients, one `[[neighbor]]` each.
pub fn client_neighbors(clients: &[Node]) -> String {
    clients.iter().map(|n| client_neighbor(n, 30, "")).collect()
}

/// One IPv4 route-reflector client's `[[neighbor]]` section (AS 65000,
/// idle hold 1 s), with its hold time and the `extra` keys (lines).
pub fn client_neighbor(n: &Node, hold: u16, extra: &str) -> String {
    format!(
        "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nhold-time = {hold}\nidle-hold = 1\n{extra}",
        n.v4
    )
}

/// Drops (or, `cut` false, lets through again) every packet to or from
/// the Raft port in `m`'s namespace: its BGP links stay up.
pub fn cut_raft(m: &Node, cut: bool) -> Result<(), String> {
    let port = RAFT_PORT.to_string();
    let op = if cut { "-I" } else { "-D" };
    for chain in ["INPUT", "OUTPUT"] {
        m.run(&[
            "iptables", op, chain, "-p", "tcp", "--dport", &port, "-j", "DROP",
        ])?;
    }
    Ok(())
}

pub fn raft(m: &Node) -> String {
    format!("{}:{RAFT_PORT}", m.v4)
}

/// Runs `reflex ARGS` in `node`; its stdout on success.
pub fn reflex_cli(node: &Node, args: &[String]) -> Option<String> {
    let out = node
        .command(&crate::reflex::binary().to_string_lossy())
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Members started, each in its own directory (`m1`, `m2`, ...).
pub struct Cluster {
    pub members: Vec<Node>,
    /// The CA, the members' and the operator's certificates.
    pub certs: PathBuf,
    pub dirs: Vec<PathBuf>,
    pub configs: Vec<String>,
    pub daemons: Vec<Option<Daemon>>,
}

impl Cluster {
    /// Starts the members with `clients` as IPv4 route-reflector clients
    /// and makes them one cluster.
    pub fn start(members: Vec<Node>, dir: &Path, clients: &[Node]) -> Result<Cluster, String> {
        Cluster::start_with(members, dir, &client_neighbors(clients))
    }

    /// Starts the members with these `[[neighbor]]` sections and makes them
    /// one cluster (`reflex cluster init`, asked of the first).
    pub fn start_with(members: Vec<Node>, dir: &Path, neighbors: &str) -> Result<Cluster, String> {
        Cluster::start_listening(members, dir, neighbors, &[])
    }

    /// [`Cluster::start_with`], each member listening on the addresses
    /// `also` too.
    pub fn start_listening(
        members: Vec<Node>,
        dir: &Path,
        neighbors: &str,
        also: &[std::net::IpAddr],
    ) -> Result<Cluster, String> {
        let mut c = Cluster {
            dirs: Vec::new(),
            configs: Vec::new(),
            daemons: Vec::new(),
            certs: dir.join("certs"),
            members,
        };
        make_certificates(&crate::reflex::binary(), &c.certs, c.members.len() as u64)?;
        for (i, m) in c.members.iter().enumerate() {
            let d = dir.join(format!("m{}", i + 1));
            std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
            let conf = member_config_listening(
                i as u64 + 1,
                m,
                &d.join("data"),
                &c.certs,
                neighbors,
                also,
            );
            c.daemons.push(Some(crate::reflex::start(m, &d, &conf)?));
            c.configs.push(conf);
            c.dirs.push(d);
        }
        let mut args: Vec<String> = vec!["init".into()];
        for (i, m) in c.members.iter().enumerate() {
            args.push("--member".into());
            args.push(format!("{}={}", i + 1, raft(m)));
        }
        wait_for(10, || c.ask(0, &args)).ok_or_else(|| {
            format!(
                "cluster init failed\n{}",
                crate::reflex::log_tail(&c.dirs[0])
            )
        })?;
        Ok(c)
    }

    /// `reflex cluster ARGS` asked of member `i` (0-based) as the
    /// operator, from its namespace; its stdout on success.
    pub fn ask(&self, i: usize, args: &[String]) -> Option<String> {
        let mut all = vec!["cluster".to_string()];
        all.extend(args.iter().cloned());
        all.extend([
            "--raft".to_string(),
            raft(&self.members[i]),
            "--certs".into(),
            self.certs.display().to_string(),
        ]);
        reflex_cli(&self.members[i], &all)
    }

    /// The leader as member `asked` knows it (1-based ids).
    pub fn leader(&self, asked: usize) -> Option<u64> {
        let out = self.ask(asked, &["status".into()])?;
        let v: serde_json::Value = serde_json::from_str(&out).ok()?;
        v.get("leader")?.as_u64()
    }

    /// SIGKILL to member `i` (0-based).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut d) = self.daemons[i].take() {
            d.kill();
        }
    }

    /// Starts member `i` again from its data directory (its log is kept
    /// aside as `reflex.log.N`).
    pub fn restart(&mut self, i: usize) -> Result<(), String> {
        let d = &self.dirs[i];
        let n = (1..)
            .find(|n| !d.join(format!("reflex.log.{n}")).exists())
            .unwrap_or(1);
        let _ = std::fs::rename(d.join("reflex.log"), d.join(format!("reflex.log.{n}")));
        self.daemons[i] = Some(crate::reflex::start(&self.members[i], d, &self.configs[i])?);
        Ok(())
    }

    /// Copies the members' whole logs (`reflex.log` and those kept aside
    /// by restarts) and the `extra` files to `TMPDIR/name`, where they
    /// outlive the test's temporary directory: for the reader of a
    /// failure, or of the figures. The directory.
    pub fn keep_logs(&self, name: &str, extra: &[PathBuf]) -> PathBuf {
        let keep = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&keep);
        for (i, d) in self.dirs.iter().enumerate() {
            let to = keep.join(format!("m{}", i + 1));
            let _ = std::fs::create_dir_all(&to);
            for f in std::fs::read_dir(d).into_iter().flatten().flatten() {
                if f.file_name().to_string_lossy().starts_with("reflex.log") {
                    let _ = std::fs::copy(f.path(), to.join(f.file_name()));
                }
            }
        }
        for f in extra {
            if let Some(file) = f.file_name() {
                let _ = std::fs::copy(f, keep.join(file));
            }
        }
        keep
    }

    /// Every member's last logged digest, once all agree on a Loc-RIB of at
    /// least `min_routes` destinations.
    pub fn agree(&self, secs: u64, min_routes: usize) -> Option<(u64, usize, String)> {
        wait_for(secs, || {
            let d: Vec<_> = self
                .dirs
                .iter()
                .map(|d| digest(d))
                .collect::<Option<Vec<_>>>()?;
            (d.iter().all(|x| *x == d[0]) && d[0].1 >= min_routes).then(|| d[0].clone())
        })
    }

    pub fn digests(&self) -> Vec<Option<(u64, usize, String)>> {
        self.dirs.iter().map(|d| digest(d)).collect()
    }
}

/// The last `RIB digest` line of a member's log: (applied index, Loc-RIB
/// size, digest).
pub fn digest(dir: &Path) -> Option<(u64, usize, String)> {
    let log = crate::reflex::log(dir);
    let line = log.lines().rev().find(|l| l.contains("RIB digest"))?;
    let field = |name: &str| {
        line.split(&format!("{name}="))
            .nth(1)?
            .split_whitespace()
            .next()
            .map(str::to_string)
    };
    Some((
        field("applied")?.parse().ok()?,
        field("loc_rib")?.parse().ok()?,
        field("digest")?,
    ))
}

/// A BIRD client with a session (`m1`, `m2`, ...) to every member,
/// announcing `routes`.
pub fn bird_client(
    node: &Node,
    members: &[Node],
    dir: &Path,
    routes: Vec<&str>,
) -> Result<crate::bird::Bird, String> {
    let names: Vec<String> = (1..=members.len()).map(|i| format!("m{i}")).collect();
    crate::bird::Bird::start(
        node,
        dir,
        &crate::bird::BirdConfig {
            router_id: node.v4,
            local_as: 65000,
            neighbors: names
                .iter()
                .zip(members)
                .map(|(n, m)| (n.as_str(), std::net::IpAddr::V4(m.v4), 65000))
                .collect(),
            routes,
        },
    )
}

/// Routes BIRD imported on a protocol (`show protocols all NAME`).
pub fn imported(b: &crate::bird::Bird, proto: &str) -> Option<u64> {
    let out = b.birdc(&format!("show protocols all {proto}")).ok()?;
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("Routes:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `n` host routes in 198.19.0.0/16 (at most 65,536).
pub fn host_routes(n: u32) -> Vec<String> {
    (0..n)
        .map(|i| format!("198.19.{}.{}/32", i >> 8, i & 0xff))
        .collect()
}

/// A BIRD source at `src` announcing `routes` host routes
/// ([`host_routes`]) over a session to each member it `reaches` (protocol
/// name, member), and a BIRD client at each of `clients` peering with
/// every one of `members` ([`bird_client_text`]).
pub fn source_and_clients(
    dir: &Path,
    src: &Node,
    reaches: &[(&str, &Node)],
    routes: u32,
    clients: &[&Node],
    members: &[Node],
) -> Result<(crate::bird::Bird, Vec<std::sync::Arc<crate::bird::Bird>>), String> {
    let routes = host_routes(routes);
    let source = crate::bird::Bird::start(
        src,
        dir,
        &crate::bird::BirdConfig {
            router_id: src.v4,
            local_as: 65000,
            neighbors: reaches
                .iter()
                .map(|(name, m)| (*name, m.v4.into(), 65000))
                .collect(),
            routes: routes.iter().map(String::as_str).collect(),
        },
    )?;
    let clients = clients
        .iter()
        .map(|c| {
            crate::bird::Bird::start_text(c, dir, &bird_client_text(c, members))
                .map(std::sync::Arc::new)
        })
        .collect::<Result<_, _>>()?;
    Ok((source, clients))
}

/// A BIRD client's configuration with a session (`m1`, `m2`, ...) to
/// every member, as `ops/compose` peers its clients: iBGP in AS 65000,
/// a graceful-restart helper, next hops on the LAN resolved directly.
pub fn bird_client_text(me: &Node, members: &[Node]) -> String {
    let mut c = format!(
        "router id {me};\nlog stderr all;\ndebug protocols {{ states, events }};\nprotocol device {{}}\n",
        me = me.v4
    );
    for (i, m) in members.iter().enumerate() {
        c.push_str(&format!(
            "protocol bgp m{n} {{\n  local {me} as 65000;\n  neighbor {m} as 65000;\n  \
             hold time 30;\n  connect retry time 2;\n  error wait time 1, 5;\n  direct;\n  \
             graceful restart on;\n  ipv4 {{ import all; export none; }};\n}}\n",
            n = i + 1,
            me = me.v4,
            m = m.v4,
        ));
    }
    c
}

/// A service address on the members' LAN: host 100 of its /24.
pub fn service_address(members: &[Node]) -> std::net::Ipv4Addr {
    let o = members[0].v4.octets();
    std::net::Ipv4Addr::new(o[0], o[1], o[2], 100)
}

/// The keys of a client's `[[neighbor]]` that give it `service` (on the
/// members' eth0).
pub fn service_keys(service: std::net::Ipv4Addr) -> String {
    format!("service-address = \"{service}/24\"\nservice-interface = \"eth0\"\n")
}

/// BIRD as an iBGP client (AS 65000) of the cluster's service address
/// `service`: one session, `svc`, with graceful restart (its restart
/// time `restart_time`), importing all.
pub fn bird_service_client_text(
    me: &Node,
    service: std::net::Ipv4Addr,
    restart_time: u16,
) -> String {
    format!(
        "router id {me};\nlog stderr all;\ndebug protocols {{ states, events }};\nprotocol device {{}}\n\
         protocol bgp svc {{\n  local {me} as 65000;\n  neighbor {service} as 65000;\n  \
         hold time 30;\n  connect retry time 2;\n  error wait time 1, 5;\n  direct;\n  \
         graceful restart on;\n  graceful restart time {restart_time};\n  ipv4 {{ import all; export none; }};\n}}\n",
        me = me.v4
    )
}

/// FRR as an iBGP client (AS 65000) of every member, a session each
/// (FRR 8.4: a graceful-restart helper with the N bit, RFC 8538, by
/// default).
pub fn frr_client_text(me: &Node, members: &[Node]) -> String {
    let mut c = format!(
        "frr defaults traditional\nhostname client\nlog stdout informational\n!\nrouter bgp 65000\n \
         bgp router-id {me}\n no bgp default ipv4-unicast\n",
        me = me.v4
    );
    for m in members {
        c.push_str(&format!(
            " neighbor {m} remote-as 65000\n neighbor {m} timers connect 2\n neighbor {m} update-source {me}\n",
            m = m.v4,
            me = me.v4
        ));
    }
    c.push_str(" address-family ipv4 unicast\n");
    for m in members {
        c.push_str(&format!("  neighbor {} activate\n", m.v4));
    }
    c.push_str(" exit-address-family\n!\n");
    c
}

/// The member (1-based id) owning the session of `neighbor`, as member
/// `asked` says (`None`: it does not answer, or knows no owner).
pub fn owner_of(asked: &Node, neighbor: &Node) -> Option<u64> {
    let r = crate::http::get(&asked.ns, "127.0.0.1:8179".parse().ok()?, "/api/v1/cluster").ok()?;
    let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    v["owners"][neighbor.v4.to_string()].as_u64()
}

/// Sessions member `m` runs Established, as its API lists them.
pub fn established_on(m: &Node) -> Option<usize> {
    established_neighbors(m).map(|l| l.len())
}

/// The addresses of the neighbours member `m` runs an Established
/// session with, as its API lists them (`None`: it does not answer).
pub fn established_neighbors(m: &Node) -> Option<Vec<String>> {
    let r = crate::http::get(&m.ns, "127.0.0.1:8179".parse().ok()?, "/api/v1/neighbors").ok()?;
    let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    let list = v.as_array().or_else(|| v["neighbors"].as_array())?;
    Some(
        list.iter()
            .filter(|n| n["state"].as_str() == Some("Established"))
            .filter_map(|n| n["address"].as_str().map(String::from))
            .collect(),
    )
}
