//! Route-map evaluation: matches, sets and the flow between entries.
#![allow(clippy::unwrap_used)]

use super::community_list::{EntryDef, Values};
use super::*;
use crate::wire::Family;
use crate::wire::Prefix;
use crate::wire::attr::{
    AsPath, AttrValue, Community, LargeCommunity, Origin, PathAttribute, PathAttributes,
};
use Action::{Deny, Permit};
use std::net::{IpAddr, Ipv4Addr};

const LOCAL_AS: u32 = 64496;
const NEIGHBOR: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn c(asn: u32, v: u32) -> Community {
    Community((asn << 16) | v)
}

fn attrs(path: &[u32], extra: Vec<AttrValue>) -> Arc<PathAttributes> {
    let mut v = vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(path.to_vec()))),
        PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 0, 2))),
    ];
    v.extend(extra.into_iter().map(PathAttribute::new));
    Arc::new(PathAttributes::new(v))
}

fn run(policy: &Policy, map: &str, prefix: &str, a: &Arc<PathAttributes>) -> Verdict {
    let prefix = p(prefix);
    policy.route_map(map).unwrap().apply(&Route {
        family: Family::IPV4_UNICAST,
        prefix: &prefix,
        attrs: a,
        neighbor: NEIGHBOR,
        local_as: LOCAL_AS,
        direction: Direction::Import,
    })
}

fn permitted(v: Verdict) -> Permitted {
    match v {
        Verdict::Permit(p) => p,
        Verdict::Deny => panic!("denied"),
    }
}

fn entry(seq: u32, action: Action, matches: Vec<MatchDef>, sets: Vec<SetDef>) -> RouteMapEntryDef {
    RouteMapEntryDef {
        seq,
        action,
        matches,
        sets,
        on_match: OnMatch::Exit,
    }
}

fn plain(s: Set) -> SetDef {
    SetDef::Plain(s)
}

/// Lists every test uses: CUSTOMERS (198.51.100.0/22 le 24), FROM_64500
/// (^64500_), BLACKHOLE (64496:666), NOISE (64496:1..9 by regex).
fn base() -> PolicyDef {
    let mut d = PolicyDef::default();
    d.prefix_lists.insert(
        "CUSTOMERS".into(),
        vec![PrefixListEntry {
            seq: 5,
            action: Permit,
            prefix: p("198.51.100.0/22"),
            ge: None,
            le: Some(24),
        }],
    );
    d.as_path_lists
        .insert("FROM_64500".into(), vec![(Permit, "^64500_".into())]);
    d.community_lists.insert(
        "BLACKHOLE".into(),
        (
            CommunityKind::Standard,
            vec![(
                Permit,
                EntryDef::Values(Values::Standard(vec![c(64496, 666)])),
            )],
        ),
    );
    d.community_lists.insert(
        "NOISE".into(),
        (
            CommunityKind::Standard,
            vec![(Permit, EntryDef::Regex("^64496:[1-9]$".into()))],
        ),
    );
    d
}

fn compile(maps: Vec<(&str, Vec<RouteMapEntryDef>)>) -> Policy {
    let mut d = base();
    for (n, e) in maps {
        d.route_maps.insert(n.into(), e);
    }
    Policy::compile(&d).unwrap()
}

#[test]
fn no_matching_entry_denies() {
    let pol = compile(vec![(
        "IN",
        vec![entry(
            10,
            Permit,
            vec![MatchDef::PrefixList("CUSTOMERS".into())],
            vec![],
        )],
    )]);
    let a = attrs(&[64500], vec![]);
    assert!(matches!(
        run(&pol, "IN", "198.51.101.0/24", &a),
        Verdict::Permit(_)
    ));
    assert_eq!(run(&pol, "IN", "203.0.113.0/24", &a), Verdict::Deny);
    // An empty map denies everything.
    let empty = compile(vec![("NONE", vec![])]);
    assert_eq!(run(&empty, "NONE", "198.51.101.0/24", &a), Verdict::Deny);
}

#[test]
fn an_entry_without_matches_matches_everything_and_unchanged_attrs_are_shared() {
    let pol = compile(vec![("ALL", vec![entry(10, Permit, vec![], vec![])])]);
    let a = attrs(&[64500], vec![]);
    let out = permitted(run(&pol, "ALL", "203.0.113.0/24", &a));
    assert!(Arc::ptr_eq(&out.attrs, &a));
    assert_eq!(out.weight, None);
    assert_eq!(out.next_hop, NextHopTreatment::Default);
}

#[test]
fn all_match_clauses_must_hold() {
    let pol = compile(vec![(
        "IN",
        vec![
            entry(
                10,
                Permit,
                vec![
                    MatchDef::PrefixList("CUSTOMERS".into()),
                    MatchDef::AsPath("FROM_64500".into()),
                ],
                vec![plain(Set::LocalPref(200))],
            ),
            entry(20, Permit, vec![], vec![]),
        ],
    )]);
    let from_64500 = attrs(&[64500, 1], vec![]);
    let from_other = attrs(&[64501, 1], vec![]);
    let lp = |v: Verdict| permitted(v).attrs.local_pref().copied();
    assert_eq!(
        lp(run(&pol, "IN", "198.51.100.0/24", &from_64500)),
        Some(200)
    );
    assert_eq!(lp(run(&pol, "IN", "198.51.100.0/24", &from_other)), None);
    assert_eq!(lp(run(&pol, "IN", "203.0.113.0/24", &from_64500)), None);
}

#[test]
fn deny_entry_drops_and_stops() {
    let pol = compile(vec![(
        "IN",
        vec![
            entry(
                10,
                Deny,
                vec![MatchDef::Community {
                    list: "BLACKHOLE".into(),
                    exact: false,
                }],
                vec![],
            ),
            entry(20, Permit, vec![], vec![]),
        ],
    )]);
    let bh = attrs(
        &[64500],
        vec![AttrValue::Communities(vec![c(1, 1), c(64496, 666)])],
    );
    assert_eq!(run(&pol, "IN", "203.0.113.0/24", &bh), Verdict::Deny);
    let ok = attrs(&[64500], vec![AttrValue::Communities(vec![c(1, 1)])]);
    assert!(matches!(
        run(&pol, "IN", "203.0.113.0/24", &ok),
        Verdict::Permit(_)
    ));
}

#[test]
fn continue_next_and_goto() {
    let mut e10 = entry(10, Permit, vec![], vec![plain(Set::LocalPref(150))]);
    e10.on_match = OnMatch::Next;
    // Matches only after entry 10 changed the local preference.
    let mut e20 = entry(
        20,
        Permit,
        vec![MatchDef::Plain(Match::LocalPref(150..=150))],
        vec![plain(Set::Med(MedSet::Value(7)))],
    );
    e20.on_match = OnMatch::Goto(40);
    // Skipped by the goto.
    let e30 = entry(
        30,
        Permit,
        vec![],
        vec![plain(Set::Origin(Origin::Incomplete))],
    );
    // Not matching: the route stays permitted with what it got so far.
    let e40 = entry(
        40,
        Permit,
        vec![MatchDef::PrefixList("CUSTOMERS".into())],
        vec![plain(Set::Weight(9))],
    );
    let pol = compile(vec![("FLOW", vec![e10, e20, e30, e40])]);
    let a = attrs(&[64500], vec![]);
    let out = permitted(run(&pol, "FLOW", "203.0.113.0/24", &a));
    assert_eq!(out.attrs.local_pref(), Some(&150));
    assert_eq!(out.attrs.med(), Some(&7));
    assert_eq!(out.attrs.origin(), Some(&Origin::Igp));
    assert_eq!(out.weight, None);
    // The same with a customer prefix: entry 40 applies too.
    let out = permitted(run(&pol, "FLOW", "198.51.100.0/24", &a));
    assert_eq!(out.weight, Some(9));
}

#[test]
fn a_deny_after_continue_still_denies() {
    let mut e10 = entry(10, Permit, vec![], vec![plain(Set::LocalPref(150))]);
    e10.on_match = OnMatch::Next;
    let e20 = entry(
        20,
        Deny,
        vec![MatchDef::PrefixList("CUSTOMERS".into())],
        vec![],
    );
    let pol = compile(vec![("FLOW", vec![e10, e20])]);
    let a = attrs(&[64500], vec![]);
    assert_eq!(run(&pol, "FLOW", "198.51.100.0/24", &a), Verdict::Deny);
    assert!(matches!(
        run(&pol, "FLOW", "203.0.113.0/24", &a),
        Verdict::Permit(_)
    ));
}

#[test]
fn med_arithmetic_saturates() {
    let pol = compile(vec![
        (
            "ADD",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::Med(MedSet::Add(10)))],
            )],
        ),
        (
            "SUB",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::Med(MedSet::Subtract(10)))],
            )],
        ),
    ]);
    let none = attrs(&[1], vec![]);
    let high = attrs(&[1], vec![AttrValue::MultiExitDisc(u32::MAX - 3)]);
    let low = attrs(&[1], vec![AttrValue::MultiExitDisc(4)]);
    let med = |m: &str, a| {
        permitted(run(&pol, m, "203.0.113.0/24", a))
            .attrs
            .med()
            .copied()
    };
    assert_eq!(med("ADD", &none), Some(10));
    assert_eq!(med("ADD", &high), Some(u32::MAX));
    assert_eq!(med("SUB", &low), Some(0));
    assert_eq!(med("SUB", &none), Some(0));
}

#[test]
fn as_path_prepend_and_exclude() {
    let pol = compile(vec![
        (
            "OWN",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::Prepend(Prepend::Own(3)))],
            )],
        ),
        (
            "GIVEN",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::Prepend(Prepend::Asns(vec![65001, 65002])))],
            )],
        ),
        (
            "EXCLUDE",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::Exclude(vec![64500]))],
            )],
        ),
    ]);
    let a = attrs(&[64500, 1, 64500, 2], vec![]);
    let path = |m: &str| {
        permitted(run(&pol, m, "203.0.113.0/24", &a))
            .attrs
            .as_path()
            .unwrap()
            .to_string()
    };
    assert_eq!(path("OWN"), "64496 64496 64496 64500 1 64500 2");
    assert_eq!(path("GIVEN"), "65001 65002 64500 1 64500 2");
    assert_eq!(path("EXCLUDE"), "1 2");
}

#[test]
fn communities_add_remove_replace() {
    let lc = LargeCommunity {
        global: 64496,
        local1: 1,
        local2: 2,
    };
    let pol = compile(vec![
        (
            "ADD",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![
                    plain(Set::CommunityAdd(CommunityValues::Standard(vec![
                        c(64496, 5),
                        c(1, 1),
                    ]))),
                    plain(Set::CommunityAdd(CommunityValues::Large(vec![lc]))),
                ],
            )],
        ),
        (
            "REMOVE",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![SetDef::CommunityRemove("NOISE".into())],
            )],
        ),
        (
            "NONE",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::CommunityReplace(CommunityValues::Standard(
                    vec![],
                )))],
            )],
        ),
    ]);
    let a = attrs(
        &[1],
        vec![AttrValue::Communities(vec![
            c(1, 1),
            c(64496, 3),
            c(64496, 30),
        ])],
    );
    let comms = |m: &str| {
        permitted(run(&pol, m, "203.0.113.0/24", &a))
            .attrs
            .communities()
            .cloned()
    };
    assert_eq!(
        comms("ADD"),
        Some(vec![c(1, 1), c(64496, 3), c(64496, 30), c(64496, 5)])
    );
    let added = permitted(run(&pol, "ADD", "203.0.113.0/24", &a));
    assert_eq!(added.attrs.large_communities(), Some(&vec![lc]));
    // 64496:3 matches ^64496:[1-9]$, 64496:30 does not.
    assert_eq!(comms("REMOVE"), Some(vec![c(1, 1), c(64496, 30)]));
    assert_eq!(comms("NONE"), None);
}

#[test]
fn next_hop_sets() {
    let addr = IpAddr::V4(Ipv4Addr::new(198, 18, 9, 9));
    let pol = compile(vec![
        (
            "ADDR",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::NextHop(NextHopSet::Address(addr)))],
            )],
        ),
        (
            "SELF",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::NextHop(NextHopSet::SelfAddress))],
            )],
        ),
        (
            "KEEP",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::NextHop(NextHopSet::Unchanged))],
            )],
        ),
        (
            "PEER",
            vec![entry(
                10,
                Permit,
                vec![],
                vec![plain(Set::NextHop(NextHopSet::PeerAddress))],
            )],
        ),
    ]);
    let a = attrs(&[1], vec![AttrValue::NextHop(Ipv4Addr::new(198, 18, 7, 7))]);
    let out = |m: &str| permitted(run(&pol, m, "203.0.113.0/24", &a));
    assert_eq!(
        out("ADDR").attrs.next_hop(),
        Some(&Ipv4Addr::new(198, 18, 9, 9))
    );
    assert_eq!(out("SELF").next_hop, NextHopTreatment::SelfAddress);
    assert_eq!(out("KEEP").next_hop, NextHopTreatment::Unchanged);
    // Import: the neighbour's address.
    assert_eq!(
        out("PEER").attrs.next_hop(),
        Some(&Ipv4Addr::new(198, 18, 0, 2))
    );
}

#[test]
fn value_matches() {
    let m = |mt: Match| {
        compile(vec![(
            "M",
            vec![entry(10, Permit, vec![MatchDef::Plain(mt)], vec![])],
        )])
    };
    let a = attrs(
        &[64500, 64501],
        vec![AttrValue::MultiExitDisc(50), AttrValue::LocalPref(120)],
    );
    let ok = |pol: &Policy| matches!(run(pol, "M", "203.0.113.0/24", &a), Verdict::Permit(_));
    assert!(ok(&m(Match::OriginAs(vec![64501..=64501]))));
    assert!(!ok(&m(Match::OriginAs(vec![64500..=64500]))));
    assert!(ok(&m(Match::Med(0..=50))));
    assert!(!ok(&m(Match::Med(51..=100))));
    assert!(ok(&m(Match::LocalPref(100..=200))));
    assert!(ok(&m(Match::Neighbor(vec![NEIGHBOR]))));
    assert!(!ok(&m(Match::Neighbor(vec![IpAddr::V4(Ipv4Addr::new(
        198, 18, 0, 3
    ))]))));
    assert!(ok(&m(Match::NextHop(vec![IpAddr::V4(Ipv4Addr::new(
        198, 18, 0, 2
    ))]))));
    assert!(ok(&m(Match::Origin(Origin::Igp))));
    assert!(!ok(&m(Match::Origin(Origin::Egp))));
    // Without LOCAL_PREF a route counts as 100.
    let bare = attrs(&[1], vec![]);
    let pol = m(Match::LocalPref(100..=100));
    assert!(matches!(
        run(&pol, "M", "203.0.113.0/24", &bare),
        Verdict::Permit(_)
    ));
}

#[test]
fn bad_policies_are_refused_with_the_reason() {
    let refuse = |maps: Vec<(&str, Vec<RouteMapEntryDef>)>| {
        let mut d = base();
        for (n, e) in maps {
            d.route_maps.insert(n.into(), e);
        }
        Policy::compile(&d).unwrap_err()[0].to_string()
    };
    let e = refuse(vec![(
        "M",
        vec![entry(
            10,
            Permit,
            vec![MatchDef::PrefixList("NOPE".into())],
            vec![],
        )],
    )]);
    assert_eq!(
        e,
        "route-map 'M' entry 10: prefix list 'NOPE' is not defined"
    );
    let mut back = entry(20, Permit, vec![], vec![]);
    back.on_match = OnMatch::Goto(10);
    assert!(refuse(vec![("M", vec![back])]).contains("does not go forward"));
    let v6 = IpAddr::V6("2001:db8::1".parse().unwrap());
    let e = refuse(vec![(
        "M",
        vec![entry(
            10,
            Permit,
            vec![MatchDef::PrefixList("CUSTOMERS".into())],
            vec![plain(Set::NextHop(NextHopSet::Address(v6)))],
        )],
    )]);
    assert!(e.contains("cannot apply to the IPv4 routes"), "{e}");
    assert!(
        refuse(vec![(
            "M",
            vec![entry(
                10,
                Permit,
                vec![MatchDef::Plain(Match::Med(std::ops::RangeInclusive::new(
                    9, 1
                )))],
                vec![]
            )]
        )])
        .contains("bad range")
    );
    assert!(
        refuse(vec![(
            "M",
            vec![
                entry(10, Permit, vec![], vec![]),
                entry(10, Deny, vec![], vec![])
            ]
        )])
        .contains("used twice")
    );
    assert!(
        refuse(vec![(
            "M",
            vec![entry(10, Deny, vec![], vec![plain(Set::LocalPref(1))])]
        )])
        .contains("deny entry")
    );
    let mut d = base();
    d.as_path_lists
        .insert("BAD".into(), vec![(Permit, "(".into())]);
    let e = Policy::compile(&d).unwrap_err()[0].to_string();
    assert!(
        e.starts_with("AS-path list 'BAD': bad regular expression '('"),
        "{e}"
    );
    let mut d = base();
    d.prefix_lists.insert(
        "BAD".into(),
        vec![PrefixListEntry {
            seq: 1,
            action: Permit,
            prefix: p("10.0.0.0/8"),
            ge: Some(24),
            le: Some(16),
        }],
    );
    let e = Policy::compile(&d).unwrap_err()[0].to_string();
    assert!(
        e.starts_with("prefix list 'BAD': impossible length range"),
        "{e}"
    );
}

#[test]
fn every_problem_is_reported_once_with_its_place() {
    let mut d = base();
    d.as_path_lists
        .insert("BROKEN".into(), vec![(Permit, "[".into())]);
    d.route_maps.insert(
        "M".into(),
        vec![
            // Names the broken list: its own problem is enough.
            entry(10, Permit, vec![MatchDef::AsPath("BROKEN".into())], vec![]),
            entry(20, Permit, vec![MatchDef::AsPath("MISSING".into())], vec![]),
            entry(20, Permit, vec![], vec![]),
        ],
    );
    let errors = Policy::compile(&d).unwrap_err();
    let places: Vec<Place> = errors.iter().map(|e| e.place.clone()).collect();
    assert_eq!(
        places,
        vec![
            Place::AsPathList("BROKEN".into()),
            Place::RouteMap {
                name: "M".into(),
                index: 1,
                seq: 20
            },
            Place::RouteMap {
                name: "M".into(),
                index: 2,
                seq: 20
            },
        ],
        "{errors:?}"
    );
    assert_eq!(
        errors[1].to_string(),
        "route-map 'M' entry 20: AS-path list 'MISSING' is not defined"
    );
}

/// A memo gives what a plain run gives, for routes that share attribute
/// sets and for maps that go on after a permit.
#[test]
fn a_memo_changes_no_result() {
    let mut e10 = entry(
        10,
        Permit,
        vec![MatchDef::AsPath("FROM_64500".into())],
        vec![plain(Set::LocalPref(150))],
    );
    e10.on_match = OnMatch::Next;
    let e20 = entry(
        20,
        Deny,
        vec![MatchDef::Community {
            list: "BLACKHOLE".into(),
            exact: false,
        }],
        vec![],
    );
    let e30 = entry(
        30,
        Permit,
        vec![MatchDef::PrefixList("CUSTOMERS".into())],
        vec![plain(Set::Med(MedSet::Value(5)))],
    );
    let e40 = entry(
        40,
        Permit,
        vec![MatchDef::Plain(Match::LocalPref(150..=150))],
        vec![],
    );
    let pol = compile(vec![("M", vec![e10, e20, e30, e40])]);
    let map = pol.route_map("M").unwrap();
    let sets = [
        attrs(&[64500, 1], vec![]),
        attrs(&[64501, 1], vec![]),
        attrs(&[64500], vec![AttrValue::Communities(vec![c(64496, 666)])]),
    ];
    let prefixes = [
        "198.51.100.0/24",
        "198.51.101.0/24",
        "203.0.113.0/24",
        "198.51.100.0/23",
    ];
    let mut memo = route_map::Memo::default();
    for _ in 0..2 {
        for a in &sets {
            for pfx in prefixes {
                let prefix = p(pfx);
                let r = Route {
                    family: Family::IPV4_UNICAST,
                    prefix: &prefix,
                    attrs: a,
                    neighbor: NEIGHBOR,
                    local_as: LOCAL_AS,
                    direction: Direction::Import,
                };
                let plain_run = map.apply(&r);
                let memo_run = map.apply_with(&r, &mut memo);
                assert_eq!(plain_run, memo_run, "{pfx} {a:?}");
            }
        }
    }
    // The results of one set are one `Arc` while the memo holds them.
    let prefix = p("203.0.113.0/24");
    let other = p("192.0.2.0/24");
    let run = |pfx: &Prefix, memo: &mut route_map::Memo| match map.apply_with(
        &Route {
            family: Family::IPV4_UNICAST,
            prefix: pfx,
            attrs: &sets[0],
            neighbor: NEIGHBOR,
            local_as: LOCAL_AS,
            direction: Direction::Import,
        },
        memo,
    ) {
        Verdict::Permit(p) => p.attrs,
        Verdict::Deny => panic!("denied"),
    };
    assert!(Arc::ptr_eq(
        &run(&prefix, &mut memo),
        &run(&other, &mut memo)
    ));
    assert!(!memo.is_empty());
}

mod set_properties {
    //! Each set action against a model of what it must do.
    use super::*;
    use proptest::prelude::*;

    fn run_sets(sets: Vec<Set>, a: &Arc<PathAttributes>) -> Arc<PathAttributes> {
        let mut d = base();
        d.route_maps.insert(
            "S".into(),
            vec![entry(
                10,
                Permit,
                vec![],
                sets.into_iter().map(plain).collect(),
            )],
        );
        let pol = Policy::compile(&d).unwrap();
        permitted(run(&pol, "S", "203.0.113.0/24", a)).attrs
    }

    fn with_path_and_comms(path: &[u32], comms: &[u32], med: Option<u32>) -> Arc<PathAttributes> {
        let mut extra = vec![];
        if !comms.is_empty() {
            extra.push(AttrValue::Communities(
                comms.iter().map(|c| Community(*c)).collect(),
            ));
        }
        if let Some(m) = med {
            extra.push(AttrValue::MultiExitDisc(m));
        }
        attrs(path, extra)
    }

    proptest! {
        #[test]
        fn med_arithmetic(med in proptest::option::of(any::<u32>()), n in any::<u32>(), op in 0u8..3) {
            let a = with_path_and_comms(&[1], &[], med);
            let (set, want) = match op {
                0 => (MedSet::Value(n), n),
                1 => (MedSet::Add(n), med.unwrap_or(0).saturating_add(n)),
                _ => (MedSet::Subtract(n), med.unwrap_or(0).saturating_sub(n)),
            };
            let got = run_sets(vec![Set::Med(set)], &a);
            prop_assert_eq!(got.med(), Some(&want));
        }

        #[test]
        fn prepend_and_exclude(
            path in prop::collection::vec(1u32..20, 0..8),
            pre in prop::collection::vec(1u32..20, 1..4),
            own in 1u8..4,
            gone in prop::collection::vec(1u32..20, 1..3),
        ) {
            let a = with_path_and_comms(&path, &[], None);
            let got = run_sets(vec![Set::Prepend(Prepend::Asns(pre.clone()))], &a);
            let want: Vec<u32> = pre.iter().chain(&path).copied().collect();
            prop_assert_eq!(got.as_path().unwrap(), &AsPath::sequence(want));
            let got = run_sets(vec![Set::Prepend(Prepend::Own(own))], &a);
            let want: Vec<u32> = std::iter::repeat_n(LOCAL_AS, own.into()).chain(path.iter().copied()).collect();
            prop_assert_eq!(got.as_path().unwrap(), &AsPath::sequence(want));
            let got = run_sets(vec![Set::Exclude(gone.clone())], &a);
            let want: Vec<u32> = path.iter().copied().filter(|x| !gone.contains(x)).collect();
            prop_assert_eq!(got.as_path().unwrap(), &AsPath::sequence(want));
        }

        #[test]
        fn communities_add_replace_remove(
            // 0:0 left out: a list naming it (`internet`) names them all.
            have in prop::collection::vec(1u32..12, 0..6),
            add in prop::collection::vec(1u32..12, 0..4),
            replace in prop::collection::vec(1u32..12, 0..4),
        ) {
            let mut uniq = have.clone();
            uniq.dedup();
            let a = with_path_and_comms(&[1], &uniq, None);
            // Add: what was there, in order, then the new ones once each.
            let got = run_sets(
                vec![Set::CommunityAdd(CommunityValues::Standard(add.iter().map(|c| Community(*c)).collect()))],
                &a,
            );
            let mut want: Vec<Community> = uniq.iter().map(|c| Community(*c)).collect();
            for c in &add {
                if !want.contains(&Community(*c)) {
                    want.push(Community(*c));
                }
            }
            prop_assert_eq!(got.communities().cloned().unwrap_or_default(), want);
            // Replace: exactly the given ones; none removes the attribute.
            let given: Vec<Community> = replace.iter().map(|c| Community(*c)).collect();
            let got = run_sets(vec![Set::CommunityReplace(CommunityValues::Standard(given.clone()))], &a);
            prop_assert_eq!(got.communities().cloned(), (!given.is_empty()).then_some(given));
            // Remove through a list of values: each listed value goes.
            let mut d = base();
            d.community_lists.insert(
                "GONE".into(),
                (
                    CommunityKind::Standard,
                    replace
                        .iter()
                        .map(|c| (Permit, EntryDef::Values(Values::Standard(vec![Community(*c)]))))
                        .collect(),
                ),
            );
            d.route_maps.insert(
                "R".into(),
                vec![entry(10, Permit, vec![], vec![SetDef::CommunityRemove("GONE".into())])],
            );
            let pol = Policy::compile(&d).unwrap();
            let got = permitted(run(&pol, "R", "203.0.113.0/24", &a)).attrs;
            let want: Vec<Community> = uniq
                .iter()
                .filter(|c| !replace.contains(c))
                .map(|c| Community(*c))
                .collect();
            prop_assert_eq!(got.communities().cloned(), (!want.is_empty()).then_some(want));
        }
    }
}

#[test]
fn received_routes_keep_the_last_announcement_of_each_path_until_withdrawn() {
    use crate::policy::received::{REPLAY_CHUNK, ReceivedRoutes};
    use crate::rib::{PeerId, RibCommand};
    use crate::wire::{Family, NlriEntry};
    let a = Arc::new(PathAttributes::default());
    let mut b = PathAttributes::default();
    b.set_weight(1);
    let b = Arc::new(b);
    let e = |p: &str| NlriEntry::plain(p.parse().unwrap());
    let mut r = ReceivedRoutes::default();
    r.record(&RibCommand::Routes {
        peer: PeerId(1),
        withdrawn: vec![],
        announced: vec![
            (Family::IPV4_UNICAST, e("198.51.100.0/24"), a.clone()),
            (Family::IPV4_UNICAST, e("203.0.113.0/24"), a.clone()),
        ],
    });
    r.record(&RibCommand::Routes {
        peer: PeerId(1),
        withdrawn: vec![(Family::IPV4_UNICAST, e("198.51.100.0/24"))],
        announced: vec![(Family::IPV4_UNICAST, e("203.0.113.0/24"), b.clone())],
    });
    r.record(&RibCommand::EndOfRib {
        peer: PeerId(1),
        family: Family::IPV4_UNICAST,
    });
    assert_eq!(r.len(), 1);
    let replay = r.replay(PeerId(1));
    assert_eq!(
        replay,
        vec![RibCommand::Routes {
            peer: PeerId(1),
            withdrawn: vec![],
            announced: vec![(Family::IPV4_UNICAST, e("203.0.113.0/24"), b)],
        }]
    );
    // Many paths: chunks of a usual log entry's size, every path once.
    let many: Vec<_> = (0..REPLAY_CHUNK as u32 + 10)
        .map(|i| {
            let p = format!("10.{}.{}.0/24", i >> 8 & 0xff, i & 0xff);
            (Family::IPV4_UNICAST, e(&p), a.clone())
        })
        .collect();
    r.record(&RibCommand::Routes {
        peer: PeerId(1),
        withdrawn: vec![],
        announced: many,
    });
    let replay = r.replay(PeerId(1));
    assert_eq!(replay.len(), 2);
    assert_eq!(
        replay.iter().map(RibCommand::paths).sum::<usize>(),
        REPLAY_CHUNK + 11
    );
    r.clear();
    assert!(r.is_empty());
}
