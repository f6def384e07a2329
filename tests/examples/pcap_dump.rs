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
        match reflex_tests::pcap::bgp_messages(&bytes, &reflex_tests::pcap::BGP_PORTS) {
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
                    *an.entry(a.kind.name()).or_insert(0) += 1;
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
