//! The file as written: what serde reads, before any value is checked.
//!
//! Every key is optional here and most values are the TOML type (strings,
//! `i64`), so that `validate` can check them all and report every problem,
//! not just the first one serde meets. `deny_unknown_fields` makes a
//! misspelt key an error. `ops/config/reference.toml` documents each key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConfig {
    pub router_id: Option<String>,
    pub local_as: Option<i64>,
    pub cluster_id: Option<String>,
    pub role: Option<String>,
    pub hostname: Option<String>,
    pub data_dir: Option<String>,
    pub listen: Option<RawListen>,
    pub timers: Option<RawTimers>,
    pub cluster: Option<RawCluster>,
    /// The kernel forwarding table (role `border` only).
    pub fib: Option<RawFib>,
    /// The HTTP API and metrics.
    pub api: Option<RawApi>,
    /// RFC 8212 (default true).
    pub ebgp_requires_policy: Option<bool>,
    #[serde(default)]
    pub group: BTreeMap<String, RawPeer>,
    #[serde(default)]
    pub neighbor: Vec<RawPeer>,
    #[serde(default)]
    pub prefix_list: BTreeMap<String, RawList<RawPrefixEntry>>,
    #[serde(default)]
    pub as_path_list: BTreeMap<String, RawList<RawRegexEntry>>,
    #[serde(default)]
    pub community_list: BTreeMap<String, RawCommunityList>,
    #[serde(default)]
    pub route_map: BTreeMap<String, Vec<RawRouteMapEntry>>,
}

/// A list: its entries in order.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawList<E> {
    #[serde(default = "Vec::new")]
    pub entries: Vec<E>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPrefixEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ge: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub le: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRegexEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCommunityList {
    /// `standard` (the default), `extended` or `large`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub entries: Vec<RawCommunityEntry>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCommunityEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRouteMapEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `exit` (the default), `next`, or `goto N`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_match: Option<String>,
    #[serde(rename = "match")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<RawMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<RawSet>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawMatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_list: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop_list: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_exact: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbor: Option<Vec<String>>,
    /// ASNs or ranges `LOW-HIGH`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_as: Option<Vec<String>>,
    /// `N` or `LOW-HIGH`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub med: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// An integer, or a string (`med = "+10"`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    Str(String),
}

/// An integer (times), or a list of ASNs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum IntOrInts {
    Int(i64),
    Ints(Vec<i64>),
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSet {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub med: Option<IntOrString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// An address, `self`, `unchanged` or `peer-address`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<String>,
    /// Our AS this many times, or these ASNs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepend: Option<IntOrInts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_add: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_replace: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_remove: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_community_add: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_community_replace: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_community_remove: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_community_add: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_community_replace: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_community_remove: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCluster {
    pub member_id: Option<i64>,
    pub raft_address: Option<String>,
    pub bootstrap: Option<bool>,
    pub ca: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawApi {
    pub address: Option<String>,
    pub token: Option<String>,
    pub read_token: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawFib {
    pub table: Option<i64>,
    pub metric: Option<i64>,
    pub multipath: Option<i64>,
    pub retain_on_shutdown: Option<bool>,
    pub sweep_timeout: Option<i64>,
    pub resolve_via_default: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawListen {
    pub addresses: Option<Vec<String>>,
    pub port: Option<i64>,
}

/// Timer keys, in seconds. The same keys may appear in `[timers]` (defaults
/// for every neighbour), in a group and in a neighbour.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTimers {
    pub hold_time: Option<i64>,
    pub open_hold_time: Option<i64>,
    pub keepalive: Option<i64>,
    pub connect_retry: Option<i64>,
    pub delay_open: Option<i64>,
    pub idle_hold: Option<i64>,
    pub idle_hold_max: Option<i64>,
    pub mrai: Option<i64>,
    pub write_timeout: Option<i64>,
}

/// A `[[neighbor]]` or a `[group.NAME]`: one struct for both, because a
/// group is a template of neighbour settings. `address` and `group` are
/// rejected in a group by validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPeer {
    pub open_hold_time: Option<i64>,
    pub write_timeout: Option<i64>,
    /// Octets queued for the neighbour at most.
    pub output_buffer: Option<i64>,
    /// Session protections not built (TCP-MD5, TCP-AO, GTSM): read only
    /// to be refused with a reason, not as an unknown key.
    pub password: Option<toml::Value>,
    pub tcp_ao: Option<toml::Value>,
    pub ttl_security: Option<toml::Value>,
    pub address: Option<String>,
    pub group: Option<String>,
    pub remote_as: Option<i64>,
    pub description: Option<String>,
    pub route_reflector_client: Option<bool>,
    pub passive: Option<bool>,
    pub families: Option<Vec<String>>,
    pub add_path: Option<BTreeMap<String, String>>,
    pub local_address: Option<String>,
    /// `ADDRESS/LENGTH`: an address moved to the member running the
    /// session, which uses it as its local address.
    pub service_address: Option<String>,
    /// The interface the service address is added to.
    pub service_interface: Option<String>,
    pub cluster_id: Option<String>,
    pub graceful_restart: Option<bool>,
    pub restart_time: Option<i64>,
    pub long_lived_stale_time: Option<i64>,
    /// Cluster members that may run the session (member ids).
    pub members: Option<Vec<i64>>,
    pub hold_time: Option<i64>,
    pub keepalive: Option<i64>,
    pub connect_retry: Option<i64>,
    pub delay_open: Option<i64>,
    pub idle_hold: Option<i64>,
    pub idle_hold_max: Option<i64>,
    pub mrai: Option<i64>,
    /// Route-map names.
    pub import: Option<String>,
    pub export: Option<String>,
    pub soft_reconfiguration: Option<bool>,
    pub max_prefix: Option<i64>,
    /// `warn` or `restart`.
    pub max_prefix_action: Option<String>,
    pub max_prefix_restart: Option<i64>,
    /// Percent of `max-prefix`.
    pub max_prefix_warning: Option<i64>,
}

impl RawPeer {
    pub fn timers(&self) -> RawTimers {
        RawTimers {
            hold_time: self.hold_time,
            open_hold_time: self.open_hold_time,
            keepalive: self.keepalive,
            connect_retry: self.connect_retry,
            delay_open: self.delay_open,
            idle_hold: self.idle_hold,
            idle_hold_max: self.idle_hold_max,
            mrai: self.mrai,
            write_timeout: self.write_timeout,
        }
    }
}

/// The policy sections alone, as the replicated policy's text carries
/// them (written back in this schema, read again as a [`RawConfig`]).
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawPolicySections<'a> {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub prefix_list: &'a BTreeMap<String, RawList<RawPrefixEntry>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub as_path_list: &'a BTreeMap<String, RawList<RawRegexEntry>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub community_list: &'a BTreeMap<String, RawCommunityList>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub route_map: &'a BTreeMap<String, Vec<RawRouteMapEntry>>,
}

impl<'a> RawPolicySections<'a> {
    pub fn of(raw: &'a RawConfig) -> RawPolicySections<'a> {
        RawPolicySections {
            prefix_list: &raw.prefix_list,
            as_path_list: &raw.as_path_list,
            community_list: &raw.community_list,
            route_map: &raw.route_map,
        }
    }
}
