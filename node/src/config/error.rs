//! What can be wrong with a configuration file, and where.
//!
//! Every problem found in a file is a [`Diagnostic`]: the file, the line, the
//! key (as a path such as `neighbor[2].hold-time`) and the [`Problem`]. Its
//! display is `FILE:LINE: key `KEY`: PROBLEM`, the form editors and `grep -n`
//! users know.

use std::path::PathBuf;

/// The file could not be used: unreadable, or one or more problems in it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// One problem at one place in one file.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {}{problem}", .file.display(), key_prefix(.key.as_deref()))]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line of the key (or of the table, for a missing key).
    pub line: usize,
    /// The key path, when the problem belongs to one key.
    pub key: Option<String>,
    pub problem: Problem,
}

fn key_prefix(key: Option<&str>) -> String {
    match key {
        Some(k) => format!("key `{k}`: "),
        None => String::new(),
    }
}

/// What is wrong. The messages cite the rule they enforce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// TOML syntax, an unknown key or a value of the wrong type (the
    /// message is the TOML parser's).
    #[error("{0}")]
    Toml(String),
    #[error("missing required key `{0}`")]
    Missing(&'static str),
    #[error("router id 0.0.0.0 is invalid (RFC 6286 §2.1: a non-zero 4-octet value)")]
    ZeroRouterId,
    #[error("host name `{0}` is invalid (at most 255 octets of letters, digits, `-` and `.`)")]
    Hostname(String),
    #[error("`{0}` is not an address and port (e.g. \"198.18.0.1:11179\")")]
    NotSocketAddress(String),
    #[error(
        "{0} is not supported: it needs a socket option (TCP_MD5SIG, TCP_AO or IP_MINTTL) that no maintained Rust crate sets without `unsafe`, which Reflex forbids; protect the session another way (IPsec, a filter on port 179)"
    )]
    SessionProtection(&'static str),
    #[error("member id {0} is invalid (1 or more)")]
    MemberId(i64),
    #[error(
        "a member reachable on raft-address authenticates the others with mutual TLS: set `ca`, `certificate` and `key` in [cluster] (`reflex cluster certs` makes them)"
    )]
    RaftWithoutTls,
    #[error(
        "`{0}` is set without raft-address: a node without raft-address opens no Raft listener"
    )]
    TlsWithoutRaft(&'static str),
    #[error("`{0}` is not an IPv4 address")]
    NotIpv4(String),
    #[error("`{0}` is not an IP address")]
    NotIp(String),
    #[error("`{0}` cannot be a neighbour address (unspecified, multicast or broadcast)")]
    BadNeighborAddress(String),
    #[error("AS {0} is invalid (RFC 7607: AS 0 is reserved)")]
    AsZero(i64),
    #[error("AS 23456 is invalid (RFC 6793: AS_TRANS only stands in for a 4-octet AS)")]
    AsTrans,
    #[error("AS {0} is out of range (1 to 4294967294; RFC 7300 reserves 4294967295)")]
    AsRange(i64),
    #[error("hold time {0} is invalid (RFC 4271 §4.2: 0 or at least 3)")]
    HoldTime(i64),
    #[error("{what} {value} is out of range ({min} to {max} seconds)")]
    Seconds {
        what: &'static str,
        value: i64,
        min: i64,
        max: i64,
    },
    #[error("keepalive {keepalive} must be less than hold time {hold}{others}")]
    KeepaliveNotLess {
        keepalive: u16,
        hold: u16,
        /// Where the other value of the pair came from, if not the same place.
        others: String,
    },
    #[error(
        "keepalive {keepalive} with hold time 0: no keepalives are sent when the hold time is 0 (RFC 4271 §4.4){others}"
    )]
    KeepaliveWithoutHold { keepalive: u16, others: String },
    #[error("keepalive 0 with hold time {hold}: the peer's hold timer would expire{others}")]
    KeepaliveZero { hold: u16, others: String },
    #[error("idle-hold {initial} is more than idle-hold-max {max}{others}")]
    IdleHoldAboveMax {
        initial: u16,
        max: u16,
        others: String,
    },
    #[error("port 0 is invalid (1 to 65535)")]
    PortZero,
    #[error("port {0} is out of range (1 to 65535)")]
    PortRange(i64),
    #[error("address {0} is listed twice")]
    DuplicateListen(String),
    #[error("role `{0}` is unknown (expected `reflector` or `border`)")]
    UnknownRole(String),
    #[error("unknown family `{0}` (expected one of: {1})")]
    UnknownFamily(String, String),
    #[error("family `{0}` is listed twice")]
    DuplicateFamily(String),
    #[error("no family enabled (list at least one)")]
    NoFamily,
    #[error("unknown ADD-PATH mode `{0}` (expected `send`, `receive` or `both`)")]
    UnknownAddPathMode(String),
    #[error("ADD-PATH for `{family}`, a family {whom} does not enable (families: {enabled})")]
    AddPathFamilyNotEnabled {
        family: String,
        whom: String,
        enabled: String,
    },
    #[error("unknown group `{0}` (groups: {1})")]
    UnknownGroup(String, String),
    #[error("a group cannot set `{0}`; set it in each [[neighbor]]")]
    NotInGroup(&'static str),
    #[error("neighbour address {address} is also at line {first_line} (`{first_key}`)")]
    DuplicateNeighbor {
        address: String,
        first_line: usize,
        first_key: String,
    },
    #[error("`{0}` is not ADDRESS/LENGTH (a service address, e.g. 198.18.0.100/24)")]
    ServiceAddressSyntax(String),
    #[error("a service address needs `service-interface`, the interface it is added to")]
    ServiceAddressWithoutInterface,
    #[error("`service-interface` without `service-address`")]
    ServiceInterfaceWithoutAddress,
    #[error("service address {local} is not of the same family as neighbour address {address}")]
    ServiceAddressFamily { local: String, address: String },
    #[error(
        "local-address {local} differs from the service address {service}, which is the session's local address"
    )]
    ServiceAddressLocal { local: String, service: String },
    #[error(
        "service address {address} is also the service address of `{first_key}`: it follows one session, so each neighbour needs its own"
    )]
    ServiceAddressShared { address: String, first_key: String },
    #[error(
        "service address {address} is not in [listen] addresses: the neighbour's connections to it would be refused; listen on {wildcard} or on {address} too"
    )]
    ServiceAddressNotListened { address: String, wildcard: String },
    #[error("local address {local} is not of the same family as neighbour address {address}")]
    LocalAddressFamily { local: String, address: String },
    #[error("{whom} is passive, but nothing listens (`listen.addresses` is empty)")]
    PassiveWithoutListener { whom: String },
    #[error(
        "route-reflector-client needs an iBGP neighbour; {whom} has remote AS {remote_as}, local AS {local_as}"
    )]
    ClientNotInternal {
        whom: String,
        remote_as: u32,
        local_as: u32,
    },
    #[error("{0} is only meaningful for role `reflector`; this node is a `border`")]
    ReflectorOnly(&'static str),
    #[error("{0} is only meaningful for role `border`; this node is a `reflector`")]
    BorderOnly(&'static str),
    #[error("{what} {value} is out of range ({min} to {max})")]
    Range {
        what: &'static str,
        value: i64,
        min: i64,
        max: i64,
    },
    #[error("graceful restart time {0} is out of range (RFC 4724 §3: 0 to 4095 seconds)")]
    RestartTime(i64),
    #[error("long-lived stale time {0} is out of range (RFC 9494 §2: 0 to 16777215 seconds)")]
    LongLivedStaleTime(i64),
    #[error(
        "long-lived graceful restart needs graceful restart (RFC 9494 §4.1): set `graceful-restart = true` or `long-lived-stale-time = 0`"
    )]
    LongLivedWithoutGracefulRestart,
    #[error("`members` is empty: no member could run the session")]
    NoMembers,
    #[error("`{value}` is not {expected}")]
    NotA {
        value: String,
        expected: &'static str,
    },
    #[error("write either `{0}` or `{1}`, not both or neither")]
    OneOf(&'static str, &'static str),
    /// A policy problem, as the policy compiler says it.
    #[error("{0}")]
    Policy(String),
    #[error("unknown route-map `{0}` (route-maps: {1})")]
    UnknownRouteMap(String, String),
    #[error("maximum prefix count {0} is out of range (1 to 4294967295)")]
    MaxPrefix(i64),
    #[error(
        "output buffer {0} is out of range (octets queued for the neighbour: at least 1048576, 1 MiB)"
    )]
    OutputBuffer(i64),
    #[error("unknown max-prefix action `{0}` (expected `warn` or `restart`)")]
    UnknownMaxPrefixAction(String),
    #[error("max-prefix warning {0} is out of range (1 to 100, percent of max-prefix)")]
    MaxPrefixWarning(i64),
    #[error("`{0}` has no effect: {1} has no `max-prefix` (set it here or in its group)")]
    MaxPrefixUnset(&'static str, String),
    #[error(
        "max-prefix-restart has no effect with max-prefix-action \"warn\" (the session is never closed){0}"
    )]
    MaxPrefixRestartWithWarn(String),
}
