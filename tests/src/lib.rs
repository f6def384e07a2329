//! Test support.

pub mod pcap;
