//! The node configuration: a TOML file, validated into plain types.
//!
//! - `raw`: the file's schema as serde reads it (unknown keys rejected);
//! - `validate`: checks every value and the rules between them, merges
//!   groups and defaults;
//! - `model`: the result, [`Config`];
//! - `locate`: the line of each key, for the diagnostics;
//! - `error`: [`ConfigError`], [`Diagnostic`] (`FILE:LINE: key `KEY`: ...`).
//!
//! `ops/config/reference.toml` lists every key with its default.

mod error;
mod locate;
mod model;
mod raw;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_policy;

pub use error::ConfigError;
pub use model::{Config, MaxPrefix, MaxPrefixAction, Neighbor, ServiceAddress};
pub use validate::{compile_policy_text, parse};

use std::path::Path;

/// Read and validate a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&source, path).map_err(ConfigError::Invalid)
}
