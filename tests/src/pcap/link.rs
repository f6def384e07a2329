//! Link-layer decoding: from a captured frame to the IP packet inside it.

use super::read::be16;

/// Network-layer protocol carried by a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetProto {
    Ipv4,
    Ipv6,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE: u16 = 0x8864;
const VLAN_TAGS: [u16; 4] = [0x8100, 0x88a8, 0x9100, 0x9200];
// Bounds the VLAN/MPLS loops on crafted input.
const MAX_TAGS: usize = 16;

/// Strips the link-layer header of `link_type`; `None` if the frame does not
/// carry IPv4/IPv6 or the link type is unsupported.
pub fn network_payload(link_type: u16, frame: &[u8]) -> Option<(NetProto, &[u8])> {
    match link_type {
        // NULL / LOOP: 4-byte address family in an unknown byte order.
        0 | 108 => by_version(frame.get(4..)?),
        1 => ethernet(frame),
        9 | 50 => ppp(frame),
        // Raw IP (101; 12 and 14 on some BSDs).
        12 | 14 | 101 => by_version(frame),
        228 => Some((NetProto::Ipv4, frame)),
        229 => Some((NetProto::Ipv6, frame)),
        104 => ethertype(be16(frame, 2)?, frame.get(4..)?),
        107 => frame_relay(frame),
        113 => ethertype(be16(frame, 14)?, frame.get(16..)?),
        276 => ethertype(be16(frame, 0)?, frame.get(20..)?),
        178 => juniper_ether(frame),
        _ => None,
    }
}

/// Decides IPv4 vs IPv6 from the version nibble.
fn by_version(ip: &[u8]) -> Option<(NetProto, &[u8])> {
    match ip.first()? >> 4 {
        4 => Some((NetProto::Ipv4, ip)),
        6 => Some((NetProto::Ipv6, ip)),
        _ => None,
    }
}

fn ethertype(ty: u16, rest: &[u8]) -> Option<(NetProto, &[u8])> {
    match ty {
        ETH_IPV4 => Some((NetProto::Ipv4, rest)),
        ETH_IPV6 => Some((NetProto::Ipv6, rest)),
        ETH_MPLS | ETH_MPLS_MC => mpls(rest),
        ETH_PPPOE => ppp_protocol(be16(rest, 6)?, rest.get(8..)?),
        _ => None,
    }
}

fn ethernet(frame: &[u8]) -> Option<(NetProto, &[u8])> {
    let mut off = 12;
    let mut ty = be16(frame, off)?;
    for _ in 0..MAX_TAGS {
        if !VLAN_TAGS.contains(&ty) {
            break;
        }
        off += 4;
        ty = be16(frame, off)?;
    }
    let rest = frame.get(off + 2..)?;
    if ty <= 1500 {
        // 802.3 length field: only LLC/SNAP with an ethertype is understood.
        if rest.get(..3)? != [0xaa, 0xaa, 0x03] {
            return None;
        }
        return ethertype(be16(rest, 6)?, rest.get(8..)?);
    }
    ethertype(ty, rest)
}

/// Skips the MPLS label stack; the payload type is guessed from its first nibble.
fn mpls(mut rest: &[u8]) -> Option<(NetProto, &[u8])> {
    for _ in 0..MAX_TAGS {
        let bottom = rest.get(2)? & 1 == 1;
        rest = rest.get(4..)?;
        if bottom {
            return by_version(rest);
        }
    }
    None
}

/// PPP with or without the HDLC address/control bytes and with a 1- or 2-byte protocol.
fn ppp(frame: &[u8]) -> Option<(NetProto, &[u8])> {
    let f = if frame.get(..2)? == [0xff, 0x03] {
        frame.get(2..)?
    } else {
        frame
    };
    // An odd first byte means a compressed 1-byte protocol field.
    if f.first()? & 1 == 1 {
        return ppp_protocol(u16::from(*f.first()?), f.get(1..)?);
    }
    ppp_protocol(be16(f, 0)?, f.get(2..)?)
}

fn ppp_protocol(proto: u16, rest: &[u8]) -> Option<(NetProto, &[u8])> {
    match proto {
        0x0021 => Some((NetProto::Ipv4, rest)),
        0x0057 => Some((NetProto::Ipv6, rest)),
        0x0281 | 0x0283 => mpls(rest),
        _ => None,
    }
}

/// Frame Relay (RFC 2427): Q.922 address, UI control, optional pad, NLPID.
fn frame_relay(frame: &[u8]) -> Option<(NetProto, &[u8])> {
    // Address bytes until the EA bit (bit 0) is set.
    let addr_len = frame.iter().take(4).position(|b| b & 1 == 1)? + 1;
    let mut rest = frame.get(addr_len..)?;
    if *rest.first()? != 0x03 {
        return None;
    }
    rest = rest.get(1..)?;
    if *rest.first()? == 0x00 {
        rest = rest.get(1..)?;
    }
    match rest.first()? {
        0xcc => Some((NetProto::Ipv4, rest.get(1..)?)),
        0x8e => Some((NetProto::Ipv6, rest.get(1..)?)),
        0x80 => ethertype(be16(rest, 4)?, rest.get(6..)?),
        _ => None,
    }
}

const JUNIPER_MAGIC: [u8; 3] = *b"MGC";
const JUNIPER_FLAG_NO_L2: u8 = 0x02;
const JUNIPER_FLAG_EXT: u8 = 0x80;

/// Juniper "MGC" pseudo-header (optionally with TLV extensions), then Ethernet.
fn juniper_ether(frame: &[u8]) -> Option<(NetProto, &[u8])> {
    if frame.get(..3)? != JUNIPER_MAGIC {
        return None;
    }
    let flags = *frame.get(3)?;
    let mut off = 4;
    if flags & JUNIPER_FLAG_EXT != 0 {
        off += 2 + usize::from(be16(frame, 4)?);
    }
    let inner = frame.get(off..)?;
    if flags & JUNIPER_FLAG_NO_L2 != 0 {
        // The L2 header was stripped; a 4-byte protocol family precedes IP.
        return by_version(inner.get(4..)?);
    }
    ethernet(inner)
}
