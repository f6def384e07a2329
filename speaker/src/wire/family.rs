//! Address families (RFC 4760 §3): AFI and SAFI as open newtypes, so an
//! unknown code survives a round trip.

use serde::Serialize;
use std::fmt;

/// Address Family Identifier (IANA registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Afi(pub u16);

impl Afi {
    pub const IPV4: Afi = Afi(1);
    pub const IPV6: Afi = Afi(2);
    pub const L2VPN: Afi = Afi(25);
    pub const BGP_LS: Afi = Afi(16388);
}

/// Subsequent Address Family Identifier (IANA registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Safi(pub u8);

impl Safi {
    pub const UNICAST: Safi = Safi(1);
    pub const MULTICAST: Safi = Safi(2);
    /// RFC 8277 labeled unicast.
    pub const LABELED_UNICAST: Safi = Safi(4);
    pub const EVPN: Safi = Safi(70);
    pub const BGP_LS: Safi = Safi(71);
    /// RFC 4364 / RFC 4659 L3VPN.
    pub const MPLS_VPN: Safi = Safi(128);
    /// RFC 6514 multicast VPN uses the VPN prefix format.
    pub const MPLS_VPN_MULTICAST: Safi = Safi(129);
    pub const FLOWSPEC: Safi = Safi(133);
    pub const FLOWSPEC_VPN: Safi = Safi(134);
}

/// An AFI/SAFI pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Family {
    pub afi: Afi,
    pub safi: Safi,
}

/// How the NLRI of a family is laid out on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NlriFormat {
    /// length + prefix (RFC 4271 §4.3, RFC 4760 §5).
    Prefix,
    /// length + label stack + prefix (RFC 8277).
    Labeled,
    /// length + label stack + route distinguisher + prefix (RFC 4364 §4.3.4).
    Vpn,
    /// A family this speaker carries but does not interpret.
    Opaque,
}

impl Family {
    pub const IPV4_UNICAST: Family = Family::new(Afi::IPV4, Safi::UNICAST);
    pub const IPV6_UNICAST: Family = Family::new(Afi::IPV6, Safi::UNICAST);
    pub const IPV4_MULTICAST: Family = Family::new(Afi::IPV4, Safi::MULTICAST);
    pub const IPV6_MULTICAST: Family = Family::new(Afi::IPV6, Safi::MULTICAST);
    pub const IPV4_LABELED: Family = Family::new(Afi::IPV4, Safi::LABELED_UNICAST);
    pub const IPV6_LABELED: Family = Family::new(Afi::IPV6, Safi::LABELED_UNICAST);
    pub const VPNV4: Family = Family::new(Afi::IPV4, Safi::MPLS_VPN);
    pub const VPNV6: Family = Family::new(Afi::IPV6, Safi::MPLS_VPN);

    pub const fn new(afi: Afi, safi: Safi) -> Family {
        Family { afi, safi }
    }

    /// Address length in bits of the prefixes of this family, when it has IP prefixes.
    pub fn max_prefix_bits(self) -> Option<u8> {
        match self.afi {
            Afi::IPV4 => Some(32),
            Afi::IPV6 => Some(128),
            _ => None,
        }
    }

    pub fn nlri_format(self) -> NlriFormat {
        if self.max_prefix_bits().is_none() {
            return NlriFormat::Opaque;
        }
        match self.safi {
            Safi::UNICAST | Safi::MULTICAST => NlriFormat::Prefix,
            Safi::LABELED_UNICAST => NlriFormat::Labeled,
            Safi::MPLS_VPN | Safi::MPLS_VPN_MULTICAST => NlriFormat::Vpn,
            _ => NlriFormat::Opaque,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let afi = match self.afi {
            Afi::IPV4 => "ipv4",
            Afi::IPV6 => "ipv6",
            Afi::L2VPN => "l2vpn",
            Afi::BGP_LS => "bgp-ls",
            Afi(n) => return write!(f, "afi{n}/safi{}", self.safi.0),
        };
        let safi = match self.safi {
            Safi::UNICAST => "unicast",
            Safi::MULTICAST => "multicast",
            Safi::LABELED_UNICAST => "labeled-unicast",
            Safi::EVPN => "evpn",
            Safi::BGP_LS => "bgp-ls",
            Safi::MPLS_VPN => "vpn",
            Safi::MPLS_VPN_MULTICAST => "vpn-multicast",
            Safi::FLOWSPEC => "flowspec",
            Safi::FLOWSPEC_VPN => "flowspec-vpn",
            Safi(n) => return write!(f, "{afi}/safi{n}"),
        };
        write!(f, "{afi}-{safi}")
    }
}
