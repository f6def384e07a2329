//! OPEN (RFC 4271 §4.2) with optional parameters in the classic and the
//! RFC 9072 extended layout.

use super::capability::Capability;
use super::error::OpenError;
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use std::net::Ipv4Addr;

/// RFC 6793 §9: the 2-octet stand-in for a 4-octet AS number.
pub const AS_TRANS: u16 = 23456;
/// Optional parameter type for capabilities (RFC 5492 §4).
pub const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072 §2: marks the extended optional parameters length.
const PARAM_EXTENDED_LENGTH: u8 = 255;

/// An OPEN message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Open {
    /// Always 4 once decoded.
    pub version: u8,
    /// My Autonomous System: AS_TRANS when the real AS needs 4 octets.
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_identifier: Ipv4Addr,
    /// Capabilities, grouped as the optional parameters carried them (some
    /// speakers send one parameter per capability; keeping the grouping makes
    /// re-encoding byte-identical).
    pub capability_params: Vec<Vec<Capability>>,
    /// RFC 9072 layout used on the wire.
    pub extended_params: bool,
}

impl Open {
    /// An OPEN with all capabilities in one optional parameter.
    pub fn new(asn: u32, hold_time: u16, bgp_identifier: Ipv4Addr, caps: Vec<Capability>) -> Open {
        let my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
        Open {
            version: 4,
            my_as,
            hold_time,
            bgp_identifier,
            capability_params: if caps.is_empty() { vec![] } else { vec![caps] },
            extended_params: false,
        }
    }

    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.capability_params.iter().flatten()
    }

    /// The speaker's AS: the 4-octet AS capability when present (RFC 6793 §4.1).
    pub fn asn(&self) -> u32 {
        self.capabilities()
            .find_map(|c| match c {
                Capability::FourOctetAs { asn } => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// Decodes the body (after the 19-octet header).
    pub fn decode(body: &[u8]) -> Result<Open, OpenError> {
        let short = OpenError::Malformed("OPEN shorter than its fixed fields");
        let fixed: &[u8; 10] = body
            .get(..10)
            .and_then(|s| s.try_into().ok())
            .ok_or(short)?;
        let version = fixed[0];
        if version != 4 {
            return Err(OpenError::UnsupportedVersion { version });
        }
        let my_as = u16::from_be_bytes([fixed[1], fixed[2]]);
        let hold_time = u16::from_be_bytes([fixed[3], fixed[4]]);
        let bgp_identifier = Ipv4Addr::new(fixed[5], fixed[6], fixed[7], fixed[8]);
        let opt_len = usize::from(fixed[9]);
        let rest = &body[10..];

        // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255.
        let extended = opt_len == 255 && rest.first() == Some(&PARAM_EXTENDED_LENGTH);
        let (params, hdr_len) = if extended {
            let l = rest
                .get(1..3)
                .ok_or(OpenError::Malformed("extended parameters length truncated"))?;
            let l = usize::from(u16::from_be_bytes([l[0], l[1]]));
            (rest.get(3..).filter(|p| p.len() == l), 3)
        } else {
            (Some(rest).filter(|p| p.len() == opt_len), 2)
        };
        let mut params = params.ok_or(OpenError::Malformed(
            "optional parameters length does not match the message",
        ))?;

        let mut capability_params = Vec::new();
        while !params.is_empty() {
            let param_type = params[0];
            let (len, value_at) = if hdr_len == 3 {
                let l = params
                    .get(1..3)
                    .ok_or(OpenError::Malformed("optional parameter truncated"))?;
                (usize::from(u16::from_be_bytes([l[0], l[1]])), 3)
            } else {
                let l = params
                    .get(1)
                    .ok_or(OpenError::Malformed("optional parameter truncated"))?;
                (usize::from(*l), 2)
            };
            let value = params
                .get(value_at..value_at + len)
                .ok_or(OpenError::Malformed(
                    "optional parameter overruns the parameters",
                ))?;
            if param_type != PARAM_CAPABILITIES {
                return Err(OpenError::UnsupportedOptionalParameter { param_type });
            }
            let mut caps = Vec::new();
            Capability::decode_list(value, &mut caps)?;
            capability_params.push(caps);
            params = &params[value_at + len..];
        }

        let open = Open {
            version,
            my_as,
            hold_time,
            bgp_identifier,
            capability_params,
            extended_params: extended,
        };
        // RFC 4271 §6.2: hold time 1 or 2 is unacceptable.
        if hold_time == 1 || hold_time == 2 {
            return Err(OpenError::UnacceptableHoldTime { hold_time });
        }
        // RFC 6286 §2.2: the identifier is a non-zero 4-octet number.
        if bgp_identifier.is_unspecified() {
            return Err(OpenError::BadBgpIdentifier { id: bgp_identifier });
        }
        // RFC 7607 §2: AS 0 is a Bad Peer AS.
        if open.asn() == 0 || my_as == 0 {
            return Err(OpenError::BadPeerAs { asn: open.asn() });
        }
        Ok(open)
    }

    pub fn encode_body(&self, out: &mut BytesMut) -> Result<(), crate::wire::EncodeError> {
        use crate::wire::error::{len_u8, len_u16};
        out.put_u8(self.version);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_slice(&self.bgp_identifier.octets());
        let mut params = BytesMut::new();
        let mut needs_extended = self.extended_params;
        let mut encoded: Vec<Bytes> = Vec::with_capacity(self.capability_params.len());
        for group in &self.capability_params {
            let mut v = BytesMut::new();
            for c in group {
                c.encode(&mut v)?;
            }
            needs_extended |= v.len() > 255;
            encoded.push(v.freeze());
        }
        for v in &encoded {
            params.put_u8(PARAM_CAPABILITIES);
            if needs_extended {
                params.put_u16(len_u16("a capabilities parameter", v.len())?);
            } else {
                params.put_u8(len_u8("a capabilities parameter", v.len())?);
            }
            params.put_slice(v);
        }
        if needs_extended || params.len() > 255 {
            if !needs_extended {
                // Re-lay the parameters with 2-octet lengths (RFC 9072 §2).
                params.clear();
                for v in &encoded {
                    params.put_u8(PARAM_CAPABILITIES);
                    params.put_u16(len_u16("a capabilities parameter", v.len())?);
                    params.put_slice(v);
                }
            }
            out.put_u8(255);
            out.put_u8(PARAM_EXTENDED_LENGTH);
            out.put_u16(len_u16("the optional parameters", params.len())?);
        } else {
            out.put_u8(len_u8("the optional parameters", params.len())?);
        }
        out.put_slice(&params);
        Ok(())
    }
}
