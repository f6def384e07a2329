//! Prefix lists: ordered entries of a prefix and a length range, the first
//! entry that covers a route's prefix decides (as in FRR and IOS); a
//! prefix no entry covers is denied.
//!
//! Lookups do not scan: entries are indexed by their prefix, and a route's
//! prefix probes only the lengths that entries have (at most 33 or 129
//! probes, usually a handful), so a list of 10,000 entries costs about as
//! much as one of ten.

use super::Action;
use super::error::PolicyError;
use crate::wire::Prefix;
use foldhash::fast::FixedState;
use std::collections::HashMap;
use std::net::IpAddr;

/// One entry as written: `seq permit|deny PREFIX [ge N] [le N]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixListEntry {
    pub seq: u32,
    pub action: Action,
    pub prefix: Prefix,
    pub ge: Option<u8>,
    pub le: Option<u8>,
}

impl PrefixListEntry {
    /// The route prefix lengths the entry takes (FRR's rules: without ge
    /// and le exactly the entry's length; ge alone up to the family's
    /// maximum; le alone from the entry's length).
    fn lengths(&self) -> (u8, u8) {
        let len = self.prefix.len();
        let max = max_len(&self.prefix);
        match (self.ge, self.le) {
            (None, None) => (len, len),
            (Some(ge), None) => (ge, max),
            (None, Some(le)) => (len, le),
            (Some(ge), Some(le)) => (ge, le),
        }
    }
}

fn max_len(p: &Prefix) -> u8 {
    if p.is_ipv6() { 128 } else { 32 }
}

/// The bits of a prefix, left-aligned in 128 bits, with its family.
fn bits(p: &Prefix) -> (bool, u128) {
    match p.addr() {
        IpAddr::V4(a) => (false, u128::from(u32::from(a)) << 96),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn truncate(bits: u128, len: u8) -> u128 {
    bits & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

#[derive(Clone, Debug)]
pub struct PrefixList {
    /// In sequence order.
    entries: Vec<PrefixListEntry>,
    /// (IPv6, prefix length, prefix bits) -> indexes into `entries`, in
    /// sequence order.
    index: HashMap<(bool, u8, u128), Vec<u32>, FixedState>,
    /// The entry prefix lengths present, per family (IPv4, IPv6), ascending.
    lengths: [Vec<u8>; 2],
}

impl PrefixList {
    /// Checks every entry's range and orders them by sequence number.
    pub fn new(mut entries: Vec<PrefixListEntry>) -> Result<PrefixList, PolicyError> {
        entries.sort_by_key(|e| e.seq);
        for w in entries.windows(2) {
            if w[0].seq == w[1].seq {
                return Err(PolicyError::DuplicateSeq { seq: w[0].seq });
            }
        }
        let mut index: HashMap<(bool, u8, u128), Vec<u32>, FixedState> = HashMap::default();
        let mut lengths = [Vec::new(), Vec::new()];
        for (i, e) in entries.iter().enumerate() {
            let len = e.prefix.len();
            let max = max_len(&e.prefix);
            let (lo, hi) = e.lengths();
            // FRR's rule: len < ge <= le <= the family's maximum (a ge of
            // the length itself is refused there too: it would mean "le").
            if e.ge.is_some_and(|ge| ge <= len) || lo < len || hi < lo || hi > max {
                return Err(PolicyError::LengthRange {
                    prefix: e.prefix.to_string(),
                    len,
                    ge: e.ge,
                    le: e.le,
                    max,
                });
            }
            let (v6, b) = bits(&e.prefix);
            index.entry((v6, len, b)).or_default().push(i as u32);
            let l = &mut lengths[usize::from(v6)];
            if let Err(at) = l.binary_search(&len) {
                l.insert(at, len);
            }
        }
        Ok(PrefixList {
            entries,
            index,
            lengths,
        })
    }

    pub fn entries(&self) -> &[PrefixListEntry] {
        &self.entries
    }

    /// Whether every entry is of one family: `Some(true)` all IPv6,
    /// `Some(false)` all IPv4, `None` mixed or empty.
    pub fn family_v6(&self) -> Option<bool> {
        match (self.lengths[0].is_empty(), self.lengths[1].is_empty()) {
            (false, true) => Some(false),
            (true, false) => Some(true),
            _ => None,
        }
    }

    /// The action of the first entry (by sequence) that covers `p`, if one
    /// does.
    pub fn evaluate(&self, p: &Prefix) -> Option<Action> {
        let (v6, b) = bits(p);
        let plen = p.len();
        let mut best: Option<u32> = None;
        for &len in &self.lengths[usize::from(v6)] {
            if len > plen {
                break;
            }
            let Some(ids) = self.index.get(&(v6, len, truncate(b, len))) else {
                continue;
            };
            for &i in ids {
                if best.is_some_and(|b| b < i) {
                    break;
                }
                let Some(e) = self.entries.get(i as usize) else {
                    continue;
                };
                let (lo, hi) = e.lengths();
                if (lo..=hi).contains(&plen) {
                    best = Some(i);
                    break;
                }
            }
        }
        best.and_then(|i| self.entries.get(i as usize))
            .map(|e| e.action)
    }

    /// Permitted: an entry covers `p` and permits it.
    pub fn permits(&self, p: &Prefix) -> bool {
        self.evaluate(p) == Some(Action::Permit)
    }
}

/// Equal when written the same (the index follows from the entries).
impl PartialEq for PrefixList {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Eq for PrefixList {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn entry(
        seq: u32,
        action: Action,
        prefix: &str,
        ge: Option<u8>,
        le: Option<u8>,
    ) -> PrefixListEntry {
        PrefixListEntry {
            seq,
            action,
            prefix: p(prefix),
            ge,
            le,
        }
    }

    use Action::{Deny, Permit};

    #[test]
    fn exact_length_without_ge_or_le() {
        let l = PrefixList::new(vec![entry(5, Permit, "198.51.100.0/24", None, None)]).unwrap();
        assert!(l.permits(&p("198.51.100.0/24")));
        assert!(!l.permits(&p("198.51.100.0/25")));
        assert!(!l.permits(&p("198.51.0.0/16")));
        assert_eq!(l.evaluate(&p("203.0.113.0/24")), None);
    }

    #[test]
    fn ge_le_ranges() {
        let l = PrefixList::new(vec![
            entry(5, Permit, "10.0.0.0/8", Some(16), Some(24)),
            entry(10, Permit, "172.16.0.0/12", None, Some(20)),
            entry(15, Permit, "192.168.0.0/16", Some(30), None),
        ])
        .unwrap();
        assert!(!l.permits(&p("10.0.0.0/8")));
        assert!(l.permits(&p("10.1.0.0/16")));
        assert!(l.permits(&p("10.1.2.0/24")));
        assert!(!l.permits(&p("10.1.2.0/25")));
        assert!(l.permits(&p("172.16.0.0/12")));
        assert!(l.permits(&p("172.16.16.0/20")));
        assert!(!l.permits(&p("172.16.16.0/21")));
        assert!(!l.permits(&p("192.168.1.0/24")));
        assert!(l.permits(&p("192.168.1.4/30")));
        assert!(l.permits(&p("192.168.1.4/32")));
    }

    #[test]
    fn first_entry_by_sequence_wins() {
        // Written out of order: the sequence numbers decide.
        let l = PrefixList::new(vec![
            entry(20, Permit, "10.0.0.0/8", None, Some(32)),
            entry(10, Deny, "10.1.0.0/16", None, Some(32)),
        ])
        .unwrap();
        assert_eq!(l.evaluate(&p("10.1.2.0/24")), Some(Deny));
        assert_eq!(l.evaluate(&p("10.2.0.0/16")), Some(Permit));
        // The more specific entry does not win by being more specific.
        let l = PrefixList::new(vec![
            entry(10, Permit, "10.0.0.0/8", None, Some(32)),
            entry(20, Deny, "10.1.0.0/16", None, Some(32)),
        ])
        .unwrap();
        assert_eq!(l.evaluate(&p("10.1.2.0/24")), Some(Permit));
    }

    #[test]
    fn any_and_families() {
        let l = PrefixList::new(vec![
            entry(5, Deny, "0.0.0.0/0", None, None),
            entry(10, Permit, "0.0.0.0/0", None, Some(32)),
        ])
        .unwrap();
        assert_eq!(l.evaluate(&p("0.0.0.0/0")), Some(Deny));
        assert_eq!(l.evaluate(&p("203.0.113.7/32")), Some(Permit));
        // An IPv4 list says nothing of IPv6 routes.
        assert_eq!(l.evaluate(&p("2001:db8::/32")), None);
        assert_eq!(l.family_v6(), Some(false));
        let l6 = PrefixList::new(vec![entry(5, Permit, "2001:db8::/32", None, Some(48))]).unwrap();
        assert!(l6.permits(&p("2001:db8:1::/48")));
        assert!(!l6.permits(&p("2001:db8:1::/64")));
        assert_eq!(l6.family_v6(), Some(true));
    }

    #[test]
    fn impossible_ranges_are_refused() {
        for (ge, le) in [
            (Some(7), None),
            (Some(8), None),
            (Some(24), Some(16)),
            (None, Some(33)),
            (Some(33), None),
            (None, Some(7)),
        ] {
            let e = PrefixList::new(vec![entry(5, Permit, "10.0.0.0/8", ge, le)]).unwrap_err();
            assert!(
                matches!(e, PolicyError::LengthRange { .. }),
                "{ge:?} {le:?}: {e}"
            );
        }
        let e = PrefixList::new(vec![
            entry(5, Permit, "10.0.0.0/8", None, None),
            entry(5, Deny, "11.0.0.0/8", None, None),
        ])
        .unwrap_err();
        assert_eq!(e, PolicyError::DuplicateSeq { seq: 5 });
    }

    /// The scan every other implementation does, as the model.
    fn model(entries: &[PrefixListEntry], route: &Prefix) -> Option<Action> {
        let mut sorted = entries.to_vec();
        sorted.sort_by_key(|e| e.seq);
        sorted
            .iter()
            .find(|e| {
                let (v6, b) = bits(&e.prefix);
                let (rv6, rb) = bits(route);
                let (lo, hi) = e.lengths();
                v6 == rv6
                    && route.len() >= e.prefix.len()
                    && truncate(rb, e.prefix.len()) == b
                    && (lo..=hi).contains(&route.len())
            })
            .map(|e| e.action)
    }

    fn v4_prefix() -> impl Strategy<Value = Prefix> {
        // A small space so that entries and routes meet.
        (0u32..16, 0u8..=32).prop_map(|(hi, len)| {
            Prefix::new(IpAddr::V4(Ipv4Addr::from(hi << 26 | 0x0a_0000)), len).unwrap()
        })
    }

    fn any_prefix() -> impl Strategy<Value = Prefix> {
        prop_oneof![
            4 => v4_prefix(),
            1 => (0u128..8, 0u8..=128).prop_map(|(hi, len)| {
                Prefix::new(IpAddr::V6(Ipv6Addr::from(hi << 124)), len).unwrap()
            }),
        ]
    }

    fn entries() -> impl Strategy<Value = Vec<PrefixListEntry>> {
        prop::collection::vec(
            (any_prefix(), any::<bool>(), 0u8..=3, 0u8..=8, 0u8..=8),
            0..40,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (prefix, permit, kind, a, b))| {
                    let len = prefix.len();
                    let max = max_len(&prefix);
                    let ge = len.saturating_add(a.max(1)).min(max);
                    let le = ge.saturating_add(b).min(max);
                    let (ge, le) = match kind {
                        0 => (None, None),
                        // A host route has no longer lengths: no ge.
                        1 if ge > len => (Some(ge), None),
                        3 if ge > len => (Some(ge), Some(le)),
                        _ => (None, Some(le)),
                    };
                    PrefixListEntry {
                        // Sequence numbers out of order, unique.
                        seq: (i as u32 * 7919) % 1009,
                        action: if permit { Permit } else { Deny },
                        prefix,
                        ge,
                        le,
                    }
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn indexed_lookup_equals_the_scan(es in entries(), routes in prop::collection::vec(any_prefix(), 1..50)) {
            let l = PrefixList::new(es.clone()).unwrap();
            for r in &routes {
                prop_assert_eq!(l.evaluate(r), model(&es, r), "route {}", r);
            }
        }
    }
}
