//! One run: the lab started, the schedule played against it while the
//! stream flows, everything healed, then the invariants checked against
//! the reference run.

use crate::lab::{Lab, READY};
use crate::schedule::{Fault, Kind, Shape, schedule};
use reflex_tests::replay::Table;
use reflex_tests::table::{Routes, compare};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long after a full disk's space came back its member may still
/// exit because of it: a flush that hung after sled's own flusher failed
/// on the full disk is a store error (and the member exits) after
/// `reflex_storage::flush::FLUSH_DEADLINE` (30 s), once something flushes.
const EXIT_GRACE: Duration = Duration::from_secs(45);

/// What an undisturbed run ends with.
#[derive(Clone, Debug)]
pub struct Reference {
    /// The members' Loc-RIB digest and size.
    pub digest: String,
    pub loc_rib: u64,
    /// BIRD's and FRR's tables.
    pub clients: Vec<Routes>,
    /// The third octet of the lab's subnet: the runs compared with this
    /// reference run on it.
    pub subnet: u8,
}

/// The limits a run is held to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A member's resident set may not pass this (KiB).
    pub rss_kib: u64,
    /// How long the cluster has, after the last fault healed, to agree
    /// with the reference.
    pub settle: Duration,
}

/// What one seeded run did and found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub seed: u64,
    pub faults: Vec<Fault>,
    /// Invariants broken: each a sentence.
    pub violations: Vec<String>,
    /// The largest resident set seen of any member (KiB).
    pub peak_rss_kib: u64,
    /// From the last heal until the cluster and clients matched the
    /// reference.
    pub settled_in: Option<Duration>,
    /// Members that exited during a fault that may make them exit: how.
    pub fault_exits: Vec<String>,
    /// The first difference seen between a client's table and the
    /// reference after the digests matched (a client slow to settle).
    pub first_difference: Option<String>,
}

/// Runs a lab on 198.18.`subnet`.0/24 until the stream (encoded for that
/// subnet) was sent and all agree: the reference.
pub fn reference(stream: Arc<Table>, settle: Duration, subnet: u8) -> Result<Reference, String> {
    let lab = Lab::start(stream, subnet)?;
    lab.wait_ready(READY.as_secs())?;
    let (digest, loc_rib) = settled_digest(&lab, settle, None)
        .ok_or_else(|| format!("the reference run did not settle\n{}", lab.log_tails()))?;
    let clients = stable_client_tables(&lab, settle).map_err(|e| {
        format!(
            "{e}\nBIRD: {:?} routes; FRR: {}\n{}",
            lab.bird.route_count(),
            lab.frr.vtysh(&["show bgp summary"]).unwrap_or_default(),
            lab.log_tails()
        )
    })?;
    Ok(Reference {
        digest,
        loc_rib,
        clients,
        subnet,
    })
}

/// Waits until the source has sent the whole stream at least once more
/// than `sent_before` (its latest session), and the three members agree
/// on a digest that stays the same for 3 s (or equals `expected`): the
/// digest and Loc-RIB size.
fn settled_digest(lab: &Lab, within: Duration, expected: Option<&str>) -> Option<(String, u64)> {
    let end = Instant::now() + within;
    let mut last: Option<(String, Instant)> = None;
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(500));
        if lab.streams_sent() == 0 {
            continue;
        }
        let Some(d) = lab.digests() else { continue };
        if !d.iter().all(|x| x.2 == d[0].2) {
            last = None;
            continue;
        }
        let digest = d[0].2.clone();
        if expected == Some(digest.as_str()) {
            return Some((digest, d[0].1));
        }
        match &last {
            Some((prev, since)) if *prev == digest => {
                if expected.is_none() && since.elapsed() >= Duration::from_secs(3) {
                    return Some((digest, d[0].1));
                }
            }
            _ => last = Some((digest, Instant::now())),
        }
    }
    None
}

/// The clients' tables once two readings 2 s apart are the same.
fn stable_client_tables(lab: &Lab, within: Duration) -> Result<Vec<Routes>, String> {
    let end = Instant::now() + within;
    let mut n = 0;
    let mut prev = lab.client_tables(n)?;
    loop {
        std::thread::sleep(Duration::from_secs(2));
        n += 1;
        let now = lab.client_tables(n)?;
        if now == prev {
            return Ok(now);
        }
        if Instant::now() > end {
            return Err("the clients' tables kept changing".into());
        }
        prev = now;
    }
}

/// One seeded run of `run` (the faults end by then).
pub fn seeded(
    seed: u64,
    run: Duration,
    stream: Arc<Table>,
    reference: &Reference,
    limits: Limits,
) -> Result<Outcome, String> {
    let mut out = Outcome {
        seed,
        faults: schedule(seed, Shape::new(3, run)),
        ..Outcome::default()
    };
    let mut lab = Lab::start(stream, reference.subnet)?;
    lab.wait_ready(READY.as_secs())?;
    let began = Instant::now();
    // The fault under way: (its index, when it ends).
    let mut current: Option<(usize, Instant)> = None;
    // A member whose store failed (a full disk) may still exit just after
    // the space is back: until then its exit is the fault's.
    let mut excused_until: [Option<Instant>; 3] = [None; 3];
    // Unexpected exits per member.
    let mut restarts = [0u64; 3];
    let mut next = 0;
    // Until the schedule is over, and the grace of a disk that filled near
    // its end too: a member that exits then is restarted (as its
    // supervisor would), not left down while the cluster settles.
    while began.elapsed() < run
        || current.is_some()
        || excused_until.iter().flatten().any(|t| Instant::now() < *t)
    {
        let now = Instant::now();
        if let Some((k, ends)) = current
            && now >= ends
        {
            let f = out.faults[k];
            if f.kind.may_exit()
                && let Some(how) = lab.exit_status(f.member)
            {
                out.fault_exits.push(format!(
                    "{} on member {}: {how}",
                    f.kind.name(),
                    f.member + 1
                ));
            }
            lab.heal(f.member, f.kind)?;
            if f.kind == Kind::DiskFull {
                excused_until[f.member] = Some(Instant::now() + EXIT_GRACE);
            }
            current = None;
        }
        if current.is_none()
            && let Some(f) = out.faults.get(next)
            && began.elapsed() >= f.at
        {
            lab.inject(f.member, f.kind)?;
            current = Some((next, now + f.lasts));
            next += 1;
        }
        // No member exits but by a fault that may make it.
        for i in 0..3 {
            let under_fault = current.is_some_and(|(k, _)| {
                let f = out.faults[k];
                f.member == i && f.kind.may_exit()
            });
            let in_grace = excused_until
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|t| Instant::now() < t);
            if !under_fault && !lab.running(i) {
                let how = lab.exit_status(i).unwrap_or_else(|| "gone".into());
                if in_grace {
                    // Its store failed on the full disk after all.
                    out.fault_exits.push(format!(
                        "disk-full on member {} (just after the space came back): {how}",
                        i + 1
                    ));
                } else {
                    let v = format!("member {} exited outside a fault ({how})", i + 1);
                    // Once per member and cause: a member that cannot
                    // start exits again at once.
                    if !out.violations.contains(&v) {
                        out.violations.push(v);
                    }
                    let n = restarts.get_mut(i).map_or(1, |r| {
                        *r += 1;
                        *r
                    });
                    // Started again, less often each time (at most every
                    // 5 s), so that its logs stay readable.
                    std::thread::sleep(Duration::from_millis(100 * n.min(50)));
                }
                lab.cluster.restart(i)?;
            }
            out.peak_rss_kib = out.peak_rss_kib.max(lab.rss_kib(i).unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Everything healed: the cluster must come back to the reference.
    let healed = Instant::now();
    match settled_digest(&lab, limits.settle, Some(&reference.digest)) {
        Some(_) => {}
        None => out.violations.push(format!(
            "the members' digests never matched the reference ({} of {} destinations) within {:?}: {:?}",
            reference.digest,
            reference.loc_rib,
            limits.settle,
            lab.digests()
        )),
    }
    if out.violations.is_empty() {
        let deadline = Instant::now() + limits.settle;
        let mut n = 0;
        let differences = loop {
            n += 1;
            let now = match lab.client_tables(n) {
                Ok(t) => t,
                // A client holding nothing has no dump to read: read again.
                Err(e) if Instant::now() > deadline => {
                    out.violations
                        .push(format!("a client's table could not be read: {e}"));
                    break Vec::new();
                }
                Err(e) => {
                    if out.first_difference.is_none() {
                        out.first_difference = Some(format!(
                            "{:.1} s after the heal: {e}",
                            healed.elapsed().as_secs_f64()
                        ));
                    }
                    std::thread::sleep(Duration::from_secs(2));
                    continue;
                }
            };
            let d: Vec<_> = reference
                .clients
                .iter()
                .zip(&now)
                .map(|(r, n)| compare(r, n, |_| false))
                .collect();
            if d.iter().all(|x| x.is_empty()) || Instant::now() > deadline {
                break d;
            }
            if out.first_difference.is_none() {
                out.first_difference = ["BIRD", "FRR"]
                    .iter()
                    .zip(&d)
                    .find(|(_, x)| !x.is_empty())
                    .map(|(name, x)| {
                        format!(
                            "{name} {:.1} s after the heal: {x}",
                            healed.elapsed().as_secs_f64()
                        )
                    });
            }
            std::thread::sleep(Duration::from_secs(2));
        };
        for (name, d) in ["BIRD", "FRR"].iter().zip(&differences) {
            if !d.is_empty() {
                out.violations
                    .push(format!("{name}'s table differs from the reference: {d}"));
            }
        }
        if !differences.is_empty() && differences.iter().all(|d| d.is_empty()) {
            out.settled_in = Some(healed.elapsed());
        }
    }
    for i in 0..3 {
        out.peak_rss_kib = out.peak_rss_kib.max(lab.rss_kib(i).unwrap_or(0));
    }
    if out.peak_rss_kib > limits.rss_kib {
        out.violations.push(format!(
            "a member's resident set reached {} MiB (bound {} MiB)",
            out.peak_rss_kib / 1024,
            limits.rss_kib / 1024
        ));
    }
    if !out.violations.is_empty() {
        let kept = std::env::temp_dir().join(format!("fault-campaign-logs/seed-{seed}"));
        if lab.keep_logs(&kept).is_ok() {
            out.violations
                .push(format!("logs kept in {}", kept.display()));
        }
        out.violations.push(format!(
            "BIRD:\n{}\nFRR:\n{}\nlogs:\n{}",
            lab.bird.birdc("show protocols").unwrap_or_default(),
            lab.frr.vtysh(&["show bgp summary"]).unwrap_or_default(),
            lab.log_tails()
        ));
    }
    Ok(out)
}

/// Faults injected by kind, over `outcomes`.
pub fn by_kind(outcomes: &[Outcome]) -> BTreeMap<&'static str, usize> {
    let mut m: BTreeMap<&'static str, usize> = Kind::ALL.iter().map(|k| (k.name(), 0)).collect();
    for f in outcomes.iter().flat_map(|o| &o.faults) {
        *m.entry(f.kind.name()).or_default() += 1;
    }
    m
}
