//! Capabilities advertisement (RFC 5492) and the capabilities a route
//! reflector negotiates. Unknown capabilities are kept as bytes.

use super::error::OpenError;
use super::family::{Afi, Family, Safi};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

/// Capability codes (IANA).
pub mod code {
    pub const MULTIPROTOCOL: u8 = 1;
    pub const ROUTE_REFRESH: u8 = 2;
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    pub const EXTENDED_MESSAGE: u8 = 6;
    pub const ROLE: u8 = 9;
    pub const GRACEFUL_RESTART: u8 = 64;
    pub const FOUR_OCTET_AS: u8 = 65;
    pub const ADD_PATH: u8 = 69;
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    pub const LONG_LIVED_GRACEFUL_RESTART: u8 = 71;
    pub const FQDN: u8 = 73;
}

/// RFC 8950 §3: one (NLRI family, next-hop AFI) pair. The NLRI SAFI is 16 bits here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ExtendedNextHop {
    pub nlri_afi: Afi,
    pub nlri_safi: u16,
    pub next_hop_afi: Afi,
}

/// RFC 4724 §3: a family whose forwarding state the restarting speaker kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct GracefulRestartFamily {
    pub family: Family,
    /// Bit 0x80: Forwarding State preserved.
    pub flags: u8,
}

/// RFC 7911 §4 Send/Receive field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AddPathMode(pub u8);

impl AddPathMode {
    pub const RECEIVE: AddPathMode = AddPathMode(1);
    pub const SEND: AddPathMode = AddPathMode(2);
    pub const BOTH: AddPathMode = AddPathMode(3);
    pub fn receive(self) -> bool {
        self.0 & 1 != 0
    }
    pub fn send(self) -> bool {
        self.0 & 2 != 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AddPathFamily {
    pub family: Family,
    pub mode: AddPathMode,
}

/// RFC 9494 §2: per-family long-lived stale time (24 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct LlgrFamily {
    pub family: Family,
    pub flags: u8,
    pub stale_time: u32,
}

/// One capability.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "capability", rename_all = "snake_case")]
pub enum Capability {
    /// RFC 4760 §8.
    Multiprotocol { family: Family },
    /// RFC 2918.
    RouteRefresh,
    /// RFC 8950.
    ExtendedNextHop { entries: Vec<ExtendedNextHop> },
    /// RFC 8654.
    ExtendedMessage,
    /// RFC 9234.
    Role { role: u8 },
    /// RFC 4724 §3: restart flags (high 4 bits) and time (low 12 bits).
    GracefulRestart {
        restart_flags: u8,
        restart_time: u16,
        families: Vec<GracefulRestartFamily>,
    },
    /// RFC 6793.
    FourOctetAs { asn: u32 },
    /// RFC 7911.
    AddPath { families: Vec<AddPathFamily> },
    /// RFC 7313.
    EnhancedRouteRefresh,
    /// RFC 9494.
    LongLivedGracefulRestart { families: Vec<LlgrFamily> },
    /// draft-walton-bgp-hostname-capability: kept as octets, shown lossily.
    Fqdn {
        #[serde(serialize_with = "super::serialize_lossy")]
        hostname: Bytes,
        #[serde(serialize_with = "super::serialize_lossy")]
        domain: Bytes,
    },
    /// Anything else, carried as received.
    Unknown {
        code: u8,
        #[serde(serialize_with = "super::serialize_hex")]
        value: Bytes,
    },
}

fn malformed(what: &'static str) -> OpenError {
    OpenError::Malformed(what)
}

impl Capability {
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol { .. } => code::MULTIPROTOCOL,
            Capability::RouteRefresh => code::ROUTE_REFRESH,
            Capability::ExtendedNextHop { .. } => code::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => code::EXTENDED_MESSAGE,
            Capability::Role { .. } => code::ROLE,
            Capability::GracefulRestart { .. } => code::GRACEFUL_RESTART,
            Capability::FourOctetAs { .. } => code::FOUR_OCTET_AS,
            Capability::AddPath { .. } => code::ADD_PATH,
            Capability::EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            Capability::LongLivedGracefulRestart { .. } => code::LONG_LIVED_GRACEFUL_RESTART,
            Capability::Fqdn { .. } => code::FQDN,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Decodes a list of capabilities (the value of a Capabilities optional parameter).
    pub fn decode_list(mut v: &[u8], out: &mut Vec<Capability>) -> Result<(), OpenError> {
        while !v.is_empty() {
            let [c, len, rest @ ..] = v else {
                return Err(malformed("capability header truncated"));
            };
            let len = usize::from(*len);
            let value = rest
                .get(..len)
                .ok_or(malformed("capability length overruns parameter"))?;
            out.push(Capability::decode(*c, value)?);
            v = &rest[len..];
        }
        Ok(())
    }

    /// Decodes one capability from its code and value.
    pub fn decode(c: u8, v: &[u8]) -> Result<Capability, OpenError> {
        let family = |b: &[u8]| Family::new(Afi(u16::from_be_bytes([b[0], b[1]])), Safi(b[3]));
        Ok(match c {
            code::MULTIPROTOCOL => {
                if v.len() != 4 {
                    return Err(malformed("multiprotocol capability length is not 4"));
                }
                Capability::Multiprotocol { family: family(v) }
            }
            code::ROUTE_REFRESH | code::EXTENDED_MESSAGE | code::ENHANCED_ROUTE_REFRESH
                if !v.is_empty() =>
            {
                return Err(malformed("capability must have no value"));
            }
            code::ROUTE_REFRESH => Capability::RouteRefresh,
            code::EXTENDED_MESSAGE => Capability::ExtendedMessage,
            code::ENHANCED_ROUTE_REFRESH => Capability::EnhancedRouteRefresh,
            code::EXTENDED_NEXT_HOP => {
                if !v.len().is_multiple_of(6) {
                    return Err(malformed("extended next hop capability length"));
                }
                let entries = v
                    .chunks_exact(6)
                    .map(|b| ExtendedNextHop {
                        nlri_afi: Afi(u16::from_be_bytes([b[0], b[1]])),
                        nlri_safi: u16::from_be_bytes([b[2], b[3]]),
                        next_hop_afi: Afi(u16::from_be_bytes([b[4], b[5]])),
                    })
                    .collect();
                Capability::ExtendedNextHop { entries }
            }
            code::ROLE => match v {
                [role] => Capability::Role { role: *role },
                _ => return Err(malformed("role capability length is not 1")),
            },
            code::GRACEFUL_RESTART => {
                if v.len() < 2 || !(v.len() - 2).is_multiple_of(4) {
                    return Err(malformed("graceful restart capability length"));
                }
                let families = v[2..]
                    .chunks_exact(4)
                    .map(|b| GracefulRestartFamily {
                        family: Family::new(Afi(u16::from_be_bytes([b[0], b[1]])), Safi(b[2])),
                        flags: b[3],
                    })
                    .collect();
                Capability::GracefulRestart {
                    restart_flags: v[0] >> 4,
                    restart_time: u16::from_be_bytes([v[0] & 0x0f, v[1]]),
                    families,
                }
            }
            code::FOUR_OCTET_AS => match v {
                [a, b, c, d] => Capability::FourOctetAs {
                    asn: u32::from_be_bytes([*a, *b, *c, *d]),
                },
                _ => return Err(malformed("4-octet AS capability length is not 4")),
            },
            code::ADD_PATH => {
                if !v.len().is_multiple_of(4) {
                    return Err(malformed("ADD-PATH capability length"));
                }
                let families = v
                    .chunks_exact(4)
                    .map(|b| AddPathFamily {
                        family: Family::new(Afi(u16::from_be_bytes([b[0], b[1]])), Safi(b[2])),
                        mode: AddPathMode(b[3]),
                    })
                    .collect();
                Capability::AddPath { families }
            }
            code::LONG_LIVED_GRACEFUL_RESTART => {
                if !v.len().is_multiple_of(7) {
                    return Err(malformed("long-lived graceful restart capability length"));
                }
                let families = v
                    .chunks_exact(7)
                    .map(|b| LlgrFamily {
                        family: Family::new(Afi(u16::from_be_bytes([b[0], b[1]])), Safi(b[2])),
                        flags: b[3],
                        stale_time: u32::from_be_bytes([0, b[4], b[5], b[6]]),
                    })
                    .collect();
                Capability::LongLivedGracefulRestart { families }
            }
            code::FQDN => {
                let (&hl, rest) = v.split_first().ok_or(malformed("FQDN capability empty"))?;
                let host = rest
                    .get(..usize::from(hl))
                    .ok_or(malformed("FQDN hostname overrun"))?;
                let rest = &rest[usize::from(hl)..];
                let (&dl, rest) = rest.split_first().ok_or(malformed("FQDN domain missing"))?;
                let domain = rest
                    .get(..usize::from(dl))
                    .ok_or(malformed("FQDN domain overrun"))?;
                if rest.len() != usize::from(dl) {
                    return Err(malformed("FQDN capability has trailing data"));
                }
                Capability::Fqdn {
                    hostname: Bytes::copy_from_slice(host),
                    domain: Bytes::copy_from_slice(domain),
                }
            }
            _ => Capability::Unknown {
                code: c,
                value: Bytes::copy_from_slice(v),
            },
        })
    }

    /// Encodes code, length and value.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), crate::wire::EncodeError> {
        out.put_u8(self.code());
        let len_at = out.len();
        out.put_u8(0);
        let put_family = |out: &mut BytesMut, f: Family| {
            out.put_u16(f.afi.0);
            out.put_u8(f.safi.0);
        };
        match self {
            Capability::Multiprotocol { family } => {
                out.put_u16(family.afi.0);
                out.put_u8(0);
                out.put_u8(family.safi.0);
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => {}
            Capability::ExtendedNextHop { entries } => {
                for e in entries {
                    out.put_u16(e.nlri_afi.0);
                    out.put_u16(e.nlri_safi);
                    out.put_u16(e.next_hop_afi.0);
                }
            }
            Capability::Role { role } => out.put_u8(*role),
            Capability::GracefulRestart {
                restart_flags,
                restart_time,
                families,
            } => {
                out.put_u16((u16::from(*restart_flags) << 12) | (restart_time & 0x0fff));
                for f in families {
                    put_family(out, f.family);
                    out.put_u8(f.flags);
                }
            }
            Capability::FourOctetAs { asn } => out.put_u32(*asn),
            Capability::AddPath { families } => {
                for f in families {
                    put_family(out, f.family);
                    out.put_u8(f.mode.0);
                }
            }
            Capability::LongLivedGracefulRestart { families } => {
                for f in families {
                    put_family(out, f.family);
                    out.put_u8(f.flags);
                    out.put_slice(&f.stale_time.to_be_bytes()[1..]);
                }
            }
            Capability::Fqdn { hostname, domain } => {
                out.put_u8(hostname.len().min(255) as u8);
                out.put_slice(&hostname[..hostname.len().min(255)]);
                out.put_u8(domain.len().min(255) as u8);
                out.put_slice(&domain[..domain.len().min(255)]);
            }
            Capability::Unknown { value, .. } => out.put_slice(value),
        }
        let len = out.len() - len_at - 1;
        out[len_at] = crate::wire::error::len_u8("a capability", len)?;
        Ok(())
    }
}
