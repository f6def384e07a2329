//! The MP_REACH_NLRI header (RFC 4760 §3) and its next hop, whose length
//! depends on the family (RFC 2545 §3, RFC 4364 §4.3.2, RFC 4659 §3.2.1,
//! RFC 8950 §3).

use crate::wire::family::{Afi, Family, NlriFormat};
use crate::wire::prefix::RouteDistinguisher;
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The part of MP_REACH_NLRI that describes the path: family and next hop.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MpReachHeader {
    pub family: Family,
    pub next_hop: MpNextHop,
    /// The octet after the next hop (SNPA count in RFC 2858, "Reserved" in
    /// RFC 4760): ignored on receipt, kept for byte-identical re-encoding.
    pub reserved: u8,
    /// Read from a TABLE_DUMP_V2 RIB entry that holds the full attribute
    /// where RFC 6396 §4.3.4 asks for the abbreviated form (next hop only),
    /// as some writers do: kept so such a file re-encodes as it was.
    #[serde(skip)]
    pub mrt_full_form: bool,
}

/// A next hop as MP_REACH_NLRI carries it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MpNextHop {
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// Global and link-local address (RFC 2545 §3).
    Ipv6LinkLocal(Ipv6Addr, Ipv6Addr),
    /// VPN next hops carry an all-zero route distinguisher (RFC 4364 §4.3.2).
    VpnIpv4(RouteDistinguisher, Ipv4Addr),
    VpnIpv6(RouteDistinguisher, Ipv6Addr),
    VpnIpv6LinkLocal(RouteDistinguisher, Ipv6Addr, RouteDistinguisher, Ipv6Addr),
    /// A family carried opaquely (EVPN, flowspec, BGP-LS, ...).
    Other(#[serde(serialize_with = "crate::wire::serialize_hex")] Bytes),
}

fn v4(b: &[u8]) -> Ipv4Addr {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    Ipv4Addr::from(a)
}
fn v6(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}
fn rd(b: &[u8]) -> RouteDistinguisher {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    RouteDistinguisher(a)
}

impl MpNextHop {
    /// Decodes the next hop of `family`; `None` when its length is not one
    /// the family allows (RFC 7606 §7.11).
    pub fn decode(family: Family, b: &[u8]) -> Option<MpNextHop> {
        Some(match (family.nlri_format(), b.len()) {
            (NlriFormat::Opaque, _) => MpNextHop::Other(Bytes::copy_from_slice(b)),
            // RFC 8950 allows IPv6 next hops for IPv4 NLRI, not the reverse.
            (NlriFormat::Prefix | NlriFormat::Labeled, 4) if family.afi == Afi::IPV4 => {
                MpNextHop::Ipv4(v4(b))
            }
            (NlriFormat::Prefix | NlriFormat::Labeled, 16) => MpNextHop::Ipv6(v6(b)),
            (NlriFormat::Prefix | NlriFormat::Labeled, 32) => {
                MpNextHop::Ipv6LinkLocal(v6(b), v6(&b[16..]))
            }
            (NlriFormat::Vpn, 12) => MpNextHop::VpnIpv4(rd(b), v4(&b[8..])),
            (NlriFormat::Vpn, 24) => MpNextHop::VpnIpv6(rd(b), v6(&b[8..])),
            (NlriFormat::Vpn, 48) => {
                MpNextHop::VpnIpv6LinkLocal(rd(b), v6(&b[8..]), rd(&b[24..]), v6(&b[32..]))
            }
            _ => return None,
        })
    }

    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            MpNextHop::Ipv4(a) => out.put_slice(&a.octets()),
            MpNextHop::Ipv6(a) => out.put_slice(&a.octets()),
            MpNextHop::Ipv6LinkLocal(a, l) => {
                out.put_slice(&a.octets());
                out.put_slice(&l.octets());
            }
            MpNextHop::VpnIpv4(r, a) => {
                out.put_slice(&r.0);
                out.put_slice(&a.octets());
            }
            MpNextHop::VpnIpv6(r, a) => {
                out.put_slice(&r.0);
                out.put_slice(&a.octets());
            }
            MpNextHop::VpnIpv6LinkLocal(r, a, r2, l) => {
                out.put_slice(&r.0);
                out.put_slice(&a.octets());
                out.put_slice(&r2.0);
                out.put_slice(&l.octets());
            }
            MpNextHop::Other(b) => out.put_slice(b),
        }
    }

    pub fn wire_len(&self) -> usize {
        match self {
            MpNextHop::Ipv4(_) => 4,
            MpNextHop::Ipv6(_) => 16,
            MpNextHop::Ipv6LinkLocal(..) => 32,
            MpNextHop::VpnIpv4(..) => 12,
            MpNextHop::VpnIpv6(..) => 24,
            MpNextHop::VpnIpv6LinkLocal(..) => 48,
            MpNextHop::Other(b) => b.len(),
        }
    }
}
