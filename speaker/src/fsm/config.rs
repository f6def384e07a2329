//! What one session is configured with: the inputs of negotiation.

use crate::wire::Family;
use crate::wire::capability::AddPathMode;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The configuration of one peer session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    /// The AS the peer must announce (RFC 4271 §6.2 Bad Peer AS).
    pub remote_as: u32,
    /// Wait for the peer to connect (§8.1.1 PassiveTcpEstablishment).
    pub passive: bool,
    /// Families offered with the multiprotocol capability.
    pub families: Vec<Family>,
    /// ADD-PATH offered per family (RFC 7911).
    pub add_path: Vec<(Family, AddPathMode)>,
    /// Proposed hold time: 0, or at least 3 s (§4.2).
    pub hold_time: Duration,
    /// The hold timer until the peer's OPEN (§8.2.2 "a large value",
    /// suggested 4 minutes: a peer loaded with a full table may take tens
    /// of seconds to answer).
    pub open_hold_time: Duration,
    /// Keepalive interval; one third of the negotiated hold time when `None` (§10).
    pub keepalive: Option<Duration>,
    pub connect_retry: Duration,
    /// §8.1.1 DelayOpen: wait this long for the peer's OPEN before sending ours.
    pub delay_open: Option<Duration>,
    /// First IdleHold wait after a session error; doubles per consecutive
    /// failure (DampPeerOscillations) up to `idle_hold_max`.
    pub idle_hold: Duration,
    pub idle_hold_max: Duration,
    /// RFC 4724 graceful restart: the restart time we announce (with the
    /// RFC 8538 N bit: a NOTIFICATION other than Hard Reset keeps routes).
    pub graceful_restart: Option<Duration>,
    /// RFC 9494 long-lived graceful restart: the long-lived stale time we
    /// announce for every family (with `graceful_restart` only), and the
    /// longest we keep a peer's routes as LLGR_STALE after its restart
    /// time, whatever it announces. `None`: neither.
    pub long_lived_stale_time: Option<Duration>,
    /// RFC 4724 §3 Restart State (R bit): this speaker restarted (or took
    /// the session over from another member of its cluster) and this is
    /// the session's first OPEN since.
    pub restarting: bool,
    /// RFC 4724 §3 Forwarding State (F bit) for every family: the routes
    /// this speaker advertised are still in its RIB (its store, or the
    /// cluster's replicated RIB), so a helper may keep them until our
    /// End-of-RIB.
    pub forwarding_preserved: bool,
    pub route_refresh: bool,
    pub extended_message: bool,
    /// RFC 8654 and the FQDN capability: our host name, when announced.
    pub hostname: Option<String>,
    /// Seed of the connect-retry jitter (RFC 4271 §10), for reproducible runs.
    pub jitter_seed: u64,
}

impl SessionConfig {
    /// Defaults of RFC 4271 §10 for a session between two ASes.
    pub fn new(local_as: u32, router_id: Ipv4Addr, remote_as: u32) -> SessionConfig {
        SessionConfig {
            local_as,
            router_id,
            remote_as,
            passive: false,
            families: vec![Family::IPV4_UNICAST],
            add_path: Vec::new(),
            hold_time: Duration::from_secs(90),
            open_hold_time: Duration::from_secs(240),
            keepalive: None,
            connect_retry: Duration::from_secs(120),
            delay_open: None,
            idle_hold: Duration::from_secs(5),
            idle_hold_max: Duration::from_secs(120),
            graceful_restart: None,
            long_lived_stale_time: None,
            restarting: false,
            forwarding_preserved: false,
            route_refresh: true,
            extended_message: true,
            hostname: None,
            jitter_seed: 1,
        }
    }

    pub fn is_ibgp(&self) -> bool {
        self.local_as == self.remote_as
    }
}
