//! pcap/pcapng container parsing.

use crate::pcap::synth::{Pcapng, bgp, frame};
use crate::pcap::{BGP_PORTS, PcapError, bgp_messages, read_capture, synth};

fn two_frames() -> Vec<Vec<u8>> {
    vec![frame(40000, 1, &bgp(1, 10)), frame(40000, 30, &bgp(4, 0))]
}

#[test]
fn pcap_both_byte_orders_and_resolutions_agree() {
    let frames = two_frames();
    let mut results = Vec::new();
    for (big, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
        let file = synth::pcap_file(1, &frames, big, nanos);
        let cap = read_capture(&file).unwrap();
        assert_eq!(cap.link_type, 1);
        assert_eq!(cap.packets.len(), 2);
        assert_eq!(cap.packets[1].data, &frames[1][..]);
        results.push(bgp_messages(&file, &BGP_PORTS).unwrap());
    }
    let first = &results[0];
    assert_eq!(first.messages.len(), 2);
    assert_eq!(first.messages[0].msg_type, 1);
    assert_eq!(first.messages[1].msg_type, 4);
    assert_eq!(first.messages[1].frame, 1);
    assert!(first.anomalies.is_empty());
    assert!(results.iter().all(|r| r == first));
}

#[test]
fn pcapng_both_byte_orders_with_epb_and_spb() {
    for big in [false, true] {
        let mut ng = Pcapng::new(big);
        ng.idb(1);
        ng.epb(0, &frame(40000, 1, &bgp(1, 10)));
        ng.spb(&frame(40000, 30, &bgp(4, 0)));
        let res = bgp_messages(&ng.bytes, &BGP_PORTS).unwrap();
        assert_eq!((res.link_type, res.packets), (1, 2));
        let types: Vec<u8> = res.messages.iter().map(|m| m.msg_type).collect();
        assert_eq!(types, [1, 4], "big endian: {big}");
    }
}

#[test]
fn pcapng_link_type_is_per_interface() {
    let mut ng = Pcapng::new(false);
    ng.idb(1);
    ng.idb(101);
    let ip = synth::ipv4(
        synth::A,
        synth::B,
        &synth::tcp(40000, 179, 1, 0x18, &bgp(4, 0)),
    );
    ng.epb(1, &ip);
    ng.epb(0, &synth::ether(&ip));
    let cap = read_capture(&ng.bytes).unwrap();
    assert_eq!(cap.link_type, 1);
    assert_eq!(cap.packets[0].link_type, 101);
    assert_eq!(cap.packets[1].link_type, 1);
    // Same segment twice: the second copy is a retransmission.
    let res = bgp_messages(&ng.bytes, &BGP_PORTS).unwrap();
    assert_eq!(res.messages.len(), 1);
}

#[test]
fn pcapng_packet_for_unknown_interface_is_an_error() {
    let mut ng = Pcapng::new(false);
    ng.idb(1);
    ng.epb(3, &frame(40000, 1, &bgp(4, 0)));
    assert!(matches!(
        read_capture(&ng.bytes),
        Err(PcapError::UnknownInterface { interface: 3, .. })
    ));
}

#[test]
fn bad_magic_is_an_error() {
    assert!(matches!(
        read_capture(&[0u8; 40]),
        Err(PcapError::BadMagic(0))
    ));
    assert!(matches!(
        read_capture(&[]),
        Err(PcapError::TruncatedHeader(0))
    ));
}

#[test]
fn truncated_files_give_errors_not_panics() {
    let pcap = synth::pcap_file(1, &two_frames(), false, false);
    let mut ng = Pcapng::new(true);
    ng.idb(1);
    ng.epb(0, &frame(40000, 1, &bgp(1, 10)));
    for file in [pcap, ng.bytes] {
        // The whole file reads; every strict prefix past the header fails cleanly.
        assert!(read_capture(&file).is_ok());
        let mut errors = 0;
        for cut in 0..file.len() {
            if bgp_messages(&file[..cut], &BGP_PORTS).is_err() {
                errors += 1;
            }
        }
        assert!(errors > file.len() / 2, "{errors} errors of {}", file.len());
    }
    let pcap = synth::pcap_file(1, &two_frames(), false, false);
    let cut = pcap.len() - 5;
    assert!(matches!(
        read_capture(&pcap[..cut]),
        Err(PcapError::TruncatedRecord { index: 1, .. })
    ));
}

#[test]
fn pcapng_bad_block_length_is_an_error() {
    let mut ng = Pcapng::new(false);
    ng.idb(1);
    let at = ng.bytes.len();
    ng.epb(0, &frame(40000, 1, &bgp(4, 0)));
    ng.bytes[at + 4] = 13; // not a multiple of 4
    assert!(matches!(
        read_capture(&ng.bytes),
        Err(PcapError::BadBlockLength { .. })
    ));
}
