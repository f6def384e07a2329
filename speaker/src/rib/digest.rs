//! A digest of the Loc-RIB: every destination and its best path, in
//! destination order, hashed with FNV-1a (64 bits; stable across releases
//! and machines, unlike the standard library's hashers). Members that
//! applied the same log have the same digest; anyone can compare them.

use super::loc_rib::RouteKey;
use super::{NextHopResolver, Rib};
use crate::wire::CodecContext;
use crate::wire::PathAttributes;
use crate::wire::attr::encode_attributes;
use bytes::BytesMut;
use std::collections::HashMap;
use std::sync::Arc;

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over a stream of octets.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(OFFSET)
    }
}

impl Fnv {
    pub fn write(&mut self, octets: &[u8]) {
        for b in octets {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

fn write_key(h: &mut Fnv, k: &RouteKey) {
    h.write(&k.family.afi.0.to_be_bytes());
    h.write(&[k.family.safi.0]);
    match k.rd {
        Some(rd) => {
            h.write(&[1]);
            h.write(&rd.0);
        }
        None => h.write(&[0]),
    }
    let (octets, n) = k.prefix.wire_octets();
    h.write(&[k.prefix.len(), u8::from(k.prefix.is_ipv6())]);
    h.write(octets.get(..n).unwrap_or(&octets));
}

/// A digest walked in steps of up to a page of destinations, each going
/// on after the last destination hashed; it also counts the destinations
/// with a best path. The result equals [`Rib::digest`] when nothing changed
/// between the first and the last step (the API reads it in one step,
/// under one hold of the state machine's lock).
#[derive(Default)]
pub struct DigestWalk {
    h: Fnv,
    after: Option<RouteKey>,
    /// Each attribute set's hash, by its address; the set is held so that
    /// the address cannot be reused by another set between pages.
    sets: HashMap<usize, (Arc<PathAttributes>, u64)>,
    /// Destinations with a best path hashed so far.
    prefixes: usize,
    done: bool,
}

impl DigestWalk {
    /// Hashes up to `page` more destinations of `rib`; whether the walk is
    /// done ([`DigestWalk::finish`]).
    pub fn step<R: NextHopResolver>(&mut self, rib: &Rib<R>, page: usize) -> bool {
        let ctx = CodecContext::four_octet();
        for (looked, (key, entry)) in rib.loc_rib_after(self.after.as_ref()).enumerate() {
            if looked == page {
                return false;
            }
            self.after = Some(*key);
            let Some(best) = entry.best() else { continue };
            self.prefixes += 1;
            let h = &mut self.h;
            write_key(h, key);
            h.write(&best.peer.0.to_be_bytes());
            match best.path_id() {
                Some(id) => {
                    h.write(&[1]);
                    h.write(&id.to_be_bytes());
                }
                None => h.write(&[0]),
            }
            for l in best.labels().as_slice() {
                h.write(&l.0.to_be_bytes());
            }
            let (_, attrs) = self
                .sets
                .entry(Arc::as_ptr(&best.attrs) as usize)
                .or_insert_with(|| {
                    let mut out = BytesMut::new();
                    // An attribute set too long to encode is hashed as
                    // far as it went: the same on every member.
                    let _ = encode_attributes(&best.attrs, None, None, &ctx, &mut out);
                    let mut a = Fnv::default();
                    a.write(&out);
                    (best.attrs.clone(), a.finish())
                });
            h.write(&attrs.to_be_bytes());
        }
        self.done = true;
        true
    }

    /// Destinations with a best path: the Loc-RIB's size, once done.
    pub fn prefixes(&self) -> usize {
        self.prefixes
    }

    /// The digest, once [`DigestWalk::step`] said the walk is done.
    pub fn finish(self) -> Option<u64> {
        self.done.then_some(self.h.finish())
    }
}

impl<R: NextHopResolver> Rib<R> {
    /// The Loc-RIB digest: destinations with a best path, each with the
    /// peer, path id, labels and attribute octets of that path.
    pub fn digest(&self) -> u64 {
        let mut walk = DigestWalk::default();
        while !walk.step(self, usize::MAX) {}
        walk.h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_1a_reference_values() {
        // From the FNV reference: "" and "a".
        assert_eq!(Fnv::default().finish(), 0xcbf2_9ce4_8422_2325);
        let mut h = Fnv::default();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }
}
