//! Test support.

pub mod bird;
pub mod cluster;
pub mod continuity;
pub mod exabgp;
pub mod frr;
pub mod gobgp;
pub mod http;
pub mod netns;
pub mod openapi;
pub mod pcap;
pub mod reflex;
pub mod replay;
pub mod session_context;
pub mod stalled;
pub mod table;
pub mod tmpfs;
