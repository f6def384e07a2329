//! Link-layer, IP and TCP header decoding.

use crate::pcap::ip::tcp_segment;
use crate::pcap::link::{NetProto, network_payload};
use crate::pcap::synth::{A, B, bgp, ipv4, tcp};
use crate::pcap::tcp::parse_tcp;

fn segment() -> Vec<u8> {
    tcp(40000, 179, 7, 0x18, &bgp(4, 0))
}

fn ip() -> Vec<u8> {
    ipv4(A, B, &segment())
}

/// Decodes `frame` down to the BGP payload.
fn payload(link_type: u16, frame: &[u8]) -> Option<Vec<u8>> {
    let (proto, ip) = network_payload(link_type, frame)?;
    let seg = tcp_segment(proto, ip)?;
    Some(parse_tcp(seg.segment)?.payload.to_vec())
}

fn with_prefix(prefix: &[u8]) -> Vec<u8> {
    [prefix, &ip()].concat()
}

#[test]
fn link_types_reach_the_ip_packet() {
    let want = Some(bgp(4, 0));
    let mac = [0x02u8; 12];
    let eth = [&mac[..], &[0x08, 0x00]].concat();
    let qinq = [&mac[..], &[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00]].concat();
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x08, 0x00]);
    let mut sll2 = vec![0x08, 0x00];
    sll2.resize(20, 0);
    let juniper = [&b"MGC"[..], &[0x80, 0, 2, 9, 9], &eth[..]].concat();
    let cases: [(u16, Vec<u8>); 11] = [
        (1, with_prefix(&eth)),
        (1, with_prefix(&qinq)),
        (101, ip()),
        (12, ip()),
        (113, with_prefix(&sll)),
        (276, with_prefix(&sll2)),
        (0, with_prefix(&[2, 0, 0, 0])),
        (9, with_prefix(&[0xff, 0x03, 0x00, 0x21])),
        (104, with_prefix(&[0x0f, 0x00, 0x08, 0x00])),
        (107, with_prefix(&[0x18, 0x41, 0x03, 0xcc])),
        (178, with_prefix(&juniper)),
    ];
    for (lt, frame) in cases {
        assert_eq!(payload(lt, &frame), want, "link type {lt}");
    }
}

#[test]
fn unsupported_or_short_frames_are_skipped() {
    assert_eq!(network_payload(1, &[0; 10]), None);
    assert_eq!(network_payload(9999, &ip()), None);
    // ARP over Ethernet.
    let arp = [&[0x02u8; 12][..], &[0x08, 0x06], &[0; 28]].concat();
    assert_eq!(network_payload(1, &arp), None);
}

#[test]
fn ipv4_options_and_fragments() {
    // IHL 6: four bytes of options before TCP.
    let mut p = ip();
    p[0] = 0x46;
    p.splice(20..20, [1, 1, 1, 1]);
    p[3] += 4;
    let seg = tcp_segment(NetProto::Ipv4, &p).unwrap();
    assert_eq!(seg.segment, &segment()[..]);
    // Non-first fragment: ignored.
    let mut frag = ip();
    frag[6] = 0x00;
    frag[7] = 0x10;
    assert_eq!(tcp_segment(NetProto::Ipv4, &frag), None);
}

#[test]
fn ipv6_extension_headers_are_skipped() {
    let seg = segment();
    let mut p = vec![0x60, 0, 0, 0];
    let plen = u16::try_from(8 + seg.len()).unwrap();
    p.extend_from_slice(&plen.to_be_bytes());
    p.extend_from_slice(&[0, 64]); // next: hop-by-hop
    p.extend_from_slice(&[0x20; 32]);
    p.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 0]); // hop-by-hop -> TCP
    p.extend_from_slice(&seg);
    let got = tcp_segment(NetProto::Ipv6, &p).unwrap();
    assert_eq!(got.segment, &seg[..]);
    assert!(got.src.is_ipv6());
}

#[test]
fn tcp_header_with_bad_offset_is_rejected() {
    let mut seg = segment();
    seg[12] = 0x40;
    assert_eq!(parse_tcp(&seg), None);
    assert_eq!(parse_tcp(&seg[..10]), None);
}
