//! The `reflex` binary.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod api;
mod cli;
mod config;
mod daemon;
mod fib;
mod listener;
mod rib;
mod service;
mod session;

/// This build's version (the package's, shared by the workspace).
const VERSION: &str = env!("CARGO_PKG_VERSION");

// BGP decoding allocates many small, short-lived objects: mimalloc more than
// doubles decode throughput over glibc malloc (speaker/benches/decode.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Reflex, a BGP route reflector.
#[derive(Parser, Debug)]
#[command(name = "reflex", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read MRT (RFC 6396) routing dumps.
    #[command(subcommand)]
    Mrt(cli::mrt::MrtCommand),
    /// Manage a reflector cluster through one of its members.
    #[command(subcommand)]
    Cluster(cli::cluster::ClusterCommand),
    /// Validate a configuration file without starting.
    CheckConfig(cli::check_config::CheckConfig),
    /// Run a node: BGP sessions with the configured neighbours.
    Run(cli::run::Run),
    /// Ask a running node through its HTTP API (neighbours...).
    Ctl(cli::ctl::Ctl),
    /// Print a shell completion script (bash, zsh, fish, elvish,
    /// powershell), e.g. `reflex completions bash > /etc/bash_completion.d/reflex`.
    Completions { shell: clap_complete::Shell },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mrt(cmd) => cli::mrt::run(cmd),
        Command::Cluster(cmd) => cli::cluster::run(cmd),
        Command::CheckConfig(cmd) => cli::check_config::run(cmd),
        Command::Run(cmd) => cli::run::run(cmd),
        Command::Ctl(cmd) => return cli::ctl::run(cmd),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "reflex", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reflex: {e:#}");
            ExitCode::FAILURE
        }
    }
}
