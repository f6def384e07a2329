//! Issue 16 (e): a one-member node stopped (SIGTERM) and started again on
//! its store costs its clients nothing. A BIRD, an FRR and a GoBGP client
//! each hold a full IPv4 table (replayed from ../shared/bgp-data by a
//! source that reconnects and sends it again, as a real speaker would,
//! and that keeps a live update stream going: 50 more prefixes announced
//! and withdrawn in turn every 300 ms);
//! every client's route count is read every 100 ms through the whole
//! event, and the lowest count any client shows must be the full table.
//!
//! What keeps the routes: the node stops as a restarting speaker (RFC
//! 4724 §4.1): to a client that negotiated the N bit (FRR, GoBGP) a Cease
//! / Administrative Reset, which RFC 8538 makes a graceful restart; to a
//! helper without it (BIRD 2.0) the connection closed with no NOTIFICATION.
//! The store keeps every path; the node comes back announcing Restart and
//! Forwarding State, defers selection until the neighbours of before have
//! sent End-of-RIB, then sends each client its table and End-of-RIB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::Bird;
use reflex_tests::continuity::{Sampler, Series, check_counts};
use reflex_tests::frr::Frr;
use reflex_tests::gobgp::Gobgp;
use reflex_tests::netns::{Lan, Node, wait_for};
use reflex_tests::replay::{Routes, Sender, Source, Table, full_ipv4_table};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const AS: u32 = 65000;

/// Prefixes of the live update stream.
const CHURN: usize = 50;

/// The longest time between two readings of a client that the test takes
/// as continuous: the sampler asks every 100 ms, and a client busy taking
/// in a full table may answer that late.
const MAX_GAP: Duration = Duration::from_secs(2);

/// The same for GoBGP, whose API does not answer while it takes in a full
/// table (the reflector's, sent again after the restart): the gaps are
/// printed; what it showed before and after each one is checked.
const MAX_GAP_GOBGP: Duration = Duration::from_secs(40);

fn reflex_config(rr: &Node, data: &Path, source: &Node, clients: &[&Node]) -> String {
    let mut c = format!(
        "router-id = \"{rr}\"\nlocal-as = {AS}\ndata-dir = \"{}\"\n[listen]\naddresses = [\"{rr}\"]\n\
         \n[[neighbor]]\naddress = \"{}\"\nremote-as = {AS}\nroute-reflector-client = true\npassive = true\n",
        data.display(),
        source.v4,
        rr = rr.v4,
    );
    for n in clients {
        c.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = {AS}\nroute-reflector-client = true\nconnect-retry = 2\nidle-hold = 1\n",
            n.v4
        ));
    }
    c
}

/// BIRD as a graceful-restart helper (it announces the capability; it has
/// no N bit). `direct`: next hops on the LAN resolve without an IGP.
fn bird_config(me: &Node, rr: &Node) -> String {
    format!(
        "router id {me};\nlog stderr all;\ndebug protocols {{ states, events }};\nprotocol device {{}}\n\
         protocol bgp reflector {{\n  local {me} as {AS};\n  neighbor {rr} as {AS};\n  \
         hold time 30;\n  connect retry time 2;\n  error wait time 1, 5;\n  direct;\n  \
         graceful restart on;\n  ipv4 {{ import all; export none; }};\n}}\n",
        me = me.v4,
        rr = rr.v4,
    )
}

/// FRR 8.4: a helper by default, with the N bit (RFC 8538) by default.
fn frr_config(me: &Node, rr: &Node) -> String {
    format!(
        "frr defaults traditional\nhostname client\nlog stdout informational\n!\nrouter bgp {AS}\n \
         bgp router-id {me}\n no bgp default ipv4-unicast\n neighbor {rr} remote-as {AS}\n \
         neighbor {rr} timers connect 2\n neighbor {rr} update-source {me}\n \
         address-family ipv4 unicast\n  neighbor {rr} activate\n exit-address-family\n!\n",
        me = me.v4,
        rr = rr.v4,
    )
}

/// GoBGP 3: a helper with the N bit, as configured.
fn gobgp_config(me: &Node, rr: &Node) -> String {
    format!(
        "[global.config]\n  as = {AS}\n  router-id = \"{me}\"\n  port = 179\n\
         \n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{rr}\"\n    peer-as = {AS}\n\
         \x20 [neighbors.timers.config]\n    connect-retry = 2\n    hold-time = 30\n    keepalive-interval = 10\n    idle-hold-time-after-reset = 1\n\
         \x20 [neighbors.graceful-restart.config]\n    enabled = true\n    helper-only = true\n    notification-enabled = true\n    restart-time = 120\n\
         \x20 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n\
         \x20   [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n",
        me = me.v4,
        rr = rr.v4,
    )
}

/// Routes FRR holds from the reflector `rr` (stale ones included: its
/// prefix count keeps them while the session is down).
fn frr_count(f: &Frr, rr: &Node) -> Option<usize> {
    let j = f.json("show bgp ipv4 unicast summary json")?;
    let n = j
        .get("ipv4Unicast")
        .unwrap_or(&j)
        .get("peers")?
        .get(&rr.v4.to_string())?
        .get("pfxRcd")?
        .as_u64()?;
    usize::try_from(n).ok()
}

/// Paths GoBGP accepted from its neighbour (stale ones included), from
/// its neighbour list: cheap, where a walk of its table takes seconds
/// under load.
fn gobgp_count(g: &Gobgp) -> Option<usize> {
    let out = g.gobgp(&["neighbor", "-j"]).ok()?;
    let at = out.find("\"accepted\":")? + "\"accepted\":".len();
    let digits: String = out[at..]
        .chars()
        .skip_while(|c| c.is_whitespace())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The per-client figures of one event, printed and checked.
fn report(event: &str, series: &[Series], full: usize, from: Instant, to: Instant) {
    let all: Vec<&Series> = series.iter().collect();
    let failures = check_counts(event, &all, full, from, to, |name| {
        if name == "GoBGP" {
            MAX_GAP_GOBGP
        } else {
            MAX_GAP
        }
    });
    assert!(failures.is_empty(), "{event}: {failures:?}");
}

#[test]
fn a_one_member_node_restarts_without_a_client_losing_a_route() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let routes = Routes::from_rib(&full_ipv4_table()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let src = lan.node(2).unwrap();
    let (nb, nf, ng) = (
        lan.node(3).unwrap(),
        lan.node(4).unwrap(),
        lan.node(5).unwrap(),
    );
    let data = dir.path().join("data");
    let config = reflex_config(&rr, &data, &src, &[&nb, &nf, &ng]);
    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    let mut reflex = reflex_tests::reflex::start(&rr, &first, &config).unwrap();
    let bird = Arc::new(Bird::start_text(&nb, dir.path(), &bird_config(&nb, &rr)).unwrap());
    let frr = Arc::new(Frr::start_text(&nf, dir.path(), &frr_config(&nf, &rr), AS).unwrap());
    let gobgp = Arc::new(Gobgp::start_text(&ng, dir.path(), &gobgp_config(&ng, &rr)).unwrap());
    // GoBGP's table route by route, from its event stream.
    let gobgp_routes = gobgp.monitor(&[rr.v4.into()]).unwrap();
    let tables = |tag: &str| -> Vec<reflex_tests::table::Routes> {
        vec![
            bird.routes(&dir.path().join(format!("bird-{tag}.mrt")))
                .unwrap(),
            frr.routes(&dir.path().join(format!("frr-{tag}.mrt")))
                .unwrap(),
            gobgp_routes.routes(),
        ]
    };
    let sender = Sender::internal(&src, AS);
    // A live update stream: 50 prefixes outside the table (198.19.0.0/24
    // to 198.19.49.0/24) announced and withdrawn in turn every 300 ms.
    let churn: Vec<speaker::wire::Prefix> = (0..CHURN as u8)
        .map(|i| format!("198.19.{i}.0/24").parse().unwrap())
        .collect();
    let table = Arc::new(Table::encode(&routes, &sender).with_churn(
        &routes,
        &sender,
        &churn,
        Duration::from_millis(300),
    ));
    drop(routes);
    let source = Source::start_reconnecting(&src.ns, rr.v4, sender, table.clone());
    source
        .wait_sent(Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("replay: {e}\n{}", reflex_tests::reflex::log_tail(&first)));
    let counts = {
        let (b, f, g, rr) = (bird.clone(), frr.clone(), gobgp.clone(), rr.clone());
        move || [b.route_count(), frr_count(&f, &rr), gobgp_count(&g)]
    };
    // The full table as the clients hold it (what the reflector sends of
    // the source's table), churn aside: over the last 3 s every client's
    // lowest count is the same, and none is above it by more than the
    // churn's prefixes.
    let mut window: Vec<[Option<usize>; 3]> = Vec::new();
    let settled = wait_for(300, || {
        window.push(counts());
        if window.len() > 15 {
            window.remove(0);
        }
        if window.len() < 15 {
            return None;
        }
        let lowest: Vec<usize> = (0..3)
            .map(|i| window.iter().map(|c| c[i].unwrap_or(0)).min().unwrap_or(0))
            .collect();
        let f = lowest[0];
        let within = window.iter().all(|c| {
            c.iter()
                .all(|n| n.is_some_and(|n| n >= f && n <= f + CHURN))
        });
        (f > 0 && lowest.iter().all(|l| *l == f) && within).then_some(f)
    });
    let Some(full) = settled else {
        panic!(
            "the clients do not hold the same table ({} prefixes sent): {:?}\n{}",
            table.prefixes,
            counts(),
            reflex_tests::reflex::log_tail(&first)
        );
    };
    assert!(
        full + 1000 > table.prefixes,
        "the clients hold {full} of {} prefixes",
        table.prefixes
    );
    eprintln!(
        "every client holds the full table: {full} routes (of {} sent by the source)",
        table.prefixes
    );
    // Each client's table before the event, route by route: what it must
    // hold again after it (the live stream's prefixes aside).
    let reference = tables("reference");

    let mut sampler = Sampler::new();
    {
        let b = bird.clone();
        sampler.watch("BIRD", move || b.route_count());
        let (f, r) = (frr.clone(), rr.clone());
        sampler.watch("FRR", move || frr_count(&f, &r));
        let g = gobgp.clone();
        sampler.watch("GoBGP", move || gobgp_count(&g));
    }
    std::thread::sleep(Duration::from_secs(1));
    let from = Instant::now();
    let churned = source.churned();
    reflex.signal("TERM").unwrap();
    assert!(
        reflex.wait_exit(Duration::from_secs(20)),
        "reflex did not stop on SIGTERM\n{}",
        reflex_tests::reflex::log_tail(&first)
    );
    let stopped = from.elapsed();
    let second = dir.path().join("second");
    std::fs::create_dir_all(&second).unwrap();
    let reflex = reflex_tests::reflex::start(&rr, &second, &config).unwrap();
    // Back: the deferral over (every neighbour of before sent End-of-RIB),
    // the source's session up again, and every client at the full table.
    let deferral_over = || {
        reflex_tests::reflex::log(&second)
            .lines()
            .any(|l| l.contains("route selection deferral over"))
    };
    let back = wait_for(180, || {
        (deferral_over()
            && source.sessions() >= 2
            && counts().iter().all(|n| n.is_some_and(|n| n >= full)))
        .then(Instant::now)
    });
    assert!(
        back.is_some(),
        "not back after the restart: {:?}, source sessions {}\n{}\n{}",
        counts(),
        source.sessions(),
        reflex_tests::reflex::log(&second)
            .lines()
            .filter(|l| !l.contains("DEBUG"))
            .take(60)
            .collect::<Vec<_>>()
            .join("\n"),
        reflex_tests::reflex::log_tail(&second)
    );
    // A few seconds more: End-of-RIB sweeps whatever was not sent again.
    std::thread::sleep(Duration::from_secs(5));
    let to = Instant::now();
    let series = sampler.finish();
    eprintln!(
        "restart of a one-member node: stopped in {:.1} s; clients back to their sessions' End-of-RIB in {:.1} s after SIGTERM",
        stopped.as_secs_f64(),
        back.map_or(0.0, |b| (b - from).as_secs_f64())
    );
    let churned = source.churned() - churned;
    eprintln!("live update stream: {churned} UPDATEs of {CHURN} prefixes during the event");
    assert!(
        churned >= 20,
        "the update stream stalled: {churned} UPDATEs"
    );
    report("restart of a one-member node", &series, full, from, to);
    for s in &series {
        let last = s.last().unwrap_or(0);
        assert!(
            (full..=full + CHURN).contains(&last),
            "{}: {last} routes after the restart (the table is {full}, the stream {CHURN})",
            s.name
        );
    }
    let mut read = 0;
    let differences = reflex_tests::table::until_equal(
        &reference,
        || {
            read += 1;
            tables(&read.to_string())
        },
        |p| churn.contains(p),
        Instant::now() + Duration::from_secs(60),
    );
    for (name, d) in ["BIRD", "FRR", "GoBGP"].iter().zip(&differences) {
        eprintln!(
            "restart of a one-member node: {name}: route by route against the table before it: {d}"
        );
    }
    assert!(
        differences.iter().all(|d| d.is_empty()),
        "a client's table differs from the one before the restart"
    );
    let log = reflex_tests::reflex::log(&second);
    assert!(
        log.contains("deferring route selection"),
        "no deferral after the restart\n{}",
        reflex_tests::reflex::log_tail(&second)
    );
    drop(source);
    drop(reflex);
}
