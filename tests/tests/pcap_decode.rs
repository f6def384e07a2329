//! Every BGP message in the shared captures goes through `speaker::wire`:
//! clean messages decode and re-encode to the same octets; malformed ones
//! give the error the RFCs prescribe, and nothing panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use reflex_tests::pcap::{BGP_PORTS, bgp_messages};
use reflex_tests::session_context::SessionOpens;
use speaker::wire::{CodecContext, DecodeError, Message};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bgp-data/pcap")
}

fn captures() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(data_dir()).expect("pcap data folder") {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).unwrap() {
            files.push(f.unwrap().path());
        }
    }
    files.sort();
    files
}

#[derive(Default, Debug)]
pub struct FileResult {
    pub clean: usize,
    pub with_issues: usize,
    pub errors: BTreeMap<String, usize>,
    pub reencoded: usize,
    pub reencode_mismatch: Vec<String>,
}

fn decode_best(
    bytes: &bytes::Bytes,
    ctxs: &[CodecContext],
) -> (Result<Message, DecodeError>, CodecContext) {
    let mut first = None;
    for c in ctxs {
        let r = Message::decode(bytes.clone(), c, None);
        let clean = matches!(&r, Ok(Message::Update(u)) if u.issues.is_empty())
            || matches!(&r, Ok(m) if !matches!(m, Message::Update(_)));
        if clean {
            return (r, c.clone());
        }
        if first.is_none() {
            first = Some((r, c.clone()));
        }
    }
    first.expect("at least one context")
}

fn run(path: &Path) -> FileResult {
    let data = std::fs::read(path).unwrap();
    let mut res = FileResult::default();
    let Ok(found) = bgp_messages(&data, &BGP_PORTS) else {
        return res;
    };
    let mut opens = SessionOpens::default();
    for f in &found.messages {
        if f.msg_type == 1
            && let Ok(Message::Open(o)) =
                Message::decode(f.bytes.clone(), &CodecContext::default(), None)
        {
            opens.record(f.flow.src, o);
        }
    }
    for f in &found.messages {
        let ctxs = opens.candidates(f.flow.src, f.flow.dst);
        let (r, ctx) = decode_best(&f.bytes, &ctxs);
        match r {
            Ok(m) => {
                if let Message::Update(u) = &m
                    && !u.issues.is_empty()
                {
                    res.with_issues += 1;
                    for i in &u.issues {
                        *res.errors
                            .entry(format!("issue {:?} {:?}", i.kind, i.action))
                            .or_default() += 1;
                    }
                } else {
                    res.clean += 1;
                }
                let mut out = BytesMut::new();
                m.encode(&ctx, &mut out).unwrap();
                if out[..] == f.bytes[..] {
                    res.reencoded += 1;
                } else {
                    res.reencode_mismatch.push(format!(
                        "frame {}: {}\n   got {}",
                        f.frame,
                        speaker::wire::hex(&f.bytes),
                        speaker::wire::hex(&out)
                    ));
                }
            }
            Err(e) => {
                let n = e.notification();
                *res.errors
                    .entry(format!("notify {}/{}", n.code, n.subcode))
                    .or_default() += 1;
            }
        }
    }
    res
}

/// Captures whose messages are not all clean, with what the decoder must
/// say about them (every other capture must decode cleanly). All of these are
/// deliberately malformed (tcpdump's `*-oobr`, `-ub`, `infinite-loop` CVE
/// reproducers, PcapPlusPlus' malformed OPEN) or synthetic:
/// - ryu's EVPN samples and tcpdump's BGPsec capture carry NLRI without
///   ORIGIN/AS_PATH (BGPsec replaces AS_PATH, RFC 8205 §3): treat-as-withdraw
///   (RFC 7606 §3 (d)), since this speaker does not negotiate BGPsec;
/// - bgp-addpath.pcap holds MP_REACH_NLRI twice: session reset with Malformed
///   Attribute List (RFC 7606 §3 (f)); without its OPEN the first context
///   tried (no ADD-PATH) already fails on the Withdrawn Routes (3/10);
/// - bgp-infinite-loop.pcap: UPDATEs of length 19, a Bad Message Length.
const EXPECTED: &[(&str, &str)] = &[
    ("Bgp_open_malformed.pcap", "notify 2/0=1"),
    (
        "evpn_esi_arbitrary.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    (
        "evpn_esi_as_based.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    (
        "evpn_esi_l2_bridge.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    (
        "evpn_esi_lacp.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    (
        "evpn_esi_mac_base.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    (
        "evpn_esi_router_id.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    (
        "evpn_nlri_eth_a-d.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    (
        "evpn_nlri_eth_seg.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    (
        "evpn_nlri_inc_multi_eth_tag.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    (
        "evpn_nlri_mac_ip_ad.pcap",
        "issue MissingWellKnown TreatAsWithdraw=2",
    ),
    ("bgp-addpath.pcap", "notify 3/10=1"),
    (
        "bgp-aigp-oobr.pcap",
        "issue AttributeOverrun TreatAsWithdraw=2,issue DuplicateAttribute AttributeDiscard=1,notify 3/2=112",
    ),
    (
        "bgp-as-path-oobr.pcap",
        "issue AttributeLength TreatAsWithdraw=1,issue AttributeOverrun TreatAsWithdraw=66,notify 3/1=1,notify 3/2=131,notify 3/9=3",
    ),
    ("bgp-bgp_capabilities_print-oobr-1.pcap", "notify 2/1=1"),
    ("bgp-bgp_capabilities_print-oobr-2.pcap", "notify 2/1=1"),
    (
        "bgp-bgpsec.pcap",
        "issue MissingWellKnown TreatAsWithdraw=20",
    ),
    ("bgp-infinite-loop.pcap", "notify 1/2=4"),
    (
        "bgp-ub.pcap",
        "issue AttributeFlags TreatAsWithdraw=2,issue AttributeLength TreatAsWithdraw=2,issue AttributeOverrun TreatAsWithdraw=4,notify 3/1=2,notify 3/10=2,notify 3/2=6,notify 3/9=1",
    ),
    ("bgp_mp_reach_nlri-oobr.pcap", "notify 3/1=6"),
    ("bgp_mvpn_6_and_7_oobr.pcap", "notify 3/1=1"),
    ("bgp_pmsi_tunnel-oobr.pcap", "notify 3/1=1"),
    ("bgp_vpn_rt-oobr.pcap", "notify 3/1=3"),
    (
        "bgpsec_invalid_signature_block_length.pcap",
        "issue MissingWellKnown TreatAsWithdraw=1",
    ),
];

#[test]
fn every_captured_message_decodes_as_the_rfcs_say_and_clean_ones_reencode_identically() {
    let mut failures = Vec::new();
    let (mut total, mut identical) = (0, 0);
    for f in captures() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let r = run(&f);
        let got: Vec<String> = r.errors.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let got = got.join(",");
        let want = EXPECTED
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, w)| *w);
        if got != want {
            failures.push(format!("{name}: decode outcome {got:?}, expected {want:?}"));
        }
        if r.clean + r.with_issues + r.errors.values().sum::<usize>() == 0 && want.is_empty() {
            failures.push(format!("{name}: no BGP message found"));
        }
        // Clean messages must give back their own octets.
        if want.is_empty() && !r.reencode_mismatch.is_empty() {
            failures.push(format!(
                "{name}: re-encoding differs:\n  {}",
                r.reencode_mismatch.join("\n  ")
            ));
        }
        total += r.clean + r.with_issues;
        identical += r.reencoded;
    }
    println!("decoded {total} captured messages, {identical} re-encoded byte-identically");
    assert!(
        failures.is_empty(),
        "{} captures differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total > 1500, "too few messages decoded: {total}");
}
