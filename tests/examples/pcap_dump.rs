//! Prints per-file BGP counts in the data README's format.
use std::collections::BTreeMap;

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                println!("{path}: {e}");
                continue;
            }
        };
        let desync = if std::env::var_os("ABANDON").is_some() {
            reflex_tests::pcap::Desync::Abandon
        } else {
            reflex_tests::pcap::Desync::Resync
        };
        match reflex_tests::pcap::bgp_messages_with(&bytes, &reflex_tests::pcap::BGP_PORTS, desync)
        {
            Ok(r) => {
                let mut types = BTreeMap::new();
                let mut notif = BTreeMap::new();
                for m in &r.messages {
                    *types.entry(m.msg_type).or_insert(0) += 1;
                    if m.msg_type == 3 {
                        let k = format!(
                            "{}/{}",
                            m.bytes.get(19).copied().unwrap_or(0),
                            m.bytes.get(20).copied().unwrap_or(0)
                        );
                        *notif.entry(k).or_insert(0) += 1;
                    }
                }
                let mut an = BTreeMap::new();
                for a in &r.anomalies {
                    if let Some(t) = a.msg_type {
                        *types.entry(t).or_insert(0) += 1;
                    }
                    *an.entry(a.kind.name()).or_insert(0) += 1;
                }
                if std::env::var_os("VERBOSE").is_some() {
                    for m in &r.messages {
                        println!(
                            "  msg frame={} type={} len={} {}->{}",
                            m.frame,
                            m.msg_type,
                            m.bytes.len(),
                            m.flow.src,
                            m.flow.dst
                        );
                    }
                    for a in &r.anomalies {
                        println!(
                            "  anomaly frame={} {:?} {}->{}",
                            a.frame, a.kind, a.flow.src, a.flow.dst
                        );
                    }
                }
                let name = path.rsplit('/').next().unwrap_or(&path);
                println!(
                    "{name} lt={} pkts={} msgs={types:?} notif={notif:?} anomalies={an:?}",
                    r.link_type, r.packets
                );
            }
            Err(e) => println!("{path}: ERROR {e}"),
        }
    }
}
