//! Communities: standard (RFC 1997), extended (RFC 4360), IPv6 address
//! specific extended (RFC 5701) and large (RFC 8092).

use serde::{Serialize, Serializer};
use std::fmt;

/// A standard community.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// RFC 1997's NO_EXPORT_SUBCONFED, written `local-AS` (as FRR and IOS do).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// RFC 3765.
    pub const NO_PEER: Community = Community(0xFFFF_FF04);
    /// RFC 8326.
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// RFC 9494.
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
    /// RFC 7999.
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// 0:0, which community lists read as "every route" (FRR, IOS).
    pub const INTERNET: Community = Community(0);

    /// The name the text form gives it, if it is a well-known community.
    pub fn name(self) -> Option<&'static str> {
        WELL_KNOWN.iter().find(|(_, c)| *c == self).map(|(n, _)| *n)
    }
}

/// An extended community: 8 octets, type and subtype first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtCommunity(pub [u8; 8]);

impl ExtCommunity {
    pub fn type_high(&self) -> u8 {
        self.0[0]
    }
    pub fn subtype(&self) -> u8 {
        self.0[1]
    }
    /// Bit 0x40 of the type: not to be passed to other ASes (RFC 4360 §2).
    pub fn is_transitive(&self) -> bool {
        self.0[0] & 0x40 == 0
    }
}

/// An IPv6 address specific extended community: 20 octets (RFC 5701).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6ExtCommunity(pub [u8; 20]);

/// A large community (RFC 8092).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    pub global: u32,
    pub local1: u32,
    pub local2: u32,
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff),
        }
    }
}

impl ExtCommunity {
    /// Writes a route target or site of origin as `NAME:ADMIN:N`, with
    /// `names` for the two subtypes (RFC 4360 §4, RFC 5668), or the whole
    /// value as `0x` and 16 hex digits for any other type. The short forms
    /// are of transitive types only: a non-transitive one (0x40 bit) is
    /// written in hex, so that the text reads back as the same value.
    pub fn write_text(&self, names: [&str; 2], f: &mut impl fmt::Write) -> fmt::Result {
        let b = self.0;
        let kind = match b[1] {
            0x02 => names[0],
            0x03 => names[1],
            _ => "",
        };
        match b[0] {
            // Two-octet AS specific.
            0x00 if !kind.is_empty() => write!(
                f,
                "{kind}:{}:{}",
                u16::from_be_bytes([b[2], b[3]]),
                u32::from_be_bytes([b[4], b[5], b[6], b[7]])
            ),
            // IPv4 address specific.
            0x01 if !kind.is_empty() => write!(
                f,
                "{kind}:{}.{}.{}.{}:{}",
                b[2],
                b[3],
                b[4],
                b[5],
                u16::from_be_bytes([b[6], b[7]])
            ),
            // Four-octet AS specific.
            0x02 if !kind.is_empty() => write!(
                f,
                "{kind}:{}:{}",
                u32::from_be_bytes([b[2], b[3], b[4], b[5]]),
                u16::from_be_bytes([b[6], b[7]])
            ),
            _ => write!(f, "0x{}", super::super::hex(&b)),
        }
    }
}

/// The form the configuration reads (`rt:`, `soo:`).
impl fmt::Display for ExtCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(["rt", "soo"], f)
    }
}

impl fmt::Display for Ipv6ExtCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", super::super::hex(&self.0))
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

macro_rules! display_debug_serialize {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}
display_debug_serialize!(Community, ExtCommunity, Ipv6ExtCommunity, LargeCommunity);

/// A community as text could not be read; says what form was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not {expected}")]
pub struct ParseCommunityError {
    pub text: String,
    pub expected: &'static str,
}

fn parse_err(text: &str, expected: &'static str) -> ParseCommunityError {
    ParseCommunityError {
        text: text.to_string(),
        expected,
    }
}

/// The names the text form uses for well-known communities: the IANA
/// registry's, spelt as FRR writes them (so that an expression written for
/// FRR sees the same text here). RFC 1997, 3765, 7611, 7999, 8326, 9494,
/// draft-ietf-idr-rtc-no-rt (route-filter).
const WELL_KNOWN: [(&str, Community); 15] = [
    ("internet", Community::INTERNET),
    ("graceful-shutdown", Community::GRACEFUL_SHUTDOWN),
    ("accept-own", Community(0xFFFF_0001)),
    ("route-filter-translated-v4", Community(0xFFFF_0002)),
    ("route-filter-v4", Community(0xFFFF_0003)),
    ("route-filter-translated-v6", Community(0xFFFF_0004)),
    ("route-filter-v6", Community(0xFFFF_0005)),
    ("llgr-stale", Community::LLGR_STALE),
    ("no-llgr", Community::NO_LLGR),
    ("accept-own-nexthop", Community(0xFFFF_0008)),
    ("blackhole", Community::BLACKHOLE),
    ("no-export", Community::NO_EXPORT),
    ("no-advertise", Community::NO_ADVERTISE),
    ("local-AS", Community::NO_EXPORT_SUBCONFED),
    ("no-peer", Community::NO_PEER),
];

/// `ASN:VALUE` (each 0 to 65535) or a well-known name.
impl std::str::FromStr for Community {
    type Err = ParseCommunityError;
    fn from_str(s: &str) -> Result<Community, ParseCommunityError> {
        const EXPECTED: &str = "a community (ASN:VALUE, each 0-65535, or a well-known name: internet, graceful-shutdown, accept-own, route-filter-translated-v4, route-filter-v4, route-filter-translated-v6, route-filter-v6, llgr-stale, no-llgr, accept-own-nexthop, blackhole, no-export, no-advertise, local-AS (or no-export-subconfed), no-peer)";
        if let Some((_, c)) = WELL_KNOWN.iter().find(|(n, _)| *n == s) {
            return Ok(*c);
        }
        // RFC 1997's own name for local-AS.
        if s == "no-export-subconfed" {
            return Ok(Community::NO_EXPORT_SUBCONFED);
        }
        let (a, v) = s.split_once(':').ok_or_else(|| parse_err(s, EXPECTED))?;
        let a: u16 = a.parse().map_err(|_| parse_err(s, EXPECTED))?;
        let v: u16 = v.parse().map_err(|_| parse_err(s, EXPECTED))?;
        Ok(Community((u32::from(a) << 16) | u32::from(v)))
    }
}

/// `GLOBAL:LOCAL1:LOCAL2`, each 0 to 4294967295 (RFC 8092).
impl std::str::FromStr for LargeCommunity {
    type Err = ParseCommunityError;
    fn from_str(s: &str) -> Result<LargeCommunity, ParseCommunityError> {
        const EXPECTED: &str = "a large community (GLOBAL:LOCAL1:LOCAL2, each 0-4294967295)";
        let mut parts = s.split(':').map(str::parse::<u32>);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Ok(global)), Some(Ok(local1)), Some(Ok(local2)), None) => Ok(LargeCommunity {
                global,
                local1,
                local2,
            }),
            _ => Err(parse_err(s, EXPECTED)),
        }
    }
}

/// `rt:` or `soo:` then `ASN:N` (a 2-octet ASN with a 4-octet N, or a
/// 4-octet ASN with a 2-octet N) or `IPV4:N` (RFC 4360 §4, RFC 5668), or
/// `0x` and 16 hex digits for any other type.
impl std::str::FromStr for ExtCommunity {
    type Err = ParseCommunityError;
    fn from_str(s: &str) -> Result<ExtCommunity, ParseCommunityError> {
        const EXPECTED: &str =
            "an extended community (rt:ASN:N, rt:IPV4:N, soo:..., or 0x and 16 hex digits)";
        let err = || parse_err(s, EXPECTED);
        if let Some(hex) = s.strip_prefix("0x") {
            if hex.len() != 16 {
                return Err(err());
            }
            let mut b = [0u8; 8];
            for (i, o) in b.iter_mut().enumerate() {
                *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(err)?, 16)
                    .map_err(|_| err())?;
            }
            return Ok(ExtCommunity(b));
        }
        let (kind, rest) = s.split_once(':').ok_or_else(err)?;
        let subtype = match kind {
            "rt" => 0x02,
            "soo" => 0x03,
            _ => return Err(err()),
        };
        let (admin, n) = rest.rsplit_once(':').ok_or_else(err)?;
        let mut b = [0u8; 8];
        b[1] = subtype;
        if let Ok(ip) = admin.parse::<std::net::Ipv4Addr>() {
            let n: u16 = n.parse().map_err(|_| err())?;
            b[0] = 0x01;
            b[2..6].copy_from_slice(&ip.octets());
            b[6..8].copy_from_slice(&n.to_be_bytes());
        } else if let Ok(asn) = admin.parse::<u16>() {
            let n: u32 = n.parse().map_err(|_| err())?;
            b[0] = 0x00;
            b[2..4].copy_from_slice(&asn.to_be_bytes());
            b[4..8].copy_from_slice(&n.to_be_bytes());
        } else {
            let asn: u32 = admin.parse().map_err(|_| err())?;
            let n: u16 = n.parse().map_err(|_| err())?;
            b[0] = 0x02;
            b[2..6].copy_from_slice(&asn.to_be_bytes());
            b[6..8].copy_from_slice(&n.to_be_bytes());
        }
        Ok(ExtCommunity(b))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod parse_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_forms() {
        assert_eq!(
            "65000:1".parse::<Community>().unwrap(),
            Community(0xFDE8_0001)
        );
        assert_eq!(
            "no-export".parse::<Community>().unwrap(),
            Community::NO_EXPORT
        );
        // Every well-known name FRR writes, and RFC 1997's for local-AS.
        for (name, v) in [
            ("internet", 0),
            ("graceful-shutdown", 0xFFFF_0000),
            ("accept-own", 0xFFFF_0001),
            ("llgr-stale", 0xFFFF_0006),
            ("no-llgr", 0xFFFF_0007),
            ("blackhole", 0xFFFF_029A),
            ("no-advertise", 0xFFFF_FF02),
            ("local-AS", 0xFFFF_FF03),
            ("no-export-subconfed", 0xFFFF_FF03),
            ("no-peer", 0xFFFF_FF04),
        ] {
            assert_eq!(name.parse::<Community>().unwrap(), Community(v), "{name}");
        }
        assert_eq!(Community::NO_PEER.to_string(), "no-peer");
        assert_eq!(Community::NO_EXPORT_SUBCONFED.to_string(), "local-AS");
        assert_eq!(Community(0xFFFF_0009).to_string(), "65535:9");
        assert!("65536:1".parse::<Community>().is_err());
        assert!("1:2:3".parse::<Community>().is_err());
        assert!("".parse::<Community>().is_err());
        assert!("4200000000:1:2".parse::<LargeCommunity>().is_ok());
        assert!("1:2".parse::<LargeCommunity>().is_err());
        assert!("1:2:3:4".parse::<LargeCommunity>().is_err());
        let rt: ExtCommunity = "rt:65000:100".parse().unwrap();
        assert_eq!(rt.0, [0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 100]);
        let rt4: ExtCommunity = "rt:4200000000:7".parse().unwrap();
        assert_eq!(rt4.0[0], 0x02);
        let ip: ExtCommunity = "soo:198.18.0.1:7".parse().unwrap();
        assert_eq!(ip.0[..2], [0x01, 0x03]);
        assert!("xx:1:2".parse::<ExtCommunity>().is_err());
        assert!("rt:65000:4294967296".parse::<ExtCommunity>().is_err());
        assert!("0x0102".parse::<ExtCommunity>().is_err());
        let e = "65536:1".parse::<Community>().unwrap_err().to_string();
        assert!(e.starts_with("`65536:1` is not a community"), "{e}");
    }

    proptest! {
        #[test]
        fn display_then_parse(
            c in any::<u32>(),
            l in any::<(u32, u32, u32)>(),
            e in any::<[u8; 8]>(),
            // Types whose short forms exist, often: random octets rarely
            // hit them.
            kind in 0u8..3,
            sub in 2u8..4,
            non_transitive in any::<bool>(),
        ) {
            let c = Community(c);
            prop_assert_eq!(c.to_string().parse::<Community>().unwrap(), c);
            let l = LargeCommunity { global: l.0, local1: l.1, local2: l.2 };
            prop_assert_eq!(l.to_string().parse::<LargeCommunity>().unwrap(), l);
            let e = ExtCommunity(e);
            prop_assert_eq!(e.to_string().parse::<ExtCommunity>().unwrap(), e);
            let mut s = e;
            s.0[0] = kind | if non_transitive { 0x40 } else { 0 };
            s.0[1] = sub;
            prop_assert_eq!(s.to_string().parse::<ExtCommunity>().unwrap(), s);
        }
    }
}
