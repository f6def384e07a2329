//! From a validated configuration to what the daemon runs.

use super::{DaemonSpec, MemberSpec, NeighborSpec};
use crate::config::Config;
use crate::config::{MaxPrefix, MaxPrefixAction, Neighbor};
use crate::fib::FibSpec;
use crate::fib::encode::Target;
use crate::session::RibRole;
use speaker::fsm::SessionConfig;
use speaker::policy::{LimitAction, PrefixLimit};
use speaker::rib::{DecisionConfig, RibConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The BGP port (RFC 4271 §8.2.1): outgoing connections go there.
const BGP_PORT: u16 = 179;

pub fn spec_from_config(c: &Config) -> DaemonSpec {
    DaemonSpec {
        rib: RibConfig {
            local_as: c.local_as,
            router_id: c.router_id,
            cluster_id: c.cluster_id,
            decision: DecisionConfig {
                multipath: c.fib.map_or(1, |f| f.multipath),
                ..DecisionConfig::default()
            },
            policy: Arc::new(c.policy.clone()),
            ebgp_requires_policy: c.ebgp_requires_policy,
        },
        data_dir: c.data_dir.clone(),
        api: c.api.address,
        api_token: c.api.token.clone(),
        api_read_token: c.api.read_token.clone(),
        api_tls: c.api.tls.clone(),
        fib: c.fib.map(|f| FibSpec {
            target: Target {
                table: f.table,
                metric: f.metric,
            },
            multipath: f.multipath,
            retain_on_shutdown: f.retain_on_shutdown,
            sweep_timeout: Duration::from_secs(u64::from(f.sweep_timeout)),
            resolve_via_default: f.resolve_via_default,
        }),
        member: MemberSpec {
            id: c.cluster.member_id,
            raft: c.cluster.raft.as_ref().map(|r| {
                (
                    r.address,
                    consensus::tls::TlsFiles {
                        ca: r.ca.clone(),
                        certificate: r.certificate.clone(),
                        key: r.key.clone(),
                    },
                )
            }),
            bootstrap: c.cluster.bootstrap,
        },
        listen: c
            .listen
            .addresses
            .iter()
            .map(|a| SocketAddr::new(*a, c.listen.port))
            .collect(),
        neighbors: c
            .neighbors
            .iter()
            .map(|n| NeighborSpec {
                addr: SocketAddr::new(n.address, BGP_PORT),
                session: session_config(c, n),
                role: RibRole {
                    id: super::sessions::UNREGISTERED,
                    rr_client: n.route_reflector_client,
                    cluster_id: (n.cluster_id != c.cluster_id).then_some(n.cluster_id),
                    mrai: Duration::from_secs(u64::from(n.timers.mrai)),
                    // Validation made sure the name is defined.
                    import: n
                        .import
                        .as_deref()
                        .and_then(|m| c.policy.route_map(m))
                        .cloned(),
                    export: n.export.clone(),
                    ebgp: n.remote_as != c.local_as,
                    ebgp_requires_policy: c.ebgp_requires_policy,
                    local_as: c.local_as,
                    soft_reconfiguration: n.soft_reconfiguration,
                    max_prefix: n.max_prefix.map(prefix_limit),
                    joining: false,
                    output_buffer: n.output_buffer,
                    write_timeout: secs(n.timers.write_timeout),
                },
                members: n.members.clone(),
                local: n.local_address,
                service: n.service_address.clone(),
            })
            .collect(),
        policy: super::reload::PolicySpec::of(c),
        config_file: None,
    }
}

/// The host name for the hostname capability (draft-walton-bgp-hostname-
/// capability, as FRR and GoBGP send it): the configured one, else the
/// system's; none when it is empty.
fn hostname(c: &Config) -> Option<String> {
    let h = match &c.hostname {
        Some(h) => h.clone(),
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default(),
    };
    // The capability carries it behind a one-octet length.
    (!h.is_empty() && h.len() <= 255).then_some(h)
}

fn secs(s: u16) -> Duration {
    Duration::from_secs(u64::from(s))
}

fn prefix_limit(m: MaxPrefix) -> PrefixLimit {
    PrefixLimit {
        max: m.limit,
        warning_percent: m.warning,
        action: match m.action {
            MaxPrefixAction::Warn => LimitAction::Warn,
            // 0: no automatic restart (the daemon's restart brings it back).
            MaxPrefixAction::Restart => {
                LimitAction::Restart((m.restart > 0).then(|| secs(m.restart)))
            }
        },
    }
}

fn session_config(c: &Config, n: &Neighbor) -> SessionConfig {
    let t = n.timers;
    // A seed that differs per neighbour and is the same on every run.
    let seed = n
        .address
        .to_string()
        .bytes()
        .fold(u64::from(u32::from(c.router_id)), |h, b| {
            h.wrapping_mul(0x100_0000_01b3).wrapping_add(u64::from(b))
        });
    SessionConfig {
        local_as: c.local_as,
        router_id: c.router_id,
        remote_as: n.remote_as,
        passive: n.passive,
        families: n.families.clone(),
        add_path: n.add_path.iter().map(|(f, m)| (*f, *m)).collect(),
        hold_time: secs(t.hold_time),
        open_hold_time: secs(t.open_hold_time),
        keepalive: Some(secs(t.keepalive)),
        connect_retry: secs(t.connect_retry),
        delay_open: (t.delay_open > 0).then(|| secs(t.delay_open)),
        idle_hold: secs(t.idle_hold),
        idle_hold_max: secs(t.idle_hold_max),
        graceful_restart: n
            .graceful_restart
            .enabled
            .then(|| secs(n.graceful_restart.restart_time)),
        long_lived_stale_time: (n.graceful_restart.enabled
            && n.graceful_restart.long_lived_stale_time > 0)
            .then(|| Duration::from_secs(u64::from(n.graceful_restart.long_lived_stale_time))),
        // Set when the session starts, for the first one after this
        // member's restart or a takeover (`Sessions::start`).
        restarting: false,
        // What we advertise is in the RIB, which is kept in the store and
        // replicated on every member: it outlives our restart.
        forwarding_preserved: true,
        route_refresh: true,
        extended_message: true,
        hostname: hostname(c),
        jitter_seed: seed,
    }
}
