//! TCP reassembly and BGP framing.

use crate::pcap::synth::{bgp, frame, pcap_file};
use crate::pcap::{AnomalyKind, BGP_PORTS, Desync, PcapBgp, bgp_messages, bgp_messages_with};

fn run(frames: &[Vec<u8>]) -> PcapBgp {
    bgp_messages(&pcap_file(1, frames, false, false), &BGP_PORTS).unwrap()
}

fn kinds(res: &PcapBgp) -> Vec<AnomalyKind> {
    res.anomalies.iter().map(|a| a.kind).collect()
}

fn lens(res: &PcapBgp) -> Vec<usize> {
    res.messages.iter().map(|m| m.bytes.len()).collect()
}

/// OPEN (29 bytes), UPDATE (50), KEEPALIVE (19) back to back.
fn stream() -> Vec<u8> {
    [bgp(1, 10), bgp(2, 31), bgp(4, 0)].concat()
}

#[test]
fn out_of_order_segments_are_reordered() {
    let s = stream();
    let base = 1000;
    let frames = vec![
        frame(40000, base + 60, &s[60..]),
        frame(40000, base, &s[..25]),
        frame(40000, base + 25, &s[25..60]),
    ];
    let res = run(&frames);
    assert_eq!(lens(&res), [29, 50, 19]);
    assert!(res.anomalies.is_empty());
    // A message is attributed to the frame holding its first byte.
    let frames_of: Vec<usize> = res.messages.iter().map(|m| m.frame).collect();
    assert_eq!(frames_of, [1, 2, 0]);
    assert_eq!(&res.messages[1].bytes[..], &s[29..79]);
}

#[test]
fn retransmitted_and_overlapping_bytes_are_dropped() {
    let s = stream();
    let frames = vec![
        frame(40000, 1, &s[..40]),
        frame(40000, 1, &s[..40]),    // exact retransmission
        frame(40000, 21, &s[20..70]), // overlaps 20 bytes, adds 30
        frame(40000, 61, &s[60..]),   // overlaps 10 bytes, adds the rest
    ];
    let res = run(&frames);
    assert_eq!(lens(&res), [29, 50, 19]);
    assert!(res.anomalies.is_empty());
}

#[test]
fn sequence_numbers_wrap() {
    let s = stream();
    let start = u32::MAX - 9;
    let frames = vec![
        frame(40000, start, &s[..30]),
        frame(40000, start.wrapping_add(30), &s[30..]),
    ];
    assert_eq!(lens(&run(&frames)), [29, 50, 19]);
}

#[test]
fn gap_is_reported_and_framing_resyncs_on_next_marker() {
    let s = stream();
    // Bytes 35..40 are never captured; the UPDATE is lost.
    let frames = vec![frame(40000, 1, &s[..35]), frame(40000, 41, &s[40..])];
    let res = run(&frames);
    assert_eq!(kinds(&res), [AnomalyKind::GapInCapture]);
    assert_eq!(res.anomalies[0].frame, 1);
    let types: Vec<u8> = res.messages.iter().map(|m| m.msg_type).collect();
    assert_eq!(types, [1, 4]);
}

#[test]
fn bad_marker_resyncs_or_abandons() {
    let mut s = bgp(1, 10);
    s.extend_from_slice(b"garbage");
    s.extend_from_slice(&bgp(4, 0));
    let file = pcap_file(1, &[frame(40000, 1, &s)], false, false);
    let res = bgp_messages(&file, &BGP_PORTS).unwrap();
    assert_eq!(lens(&res), [29, 19]);
    assert_eq!(kinds(&res), [AnomalyKind::BadMarkerOrDesync]);

    let res = bgp_messages_with(&file, &BGP_PORTS, Desync::Abandon).unwrap();
    assert_eq!(lens(&res), [29]);
    assert_eq!(kinds(&res), [AnomalyKind::BadMarkerOrDesync]);
}

#[test]
fn length_below_header_size_is_a_desync() {
    let mut bad = bgp(4, 0);
    bad[17] = 18;
    let s = [bad, bgp(4, 0)].concat();
    let res = run(&[frame(40000, 1, &s)]);
    assert_eq!(lens(&res), [19]);
    assert_eq!(kinds(&res), [AnomalyKind::BadMarkerOrDesync]);
}

#[test]
fn stream_ending_inside_a_message_is_truncated() {
    let s = stream();
    let res = run(&[frame(40000, 1, &s[..60])]);
    assert_eq!(lens(&res), [29]);
    assert_eq!(kinds(&res), [AnomalyKind::TruncatedLastMessage]);
    assert_eq!(res.anomalies[0].msg_type, Some(2));
    // A cut inside the marker: no type known.
    let res = run(&[frame(40000, 1, &s[..35])]);
    assert_eq!(kinds(&res), [AnomalyKind::TruncatedLastMessage]);
    assert_eq!(res.anomalies[0].msg_type, None);
}

#[test]
fn directions_are_separate_flows() {
    let a_to_b = frame(40000, 1, &bgp(1, 10));
    let b_to_a = crate::pcap::synth::ether(&crate::pcap::synth::ipv4(
        crate::pcap::synth::B,
        crate::pcap::synth::A,
        &crate::pcap::synth::tcp(179, 40000, 1, 0x18, &bgp(4, 0)),
    ));
    let res = run(&[a_to_b, b_to_a]);
    assert_eq!(res.messages.len(), 2);
    assert_eq!(res.messages[0].flow.src, res.messages[1].flow.dst);
    assert_eq!(res.messages[0].flow.dst.port(), 179);
}

#[test]
fn port_set_is_a_parameter() {
    let file = pcap_file(1, &[frame(40000, 1, &bgp(4, 0))], false, false);
    assert_eq!(bgp_messages(&file, &[179]).unwrap().messages.len(), 1);
    assert!(bgp_messages(&file, &[1179]).unwrap().messages.is_empty());
    assert_eq!(bgp_messages(&file, &[40000]).unwrap().messages.len(), 1);
}

#[test]
fn syn_starts_the_stream_and_new_syn_starts_a_new_connection() {
    let syn = crate::pcap::synth::ether(&crate::pcap::synth::ipv4(
        crate::pcap::synth::A,
        crate::pcap::synth::B,
        &crate::pcap::synth::tcp(40000, 179, 99, 0x02, &[]),
    ));
    let first = frame(40000, 100, &bgp(1, 10));
    let syn2 = crate::pcap::synth::ether(&crate::pcap::synth::ipv4(
        crate::pcap::synth::A,
        crate::pcap::synth::B,
        &crate::pcap::synth::tcp(40000, 179, 5000, 0x02, &[]),
    ));
    let second = frame(40000, 5001, &bgp(1, 12));
    let res = run(&[syn, first, syn2, second]);
    assert_eq!(lens(&res), [29, 31]);
    assert!(res.anomalies.is_empty());
}

#[test]
fn syn_after_mid_session_data_starts_a_new_connection() {
    let old = frame(40000, 7777, &bgp(4, 0));
    let syn = crate::pcap::synth::ether(&crate::pcap::synth::ipv4(
        crate::pcap::synth::A,
        crate::pcap::synth::B,
        &crate::pcap::synth::tcp(40000, 179, 10, 0x02, &[]),
    ));
    let new = frame(40000, 11, &bgp(1, 10));
    let res = run(&[old, syn, new]);
    assert_eq!(lens(&res), [19, 29]);
    assert!(res.anomalies.is_empty());
}
