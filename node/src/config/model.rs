//! The validated configuration: plain types, defaults applied, group
//! settings merged into each neighbour. Code that runs the node reads only
//! this; nothing here is optional unless "absent" is a meaning of its own.

use serde::{Serialize, Serializer};
use speaker::wire::Family;
use speaker::wire::capability::AddPathMode;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// Defaults, in one place (`ops/config/reference.toml` repeats them).
pub mod defaults {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    pub const PORT: u16 = 179;
    /// Every IPv4 and IPv6 address (the listener sets IPV6_V6ONLY).
    pub const LISTEN: [IpAddr; 2] = [
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    ];
    pub const DATA_DIR: &str = "/var/lib/reflex";
    /// RFC 4271 §10 suggests 90 s.
    pub const HOLD_TIME: u16 = 90;
    /// RFC 4271 §8.2.2 suggests 4 minutes.
    pub const OPEN_HOLD_TIME: u16 = 240;
    /// A socket that takes nothing for this long: the peer stopped
    /// reading (its hold timer would have closed a dead one long before).
    pub const WRITE_TIMEOUT: u16 = 180;
    /// Octets queued for one neighbour: a burst of changes to a full
    /// table (a source's session reset) with room to spare; a table sent
    /// on coming up is paged and takes a few MiB of it.
    pub const OUTPUT_BUFFER: u64 = 128 << 20;
    /// The smallest `output-buffer`: an extended message (RFC 8654) and room.
    pub const OUTPUT_BUFFER_MIN: u64 = 1 << 20;
    /// RFC 4271 §10 suggests 120 s.
    pub const CONNECT_RETRY: u16 = 120;
    /// DelayOpen off (RFC 4271 §8.1.1, optional attribute).
    pub const DELAY_OPEN: u16 = 0;
    /// First IdleHold wait after a session failure; doubles on each failure
    /// in a row up to `IDLE_HOLD_MAX` (RFC 4271 §8.1.1 DampPeerOscillations).
    pub const IDLE_HOLD: u16 = 5;
    pub const IDLE_HOLD_MAX: u16 = 120;
    /// MRAI for iBGP: the issue asks for 0 (advertise at once).
    pub const MRAI_IBGP: u16 = 0;
    /// MRAI for eBGP: RFC 4271 §10 suggests 30 s.
    pub const MRAI_EBGP: u16 = 30;
    pub const GRACEFUL_RESTART: bool = true;
    /// RFC 4724 §3 restart time we advertise (12 bits).
    pub const RESTART_TIME: u16 = 120;
    /// The HTTP API and metrics: loopback only unless configured.
    pub const API: &str = "127.0.0.1:8179";
    /// The kernel's main table.
    pub const FIB_TABLE: u32 = 254;
    /// FRR's metric for BGP routes in the kernel.
    pub const FIB_METRIC: u32 = 20;
    /// How long a restarted border keeps the routes a previous run left in
    /// the kernel while its neighbours send their tables again.
    pub const FIB_SWEEP_TIMEOUT: u16 = 120;
    /// What passing `max-prefix` does: close the session (RFC 4486 §4).
    pub const MAX_PREFIX_ACTION: super::MaxPrefixAction = super::MaxPrefixAction::Restart;
    /// Seconds Idle after a max-prefix Cease before connecting again.
    pub const MAX_PREFIX_RESTART: u16 = 60;
    /// Percent of `max-prefix` at which a warning is logged.
    pub const MAX_PREFIX_WARNING: u8 = 75;
}

/// The whole node configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub router_id: Ipv4Addr,
    pub local_as: u32,
    /// RFC 4456 CLUSTER_ID; the router id unless set.
    pub cluster_id: Ipv4Addr,
    pub role: Role,
    /// Sent in the hostname capability; `None`: the system's host name;
    /// empty: not sent.
    pub hostname: Option<String>,
    pub data_dir: PathBuf,
    pub listen: Listen,
    /// The replicated RIB (Raft): without `[cluster]`, a one-member cluster.
    pub cluster: Cluster,
    /// The kernel forwarding table a border programs (`None`: a reflector,
    /// which programs none).
    pub fib: Option<Fib>,
    /// The HTTP API (`/api/v1/...`) and Prometheus metrics (`/metrics`).
    pub api: Api,
    /// In file order.
    pub neighbors: Vec<Neighbor>,
    /// Prefix, AS-path and community lists and route-maps, compiled.
    #[serde(skip)]
    pub policy: speaker::policy::Policy,
    /// The policy sections as text: what the replicated policy carries
    /// through the log ([`crate::config::compile_policy_text`] reads it).
    #[serde(skip)]
    pub policy_text: String,
    /// RFC 8212: an eBGP neighbour without an import route-map is
    /// accepted nothing from, without an export one sent nothing.
    pub ebgp_requires_policy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A member of a route-reflector cluster (the default).
    Reflector,
    /// An edge speaker that installs its best routes in the kernel.
    Border,
}

/// The HTTP API (`[api]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Api {
    /// `None`: no API (`address = ""`).
    pub address: Option<SocketAddr>,
    /// The bearer token actions need (`None`: actions are refused).
    #[serde(skip)]
    pub token: Option<String>,
    /// The bearer token every read (GET) needs, the action token too
    /// serving (`None`: reads are open to whoever reaches the address).
    pub read_token: Option<String>,
    /// HTTPS with this certificate chain and key (PEM); `None`: HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// How a border programs the kernel's forwarding table (`[fib]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fib {
    /// The kernel table (1 to 2^32-1 but not 0; 254 is `main`).
    pub table: u32,
    /// The routes' metric (priority): a connected or static route to the
    /// same prefix with a lower metric is preferred by the kernel.
    pub metric: u32,
    /// Equal-cost BGP paths installed as one multipath route, at most
    /// (1: no ECMP).
    pub multipath: u16,
    /// Leave our routes in the kernel when the daemon stops (so a restart
    /// does not blackhole traffic); false: remove them.
    pub retain_on_shutdown: bool,
    /// Seconds after a start before the routes a previous run left and
    /// no neighbour sent again are removed, if End-of-RIB has not come
    /// from every neighbour before.
    pub sweep_timeout: u16,
    /// Whether a next hop may be resolved through a default route.
    pub resolve_via_default: bool,
}

/// This node as a member of a reflector cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    /// Its Raft node id, unique in the cluster (1 or more).
    pub member_id: u64,
    /// How the other members reach its Raft (`None`: they do not; a
    /// one-member node opens no Raft listener).
    pub raft: Option<RaftTransport>,
    /// A fresh store makes a one-member cluster of this node; `false`: it
    /// waits for `reflex cluster init` or `reflex cluster add`.
    pub bootstrap: bool,
}

/// Where a member's Raft listens, and the TLS files it authenticates
/// with (mutual TLS; `reflex cluster certs` makes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RaftTransport {
    pub address: SocketAddr,
    /// The cluster CA's certificate (PEM).
    pub ca: PathBuf,
    /// This member's certificate (PEM), naming its member id.
    pub certificate: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listen {
    /// Empty: no listener, active sessions only.
    pub addresses: Vec<IpAddr>,
    pub port: u16,
}

/// One neighbour with everything resolved: neighbour keys, then its
/// group's, then `[timers]`, then the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbor {
    pub address: IpAddr,
    pub remote_as: u32,
    pub description: Option<String>,
    /// The group it inherits from.
    pub group: Option<String>,
    pub route_reflector_client: bool,
    /// Never connects; waits for the peer.
    pub passive: bool,
    /// Sorted, no duplicates.
    #[serde(serialize_with = "ser_families")]
    pub families: Vec<Family>,
    /// Only families in `families`.
    #[serde(serialize_with = "ser_add_path")]
    pub add_path: BTreeMap<Family, AddPathMode>,
    /// The service address's, when there is one.
    pub local_address: Option<IpAddr>,
    /// An address that follows the session: the member running it holds
    /// it (a client that configures one reflector address still gets
    /// takeover).
    pub service_address: Option<ServiceAddress>,
    /// The node's, unless the neighbour or its group sets one.
    pub cluster_id: Ipv4Addr,
    pub timers: Timers,
    pub graceful_restart: GracefulRestart,
    /// The cluster members that may run the session (a neighbour that
    /// reaches only some of them); none: any member.
    pub members: Option<std::collections::BTreeSet<u64>>,
    /// Route-map names: what is accepted from the neighbour and what is
    /// sent to it.
    pub import: Option<String>,
    pub export: Option<String>,
    /// Keep what the neighbour sent as received (its Adj-RIB-In before
    /// import policy), so an import change re-runs over it instead of
    /// asking for a ROUTE-REFRESH.
    pub soft_reconfiguration: bool,
    /// The most paths the neighbour may hold announced; none: no limit.
    pub max_prefix: Option<MaxPrefix>,
    /// Octets queued for the neighbour at most: past it the session is
    /// closed with Cease / Out of Resources.
    pub output_buffer: u64,
}

/// An address added to `interface` on the member that runs a session,
/// and removed from the others.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ServiceAddress {
    pub address: IpAddr,
    pub prefix_len: u8,
    pub interface: String,
}

/// A neighbour's maximum prefix limit (RFC 4486 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaxPrefix {
    /// Paths announced and not withdrawn, all families together, counted
    /// before import policy.
    pub limit: u32,
    pub action: MaxPrefixAction,
    /// Seconds the session stays down after the restart action; 0: until
    /// the daemon restarts.
    pub restart: u16,
    /// Percent of `limit` at which a warning is logged (1 to 100).
    pub warning: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxPrefixAction {
    /// Log a warning; keep the session and the routes.
    Warn,
    /// Cease / Maximum Number of Prefixes Reached, then Idle for `restart`.
    Restart,
}

/// Timer settings of one neighbour, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timers {
    /// Proposed in OPEN; 0 or at least 3.
    pub hold_time: u16,
    /// The hold timer until the neighbour's OPEN (RFC 4271 §8.2.2).
    pub open_hold_time: u16,
    /// Less than `hold_time`, or 0 when `hold_time` is 0.
    pub keepalive: u16,
    pub connect_retry: u16,
    /// 0: DelayOpen off.
    pub delay_open: u16,
    pub idle_hold: u16,
    pub idle_hold_max: u16,
    /// MinRouteAdvertisementInterval.
    pub mrai: u16,
    /// How long the neighbour's socket may take nothing before the
    /// connection is closed.
    pub write_timeout: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GracefulRestart {
    pub enabled: bool,
    /// RFC 4724 §3 Restart Time, at most 4095.
    pub restart_time: u16,
    /// RFC 9494 long-lived stale time, at most 16777215 (24 bits); 0:
    /// long-lived graceful restart off.
    pub long_lived_stale_time: u32,
}

/// The family names the file uses, and their AFI/SAFI.
pub const FAMILY_NAMES: [(&str, Family); 8] = [
    ("ipv4-unicast", Family::IPV4_UNICAST),
    ("ipv6-unicast", Family::IPV6_UNICAST),
    ("ipv4-multicast", Family::IPV4_MULTICAST),
    ("ipv6-multicast", Family::IPV6_MULTICAST),
    ("ipv4-labeled-unicast", Family::IPV4_LABELED),
    ("ipv6-labeled-unicast", Family::IPV6_LABELED),
    ("vpnv4", Family::VPNV4),
    ("vpnv6", Family::VPNV6),
];

pub fn family_from_name(name: &str) -> Option<Family> {
    FAMILY_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, f)| f)
}

/// The configuration name of a family; families come only from
/// `FAMILY_NAMES`, so the fallback is for completeness.
pub fn family_name(family: Family) -> String {
    FAMILY_NAMES
        .iter()
        .find(|(_, f)| *f == family)
        .map_or_else(|| family.to_string(), |(n, _)| (*n).to_string())
}

pub fn add_path_mode_from_name(name: &str) -> Option<AddPathMode> {
    match name {
        "send" => Some(AddPathMode::SEND),
        "receive" => Some(AddPathMode::RECEIVE),
        "both" => Some(AddPathMode::BOTH),
        _ => None,
    }
}

fn add_path_mode_name(mode: AddPathMode) -> &'static str {
    match (mode.send(), mode.receive()) {
        (true, true) => "both",
        (true, false) => "send",
        (false, true) => "receive",
        (false, false) => "none",
    }
}

fn ser_families<S: Serializer>(families: &[Family], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(families.iter().map(|&f| family_name(f)))
}

fn ser_add_path<S: Serializer>(
    add_path: &BTreeMap<Family, AddPathMode>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(
        add_path
            .iter()
            .map(|(&f, &m)| (family_name(f), add_path_mode_name(m))),
    )
}
