//! Test support.

pub mod pcap;
pub mod session_context;
pub mod netns;
