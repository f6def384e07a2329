//! `fault-campaign`: the randomized fault campaign (see the library's
//! documentation). Needs root (network namespaces, tmpfs, iptables, tc)
//! and the `reflex` binary built beside it (`cargo build --release
//! --workspace`).
//!
//! ```text
//! fault-campaign --runs 100 --secs 60          # seeds 1..=100
//! fault-campaign --seed 17 --secs 60           # one seed again
//! fault-campaign --regressions                 # the seeds that failed once
//! fault-campaign --first 51 --runs 50 --subnet 241   # beside another
//! ```

use clap::Parser;
use reflex_faults::run::{Limits, Outcome, by_kind, reference, seeded};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    about = "Seeded faults against a three-member Reflex cluster, checked against an undisturbed run"
)]
struct Args {
    /// Run this seed only (a failing seed of an earlier campaign).
    #[arg(long, conflicts_with = "regressions")]
    seed: Option<u64>,
    /// Run the seeds that broke an invariant once and were fixed
    /// (of `REGRESSION_SECS` each; `--secs` is ignored).
    #[arg(long)]
    regressions: bool,
    /// The first seed of the campaign.
    #[arg(long, default_value_t = 1)]
    first: u64,
    /// Runs (seeds first, first + 1, ...).
    #[arg(long, default_value_t = 10)]
    runs: u64,
    /// Seconds of faults per run (the stream is paced over 70% of it).
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// Seconds the cluster has, after everything healed, to match the
    /// reference.
    #[arg(long, default_value_t = 180)]
    settle: u64,
    /// A member's resident set may not pass this (MiB).
    #[arg(long, default_value_t = 1024)]
    rss_bound_mib: u64,
    /// The labs' 198.18.X.0/24 (and 2001:db8:X::/64): a campaign run
    /// beside another needs a subnet of its own.
    #[arg(long, default_value_t = reflex_faults::lab::SUBNET)]
    subnet: u8,
}

fn main() {
    let args = Args::parse();
    if !reflex_tests::netns::available() {
        eprintln!("fault-campaign needs root and iproute2 (network namespaces)");
        std::process::exit(2);
    }
    match campaign(&args) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("fault-campaign: {e}");
            std::process::exit(2);
        }
    }
}

/// Runs the campaign; whether no invariant was broken.
fn campaign(args: &Args) -> Result<bool, String> {
    let secs = if args.regressions {
        reflex_faults::REGRESSION_SECS
    } else {
        args.secs
    };
    let run = Duration::from_secs(secs);
    let settle = Duration::from_secs(args.settle);
    let seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None if args.regressions => reflex_faults::REGRESSIONS.to_vec(),
        None => (args.first..args.first + args.runs).collect(),
    };
    let started = Instant::now();
    eprintln!("reference run (the stream unpaced, no faults)...");
    let reference = reference(
        Arc::new(reflex_faults::stream(None, args.subnet)?),
        settle,
        args.subnet,
    )?;
    eprintln!(
        "reference: digest {}, {} destinations; BIRD {} routes, FRR {} routes",
        reference.digest,
        reference.loc_rib,
        reference.clients[0].len(),
        reference.clients[1].len()
    );
    let stream = Arc::new(reflex_faults::stream(Some(run * 7 / 10), args.subnet)?);
    let limits = Limits {
        rss_kib: args.rss_bound_mib * 1024,
        settle,
    };
    let mut outcomes: Vec<Outcome> = Vec::new();
    for seed in seeds {
        let o = seeded(seed, run, stream.clone(), &reference, limits)?;
        let faults: Vec<String> = o
            .faults
            .iter()
            .map(|f| {
                format!(
                    "{}@m{}+{}s/{}s",
                    f.kind.name(),
                    f.member + 1,
                    f.at.as_secs(),
                    f.lasts.as_secs()
                )
            })
            .collect();
        println!(
            "seed {seed}: {} faults [{}]; peak RSS {} MiB; settled {}; {}",
            o.faults.len(),
            faults.join(" "),
            o.peak_rss_kib / 1024,
            o.settled_in.map_or("never".to_string(), |d| format!(
                "in {:.1} s",
                d.as_secs_f64()
            )),
            if o.violations.is_empty() {
                "ok".to_string()
            } else {
                format!("VIOLATED: {}", o.violations.join("; "))
            }
        );
        if let Some(d) = &o.first_difference {
            println!("  a client still differed from the reference: {d}");
        }
        for e in &o.fault_exits {
            println!("  exited by its fault: {e}");
        }
        outcomes.push(o);
    }
    let failing: Vec<u64> = outcomes
        .iter()
        .filter(|o| !o.violations.is_empty())
        .map(|o| o.seed)
        .collect();
    let violations: usize = outcomes.iter().map(|o| o.violations.len().min(1)).sum();
    println!(
        "== campaign: {} runs of {} s in {:.0} s",
        outcomes.len(),
        secs,
        started.elapsed().as_secs_f64()
    );
    println!(
        "faults by kind: {}",
        by_kind(&outcomes)
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "runs with an invariant violated: {violations}{}",
        if failing.is_empty() {
            String::new()
        } else {
            format!(" (seeds {failing:?}; replay one with --seed N --secs {secs})")
        }
    );
    Ok(failing.is_empty())
}
