//! `reflex run --config FILE`: start a node.

use crate::{config, daemon};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Run {
    /// The configuration file (TOML); `reflex check-config` validates it.
    #[arg(long)]
    config: PathBuf,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long)]
    log_json: bool,
}

pub fn run(cmd: Run) -> Result<()> {
    init_logging(cmd.log_json);
    let cfg = match config::load(&cmd.config) {
        Ok(c) => c,
        Err(config::ConfigError::Invalid(diagnostics)) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            anyhow::bail!("{}: invalid configuration", cmd.config.display());
        }
        Err(e) => return Err(e).with_context(|| format!("{}", cmd.config.display())),
    };
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
    tracing::info!(
        config = %cmd.config.display(),
        router_id = %cfg.router_id,
        asn = cfg.local_as,
        cluster_id = %cfg.cluster_id,
        data_dir = %cfg.data_dir.display(),
        "starting"
    );
    let mut spec = daemon::spec_from_config(&cfg);
    spec.config_file = Some((cmd.config.clone(), cfg));
    daemon::run(spec, daemon::signals())
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    // openraft narrates every election and membership step at info: its
    // warnings are what an operator needs.
    let filter = EnvFilter::try_from_env("REFLEX_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    use std::io::IsTerminal;
    // Colours only on a terminal: log files stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
