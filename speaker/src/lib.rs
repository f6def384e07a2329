//! BGP without I/O.
pub mod wire;
