//! UPDATE packing: the NLRI that share an attribute set go into as few
//! UPDATEs as the negotiated message size allows (RFC 4271 §9.2, RFC 8654),
//! withdrawals are batched, and each family gets its End-of-RIB
//! (RFC 4724 §2) when asked. A route whose UPDATE cannot fit the
//! neighbour's message size (its attributes alone too large: 4,096 octets
//! without extended messages, 65,535 with) is not sent but withdrawn
//! (RFC 8654 §4, the "treat-as-withdraw" of RFC 7606), and counted: never
//! an UPDATE the neighbour must reject, never a length that wraps.

use crate::wire::attr::{AttrFlags, AttrValue, MpUnreach, PathAttributes};
use crate::wire::header::HEADER_LEN;
use crate::wire::nlri::NlriBuilder;
use crate::wire::{CodecContext, Family, Message, Nlri, NlriEntry, Update};
use bytes::{Bytes, BytesMut};
use std::sync::{Arc, OnceLock};

/// Packs announcements and withdrawals of one family into encoded UPDATEs.
pub struct Packer<'a> {
    ctx: &'a CodecContext,
    family: Family,
    out: Vec<Bytes>,
    /// Routes withdrawn instead of announced: too large to send.
    oversized: usize,
    /// UPDATEs that could not be encoded, not sent (never, unless a
    /// computation of room here is wrong).
    unencoded: usize,
}

fn no_attributes() -> Arc<PathAttributes> {
    static EMPTY: OnceLock<Arc<PathAttributes>> = OnceLock::new();
    EMPTY
        .get_or_init(|| Arc::new(PathAttributes::default()))
        .clone()
}

impl<'a> Packer<'a> {
    pub fn new(ctx: &'a CodecContext, family: Family) -> Packer<'a> {
        Packer {
            ctx,
            family,
            out: Vec::new(),
            oversized: 0,
            unencoded: 0,
        }
    }

    fn add_path(&self) -> bool {
        self.ctx.add_path(self.family)
    }

    /// Octets an UPDATE may use for NLRI once `fixed` octets are taken.
    fn room(&self, fixed: usize) -> usize {
        self.ctx.max_message_len().saturating_sub(fixed)
    }

    fn emit(&mut self, u: Update) {
        let mut b = BytesMut::new();
        match Message::Update(u).encode(self.ctx, &mut b) {
            Ok(()) => self.out.push(b.freeze()),
            Err(_) => self.unencoded += 1,
        }
    }

    /// Withdraws `entries`, as many per UPDATE as fit.
    pub fn withdraw(&mut self, entries: &[NlriEntry]) {
        let v4 = self.family == Family::IPV4_UNICAST;
        // Header, two length fields; for MP_UNREACH_NLRI its attribute
        // header (extended length) and AFI/SAFI.
        let fixed = HEADER_LEN + 4 + if v4 { 0 } else { 4 + 3 };
        let room = self.room(fixed);
        // A withdrawal's room is the whole message but a few octets: every
        // entry fits.
        let (chunks, _) = self.chunks(entries, room);
        for nlri in chunks {
            let mut u = Update::end_of_rib(Family::IPV4_UNICAST);
            if v4 {
                u.withdrawn = nlri;
            } else {
                u.mp_unreach = Some(MpUnreach {
                    flags: AttrFlags(AttrFlags::OPTIONAL | AttrFlags::EXTENDED_LENGTH),
                    nlri,
                    position: 0,
                });
            }
            self.emit(u);
        }
    }

    /// Announces `entries` with one attribute set. For IPv4 unicast the set
    /// carries NEXT_HOP; for other families it carries the MP_REACH_NLRI
    /// header (family and next hop), whose NLRI this fills in.
    pub fn announce(&mut self, attrs: &Arc<PathAttributes>, entries: &[NlriEntry]) {
        let v4 = self.family == Family::IPV4_UNICAST;
        let mut scratch = BytesMut::new();
        let encoded =
            crate::wire::attr::encode_attributes(attrs, None, None, self.ctx, &mut scratch);
        // An MP_REACH_NLRI header may need 2 more octets of length when its
        // NLRI make it longer than 255.
        let fixed = HEADER_LEN + 4 + scratch.len() + if v4 { 0 } else { 1 };
        // Attributes whose length overflows a field leave no room at all.
        let room = if encoded.is_ok() { self.room(fixed) } else { 0 };
        let (chunks, too_large) = self.chunks(entries, room);
        for nlri in chunks {
            let mut u = Update::end_of_rib(Family::IPV4_UNICAST);
            u.attributes = attrs.clone();
            if v4 {
                u.nlri = nlri;
            } else {
                u.mp_reach_nlri = Some(nlri);
            }
            self.emit(u);
        }
        if !too_large.is_empty() {
            // RFC 8654 §4: not sent, and withdrawn in case an earlier,
            // smaller version of the route was.
            self.oversized += too_large.len();
            self.withdraw(&too_large);
        }
    }

    /// Routes withdrawn so far instead of announced, their UPDATE too
    /// large for the neighbour.
    pub fn oversized(&self) -> usize {
        self.oversized
    }

    /// UPDATEs that could not be encoded and were not sent.
    pub fn unencoded(&self) -> usize {
        self.unencoded
    }

    /// The End-of-RIB marker of the family.
    pub fn end_of_rib(&mut self) {
        let mut u = Update::end_of_rib(self.family);
        u.attributes = no_attributes();
        self.emit(u);
    }

    /// Splits entries into NLRI fields of at most `room` octets; the
    /// entries that fit in none (the room is smaller than one entry) are
    /// returned apart.
    fn chunks(&self, entries: &[NlriEntry], room: usize) -> (Vec<Nlri>, Vec<NlriEntry>) {
        let mut out = Vec::new();
        let mut too_large = Vec::new();
        let mut b = NlriBuilder::new(self.family, self.add_path());
        for e in entries {
            let n = b.entry_len(e);
            if n > room {
                too_large.push(*e);
                continue;
            }
            if !b.is_empty() && b.len() + n > room {
                out.push(
                    std::mem::replace(&mut b, NlriBuilder::new(self.family, self.add_path()))
                        .finish(),
                );
            }
            // An entry of the wrong family is a caller bug: skip it rather
            // than send a malformed UPDATE.
            let _ = b.push(e);
        }
        if !b.is_empty() {
            out.push(b.finish());
        }
        (out, too_large)
    }

    /// The encoded UPDATEs, in order.
    pub fn finish(self) -> Vec<Bytes> {
        self.out
    }
}

/// Whether an attribute set can announce NLRI of `family`: NEXT_HOP for
/// IPv4 unicast, an MP_REACH_NLRI header of that family otherwise.
pub fn carries(attrs: &PathAttributes, family: Family) -> bool {
    if family == Family::IPV4_UNICAST {
        attrs.next_hop().is_some()
    } else {
        attrs
            .attrs
            .iter()
            .any(|a| matches!(&a.value, AttrValue::MpReachNlri(h) if h.family == family))
    }
}
