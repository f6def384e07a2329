//! The policy sections: what they compile to, and each problem at its key
//! and line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::tests::{errors, has_error, ok, one_error, with_base};
use speaker::policy::{Action, CommunityKind, Match, MedSet, NextHopSet, OnMatch, Prepend, Set};

const LISTS: &str = r#"
[prefix-list.CUSTOMERS]
entries = [
  { seq = 5, action = "permit", prefix = "198.51.100.0/22", le = 24 },
  { seq = 10, action = "deny", prefix = "0.0.0.0/0", le = 32 },
]

[as-path-list.FROM_64500]
entries = [ { action = "permit", regex = "^64500_" } ]

[community-list.BLACKHOLE]
entries = [ { action = "permit", values = ["64496:666", "no-export"] } ]

[community-list.TAGS]
kind = "large"
entries = [ { action = "permit", regex = "^64496:1:.*" } ]
"#;

#[test]
fn a_full_policy_compiles() {
    let c = ok(&with_base(&format!(
        r#"{LISTS}
[[route-map.IMPORT]]
seq = 10
action = "deny"
match = {{ community = "BLACKHOLE" }}

[[route-map.IMPORT]]
seq = 20
action = "permit"
on-match = "next"
match = {{ prefix-list = "CUSTOMERS", as-path = "FROM_64500", med = "0-100", origin-as = ["64500", "64510-64520"] }}
set = {{ local-pref = 200, med = "+10", prepend = 2, community-add = ["64496:1"], large-community-remove = "TAGS" }}

[[route-map.IMPORT]]
action = "permit"
set = {{ next-hop = "self", exclude = [64666], prepend = [65001, 65002] }}

[[neighbor]]
address = "198.18.0.2"
remote-as = 65001
import = "IMPORT"
export = "IMPORT"
"#
    )));
    let m = c.policy.route_map("IMPORT").unwrap();
    let e = &m.entries;
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].action, Action::Deny);
    assert_eq!(e[1].on_match, OnMatch::Next);
    assert_eq!(e[1].matches.len(), 4);
    match &e[1].matches[0] {
        Match::PrefixList(l) => assert_eq!(l.entries().len(), 2),
        other => panic!("{other:?}"),
    }
    assert!(e[1].sets.contains(&Set::Med(MedSet::Add(10))));
    assert!(e[1].sets.contains(&Set::Prepend(Prepend::Own(2))));
    assert!(
        e[1].sets
            .iter()
            .any(|s| matches!(s, Set::CommunityRemove(l) if l.kind() == CommunityKind::Large))
    );
    // Without seq: its place times ten.
    assert_eq!(e[2].seq, 30);
    assert!(e[2].sets.contains(&Set::NextHop(NextHopSet::SelfAddress)));
    assert!(c.ebgp_requires_policy);
    let n = &c.neighbors[0];
    assert_eq!(n.import.as_deref(), Some("IMPORT"));
    assert_eq!(n.export.as_deref(), Some("IMPORT"));
}

#[test]
fn groups_pass_their_policy_on() {
    let c = ok(&with_base(
        r#"
[[route-map.ALL]]
action = "permit"

[group.clients]
remote-as = 65000
import = "ALL"

[[neighbor]]
address = "198.18.0.2"
group = "clients"
"#,
    ));
    assert_eq!(c.neighbors[0].import.as_deref(), Some("ALL"));
    assert_eq!(c.neighbors[0].export, None);
}

#[test]
fn an_unknown_route_map() {
    one_error(
        &with_base(
            r#"
[[neighbor]]
address = "198.18.0.2"
remote-as = 65001
import = "NOPE"
"#,
        ),
        7,
        "neighbor[0].import",
        "unknown route-map `NOPE` (route-maps: none defined)",
    );
}

#[test]
fn an_unknown_list_is_reported_at_the_entry() {
    one_error(
        &with_base(
            r#"
[[route-map.M]]
action = "permit"

[[route-map.M]]
action = "permit"
match = { prefix-list = "NOPE" }
"#,
        ),
        7,
        "route-map.M[1]",
        "route-map 'M' entry 20: prefix list 'NOPE' is not defined",
    );
}

#[test]
fn bad_values_each_at_their_key() {
    let e = errors(&with_base(
        r#"
[prefix-list.P]
entries = [
  { action = "permit", prefix = "10.0.0.0/8", ge = 4 },
  { action = "allow", prefix = "10.0.0.0/33" },
]

[as-path-list.A]
entries = [ { action = "permit", regex = "(" } ]

[community-list.C]
entries = [ { action = "permit", values = ["65536:1"] }, { action = "permit" } ]

[[route-map.M]]
action = "permit"
on-match = "later"
set = { med = "x1", next-hop = "nowhere", prepend = 0 }
"#,
    ));
    has_error(
        &e,
        7,
        "prefix-list.P.entries[1].action",
        "`allow` is not an action",
    );
    has_error(
        &e,
        7,
        "prefix-list.P.entries[1].prefix",
        "`10.0.0.0/33` is not a prefix",
    );
    has_error(
        &e,
        14,
        "community-list.C.entries[0].values[0]",
        "`65536:1` is not a community",
    );
    has_error(
        &e,
        14,
        "community-list.C.entries[1]",
        "write either `values` or `regex`",
    );
    has_error(
        &e,
        18,
        "route-map.M[0].on-match",
        "`later` is not an on-match",
    );
    has_error(&e, 19, "route-map.M[0].set.med", "`x1` is not a MED");
    has_error(
        &e,
        19,
        "route-map.M[0].set.next-hop",
        "`nowhere` is not a next hop",
    );
    has_error(
        &e,
        19,
        "route-map.M[0].set.prepend",
        "`0` is not a count of our AS",
    );
    assert_eq!(e.len(), 8, "{e:#?}");
}

#[test]
fn what_only_the_whole_shows_is_reported_at_its_list() {
    let e = errors(&with_base(
        r#"
[prefix-list.P]
entries = [ { action = "permit", prefix = "10.0.0.0/8", ge = 4 } ]

[as-path-list.A]
entries = [ { action = "permit", regex = "(" } ]

[[route-map.M]]
seq = 20
action = "permit"
on-match = "goto 10"
"#,
    ));
    has_error(
        &e,
        4,
        "prefix-list.P",
        "impossible length range for 10.0.0.0/8",
    );
    has_error(&e, 7, "as-path-list.A", "bad regular expression '('");
    has_error(&e, 10, "route-map.M[0]", "does not go forward");
    assert_eq!(e.len(), 3, "{e:#?}");
}

#[test]
fn weight_is_for_import_route_maps() {
    let c = ok(&with_base(
        r#"
[[route-map.M]]
action = "permit"
set = { weight = 5 }

[[neighbor]]
address = "198.18.0.2"
remote-as = 65001
import = "M"
"#,
    ));
    let m = c.policy.route_map("M").unwrap();
    assert_eq!(m.entries[0].sets, vec![Set::Weight(5)]);
    one_error(
        &with_base(
            r#"
[[route-map.M]]
action = "permit"
set = { weight = 5 }

[[neighbor]]
address = "198.18.0.2"
remote-as = 65001
export = "M"
"#,
        ),
        11,
        "neighbor[0].export",
        "means nothing on export",
    );
    one_error(
        &with_base("[[route-map.M]]\naction = \"permit\"\nset = { weight = -1 }\n"),
        5,
        "route-map.M[0].set.weight",
        "",
    );
}

#[test]
fn rfc8212_can_be_turned_off() {
    assert!(!ok(&with_base("ebgp-requires-policy = false\n")).ebgp_requires_policy);
}

#[test]
fn an_export_route_map_cannot_match_the_neighbour() {
    let source = with_base(
        r#"
[[route-map.BY_PEER]]
action = "permit"
match = { neighbor = ["198.18.0.2"] }

[[neighbor]]
address = "198.18.0.2"
remote-as = 65000
import = "BY_PEER"
export = "BY_PEER"
"#,
    );
    one_error(&source, 12, "neighbor[0].export", "matches `neighbor`");
}

/// The replicated policy's text reads back to the same policy: every
/// list kind, match and set of the reference configuration.
#[test]
fn the_policy_text_compiles_to_the_same_policy() {
    let c = ok(&with_base(&format!(
        r#"{LISTS}
[community-list.RT]
kind = "extended"
entries = [ {{ action = "deny", regex = "^rt 64496:9$" }}, {{ action = "permit", values = ["rt:64496:1"] }} ]

[[route-map.IN]]
seq = 10
action = "deny"
match = {{ community = "BLACKHOLE", community-exact = true }}

[[route-map.IN]]
seq = 20
action = "permit"
on-match = "goto 40"
match = {{ prefix-list = "CUSTOMERS", as-path = "FROM_64500", med = "0-100", origin-as = ["64500", "64510-64520"], origin = "igp", local-pref = "100-200", next-hop = ["198.18.0.9"] }}
set = {{ local-pref = 200, med = "-10", origin = "incomplete", prepend = 2, community-replace = ["64496:1"], ext-community-add = ["rt:64496:2"], large-community-remove = "TAGS" }}

[[route-map.IN]]
seq = 30
action = "permit"
set = {{ next-hop = "198.18.0.1" }}

[[route-map.IN]]
seq = 40
action = "permit"
match = {{ community = "RT" }}
set = {{ next-hop = "self", exclude = [64666], prepend = [65001, 65002], large-community-add = ["64496:1:2"] }}
"#
    )));
    assert_eq!(c.policy.route_map("IN").unwrap().entries.len(), 4);
    assert!(c.policy_text.contains("[[route-map."), "{}", c.policy_text);
    let back = crate::config::compile_policy_text(&c.policy_text).unwrap();
    assert_eq!(back, c.policy);
    // No policy: an empty text, which compiles to none.
    let empty = crate::config::parse(
        "router-id = \"198.18.0.1\"\nlocal-as = 65000\n",
        std::path::Path::new("x.toml"),
    )
    .unwrap();
    assert_eq!(empty.policy_text, "");
    assert_eq!(
        crate::config::compile_policy_text("").unwrap(),
        speaker::policy::Policy::default()
    );
    // A bad text says what is wrong.
    let e =
        crate::config::compile_policy_text("[[route-map.X]]\naction = \"perhaps\"\n").unwrap_err();
    assert!(e.contains("perhaps"), "{e}");
}

#[test]
fn soft_reconfiguration_per_neighbour_or_group() {
    let c = ok(&with_base(
        r#"
[group.KEEP]
soft-reconfiguration = true

[[neighbor]]
address = "198.18.0.2"
remote-as = 65001
group = "KEEP"

[[neighbor]]
address = "198.18.0.3"
remote-as = 65001
"#,
    ));
    assert!(c.neighbors[0].soft_reconfiguration);
    assert!(!c.neighbors[1].soft_reconfiguration);
}
