//! Unit tests on synthetic captures.

mod container;
mod layers;
mod streams;
