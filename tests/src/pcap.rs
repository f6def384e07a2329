//! A small pcap/pcapng reader with TCP reassembly and BGP message framing,
//! for data-driven tests on captured BGP sessions.
//!
//! Layers, one module each: container ([`file`], `pcapng`), link layer
//! ([`link`]), IP ([`ip`]), TCP reassembly ([`tcp`]) and BGP framing ([`bgp`]).

pub mod bgp;
mod error;
pub mod file;
pub mod ip;
pub mod link;
mod pcapng;
mod read;
#[cfg(test)]
mod synth;
pub mod tcp;
#[cfg(test)]
mod tests;

pub use bgp::{Anomaly, AnomalyKind, BgpFrame, Desync};
pub use error::PcapError;
pub use file::{Capture, Packet, read_capture};
pub use tcp::Flow;

/// Ports the data README counts as BGP.
pub const BGP_PORTS: [u16; 2] = [179, 1179];

/// Everything BGP found in one capture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapBgp {
    /// Link type of the file (pcapng: of the first interface).
    pub link_type: u16,
    /// Number of packet records in the file, BGP or not.
    pub packets: usize,
    /// Messages in stream order within a flow; flows interleaved by the
    /// packet holding each message's first byte.
    pub messages: Vec<BgpFrame>,
    pub anomalies: Vec<Anomaly>,
}

/// Reads a capture, reassembles TCP flows with either port in `ports` and
/// frames their BGP messages, resynchronising after a bad header.
pub fn bgp_messages(pcap_bytes: &[u8], ports: &[u16]) -> Result<PcapBgp, PcapError> {
    bgp_messages_with(pcap_bytes, ports, Desync::Resync)
}

/// [`bgp_messages`] with a choice of what to do after a bad header.
pub fn bgp_messages_with(
    pcap_bytes: &[u8],
    ports: &[u16],
    desync: Desync,
) -> Result<PcapBgp, PcapError> {
    let capture = read_capture(pcap_bytes)?;
    let mut reasm = tcp::Reassembler::new();
    for (index, packet) in capture.packets.iter().enumerate() {
        let Some((proto, ip)) = link::network_payload(packet.link_type, packet.data) else {
            continue;
        };
        let Some(ipt) = ip::tcp_segment(proto, ip) else {
            continue;
        };
        let Some(seg) = tcp::parse_tcp(ipt.segment) else {
            continue;
        };
        if ports.contains(&seg.src_port) || ports.contains(&seg.dst_port) {
            let flow = Flow::new(ipt.src, seg.src_port, ipt.dst, seg.dst_port);
            reasm.push(index, flow, &seg);
        }
    }
    let mut keyed = Vec::new();
    let mut anomalies = Vec::new();
    for stream in reasm.finish() {
        let mut msgs = Vec::new();
        bgp::frame_stream(&stream, desync, &mut msgs, &mut anomalies);
        // Interleave flows by capture position without breaking stream order.
        let mut key = 0;
        for m in msgs {
            key = key.max(m.frame);
            keyed.push((key, m));
        }
    }
    keyed.sort_by_key(|(key, _)| *key);
    let messages = keyed.into_iter().map(|(_, m)| m).collect();
    anomalies.sort_by_key(|a| a.frame);
    Ok(PcapBgp {
        link_type: capture.link_type,
        packets: capture.packets.len(),
        messages,
        anomalies,
    })
}
