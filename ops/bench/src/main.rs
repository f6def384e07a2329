//! reflect-bench: how long each route reflector takes to hand a full table
//! from one route source to N clients, and how much memory it needs to do
//! so. One invocation runs Reflex, BIRD, FRR and GoBGP on the same network
//! namespace topology and prints one table. Needs root (namespaces).

mod clients;
mod fib;
mod fib_count;
mod interrupt;
mod policy;
mod proc;
mod reflectors;
mod report;
mod run;
mod source;
mod table;
mod takeover;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use reflectors::Kind;
use std::path::PathBuf;
use std::time::Duration;

/// The full-table update stream in the shared data folder, beside the
/// repository.
const DEFAULT_MRT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/bgp-data/mrt/updates/bgpdump_updates.et-header.2015.gz"
);

#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Number of route-reflector clients. 0 measures replicated ingest
    /// alone (Reflex only): done when every member has applied the table.
    #[arg(long, default_value_t = 3)]
    clients: usize,
    /// Reflectors to run, in order (reflex, reflex-3, reflex-policy, bird,
    /// frr, gobgp).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "reflex,reflex-3,bird,frr,gobgp"
    )]
    reflectors: Vec<String>,
    /// MRT update stream to replay.
    #[arg(long, default_value = DEFAULT_MRT)]
    mrt: PathBuf,
    /// The reflex binary (default: next to this one).
    #[arg(long)]
    reflex: Option<PathBuf>,
    /// Seconds each reflector gets to deliver the table.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Rounds of every reflector (interleaved); the table gives each
    /// reflector's median round by reflect time: this machine is shared
    /// and one round's times are noisy.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Keep configurations and logs here (default: a temporary directory,
    /// kept only when a run fails).
    #[arg(long)]
    logs: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The route source, run inside its namespace by the bench itself.
    #[command(hide = true)]
    Source(source::SourceArgs),
    /// A border's kernel FIB: the full table installed into a kernel
    /// table and withdrawn, Reflex against BIRD's kernel protocol.
    Fib(fib::FibArgs),
    /// A three-member cluster: the time from SIGKILL of the member running
    /// a client's session to another member running it, the table and
    /// End-of-RIB sent (full table).
    Takeover(takeover::TakeoverArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Source(args)) => source::run(args),
        Some(Command::Fib(args)) => fib::run(args, &cli.mrt, &reflex_binary(&cli)?),
        // The cluster's members run the `reflex` beside this binary (or
        // the one REFLEX_BIN names).
        Some(Command::Takeover(args)) => takeover::run(args),
        None => bench(&cli),
    }
}

/// The reflex binary: `--reflex`, else the one beside this binary.
fn reflex_binary(cli: &Cli) -> Result<PathBuf> {
    Ok(match &cli.reflex {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("bench binary has no directory")?
            .join("reflex"),
    })
}

fn bench(cli: &Cli) -> Result<()> {
    let kinds: Vec<Kind> = cli
        .reflectors
        .iter()
        .map(|s| Kind::parse(s.trim()))
        .collect::<Result<_>>()?;
    if cli.clients == 0 && kinds.iter().any(|k| !k.is_reflex()) {
        bail!(
            "--clients 0 (ingest alone) measures Reflex only: its members report what they applied"
        );
    }
    if !reflex_tests::netns::available() {
        bail!("cannot create network namespaces: run as root with iproute2 installed");
    }
    interrupt::install()?;
    let reflex = reflex_binary(cli)?;
    // Read once here (the source, its own process, encodes it again) and
    // dropped before the runs.
    let (expected, import_policy) = {
        let updates = table::updates(&cli.mrt)?;
        let expected = table::expected_prefixes(&updates, &cli.mrt, run::ASN)?;
        let policy = if kinds.contains(&Kind::ReflexPolicy) {
            Some(policy::import_policy(&updates, &cli.mrt, run::ASN)?)
        } else {
            None
        };
        (expected, policy)
    };
    let dir = match &cli.logs {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("reflect-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let opts = run::Options {
        clients: cli.clients,
        mrt: cli.mrt.clone(),
        reflex,
        timeout: Duration::from_secs(cli.timeout),
        expected,
        dir: dir.clone(),
        import_policy,
    };
    eprintln!(
        "replaying {} ({expected} prefixes) to {} clients; logs in {}",
        cli.mrt.display(),
        cli.clients,
        dir.display()
    );
    let mut rounds: Vec<Vec<run::Outcome>> = kinds.iter().map(|_| Vec::new()).collect();
    for round in 1..=cli.runs.max(1) {
        for (kind, outcomes) in kinds.iter().zip(&mut rounds) {
            interrupt::check()?;
            let row = run::run(*kind, &opts, round)?;
            eprintln!("round {round}: {}", report::detail(&row));
            outcomes.push(row);
        }
    }
    let rows: Vec<run::Outcome> = rounds.into_iter().filter_map(report::median).collect();
    if cli.runs > 1 {
        println!("medians of {} rounds:", cli.runs);
    }
    print!("{}", report::render(&rows, expected));
    let clean = rows.iter().all(|r| matches!(r.status, run::Status::Done));
    if cli.logs.is_none() && clean {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
