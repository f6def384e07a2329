//! From the file's text to a [`Config`], or to every problem found.
//!
//! Three passes: TOML syntax (all syntax errors, with recovery), the serde
//! schema (unknown keys and wrong types; serde stops at the first), then the
//! values and the rules between them, which report everything they find.
//!
//! Each value is checked where it is written (once, even if a group is used
//! by many neighbours); rules between values (keepalive < hold time, ...)
//! are checked on each neighbour's resolved settings and reported at the
//! more specific of the keys involved. Repeated reports are merged.

mod policy;

use super::error::{Diagnostic, Problem};
use super::locate::{Locator, join};
use super::model::{
    Api, Cluster, Config, Fib, GracefulRestart, Listen, MaxPrefix, MaxPrefixAction, Neighbor,
    RaftTransport, Role, ServiceAddress, Timers, add_path_mode_from_name, defaults,
    family_from_name, family_name,
};
use super::raw::{RawApi, RawCluster, RawConfig, RawFib, RawPeer, RawPolicySections, RawTimers};
use speaker::wire::Family;
use speaker::wire::capability::AddPathMode;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// Parse and validate the text of a configuration file. `file` names it in
/// the diagnostics.
/// Compiles the policy sections of a configuration, given as text (the
/// replicated policy: [`Config::policy_text`]); every problem, one per line.
pub fn compile_policy_text(text: &str) -> Result<speaker::policy::Policy, String> {
    let file = Path::new("(replicated policy)");
    let (document, syntax) = toml::de::DeTable::parse_recoverable(text);
    if let Some(e) = syntax.first() {
        return Err(e.message().to_string());
    }
    let loc = Locator::new(text, document.get_ref());
    let raw: RawConfig = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let mut checker = Checker::new(file, &loc);
    checker.route_maps = raw.route_map.keys().cloned().collect();
    let policy = checker.policy(&raw);
    match policy {
        Some(p) if checker.diagnostics.is_empty() => Ok(p),
        _ => Err(checker
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

pub fn parse(source: &str, file: &Path) -> Result<Config, Vec<Diagnostic>> {
    let (document, syntax) = toml::de::DeTable::parse_recoverable(source);
    if !syntax.is_empty() {
        let loc = Locator::lines_only(source);
        return Err(syntax
            .iter()
            .map(|e| Diagnostic {
                file: file.to_path_buf(),
                line: e.span().map_or(1, |s| loc.line_at(s.start)),
                key: None,
                problem: Problem::Toml(e.message().to_string()),
            })
            .collect());
    }
    let loc = Locator::new(source, document.get_ref());
    let raw: RawConfig = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            let (line, key) = match e.span() {
                Some(s) => (loc.line_at(s.start), loc.path_at(s.start).map(String::from)),
                None => (1, None),
            };
            return Err(vec![Diagnostic {
                file: file.to_path_buf(),
                line,
                key,
                problem: Problem::Toml(e.message().to_string()),
            }]);
        }
    };
    let mut checker = Checker::new(file, &loc);
    let config = checker.config(&raw);
    let mut diagnostics = checker.diagnostics;
    if let (true, Some(config)) = (diagnostics.is_empty(), config) {
        return Ok(config);
    }
    let mut seen = BTreeSet::new();
    diagnostics.retain(|d| seen.insert(d.to_string()));
    diagnostics.sort_by_key(|d| d.line);
    Err(diagnostics)
}

/// How specific a setting's origin is; the more specific one wins, and a
/// rule between two settings is reported at the more specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Global,
    Group,
    Neighbor,
}

/// A value and the key it was read from.
#[derive(Debug, Clone)]
struct At<T> {
    value: T,
    path: String,
    level: Level,
}

impl<T> At<T> {
    fn new(value: T, (path, level): (String, Level)) -> At<T> {
        At { value, path, level }
    }
}

/// Settings as written in one place (`[timers]`, a group, a neighbour),
/// each value already checked on its own.
#[derive(Debug, Clone, Default)]
struct Layer {
    remote_as: Option<At<u32>>,
    /// `remote-as` is written, valid or not (so that an invalid one is not
    /// also reported missing).
    remote_as_written: bool,
    description: Option<At<String>>,
    route_reflector_client: Option<At<bool>>,
    passive: Option<At<bool>>,
    families: Option<At<Vec<Family>>>,
    /// Each entry with its own key path.
    add_path: Option<Vec<At<(Family, AddPathMode)>>>,
    local_address: Option<At<IpAddr>>,
    service_address: Option<At<(IpAddr, u8)>>,
    /// `service-address` is written, valid or not.
    service_address_written: bool,
    service_interface: Option<At<String>>,
    cluster_id: Option<At<Ipv4Addr>>,
    graceful_restart: Option<At<bool>>,
    restart_time: Option<At<u16>>,
    long_lived_stale_time: Option<At<u32>>,
    members: Option<At<std::collections::BTreeSet<u64>>>,
    import: Option<At<String>>,
    export: Option<At<String>>,
    soft_reconfiguration: Option<At<bool>>,
    max_prefix: Option<At<u32>>,
    max_prefix_action: Option<At<MaxPrefixAction>>,
    max_prefix_restart: Option<At<u16>>,
    max_prefix_warning: Option<At<u8>>,
    output_buffer: Option<At<u64>>,
    timers: TimerLayer,
}

#[derive(Debug, Clone, Default)]
struct TimerLayer {
    hold_time: Option<At<u16>>,
    open_hold_time: Option<At<u16>>,
    keepalive: Option<At<u16>>,
    connect_retry: Option<At<u16>>,
    delay_open: Option<At<u16>>,
    idle_hold: Option<At<u16>>,
    idle_hold_max: Option<At<u16>>,
    mrai: Option<At<u16>>,
    write_timeout: Option<At<u16>>,
}

impl Layer {
    /// `self` where set, else `under`.
    fn over(self, under: &Layer) -> Layer {
        Layer {
            remote_as: self.remote_as.or_else(|| under.remote_as.clone()),
            remote_as_written: self.remote_as_written || under.remote_as_written,
            description: self.description.or_else(|| under.description.clone()),
            route_reflector_client: self
                .route_reflector_client
                .or_else(|| under.route_reflector_client.clone()),
            passive: self.passive.or_else(|| under.passive.clone()),
            families: self.families.or_else(|| under.families.clone()),
            add_path: self.add_path.or_else(|| under.add_path.clone()),
            local_address: self.local_address.or_else(|| under.local_address.clone()),
            service_address: self
                .service_address
                .or_else(|| under.service_address.clone()),
            service_address_written: self.service_address_written || under.service_address_written,
            service_interface: self
                .service_interface
                .or_else(|| under.service_interface.clone()),
            cluster_id: self.cluster_id.or_else(|| under.cluster_id.clone()),
            graceful_restart: self
                .graceful_restart
                .or_else(|| under.graceful_restart.clone()),
            restart_time: self.restart_time.or_else(|| under.restart_time.clone()),
            long_lived_stale_time: self
                .long_lived_stale_time
                .or_else(|| under.long_lived_stale_time.clone()),
            members: self.members.or_else(|| under.members.clone()),
            import: self.import.or_else(|| under.import.clone()),
            export: self.export.or_else(|| under.export.clone()),
            soft_reconfiguration: self
                .soft_reconfiguration
                .or_else(|| under.soft_reconfiguration.clone()),
            max_prefix: self.max_prefix.or_else(|| under.max_prefix.clone()),
            max_prefix_action: self
                .max_prefix_action
                .or_else(|| under.max_prefix_action.clone()),
            max_prefix_restart: self
                .max_prefix_restart
                .or_else(|| under.max_prefix_restart.clone()),
            max_prefix_warning: self
                .max_prefix_warning
                .or_else(|| under.max_prefix_warning.clone()),
            output_buffer: self.output_buffer.or_else(|| under.output_buffer.clone()),
            timers: self.timers.over(&under.timers),
        }
    }
}

impl TimerLayer {
    fn over(self, under: &TimerLayer) -> TimerLayer {
        TimerLayer {
            hold_time: self.hold_time.or_else(|| under.hold_time.clone()),
            open_hold_time: self.open_hold_time.or_else(|| under.open_hold_time.clone()),
            keepalive: self.keepalive.or_else(|| under.keepalive.clone()),
            connect_retry: self.connect_retry.or_else(|| under.connect_retry.clone()),
            delay_open: self.delay_open.or_else(|| under.delay_open.clone()),
            idle_hold: self.idle_hold.or_else(|| under.idle_hold.clone()),
            idle_hold_max: self.idle_hold_max.or_else(|| under.idle_hold_max.clone()),
            mrai: self.mrai.or_else(|| under.mrai.clone()),
            write_timeout: self.write_timeout.or_else(|| under.write_timeout.clone()),
        }
    }
}

fn value<T: Copy>(at: &Option<At<T>>, default: T) -> T {
    at.as_ref().map_or(default, |a| a.value)
}

struct Checker<'a> {
    file: &'a Path,
    loc: &'a Locator,
    role: Role,
    /// Node-wide values the neighbours depend on (`None`: invalid, reported).
    local_as: Option<u32>,
    cluster_id: Option<Ipv4Addr>,
    listening: bool,
    /// `[listen] addresses`.
    listen_addresses: Vec<IpAddr>,
    /// Neighbour addresses seen so far, with their key.
    addresses: HashMap<IpAddr, String>,
    /// Service addresses seen so far, with their neighbour's key.
    service_addresses: HashMap<IpAddr, String>,
    /// The route-maps defined, for `import` and `export`.
    route_maps: BTreeSet<String>,
    /// Those that match `neighbor`, which an export route-map cannot: the
    /// peers of an update group share its exports.
    neighbor_matching: BTreeSet<String>,
    /// Those that set `weight`, which means something on import only.
    weight_setting: BTreeSet<String>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    /// A checker with nothing seen yet.
    fn new(file: &'a Path, loc: &'a Locator) -> Checker<'a> {
        Checker {
            file,
            loc,
            role: Role::Reflector,
            local_as: None,
            cluster_id: None,
            listening: true,
            listen_addresses: Vec::new(),
            addresses: HashMap::new(),
            service_addresses: HashMap::new(),
            route_maps: BTreeSet::new(),
            neighbor_matching: BTreeSet::new(),
            weight_setting: BTreeSet::new(),
            diagnostics: Vec::new(),
        }
    }
}

impl Checker<'_> {
    fn report(&mut self, key: &str, problem: Problem) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_path_buf(),
            line: self.loc.line_of(key),
            key: Some(key.to_string()),
            problem,
        });
    }

    /// The whole file; `None` when something required is missing or bad.
    fn config(&mut self, raw: &RawConfig) -> Option<Config> {
        let router_id = match &raw.router_id {
            None => {
                self.report("router-id", Problem::Missing("router-id"));
                None
            }
            Some(s) => match self.ipv4("router-id", s) {
                Some(Ipv4Addr::UNSPECIFIED) => {
                    self.report("router-id", Problem::ZeroRouterId);
                    None
                }
                other => other,
            },
        };
        let local_as = match raw.local_as {
            None => {
                self.report("local-as", Problem::Missing("local-as"));
                None
            }
            Some(n) => self.asn("local-as", n),
        };
        self.role = match raw.role.as_deref() {
            None | Some("reflector") => Role::Reflector,
            Some("border") => Role::Border,
            Some(other) => {
                self.report("role", Problem::UnknownRole(other.to_string()));
                Role::Reflector
            }
        };
        let cluster_id = match &raw.cluster_id {
            None => router_id,
            Some(s) => {
                if self.role == Role::Border {
                    self.report("cluster-id", Problem::ReflectorOnly("cluster-id"));
                }
                self.ipv4("cluster-id", s)
            }
        };
        let hostname = raw.hostname.as_ref().filter(|h| {
            let ok = h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !ok {
                self.report("hostname", Problem::Hostname(h.to_string()));
            }
            ok
        });
        let listen = self.listen(raw);
        // Without the section: a one-member cluster on the defaults (the
        // embedded default; one code path for every node).
        let cluster = match &raw.cluster {
            Some(c) => self.cluster(c),
            None => self.cluster(&RawCluster::default()),
        };
        let fib = match (&raw.fib, self.role) {
            (Some(_), Role::Reflector) => {
                self.report("fib", Problem::BorderOnly("[fib]"));
                None
            }
            (raw_fib, Role::Border) => self.fib(raw_fib.as_ref().unwrap_or(&RawFib::default())),
            (None, Role::Reflector) => None,
        };
        let api = self.api(raw.api.as_ref());
        self.local_as = local_as;
        self.cluster_id = cluster_id;
        self.listening = !listen.addresses.is_empty();
        self.listen_addresses = listen.addresses.clone();
        let global = Layer {
            timers: self.timers("timers", raw.timers.unwrap_or_default(), Level::Global),
            ..Layer::default()
        };
        self.timer_rules(&global.timers);
        self.route_maps = raw.route_map.keys().cloned().collect();
        let policy = self.policy(raw);
        if let Some(p) = &policy {
            self.neighbor_matching = maps_where(p, |e| {
                e.matches
                    .iter()
                    .any(|c| matches!(c, speaker::policy::Match::Neighbor(_)))
            });
            self.weight_setting = maps_where(p, |e| {
                e.sets
                    .iter()
                    .any(|s| matches!(s, speaker::policy::Set::Weight(_)))
            });
        }

        let mut groups = BTreeMap::new();
        for (name, peer) in &raw.group {
            let prefix = join("group", name);
            if peer.address.is_some() {
                self.report(&join(&prefix, "address"), Problem::NotInGroup("address"));
            }
            if peer.group.is_some() {
                self.report(&join(&prefix, "group"), Problem::NotInGroup("group"));
            }
            let layer = self.layer(&prefix, peer, Level::Group);
            if let (Some(families), Some(add_path)) = (&layer.families, &layer.add_path) {
                self.add_path_rule(add_path, &families.value, &format!("group `{name}`"));
            }
            let merged = layer.clone().over(&global);
            self.timer_rules(&merged.timers);
            self.max_prefix_rules(&merged, None);
            groups.insert(name.clone(), layer);
        }

        let mut neighbors = Vec::new();
        for (i, peer) in raw.neighbor.iter().enumerate() {
            let prefix = format!("neighbor[{i}]");
            let neighbor = self.neighbor(&prefix, peer, &groups, &global);
            neighbors.extend(neighbor);
        }

        Some(Config {
            router_id: router_id?,
            local_as: local_as?,
            cluster_id: cluster_id?,
            role: self.role,
            hostname: hostname.cloned(),
            data_dir: PathBuf::from(raw.data_dir.as_deref().unwrap_or(defaults::DATA_DIR)),
            listen,
            cluster: cluster?,
            fib,
            api: api?,
            neighbors,
            policy: policy?,
            policy_text: self.policy_text(raw)?,
            ebgp_requires_policy: raw.ebgp_requires_policy.unwrap_or(true),
        })
    }

    /// The policy sections written back as text, in the file's schema.
    fn policy_text(&mut self, raw: &RawConfig) -> Option<String> {
        match toml::to_string(&RawPolicySections::of(raw)) {
            Ok(t) => Some(t),
            Err(e) => {
                self.report(
                    "route-map",
                    Problem::Toml(format!("the policy cannot be written as text: {e}")),
                );
                None
            }
        }
    }

    fn cluster(&mut self, raw: &RawCluster) -> Option<Cluster> {
        let member_id = match raw.member_id {
            None => Some(1),
            Some(n) if n >= 1 => Some(n as u64),
            Some(n) => {
                self.report("cluster.member-id", Problem::MemberId(n));
                None
            }
        };
        let raft_address = match &raw.raft_address {
            None => None,
            Some(s) => match s.parse() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.report(
                        "cluster.raft-address",
                        Problem::NotSocketAddress(s.to_string()),
                    );
                    return None;
                }
            },
        };
        let files = [
            ("ca", &raw.ca),
            ("certificate", &raw.certificate),
            ("key", &raw.key),
        ];
        let raft = match raft_address {
            None => {
                for (key, value) in files {
                    if value.is_some() {
                        self.report(&format!("cluster.{key}"), Problem::TlsWithoutRaft(key));
                    }
                }
                None
            }
            Some(address) => match (&raw.ca, &raw.certificate, &raw.key) {
                (Some(ca), Some(certificate), Some(key)) => Some(RaftTransport {
                    address,
                    ca: PathBuf::from(ca),
                    certificate: PathBuf::from(certificate),
                    key: PathBuf::from(key),
                }),
                _ => {
                    self.report("cluster.raft-address", Problem::RaftWithoutTls);
                    return None;
                }
            },
        };
        Some(Cluster {
            member_id: member_id?,
            raft,
            bootstrap: raw.bootstrap.unwrap_or(true),
        })
    }

    /// `[api]`; `None` when a value is bad (reported).
    fn api(&mut self, raw: Option<&RawApi>) -> Option<Api> {
        let address = match raw.and_then(|a| a.address.as_deref()) {
            Some("") => None,
            None => defaults::API.parse().ok(),
            Some(s) => match s.parse() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.report("api.address", Problem::NotSocketAddress(s.to_string()));
                    return None;
                }
            },
        };
        let token = raw.and_then(|a| a.token.clone());
        let read_token = raw.and_then(|a| a.read_token.clone());
        let mut short = false;
        for (key, t) in [("api.token", &token), ("api.read-token", &read_token)] {
            if t.as_deref().is_some_and(|t| t.len() < 16) {
                self.report(
                    key,
                    Problem::NotA {
                        value: "(hidden)".into(),
                        expected: "a token of 16 characters or more",
                    },
                );
                short = true;
            }
        }
        if short {
            return None;
        }
        let tls = match raw.map(|a| (&a.certificate, &a.key)) {
            Some((Some(c), Some(k))) => Some((PathBuf::from(c), PathBuf::from(k))),
            Some((Some(_), None)) => {
                self.report("api.certificate", Problem::Missing("api.key"));
                return None;
            }
            Some((None, Some(_))) => {
                self.report("api.key", Problem::Missing("api.certificate"));
                return None;
            }
            _ => None,
        };
        Some(Api {
            address,
            token,
            read_token,
            tls,
        })
    }

    /// `[fib]` of a border; `None` when a value is bad (reported).
    fn fib(&mut self, raw: &RawFib) -> Option<Fib> {
        let mut bad = false;
        let mut range = |s: &mut Self, key: &str, what, v: Option<i64>, min, max, default| {
            let v = v.unwrap_or(default);
            if v < min || v > max {
                s.report(
                    key,
                    Problem::Range {
                        what,
                        value: v,
                        min,
                        max,
                    },
                );
                bad = true;
            }
            v
        };
        let u32_max = i64::from(u32::MAX);
        let table = range(
            self,
            "fib.table",
            "table",
            raw.table,
            1,
            u32_max,
            i64::from(defaults::FIB_TABLE),
        );
        let metric = range(
            self,
            "fib.metric",
            "metric",
            raw.metric,
            0,
            u32_max,
            i64::from(defaults::FIB_METRIC),
        );
        let multipath = range(self, "fib.multipath", "multipath", raw.multipath, 1, 256, 1);
        let sweep = raw
            .sweep_timeout
            .map(|v| self.seconds("fib.sweep-timeout", "sweep timeout", v, 1));
        if bad || sweep.is_some_and(|s| s.is_none()) {
            return None;
        }
        Some(Fib {
            table: u32::try_from(table).ok()?,
            metric: u32::try_from(metric).ok()?,
            multipath: u16::try_from(multipath).ok()?,
            retain_on_shutdown: raw.retain_on_shutdown.unwrap_or(true),
            sweep_timeout: sweep.flatten().unwrap_or(defaults::FIB_SWEEP_TIMEOUT),
            resolve_via_default: raw.resolve_via_default.unwrap_or(false),
        })
    }

    fn listen(&mut self, raw: &RawConfig) -> Listen {
        let mut addresses = Vec::new();
        let mut port = defaults::PORT;
        let Some(listen) = &raw.listen else {
            return Listen {
                addresses: defaults::LISTEN.to_vec(),
                port,
            };
        };
        match &listen.addresses {
            None => addresses = defaults::LISTEN.to_vec(),
            Some(list) => {
                for (i, s) in list.iter().enumerate() {
                    let key = format!("listen.addresses[{i}]");
                    if let Some(a) = self.ip(&key, s) {
                        if addresses.contains(&a) {
                            self.report(&key, Problem::DuplicateListen(a.to_string()));
                        } else {
                            addresses.push(a);
                        }
                    }
                }
            }
        }
        match listen.port {
            None => {}
            Some(0) => self.report("listen.port", Problem::PortZero),
            Some(p) => match u16::try_from(p) {
                Ok(p) => port = p,
                Err(_) => self.report("listen.port", Problem::PortRange(p)),
            },
        }
        Listen { addresses, port }
    }

    /// One `[[neighbor]]`, resolved; `None` if its address or remote AS is
    /// unusable (already reported).
    fn neighbor(
        &mut self,
        prefix: &str,
        peer: &RawPeer,
        groups: &BTreeMap<String, Layer>,
        global: &Layer,
    ) -> Option<Neighbor> {
        let local_as = self.local_as;
        let address = match &peer.address {
            None => {
                self.report(prefix, Problem::Missing("address"));
                None
            }
            Some(s) => {
                let key = join(prefix, "address");
                match self.ip(&key, s) {
                    Some(a) if !usable_neighbor_address(a) => {
                        self.report(&key, Problem::BadNeighborAddress(s.clone()));
                        None
                    }
                    Some(a) => {
                        self.unique_address(a, key);
                        Some(a)
                    }
                    None => None,
                }
            }
        };
        let group = match &peer.group {
            None => None,
            Some(name) => match groups.get(name) {
                Some(layer) => Some((name.clone(), layer)),
                None => {
                    let known: Vec<&str> = groups.keys().map(String::as_str).collect();
                    let known = if known.is_empty() {
                        "none defined".to_string()
                    } else {
                        known.join(", ")
                    };
                    self.report(
                        &join(prefix, "group"),
                        Problem::UnknownGroup(name.clone(), known),
                    );
                    None
                }
            },
        };
        let own = self.layer(prefix, peer, Level::Neighbor);
        let inherited = match &group {
            Some((_, layer)) => (*layer).clone().over(global),
            None => global.clone(),
        };
        let s = own.over(&inherited);
        let whom = match address {
            Some(a) => format!("{prefix} ({a})"),
            None => prefix.to_string(),
        };

        let remote_as = match &s.remote_as {
            Some(r) => Some(r.clone()),
            None => {
                if !s.remote_as_written {
                    self.report(prefix, Problem::Missing("remote-as"));
                }
                None
            }
        };
        self.timer_rules(&s.timers);
        self.max_prefix_rules(&s, Some(&whom));
        let address = address?;
        let cluster_id = s.cluster_id.as_ref().map(|c| c.value).or(self.cluster_id);
        let families = match &s.families {
            Some(f) => f.value.clone(),
            None => match address {
                IpAddr::V4(_) => vec![Family::IPV4_UNICAST],
                IpAddr::V6(_) => vec![Family::IPV6_UNICAST],
            },
        };
        let mut add_path = BTreeMap::new();
        if let Some(entries) = &s.add_path {
            // Entries written in the neighbour must name its families; a
            // group's entries apply to the members that enable the family.
            let own_entries: Vec<_> = entries
                .iter()
                .filter(|e| e.level == Level::Neighbor)
                .cloned()
                .collect();
            self.add_path_rule(&own_entries, &families, &whom);
            for e in entries {
                if families.contains(&e.value.0) {
                    add_path.insert(e.value.0, e.value.1);
                }
            }
        }
        if let Some(local) = &s.local_address
            && local.value.is_ipv4() != address.is_ipv4()
        {
            let problem = Problem::LocalAddressFamily {
                local: local.value.to_string(),
                address: address.to_string(),
            };
            self.report(&local.path, problem);
        }
        let service_address = self.service_rules(prefix, address, &s);
        let passive = value(&s.passive, false);
        if let (false, Some(p)) = (self.listening, &s.passive)
            && p.value
        {
            let whom = whom.clone();
            self.report(&p.path, Problem::PassiveWithoutListener { whom });
        }
        let route_reflector_client = value(&s.route_reflector_client, false);
        if let Some(rr) = s.route_reflector_client.as_ref().filter(|rr| rr.value) {
            if self.role == Role::Border {
                self.report(&rr.path, Problem::ReflectorOnly("route-reflector-client"));
            }
            if let (Some(remote), Some(local_as)) = (&remote_as, local_as)
                && remote.value != local_as
            {
                let site = if remote.level > rr.level {
                    &remote.path
                } else {
                    &rr.path
                };
                let problem = Problem::ClientNotInternal {
                    whom: whom.clone(),
                    remote_as: remote.value,
                    local_as,
                };
                self.report(site, problem);
            }
        }
        let internal = match (&remote_as, local_as) {
            (Some(r), Some(l)) => r.value == l,
            _ => true,
        };
        let graceful_restart = value(&s.graceful_restart, defaults::GRACEFUL_RESTART);
        let long_lived_stale_time = value(&s.long_lived_stale_time, 0);
        if let Some(l) = s.long_lived_stale_time.as_ref().filter(|l| l.value > 0)
            && !graceful_restart
        {
            self.report(&l.path, Problem::LongLivedWithoutGracefulRestart);
        }
        let t = &s.timers;
        let hold_time = value(&t.hold_time, defaults::HOLD_TIME);
        let timers = Timers {
            hold_time,
            open_hold_time: value(&t.open_hold_time, defaults::OPEN_HOLD_TIME),
            keepalive: value(&t.keepalive, hold_time / 3),
            connect_retry: value(&t.connect_retry, defaults::CONNECT_RETRY),
            delay_open: value(&t.delay_open, defaults::DELAY_OPEN),
            idle_hold: value(&t.idle_hold, defaults::IDLE_HOLD),
            idle_hold_max: value(&t.idle_hold_max, defaults::IDLE_HOLD_MAX),
            mrai: value(
                &t.mrai,
                if internal {
                    defaults::MRAI_IBGP
                } else {
                    defaults::MRAI_EBGP
                },
            ),
            write_timeout: value(&t.write_timeout, defaults::WRITE_TIMEOUT),
        };
        Some(Neighbor {
            address,
            remote_as: remote_as?.value,
            description: s.description.map(|d| d.value),
            group: group.map(|(name, _)| name),
            route_reflector_client,
            passive,
            families,
            add_path,
            local_address: service_address
                .as_ref()
                .map(|a| a.address)
                .or(s.local_address.map(|a| a.value)),
            service_address,
            cluster_id: cluster_id?,
            timers,
            graceful_restart: GracefulRestart {
                enabled: graceful_restart,
                restart_time: value(&s.restart_time, defaults::RESTART_TIME),
                long_lived_stale_time,
            },
            members: s.members.map(|m| m.value),
            import: s.import.map(|a| a.value),
            export: s.export.map(|a| a.value),
            soft_reconfiguration: value(&s.soft_reconfiguration, false),
            max_prefix: s.max_prefix.as_ref().map(|m| MaxPrefix {
                limit: m.value,
                action: value(&s.max_prefix_action, defaults::MAX_PREFIX_ACTION),
                restart: value(&s.max_prefix_restart, defaults::MAX_PREFIX_RESTART),
                warning: value(&s.max_prefix_warning, defaults::MAX_PREFIX_WARNING),
            }),
            output_buffer: value(&s.output_buffer, defaults::OUTPUT_BUFFER),
        })
    }

    /// Max-prefix settings that cannot act, on settings merged with what
    /// they inherit. `neighbor`: who, for a neighbour; `None` for a group
    /// (a group may hold the action and times for members that set their
    /// own limit).
    fn max_prefix_rules(&mut self, s: &Layer, neighbor: Option<&str>) {
        if let (Some(whom), None) = (neighbor, &s.max_prefix) {
            let written = [
                (
                    "max-prefix-action",
                    s.max_prefix_action.as_ref().map(|a| (a.level, &a.path)),
                ),
                (
                    "max-prefix-restart",
                    s.max_prefix_restart.as_ref().map(|a| (a.level, &a.path)),
                ),
                (
                    "max-prefix-warning",
                    s.max_prefix_warning.as_ref().map(|a| (a.level, &a.path)),
                ),
            ];
            for (key, at) in written {
                // Only where the neighbour writes it: its group's may serve
                // the members that do set a limit.
                if let Some((Level::Neighbor, path)) = at {
                    self.report(path, Problem::MaxPrefixUnset(key, whom.to_string()));
                }
            }
        }
        // A restart time written where the action in effect is `warn`
        // (one inherited under an overriding `warn` is fine).
        if let (Some(a), Some(r)) = (&s.max_prefix_action, &s.max_prefix_restart)
            && a.value == MaxPrefixAction::Warn
            && r.level >= a.level
        {
            let others = if a.path == r.path {
                String::new()
            } else {
                format!(" (action at `{}`)", a.path)
            };
            self.report(&r.path, Problem::MaxPrefixRestartWithWarn(others));
        }
    }

    /// `ADDRESS/LENGTH` of a service address (a host address: a length
    /// up to the family's).
    fn service_address(&mut self, key: &str, s: &str) -> Option<(IpAddr, u8)> {
        let parsed = s.split_once('/').and_then(|(a, l)| {
            let a: IpAddr = a.parse().ok()?;
            let l: u8 = l.parse().ok()?;
            let most = if a.is_ipv4() { 32 } else { 128 };
            (l <= most && usable_neighbor_address(a)).then_some((a, l))
        });
        if parsed.is_none() {
            self.report(key, Problem::ServiceAddressSyntax(s.to_string()));
        }
        parsed
    }

    /// A neighbour's service address as resolved `s`: with its interface,
    /// of the neighbour's family, the local address if one is set too, and
    /// no other neighbour's.
    fn service_rules(
        &mut self,
        prefix: &str,
        address: IpAddr,
        s: &Layer,
    ) -> Option<ServiceAddress> {
        let Some(a) = &s.service_address else {
            if let Some(i) = &s.service_interface
                && i.level == Level::Neighbor
                && !s.service_address_written
            {
                self.report(&i.path, Problem::ServiceInterfaceWithoutAddress);
            }
            return None;
        };
        let (service, prefix_len) = a.value;
        let Some(interface) = &s.service_interface else {
            self.report(&a.path, Problem::ServiceAddressWithoutInterface);
            return None;
        };
        if service.is_ipv4() != address.is_ipv4() {
            let problem = Problem::ServiceAddressFamily {
                local: service.to_string(),
                address: address.to_string(),
            };
            self.report(&a.path, problem);
            return None;
        }
        if let Some(local) = s.local_address.as_ref().filter(|l| l.value != service) {
            let problem = Problem::ServiceAddressLocal {
                local: local.value.to_string(),
                service: service.to_string(),
            };
            self.report(&local.path, problem);
        }
        // The neighbour connects to the service address too: a listener
        // must take it (a wildcard, or the address itself, which binds
        // once this member holds it).
        let wildcard = if service.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        };
        if self.listening
            && !self
                .listen_addresses
                .iter()
                .any(|l| *l == service || *l == wildcard)
        {
            let problem = Problem::ServiceAddressNotListened {
                address: service.to_string(),
                wildcard: wildcard.to_string(),
            };
            self.report(&a.path, problem);
        }
        match self.service_addresses.get(&service) {
            Some(first) => {
                let problem = Problem::ServiceAddressShared {
                    address: service.to_string(),
                    first_key: first.clone(),
                };
                self.report(&a.path, problem);
                None
            }
            None => {
                self.service_addresses.insert(service, prefix.to_string());
                Some(ServiceAddress {
                    address: service,
                    prefix_len,
                    interface: interface.value.clone(),
                })
            }
        }
    }

    /// Neighbour addresses are unique; the first one seen is the reference.
    fn unique_address(&mut self, address: IpAddr, key: String) {
        match self.addresses.get(&address) {
            Some(first) => {
                let problem = Problem::DuplicateNeighbor {
                    address: address.to_string(),
                    first_line: self.loc.line_of(first),
                    first_key: first.clone(),
                };
                self.report(&key, problem);
            }
            None => {
                self.addresses.insert(address, key);
            }
        }
    }

    /// The settings of a group or neighbour, each value checked.
    fn layer(&mut self, prefix: &str, peer: &RawPeer, level: Level) -> Layer {
        for (key, set, what) in [
            ("password", peer.password.is_some(), "TCP-MD5 (RFC 2385)"),
            ("tcp-ao", peer.tcp_ao.is_some(), "TCP-AO (RFC 5925)"),
            (
                "ttl-security",
                peer.ttl_security.is_some(),
                "GTSM (RFC 5082)",
            ),
        ] {
            if set {
                self.report(&join(prefix, key), Problem::SessionProtection(what));
            }
        }
        let at = |key: &str| (join(prefix, key), level);
        let mut layer = Layer {
            description: peer
                .description
                .clone()
                .map(|d| At::new(d, at("description"))),
            route_reflector_client: peer
                .route_reflector_client
                .map(|b| At::new(b, at("route-reflector-client"))),
            passive: peer.passive.map(|b| At::new(b, at("passive"))),
            graceful_restart: peer
                .graceful_restart
                .map(|b| At::new(b, at("graceful-restart"))),
            timers: self.timers(prefix, peer.timers(), level),
            ..Layer::default()
        };
        layer.remote_as_written = peer.remote_as.is_some();
        if let Some(n) = peer.remote_as {
            let key = join(prefix, "remote-as");
            layer.remote_as = self.asn(&key, n).map(|v| At::new(v, at("remote-as")));
        }
        if let Some(list) = &peer.families {
            let key = join(prefix, "families");
            layer.families = self
                .families(&key, list)
                .map(|v| At::new(v, at("families")));
        }
        if let Some(map) = &peer.add_path {
            let key = join(prefix, "add-path");
            layer.add_path = Some(self.add_path(&key, map, level));
        }
        if let Some(s) = &peer.local_address {
            let key = join(prefix, "local-address");
            layer.local_address = self.ip(&key, s).map(|v| At::new(v, at("local-address")));
        }
        layer.service_address_written = peer.service_address.is_some();
        if let Some(s) = &peer.service_address {
            let key = join(prefix, "service-address");
            layer.service_address = self
                .service_address(&key, s)
                .map(|v| At::new(v, at("service-address")));
        }
        layer.service_interface = peer
            .service_interface
            .clone()
            .map(|i| At::new(i, at("service-interface")));
        if let Some(s) = &peer.cluster_id {
            let key = join(prefix, "cluster-id");
            if self.role == Role::Border {
                self.report(&key, Problem::ReflectorOnly("cluster-id"));
            }
            layer.cluster_id = self.ipv4(&key, s).map(|v| At::new(v, at("cluster-id")));
        }
        layer.soft_reconfiguration = peer
            .soft_reconfiguration
            .map(|b| At::new(b, at("soft-reconfiguration")));
        for (key, name, slot) in [
            ("import", &peer.import, &mut layer.import),
            ("export", &peer.export, &mut layer.export),
        ] {
            let Some(name) = name else { continue };
            if key == "export" && self.neighbor_matching.contains(name) {
                self.report(
                    &join(prefix, key),
                    Problem::Policy(format!(
                        "route-map `{name}` matches `neighbor`, which an export route-map cannot (the peers of an update group share its exports); use it for import, or one route-map per neighbour without that clause"
                    )),
                );
            } else if key == "export" && self.weight_setting.contains(name) {
                self.report(
                    &join(prefix, key),
                    Problem::Policy(format!(
                        "route-map `{name}` sets `weight`, a preference of this speaker's own decision process, which means nothing on export; use it for import"
                    )),
                );
            } else if self.route_maps.contains(name) {
                *slot = Some(At::new(name.clone(), at(key)));
            } else {
                let known: Vec<&str> = self.route_maps.iter().map(String::as_str).collect();
                let known = if known.is_empty() {
                    "none defined".to_string()
                } else {
                    known.join(", ")
                };
                self.report(
                    &join(prefix, key),
                    Problem::UnknownRouteMap(name.clone(), known),
                );
            }
        }
        self.max_prefix_layer(prefix, peer, level, &mut layer);
        if let Some(n) = peer.restart_time {
            let key = join(prefix, "restart-time");
            match u16::try_from(n) {
                Ok(t) if t <= 4095 => layer.restart_time = Some(At::new(t, at("restart-time"))),
                _ => self.report(&key, Problem::RestartTime(n)),
            }
        }
        if let Some(n) = peer.long_lived_stale_time {
            let key = join(prefix, "long-lived-stale-time");
            match u32::try_from(n) {
                Ok(t) if t <= speaker::fsm::MAX_LONG_LIVED_STALE_TIME => {
                    layer.long_lived_stale_time = Some(At::new(t, at("long-lived-stale-time")));
                }
                _ => self.report(&key, Problem::LongLivedStaleTime(n)),
            }
        }
        if let Some(list) = &peer.members {
            let key = join(prefix, "members");
            let mut ids = std::collections::BTreeSet::new();
            for n in list {
                match u64::try_from(*n) {
                    Ok(id) if id >= 1 => {
                        ids.insert(id);
                    }
                    _ => self.report(&key, Problem::MemberId(*n)),
                }
            }
            if list.is_empty() {
                self.report(&key, Problem::NoMembers);
            } else {
                layer.members = Some(At::new(ids, at("members")));
            }
        }
        layer
    }

    /// `max-prefix` and its companions, each checked on its own.
    fn max_prefix_layer(&mut self, prefix: &str, peer: &RawPeer, level: Level, layer: &mut Layer) {
        let at = |key: &str| (join(prefix, key), level);
        if let Some(n) = peer.output_buffer {
            match u64::try_from(n) {
                Ok(v) if v >= defaults::OUTPUT_BUFFER_MIN => {
                    layer.output_buffer = Some(At::new(v, at("output-buffer")))
                }
                _ => self.report(&join(prefix, "output-buffer"), Problem::OutputBuffer(n)),
            }
        }
        if let Some(n) = peer.max_prefix {
            match u32::try_from(n) {
                Ok(v) if v >= 1 => layer.max_prefix = Some(At::new(v, at("max-prefix"))),
                _ => self.report(&join(prefix, "max-prefix"), Problem::MaxPrefix(n)),
            }
        }
        if let Some(a) = &peer.max_prefix_action {
            let action = match a.as_str() {
                "warn" => Some(MaxPrefixAction::Warn),
                "restart" => Some(MaxPrefixAction::Restart),
                _ => None,
            };
            match action {
                Some(v) => layer.max_prefix_action = Some(At::new(v, at("max-prefix-action"))),
                None => self.report(
                    &join(prefix, "max-prefix-action"),
                    Problem::UnknownMaxPrefixAction(a.clone()),
                ),
            }
        }
        if let Some(n) = peer.max_prefix_restart {
            let (path, _) = at("max-prefix-restart");
            if let Some(v) = self.seconds(&path, "max-prefix-restart", n, 0) {
                layer.max_prefix_restart = Some(At::new(v, at("max-prefix-restart")));
            }
        }
        if let Some(n) = peer.max_prefix_warning {
            match u8::try_from(n) {
                Ok(v) if (1..=100).contains(&v) => {
                    layer.max_prefix_warning = Some(At::new(v, at("max-prefix-warning")))
                }
                _ => self.report(
                    &join(prefix, "max-prefix-warning"),
                    Problem::MaxPrefixWarning(n),
                ),
            }
        }
    }

    fn timers(&mut self, prefix: &str, raw: RawTimers, level: Level) -> TimerLayer {
        let mut t = TimerLayer::default();
        let secs = |c: &mut Self, key: &str, v: Option<i64>, what, min| {
            let v = v?;
            let path = join(prefix, key);
            let value = c.seconds(&path, what, v, min)?;
            Some(At { value, path, level })
        };
        if let Some(v) = raw.hold_time {
            let path = join(prefix, "hold-time");
            if v == 1 || v == 2 {
                self.report(&path, Problem::HoldTime(v));
            } else if let Some(value) = self.seconds(&path, "hold time", v, 0) {
                t.hold_time = Some(At { value, path, level });
            }
        }
        t.open_hold_time = secs(
            self,
            "open-hold-time",
            raw.open_hold_time,
            "open hold time",
            1,
        );
        t.keepalive = secs(self, "keepalive", raw.keepalive, "keepalive", 0);
        t.connect_retry = secs(self, "connect-retry", raw.connect_retry, "connect-retry", 1);
        t.delay_open = secs(self, "delay-open", raw.delay_open, "delay-open", 0);
        t.idle_hold = secs(self, "idle-hold", raw.idle_hold, "idle-hold", 0);
        t.idle_hold_max = secs(self, "idle-hold-max", raw.idle_hold_max, "idle-hold-max", 0);
        t.mrai = secs(self, "mrai", raw.mrai, "mrai", 0);
        t.write_timeout = secs(self, "write-timeout", raw.write_timeout, "write timeout", 1);
        t
    }

    /// Rules between timers, on settings already merged with what they
    /// inherit; reported at the more specific key of the pair.
    fn timer_rules(&mut self, t: &TimerLayer) {
        if let Some(k) = &t.keepalive {
            let hold = value(&t.hold_time, defaults::HOLD_TIME);
            let (site, others) = site_of_pair(k, "keepalive", t.hold_time.as_ref(), "hold time");
            let problem = if hold == 0 && k.value != 0 {
                Some(Problem::KeepaliveWithoutHold {
                    keepalive: k.value,
                    others,
                })
            } else if hold != 0 && k.value == 0 {
                Some(Problem::KeepaliveZero { hold, others })
            } else if hold != 0 && k.value >= hold {
                Some(Problem::KeepaliveNotLess {
                    keepalive: k.value,
                    hold,
                    others,
                })
            } else {
                None
            };
            if let Some(p) = problem {
                self.report(&site, p);
            }
        }
        if t.idle_hold.is_some() || t.idle_hold_max.is_some() {
            let initial = value(&t.idle_hold, defaults::IDLE_HOLD);
            let max = value(&t.idle_hold_max, defaults::IDLE_HOLD_MAX);
            if initial > max {
                let (site, others) = match (&t.idle_hold, &t.idle_hold_max) {
                    (Some(i), m) => site_of_pair(i, "idle-hold", m.as_ref(), "idle-hold-max"),
                    (None, Some(m)) => site_of_pair(m, "idle-hold-max", None, "idle-hold"),
                    (None, None) => return,
                };
                self.report(
                    &site,
                    Problem::IdleHoldAboveMax {
                        initial,
                        max,
                        others,
                    },
                );
            }
        }
    }

    /// ADD-PATH entries must name families that are enabled.
    fn add_path_rule(
        &mut self,
        entries: &[At<(Family, AddPathMode)>],
        enabled: &[Family],
        whom: &str,
    ) {
        for e in entries {
            if !enabled.contains(&e.value.0) {
                let names: Vec<String> = enabled.iter().map(|&f| family_name(f)).collect();
                self.report(
                    &e.path,
                    Problem::AddPathFamilyNotEnabled {
                        family: family_name(e.value.0),
                        whom: whom.to_string(),
                        enabled: names.join(", "),
                    },
                );
            }
        }
    }

    fn asn(&mut self, key: &str, n: i64) -> Option<u32> {
        let problem = match n {
            0 => Problem::AsZero(n),
            23456 => Problem::AsTrans,
            1..=4_294_967_294 => return u32::try_from(n).ok(),
            _ => Problem::AsRange(n),
        };
        self.report(key, problem);
        None
    }

    fn seconds(&mut self, key: &str, what: &'static str, v: i64, min: i64) -> Option<u16> {
        match u16::try_from(v) {
            Ok(s) if v >= min => Some(s),
            _ => {
                let problem = Problem::Seconds {
                    what,
                    value: v,
                    min,
                    max: i64::from(u16::MAX),
                };
                self.report(key, problem);
                None
            }
        }
    }

    fn ipv4(&mut self, key: &str, s: &str) -> Option<Ipv4Addr> {
        match s.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.report(key, Problem::NotIpv4(s.to_string()));
                None
            }
        }
    }

    fn ip(&mut self, key: &str, s: &str) -> Option<IpAddr> {
        match s.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.report(key, Problem::NotIp(s.to_string()));
                None
            }
        }
    }

    /// A family list: known names, no repeats, not empty; sorted. With
    /// bad names, the good ones (to check ADD-PATH against them).
    fn families(&mut self, key: &str, list: &[String]) -> Option<Vec<Family>> {
        if list.is_empty() {
            self.report(key, Problem::NoFamily);
            return None;
        }
        let mut out = Vec::new();
        for (i, name) in list.iter().enumerate() {
            let item = format!("{key}[{i}]");
            match self.family(&item, name) {
                Some(f) if out.contains(&f) => {
                    self.report(&item, Problem::DuplicateFamily(name.clone()));
                }
                Some(f) => out.push(f),
                None => {}
            }
        }
        out.sort();
        (!out.is_empty()).then_some(out)
    }

    fn family(&mut self, key: &str, name: &str) -> Option<Family> {
        let family = family_from_name(name);
        if family.is_none() {
            let known: Vec<&str> = super::model::FAMILY_NAMES.iter().map(|(n, _)| *n).collect();
            self.report(
                key,
                Problem::UnknownFamily(name.to_string(), known.join(", ")),
            );
        }
        family
    }

    fn add_path(
        &mut self,
        key: &str,
        map: &BTreeMap<String, String>,
        level: Level,
    ) -> Vec<At<(Family, AddPathMode)>> {
        let mut out = Vec::new();
        for (name, mode) in map {
            let path = join(key, name);
            let family = self.family(&path, name);
            let mode = match add_path_mode_from_name(mode) {
                Some(m) => Some(m),
                None => {
                    self.report(&path, Problem::UnknownAddPathMode(mode.clone()));
                    None
                }
            };
            if let (Some(family), Some(mode)) = (family, mode) {
                out.push(At {
                    value: (family, mode),
                    path,
                    level,
                });
            }
        }
        out
    }
}

/// Where to report a rule between `this` and `other`: the more specific of
/// the two keys (`this` on a tie or when `other` is a default), with a note
/// naming the other one.
fn site_of_pair(
    this: &At<u16>,
    this_name: &str,
    other: Option<&At<u16>>,
    other_name: &str,
) -> (String, String) {
    match other {
        Some(o) if o.level > this.level => {
            (o.path.clone(), format!(" ({this_name} at `{}`)", this.path))
        }
        Some(o) => (
            this.path.clone(),
            format!(" ({other_name} at `{}`)", o.path),
        ),
        None => (this.path.clone(), format!(" ({other_name} is the default)")),
    }
}

fn usable_neighbor_address(a: IpAddr) -> bool {
    !(a.is_unspecified() || a.is_multicast() || a == IpAddr::V4(Ipv4Addr::BROADCAST))
}

/// The route-maps with an entry that `has`.
fn maps_where(
    p: &speaker::policy::Policy,
    has: impl Fn(&speaker::policy::route_map::Entry) -> bool,
) -> BTreeSet<String> {
    p.route_map_names()
        .filter(|n| p.route_map(n).is_some_and(|m| m.entries.iter().any(&has)))
        .map(String::from)
        .collect()
}
