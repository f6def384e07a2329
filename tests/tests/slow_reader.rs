//! Issue 19 §1: peers that stop reading cost a bounded amount of memory
//! and do not slow the others. A one-member reflector holds a full table
//! (a replayed real feed, with a live update stream after it) and a BIRD
//! client; then two peers open sessions, send ROUTE-REFRESH a thousand
//! times each and never read again:
//!
//! - `bounded` has `output-buffer = 1048576`: the table it is sent on
//!   coming up (whole, some 60 MB) passes the bound at once, and the
//!   session is closed with Cease 6/8 (Out of Resources);
//! - `timed` has the default buffer and `write-timeout = 5`: its socket
//!   takes nothing for 5 s and the connection is closed. Its thousand
//!   ROUTE-REFRESHes are folded into one answer, paged as its socket takes
//!   them (which it never does).
//!
//! Throughout, the reflector's RSS (sampled every 100 ms) stays within
//! 160 MiB of what it was before they came: a table is some 60 MB, and
//! each stalled peer may hold one whole at once (the bounded one until its
//! table is found over the bound, the timed one until its write timeout);
//! each refresh answered whole, as before, would be tens of gigabytes. The
//! BIRD client never holds less than the full table.
//!
//! Then (issue 19 §4) a RIB query that matches nothing pages through the
//! table from its cursor (65,536 destinations a request at most), and the
//! streamed MRT dump holds the whole table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::Bird;
use reflex_tests::http::get;
use reflex_tests::netns::{Lan, Node, wait_for};
use reflex_tests::replay::{Routes, Sender, Source, Table, full_ipv4_table};
use reflex_tests::stalled::Stalled;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const AS: u32 = 65000;
/// The update stream: prefixes outside the table announced and withdrawn
/// in turn every 100 ms (tens of kilobytes a second to every client).
const CHURN: usize = 4000;
/// How far the reflector's RSS may grow while the peers are stalled: two
/// whole tables (some 60 MB each) and room (seen: 88 and 102 MiB).
const RSS_GROWTH: u64 = 160 << 20;

fn reflex_config(
    rr: &Node,
    data: &Path,
    src: &Node,
    bird: &Node,
    bounded: &Node,
    timed: &Node,
) -> String {
    format!(
        "router-id = \"{rr}\"\nlocal-as = {AS}\ndata-dir = \"{data}\"\n[listen]\naddresses = [\"{rr}\"]\n\
         [timers]\nconnect-retry = 1\nidle-hold = 1\n\
         [group.clients]\nremote-as = {AS}\nroute-reflector-client = true\n\
         [[neighbor]]\naddress = \"{src}\"\ngroup = \"clients\"\npassive = true\n\
         [[neighbor]]\naddress = \"{bird}\"\ngroup = \"clients\"\n\
         [[neighbor]]\naddress = \"{bounded}\"\ngroup = \"clients\"\npassive = true\noutput-buffer = 1048576\n\
         [[neighbor]]\naddress = \"{timed}\"\ngroup = \"clients\"\npassive = true\nwrite-timeout = 5\n",
        rr = rr.v4,
        src = src.v4,
        bird = bird.v4,
        bounded = bounded.v4,
        timed = timed.v4,
        data = data.display(),
    )
}

fn bird_config(me: &Node, rr: &Node) -> String {
    format!(
        "router id {me};\nlog stderr all;\nprotocol device {{}}\n\
         protocol bgp reflector {{\n  local {me} as {AS};\n  neighbor {rr} as {AS};\n  \
         hold time 30;\n  connect retry time 2;\n  error wait time 1, 5;\n  direct;\n  \
         ipv4 {{ import all; export none; }};\n}}\n",
        me = me.v4,
        rr = rr.v4,
    )
}

fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The reflector's view of neighbour `n`.
fn neighbor(rr: &Node, n: &Node) -> Option<serde_json::Value> {
    let api: SocketAddr = "127.0.0.1:8179".parse().ok()?;
    let r = get(&rr.ns, api, &format!("/api/v1/neighbors/{}", n.v4)).ok()?;
    (r.status == 200).then(|| serde_json::from_str(&r.body).ok())?
}

#[test]
fn peers_that_stop_reading_are_closed_at_their_bounds_and_cost_bounded_memory() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let routes = Routes::from_rib(&full_ipv4_table()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let src = lan.node(2).unwrap();
    let nb = lan.node(3).unwrap();
    let bounded = lan.node(4).unwrap();
    let timed = lan.node(5).unwrap();
    // The stalled peers' receive buffers stay small: what the reflector
    // sends them waits in the reflector.
    for n in [&bounded, &timed] {
        n.run(&["sysctl", "-qw", "net.ipv4.tcp_rmem=4096 4096 4096"])
            .unwrap();
    }
    let data = dir.path().join("data");
    let config = reflex_config(&rr, &data, &src, &nb, &bounded, &timed);
    let logs = dir.path().join("reflex");
    std::fs::create_dir_all(&logs).unwrap();
    let reflex = reflex_tests::reflex::start(&rr, &logs, &config).unwrap();
    let pid = reflex.pid().unwrap();
    let bird = Arc::new(Bird::start_text(&nb, dir.path(), &bird_config(&nb, &rr)).unwrap());
    let sender = Sender::internal(&src, AS);
    let churn: Vec<speaker::wire::Prefix> = (0..CHURN)
        .map(|i| {
            format!("198.19.{}.{}/30", i / 64, (i % 64) * 4)
                .parse()
                .unwrap()
        })
        .collect();
    let table = Arc::new(Table::encode(&routes, &sender).with_churn(
        &routes,
        &sender,
        &churn,
        Duration::from_millis(100),
    ));
    drop(routes);
    let source = Source::start(&src.ns, rr.v4, sender, table.clone());
    source
        .wait_sent(Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("replay: {e}\n{}", reflex_tests::reflex::log_tail(&logs)));
    // The BIRD client holds the table (churn aside).
    let full = table.prefixes - 1000;
    wait_for(180, || bird.route_count().filter(|n| *n >= full))
        .unwrap_or_else(|| panic!("BIRD never held the table: {:?}", bird.route_count()));
    let before = rss(pid).unwrap();

    // From here the RSS and BIRD's count are sampled every 100 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let lowest = Arc::new(AtomicUsize::new(usize::MAX));
    let sampler = {
        let (stop, lowest, bird) = (stop.clone(), lowest.clone(), bird.clone());
        std::thread::spawn(move || {
            let mut peak = 0u64;
            let t0 = Instant::now();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let r = rss(pid).unwrap_or(0);
                if n.is_multiple_of(20) {
                    eprintln!("rss at {:?}: {} MiB", t0.elapsed(), r >> 20);
                }
                n += 1;
                peak = peak.max(r);
                lowest.fetch_min(bird.route_count().unwrap_or(0), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
            peak
        })
    };
    let started = Instant::now();
    let stalled_bounded = Stalled::open(&bounded.ns, rr.v4, bounded.v4, AS, 1000).unwrap();
    let stalled_timed = Stalled::open(&timed.ns, rr.v4, timed.v4, AS, 1000).unwrap();

    // The bounded peer: Cease 6/8, counted, within a minute.
    let reset = wait_for(90, || {
        let v = neighbor(&rr, &bounded)?;
        (v["notifications_sent"]["6/8"].as_u64()? >= 1).then_some(v)
    });
    let bounded_after = started.elapsed();
    // The timed peer: closed by the write timeout.
    let timed_out = wait_for(90, || {
        let v = neighbor(&rr, &timed)?;
        (v["output_resets"].as_u64()? >= 1).then_some(v)
    });
    let timed_after = started.elapsed();
    // A few seconds more of the update stream with both gone.
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    drop((stalled_bounded, stalled_timed));
    let lowest = lowest.load(Ordering::Relaxed);
    let log = reflex_tests::reflex::log(&logs);
    eprintln!(
        "slow readers: bounded closed after {bounded_after:?}, timed after {timed_after:?}; \
         RSS {} MiB before, peak {} MiB; BIRD lowest {lowest} of {full}+",
        before >> 20,
        peak >> 20
    );
    let reset = reset.unwrap_or_else(|| {
        panic!(
            "the bounded peer was not closed with Cease 6/8: {:?}\n{}",
            neighbor(&rr, &bounded),
            reflex_tests::reflex::log_tail(&logs)
        )
    });
    assert!(reset["output_resets"].as_u64() >= Some(1), "{reset}");
    assert!(
        log.contains("output buffer over its bound"),
        "the reason is logged"
    );
    let timed_out = timed_out.unwrap_or_else(|| {
        panic!(
            "the timed peer was not closed by the write timeout: {:?}\n{}",
            neighbor(&rr, &timed),
            reflex_tests::reflex::log_tail(&logs)
        )
    });
    assert!(
        timed_out["notifications_sent"]
            .as_object()
            .is_some_and(|m| m.is_empty()),
        "closed by the write timeout, not a NOTIFICATION: {timed_out}"
    );
    assert!(
        log.contains("the peer took nothing for 5 s (write timeout)"),
        "the write timeout is logged"
    );
    assert!(
        peak <= before + RSS_GROWTH,
        "RSS grew from {} MiB to {} MiB",
        before >> 20,
        peak >> 20
    );
    assert!(
        lowest >= full,
        "the BIRD client fell to {lowest} routes (table {full}+)"
    );

    // Issue 19 §4, on the same full table (the update stream still on): a
    // RIB query that matches nothing pages through the table (at most
    // 65,536 destinations looked at per request) instead of one walk of
    // all of it, and the MRT dump, streamed a page at a time, holds it.
    let api: SocketAddr = "127.0.0.1:8179".parse().unwrap();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 20, "the query does not end");
        let r = get(
            &rr.ns,
            api,
            &format!("/api/v1/rib?community=65535:1&limit=10{after}"),
        )
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["routes"].as_array().map(Vec::len), Some(0), "{v}");
        match v["next"].as_str() {
            Some(n) => after = format!("&after={n}"),
            None => break,
        }
    }
    assert!(
        pages >= full / 65_536,
        "{pages} pages for {full} destinations"
    );
    let dump = dir.path().join("rib.mrt");
    let (code, out, err) = reflex_tests::reflex::ctl(&rr, None, &["dump", &dump.to_string_lossy()]);
    assert_eq!(code, Some(0), "{out}{err}");
    let v4 = reflex_tests::reflex::mrt_prefixes_v4(&dump);
    eprintln!("empty query: {pages} pages; MRT dump: {v4} IPv4 prefixes");
    assert!(v4 >= full, "the dump holds {v4} prefixes");
    drop(source);
    drop(reflex);
}
