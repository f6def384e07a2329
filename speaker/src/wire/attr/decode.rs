//! Decoding of the path attributes field with the error handling of
//! RFC 7606: each broken rule becomes an [`UpdateError`] whose action is the
//! one the RFC gives for that attribute.

use super::{
    Aggregator, AsPath, AttrFlags, AttrValue, Community, ExtCommunity, Ipv6ExtCommunity,
    LargeCommunity, MpNextHop, MpReachHeader, Origin, PathAttribute, PathAttributes,
    type_code as t,
};
use crate::wire::context::CodecContext;
use crate::wire::error::{ErrorAction, UpdateError, UpdateErrorKind as K};
use crate::wire::family::{Afi, Family, Safi};
use crate::wire::nlri::Nlri;
use bytes::Bytes;
use std::net::Ipv4Addr;

/// MP_UNREACH_NLRI as received: not a path property, so it lives beside the
/// path attributes, with its position among them for re-encoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    pub flags: AttrFlags,
    pub nlri: Nlri,
    /// How many path attributes preceded it on the wire.
    pub position: usize,
}

/// The decoded path attributes field of one UPDATE (or MRT RIB entry).
#[derive(Clone, Debug, Default)]
pub struct AttrSection {
    pub attrs: PathAttributes,
    /// The NLRI of MP_REACH_NLRI (its header is in `attrs`).
    pub mp_reach_nlri: Option<Nlri>,
    pub mp_unreach: Option<MpUnreach>,
    /// Errors that did not stop decoding: attribute discard and treat-as-withdraw.
    pub issues: Vec<UpdateError>,
}

/// Decodes a path attributes field. `Err` is an error whose action is
/// session reset or AFI/SAFI disable; milder ones are in `issues`.
pub fn decode_attributes(raw: &Bytes, ctx: &CodecContext) -> Result<AttrSection, UpdateError> {
    // Most UPDATEs carry at most eight attributes: one allocation.
    let mut out = AttrSection {
        attrs: PathAttributes::new(Vec::with_capacity(8)),
        ..AttrSection::default()
    };
    let mut seen = [0u64; 4];
    let mut pos = 0usize;
    while pos < raw.len() {
        let rest = &raw[pos..];
        // RFC 7606 §4: too few octets for a header, or a value that overruns
        // the field: treat-as-withdraw, and the NLRI are still found through
        // the Total Path Attribute Length.
        let hdr = match rest {
            [f, _, ..] if f & AttrFlags::EXTENDED_LENGTH != 0 => 4,
            _ => 3,
        };
        if rest.len() < hdr {
            out.issues
                .push(overrun(raw.slice(pos..), "attribute header truncated"));
            break;
        }
        let flags = AttrFlags(rest[0]);
        let code = rest[1];
        let len = if hdr == 4 {
            usize::from(u16::from_be_bytes([rest[2], rest[3]]))
        } else {
            usize::from(rest[2])
        };
        if rest.len() < hdr + len {
            out.issues.push(overrun(
                raw.slice(pos..),
                "attribute length overruns the field",
            ));
            break;
        }
        let whole = pos..pos + hdr + len;
        let value = pos + hdr..pos + hdr + len;
        pos += hdr + len;

        let bit = 1u64 << (code % 64);
        let slot = &mut seen[usize::from(code / 64)];
        let duplicate = *slot & bit != 0;
        *slot |= bit;
        if duplicate {
            if code == t::MP_REACH_NLRI || code == t::MP_UNREACH_NLRI {
                // RFC 7606 §3 (f).
                return Err(UpdateError::new(
                    K::DuplicateMpAttribute,
                    code,
                    ErrorAction::SessionReset,
                    "MP_REACH_NLRI or MP_UNREACH_NLRI appears twice",
                    Bytes::new(),
                ));
            }
            out.issues.push(UpdateError::new(
                K::DuplicateAttribute,
                code,
                ErrorAction::AttributeDiscard,
                "attribute appears more than once; later copies discarded",
                raw.slice(whole.clone()),
            ));
            out.attrs.attrs.push(PathAttribute {
                flags,
                value: AttrValue::Invalid {
                    type_code: code,
                    value: raw.slice(value),
                },
            });
            continue;
        }
        let attr = Attr {
            flags,
            code,
            raw,
            value,
            start: whole.start,
        };
        attr.decode_into(ctx, &mut out)?;
    }
    Ok(out)
}

fn overrun(data: Bytes, detail: &'static str) -> UpdateError {
    UpdateError::new(
        K::AttributeOverrun,
        0,
        ErrorAction::TreatAsWithdraw,
        detail,
        data,
    )
}

/// One attribute, as offsets into the field: `Bytes` are cut only for what
/// is kept (unknown values, error data), sparing a reference count per attribute.
struct Attr<'a> {
    flags: AttrFlags,
    code: u8,
    raw: &'a Bytes,
    value: std::ops::Range<usize>,
    /// Where the attribute header starts.
    start: usize,
}

/// A value made of fixed-size items (communities, cluster list): `None`
/// unless its length is a non-zero multiple of the item size (RFC 7606 §7.8,
/// §7.10, §7.14; RFC 8092 §6).
fn items<const N: usize, T>(v: &[u8], f: impl Fn(&[u8; N]) -> T) -> Option<Vec<T>> {
    let (chunks, rest) = v.as_chunks::<N>();
    (!chunks.is_empty() && rest.is_empty()).then(|| chunks.iter().map(f).collect())
}

/// The approach RFC 7606 gives when a known attribute is malformed.
fn malformed_action(code: u8) -> ErrorAction {
    match code {
        // RFC 7606 §7.6, §7.7; RFC 6793 §6.
        t::ATOMIC_AGGREGATE | t::AGGREGATOR | t::AS4_PATH | t::AS4_AGGREGATOR => {
            ErrorAction::AttributeDiscard
        }
        _ => ErrorAction::TreatAsWithdraw,
    }
}

impl Attr<'_> {
    fn v(&self) -> &[u8] {
        &self.raw[self.value.clone()]
    }

    fn value_bytes(&self) -> Bytes {
        self.raw.slice(self.value.clone())
    }

    /// Flags, type, length and value: the data of most NOTIFICATIONs.
    fn whole(&self) -> Bytes {
        self.raw.slice(self.start..self.value.end)
    }

    /// The value from octet `from` on.
    fn value_from(&self, from: usize) -> Bytes {
        self.raw.slice(self.value.start + from..self.value.end)
    }

    fn error(&self, kind: K, action: ErrorAction, detail: &'static str) -> UpdateError {
        UpdateError::new(kind, self.code, action, detail, self.whole())
    }

    fn keep_invalid(&self, out: &mut AttrSection, err: UpdateError) {
        out.issues.push(err);
        out.attrs.attrs.push(PathAttribute {
            flags: self.flags,
            value: AttrValue::Invalid {
                type_code: self.code,
                value: self.value_bytes(),
            },
        });
    }

    fn decode_into(self, ctx: &CodecContext, out: &mut AttrSection) -> Result<(), UpdateError> {
        let Some(expected) = AttrFlags::expected(self.code) else {
            if !self.flags.optional() {
                // RFC 4271 §6.3; RFC 7606 leaves this a session reset.
                return Err(self.error(
                    K::UnrecognizedWellKnown,
                    ErrorAction::SessionReset,
                    "unrecognized well-known attribute",
                ));
            }
            let value = AttrValue::Unknown {
                type_code: self.code,
                value: self.value_bytes(),
            };
            out.attrs.attrs.push(PathAttribute {
                flags: self.flags,
                value,
            });
            return Ok(());
        };
        let flags_ok = self.flags.0 & 0xc0 == expected.0;
        if self.code == t::MP_UNREACH_NLRI {
            return self.decode_mp_unreach(ctx, out, flags_ok);
        }
        if self.code == t::MP_REACH_NLRI {
            return self.decode_mp_reach(ctx, out, flags_ok);
        }
        if !flags_ok {
            // RFC 7606 §3 (c).
            let e = self.error(
                K::AttributeFlags,
                malformed_action(self.code),
                "optional/transitive bits wrong",
            );
            self.keep_invalid(out, e);
            return Ok(());
        }
        match self.decode_value(ctx) {
            Ok(value) => {
                if matches!(value, AttrValue::As4Path(_) | AttrValue::As4Aggregator(_))
                    && ctx.four_octet_as
                    && ctx.mrt_rib_entry.is_none()
                {
                    // RFC 6793 §6: a NEW speaker discards these from another NEW speaker.
                    out.issues.push(self.error(
                        K::UnexpectedAs4Attribute,
                        ErrorAction::AttributeDiscard,
                        "AS4 attribute on a 4-octet AS session",
                    ));
                }
                out.attrs.attrs.push(PathAttribute {
                    flags: self.flags,
                    value,
                });
            }
            Err((kind, detail)) => {
                let e = self.error(kind, malformed_action(self.code), detail);
                self.keep_invalid(out, e);
            }
        }
        Ok(())
    }

    fn decode_value(&self, ctx: &CodecContext) -> Result<AttrValue, (K, &'static str)> {
        let v = self.v();
        let len_err = |d| (K::AttributeLength, d);
        let opt_err = |d| (K::OptionalAttribute, d);
        let u32_of = |v: &[u8]| u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
        let ip_of = |v: &[u8]| Ipv4Addr::new(v[0], v[1], v[2], v[3]);
        Ok(match self.code {
            t::ORIGIN => match v {
                [0] => AttrValue::Origin(Origin::Igp),
                [1] => AttrValue::Origin(Origin::Egp),
                [2] => AttrValue::Origin(Origin::Incomplete),
                [_] => return Err((K::InvalidOrigin, "ORIGIN value not 0, 1 or 2")),
                _ => return Err(len_err("ORIGIN length is not 1")),
            },
            t::AS_PATH => {
                let path =
                    AsPath::decode(v, ctx.four_octet_as).map_err(|d| (K::MalformedAsPath, d))?;
                // RFC 7607 §2: AS 0 makes the attribute malformed.
                if path.contains(0) {
                    return Err((K::MalformedAsPath, "AS 0 in AS_PATH (RFC 7607)"));
                }
                AttrValue::AsPath(path)
            }
            t::NEXT_HOP => match v.len() {
                4 => AttrValue::NextHop(ip_of(v)),
                _ => return Err(len_err("NEXT_HOP length is not 4")),
            },
            t::MULTI_EXIT_DISC => match v.len() {
                4 => AttrValue::MultiExitDisc(u32_of(v)),
                _ => return Err(len_err("MULTI_EXIT_DISC length is not 4")),
            },
            t::LOCAL_PREF => match v.len() {
                4 => AttrValue::LocalPref(u32_of(v)),
                _ => return Err(len_err("LOCAL_PREF length is not 4")),
            },
            t::ATOMIC_AGGREGATE => match v.len() {
                0 => AttrValue::AtomicAggregate,
                _ => return Err(len_err("ATOMIC_AGGREGATE length is not 0")),
            },
            // RFC 7607 §2: AS 0 makes the attribute malformed.
            t::AGGREGATOR | t::AS4_AGGREGATOR
                if matches!(
                    (v.len(), ctx.four_octet_as || self.code == t::AS4_AGGREGATOR),
                    (6, false) | (8, true)
                ) && v[..v.len() - 4].iter().all(|b| *b == 0) =>
            {
                return Err(opt_err("AS 0 in AGGREGATOR or AS4_AGGREGATOR (RFC 7607)"));
            }
            t::AGGREGATOR => match (v.len(), ctx.four_octet_as) {
                (6, false) => AttrValue::Aggregator(Aggregator {
                    asn: u32::from(u16::from_be_bytes([v[0], v[1]])),
                    address: ip_of(&v[2..]),
                }),
                (8, true) => AttrValue::Aggregator(Aggregator {
                    asn: u32_of(v),
                    address: ip_of(&v[4..]),
                }),
                _ => {
                    return Err(len_err(
                        "AGGREGATOR length does not match the AS number size",
                    ));
                }
            },
            t::AS4_AGGREGATOR => match v.len() {
                8 => AttrValue::As4Aggregator(Aggregator {
                    asn: u32_of(v),
                    address: ip_of(&v[4..]),
                }),
                _ => return Err(len_err("AS4_AGGREGATOR length is not 8")),
            },
            t::COMMUNITIES => AttrValue::Communities(
                items(v, |c: &[u8; 4]| Community(u32::from_be_bytes(*c))).ok_or(opt_err(
                    "COMMUNITIES length is not a non-zero multiple of 4",
                ))?,
            ),
            t::ORIGINATOR_ID => match v.len() {
                4 => AttrValue::OriginatorId(ip_of(v)),
                _ => return Err(len_err("ORIGINATOR_ID length is not 4")),
            },
            t::CLUSTER_LIST => {
                AttrValue::ClusterList(items(v, |c: &[u8; 4]| Ipv4Addr::from(*c)).ok_or(
                    len_err("CLUSTER_LIST length is not a non-zero multiple of 4"),
                )?)
            }
            t::EXTENDED_COMMUNITIES => {
                AttrValue::ExtendedCommunities(items(v, |c: &[u8; 8]| ExtCommunity(*c)).ok_or(
                    opt_err("EXTENDED_COMMUNITIES length is not a non-zero multiple of 8"),
                )?)
            }
            t::IPV6_EXTENDED_COMMUNITIES => AttrValue::Ipv6ExtendedCommunities(
                items(v, |c: &[u8; 20]| Ipv6ExtCommunity(*c)).ok_or(opt_err(
                    "IPv6 extended communities length is not a non-zero multiple of 20",
                ))?,
            ),
            t::LARGE_COMMUNITIES => AttrValue::LargeCommunities(
                items(v, |c: &[u8; 12]| LargeCommunity {
                    global: u32_of(c),
                    local1: u32_of(&c[4..]),
                    local2: u32_of(&c[8..]),
                })
                .ok_or(opt_err(
                    "LARGE_COMMUNITY length is not a non-zero multiple of 12",
                ))?,
            ),
            t::AS4_PATH => {
                let path = AsPath::decode(v, true).map_err(|d| (K::MalformedAsPath, d))?;
                if path.contains(0) {
                    return Err((K::MalformedAsPath, "AS 0 in AS4_PATH (RFC 7607)"));
                }
                AttrValue::As4Path(path)
            }
            _ => AttrValue::Unknown {
                type_code: self.code,
                value: self.value_bytes(),
            },
        })
    }

    /// An MP attribute whose family cannot be found: session reset (RFC 7606 §7.11).
    fn mp_fatal(&self, detail: &'static str) -> UpdateError {
        self.error(K::OptionalAttribute, ErrorAction::SessionReset, detail)
    }

    /// An MP attribute of a known family that is malformed: AFI/SAFI disable.
    fn mp_family_error(&self, family: Family, detail: &'static str) -> UpdateError {
        self.error(
            K::OptionalAttribute,
            ErrorAction::AfiSafiDisable(family),
            detail,
        )
    }

    fn flags_issue(&self, out: &mut AttrSection, flags_ok: bool) {
        if !flags_ok {
            // RFC 7606 §3 (c): the NLRI are still parsed and withdrawn.
            out.issues.push(self.error(
                K::AttributeFlags,
                ErrorAction::TreatAsWithdraw,
                "optional/transitive bits wrong",
            ));
        }
    }

    fn decode_mp_reach(
        self,
        ctx: &CodecContext,
        out: &mut AttrSection,
        flags_ok: bool,
    ) -> Result<(), UpdateError> {
        let v = self.v();
        // RFC 6396 §4.3.4: a TABLE_DUMP_V2 RIB entry abbreviates MP_REACH_NLRI
        // to next-hop length and next hop.
        if let Some(family) = ctx.mrt_rib_entry
            && let Some((&nh_len, nh)) = v.split_first()
            && nh.len() == usize::from(nh_len)
        {
            let next_hop = MpNextHop::decode(family, nh).ok_or_else(|| {
                self.mp_family_error(family, "next hop length invalid for the family")
            })?;
            let header = MpReachHeader {
                family,
                next_hop,
                reserved: 0,
                mrt_full_form: false,
            };
            out.attrs.attrs.push(PathAttribute {
                flags: self.flags,
                value: AttrValue::MpReachNlri(Box::new(header)),
            });
            out.mp_reach_nlri = Some(Nlri::empty(family, false));
            return Ok(());
        }
        if v.len() < 5 {
            return Err(self.mp_fatal("MP_REACH_NLRI shorter than its fixed fields"));
        }
        let family = Family::new(Afi(u16::from_be_bytes([v[0], v[1]])), Safi(v[2]));
        let nh_len = usize::from(v[3]);
        let nh = v
            .get(4..4 + nh_len)
            .ok_or_else(|| self.mp_family_error(family, "next hop overruns the attribute"))?;
        let reserved = *v
            .get(4 + nh_len)
            .ok_or_else(|| self.mp_family_error(family, "reserved octet missing"))?;
        let next_hop = MpNextHop::decode(family, nh).ok_or_else(|| {
            self.mp_family_error(family, "next hop length invalid for the family")
        })?;
        let nlri = Nlri::decode(family, ctx.add_path(family), self.value_from(5 + nh_len))
            .map_err(|_| self.mp_family_error(family, "MP_REACH_NLRI NLRI malformed"))?;
        self.flags_issue(out, flags_ok);
        let header = MpReachHeader {
            family,
            next_hop,
            reserved,
            mrt_full_form: ctx.mrt_rib_entry.is_some(),
        };
        out.attrs.attrs.push(PathAttribute {
            flags: self.flags,
            value: AttrValue::MpReachNlri(Box::new(header)),
        });
        out.mp_reach_nlri = Some(nlri);
        Ok(())
    }

    fn decode_mp_unreach(
        self,
        ctx: &CodecContext,
        out: &mut AttrSection,
        flags_ok: bool,
    ) -> Result<(), UpdateError> {
        let v = self.v();
        if v.len() < 3 {
            return Err(self.mp_fatal("MP_UNREACH_NLRI shorter than its fixed fields"));
        }
        let family = Family::new(Afi(u16::from_be_bytes([v[0], v[1]])), Safi(v[2]));
        let nlri = Nlri::decode(family, ctx.add_path(family), self.value_from(3))
            .map_err(|_| self.mp_family_error(family, "MP_UNREACH_NLRI NLRI malformed"))?;
        self.flags_issue(out, flags_ok);
        out.mp_unreach = Some(MpUnreach {
            flags: self.flags,
            nlri,
            position: out.attrs.attrs.len(),
        });
        Ok(())
    }
}
