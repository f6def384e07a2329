//! Encoding of the path attributes field.

use super::{AttrFlags, AttrValue, MpUnreach, PathAttribute, PathAttributes};
use crate::wire::context::CodecContext;
use crate::wire::error::{EncodeError, len_u8, len_u16};
use crate::wire::nlri::Nlri;
use bytes::{BufMut, BytesMut};

/// Writes the path attributes field (without its length): the attributes in
/// order, MP_REACH_NLRI with `mp_reach_nlri`, and MP_UNREACH_NLRI at its
/// recorded position.
pub fn encode_attributes(
    attrs: &PathAttributes,
    mp_reach_nlri: Option<&Nlri>,
    mp_unreach: Option<&MpUnreach>,
    ctx: &CodecContext,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    for (i, a) in attrs.attrs.iter().enumerate() {
        if let Some(u) = mp_unreach.filter(|u| u.position == i) {
            encode_mp_unreach(u, out)?;
        }
        encode_one(a, mp_reach_nlri, ctx, out)?;
    }
    if let Some(u) = mp_unreach.filter(|u| u.position >= attrs.attrs.len()) {
        encode_mp_unreach(u, out)?;
    }
    Ok(())
}

/// Writes flags, type and length; the Extended Length bit is kept as
/// received and set whenever the value needs it.
fn put_header(
    flags: AttrFlags,
    code: u8,
    len: usize,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let extended = flags.extended_length() || len > 255;
    let flags = if extended {
        flags.0 | AttrFlags::EXTENDED_LENGTH
    } else {
        flags.0
    };
    let what = "a path attribute";
    out.put_u8(flags);
    out.put_u8(code);
    if extended {
        out.put_u16(len_u16(what, len)?);
    } else {
        out.put_u8(len_u8(what, len)?);
    }
    Ok(())
}

fn encode_mp_unreach(u: &MpUnreach, out: &mut BytesMut) -> Result<(), EncodeError> {
    let f = u.nlri.family();
    put_header(
        u.flags,
        super::type_code::MP_UNREACH_NLRI,
        3 + u.nlri.raw().len(),
        out,
    )?;
    out.put_u16(f.afi.0);
    out.put_u8(f.safi.0);
    u.nlri.encode(out);
    Ok(())
}

/// The RFC 6396 §4.3.4 form: inside an MRT RIB entry, unless the entry was
/// read in the full form.
fn abbreviated(h: &super::MpReachHeader, ctx: &CodecContext) -> bool {
    ctx.mrt_rib_entry.is_some() && !h.mrt_full_form
}

fn value_len(v: &AttrValue, nlri: Option<&Nlri>, ctx: &CodecContext) -> usize {
    let asn = if ctx.four_octet_as { 4 } else { 2 };
    match v {
        AttrValue::Origin(_) => 1,
        AttrValue::AsPath(p) => p.wire_len(ctx.four_octet_as),
        AttrValue::As4Path(p) => p.wire_len(true),
        AttrValue::NextHop(_) | AttrValue::MultiExitDisc(_) | AttrValue::LocalPref(_) => 4,
        AttrValue::OriginatorId(_) => 4,
        AttrValue::AtomicAggregate => 0,
        AttrValue::Aggregator(_) => asn + 4,
        AttrValue::As4Aggregator(_) => 8,
        AttrValue::Communities(c) => 4 * c.len(),
        AttrValue::ClusterList(c) => 4 * c.len(),
        AttrValue::ExtendedCommunities(c) => 8 * c.len(),
        AttrValue::Ipv6ExtendedCommunities(c) => 20 * c.len(),
        AttrValue::LargeCommunities(c) => 12 * c.len(),
        AttrValue::MpReachNlri(h) => {
            if abbreviated(h, ctx) {
                1 + h.next_hop.wire_len()
            } else {
                5 + h.next_hop.wire_len() + nlri.map_or(0, |n| n.raw().len())
            }
        }
        AttrValue::Invalid { value, .. } | AttrValue::Unknown { value, .. } => value.len(),
    }
}

fn encode_one(
    a: &PathAttribute,
    nlri: Option<&Nlri>,
    ctx: &CodecContext,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let len = value_len(&a.value, nlri, ctx);
    put_header(a.flags, a.value.type_code(), len, out)?;
    match &a.value {
        AttrValue::Origin(o) => out.put_u8(*o as u8),
        AttrValue::AsPath(p) => p.encode(ctx.four_octet_as, out),
        AttrValue::As4Path(p) => p.encode(true, out),
        AttrValue::NextHop(a) | AttrValue::OriginatorId(a) => out.put_slice(&a.octets()),
        AttrValue::MultiExitDisc(v) | AttrValue::LocalPref(v) => out.put_u32(*v),
        AttrValue::AtomicAggregate => {}
        AttrValue::Aggregator(g) => {
            if ctx.four_octet_as {
                out.put_u32(g.asn);
            } else {
                out.put_u16(u16::try_from(g.asn).unwrap_or(crate::wire::open::AS_TRANS));
            }
            out.put_slice(&g.address.octets());
        }
        AttrValue::As4Aggregator(g) => {
            out.put_u32(g.asn);
            out.put_slice(&g.address.octets());
        }
        AttrValue::Communities(c) => c.iter().for_each(|c| out.put_u32(c.0)),
        AttrValue::ClusterList(c) => c.iter().for_each(|c| out.put_slice(&c.octets())),
        AttrValue::ExtendedCommunities(c) => c.iter().for_each(|c| out.put_slice(&c.0)),
        AttrValue::Ipv6ExtendedCommunities(c) => c.iter().for_each(|c| out.put_slice(&c.0)),
        AttrValue::LargeCommunities(c) => c.iter().for_each(|c| {
            out.put_u32(c.global);
            out.put_u32(c.local1);
            out.put_u32(c.local2);
        }),
        AttrValue::MpReachNlri(h) => {
            let full = !abbreviated(h, ctx);
            if full {
                out.put_u16(h.family.afi.0);
                out.put_u8(h.family.safi.0);
            }
            out.put_u8(len_u8("a next hop", h.next_hop.wire_len())?);
            h.next_hop.encode(out);
            if full {
                out.put_u8(h.reserved);
                if let Some(n) = nlri {
                    n.encode(out);
                }
            }
        }
        AttrValue::Invalid { value, .. } | AttrValue::Unknown { value, .. } => out.put_slice(value),
    }
    Ok(())
}
