//! Capture containers: classic pcap and pcapng, split into packet records.

use super::error::PcapError;
use super::pcapng;
use super::read::Order;

/// One captured frame, borrowed from the file bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Link type of the interface the frame was captured on.
    pub link_type: u16,
    /// Length on the wire; may exceed `data.len()` when the snaplen cut it.
    pub orig_len: u32,
    /// Captured bytes, starting with the link-layer header.
    pub data: &'a [u8],
}

/// A whole capture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture<'a> {
    /// Link type of the file (pcap) or of the first interface (pcapng).
    pub link_type: u16,
    pub packets: Vec<Packet<'a>>,
}

const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const MAGIC_US: u32 = 0xa1b2_c3d4;
const MAGIC_NS: u32 = 0xa1b2_3c4d;
// Kuznetzov's patched libpcap: 8 extra bytes per record header.
const MAGIC_KUZNETZOV: u32 = 0xa1b2_cd34;

/// Reads a classic pcap or pcapng file, detected by its magic number.
pub fn read_capture(bytes: &[u8]) -> Result<Capture<'_>, PcapError> {
    if bytes.get(..4) == Some(&PCAPNG_SHB[..]) {
        return pcapng::read(bytes);
    }
    read_pcap(bytes)
}

fn read_pcap(bytes: &[u8]) -> Result<Capture<'_>, PcapError> {
    let magic = Order::Little
        .u32(bytes, 0)
        .ok_or(PcapError::TruncatedHeader(bytes.len()))?;
    let (order, magic) = match magic {
        MAGIC_US | MAGIC_NS | MAGIC_KUZNETZOV => (Order::Little, magic),
        m if [MAGIC_US, MAGIC_NS, MAGIC_KUZNETZOV].contains(&m.swap_bytes()) => {
            (Order::Big, m.swap_bytes())
        }
        m => return Err(PcapError::BadMagic(m)),
    };
    let link = order
        .u32(bytes, 20)
        .ok_or(PcapError::TruncatedHeader(bytes.len()))?;
    // Upper bits carry FCS information, not the link type.
    let link_type = (link & 0xffff) as u16;
    let rec_hdr = if magic == MAGIC_KUZNETZOV { 24 } else { 16 };

    let mut packets = Vec::new();
    let mut off = 24;
    while off < bytes.len() {
        let trunc = PcapError::TruncatedRecord {
            index: packets.len(),
            offset: off,
        };
        let caplen = order.u32(bytes, off + 8).ok_or(trunc.clone())?;
        let orig_len = order.u32(bytes, off + 12).ok_or(trunc.clone())?;
        let start = off + rec_hdr;
        let end = start
            .checked_add(caplen as usize)
            .filter(|&e| e <= bytes.len())
            .ok_or(trunc)?;
        packets.push(Packet {
            link_type,
            orig_len,
            data: &bytes[start..end],
        });
        off = end;
    }
    Ok(Capture { link_type, packets })
}
