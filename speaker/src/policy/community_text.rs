//! The text a community list's expression is matched against: FRR's text
//! form, so that an expression written for FRR (the model the policy
//! follows) selects the same routes here.
//!
//! - A route's communities of one kind: each value once, in ascending
//!   order (FRR keeps each kind sorted and without repeats, whatever the
//!   order received), separated by one space; no communities is "".
//! - Standard (RFC 1997): `ASN:VALUE`, or the well-known name
//!   (`no-export`, `no-peer`, `local-AS`, `blackhole`, ... see
//!   [`Community::name`]).
//! - Extended (RFC 4360): route targets and sites of origin as FRR
//!   displays them, `RT:65000:100`, `SoO:198.18.0.1:7`, `RT:4200000000:7`;
//!   any other type as `0x` and 16 hex digits (FRR writes those
//!   differently or not at all).
//! - Large (RFC 8092): `GLOBAL:LOCAL1:LOCAL2`.
//!
//! `set comm-list ... delete` tests each value alone: its text is the same
//! form for one value.

use crate::wire::attr::{Community, ExtCommunity, LargeCommunity};
use std::fmt::Write;

/// A community value with a text form.
pub trait Text: Copy + Ord {
    fn write_text(self, out: &mut String);
}

impl Text for Community {
    fn write_text(self, out: &mut String) {
        // Display writes the well-known names.
        let _ = write!(out, "{self}");
    }
}

impl Text for LargeCommunity {
    fn write_text(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Text for ExtCommunity {
    fn write_text(self, out: &mut String) {
        // FRR's display form: `RT:` and `SoO:`.
        let _ = ExtCommunity::write_text(&self, ["RT", "SoO"], out);
    }
}

/// Writes one value's text into `out` (cleared first).
pub fn one<T: Text>(value: T, out: &mut String) {
    out.clear();
    value.write_text(out);
}

/// Writes the text of a route's values of one kind into `out` (cleared
/// first): sorted, each once, space-separated.
pub fn all<T: Text>(values: &[T], out: &mut String) {
    out.clear();
    // Routes mostly carry their communities sorted already: no copy then.
    if values.windows(2).all(|w| w[0] < w[1]) {
        write_all(values.iter().copied(), out);
    } else {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        write_all(sorted.into_iter(), out);
    }
}

fn write_all<T: Text>(values: impl Iterator<Item = T>, out: &mut String) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        v.write_text(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(asn: u32, v: u32) -> Community {
        Community((asn << 16) | v)
    }

    #[test]
    fn sorted_once_with_names() {
        let mut t = String::new();
        all(
            &[
                Community::NO_PEER,
                c(65000, 1),
                c(3356, 3),
                Community::NO_EXPORT,
                c(3356, 3),
                Community::BLACKHOLE,
            ],
            &mut t,
        );
        assert_eq!(t, "3356:3 65000:1 blackhole no-export no-peer");
        all::<Community>(&[], &mut t);
        assert_eq!(t, "");
        one(Community::NO_EXPORT_SUBCONFED, &mut t);
        assert_eq!(t, "local-AS");
        // Already sorted, and a repeat: the same text either way.
        all(&[c(1, 1), c(2, 2)], &mut t);
        assert_eq!(t, "1:1 2:2");
        all(&[c(1, 1), c(1, 1)], &mut t);
        assert_eq!(t, "1:1");
    }

    #[test]
    fn extended_as_frr_displays_them() {
        let mut t = String::new();
        let rt2 = ExtCommunity([0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 100]);
        let soo_ip = ExtCommunity([0x01, 0x03, 198, 18, 0, 1, 0, 7]);
        let rt4 = ExtCommunity([0x02, 0x02, 0xfa, 0x56, 0xea, 0x00, 0, 7]);
        let other = ExtCommunity([0x43, 0x00, 0, 0, 0, 0, 0, 1]);
        all(&[soo_ip, rt4, other, rt2], &mut t);
        assert_eq!(
            t,
            "RT:65000:100 SoO:198.18.0.1:7 RT:4200000000:7 0x4300000000000001"
        );
    }

    #[test]
    fn large_in_numeric_order() {
        let mut t = String::new();
        let l = |g, a, b| LargeCommunity {
            global: g,
            local1: a,
            local2: b,
        };
        all(&[l(65000, 2, 1), l(9, 99, 99), l(65000, 1, 7)], &mut t);
        assert_eq!(t, "9:99:99 65000:1:7 65000:2:1");
    }
}
