//! Subcommands of the `reflex` binary, one module each.

pub mod mrt;
