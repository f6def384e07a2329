//! Community lists for the three kinds of communities (RFC 1997 standard,
//! RFC 4360 extended, RFC 8092 large), with FRR's semantics (its
//! `bgp_clist.c`), which the policy follows:
//!
//! - An entry of values matches a route that carries all of them; a
//!   standard entry naming `internet` (0:0) matches every route.
//! - An expression entry matches against the text of the route's
//!   communities of the list's kind ([`community_text`]: sorted, each once,
//!   well-known ones by name).
//! - The first matching entry decides; no match denies.
//! - `exact`: an entry of values matches a route that carries exactly
//!   those values (no more); an expression entry matches as without
//!   `exact` (the expression decides over the whole text).
//! - Removal (`set comm-list ... delete`): each value the route carries
//!   is tested alone: the first entry that names it (an entry of values
//!   holding it, or an expression matching its text) decides; a permit
//!   entry removes it. So an entry of several values removes each of them.
//!
//! [`community_text`]: super::community_text

use super::Action;
use super::as_path_list;
use super::community_text::{self, Text};
use super::error::PolicyError;
use crate::wire::attr::{Community, ExtCommunity, LargeCommunity};
use regex::Regex;
use std::cell::RefCell;

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

/// Whether `re` matches the text `write` makes (a reused buffer: one
/// evaluation allocates nothing once it has grown).
fn text_matches(re: &Regex, write: impl FnOnce(&mut String)) -> bool {
    TEXT.with(|t| {
        let mut t = t.borrow_mut();
        write(&mut t);
        re.is_match(&t)
    })
}

fn all_in<T: PartialEq>(wanted: &[T], carried: &[T]) -> bool {
    wanted.iter().all(|w| carried.contains(w))
}

/// The same values, whatever their order or repeats.
fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    all_in(a, b) && all_in(b, a)
}

/// FRR (and IOS) read `internet` in a standard list as "any route".
fn names_internet(w: &[Community]) -> bool {
    w.contains(&Community::INTERNET)
}

/// One kind's values in a route, and how an entry of values of that kind
/// is read: `carried` picks the route's values of the kind, `values` the
/// entry's (None: an entry of another kind, refused at load).
trait KindOf: Text {
    fn carried<'a>(c: &Carried<'a>) -> &'a [Self];
    fn values(v: &Values) -> Option<&[Self]>;
    /// Whether an entry of these values names every route.
    fn any(_w: &[Self]) -> bool {
        false
    }
}

impl KindOf for Community {
    fn carried<'a>(c: &Carried<'a>) -> &'a [Self] {
        c.standard
    }
    fn values(v: &Values) -> Option<&[Self]> {
        match v {
            Values::Standard(w) => Some(w),
            _ => None,
        }
    }
    fn any(w: &[Self]) -> bool {
        names_internet(w)
    }
}

impl KindOf for ExtCommunity {
    fn carried<'a>(c: &Carried<'a>) -> &'a [Self] {
        c.extended
    }
    fn values(v: &Values) -> Option<&[Self]> {
        match v {
            Values::Extended(w) => Some(w),
            _ => None,
        }
    }
}

impl KindOf for LargeCommunity {
    fn carried<'a>(c: &Carried<'a>) -> &'a [Self] {
        c.large
    }
    fn values(v: &Values) -> Option<&[Self]> {
        match v {
            Values::Large(w) => Some(w),
            _ => None,
        }
    }
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

    /// The action of the first entry for which `matches` holds.
    fn first(&self, matches: impl Fn(&Matcher) -> bool) -> Option<Action> {
        self.entries
            .iter()
            .find(|(_, m)| matches(m))
            .map(|(a, _)| *a)
    }

    /// Whether an entry matches a route carrying `carried` (of the list's
    /// kind); `exact`: an entry of values must name all of them.
    fn matches_route<T: KindOf>(m: &Matcher, carried: &[T], exact: bool) -> bool {
        match m {
            Matcher::Values(v) => T::values(v).is_some_and(|w| {
                T::any(w)
                    || if exact {
                        !carried.is_empty() && same_set(w, carried)
                    } else {
                        all_in(w, carried)
                    }
            }),
            Matcher::Regex(re) => text_matches(re, |t| community_text::all(carried, t)),
        }
    }

    fn evaluate_kind<T: KindOf>(&self, c: &Carried<'_>, exact: bool) -> Option<Action> {
        let carried = T::carried(c);
        self.first(|m| Self::matches_route(m, carried, exact))
    }

    fn evaluate_as(&self, c: &Carried<'_>, exact: bool) -> Option<Action> {
        match self.kind {
            Kind::Standard => self.evaluate_kind::<Community>(c, exact),
            Kind::Extended => self.evaluate_kind::<ExtCommunity>(c, exact),
            Kind::Large => self.evaluate_kind::<LargeCommunity>(c, exact),
        }
    }

    /// The action of the first entry that matches.
    pub fn evaluate(&self, c: &Carried<'_>) -> Option<Action> {
        self.evaluate_as(c, false)
    }

    pub fn permits(&self, c: &Carried<'_>) -> bool {
        self.evaluate(c) == Some(Action::Permit)
    }

    /// `exact-match`: the first entry that matches exactly (see the
    /// module's comment) permits.
    pub fn permits_exactly(&self, c: &Carried<'_>) -> bool {
        self.evaluate_as(c, true) == Some(Action::Permit)
    }

    /// Whether one value the route carries goes with `set comm-list LIST
    /// delete`: the first entry naming it permits.
    fn removes<T: KindOf>(&self, v: T) -> bool {
        self.first(|m| match m {
            Matcher::Values(w) => T::values(w).is_some_and(|w| T::any(w) || w.contains(&v)),
            Matcher::Regex(re) => text_matches(re, |t| community_text::one(v, t)),
        }) == Some(Action::Permit)
    }

    /// Whether removal by this list takes the standard community `v`.
    pub fn removes_standard(&self, v: Community) -> bool {
        self.removes(v)
    }

    pub fn removes_extended(&self, v: ExtCommunity) -> bool {
        self.removes(v)
    }

    pub fn removes_large(&self, v: LargeCommunity) -> bool {
        self.removes(v)
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

    fn values(v: Vec<Community>) -> EntryDef {
        EntryDef::Values(Values::Standard(v))
    }

    fn re(r: &str) -> EntryDef {
        EntryDef::Regex(r.into())
    }

    fn standard(v: &[Community]) -> Carried<'_> {
        Carried {
            standard: v,
            ..Default::default()
        }
    }

    fn large(v: &[LargeCommunity]) -> Carried<'_> {
        Carried {
            large: v,
            ..Default::default()
        }
    }

    #[test]
    fn values_match_when_all_are_carried() {
        let l = std_list(vec![(Permit, values(vec![c(65000, 1), c(65000, 2)]))]);
        assert!(l.permits(&standard(&[c(65000, 2), c(65000, 1), c(65000, 3)])));
        assert!(!l.permits(&standard(&[c(65000, 1)])));
        assert!(!l.permits(&Carried::default()));
        // `internet` names every route (FRR, IOS).
        let any = std_list(vec![
            (Deny, values(vec![c(1, 1)])),
            (Permit, values(vec![Community::INTERNET])),
        ]);
        assert!(any.permits(&Carried::default()));
        assert!(any.permits(&standard(&[c(2, 2)])));
        assert!(!any.permits(&standard(&[c(1, 1)])));
    }

    #[test]
    fn expressions_match_the_text() {
        let l = std_list(vec![
            (Deny, re("^65000:666$")),
            (Permit, re("_65000:[0-9]+_")),
        ]);
        let eval = |v: &[Community]| l.evaluate(&standard(v));
        assert_eq!(eval(&[c(65000, 666)]), Some(Deny));
        assert_eq!(eval(&[c(65000, 666), c(1, 1)]), Some(Permit));
        assert_eq!(eval(&[c(65000, 7)]), Some(Permit));
        assert_eq!(eval(&[c(650001 & 0xffff, 7)]), None);
    }

    /// Fix 1 (issue 23): an anchored expression sees the communities
    /// sorted, as FRR writes them, not in the order received.
    #[test]
    fn anchored_expressions_see_the_sorted_text() {
        let l = std_list(vec![(Permit, re("^3356:"))]);
        // Received with a larger value first: FRR's text is "3356:100 65000:1".
        assert!(l.permits(&standard(&[c(65000, 1), c(3356, 100)])));
        // A smaller value first in the text: no match, in whatever order.
        assert!(!l.permits(&standard(&[c(3356, 100), c(1299, 5)])));
        let end = std_list(vec![(Permit, re("65000:1$"))]);
        assert!(end.permits(&standard(&[c(65000, 1), c(3356, 100), c(65000, 1)])));
        // Large ones likewise, in numeric (not text) order.
        let l = CommunityList::new(Kind::Large, &[(Permit, re("^9:"))]).unwrap();
        assert!(l.permits(&large(&[lc(65000, 1, 1), lc(9, 1, 1)])));
    }

    /// Fix 4 (issue 23): well-known communities by FRR's names.
    #[test]
    fn well_known_names_in_expressions() {
        for (name, v) in [
            ("no-export", Community::NO_EXPORT),
            ("no-peer", Community::NO_PEER),
            ("blackhole", Community::BLACKHOLE),
            ("local-AS", Community::NO_EXPORT_SUBCONFED),
            ("graceful-shutdown", Community::GRACEFUL_SHUTDOWN),
            ("llgr-stale", Community::LLGR_STALE),
            ("no-llgr", Community::NO_LLGR),
            ("accept-own", Community(0xFFFF_0001)),
        ] {
            let l = std_list(vec![(Permit, re(&format!("_{name}_")))]);
            assert!(l.permits(&standard(&[c(65000, 1), v])), "{name}");
            assert!(l.removes_standard(v), "{name}");
            assert!(!l.permits(&standard(&[c(65000, 1)])), "{name}");
        }
        let numbers = std_list(vec![(Permit, re("65535:65284"))]);
        assert!(!numbers.permits(&standard(&[Community::NO_PEER])));
    }

    /// Fix 2 (issue 23): removal by an entry of several values removes
    /// each of them that the route carries.
    #[test]
    fn removal_takes_each_value_of_an_entry() {
        let l = std_list(vec![(Permit, values(vec![c(3856, 1), c(3856, 2)]))]);
        assert!(l.removes_standard(c(3856, 1)));
        assert!(l.removes_standard(c(3856, 2)));
        assert!(!l.removes_standard(c(3856, 3)));
        let l = CommunityList::new(
            Kind::Large,
            &[(
                Permit,
                EntryDef::Values(Values::Large(vec![lc(1, 2, 3), lc(4, 5, 6)])),
            )],
        )
        .unwrap();
        assert!(l.removes_large(lc(1, 2, 3)));
        assert!(l.removes_large(lc(4, 5, 6)));
        assert!(!l.removes_large(lc(1, 2, 4)));
        let rt = |n: u8| ExtCommunity([0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, n]);
        let l = CommunityList::new(
            Kind::Extended,
            &[(
                Permit,
                EntryDef::Values(Values::Extended(vec![rt(1), rt(2)])),
            )],
        )
        .unwrap();
        assert!(l.removes_extended(rt(1)) && l.removes_extended(rt(2)));
        assert!(!l.removes_extended(rt(3)));
        // The first entry naming a value decides; a deny entry keeps it.
        let l = std_list(vec![
            (Deny, values(vec![c(3856, 1)])),
            (Permit, re("^3856:")),
        ]);
        assert!(!l.removes_standard(c(3856, 1)));
        assert!(l.removes_standard(c(3856, 2)));
        // An expression sees the one value's text.
        let l = std_list(vec![(Permit, re("^3856:2$"))]);
        assert!(l.removes_standard(c(3856, 2)));
    }

    /// Fix 3 (issue 23): exact-match over an expression lets the
    /// expression decide on the whole text; over values, the route
    /// carries those values and no other.
    #[test]
    fn exact_match() {
        let l = std_list(vec![(Permit, values(vec![c(65000, 1), c(65000, 2)]))]);
        assert!(l.permits_exactly(&standard(&[c(65000, 2), c(65000, 1)])));
        assert!(l.permits_exactly(&standard(&[c(65000, 2), c(65000, 1), c(65000, 2)])));
        assert!(!l.permits_exactly(&standard(&[c(65000, 2), c(65000, 1), c(65000, 3)])));
        assert!(!l.permits_exactly(&Carried::default()));
        let r = std_list(vec![(Permit, re("^3856:5[0-9]+00$"))]);
        assert!(r.permits_exactly(&standard(&[c(3856, 51300)])));
        assert!(!r.permits_exactly(&standard(&[c(3856, 51300), c(65000, 1)])));
        let r = std_list(vec![(Permit, re("^3856:"))]);
        assert!(r.permits_exactly(&standard(&[c(65000, 1), c(3856, 51300)])));
        // The first entry that matches decides, a deny one too.
        let l = std_list(vec![
            (Deny, values(vec![c(65000, 1)])),
            (Permit, re("65000:1")),
        ]);
        assert!(!l.permits_exactly(&standard(&[c(65000, 1)])));
        assert!(l.permits_exactly(&standard(&[c(65000, 1), c(65000, 2)])));
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
                (Permit, re("^64501:.*")),
            ],
        )
        .unwrap();
        assert!(l.removes_large(lc(64500, 1, 2)));
        assert!(l.removes_large(lc(64501, 9, 9)));
        assert!(!l.removes_large(lc(64502, 1, 2)));
        let rt = ExtCommunity([0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 100]);
        // FRR's display form: `RT:`.
        let e = CommunityList::new(Kind::Extended, &[(Permit, re("^RT:65000:100$"))]).unwrap();
        assert!(e.removes_extended(rt));
        assert!(e.permits(&Carried {
            extended: &[rt],
            ..Default::default()
        }));
        // Values of another kind are refused at load.
        let bad = CommunityList::new(
            Kind::Large,
            &[(Permit, EntryDef::Values(Values::Standard(vec![c(1, 1)])))],
        );
        assert!(bad.is_err());
    }
}
