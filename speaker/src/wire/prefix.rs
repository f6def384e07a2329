//! IP prefixes, route distinguishers and MPLS labels as they appear in NLRI.

use serde::{Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP prefix with its host bits cleared.
///
/// RFC 4271 §4.3 calls the bits after the prefix length "irrelevant": they
/// are masked here, and the raw NLRI bytes keep what was on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// A prefix, or `None` when `len` is longer than the address.
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        match addr {
            IpAddr::V4(a) if len <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                Some(Prefix {
                    addr: IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask)),
                    len,
                })
            }
            IpAddr::V6(a) if len <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                Some(Prefix {
                    addr: IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask)),
                    len,
                })
            }
            _ => None,
        }
    }

    /// Builds a prefix from the significant octets of an NLRI entry
    /// (`bytes.len() == ceil(len / 8)`, checked by the caller).
    pub(crate) fn from_wire(ipv6: bool, len: u8, bytes: &[u8]) -> Option<Prefix> {
        // Shift octets in rather than copy a variable-length slice, and mask
        // once: this runs for every prefix of every UPDATE.
        if ipv6 {
            if len > 128 || bytes.len() > 16 {
                return None;
            }
            let mut v = 0u128;
            for (i, b) in bytes.iter().enumerate() {
                v |= u128::from(*b) << (120 - 8 * i);
            }
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            Some(Prefix {
                addr: IpAddr::V6(Ipv6Addr::from(v & mask)),
                len,
            })
        } else {
            if len > 32 || bytes.len() > 4 {
                return None;
            }
            let mut v = 0u32;
            for (i, b) in bytes.iter().enumerate() {
                v |= u32::from(*b) << (24 - 8 * i);
            }
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            Some(Prefix {
                addr: IpAddr::V4(Ipv4Addr::from(v & mask)),
                len,
            })
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits (a prefix is never "empty": /0 is the default route).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// Whether `addr` is in the prefix.
    pub fn contains(&self, addr: IpAddr) -> bool {
        Prefix::new(addr, self.len).is_some_and(|p| p.addr == self.addr)
    }

    /// The significant octets, as NLRI carries them.
    pub fn wire_octets(&self) -> ([u8; 16], usize) {
        let n = usize::from(self.len).div_ceil(8);
        let mut out = [0u8; 16];
        match self.addr {
            IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => out.copy_from_slice(&a.octets()),
        }
        (out, n)
    }
}

/// IPv4 before IPv6, then by address, then by length: the order of the
/// fields, on integers (the RIB's tables compare keys all the time).
impl Ord for Prefix {
    #[inline]
    fn cmp(&self, other: &Prefix) -> std::cmp::Ordering {
        fn key(a: IpAddr) -> (bool, u128) {
            match a {
                IpAddr::V4(a) => (false, u128::from(u32::from(a))),
                IpAddr::V6(a) => (true, u128::from(a)),
            }
        }
        key(self.addr)
            .cmp(&key(other.addr))
            .then(self.len.cmp(&other.len))
    }
}

impl PartialOrd for Prefix {
    #[inline]
    fn partial_cmp(&self, other: &Prefix) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Prefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::str::FromStr for Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Prefix, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected ADDR/LEN"))?;
        let addr: IpAddr = a.parse().map_err(|e| format!("{a:?}: {e}"))?;
        let len: u8 = l.parse().map_err(|e| format!("{l:?}: {e}"))?;
        Prefix::new(addr, len).ok_or_else(|| format!("{s:?}: length too long for the address"))
    }
}

/// A route distinguisher (RFC 4364 §4.2), kept as its 8 octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RouteDistinguisher(pub [u8; 8]);

impl fmt::Display for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let ty = u16::from_be_bytes([b[0], b[1]]);
        match ty {
            0 => write!(
                f,
                "{}:{}",
                u16::from_be_bytes([b[2], b[3]]),
                u32::from_be_bytes([b[4], b[5], b[6], b[7]])
            ),
            1 => write!(
                f,
                "{}:{}",
                Ipv4Addr::new(b[2], b[3], b[4], b[5]),
                u16::from_be_bytes([b[6], b[7]])
            ),
            2 => write!(
                f,
                "{}:{}",
                u32::from_be_bytes([b[2], b[3], b[4], b[5]]),
                u16::from_be_bytes([b[6], b[7]])
            ),
            _ => write!(f, "rd-type{ty}:{:02x?}", &b[2..]),
        }
    }
}

impl fmt::Debug for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for RouteDistinguisher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One MPLS label stack entry as NLRI carries it (RFC 8277 §2): 20-bit label,
/// 3 bits TC/unused, bottom-of-stack bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Label(pub u32);

impl Label {
    pub fn value(self) -> u32 {
        self.0 >> 4
    }
    pub fn bottom_of_stack(self) -> bool {
        self.0 & 1 == 1
    }
    /// RFC 8277 §2.4: 0x800000 in a withdrawal stands for "no label".
    pub fn is_withdraw_compat(self) -> bool {
        self.0 == 0x80_0000
    }
}
