//! Community lists for the three kinds of communities (RFC 1997 standard,
//! RFC 4360 extended, RFC 8092 large). An entry holds values (it matches
//! a route that carries all of them) or an expression over the route's
//! communities as text, space-separated as FRR writes them. The first
//! matching entry decides; no match denies.

use super::Action;
use super::as_path_list;
use super::error::PolicyError;
use crate::wire::attr::{Community, ExtCommunity, LargeCommunity};
use regex::Regex;
use std::cell::RefCell;
use std::fmt::{Display, Write};

/// Values of one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Values {
    Standard(Vec<Community>),
    Extended(Vec<ExtCommunity>),
    Large(Vec<LargeCommunity>),
}

impl Values {
    pub fn kind(&self) -> Kind {
        match self {
            Values::Standard(_) => Kind::Standard,
            Values::Extended(_) => Kind::Extended,
            Values::Large(_) => Kind::Large,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Standard,
    Extended,
    Large,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Standard => "community",
            Kind::Extended => "extended community",
            Kind::Large => "large community",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Matcher {
    /// All of them present.
    Values(Values),
    Regex(Regex),
}

/// A route's communities of every kind (absent: empty).
#[derive(Clone, Copy, Debug, Default)]
pub struct Carried<'a> {
    pub standard: &'a [Community],
    pub extended: &'a [ExtCommunity],
    pub large: &'a [LargeCommunity],
}

#[derive(Clone, Debug)]
pub struct CommunityList {
    kind: Kind,
    entries: Vec<(Action, Matcher)>,
}

/// How an entry is written: values, or an expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryDef {
    Values(Values),
    Regex(String),
}

thread_local! {
    static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
}

fn with_text<T: Display, R>(values: &[T], f: impl FnOnce(&str) -> R) -> R {
    TEXT.with(|t| {
        let mut t = t.borrow_mut();
        t.clear();
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                t.push(' ');
            }
            let _ = write!(t, "{v}");
        }
        f(&t)
    })
}

fn all_in<T: PartialEq>(wanted: &[T], carried: &[T]) -> bool {
    wanted.iter().all(|w| carried.contains(w))
}

/// Equal when written the same.
impl PartialEq for CommunityList {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: &Matcher, b: &Matcher| match (a, b) {
            (Matcher::Values(x), Matcher::Values(y)) => x == y,
            (Matcher::Regex(x), Matcher::Regex(y)) => x.as_str() == y.as_str(),
            _ => false,
        };
        self.kind == other.kind
            && self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((a, x), (b, y))| a == b && same(x, y))
    }
}

impl Eq for CommunityList {}

impl CommunityList {
    /// Entries of `kind` in order; values of another kind are refused.
    pub fn new(kind: Kind, entries: &[(Action, EntryDef)]) -> Result<CommunityList, PolicyError> {
        let entries = entries
            .iter()
            .map(|(a, e)| {
                let m = match e {
                    EntryDef::Values(v) if v.kind() != kind => {
                        return Err(PolicyError::Invalid {
                            seq: 0,
                            what: format!("{} values in a {} list", v.kind().name(), kind.name()),
                        });
                    }
                    EntryDef::Values(v) => Matcher::Values(v.clone()),
                    // Plain expressions: `_` means what it means in AS-path
                    // lists (FRR expands it for community lists too).
                    EntryDef::Regex(p) => Matcher::Regex(as_path_list::compile(p)?),
                };
                Ok((*a, m))
            })
            .collect::<Result<_, PolicyError>>()?;
        Ok(CommunityList { kind, entries })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    fn entry_matches(&self, m: &Matcher, c: &Carried<'_>) -> bool {
        match m {
            Matcher::Values(Values::Standard(w)) => all_in(w, c.standard),
            Matcher::Values(Values::Extended(w)) => all_in(w, c.extended),
            Matcher::Values(Values::Large(w)) => all_in(w, c.large),
            Matcher::Regex(re) => match self.kind {
                Kind::Standard => with_text(c.standard, |t| re.is_match(t)),
                Kind::Extended => with_text(c.extended, |t| re.is_match(t)),
                Kind::Large => with_text(c.large, |t| re.is_match(t)),
            },
        }
    }

    /// The action of the first entry that matches.
    pub fn evaluate(&self, c: &Carried<'_>) -> Option<Action> {
        self.entries
            .iter()
            .find(|(_, m)| self.entry_matches(m, c))
            .map(|(a, _)| *a)
    }

    pub fn permits(&self, c: &Carried<'_>) -> bool {
        self.evaluate(c) == Some(Action::Permit)
    }

    /// `exact-match`: every community of the list's kind that the route
    /// carries is named by a permit entry of values, and the route
    /// carries all of one such entry (FRR's meaning).
    pub fn permits_exactly(&self, c: &Carried<'_>) -> bool {
        self.entries.iter().any(|(a, m)| {
            *a == Action::Permit
                && match m {
                    Matcher::Values(Values::Standard(w)) => {
                        all_in(w, c.standard) && all_in(c.standard, w)
                    }
                    Matcher::Values(Values::Extended(w)) => {
                        all_in(w, c.extended) && all_in(c.extended, w)
                    }
                    Matcher::Values(Values::Large(w)) => all_in(w, c.large) && all_in(c.large, w),
                    Matcher::Regex(_) => false,
                }
        })
    }

    /// Whether one community value is permitted on its own: what
    /// `set comm-list LIST delete` removes.
    pub fn permits_standard(&self, v: Community) -> bool {
        self.permits(&Carried {
            standard: &[v],
            ..Default::default()
        })
    }

    pub fn permits_extended(&self, v: ExtCommunity) -> bool {
        self.permits(&Carried {
            extended: &[v],
            ..Default::default()
        })
    }

    pub fn permits_large(&self, v: LargeCommunity) -> bool {
        self.permits(&Carried {
            large: &[v],
            ..Default::default()
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use Action::{Deny, Permit};

    fn c(asn: u32, v: u32) -> Community {
        Community((asn << 16) | v)
    }

    fn lc(g: u32, a: u32, b: u32) -> LargeCommunity {
        LargeCommunity {
            global: g,
            local1: a,
            local2: b,
        }
    }

    fn std_list(entries: Vec<(Action, EntryDef)>) -> CommunityList {
        CommunityList::new(Kind::Standard, &entries).unwrap()
    }

    #[test]
    fn values_match_when_all_are_carried() {
        let l = std_list(vec![(
            Permit,
            EntryDef::Values(Values::Standard(vec![c(65000, 1), c(65000, 2)])),
        )]);
        let both = [c(65000, 2), c(65000, 1), c(65000, 3)];
        assert!(l.permits(&Carried {
            standard: &both,
            ..Default::default()
        }));
        let one = [c(65000, 1)];
        assert!(!l.permits(&Carried {
            standard: &one,
            ..Default::default()
        }));
        assert!(!l.permits(&Carried::default()));
    }

    #[test]
    fn expressions_match_the_text() {
        let l = std_list(vec![
            (Deny, EntryDef::Regex("^65000:666$".into())),
            (Permit, EntryDef::Regex("_65000:[0-9]+_".into())),
        ]);
        let carried = |v: &[Community]| {
            l.evaluate(&Carried {
                standard: v,
                ..Default::default()
            })
        };
        assert_eq!(carried(&[c(65000, 666)]), Some(Deny));
        assert_eq!(carried(&[c(65000, 666), c(1, 1)]), Some(Permit));
        assert_eq!(carried(&[c(65000, 7)]), Some(Permit));
        assert_eq!(carried(&[c(650001 & 0xffff, 7)]), None);
        // Well-known communities read as their names (FRR's text form).
        let nx = std_list(vec![(Permit, EntryDef::Regex("no-export".into()))]);
        assert!(nx.permits_standard(Community::NO_EXPORT));
    }

    #[test]
    fn exact_match() {
        let l = std_list(vec![(
            Permit,
            EntryDef::Values(Values::Standard(vec![c(65000, 1), c(65000, 2)])),
        )]);
        let same = [c(65000, 2), c(65000, 1)];
        let more = [c(65000, 2), c(65000, 1), c(65000, 3)];
        assert!(l.permits_exactly(&Carried {
            standard: &same,
            ..Default::default()
        }));
        assert!(!l.permits_exactly(&Carried {
            standard: &more,
            ..Default::default()
        }));
    }

    #[test]
    fn large_and_extended() {
        let l = CommunityList::new(
            Kind::Large,
            &[
                (
                    Permit,
                    EntryDef::Values(Values::Large(vec![lc(64500, 1, 2)])),
                ),
                (Permit, EntryDef::Regex("^64501:.*".into())),
            ],
        )
        .unwrap();
        assert!(l.permits_large(lc(64500, 1, 2)));
        assert!(l.permits_large(lc(64501, 9, 9)));
        assert!(!l.permits_large(lc(64502, 1, 2)));
        let rt = ExtCommunity([0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 100]);
        let e = CommunityList::new(
            Kind::Extended,
            &[(Permit, EntryDef::Regex("^rt:65000:100$".into()))],
        )
        .unwrap();
        assert!(e.permits_extended(rt));
        // Values of another kind are refused at load.
        let bad = CommunityList::new(
            Kind::Large,
            &[(Permit, EntryDef::Values(Values::Standard(vec![c(1, 1)])))],
        );
        assert!(bad.is_err());
    }
}
