//! Every validation rule (message, key and line), the defaults, group
//! inheritance, and the sample files of `ops/config/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::model::{Config, MaxPrefix, MaxPrefixAction, Role, defaults};
use super::parse;
use speaker::wire::Family;
use speaker::wire::capability::AddPathMode;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// Lines 1 and 2 of most test files.
const BASE: &str = "router-id = \"198.18.0.1\"\nlocal-as = 65000\n";

pub(super) fn ok(source: &str) -> Config {
    match parse(source, Path::new("t.toml")) {
        Ok(c) => c,
        Err(ds) => panic!("unexpected errors:\n{}", render(&ds)),
    }
}

fn render(ds: &[super::error::Diagnostic]) -> String {
    ds.iter().map(|d| format!("{d}\n")).collect()
}

pub(super) fn errors(source: &str) -> Vec<String> {
    match parse(source, Path::new("t.toml")) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(ds) => ds.iter().map(ToString::to_string).collect(),
    }
}

/// The file has exactly one error, at `line`, naming `key`, whose message
/// contains `text`.
#[track_caller]
pub(super) fn one_error(source: &str, line: usize, key: &str, text: &str) {
    let errors = errors(source);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    has_error(&errors, line, key, text);
}

#[track_caller]
pub(super) fn has_error(errors: &[String], line: usize, key: &str, text: &str) {
    let prefix = format!("t.toml:{line}: key `{key}`: ");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&prefix) && e.contains(text)),
        "no `{prefix}...{text}...` in {errors:#?}"
    );
}

pub(super) fn with_base(rest: &str) -> String {
    format!("{BASE}{rest}")
}

// --- defaults --------------------------------------------------------------

#[test]
fn defaults_of_a_minimal_file() {
    let c = ok(&with_base(
        "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\n\
         [[neighbor]]\naddress = \"2001:db8::2\"\nremote-as = 65001\n",
    ));
    assert_eq!(c.router_id, Ipv4Addr::new(198, 18, 0, 1));
    assert_eq!(c.local_as, 65000);
    assert_eq!(c.cluster_id, c.router_id);
    assert_eq!(c.role, Role::Reflector);
    assert_eq!(c.data_dir, PathBuf::from(defaults::DATA_DIR));
    assert_eq!(c.listen.port, 179);
    assert_eq!(c.listen.addresses, defaults::LISTEN.to_vec());
    let [ibgp, ebgp] = &c.neighbors[..] else {
        panic!("{c:?}")
    };
    assert_eq!(ibgp.families, vec![Family::IPV4_UNICAST]);
    assert_eq!(ebgp.families, vec![Family::IPV6_UNICAST]);
    for n in [ibgp, ebgp] {
        assert_eq!(n.timers.hold_time, 90);
        assert_eq!(n.timers.keepalive, 30);
        assert_eq!(n.timers.connect_retry, 120);
        assert_eq!(n.timers.delay_open, 0);
        assert_eq!(n.timers.idle_hold, 5);
        assert_eq!(n.timers.idle_hold_max, 120);
        assert!(!n.passive && !n.route_reflector_client);
        assert!(n.add_path.is_empty());
        assert_eq!(n.cluster_id, c.router_id);
        assert!(n.graceful_restart.enabled);
        assert_eq!(n.graceful_restart.restart_time, 120);
        assert_eq!(n.local_address, None);
        assert_eq!(n.description, None);
        assert_eq!(n.group, None);
    }
    assert_eq!(ibgp.timers.mrai, 0, "iBGP MRAI");
    assert_eq!(ebgp.timers.mrai, 30, "eBGP MRAI");
}

#[test]
fn keepalive_defaults_to_a_third_of_the_hold_time_in_effect() {
    let c = ok(&with_base(
        "[timers]\nhold-time = 30\n\
         [[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\n\
         [[neighbor]]\naddress = \"198.18.0.3\"\nremote-as = 65000\nhold-time = 9\n\
         [[neighbor]]\naddress = \"198.18.0.4\"\nremote-as = 65000\nhold-time = 0\n",
    ));
    let ka: Vec<(u16, u16)> = c
        .neighbors
        .iter()
        .map(|n| (n.timers.hold_time, n.timers.keepalive))
        .collect();
    assert_eq!(ka, vec![(30, 10), (9, 3), (0, 0)]);
}

#[test]
fn no_neighbours_is_valid() {
    assert!(ok(BASE).neighbors.is_empty());
}

// --- groups ----------------------------------------------------------------

#[test]
fn neighbours_inherit_from_their_group_then_timers() {
    let c = ok(&with_base(
        r#"cluster-id = "198.18.255.1"
[timers]
connect-retry = 30
mrai = 1
[group.clients]
remote-as = 65000
route-reflector-client = true
passive = true
families = ["ipv6-unicast", "ipv4-unicast"]
add-path = { ipv4-unicast = "send", ipv6-unicast = "receive" }
hold-time = 30
cluster-id = "198.18.255.2"
description = "a client"
[[neighbor]]
address = "198.18.0.2"
group = "clients"
hold-time = 60
passive = false
[[neighbor]]
address = "198.18.0.3"
group = "clients"
families = ["ipv4-unicast"]
[[neighbor]]
address = "198.18.0.4"
remote-as = 65000
"#,
    ));
    let [a, b, plain] = &c.neighbors[..] else {
        panic!("{c:?}")
    };
    assert_eq!(a.group.as_deref(), Some("clients"));
    assert_eq!(a.remote_as, 65000);
    assert!(a.route_reflector_client);
    assert!(!a.passive, "neighbour overrides the group");
    assert!(b.passive);
    assert_eq!(a.timers.hold_time, 60);
    assert_eq!(a.timers.keepalive, 20);
    assert_eq!(b.timers.hold_time, 30);
    assert_eq!(b.timers.keepalive, 10);
    assert_eq!(a.timers.connect_retry, 30, "from [timers]");
    assert_eq!(a.timers.mrai, 1, "from [timers]");
    assert_eq!(a.cluster_id, Ipv4Addr::new(198, 18, 255, 2));
    assert_eq!(a.description.as_deref(), Some("a client"));
    assert_eq!(a.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    assert_eq!(
        a.add_path.iter().map(|(f, m)| (*f, *m)).collect::<Vec<_>>(),
        vec![
            (Family::IPV4_UNICAST, AddPathMode::SEND),
            (Family::IPV6_UNICAST, AddPathMode::RECEIVE)
        ]
    );
    // The group's ADD-PATH applies to the families the member enables.
    assert_eq!(b.families, vec![Family::IPV4_UNICAST]);
    assert_eq!(b.add_path.len(), 1);
    assert_eq!(plain.group, None);
    assert_eq!(plain.cluster_id, Ipv4Addr::new(198, 18, 255, 1));
    assert!(!plain.route_reflector_client);
    assert_eq!(plain.timers.hold_time, 90);
}

#[test]
fn unknown_group() {
    one_error(
        &with_base(
            "[group.a]\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\ngroup = \"b\"\n",
        ),
        7,
        "neighbor[0].group",
        "unknown group `b` (groups: a)",
    );
}

#[test]
fn a_group_has_no_address_and_no_group() {
    let e = errors(&with_base(
        "[group.a]\naddress = \"198.18.0.9\"\n[group.b]\ngroup = \"a\"\n",
    ));
    assert_eq!(e.len(), 2, "{e:#?}");
    has_error(&e, 4, "group.a.address", "a group cannot set `address`");
    has_error(&e, 6, "group.b.group", "a group cannot set `group`");
}

#[test]
fn group_names_that_are_not_bare_keys_are_quoted() {
    one_error(
        &with_base("[group.\"my group\"]\nhold-time = 1\n"),
        4,
        "group.\"my group\".hold-time",
        "hold time 1 is invalid",
    );
}

// --- syntax, unknown keys, types --------------------------------------------

#[test]
fn unknown_keys_are_rejected_with_their_line() {
    one_error(
        &with_base("router-idd = \"1.1.1.1\"\n"),
        3,
        "router-idd",
        "unknown field `router-idd`",
    );
    one_error(
        &with_base(
            "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\n\n[[neighbor]]\naddress = \"198.18.0.3\"\nhold-tme = 9\n",
        ),
        9,
        "neighbor[1].hold-tme",
        "unknown field `hold-tme`",
    );
    one_error(
        &with_base("[listen]\naddress = [\"::1\"]\n"),
        4,
        "listen.address",
        "unknown field `address`",
    );
    one_error(
        &with_base("[timers]\n\nhold = 9\n"),
        5,
        "timers.hold",
        "unknown field `hold`",
    );
    one_error(
        &with_base("[group.g]\npasive = true\n"),
        4,
        "group.g.pasive",
        "unknown field `pasive`",
    );
    one_error(&with_base("[bgp]\n"), 3, "bgp", "unknown field `bgp`");
}

#[test]
fn values_of_the_wrong_type() {
    one_error(
        &with_base("[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = \"65000\"\n"),
        5,
        "neighbor[0].remote-as",
        "invalid type: string \"65000\"",
    );
    one_error(
        &with_base("[listen]\naddresses = \"::1\"\n"),
        4,
        "listen.addresses",
        "invalid type",
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let e = errors(&with_base("[timers]\nhold-time = \n"));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].starts_with("t.toml:4: "), "{e:#?}");
}

// --- the node --------------------------------------------------------------

#[test]
fn router_id() {
    one_error(
        "router-id = \"0.0.0.0\"\nlocal-as = 1\n",
        1,
        "router-id",
        "router id 0.0.0.0 is invalid (RFC 6286",
    );
    one_error(
        "local-as = 1\nrouter-id = \"2001:db8::1\"\n",
        2,
        "router-id",
        "`2001:db8::1` is not an IPv4 address",
    );
    one_error(
        "local-as = 1\n",
        1,
        "router-id",
        "missing required key `router-id`",
    );
}

#[test]
fn local_as() {
    one_error(
        "router-id = \"1.1.1.1\"\nlocal-as = 0\n",
        2,
        "local-as",
        "AS 0 is invalid (RFC 7607",
    );
    one_error(
        "router-id = \"1.1.1.1\"\nlocal-as = 23456\n",
        2,
        "local-as",
        "AS_TRANS",
    );
    one_error(
        "router-id = \"1.1.1.1\"\nlocal-as = 4294967295\n",
        2,
        "local-as",
        "out of range",
    );
    one_error(
        "router-id = \"1.1.1.1\"\nlocal-as = -1\n",
        2,
        "local-as",
        "out of range",
    );
    assert_eq!(
        ok("router-id = \"1.1.1.1\"\nlocal-as = 4294967294\n").local_as,
        4_294_967_294
    );
    one_error(
        "router-id = \"1.1.1.1\"\n",
        1,
        "local-as",
        "missing required key `local-as`",
    );
}

#[test]
fn cluster_id() {
    one_error(
        &with_base("cluster-id = \"x\"\n"),
        3,
        "cluster-id",
        "not an IPv4 address",
    );
    assert_eq!(
        ok(&with_base("cluster-id = \"10.0.0.1\"\n")).cluster_id,
        Ipv4Addr::new(10, 0, 0, 1)
    );
}

#[test]
fn cluster() {
    // No section and an empty one: a one-member cluster on the defaults.
    assert_eq!(ok(BASE).cluster, ok(&with_base("[cluster]\n")).cluster);
    // No raft-address: no Raft listener.
    let c = ok(&with_base("[cluster]\n")).cluster;
    assert_eq!((c.member_id, c.raft), (1, None));
    let c = ok(&with_base(
        "[cluster]\nmember-id = 3\nraft-address = \"198.18.0.3:11179\"\nca = \"c/ca.pem\"\ncertificate = \"c/member-3.pem\"\nkey = \"c/member-3.key\"\n",
    ))
    .cluster;
    let raft = c.raft.unwrap();
    assert_eq!(
        (
            c.member_id,
            raft.address.to_string(),
            raft.certificate.display().to_string()
        ),
        (
            3,
            "198.18.0.3:11179".to_string(),
            "c/member-3.pem".to_string()
        )
    );
    // A listener needs TLS; TLS files need a listener.
    one_error(
        &with_base(
            "[cluster]\nmember-id = 3\nraft-address = \"198.18.0.3:11179\"\nca = \"ca.pem\"\n",
        ),
        5,
        "cluster.raft-address",
        "mutual TLS: set `ca`, `certificate` and `key`",
    );
    one_error(
        &with_base("[cluster]\nkey = \"k.pem\"\n"),
        4,
        "cluster.key",
        "opens no Raft listener",
    );
    one_error(
        &with_base("[cluster]\nmember-id = 0\n"),
        4,
        "cluster.member-id",
        "member id 0 is invalid",
    );
    one_error(
        &with_base("[cluster]\nraft-address = \"198.18.0.3\"\n"),
        4,
        "cluster.raft-address",
        "not an address and port",
    );
}

#[test]
fn hostname() {
    assert_eq!(ok(BASE).hostname, None);
    assert_eq!(
        ok(&with_base("hostname = \"rr1.example\"\n"))
            .hostname
            .as_deref(),
        Some("rr1.example")
    );
    assert_eq!(
        ok(&with_base("hostname = \"\"\n")).hostname.as_deref(),
        Some("")
    );
    one_error(
        &with_base("hostname = \"rr 1\"\n"),
        3,
        "hostname",
        "host name `rr 1` is invalid",
    );
}

#[test]
fn fib_section_of_a_border() {
    use super::model::Fib;
    // A border without the section: the defaults (main table).
    assert_eq!(
        ok(&with_base("role = \"border\"\n")).fib,
        Some(Fib {
            table: 254,
            metric: 20,
            multipath: 1,
            retain_on_shutdown: true,
            sweep_timeout: 120,
            resolve_via_default: false,
        })
    );
    assert_eq!(ok(&with_base("")).fib, None);
    let c = ok(&with_base(
        "role = \"border\"\n[fib]\ntable = 1000\nmetric = 0\nmultipath = 8\nretain-on-shutdown = false\nsweep-timeout = 30\nresolve-via-default = true\n",
    ));
    let f = c.fib.unwrap();
    assert_eq!(
        (f.table, f.metric, f.multipath, f.sweep_timeout),
        (1000, 0, 8, 30)
    );
    assert!(!f.retain_on_shutdown && f.resolve_via_default);
    one_error(
        &with_base("[fib]\ntable = 1000\n"),
        3,
        "fib",
        "only meaningful for role `border`",
    );
    let e = errors(&with_base(
        "role = \"border\"\n[fib]\ntable = 0\nmetric = -1\nmultipath = 0\nsweep-timeout = 0\n",
    ));
    has_error(
        &e,
        5,
        "fib.table",
        "table 0 is out of range (1 to 4294967295)",
    );
    has_error(&e, 6, "fib.metric", "metric -1 is out of range");
    has_error(
        &e,
        7,
        "fib.multipath",
        "multipath 0 is out of range (1 to 256)",
    );
    has_error(&e, 8, "fib.sweep-timeout", "sweep timeout");
}

#[test]
fn role() {
    assert_eq!(ok(&with_base("role = \"border\"\n")).role, Role::Border);
    one_error(
        &with_base("role = \"edge\"\n"),
        3,
        "role",
        "role `edge` is unknown",
    );
    one_error(
        &with_base("role = \"border\"\ncluster-id = \"1.1.1.1\"\n"),
        4,
        "cluster-id",
        "only meaningful for role `reflector`",
    );
    let e = errors(&with_base(
        "role = \"border\"\n[group.g]\ncluster-id = \"1.1.1.1\"\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\nroute-reflector-client = true\n",
    ));
    has_error(&e, 5, "group.g.cluster-id", "only meaningful");
    has_error(
        &e,
        9,
        "neighbor[0].route-reflector-client",
        "only meaningful",
    );
}

#[test]
fn listen() {
    one_error(
        &with_base("[listen]\nport = 0\n"),
        4,
        "listen.port",
        "port 0 is invalid",
    );
    one_error(
        &with_base("[listen]\nport = 65536\n"),
        4,
        "listen.port",
        "port 65536 is out of range",
    );
    one_error(
        &with_base("[listen]\naddresses = [\"127.0.0.1\",\n  \"::1\",\n  \"127.0.0.1\"]\n"),
        6,
        "listen.addresses[2]",
        "address 127.0.0.1 is listed twice",
    );
    one_error(
        &with_base("[listen]\naddresses = [\"localhost\"]\n"),
        4,
        "listen.addresses[0]",
        "`localhost` is not an IP address",
    );
    let c = ok(&with_base("[listen]\naddresses = [\"::1\"]\nport = 1179\n"));
    assert_eq!(c.listen.addresses, vec!["::1".parse::<IpAddr>().unwrap()]);
    assert_eq!(c.listen.port, 1179);
}

// --- timers ----------------------------------------------------------------

#[test]
fn hold_time_1_and_2_are_invalid_everywhere() {
    for v in [1, 2] {
        one_error(
            &with_base(&format!("[timers]\nhold-time = {v}\n")),
            4,
            "timers.hold-time",
            &format!("hold time {v} is invalid (RFC 4271 §4.2: 0 or at least 3)"),
        );
        one_error(
            &with_base(&format!("[group.g]\nhold-time = {v}\n")),
            4,
            "group.g.hold-time",
            "RFC 4271 §4.2",
        );
        one_error(
            &with_base(&format!(
                "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\n\n[[neighbor]]\naddress = \"198.18.0.3\"\nremote-as = 65000\nhold-time = {v}\n"
            )),
            10,
            "neighbor[1].hold-time",
            "RFC 4271 §4.2",
        );
    }
    for v in [0, 3, 65535] {
        ok(&with_base(&format!("[timers]\nhold-time = {v}\n")));
    }
    one_error(
        &with_base("[timers]\nhold-time = 65536\n"),
        4,
        "timers.hold-time",
        "hold time 65536 is out of range",
    );
}

#[test]
fn keepalive_must_be_less_than_the_hold_time() {
    one_error(
        &with_base("[timers]\nhold-time = 9\nkeepalive = 9\n"),
        5,
        "timers.keepalive",
        "keepalive 9 must be less than hold time 9",
    );
    one_error(
        &with_base("[timers]\nkeepalive = 90\n"),
        4,
        "timers.keepalive",
        "keepalive 90 must be less than hold time 90 (hold time is the default)",
    );
    one_error(
        &with_base("[timers]\nhold-time = 0\nkeepalive = 3\n"),
        5,
        "timers.keepalive",
        "no keepalives are sent when the hold time is 0",
    );
    one_error(
        &with_base("[timers]\nkeepalive = 0\n"),
        4,
        "timers.keepalive",
        "keepalive 0 with hold time 90",
    );
    ok(&with_base("[timers]\nhold-time = 0\nkeepalive = 0\n"));
    ok(&with_base("[timers]\nhold-time = 3\nkeepalive = 2\n"));
}

#[test]
fn keepalive_rule_is_reported_at_the_more_specific_key() {
    // [timers] keepalive 30, a neighbour's hold time 9: the neighbour's key.
    one_error(
        &with_base(
            "[timers]\nkeepalive = 30\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\nhold-time = 9\n",
        ),
        8,
        "neighbor[0].hold-time",
        "keepalive 30 must be less than hold time 9 (keepalive at `timers.keepalive`)",
    );
    // A group's hold time and the neighbour's keepalive: the neighbour's.
    one_error(
        &with_base(
            "[group.g]\nhold-time = 9\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\ngroup = \"g\"\nkeepalive = 20\n",
        ),
        9,
        "neighbor[0].keepalive",
        "(hold time at `group.g.hold-time`)",
    );
    // Reported once for a group used by many neighbours.
    let e = errors(&with_base(
        "[timers]\nkeepalive = 20\n[group.g]\nhold-time = 9\n\
         [[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\ngroup = \"g\"\n\
         [[neighbor]]\naddress = \"198.18.0.3\"\nremote-as = 65000\ngroup = \"g\"\n",
    ));
    assert_eq!(e.len(), 1, "{e:#?}");
    has_error(&e, 6, "group.g.hold-time", "keepalive 20");
}

#[test]
fn other_timer_ranges() {
    one_error(
        &with_base("[timers]\nconnect-retry = 0\n"),
        4,
        "timers.connect-retry",
        "connect-retry 0 is out of range (1 to 65535 seconds)",
    );
    one_error(
        &with_base("[timers]\ndelay-open = -1\n"),
        4,
        "timers.delay-open",
        "delay-open -1 is out of range",
    );
    one_error(
        &with_base("[timers]\nmrai = 100000\n"),
        4,
        "timers.mrai",
        "mrai 100000 is out of range",
    );
    one_error(
        &with_base("[timers]\nidle-hold = 60\nidle-hold-max = 30\n"),
        4,
        "timers.idle-hold",
        "idle-hold 60 is more than idle-hold-max 30",
    );
    one_error(
        &with_base("[timers]\nidle-hold-max = 2\n"),
        4,
        "timers.idle-hold-max",
        "idle-hold 5 is more than idle-hold-max 2 (idle-hold is the default)",
    );
    one_error(
        &with_base("[group.g]\nrestart-time = 4096\n"),
        4,
        "group.g.restart-time",
        "graceful restart time 4096 is out of range (RFC 4724",
    );
    one_error(
        &with_base("[group.g]\nlong-lived-stale-time = 16777216\n"),
        4,
        "group.g.long-lived-stale-time",
        "long-lived stale time 16777216 is out of range (RFC 9494",
    );
    one_error(
        &with_base(
            "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\ngraceful-restart = false\nlong-lived-stale-time = 60\n",
        ),
        7,
        "neighbor[0].long-lived-stale-time",
        "long-lived graceful restart needs graceful restart",
    );
}

#[test]
fn long_lived_stale_time_is_off_by_default_and_inherited() {
    let c = ok(&with_base(
        "[group.g]\nlong-lived-stale-time = 3600\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\ngroup = \"g\"\n[[neighbor]]\naddress = \"198.18.0.3\"\nremote-as = 65000\n",
    ));
    assert_eq!(c.neighbors[0].graceful_restart.long_lived_stale_time, 3600);
    assert_eq!(c.neighbors[1].graceful_restart.long_lived_stale_time, 0);
}

// --- neighbours ------------------------------------------------------------

#[test]
fn neighbour_address_and_remote_as_are_required() {
    let e = errors(&with_base("\n[[neighbor]]\ndescription = \"x\"\n"));
    assert_eq!(e.len(), 2, "{e:#?}");
    has_error(&e, 4, "neighbor[0]", "missing required key `address`");
    has_error(&e, 4, "neighbor[0]", "missing required key `remote-as`");
    one_error(
        &with_base("[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 0\n"),
        5,
        "neighbor[0].remote-as",
        "AS 0 is invalid",
    );
}

#[test]
fn neighbour_addresses() {
    one_error(
        &with_base("[[neighbor]]\naddress = \"198.18.0\"\nremote-as = 1\n"),
        4,
        "neighbor[0].address",
        "`198.18.0` is not an IP address",
    );
    for bad in ["0.0.0.0", "::", "224.0.0.5", "255.255.255.255", "ff02::1"] {
        one_error(
            &with_base(&format!(
                "[[neighbor]]\naddress = \"{bad}\"\nremote-as = 1\n"
            )),
            4,
            "neighbor[0].address",
            "cannot be a neighbour address",
        );
    }
}

#[test]
fn duplicate_neighbour_addresses() {
    one_error(
        &with_base(
            "[[neighbor]]\naddress = \"2001:db8::1\"\nremote-as = 1\n\
             [[neighbor]]\naddress = \"2001:DB8:0::1\"\nremote-as = 2\n",
        ),
        7,
        "neighbor[1].address",
        "neighbour address 2001:db8::1 is also at line 4 (`neighbor[0].address`)",
    );
}

#[test]
fn families() {
    let src = with_base(
        "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\nfamilies = [\n  \"ipv4-unicast\",\n  \"ipv4-unicst\",\n  \"ipv4-unicast\",\n]\n",
    );
    let e = errors(&src);
    assert_eq!(e.len(), 2, "{e:#?}");
    has_error(
        &e,
        8,
        "neighbor[0].families[1]",
        "unknown family `ipv4-unicst` (expected one of: ipv4-unicast, ipv6-unicast,",
    );
    has_error(
        &e,
        9,
        "neighbor[0].families[2]",
        "family `ipv4-unicast` is listed twice",
    );
    one_error(
        &with_base("[group.g]\nfamilies = []\n"),
        4,
        "group.g.families",
        "no family enabled",
    );
    let all = ok(&with_base(
        "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\nfamilies = [\"vpnv6\", \"vpnv4\", \"ipv6-labeled-unicast\", \"ipv4-labeled-unicast\", \"ipv6-multicast\", \"ipv4-multicast\", \"ipv6-unicast\", \"ipv4-unicast\"]\n",
    ));
    assert_eq!(
        all.neighbors[0].families,
        vec![
            Family::IPV4_UNICAST,
            Family::IPV4_MULTICAST,
            Family::IPV4_LABELED,
            Family::VPNV4,
            Family::IPV6_UNICAST,
            Family::IPV6_MULTICAST,
            Family::IPV6_LABELED,
            Family::VPNV6,
        ]
    );
}

#[test]
fn add_path() {
    one_error(
        &with_base(
            "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\nadd-path = { ipv6-unicast = \"both\" }\n",
        ),
        6,
        "neighbor[0].add-path.ipv6-unicast",
        "ADD-PATH for `ipv6-unicast`, a family neighbor[0] (198.18.0.2) does not enable (families: ipv4-unicast)",
    );
    one_error(
        &with_base(
            "[group.g]\nfamilies = [\"ipv4-unicast\"]\n[group.g.add-path]\nvpnv4 = \"send\"\n",
        ),
        6,
        "group.g.add-path.vpnv4",
        "a family group `g` does not enable",
    );
    one_error(
        &with_base(
            "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\nadd-path = { ipv4-unicast = \"yes\" }\n",
        ),
        6,
        "neighbor[0].add-path.ipv4-unicast",
        "unknown ADD-PATH mode `yes`",
    );
    one_error(
        &with_base(
            "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\nadd-path = { ipv4-unicats = \"send\" }\n",
        ),
        6,
        "neighbor[0].add-path.ipv4-unicats",
        "unknown family `ipv4-unicats`",
    );
    let c = ok(&with_base(
        "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\nadd-path = { ipv4-unicast = \"receive\" }\n",
    ));
    assert_eq!(
        c.neighbors[0].add_path.get(&Family::IPV4_UNICAST),
        Some(&AddPathMode::RECEIVE)
    );
}

#[test]
fn route_reflector_clients_are_ibgp() {
    one_error(
        &with_base(
            "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65001\nroute-reflector-client = true\n",
        ),
        6,
        "neighbor[0].route-reflector-client",
        "route-reflector-client needs an iBGP neighbour; neighbor[0] (198.18.0.2) has remote AS 65001, local AS 65000",
    );
    // The group makes them clients; the neighbour's own remote AS is wrong.
    one_error(
        &with_base(
            "[group.c]\nroute-reflector-client = true\n[[neighbor]]\naddress = \"198.18.0.2\"\ngroup = \"c\"\nremote-as = 65001\n",
        ),
        8,
        "neighbor[0].remote-as",
        "needs an iBGP neighbour",
    );
}

#[test]
fn passive_needs_a_listener() {
    one_error(
        &with_base(
            "[listen]\naddresses = []\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\npassive = true\n",
        ),
        8,
        "neighbor[0].passive",
        "neighbor[0] (198.18.0.2) is passive, but nothing listens",
    );
    ok(&with_base(
        "[listen]\naddresses = []\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\n",
    ));
}

#[test]
fn local_address() {
    one_error(
        &with_base(
            "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\nlocal-address = \"2001:db8::1\"\n",
        ),
        6,
        "neighbor[0].local-address",
        "local address 2001:db8::1 is not of the same family as neighbour address 198.18.0.2",
    );
    one_error(
        &with_base(
            "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\nlocal-address = \"me\"\n",
        ),
        6,
        "neighbor[0].local-address",
        "not an IP address",
    );
}

#[test]
fn service_address() {
    let n = "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\n";
    let c = ok(&with_base(&format!(
        "{n}service-address = \"198.18.0.100/24\"\nservice-interface = \"eth0\"\n"
    )));
    let s = c.neighbors[0].service_address.clone().unwrap();
    assert_eq!(
        (s.address.to_string(), s.prefix_len, s.interface.as_str()),
        ("198.18.0.100".to_string(), 24, "eth0")
    );
    assert_eq!(
        c.neighbors[0].local_address,
        Some(s.address),
        "its local address"
    );
    // A group may name the interface for its neighbours.
    ok(&with_base(
        "[group.c]\nservice-interface = \"eth0\"\nremote-as = 1\n\
         [[neighbor]]\naddress = \"198.18.0.2\"\ngroup = \"c\"\nservice-address = \"198.18.0.100/32\"\n",
    ));
    one_error(
        &with_base(&format!(
            "{n}service-address = \"198.18.0.100\"\nservice-interface = \"eth0\"\n"
        )),
        6,
        "neighbor[0].service-address",
        "is not ADDRESS/LENGTH",
    );
    one_error(
        &with_base(&format!(
            "{n}service-address = \"198.18.0.100/33\"\nservice-interface = \"eth0\"\n"
        )),
        6,
        "neighbor[0].service-address",
        "is not ADDRESS/LENGTH",
    );
    one_error(
        &with_base(&format!("{n}service-address = \"198.18.0.100/24\"\n")),
        6,
        "neighbor[0].service-address",
        "needs `service-interface`",
    );
    one_error(
        &with_base(&format!("{n}service-interface = \"eth0\"\n")),
        6,
        "neighbor[0].service-interface",
        "without `service-address`",
    );
    one_error(
        &with_base(&format!(
            "{n}service-address = \"2001:db8::100/64\"\nservice-interface = \"eth0\"\n"
        )),
        6,
        "neighbor[0].service-address",
        "not of the same family",
    );
    one_error(
        &with_base(&format!(
            "{n}local-address = \"198.18.0.1\"\nservice-address = \"198.18.0.100/24\"\nservice-interface = \"eth0\"\n"
        )),
        6,
        "neighbor[0].local-address",
        "differs from the service address",
    );
    let two = format!(
        "{n}service-address = \"198.18.0.100/24\"\nservice-interface = \"eth0\"\n\
         [[neighbor]]\naddress = \"198.18.0.3\"\nremote-as = 1\nservice-address = \"198.18.0.100/24\"\nservice-interface = \"eth0\"\n"
    );
    one_error(
        &with_base(&two),
        11,
        "neighbor[1].service-address",
        "is also the service address of `neighbor[0]`",
    );
    one_error(
        &with_base(&format!(
            "[listen]\naddresses = [\"198.18.0.1\"]\n{n}service-address = \"198.18.0.100/24\"\nservice-interface = \"eth0\"\n"
        )),
        8,
        "neighbor[0].service-address",
        "not in [listen] addresses",
    );
    ok(&with_base(&format!(
        "[listen]\naddresses = [\"198.18.0.1\", \"198.18.0.100\"]\n{n}service-address = \"198.18.0.100/24\"\nservice-interface = \"eth0\"\n"
    )));
}

#[test]
fn every_error_is_reported_in_line_order() {
    let e = errors(
        "local-as = 0\n\
         router-id = \"0.0.0.0\"\n\
         [listen]\nport = 0\n\
         [timers]\nhold-time = 2\n\
         [[neighbor]]\naddress = \"x\"\nremote-as = 23456\nfamilies = [\"ipv5\"]\n",
    );
    let lines: Vec<&str> = e
        .iter()
        .map(|m| m.split(':').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(lines, vec!["1", "2", "4", "6", "8", "9", "10"], "{e:#?}");
}

#[test]
fn message_format() {
    let e = errors(&with_base(
        "\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 1\nhold-time = 2\n",
    ));
    assert_eq!(
        e,
        vec![
            "t.toml:7: key `neighbor[0].hold-time`: hold time 2 is invalid (RFC 4271 §4.2: 0 or at least 3)"
        ]
    );
}

// --- max-prefix ------------------------------------------------------------

const NEIGHBOR: &str = "[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\n";

#[test]
fn max_prefix_is_off_by_default_and_takes_its_defaults() {
    assert_eq!(ok(&with_base(NEIGHBOR)).neighbors[0].max_prefix, None);
    let c = ok(&with_base(&format!("{NEIGHBOR}max-prefix = 1000\n")));
    assert_eq!(
        c.neighbors[0].max_prefix,
        Some(MaxPrefix {
            limit: 1000,
            action: MaxPrefixAction::Restart,
            restart: 60,
            warning: 75,
        })
    );
    let c = ok(&with_base(&format!(
        "{NEIGHBOR}max-prefix = 4294967295\nmax-prefix-action = \"warn\"\nmax-prefix-warning = 100\n"
    )));
    assert_eq!(
        c.neighbors[0].max_prefix,
        Some(MaxPrefix {
            limit: u32::MAX,
            action: MaxPrefixAction::Warn,
            restart: 60,
            warning: 100,
        })
    );
}

#[test]
fn max_prefix_keys_are_merged_from_the_group_one_by_one() {
    let c = ok(&with_base(
        r#"[group.transit]
remote-as = 64500
max-prefix = 900000
max-prefix-restart = 0
max-prefix-warning = 90
[group.template]
remote-as = 64501
max-prefix-action = "restart"
max-prefix-restart = 30
[[neighbor]]
address = "198.18.0.2"
group = "transit"
[[neighbor]]
address = "198.18.0.3"
group = "transit"
max-prefix = 1000
max-prefix-action = "restart"
[[neighbor]]
address = "198.18.0.4"
group = "template"
max-prefix = 10
[[neighbor]]
address = "198.18.0.5"
group = "template"
"#,
    ));
    let m: Vec<_> = c.neighbors.iter().map(|n| n.max_prefix).collect();
    let limit = |limit, restart, warning| {
        Some(MaxPrefix {
            limit,
            action: MaxPrefixAction::Restart,
            restart,
            warning,
        })
    };
    // A group without a limit gives its members without one none.
    assert_eq!(
        m,
        vec![
            limit(900_000, 0, 90),
            limit(1000, 0, 90),
            limit(10, 30, 75),
            None
        ]
    );
}

#[test]
fn max_prefix_values() {
    for bad in ["0", "-1", "4294967296"] {
        one_error(
            &with_base(&format!("{NEIGHBOR}max-prefix = {bad}\n")),
            6,
            "neighbor[0].max-prefix",
            &format!("maximum prefix count {bad} is out of range (1 to 4294967295)"),
        );
    }
    one_error(
        &with_base("[group.g]\nmax-prefix-action = \"drop\"\n"),
        4,
        "group.g.max-prefix-action",
        "unknown max-prefix action `drop` (expected `warn` or `restart`)",
    );
    for bad in ["-1", "65536"] {
        one_error(
            &with_base(&format!("[group.g]\nmax-prefix-restart = {bad}\n")),
            4,
            "group.g.max-prefix-restart",
            &format!("max-prefix-restart {bad} is out of range (0 to 65535 seconds)"),
        );
    }
    for bad in ["0", "101", "-5"] {
        one_error(
            &with_base(&format!("[group.g]\nmax-prefix-warning = {bad}\n")),
            4,
            "group.g.max-prefix-warning",
            &format!("max-prefix warning {bad} is out of range (1 to 100, percent of max-prefix)"),
        );
    }
    one_error(
        &with_base("[timers]\nmax-prefix = 10\n"),
        4,
        "timers.max-prefix",
        "unknown field `max-prefix`",
    );
}

#[test]
fn max_prefix_settings_that_cannot_act() {
    // Written in a neighbour without a limit: each named where it is.
    let e = errors(&with_base(&format!(
        "{NEIGHBOR}max-prefix-action = \"warn\"\nmax-prefix-warning = 50\n"
    )));
    assert_eq!(e.len(), 2, "{e:#?}");
    for (line, key) in [(6, "max-prefix-action"), (7, "max-prefix-warning")] {
        has_error(
            &e,
            line,
            &format!("neighbor[0].{key}"),
            &format!(
                "`{key}` has no effect: neighbor[0] (198.18.0.2) has no `max-prefix` (set it here or in its group)"
            ),
        );
    }
    // A restart time where the action is `warn`: in one table...
    one_error(
        &with_base(&format!(
            "{NEIGHBOR}max-prefix = 5\nmax-prefix-action = \"warn\"\nmax-prefix-restart = 10\n"
        )),
        8,
        "neighbor[0].max-prefix-restart",
        "max-prefix-restart has no effect with max-prefix-action \"warn\" (the session is never closed)",
    );
    // ...or under a group's `warn`, reported once at the neighbour's key.
    one_error(
        &with_base(
            "[group.g]\nremote-as = 65000\nmax-prefix-action = \"warn\"\n\
             [[neighbor]]\naddress = \"198.18.0.2\"\ngroup = \"g\"\nmax-prefix = 5\nmax-prefix-restart = 10\n\
             [[neighbor]]\naddress = \"198.18.0.3\"\ngroup = \"g\"\nmax-prefix = 5\n",
        ),
        10,
        "neighbor[0].max-prefix-restart",
        "(action at `group.g.max-prefix-action`)",
    );
    // A group's restart time under a neighbour's `warn` is an override, and
    // a group's settings wait for members that set a limit: both fine.
    ok(&with_base(
        "[group.g]\nremote-as = 65000\nmax-prefix-restart = 10\nmax-prefix-warning = 80\n\
         [[neighbor]]\naddress = \"198.18.0.2\"\ngroup = \"g\"\nmax-prefix = 5\nmax-prefix-action = \"warn\"\n\
         [[neighbor]]\naddress = \"198.18.0.3\"\ngroup = \"g\"\n",
    ));
}

// --- the sample files ------------------------------------------------------

fn ops_file(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ops/config")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

#[test]
fn sample_config_is_a_local_reflector_with_two_passive_clients() {
    let (path, text) = ops_file("reflex.toml");
    let c = parse(&text, &path).unwrap();
    assert_eq!(c.role, Role::Reflector);
    assert_eq!(c.data_dir, PathBuf::from("./data"));
    assert_eq!(c.listen.addresses, vec![IpAddr::from([127, 0, 0, 1])]);
    assert!(c.listen.port > 1024);
    assert_eq!(c.neighbors.len(), 2);
    for n in &c.neighbors {
        assert!(n.passive && n.route_reflector_client);
        assert_eq!(n.remote_as, c.local_as);
    }
    // Same result through `load`, which reads the file.
    assert_eq!(super::load(&path).unwrap(), c);
}

/// The reference sets each key that has a default to that default: it
/// must mean the same as the required keys alone.
#[test]
fn reference_states_the_true_defaults() {
    let (path, text) = ops_file("reference.toml");
    let reference = parse(&text, &path).unwrap();
    let minimal = ok("router-id = \"198.18.0.1\"\nlocal-as = 65000\n\
         [[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\n");
    assert_eq!(reference, minimal);
}

#[test]
fn resolved_config_serializes_with_family_names() {
    let (path, text) = ops_file("reflex.toml");
    let c = parse(&text, &path).unwrap();
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(
        json["neighbors"][1]["families"],
        serde_json::json!(["ipv4-unicast", "ipv6-unicast"])
    );
    assert_eq!(
        json["neighbors"][1]["add_path"],
        serde_json::json!({"ipv4-unicast": "both"})
    );
}

#[test]
fn members_pin_a_neighbour_to_some_members_of_the_cluster() {
    let c = ok(&with_base(
        "[group.g]\nmembers = [2, 3]\n[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\nmembers = [1]\n[[neighbor]]\naddress = \"198.18.0.3\"\nremote-as = 65000\ngroup = \"g\"\n[[neighbor]]\naddress = \"198.18.0.4\"\nremote-as = 65000\n",
    ));
    let pins: Vec<Option<Vec<u64>>> = c
        .neighbors
        .iter()
        .map(|n| n.members.as_ref().map(|m| m.iter().copied().collect()))
        .collect();
    assert_eq!(pins, vec![Some(vec![1]), Some(vec![2, 3]), None]);
    one_error(
        &with_base("[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\nmembers = []\n"),
        6,
        "neighbor[0].members",
        "`members` is empty: no member could run the session",
    );
    one_error(
        &with_base("[[neighbor]]\naddress = \"198.18.0.2\"\nremote-as = 65000\nmembers = [0]\n"),
        6,
        "neighbor[0].members",
        "member id 0 is invalid (1 or more)",
    );
}

#[test]
fn session_protections_not_built_are_refused_with_a_reason() {
    for (key, what) in [
        ("password = \"secret\"", "TCP-MD5"),
        ("tcp-ao = true", "TCP-AO"),
        ("ttl-security = 1", "GTSM"),
    ] {
        let errors = errors(&with_base(&format!(
            "[[neighbor]]\naddress = \"198.18.0.9\"\nremote-as = 65000\n{key}\n"
        )));
        assert!(
            errors
                .iter()
                .any(|e| e.contains(what) && e.contains("not supported")),
            "{key}: {errors:#?}"
        );
    }
}

#[test]
fn output_buffer_and_write_timeout_default_inherit_and_are_checked() {
    let c = ok(&with_base(NEIGHBOR));
    assert_eq!(c.neighbors[0].output_buffer, 128 << 20);
    assert_eq!(c.neighbors[0].timers.write_timeout, 180);
    let c = ok(&with_base(&format!(
        "[timers]\nwrite-timeout = 30\n[group.g]\noutput-buffer = 1048576\n{NEIGHBOR}group = \"g\"\n"
    )));
    assert_eq!(c.neighbors[0].output_buffer, 1 << 20);
    assert_eq!(c.neighbors[0].timers.write_timeout, 30);
    for bad in ["0", "1048575", "-5"] {
        one_error(
            &with_base(&format!("[group.g]\noutput-buffer = {bad}\n")),
            4,
            "group.g.output-buffer",
            &format!(
                "output buffer {bad} is out of range (octets queued for the neighbour: at least 1048576, 1 MiB)"
            ),
        );
    }
    one_error(
        &with_base("[timers]\nwrite-timeout = 0\n"),
        4,
        "timers.write-timeout",
        "write timeout 0 is out of range (1 to 65535 seconds)",
    );
}
