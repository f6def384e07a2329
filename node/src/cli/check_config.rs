//! `reflex check-config FILE`: validate a configuration without starting.

use crate::config::{self, ConfigError};
use anyhow::{Result, bail};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CheckConfig {
    /// The configuration file (TOML).
    file: PathBuf,
    /// Print the resolved configuration (defaults applied, groups merged)
    /// as JSON.
    #[arg(long)]
    json: bool,
}

/// Prints `FILE: ok (N neighbours)`, or every problem on stderr (one
/// `FILE:LINE: ...` line each) and fails.
pub fn run(cmd: CheckConfig) -> Result<()> {
    match config::load(&cmd.file) {
        Ok(config) => {
            if cmd.json {
                println!("{}", serde_json::to_string_pretty(&config)?);
            }
            let n = config.neighbors.len();
            let noun = if n == 1 { "neighbour" } else { "neighbours" };
            println!("{}: ok ({n} {noun})", cmd.file.display());
            Ok(())
        }
        Err(ConfigError::Invalid(diagnostics)) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            let n = diagnostics.len();
            let noun = if n == 1 { "error" } else { "errors" };
            bail!("{}: {n} {noun}", cmd.file.display())
        }
        Err(e) => Err(e.into()),
    }
}
