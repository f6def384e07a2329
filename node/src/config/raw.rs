//! The file as written: what serde reads, before any value is checked.
//!
//! Every key is optional here and most values are the TOML type (strings,
//! `i64`), so that `validate` can check them all and report every problem,
//! not just the first one serde meets. `deny_unknown_fields` makes a
//! misspelt key an error. `ops/config/reference.toml` documents each key.

use serde::Deserialize;
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
    #[serde(default)]
    pub group: BTreeMap<String, RawPeer>,
    #[serde(default)]
    pub neighbor: Vec<RawPeer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCluster {
    pub member_id: Option<i64>,
    pub raft_address: Option<String>,
    pub bootstrap: Option<bool>,
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
    pub keepalive: Option<i64>,
    pub connect_retry: Option<i64>,
    pub delay_open: Option<i64>,
    pub idle_hold: Option<i64>,
    pub idle_hold_max: Option<i64>,
    pub mrai: Option<i64>,
}

/// A `[[neighbor]]` or a `[group.NAME]`: one struct for both, because a
/// group is a template of neighbour settings. `address` and `group` are
/// rejected in a group by validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPeer {
    pub address: Option<String>,
    pub group: Option<String>,
    pub remote_as: Option<i64>,
    pub description: Option<String>,
    pub route_reflector_client: Option<bool>,
    pub passive: Option<bool>,
    pub families: Option<Vec<String>>,
    pub add_path: Option<BTreeMap<String, String>>,
    pub local_address: Option<String>,
    pub cluster_id: Option<String>,
    pub graceful_restart: Option<bool>,
    pub restart_time: Option<i64>,
    pub hold_time: Option<i64>,
    pub keepalive: Option<i64>,
    pub connect_retry: Option<i64>,
    pub delay_open: Option<i64>,
    pub idle_hold: Option<i64>,
    pub idle_hold_max: Option<i64>,
    pub mrai: Option<i64>,
}

impl RawPeer {
    pub fn timers(&self) -> RawTimers {
        RawTimers {
            hold_time: self.hold_time,
            keepalive: self.keepalive,
            connect_retry: self.connect_retry,
            delay_open: self.delay_open,
            idle_hold: self.idle_hold,
            idle_hold_max: self.idle_hold_max,
            mrai: self.mrai,
        }
    }
}
