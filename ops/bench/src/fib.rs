//! `reflect-bench fib`: how fast a border puts a full IPv4 table into the
//! kernel and takes it out again, Reflex (`role = "border"`) against BIRD's
//! kernel protocol, in the same run on the same topology: a LAN with the
//! border (node 1) and the route source (node 2, an iBGP peer replaying
//! the table, every route through itself).
//!
//! - install: from the source's last UPDATE written (its End-of-RIB) to
//!   the kernel table holding every prefix;
//! - withdraw: from the source's session closing (the source is killed:
//!   no graceful restart, so every path goes at once) to the table empty.
//!
//! The table's routes are counted from the kernel's route notifications
//! in the namespace ([`fib_count`]), so the moment the last one goes in or
//! out is known without walking the table; `/proc/PID/net/fib_triestat`
//! of the daemon (a walk of the whole table) checks the final count.

use crate::fib_count;
use crate::interrupt;
use crate::proc::Proc;
use crate::run::{ASN, read_stamp};
use crate::table;
use anyhow::{Context, Result, anyhow, bail};
use reflex_tests::netns::{Daemon, Lan, Node};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The kernel table both daemons install into (nothing else uses it).
const TABLE: u32 = 1000;
const POLL: Duration = Duration::from_millis(100);

#[derive(clap::Args, Debug)]
pub struct FibArgs {
    /// Daemons to run, in order (reflex, bird).
    #[arg(long, value_delimiter = ',', default_value = "reflex,bird")]
    daemons: Vec<String>,
    /// Rounds of every daemon (interleaved); the medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seconds each phase (install, withdraw) may take.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Keep configurations and logs here (default: a temporary directory,
    /// kept only when a run fails).
    #[arg(long)]
    logs: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Border {
    Reflex,
    Bird,
}

impl Border {
    fn parse(s: &str) -> Result<Border> {
        match s {
            "reflex" => Ok(Border::Reflex),
            "bird" => Ok(Border::Bird),
            other => bail!("unknown daemon `{other}` (reflex, bird)"),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Border::Reflex => "reflex",
            Border::Bird => "bird",
        }
    }
}

#[derive(Clone, Debug)]
struct Round {
    /// End-of-RIB written to the last prefix in the kernel, seconds.
    install: f64,
    /// First UPDATE written to the last prefix in the kernel.
    total: f64,
    /// Session closed to the table empty.
    withdraw: f64,
    routes: usize,
    peak_rss: Option<u64>,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub fn run(args: &FibArgs, mrt: &Path, reflex: &Path) -> Result<()> {
    let kinds: Vec<Border> = args
        .daemons
        .iter()
        .map(|s| Border::parse(s.trim()))
        .collect::<Result<_>>()?;
    if !reflex_tests::netns::available() {
        bail!("cannot create network namespaces: run as root with iproute2 installed");
    }
    interrupt::install()?;
    let expected = {
        let updates = table::updates(mrt)?;
        table::expected_prefixes(&updates, mrt, ASN)?
    };
    let dir = match &args.logs {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("fib-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    eprintln!(
        "installing {} ({expected} prefixes) into kernel table {TABLE}; logs in {}",
        mrt.display(),
        dir.display()
    );
    let mut rounds: Vec<Vec<Round>> = kinds.iter().map(|_| Vec::new()).collect();
    let mut failed = false;
    for round in 1..=args.runs.max(1) {
        for (kind, out) in kinds.iter().zip(&mut rounds) {
            interrupt::check()?;
            let d = dir.join(format!("{}-{round}", kind.name()));
            std::fs::create_dir_all(&d)?;
            match one(*kind, &d, mrt, reflex, expected, args.timeout) {
                Ok(r) => {
                    eprintln!(
                        "round {round}: {}: install {:.2} s after End-of-RIB ({:.2} s in all), withdraw {:.2} s, {} routes, peak RSS {}",
                        kind.name(),
                        r.install,
                        r.total,
                        r.withdraw,
                        r.routes,
                        mib(r.peak_rss)
                    );
                    out.push(r);
                }
                Err(e) => {
                    failed = true;
                    eprintln!("round {round}: {}: failed: {e:#}", kind.name());
                }
            }
        }
    }
    println!(
        "kernel FIB, {expected} IPv4 prefixes, medians of {} rounds:",
        args.runs
    );
    println!(
        "{:<8} {:>12} {:>10} {:>12} {:>10} {:>14}",
        "daemon", "install (s)", "total (s)", "withdraw (s)", "peak RSS", "bytes/route"
    );
    let mut medians = Vec::new();
    for (kind, rs) in kinds.iter().zip(&rounds) {
        let Some(m) = median(rs) else {
            println!("{:<8} failed", kind.name());
            continue;
        };
        println!(
            "{:<8} {:>12.2} {:>10.2} {:>12.2} {:>10} {:>14}",
            kind.name(),
            m.install,
            m.total,
            m.withdraw,
            mib(m.peak_rss),
            m.peak_rss
                .map(|b| format!("{}", b / m.routes.max(1) as u64))
                .unwrap_or_else(|| "-".into())
        );
        medians.push((*kind, m));
    }
    let of = |k| {
        medians
            .iter()
            .find(|(x, _)| *x == k)
            .map(|(_, m)| m.clone())
    };
    if let (Some(r), Some(b)) = (of(Border::Reflex), of(Border::Bird)) {
        println!(
            "BIRD / Reflex: install {:.2}x, total {:.2}x, withdraw {:.2}x",
            b.install / r.install.max(1e-3),
            b.total / r.total.max(1e-3),
            b.withdraw / r.withdraw.max(1e-3)
        );
    }
    if !failed && args.logs.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

fn mib(b: Option<u64>) -> String {
    b.map(|b| format!("{} MiB", b >> 20))
        .unwrap_or_else(|| "-".into())
}

/// The round of median install time.
fn median(rs: &[Round]) -> Option<Round> {
    let mut v = rs.to_vec();
    v.sort_by(|a, b| a.install.total_cmp(&b.install));
    v.get(v.len() / 2).cloned()
}

fn ns_err(e: String) -> anyhow::Error {
    anyhow!(e)
}

fn one(
    kind: Border,
    dir: &Path,
    mrt: &Path,
    reflex: &Path,
    expected: usize,
    timeout: u64,
) -> Result<Round> {
    let mut lan = Lan::new().map_err(ns_err)?;
    let border = lan.node(1).map_err(ns_err)?;
    let src = lan.node(2).map_err(ns_err)?;
    let daemon = match kind {
        Border::Reflex => start_reflex(&border, &src, dir, reflex)?,
        Border::Bird => start_bird(&border, &src, dir)?,
    };
    let counter = fib_count::start(&border.ns, TABLE)?;
    let stamp = dir.join("source.stamp");
    let mut source = start_source(&src, &border, mrt, &stamp, dir)?;
    let limit = Duration::from_secs(timeout);
    let pid = daemon.pid();
    // Instants to the epoch clock of the source's stamps.
    let (base, base_ns) = (Instant::now(), now_ns());
    let epoch = |t: Instant| base_ns + t.duration_since(base).as_nanos();
    // Install: until every prefix is in the table.
    let done_at = wait(&counter, expected as i64, pid, limit, || {
        if source.is_running() {
            Ok(())
        } else {
            bail!(
                "the source exited (see {})",
                dir.join("source.log").display()
            )
        }
    })?;
    let routes = prefixes(pid)?;
    let (first, end) = read_stamp(&stamp);
    let (first, end) = first
        .zip(end)
        .context("the source wrote no End-of-RIB stamp")?;
    // Withdraw: the session closes, every path goes.
    let closed = Instant::now();
    source.kill();
    let empty_at = wait(&counter, 0, pid, limit, || Ok(()))?;
    let (done_at, closed, empty_at) = (epoch(done_at), epoch(closed), epoch(empty_at));
    let secs = |a: u128, b: u128| b.saturating_sub(a) as f64 / 1e9;
    Ok(Round {
        install: secs(end, done_at),
        total: secs(first, done_at),
        withdraw: secs(closed, empty_at),
        routes,
        peak_rss: daemon.peak_rss(),
    })
}

/// Waits for table [`TABLE`] to hold `n` routes; when it did. From the
/// notifications, or if some were lost, by polling `fib_triestat`.
fn wait(
    counter: &fib_count::Counter,
    n: i64,
    pid: u32,
    limit: Duration,
    mut alive: impl FnMut() -> Result<()>,
) -> Result<Instant> {
    counter.watch(n);
    let started = Instant::now();
    while started.elapsed() < limit {
        interrupt::check()?;
        alive()?;
        if counter.lost() {
            if prefixes(pid)? == n as usize {
                eprintln!("(route notifications were lost: this time is polled)");
                return Ok(Instant::now());
            }
        } else if let Some(t) = counter.reached() {
            return Ok(t);
        }
        std::thread::sleep(POLL);
    }
    bail!(
        "table {TABLE} holds {} routes, not {n}, after {} s",
        prefixes(pid).unwrap_or(0),
        limit.as_secs()
    )
}

/// The prefixes of table [`TABLE`] in the namespace of process `pid`.
fn prefixes(pid: u32) -> Result<usize> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/fib_triestat"))
        .context("reading the daemon's fib_triestat (has it exited?)")?;
    Ok(table_prefixes(&text, TABLE))
}

/// "Prefixes" of the section `Id TABLE:` (0 when the table is empty and
/// so not listed).
fn table_prefixes(text: &str, table: u32) -> usize {
    let header = format!("Id {table}:");
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) {
            inside = line.trim() == header;
            continue;
        }
        if inside && let Some(v) = line.trim().strip_prefix("Prefixes:") {
            return v.trim().parse().unwrap_or(0);
        }
    }
    0
}

fn start_source(src: &Node, border: &Node, mrt: &Path, stamp: &Path, dir: &Path) -> Result<Daemon> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let log = std::fs::File::create(dir.join("source.log"))?;
    let mut cmd = src.command(&exe.to_string_lossy());
    cmd.args(["source", "--peer", &border.v4.to_string()])
        .args(["--local", &src.v4.to_string()])
        .args(["--asn", &ASN.to_string()])
        .arg("--mrt")
        .arg(mrt)
        .arg("--stamp")
        .arg(stamp)
        .stdout(std::process::Stdio::null())
        .stderr(log);
    Daemon::spawn("source", cmd).map_err(ns_err)
}

fn start_reflex(border: &Node, src: &Node, dir: &Path, reflex: &Path) -> Result<Proc> {
    if !reflex.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p reflex-node` or pass --reflex",
            reflex.display()
        );
    }
    let conf = format!(
        "router-id = \"{me}\"\nlocal-as = {ASN}\nrole = \"border\"\ndata-dir = \"{data}\"\n\
         [listen]\naddresses = [\"{me}\"]\n[fib]\ntable = {TABLE}\n\
         [[neighbor]]\naddress = \"{src}\"\nremote-as = {ASN}\npassive = true\n",
        me = border.v4,
        src = src.v4,
        data = dir.join("reflex-data").display(),
    );
    let path = dir.join("reflex.toml");
    std::fs::write(&path, conf)?;
    let log = std::fs::File::create(dir.join("reflex.log"))?;
    let mut cmd = border.command(&reflex.to_string_lossy());
    cmd.arg("run")
        .arg("--config")
        .arg(&path)
        .env(
            "REFLEX_LOG",
            std::env::var("REFLEX_LOG").unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(log);
    Proc::spawn("reflex", cmd)
}

/// BIRD with its kernel protocol exporting every route to the table (its
/// default: one request at a time, each answered before the next).
fn start_bird(border: &Node, src: &Node, dir: &Path) -> Result<Proc> {
    let conf = format!(
        "router id {me};\nlog stderr all;\nprotocol device {{}}\n\
         protocol kernel {{\n  kernel table {TABLE};\n  learn off;\n  ipv4 {{ import none; export all; }};\n}}\n\
         protocol bgp feeder {{\n  local {me} as {ASN};\n  neighbor {src} as {ASN};\n  direct;\n  passive on;\n  \
         ipv4 {{ import all; export none; gateway direct; }};\n}}\n",
        me = border.v4,
        src = src.v4,
    );
    let path = dir.join("bird.conf");
    std::fs::write(&path, conf)?;
    let log = std::fs::File::create(dir.join("bird.log"))?;
    let mut cmd = border.command("bird");
    cmd.args(["-f", "-c"])
        .arg(&path)
        .arg("-s")
        .arg(dir.join("bird.ctl"))
        .stdout(std::process::Stdio::null())
        .stderr(log);
    Proc::spawn("bird", cmd)
}

#[cfg(test)]
mod tests {
    use super::table_prefixes;

    #[test]
    fn the_prefixes_of_one_table_are_read_from_fib_triestat() {
        let text = "Basic info: size of leaf: 40 bytes, size of tnode: 40 bytes.\n\
                    Main:\n\tAver depth:     1.00\n\tPrefixes:       3\n\
                    Id 1000:\n\tAver depth:     2.00\n\tLeaves:         7\n\tPrefixes:       9\n";
        assert_eq!(table_prefixes(text, 1000), 9);
        assert_eq!(table_prefixes(text, 1001), 0);
    }
}
