//! IPv4/IPv6 decoding down to the TCP segment.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::link::NetProto;
use super::read::be16;

const PROTO_TCP: u8 = 6;

/// The TCP segment of an IP packet, with its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpTcp<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub segment: &'a [u8],
}

/// Returns the TCP segment carried by `ip`, or `None` for other protocols,
/// non-first fragments and malformed headers.
pub fn tcp_segment(proto: NetProto, ip: &[u8]) -> Option<IpTcp<'_>> {
    match proto {
        NetProto::Ipv4 => ipv4(ip),
        NetProto::Ipv6 => ipv6(ip),
    }
}

fn ipv4(ip: &[u8]) -> Option<IpTcp<'_>> {
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if ip.first()? >> 4 != 4 || ihl < 20 {
        return None;
    }
    // Non-first fragments have no TCP header; reassembly is not attempted.
    if be16(ip, 6)? & 0x1fff != 0 || *ip.get(9)? != PROTO_TCP {
        return None;
    }
    let total = usize::from(be16(ip, 2)?);
    // Total length 0 happens with TSO captures: trust the captured bytes.
    let end = if total == 0 {
        ip.len()
    } else {
        total.min(ip.len())
    };
    let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
    Some(IpTcp {
        src: IpAddr::V4(Ipv4Addr::from(src)),
        dst: IpAddr::V4(Ipv4Addr::from(dst)),
        segment: ip.get(ihl..end)?,
    })
}

// Extension headers with the generic (next, len in 8-octet units) layout.
const EXT_HOP_BY_HOP: u8 = 0;
const EXT_ROUTING: u8 = 43;
const EXT_FRAGMENT: u8 = 44;
const EXT_AH: u8 = 51;
const EXT_DEST_OPTS: u8 = 60;
const EXT_MOBILITY: u8 = 135;
const EXT_HIP: u8 = 139;
const EXT_SHIM6: u8 = 140;
const MAX_EXT_HEADERS: usize = 16;

fn ipv6(ip: &[u8]) -> Option<IpTcp<'_>> {
    if ip.first()? >> 4 != 6 {
        return None;
    }
    let payload_len = usize::from(be16(ip, 4)?);
    // Payload length 0 means a jumbogram (or TSO): use the captured bytes.
    let end = if payload_len == 0 {
        ip.len()
    } else {
        (40 + payload_len).min(ip.len())
    };
    let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
    let mut next = *ip.get(6)?;
    let mut off = 40;
    for _ in 0..MAX_EXT_HEADERS {
        match next {
            PROTO_TCP => {
                return Some(IpTcp {
                    src: IpAddr::V6(Ipv6Addr::from(src)),
                    dst: IpAddr::V6(Ipv6Addr::from(dst)),
                    segment: ip.get(off..end)?,
                });
            }
            EXT_FRAGMENT => {
                if be16(ip, off + 2)? & 0xfff8 != 0 {
                    return None;
                }
                next = *ip.get(off)?;
                off += 8;
            }
            EXT_AH => {
                next = *ip.get(off)?;
                off += (usize::from(*ip.get(off + 1)?) + 2) * 4;
            }
            EXT_HOP_BY_HOP | EXT_ROUTING | EXT_DEST_OPTS | EXT_MOBILITY | EXT_HIP | EXT_SHIM6 => {
                next = *ip.get(off)?;
                off += (usize::from(*ip.get(off + 1)?) + 1) * 8;
            }
            _ => return None,
        }
    }
    None
}
