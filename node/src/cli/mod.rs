//! Subcommands of the `reflex` binary, one module each.

pub mod check_config;
pub mod cluster;
pub mod ctl;
pub mod mrt;
pub mod run;
