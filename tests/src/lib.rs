//! Test support.

pub mod bird;
pub mod netns;
pub mod pcap;
pub mod reflex;
pub mod session_context;
