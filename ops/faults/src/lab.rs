//! One run's topology: three Reflex members (each with its data
//! directory on a small tmpfs, so that a disk can fill up), a replay
//! source that peers with every member and sends a real update stream,
//! a BIRD client and an FRR client peering with every member. What a
//! fault does to a member, and how it is undone.

use crate::schedule::Kind;
use reflex_tests::bird::Bird;
use reflex_tests::cluster::{
    Cluster, RAFT_PORT, bird_client_text, client_neighbor, frr_client_text, three_and_three_on,
};
use reflex_tests::frr::Frr;
use reflex_tests::netns::{Lan, Node, wait_for};
use reflex_tests::replay::{Sender, Source, Table};
use reflex_tests::tmpfs::Tmpfs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The cluster's AS (iBGP everywhere).
pub const AS: u32 = 65000;

/// The third octet of the labs' 198.18.X.0/24 unless `--subnet` says
/// otherwise (two campaigns side by side, each on its own subnet).
pub const SUBNET: u8 = 240;

/// The source as it sends (host 4 of the lab's LAN on 198.18.`subnet`.0/24,
/// iBGP).
pub fn source_sender(subnet: u8) -> Sender {
    Sender {
        address: std::net::Ipv4Addr::new(198, 18, subnet, 4),
        address_v6: std::net::Ipv6Addr::new(0x2001, 0xdb8, subnet.into(), 0, 0, 0, 0, 4),
        local_as: AS,
        peer_as: AS,
    }
}

/// Size of each member's data directory (a tmpfs): room for the stream's
/// table many times over, small enough to fill at once.
const DATA_SIZE: &str = "256m";

/// The members' `[[neighbor]]` sections: the source dials in; the two
/// clients are dialled (hold time 30 s). The restart time the members
/// advertise is 20 s: a client whose session moved away from a killed
/// member keeps that member's routes, stale, until it runs out (RFC 4724
/// §4.2), so it bounds how long a withdrawal can miss the client.
fn neighbors(source: &Node, clients: &[&Node]) -> String {
    let mut c = client_neighbor(source, 30, "passive = true\n");
    for n in clients {
        c.push_str(&client_neighbor(
            n,
            30,
            "connect-retry = 2\nrestart-time = 20\n",
        ));
    }
    c
}

/// A running topology. Dropped in field order: the sources and clients
/// first, then the members, the tmpfs mounts and the namespaces.
pub struct Lab {
    pub sources: Vec<Source>,
    pub bird: Bird,
    pub frr: Frr,
    pub cluster: Cluster,
    _data: Vec<Tmpfs>,
    pub lan: Lan,
    pub members: Vec<Node>,
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// Starts the cluster, the clients and the source (sending `stream`,
    /// encoded for [`source_sender`] of `subnet`). The runs of a campaign
    /// and its reference are on one subnet, so that they compare route by
    /// route (next hops, originator ids).
    pub fn start(stream: Arc<Table>, subnet: u8) -> Result<Lab, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (lan, members, others) = three_and_three_on(Lan::on_subnet(subnet)?)?;
        let (src, nb, nf) = (others[0].clone(), others[1].clone(), others[2].clone());
        let data = (1..=members.len())
            .map(|i| Tmpfs::mount(&dir.path().join(format!("m{i}")).join("data"), DATA_SIZE))
            .collect::<Result<Vec<_>, _>>()?;
        let cluster =
            Cluster::start_with(members.clone(), dir.path(), &neighbors(&src, &[&nb, &nf]))?;
        let bird = Bird::start_text(&nb, dir.path(), &bird_client_text(&nb, &members))?;
        let frr = Frr::start_text(&nf, dir.path(), &frr_client_text(&nf, &members), AS)?;
        let sender = source_sender(subnet);
        if sender.address != src.v4 {
            return Err(format!("the source is {}, not {}", src.v4, sender.address));
        }
        let sources = members
            .iter()
            .map(|m| Source::start_reconnecting(&src.ns, m.v4, sender, stream.clone()))
            .collect();
        Ok(Lab {
            sources,
            bird,
            frr,
            cluster,
            _data: data,
            lan,
            members,
            dir,
        })
    }

    /// Sessions of the source that sent the whole stream so far.
    pub fn streams_sent(&self) -> u32 {
        self.sources.iter().map(Source::completed).sum()
    }

    /// Starts `kind` on member `i`.
    pub fn inject(&mut self, i: usize, kind: Kind) -> Result<(), String> {
        let m = self.members[i].clone();
        match kind {
            Kind::Kill => self.cluster.kill(i),
            Kind::Stop => self.signal(i, "STOP")?,
            Kind::Partition => self.lan.set_link(&m, false)?,
            Kind::RaftPartition => cut_raft(&m, true)?,
            Kind::Netem => degrade(&m, true)?,
            Kind::DiskFull => fill(&self.data_dir(i))?,
            Kind::Wipe => {
                self.cluster.kill(i);
                empty(&self.data_dir(i))?;
            }
        }
        Ok(())
    }

    /// Ends `kind` on member `i`: the member is reachable, running and
    /// has its disk again.
    pub fn heal(&mut self, i: usize, kind: Kind) -> Result<(), String> {
        let m = self.members[i].clone();
        match kind {
            Kind::Kill | Kind::Wipe => self.cluster.restart(i)?,
            Kind::Stop => self.signal(i, "CONT")?,
            Kind::Partition => self.lan.set_link(&m, true)?,
            Kind::RaftPartition => cut_raft(&m, false)?,
            Kind::Netem => degrade(&m, false)?,
            Kind::DiskFull => {
                let _ = std::fs::remove_file(self.data_dir(i).join(BALLAST));
                // A member whose store failed exits (non-zero); one that
                // wrote nothing meanwhile runs on.
                if !self.running(i) {
                    self.cluster.restart(i)?;
                }
            }
        }
        Ok(())
    }

    /// Whether member `i`'s process runs.
    pub fn running(&mut self, i: usize) -> bool {
        self.cluster.daemons[i]
            .as_mut()
            .is_some_and(reflex_tests::netns::Daemon::is_running)
    }

    /// How member `i` exited, if it did (not killed here), with the last
    /// error it logged: why.
    pub fn exit_status(&mut self, i: usize) -> Option<String> {
        let d = self.cluster.daemons[i].as_mut()?;
        let status = d.exited()?;
        let log = reflex_tests::reflex::log(&self.cluster.dirs[i]);
        // Its last error, else its last line (an error at start-up is
        // printed without a level).
        let mut lines = log.lines().rev().map(str::trim).filter(|l| !l.is_empty());
        let last = lines.clone().next();
        Some(match lines.find(|l| l.contains("ERROR")).or(last) {
            Some(why) => format!("{status}; its last error: {why}"),
            None => format!("{status}; nothing logged"),
        })
    }

    /// Member `i`'s resident set, in KiB.
    pub fn rss_kib(&self, i: usize) -> Option<u64> {
        let pid = self.cluster.daemons[i].as_ref()?.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.cluster.dirs[i].join("data")
    }

    fn signal(&self, i: usize, name: &str) -> Result<(), String> {
        match &self.cluster.daemons[i] {
            Some(d) => d.signal(name),
            None => Err(format!("member {} is not running", i + 1)),
        }
    }

    /// Member `i`'s view of the cluster (`/api/v1/cluster`).
    pub fn view(&self, i: usize) -> Option<serde_json::Value> {
        let addr = "127.0.0.1:8179".parse().ok()?;
        let r = reflex_tests::http::get(&self.members[i].ns, addr, "/api/v1/cluster").ok()?;
        serde_json::from_str(&r.body).ok()
    }

    /// The members' (log index, Loc-RIB size, digest), once all three
    /// answer with digests of the same index.
    pub fn digests(&self) -> Option<Vec<(u64, u64, String)>> {
        let views: Vec<(u64, u64, String)> = (0..self.members.len())
            .map(|i| {
                let v = self.view(i)?;
                Some((
                    v["rib_digest_index"].as_u64()?,
                    v["loc_rib_prefixes"].as_u64()?,
                    v["rib_digest"].as_str()?.to_string(),
                ))
            })
            .collect::<Option<_>>()?;
        views.iter().all(|v| v.0 == views[0].0).then_some(views)
    }

    /// The clients' tables, route by route: BIRD's, then FRR's.
    pub fn client_tables(&self, n: u32) -> Result<Vec<reflex_tests::table::Routes>, String> {
        let bird = self
            .bird
            .routes(&self.dir.path().join(format!("bird-{n}.mrt")))?;
        let frr = self
            .frr
            .routes(&self.dir.path().join(format!("frr-{n}.mrt")))?;
        Ok(vec![bird, frr])
    }

    /// Waits until every member has a leader and both clients a session.
    pub fn wait_ready(&self, secs: u64) -> Result<(), String> {
        wait_for(secs, || {
            let leader =
                (0..3).all(|i| self.view(i).is_some_and(|v| v["leader"].as_u64().is_some()));
            let bird = (1..=3)
                .any(|i| self.bird.bgp_state(&format!("m{i}")).as_deref() == Some("Established"));
            let frr = self
                .members
                .iter()
                .any(|m| self.frr.bgp_state(m.v4.into()).as_deref() == Some("Established"));
            (leader && bird && frr).then_some(())
        })
        .ok_or_else(|| "the cluster and its clients did not come up".to_string())
    }

    /// Copies the members' and clients' logs to `to` (kept after the run).
    pub fn keep_logs(&self, to: &Path) -> Result<(), String> {
        std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
        let copy = |from: &Path, name: String| {
            let _ = std::fs::copy(from, to.join(name));
        };
        for (i, d) in self.cluster.dirs.iter().enumerate() {
            for e in std::fs::read_dir(d).map_err(|e| e.to_string())?.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("reflex.log") {
                    copy(&e.path(), format!("m{}-{name}", i + 1));
                }
            }
        }
        for e in std::fs::read_dir(self.dir.path())
            .map_err(|e| e.to_string())?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".log") {
                copy(&e.path(), name);
            }
        }
        Ok(())
    }

    /// The last lines of each member's log.
    pub fn log_tails(&self) -> String {
        self.cluster
            .dirs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!(
                    "--- member {}\n{}",
                    i + 1,
                    reflex_tests::reflex::log_tail(d)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The file that fills a member's disk.
const BALLAST: &str = "ballast";

/// Fills the filesystem of `dir` with one file.
fn fill(dir: &Path) -> Result<(), String> {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join(BALLAST)).map_err(|e| e.to_string())?;
    let block = vec![0u8; 1 << 20];
    // Until ENOSPC: the filesystem is full.
    while f.write_all(&block).is_ok() {}
    Ok(())
}

/// Removes everything in `dir` (a mount point, kept).
fn empty(dir: &Path) -> Result<(), String> {
    for e in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let p = e.map_err(|e| e.to_string())?.path();
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// Drops (or, `cut` false, lets through again) every packet to or from
/// the Raft port in `m`'s namespace: its BGP links stay up.
fn cut_raft(m: &Node, cut: bool) -> Result<(), String> {
    let port = RAFT_PORT.to_string();
    let op = if cut { "-I" } else { "-D" };
    for (chain, dir) in [
        ("INPUT", "--dport"),
        ("INPUT", "--sport"),
        ("OUTPUT", "--dport"),
        ("OUTPUT", "--sport"),
    ] {
        m.run(&["iptables", op, chain, "-p", "tcp", dir, &port, "-j", "DROP"])?;
    }
    Ok(())
}

/// Loss and delay on `m`'s link (or, `on` false, none again): `tc netem`
/// (5% loss, 40 ± 20 ms) where the kernel has it; where it has not (this
/// project's VMs: no sch_netem), 5% of packets dropped each way by
/// iptables' `statistic` match and a `tbf` rate limit of 4 Mbit/s, whose
/// queue delays what goes out (up to 300 ms).
fn degrade(m: &Node, on: bool) -> Result<(), String> {
    let tc = |args: &[&str]| {
        let mut all = vec!["tc", "qdisc"];
        all.extend_from_slice(args);
        m.run(&all)
    };
    if !on {
        let _ = tc(&["del", "dev", "eth0", "root"]);
        let _ = lose(m, "-D");
        return Ok(());
    }
    let netem = tc(&[
        "add", "dev", "eth0", "root", "netem", "delay", "40ms", "20ms", "loss", "5%",
    ]);
    if netem.is_ok() {
        return Ok(());
    }
    lose(m, "-I")?;
    tc(&[
        "add", "dev", "eth0", "root", "tbf", "rate", "4mbit", "burst", "32kbit", "latency", "300ms",
    ])?;
    Ok(())
}

/// Inserts (`-I`) or deletes (`-D`) the rules that drop 5% of the
/// packets each way on `m`'s LAN link (not loopback: the API answers as
/// usual). Both chains are tried; the first error is returned.
fn lose(m: &Node, op: &str) -> Result<(), String> {
    let mut result = Ok(());
    for (chain, dir) in [("INPUT", "-i"), ("OUTPUT", "-o")] {
        let r = m.run(&[
            "iptables",
            op,
            chain,
            dir,
            "eth0",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            "0.05",
            "-j",
            "DROP",
        ]);
        if let (Ok(()), Err(e)) = (&result, r) {
            result = Err(e);
        }
    }
    result
}

/// How long to wait for something the run needs.
pub const READY: Duration = Duration::from_secs(60);
