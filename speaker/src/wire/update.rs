//! UPDATE (RFC 4271 §4.3) with multiprotocol NLRI (RFC 4760), ADD-PATH
//! (RFC 7911) and the error handling of RFC 7606.

use super::attr::{
    AttrSection, MpUnreach, PathAttributes, decode_attributes, encode_attributes, type_code as t,
};
use super::context::CodecContext;
use super::error::{EncodeError, len_u16};
use super::error::{ErrorAction, UpdateError, UpdateErrorKind};
use super::family::Family;
use super::intern::AttrInterner;
use super::nlri::{Nlri, NlriEntry};
use bytes::{BufMut, Bytes, BytesMut};
use std::sync::{Arc, OnceLock};

/// An UPDATE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// Withdrawn Routes field (IPv4 unicast).
    pub withdrawn: Nlri,
    /// Path attributes, shared between the routes that carry them.
    pub attributes: Arc<PathAttributes>,
    /// NLRI field (IPv4 unicast).
    pub nlri: Nlri,
    /// NLRI of MP_REACH_NLRI; its header is among `attributes`.
    pub mp_reach_nlri: Option<Nlri>,
    pub mp_unreach: Option<MpUnreach>,
    /// Errors that did not stop decoding (RFC 7606 attribute discard and
    /// treat-as-withdraw). Empty for a clean message.
    pub issues: Vec<UpdateError>,
}

fn empty_attributes() -> Arc<PathAttributes> {
    static EMPTY: OnceLock<Arc<PathAttributes>> = OnceLock::new();
    EMPTY
        .get_or_init(|| Arc::new(PathAttributes::default()))
        .clone()
}

fn section_error(detail: &'static str) -> UpdateError {
    UpdateError::new(
        UpdateErrorKind::MalformedAttributeList,
        0,
        ErrorAction::SessionReset,
        detail,
        Bytes::new(),
    )
}

fn network_error(detail: &'static str) -> UpdateError {
    UpdateError::new(
        UpdateErrorKind::InvalidNetworkField,
        0,
        ErrorAction::SessionReset,
        detail,
        Bytes::new(),
    )
}

/// Whether the attributes field holds an MP attribute (whose NLRI make the
/// raw octets unfit as an interning key); `None` if the TLVs do not parse.
fn has_mp_attribute(raw: &[u8]) -> Option<bool> {
    let mut pos = 0;
    while pos < raw.len() {
        let flags = *raw.get(pos)?;
        let code = *raw.get(pos + 1)?;
        let (hdr, len) = if flags & 0x10 != 0 {
            (
                4,
                usize::from(u16::from_be_bytes([*raw.get(pos + 2)?, *raw.get(pos + 3)?])),
            )
        } else {
            (3, usize::from(*raw.get(pos + 2)?))
        };
        if code == t::MP_REACH_NLRI || code == t::MP_UNREACH_NLRI {
            return Some(true);
        }
        pos += hdr + len;
    }
    (pos == raw.len()).then_some(false)
}

impl Update {
    /// An UPDATE that announces nothing and withdraws nothing for `family`:
    /// the End-of-RIB marker (RFC 4724 §2).
    pub fn end_of_rib(family: Family) -> Update {
        let mut u = Update {
            withdrawn: Nlri::empty(Family::IPV4_UNICAST, false),
            attributes: empty_attributes(),
            nlri: Nlri::empty(Family::IPV4_UNICAST, false),
            mp_reach_nlri: None,
            mp_unreach: None,
            issues: Vec::new(),
        };
        if family != Family::IPV4_UNICAST {
            u.mp_unreach = Some(MpUnreach {
                flags: super::attr::AttrFlags::OPTIONAL_NON_TRANSITIVE,
                nlri: Nlri::empty(family, false),
                position: 0,
            });
        }
        u
    }

    /// The family this UPDATE is the End-of-RIB marker of, if it is one.
    pub fn end_of_rib_family(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() || self.mp_reach_nlri.is_some() {
            return None;
        }
        match (&self.mp_unreach, self.attributes.attrs.is_empty()) {
            (None, true) => Some(Family::IPV4_UNICAST),
            (Some(u), true) if u.nlri.is_empty() => Some(u.nlri.family()),
            _ => None,
        }
    }

    /// The strongest RFC 7606 approach among the issues, if any.
    pub fn action(&self) -> Option<ErrorAction> {
        self.issues
            .iter()
            .map(|e| e.action)
            .reduce(ErrorAction::stronger)
    }

    /// Whether every NLRI of this UPDATE must be handled as withdrawn.
    pub fn treat_as_withdraw(&self) -> bool {
        self.action() == Some(ErrorAction::TreatAsWithdraw)
    }

    /// Announced NLRI of every family (NLRI field, then MP_REACH_NLRI).
    pub fn announced(&self) -> impl Iterator<Item = (Family, NlriEntry)> + '_ {
        let mp = self
            .mp_reach_nlri
            .iter()
            .flat_map(|n| n.iter().map(move |e| (n.family(), e)));
        self.nlri
            .iter()
            .map(|e| (Family::IPV4_UNICAST, e))
            .chain(mp)
    }

    /// Withdrawn NLRI of every family (Withdrawn Routes, then MP_UNREACH_NLRI).
    pub fn withdrawals(&self) -> impl Iterator<Item = (Family, NlriEntry)> + '_ {
        let mp = self
            .mp_unreach
            .iter()
            .flat_map(|u| u.nlri.iter().map(move |e| (u.nlri.family(), e)));
        self.withdrawn
            .iter()
            .map(|e| (Family::IPV4_UNICAST, e))
            .chain(mp)
    }

    /// Counts of announced and withdrawn NLRI entries.
    pub fn counts(&self) -> (usize, usize) {
        let a = self.nlri.len() + self.mp_reach_nlri.as_ref().map_or(0, Nlri::len);
        let w = self.withdrawn.len() + self.mp_unreach.as_ref().map_or(0, |u| u.nlri.len());
        (a, w)
    }

    /// Decodes an UPDATE body (after the header).
    pub fn decode(
        body: Bytes,
        ctx: &CodecContext,
        interner: Option<&mut AttrInterner>,
    ) -> Result<Update, UpdateError> {
        // RFC 4271 §6.3: lengths that overrun the message are a Malformed
        // Attribute List.
        let wl = body
            .get(0..2)
            .ok_or(section_error("withdrawn routes length missing"))?;
        let wl = usize::from(u16::from_be_bytes([wl[0], wl[1]]));
        let al = body.get(2 + wl..4 + wl).ok_or(section_error(
            "withdrawn routes length overruns the message",
        ))?;
        let al = usize::from(u16::from_be_bytes([al[0], al[1]]));
        if 4 + wl + al > body.len() {
            return Err(section_error(
                "total path attribute length overruns the message",
            ));
        }
        let v4 = Family::IPV4_UNICAST;
        let add_path = ctx.add_path(v4);
        // RFC 7606 §5.3: a syntax error in either field is a session reset.
        let withdrawn = Nlri::decode(v4, add_path, body.slice(2..2 + wl))
            .map_err(|_| network_error("withdrawn routes field malformed"))?;
        let nlri = Nlri::decode(v4, add_path, body.slice(4 + wl + al..))
            .map_err(|_| network_error("NLRI field malformed"))?;
        let raw = body.slice(4 + wl..4 + wl + al);

        let (attributes, mp_reach_nlri, mp_unreach, mut issues) = if raw.is_empty() {
            (empty_attributes(), None, None, Vec::new())
        } else {
            decode_interned(&raw, ctx, interner)?
        };

        // RFC 4271 §6.3 / RFC 7606 §3 (d): mandatory attributes when NLRI
        // are carried; NEXT_HOP only for the NLRI field (RFC 4760 §3).
        let mp_nlri = mp_reach_nlri.as_ref().is_some_and(|n| !n.is_empty());
        if !nlri.is_empty() || mp_nlri {
            let required: &[u8] = if nlri.is_empty() {
                &[t::ORIGIN, t::AS_PATH]
            } else {
                &[t::ORIGIN, t::AS_PATH, t::NEXT_HOP]
            };
            for &code in required {
                if !attributes.attrs.iter().any(|a| a.value.type_code() == code) {
                    issues.push(UpdateError::new(
                        UpdateErrorKind::MissingWellKnown,
                        code,
                        ErrorAction::TreatAsWithdraw,
                        "missing well-known mandatory attribute",
                        Bytes::copy_from_slice(&[code]),
                    ));
                }
            }
        }
        Ok(Update {
            withdrawn,
            attributes,
            nlri,
            mp_reach_nlri,
            mp_unreach,
            issues,
        })
    }

    /// Encodes the body (after the header).
    pub fn encode_body(&self, ctx: &CodecContext, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u16(len_u16("the withdrawn routes", self.withdrawn.raw().len())?);
        self.withdrawn.encode(out);
        let len_at = out.len();
        out.put_u16(0);
        encode_attributes(
            &self.attributes,
            self.mp_reach_nlri.as_ref(),
            self.mp_unreach.as_ref(),
            ctx,
            out,
        )?;
        let al = len_u16("the path attributes", out.len() - len_at - 2)?;
        out[len_at..len_at + 2].copy_from_slice(&al.to_be_bytes());
        self.nlri.encode(out);
        Ok(())
    }
}

/// Attributes, MP_REACH_NLRI NLRI, MP_UNREACH_NLRI and issues of one attribute field.
pub type Decoded = (
    Arc<PathAttributes>,
    Option<Nlri>,
    Option<MpUnreach>,
    Vec<UpdateError>,
);

/// Decodes a path attributes field through an optional interner.
pub fn decode_interned(
    raw: &Bytes,
    ctx: &CodecContext,
    interner: Option<&mut AttrInterner>,
) -> Result<Decoded, UpdateError> {
    let Some(interner) = interner else {
        let s = decode_attributes(raw, ctx)?;
        return Ok((Arc::new(s.attrs), s.mp_reach_nlri, s.mp_unreach, s.issues));
    };
    let raw_key = has_mp_attribute(raw) == Some(false);
    if raw_key && let Some(a) = interner.get_raw(raw) {
        return Ok((a, None, None, Vec::new()));
    }
    let AttrSection {
        attrs,
        mp_reach_nlri,
        mp_unreach,
        issues,
    } = decode_attributes(raw, ctx)?;
    let attrs = if issues.is_empty() {
        interner.intern(attrs, raw_key.then(|| raw.clone()))
    } else {
        Arc::new(attrs)
    };
    Ok((attrs, mp_reach_nlri, mp_unreach, issues))
}
