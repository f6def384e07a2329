//! BGP without I/O.
pub mod mrt;
pub mod wire;
