//! The FIB programmer of the border role (issue 6, in progress): best
//! paths from the Loc-RIB into a kernel routing table through rtnetlink.
//!
//! - `queue`: what is still to be written, latest state per prefix (a
//!   prefix that flaps while a batch is pending is written once), bounded
//!   by the number of prefixes, never by the number of changes;
//! - `encode`: a batch as netlink requests in one buffer (protocol `bgp`,
//!   186; the configured table and metric), each with its sequence number
//!   so errors are matched to their prefix.
//!
//! - `socket`: batches written to the kernel, a datagram of many requests
//!   at a time, and its answers matched to the requests.
//!
//! Not yet: next-hop resolution against the kernel's routes, the restart
//! mark-and-sweep, and the wiring into the daemon (`role = "border"`).

pub mod encode;
pub mod queue;
pub mod socket;

use speaker::wire::Prefix;
use std::net::IpAddr;

/// A route as the kernel is to hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FibRoute {
    pub prefix: Prefix,
    /// Gateways, one for a plain route, more for ECMP (RTA_MULTIPATH).
    pub gateways: Vec<IpAddr>,
}
