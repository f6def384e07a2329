//! Every capture under the shared data folder, checked against the counts in
//! its README ("PART B - PCAP FILES").
//!
//! README conventions reproduced here: `msgs` counts every message header seen,
//! including a last message cut by the end of the capture; ports are 179/1179.
//! The README parser abandons a stream at its first bad header, while our
//! default resyncs on the next marker: the 7 fuzzed `*oobr*`/`-ub` rows whose
//! counts differ for that reason carry our figures too (`// differs:`), and a
//! second test shows `Desync::Abandon` reproduces every README figure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use reflex_tests::pcap::{BGP_PORTS, Desync, PcapBgp, bgp_messages, bgp_messages_with};

/// Space-separated `key=count` lists, as in the README (which uses JSON).
type Spec = &'static str;

struct Row {
    file: &'static str,
    lt: u16,
    pkts: usize,
    /// README figures: messages by type, NOTIFICATION code/subcode, anomalies.
    readme: (Spec, Spec, Spec),
    /// Our figures with the default (resync) policy where they differ.
    ours: Option<(Spec, Spec, Spec)>,
}

const fn r(
    file: &'static str,
    lt: u16,
    pkts: usize,
    msgs: Spec,
    notif: Spec,
    anomalies: Spec,
    ours: Option<(Spec, Spec, Spec)>,
) -> Row {
    Row {
        file,
        lt,
        pkts,
        readme: (msgs, notif, anomalies),
        ours,
    }
}

// file, lt, pkts, msgs, notif(code/sub), anomalies (README), ours if different.
#[rustfmt::skip]
const ROWS: &[Row] = &[
    r("tcpdump/bgp-4byte-asn.pcap", 1, 91, "OPEN=8 KEEPALIVE=16 UPDATE=10 NOTIFICATION=1", "6/6=1", "", None),
    r("tcpdump/bgp-addpath.pcap", 101, 1, "UPDATE=1", "", "", None),
    r("tcpdump/bgp-aigp-2.pcap", 1, 1, "UPDATE=1", "", "", None),
    // differs: the README parser abandons a stream at its first bad header; we resync on the next marker.
    r("tcpdump/bgp-aigp-oobr.pcap", 1, 1, "UPDATE=1", "", "bad_marker_or_desync=1",
      Some(("UPDATE=450", "", "bad_marker_or_desync=112 truncated_last_message=1"))),
    r("tcpdump/bgp-aigp.pcap", 178, 1, "UPDATE=2", "", "", None),
    // differs: the README parser abandons a stream at its first bad header; we resync on the next marker.
    r("tcpdump/bgp-as-path-oobr.pcap", 1, 4, "UPDATE=6", "", "bad_marker_or_desync=2",
      Some(("UPDATE=336", "", "bad_marker_or_desync=136 truncated_last_message=2"))),
    r("tcpdump/bgp-bfd-cease.pcap", 1, 1, "NOTIFICATION=1", "6/10=1", "", None),
    // differs: the README parser abandons a stream at its first bad header; we resync on the next marker.
    r("tcpdump/bgp-bgp_capabilities_print-oobr-1.pcap", 1, 1, "", "", "bad_marker_or_desync=1",
      Some(("OPEN=1", "", "bad_marker_or_desync=1"))),
    // differs: the README parser abandons a stream at its first bad header; we resync on the next marker.
    r("tcpdump/bgp-bgp_capabilities_print-oobr-2.pcap", 1, 1, "", "", "bad_marker_or_desync=1",
      Some(("OPEN=1", "", "bad_marker_or_desync=1"))),
    r("tcpdump/bgp-bgpsec.pcap", 1, 36, "OPEN=4 KEEPALIVE=4 UPDATE=24", "", "", None),
    r("tcpdump/bgp-cease-hard-reset.pcap", 1, 3, "OPEN=2 NOTIFICATION=1", "6/9=1", "gap_in_capture=1", None),
    r("tcpdump/bgp-encap.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("tcpdump/bgp-enhanced-route-refresh-subtype.pcapng", 113, 3, "ROUTE-REFRESH=3 UPDATE=5", "", "", None),
    r("tcpdump/bgp-enhanced-route-refresh.pcapng", 1, 1, "OPEN=1", "", "", None),
    r("tcpdump/bgp-evpn.pcap", 1, 1, "OPEN=1", "", "", None),
    r("tcpdump/bgp-extended-msg.pcapng", 1, 1, "OPEN=1", "", "", None),
    r("tcpdump/bgp-extended-optional-parameters-length.pcapng", 113, 1, "OPEN=1", "", "", None),
    r("tcpdump/bgp-extended-shutdown-msg.pcapng", 113, 1, "NOTIFICATION=1", "6/2=1", "", None),
    r("tcpdump/bgp-infinite-loop.pcap", 113, 5, "UPDATE=4", "", "", None),
    r("tcpdump/bgp-large-community.pcap", 1, 1, "UPDATE=5", "", "", None),
    r("tcpdump/bgp-link-bw-extcommunity.pcapng", 1, 1, "UPDATE=6", "", "", None),
    r("tcpdump/bgp-lu-multiple-labels.pcap", 1, 39, "OPEN=4 KEEPALIVE=8 UPDATE=7 NOTIFICATION=1", "6/4=1", "", None),
    r("tcpdump/bgp-malformed-hard-reset.pcap", 1, 1, "NOTIFICATION=1", "6/9=1", "", None),
    r("tcpdump/bgp-orf.pcapng", 113, 1, "ROUTE-REFRESH=2", "", "", None),
    r("tcpdump/bgp-ovs.pcapng", 113, 1, "UPDATE=4", "", "", None),
    r("tcpdump/bgp-role.pcapng", 113, 9, "OPEN=1 UPDATE=9 KEEPALIVE=2", "", "gap_in_capture=1", None),
    r("tcpdump/bgp-rt-prefix.pcap", 1, 14, "UPDATE=8", "", "", None),
    r("tcpdump/bgp-shutdown-communication.pcapng", 1, 2, "NOTIFICATION=1", "6/2=1", "", None),
    r("tcpdump/bgp-shutdown-msg-variations.pcap", 1, 3, "NOTIFICATION=1", "6/4=1", "", None),
    // differs: the README parser abandons a stream at its first bad header; we resync on the next marker.
    r("tcpdump/bgp-ub.pcap", 1, 1, "", "", "bad_marker_or_desync=1",
      Some(("UPDATE=22 TYPE40=1", "", "bad_marker_or_desync=14 truncated_last_message=1"))),
    // differs: the README parser abandons a stream at its first bad header; we resync on the next marker.
    r("tcpdump/bgp_mp_reach_nlri-oobr.pcap", 1, 1, "", "", "bad_marker_or_desync=1",
      Some(("UPDATE=6", "", "bad_marker_or_desync=7"))),
    r("tcpdump/bgp_mvpn_6_and_7_oobr.pcap", 1, 1, "UPDATE=1", "", "bad_marker_or_desync=1", None),
    r("tcpdump/bgp_notification_rr_msg_error.pcap", 1, 1, "NOTIFICATION=1", "7/1=1", "", None),
    r("tcpdump/bgp_pmsi_tunnel-oobr.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("tcpdump/bgp_vpn_attrset.pcap", 9, 1, "UPDATE=1", "", "", None),
    // differs: the README parser abandons a stream at its first bad header; we resync on the next marker.
    r("tcpdump/bgp_vpn_rt-oobr.pcap", 1, 38, "UPDATE=1", "", "bad_marker_or_desync=1",
      Some(("UPDATE=3", "", "bad_marker_or_desync=3"))),
    r("tcpdump/bgpsec_invalid_signature_block_length.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("tcpdump/mpbgp-linklocal-nexthop.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("netgauze/bgp-multiple-sessions.pcap", 1, 489, "KEEPALIVE=171 OPEN=20 UPDATE=100", "", "", None),
    r("netgauze/pcap-reader-bgp.pcap", 1, 20, "OPEN=2 KEEPALIVE=4 UPDATE=3", "", "", None),
    r("netgauze/pmacct_300-BGP-IPv6-CISCO-extNH_enc__traffic-00.pcap", 1, 8, "OPEN=1 KEEPALIVE=1 UPDATE=45", "", "", None),
    r("netgauze/pmacct_301-BGP-CISCO-pretag__traffic-00.pcap", 1, 5, "OPEN=1 KEEPALIVE=1 UPDATE=21", "", "truncated_last_message=1", None),
    r("netgauze/pmacct_302-BGP-IPv6-multiple-sources__traffic-00.pcap", 1, 7, "OPEN=1 KEEPALIVE=1 UPDATE=25", "", "truncated_last_message=1", None),
    r("netgauze/pmacct_302-BGP-IPv6-multiple-sources__traffic-01.pcap", 1, 7, "OPEN=1 KEEPALIVE=1 UPDATE=27", "", "truncated_last_message=1", None),
    r("netgauze/pmacct_302-BGP-IPv6-multiple-sources__traffic-02.pcap", 1, 4, "OPEN=1 KEEPALIVE=1 UPDATE=8", "", "", None),
    r("netgauze/pmacct_302-BGP-IPv6-multiple-sources__traffic-03.pcap", 1, 4, "OPEN=1 KEEPALIVE=1 UPDATE=8", "", "", None),
    r("netgauze/pmacct_303-BGP-high-availability__traffic-00.pcap", 1, 47, "OPEN=1 KEEPALIVE=1 UPDATE=45", "", "", None),
    r("netgauze/pmacct_305-BGP-mem-leak-test__bgp-multi-sources-open.pcap", 1, 8, "OPEN=8", "", "", None),
    r("netgauze/pmacct_305-BGP-mem-leak-test__bgp-multi-sources-update-keepalive.pcap", 1, 448, "KEEPALIVE=32 UPDATE=416", "", "", None),
    r("netgauze/pmacct_500-IPFIXv10-BGP-CISCO-SRv6__traffic-00.pcap", 1, 43, "OPEN=1 KEEPALIVE=1 UPDATE=6", "", "", None),
    r("netgauze/pmacct_501-IPFIXv10-BGP-IPv6-CISCO-MPLS__traffic-00.pcap", 1, 71, "OPEN=1 KEEPALIVE=1 UPDATE=28", "", "", None),
    r("netgauze/pmacct_502-IPFIXv10-BGP-IPv6-CISCO-SRv6-lcomms__traffic-00.pcap", 1, 92, "OPEN=1 KEEPALIVE=1 UPDATE=28", "", "", None),
    r("pcapplusplus/BgpPackets.pcap", 1, 8, "OPEN=2 ROUTE-REFRESH=1 UPDATE=6 KEEPALIVE=1 NOTIFICATION=2", "6/4=1 6/2=1", "gap_in_capture=1", None),
    r("pcapplusplus/Bgp_open_malformed.pcap", 1, 4, "OPEN=1", "", "", None),
    r("ryu/bgp4-keepalive.pcap", 1, 1, "KEEPALIVE=1", "", "", None),
    r("ryu/bgp4-open.pcap", 1, 1, "OPEN=1", "", "", None),
    r("ryu/bgp4-update.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/bgp4-update_ipv6.pcap", 1, 1, "UPDATE=2", "", "", None),
    r("ryu/bgp4-update_vpnv6.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_esi_arbitrary.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_esi_as_based.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_esi_l2_bridge.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_esi_lacp.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_esi_mac_base.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_esi_router_id.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_nlri_eth_a-d.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_nlri_eth_seg.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_nlri_inc_multi_eth_tag.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_nlri_ip_prefix.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/evpn_nlri_mac_ip_ad.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/flowspec_action_redirect.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/flowspec_action_traffic_action.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/flowspec_action_traffic_marking.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/flowspec_action_traffic_rate.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/flowspec_nlri_ipv4.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/flowspec_nlri_ipv6.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/flowspec_nlri_l2vpn.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/flowspec_nlri_vpn4.pcap", 1, 1, "UPDATE=1", "", "", None),
    r("ryu/flowspec_nlri_vpn6.pcap", 1, 1, "UPDATE=1", "", "", None),
];

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bgp-data/pcap")
}

type Counts = BTreeMap<String, usize>;

fn parse_spec(spec: Spec) -> Counts {
    spec.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

fn type_name(t: u8) -> String {
    match t {
        1 => "OPEN".into(),
        2 => "UPDATE".into(),
        3 => "NOTIFICATION".into(),
        4 => "KEEPALIVE".into(),
        5 => "ROUTE-REFRESH".into(),
        t => format!("TYPE{t}"),
    }
}

/// (msgs, notif, anomalies) counted the README's way.
fn counts(res: &PcapBgp) -> (Counts, Counts, Counts) {
    let (mut msgs, mut notif, mut anomalies) = (Counts::new(), Counts::new(), Counts::new());
    for m in &res.messages {
        *msgs.entry(type_name(m.msg_type)).or_default() += 1;
        if m.msg_type == 3 {
            let code = m.bytes.get(19).copied().unwrap_or(0);
            let sub = m.bytes.get(20).copied().unwrap_or(0);
            *notif.entry(format!("{code}/{sub}")).or_default() += 1;
        }
    }
    for a in &res.anomalies {
        if let Some(t) = a.msg_type {
            *msgs.entry(type_name(t)).or_default() += 1;
        }
        *anomalies.entry(a.kind.name().to_string()).or_default() += 1;
    }
    (msgs, notif, anomalies)
}

/// Checks every row (not stopping at the first failure); `expected` picks the
/// figures a row must match under `desync`.
fn check_all(desync: Desync, expected: fn(&Row) -> (Spec, Spec, Spec)) {
    let mut failures = Vec::new();
    for row in ROWS {
        let path = data_dir().join(row.file);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{}: cannot read {}: {e}", row.file, path.display()));
                continue;
            }
        };
        let res = match bgp_messages_with(&bytes, &BGP_PORTS, desync) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: {e}", row.file));
                continue;
            }
        };
        let (m, n, a) = expected(row);
        let want = (
            row.lt,
            row.pkts,
            parse_spec(m),
            parse_spec(n),
            parse_spec(a),
        );
        let (gm, gn, ga) = counts(&res);
        let got = (res.link_type, res.packets, gm, gn, ga);
        if want != got {
            failures.push(format!(
                "{}:\n    want lt={} pkts={} msgs={:?} notif={:?} anomalies={:?}\n    got  lt={} pkts={} msgs={:?} notif={:?} anomalies={:?}",
                row.file, want.0, want.1, want.2, want.3, want.4, got.0, got.1, got.2, got.3, got.4
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
}

/// Default policy (resync after a bad header): README figures, except where
/// a row records ours.
#[test]
fn every_capture_matches_readme_counts() {
    check_all(Desync::Resync, |row| row.ours.unwrap_or(row.readme));
}

/// With the README parser's own policy (abandon the stream at a bad header),
/// every README figure is reproduced, including the rows marked `differs`.
#[test]
fn readme_desync_policy_reproduces_every_row() {
    check_all(Desync::Abandon, |row| row.readme);
}

/// `bgp_messages` is the default policy.
#[test]
fn default_entry_point_resyncs() {
    let path = data_dir().join("tcpdump/bgp_vpn_rt-oobr.pcap");
    let bytes = std::fs::read(path).unwrap();
    let default = bgp_messages(&bytes, &BGP_PORTS).unwrap();
    let resync = bgp_messages_with(&bytes, &BGP_PORTS, Desync::Resync).unwrap();
    assert_eq!(default, resync);
}

/// The table and the folder list the same files.
#[test]
fn table_covers_every_capture() {
    let mut on_disk = Vec::new();
    for dir in std::fs::read_dir(data_dir()).unwrap() {
        let dir = dir.unwrap();
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let file = file.unwrap();
            let name = file.file_name().into_string().unwrap();
            on_disk.push(format!("{}/{name}", dir.file_name().into_string().unwrap()));
        }
    }
    on_disk.sort();
    let mut in_table: Vec<String> = ROWS.iter().map(|r| r.file.to_string()).collect();
    in_table.sort();
    let missing: Vec<_> = on_disk.iter().filter(|f| !in_table.contains(f)).collect();
    let absent: Vec<_> = in_table.iter().filter(|f| !on_disk.contains(f)).collect();
    assert!(
        missing.is_empty() && absent.is_empty(),
        "files without a row: {missing:?}; rows without a file: {absent:?}"
    );
}
