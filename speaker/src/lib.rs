//! BGP without I/O.
pub mod wire;

#[doc(hidden)]
pub mod fuzzing;
