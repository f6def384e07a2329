//! Unit tests on synthetic captures.
#![allow(clippy::unwrap_used)]

mod container;
mod layers;
mod streams;
