//! The border role end to end: a border Reflex with eBGP sessions to BIRD
//! (AS 65010, over two links and IPv4 and IPv6) and an iBGP session to a
//! Reflex reflector (which reflects a BIRD client's routes) installs its
//! best routes into kernel table 1000, and packets flow through them
//! across three namespaces. Then: a withdrawal, ECMP, next-hop
//! re-resolution, and a kill -9 restart that removes nothing.
//!
//! ```text
//!  ext (BIRD 65010)          border (Reflex)            core-rr (Reflex RR)
//!  A.2, C.2 ------ LAN A/C ------ A.1, C.1, B.1 ---- LAN B ---- B.2
//!  lo 198.19.1.1                                                 |
//!                                                 client (BIRD 65000) B.3
//!                                                 lo 198.19.2.1
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::Bird;
use reflex_tests::netns::{Daemon, Lan, Node, wait_for};
use std::path::Path;

const TABLE: &str = "1000";

/// `ip -o route show table 1000 proto bgp` in both families, one line a
/// route (`\` between a multipath route's hops).
fn bgp_routes(n: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for family in ["-4", "-6"] {
        let text = n
            .run(&[
                "ip", family, "-o", "route", "show", "table", TABLE, "proto", "bgp",
            ])
            .unwrap_or_default();
        out.extend(
            text.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
        );
    }
    out.sort();
    out
}

fn route_of<'a>(routes: &'a [String], prefix: &str) -> Option<&'a String> {
    routes.iter().find(|l| l.starts_with(&format!("{prefix} ")))
}

fn ip(n: &Node, args: &[&str]) {
    let mut v = vec!["ip"];
    v.extend_from_slice(args);
    n.run(&v).unwrap();
}

fn sysctl(n: &Node, key: &str) {
    n.run(&["sysctl", "-qw", key]).unwrap();
}

fn border_config(
    data: &Path,
    a: &Node,
    b: &Node,
    c: &Node,
    ext_a: &Node,
    ext_c: &Node,
    rr: &Node,
) -> String {
    format!(
        r#"router-id = "{a4}"
local-as = 65000
role = "border"
data-dir = "{data}"
ebgp-requires-policy = false
[listen]
addresses = ["{a4}", "{b4}", "{c4}", "{a6}"]
[fib]
table = {TABLE}
metric = 20
multipath = 4
sweep-timeout = 60
[timers]
connect-retry = 1
idle-hold = 1
[[neighbor]]
address = "{ea4}"
remote-as = 65010
[[neighbor]]
address = "{ea6}"
remote-as = 65010
[[neighbor]]
address = "{ec4}"
remote-as = 65010
[[neighbor]]
address = "{rr4}"
remote-as = 65000
"#,
        a4 = a.v4,
        b4 = b.v4,
        c4 = c.v4,
        a6 = a.v6,
        ea4 = ext_a.v4,
        ea6 = ext_a.v6,
        ec4 = ext_c.v4,
        rr4 = rr.v4,
        data = data.display(),
    )
}

fn reflector_config(data: &Path, rr: &Node, border: &Node, client: &Node) -> String {
    format!(
        r#"router-id = "{rr}"
local-as = 65000
data-dir = "{data}"
[listen]
addresses = ["{rr}"]
[timers]
connect-retry = 1
idle-hold = 1
[[neighbor]]
address = "{border}"
remote-as = 65000
route-reflector-client = true
[[neighbor]]
address = "{client}"
remote-as = 65000
route-reflector-client = true
"#,
        rr = rr.v4,
        border = border.v4,
        client = client.v4,
        data = data.display(),
    )
}

/// BIRD in the external AS: 198.19.1.0/24 and 198.19.5.0/24 and
/// 2001:db8:101::/48 over link A; 198.19.3.0/24 over both links (ECMP).
fn ext_config(a: &Node, c: &Node, border_a: &Node, border_c: &Node) -> String {
    format!(
        r#"router id {a4};
log stderr all;
protocol device {{}}
protocol static s4 {{ ipv4; route 198.19.1.0/24 blackhole; route 198.19.3.0/24 blackhole; }}
protocol static w4 {{ ipv4; route 198.19.5.0/24 blackhole; }}
protocol static s6 {{ ipv6; route 2001:db8:101::/48 blackhole; }}
protocol bgp a {{
  local {a4} as 65010; neighbor {ba4} as 65000;
  hold time 30; connect retry time 1; error wait time 1, 5; graceful restart on;
  ipv4 {{ import none; export all; next hop self; }};
}}
protocol bgp a6 {{
  local {a6} as 65010; neighbor {ba6} as 65000;
  hold time 30; connect retry time 1; error wait time 1, 5; graceful restart on;
  ipv6 {{ import none; export all; next hop self; }};
}}
protocol bgp c {{
  local {c4} as 65010; neighbor {bc4} as 65000;
  hold time 30; connect retry time 1; error wait time 1, 5; graceful restart on;
  ipv4 {{ import none; export where net = 198.19.3.0/24; next hop self; }};
}}
"#,
        a4 = a.v4,
        a6 = a.v6,
        c4 = c.v4,
        ba4 = border_a.v4,
        ba6 = border_a.v6,
        bc4 = border_c.v4,
    )
}

/// BIRD client of the reflector: 198.19.2.0/24 through itself, and
/// 198.19.4.0/24 with a next hop (198.19.250.1) the border reaches only
/// through a route of its main table.
fn client_config(client: &Node, rr: &Node) -> String {
    format!(
        r#"router id {c4};
log stderr all;
protocol device {{}}
protocol static s4 {{ ipv4; route 198.19.2.0/24 blackhole; route 198.19.4.0/24 blackhole; }}
protocol bgp reflector {{
  local {c4} as 65000; neighbor {rr4} as 65000;
  hold time 30; connect retry time 1; error wait time 1, 5; graceful restart on;
  ipv4 {{ import none; export filter {{
    if net = 198.19.4.0/24 then bgp_next_hop = 198.19.250.1;
    else bgp_next_hop = {c4};
    accept;
  }}; }};
}}
"#,
        c4 = client.v4,
        rr4 = rr.v4,
    )
}

fn ping(from: &Node, source: &str, to: &str) -> bool {
    from.run(&["ping", "-c", "2", "-i", "0.2", "-W", "2", "-I", source, to])
        .is_ok()
}

/// Waits until `check` holds of the border's BGP routes in table 1000.
fn until(border: &Node, secs: u64, dir: &Path, what: &str, check: impl Fn(&[String]) -> bool) {
    let got = wait_for(secs, || {
        let r = bgp_routes(border);
        check(&r).then_some(())
    });
    assert!(
        got.is_some(),
        "{what}: table {TABLE} holds {:#?}\nborder log:\n{}\nreflector log:\n{}\nBIRD logs:\n{}",
        bgp_routes(border),
        reflex_tests::reflex::log_tail(&dir.join("border")),
        reflex_tests::reflex::log_tail(&dir.join("rr")),
        bird_logs(dir),
    );
}

fn bird_logs(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("bird-") && name.ends_with(".log") {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            out.push_str(&format!("== {name}\n"));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    out
}

fn start_border(border: &Node, dir: &Path, config: &str) -> Daemon {
    reflex_tests::reflex::start(border, &dir.join("border"), config).unwrap()
}

#[test]
fn a_border_installs_its_best_routes_in_the_kernel_and_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["border", "rr"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut lan_a = Lan::new().unwrap();
    let mut lan_b = Lan::new().unwrap();
    let mut lan_c = Lan::new().unwrap();
    let border_a = lan_a.node(1).unwrap();
    let ext_a = lan_a.node(2).unwrap();
    let border_b = lan_b.join(&border_a, 1, "eth1").unwrap();
    let rr = lan_b.node(2).unwrap();
    let client = lan_b.node(3).unwrap();
    let border_c = lan_c.join(&border_a, 1, "eth2").unwrap();
    let ext_c = lan_c.join(&ext_a, 2, "eth1").unwrap();
    let border = border_a.clone();

    // Forwarding in the border through table 1000; the ends route to each
    // other through the border statically.
    sysctl(&border, "net.ipv4.ip_forward=1");
    sysctl(&border, "net.ipv6.conf.all.forwarding=1");
    ip(&border, &["rule", "add", "pref", "100", "lookup", TABLE]);
    ip(
        &border,
        &["-6", "rule", "add", "pref", "100", "lookup", TABLE],
    );
    ip(&ext_a, &["addr", "add", "198.19.1.1/32", "dev", "lo"]);
    ip(&ext_a, &["addr", "add", "2001:db8:101::1/128", "dev", "lo"]);
    ip(&client, &["addr", "add", "198.19.2.1/32", "dev", "lo"]);
    let (b_a4, b_a6, b_b4) = (
        border_a.v4.to_string(),
        border_a.v6.to_string(),
        border_b.v4.to_string(),
    );
    ip(&ext_a, &["route", "add", "198.19.2.0/24", "via", &b_a4]);
    ip(&client, &["route", "add", "198.19.1.0/24", "via", &b_b4]);
    ip(
        &client,
        &[
            "-6",
            "route",
            "add",
            "2001:db8:101::/48",
            "via",
            &border_b.v6.to_string(),
        ],
    );
    let lan_b6 = format!("2001:db8:{:x}::/64", border_b.v6.segments()[2]);
    ip(&ext_a, &["-6", "route", "add", &lan_b6, "via", &b_a6]);
    // The next hop of 198.19.4.0/24 resolves through this static route.
    ip(
        &border,
        &[
            "route",
            "add",
            "198.19.250.0/24",
            "via",
            &client.v4.to_string(),
        ],
    );

    let _rr = reflex_tests::reflex::start(
        &rr,
        &root.join("rr"),
        &reflector_config(&root.join("rr/data"), &rr, &border_b, &client),
    )
    .unwrap();
    let _client = Bird::start_text(&client, root, &client_config(&client, &rr)).unwrap();
    let _ext = Bird::start_text(
        &ext_a,
        root,
        &ext_config(&ext_a, &ext_c, &border_a, &border_c),
    )
    .unwrap();
    let config = border_config(
        &root.join("border/data"),
        &border_a,
        &border_b,
        &border_c,
        &ext_a,
        &ext_c,
        &rr,
    );
    let mut reflex = start_border(&border, root, &config);

    // Every route, with the right gateway; ECMP over both links.
    let (ea, ec, cl) = (
        ext_a.v4.to_string(),
        ext_c.v4.to_string(),
        client.v4.to_string(),
    );
    let expected = |r: &[String]| {
        let via =
            |p: &str, gw: &str| route_of(r, p).is_some_and(|l| l.contains(&format!("via {gw} ")));
        via("198.19.1.0/24", &ea)
            && via("198.19.5.0/24", &ea)
            && via("2001:db8:101::/48", &ext_a.v6.to_string())
            && via("198.19.2.0/24", &cl)
            && via("198.19.4.0/24", &cl)
            && route_of(r, "198.19.3.0/24").is_some_and(|l| {
                l.contains(&format!("nexthop via {ea} "))
                    && l.contains(&format!("nexthop via {ec} "))
            })
    };
    until(&border, 60, root, "every route learned", expected);
    let routes = bgp_routes(&border);
    assert!(
        routes.iter().all(|l| l.contains("metric 20")),
        "{routes:#?}"
    );
    assert_eq!(routes.len(), 6, "{routes:#?}");

    // Packets flow through them, across three namespaces, both families.
    assert!(
        ping(&ext_a, "198.19.1.1", "198.19.2.1"),
        "IPv4 ping ext -> client"
    );
    assert!(
        ping(&client, &client.v6.to_string(), "2001:db8:101::1"),
        "IPv6 ping client -> ext"
    );

    // A withdrawal removes the kernel route.
    _ext.birdc("disable w4").unwrap();
    until(&border, 20, root, "198.19.5.0/24 withdrawn", |r| {
        route_of(r, "198.19.5.0/24").is_none()
    });

    // The next hop's underlying route changes: re-resolved; gone: the
    // route is not best any more and leaves the kernel.
    let other = format!("198.18.{}.4", border_b.v4.octets()[2]);
    ip(
        &border,
        &["route", "replace", "198.19.250.0/24", "via", &other],
    );
    until(&border, 20, root, "198.19.4.0/24 re-resolved", |r| {
        route_of(r, "198.19.4.0/24").is_some_and(|l| l.contains(&format!("via {other} ")))
    });
    ip(&border, &["route", "del", "198.19.250.0/24"]);
    until(&border, 20, root, "198.19.4.0/24 unresolvable", |r| {
        route_of(r, "198.19.4.0/24").is_none()
    });
    ip(&border, &["route", "add", "198.19.250.0/24", "via", &cl]);
    until(&border, 20, root, "198.19.4.0/24 resolvable again", |r| {
        route_of(r, "198.19.4.0/24").is_some_and(|l| l.contains(&format!("via {cl} ")))
    });

    // kill -9: the routes stay in the kernel; a restart, after every
    // neighbour's End-of-RIB, leaves the same table without removing and
    // adding anything in between.
    let before = bgp_routes(&border);
    reflex.kill();
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(
        bgp_routes(&border),
        before,
        "routes changed when the daemon died"
    );
    let mut reflex = restart_without_changes(&border, root, &config, &before, "kill");
    assert!(
        ping(&ext_a, "198.19.1.1", "198.19.2.1"),
        "ping after the restart"
    );

    // A clean stop (SIGTERM) leaves the routes (retain-on-shutdown).
    reflex.signal("TERM").unwrap();
    let stopped = wait_for(10, || (!reflex.is_running()).then_some(()));
    assert!(stopped.is_some(), "the border did not stop on SIGTERM");
    assert_eq!(
        bgp_routes(&border),
        before,
        "routes removed by a clean stop"
    );
    // ... and a start after it changes nothing either (the neighbours'
    // routes are gone from the RIB, but the sweep waits for them).
    let mut reflex = restart_without_changes(&border, root, &config, &before, "stop");

    // retain-on-shutdown = false: a clean stop removes them all.
    reflex.signal("TERM").unwrap();
    assert!(wait_for(10, || (!reflex.is_running()).then_some(())).is_some());
    let config = config.replace(
        "sweep-timeout = 60\n",
        "sweep-timeout = 60\nretain-on-shutdown = false\n",
    );
    let mut reflex = start_border(&border, root, &config);
    let back = wait_for(60, || {
        reflex_tests::reflex::log(&root.join("border"))
            .contains("every neighbour sent End-of-RIB: sweeping")
            .then_some(())
    });
    assert!(back.is_some(), "no sweep after the last restart");
    reflex.signal("TERM").unwrap();
    assert!(wait_for(10, || (!reflex.is_running()).then_some(())).is_some());
    assert_eq!(
        bgp_routes(&border),
        Vec::<String>::new(),
        "routes left by a clean stop"
    );
}

/// Starts the border again while `ip monitor route` watches its
/// namespace: after every neighbour's End-of-RIB the table is `before`,
/// and no route of ours was added, replaced or removed in between.
fn restart_without_changes(
    border: &Node,
    root: &Path,
    config: &str,
    before: &[String],
    what: &str,
) -> Daemon {
    let monitor_log = root.join(format!("ip-monitor-{what}.log"));
    let mut monitor_cmd = border.command("ip");
    monitor_cmd
        .args(["monitor", "route"])
        .stdout(std::fs::File::create(&monitor_log).unwrap());
    let mut monitor = Daemon::spawn("ip monitor", monitor_cmd).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let reflex = start_border(border, root, config);
    let swept = wait_for(60, || {
        reflex_tests::reflex::log(&root.join("border"))
            .contains("every neighbour sent End-of-RIB: sweeping")
            .then_some(())
    });
    assert!(
        swept.is_some(),
        "no sweep after End-of-RIB ({what}):\n{}",
        reflex_tests::reflex::log_tail(&root.join("border"))
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    monitor.kill();
    assert_eq!(bgp_routes(border), before, "after the restart ({what})");
    let events = std::fs::read_to_string(&monitor_log).unwrap();
    let ours: Vec<&str> = events
        .lines()
        .filter(|l| l.contains(&format!("table {TABLE}")) || l.contains("proto bgp"))
        .collect();
    assert!(
        ours.is_empty(),
        "routes were removed or rewritten across the restart ({what}): {ours:#?}\n{}",
        reflex_tests::reflex::log(&root.join("border"))
            .lines()
            .filter(|l| !l.contains("DEBUG"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    reflex
}
