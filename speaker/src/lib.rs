//! BGP without I/O.
pub mod dispatch;
pub mod fsm;
pub mod mrt;
pub mod packing;
pub mod policy;
pub mod rib;
pub mod wire;

#[doc(hidden)]
pub mod fixtures;
#[doc(hidden)]
pub mod fuzzing;
