//! Prints per-file BGP counts in the shape of the data README's PART B.
//!
//! Usage: `cargo run -p reflex-tests --example pcap_dump -- FILE...`
//! Env: `ABANDON=1` uses the README parser's desync policy, `VERBOSE=1` lists
//! every message and anomaly.
use std::collections::BTreeMap;

use reflex_tests::pcap::{BGP_PORTS, Desync, PcapBgp, bgp_messages_with};

fn main() {
    let desync = match std::env::var_os("ABANDON") {
        Some(_) => Desync::Abandon,
        None => Desync::Resync,
    };
    let verbose = std::env::var_os("VERBOSE").is_some();
    for path in std::env::args().skip(1) {
        let name = path.rsplit('/').next().unwrap_or(&path);
        let res = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| bgp_messages_with(&b, &BGP_PORTS, desync).map_err(|e| e.to_string()));
        match res {
            Ok(r) => {
                if verbose {
                    list(&r);
                }
                summary(name, &r);
            }
            Err(e) => println!("{name}: ERROR {e}"),
        }
    }
}

fn list(r: &PcapBgp) {
    for m in &r.messages {
        let (f, t, l) = (m.frame, m.msg_type, m.bytes.len());
        println!(
            "  msg frame={f} type={t} len={l} {}->{}",
            m.flow.src, m.flow.dst
        );
    }
    for a in &r.anomalies {
        println!(
            "  anomaly frame={} {:?} {}->{}",
            a.frame, a.kind, a.flow.src, a.flow.dst
        );
    }
}

/// Message types count every header seen, as the README does.
fn summary(name: &str, r: &PcapBgp) {
    let mut types = BTreeMap::new();
    let mut notif = BTreeMap::new();
    let mut anomalies = BTreeMap::new();
    for m in &r.messages {
        *types.entry(m.msg_type).or_insert(0) += 1;
        if let (3, Some(code), Some(sub)) = (m.msg_type, m.bytes.get(19), m.bytes.get(20)) {
            *notif.entry(format!("{code}/{sub}")).or_insert(0) += 1;
        }
    }
    for a in &r.anomalies {
        if let Some(t) = a.msg_type {
            *types.entry(t).or_insert(0) += 1;
        }
        *anomalies.entry(a.kind.name()).or_insert(0) += 1;
    }
    println!(
        "{name} lt={} pkts={} msgs={types:?} notif={notif:?} anomalies={anomalies:?}",
        r.link_type, r.packets
    );
}
