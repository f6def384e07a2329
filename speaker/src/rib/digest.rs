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

impl<R: NextHopResolver> Rib<R> {
    /// The Loc-RIB digest: destinations with a best path, each with the
    /// peer, path id, labels and attribute octets of that path.
    pub fn digest(&self) -> u64 {
        let ctx = CodecContext::four_octet();
        // Each attribute set is encoded once.
        let mut sets: HashMap<*const PathAttributes, u64> = HashMap::new();
        let mut h = Fnv::default();
        for (key, entry) in self.state.loc.iter() {
            let Some(best) = entry.best() else { continue };
            write_key(&mut h, key);
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
            let attrs = *sets
                .entry(std::sync::Arc::as_ptr(&best.attrs))
                .or_insert_with(|| {
                    let mut out = BytesMut::new();
                    // An attribute set too long to encode is hashed as
                    // far as it went: the same on every member.
                    let _ = encode_attributes(&best.attrs, None, None, &ctx, &mut out);
                    let mut a = Fnv::default();
                    a.write(&out);
                    a.finish()
                });
            h.write(&attrs.to_be_bytes());
        }
        h.finish()
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
