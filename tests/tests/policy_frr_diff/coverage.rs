//! Evidence that the policy did something everywhere it should.

use crate::view::View;

/// Routes of a view whose attribute `field` satisfies `f`.
fn count(v: &View, field: &str, f: impl Fn(&str) -> bool) -> usize {
    v.values()
        .filter(|a| a.get(field).is_some_and(|x| f(x)))
        .count()
}

/// Whether the space-separated `list` holds `c`.
fn holds(list: &str, c: &str) -> bool {
    list.split(' ').any(|v| v == c)
}

/// The policy did something everywhere it should: every marker and
/// every set shows on some routes (of Reflex's views, in the order of
/// [`crate::round::VIEWS`], which equal FRR's once the comparison passes).
pub fn coverage(views: &[View]) -> Vec<(&'static str, usize)> {
    let [ibgp, ebgp, ibgp6, ebgp6] = views else {
        panic!("four views expected, got {}", views.len());
    };
    let has = |c: &'static str| move |x: &str| holds(x, c);
    // Decorated by IN 1/2 (no-peer stays), and what removal left.
    let decorated_clean = |v: &View| {
        v.values()
            .filter(|a| {
                a.get("communities").is_some_and(|c| {
                    holds(c, "no-peer")
                        && !holds(c, "3356:10")
                        && !holds(c, "65000:7")
                        && !holds(c, "route-filter-v6")
                })
            })
            .count()
    };
    let large_removed = |v: &View| {
        count(v, "large_communities", |x| {
            holds(x, "65000:9:2") && !holds(x, "65000:9:1") && !holds(x, "1:2:3")
        })
    };
    let mut out = vec![
        (
            "ibgp: 65000:4:3 (IN 3: ^3356: over the sorted text)",
            count(ibgp, "large_communities", has("65000:4:3")),
        ),
        (
            "ibgp6: 65000:4:3 (IN 3: ^3356: over the sorted text)",
            count(ibgp6, "large_communities", has("65000:4:3")),
        ),
        (
            "ibgp: 65000:4:4 (IN 4: _no-peer_, a well-known name)",
            count(ibgp, "large_communities", has("65000:4:4")),
        ),
        (
            "ibgp6: 65000:4:4 (IN 4: _no-peer_, a well-known name)",
            count(ibgp6, "large_communities", has("65000:4:4")),
        ),
        (
            "ibgp: 3356:10, 65000:7 removed by one entry of both; route-filter-v6 by name (IN 5, 7)",
            decorated_clean(ibgp),
        ),
        (
            "ibgp6: 3356:10, 65000:7 removed by one entry of both; route-filter-v6 by name (IN 5, 7)",
            decorated_clean(ibgp6),
        ),
        (
            "ibgp: 65000:9:1, 1:2:3 removed by one entry of both, 65000:9:2 kept (IN 6)",
            large_removed(ibgp),
        ),
        (
            "ibgp6: 65000:9:1, 1:2:3 removed by one entry of both, 65000:9:2 kept (IN 6)",
            large_removed(ibgp6),
        ),
        (
            "ibgp: 65000:4:8 (IN 8: exact-match over an expression)",
            count(ibgp, "large_communities", has("65000:4:8")),
        ),
        (
            "ibgp6: 65000:4:8 (IN 8: exact-match over an expression)",
            count(ibgp6, "large_communities", has("65000:4:8")),
        ),
        (
            "ibgp: 65000:4:9 (IN 9: exact-match over values)",
            count(ibgp, "large_communities", has("65000:4:9")),
        ),
        (
            "ibgp6: 65000:4:9 (IN 9: exact-match over values)",
            count(ibgp6, "large_communities", has("65000:4:9")),
        ),
        (
            "ibgp: MED 4294967195 (4294967290 +10 saturates at 4294967295, -100)",
            count(ibgp, "med", |x| x == "4294967195"),
        ),
        (
            "ibgp6: MED 0 (25 +10 -100 saturates at 0)",
            count(ibgp6, "med", |x| x == "0"),
        ),
        (
            "ibgp: soo:65000:8 (IN 1)",
            count(ibgp, "ext_communities", has("soo:65000:8")),
        ),
        (
            "ibgp: our AS prepended on import, kept (IN 85: no AS-path loop)",
            count(ibgp, "as_path", |x| x.starts_with("65000 65001 ")),
        ),
        (
            "ibgp6: our AS prepended on import, kept (IN 86: no AS-path loop)",
            count(ibgp6, "as_path", |x| x.starts_with("65000 65001 ")),
        ),
        (
            "ebgp6: our AS prepended on import and on export (IN 86)",
            count(ebgp6, "as_path", |x| x.starts_with("65000 65000 65001 ")),
        ),
        (
            "ibgp: 65000:95 kept by Reflex (OUT_IBGP 95, no later entry matched)",
            count(ibgp, "communities", has("65000:95")),
        ),
        (
            "ibgp6: 65000:2:100 (OUT_IBGP 100 through NOT95: deny one value, permit internet)",
            count(ibgp6, "large_communities", has("65000:2:100")),
        ),
    ];
    out.extend(vec![
        (
            "ibgp: local-pref 250 (IN 30, OUT_IBGP 20)",
            count(ibgp, "local_pref", |x| x == "250"),
        ),
        (
            "ibgp: local-pref 60 (OUT_IBGP 60)",
            count(ibgp, "local_pref", |x| x == "60"),
        ),
        ("ibgp: MED 60 (100 - 40)", count(ibgp, "med", |x| x == "60")),
        (
            "ibgp: 64999 prepended (IN 50 egp, OUT_IBGP 30)",
            count(ibgp, "as_path", |x| x.starts_with("64999 64999 65001")),
        ),
        (
            "ibgp: 65001 prepended (IN 80)",
            count(ibgp, "as_path", |x| x.starts_with("65001 65001 65001")),
        ),
        (
            "ibgp: next hop self (OUT_IBGP 40)",
            count(ibgp, "next_hop", |x| x.ends_with(".1")),
        ),
        (
            "ibgp: next hop set (IN 80)",
            count(ibgp, "next_hop", |x| x.ends_with(".9")),
        ),
        (
            "ibgp: 65000:999 replaced (OUT_IBGP 50)",
            count(ibgp, "communities", |x| x == "65000:999"),
        ),
        (
            "ibgp: rt:65000:50 (IN 50)",
            count(ibgp, "ext_communities", has("rt:65000:50")),
        ),
        (
            "ibgp: 65000:2:100 (OUT_IBGP 100)",
            count(ibgp, "large_communities", has("65000:2:100")),
        ),
        (
            "ibgp: 65000:80",
            count(ibgp, "communities", has("65000:80")),
        ),
        (
            "ibgp: no-export (IN 90)",
            count(ibgp, "communities", has("no-export")),
        ),
        (
            "ibgp: 65000:100",
            count(ibgp, "communities", has("65000:100")),
        ),
        ("ibgp: MED 7 (IN 40 +7)", count(ibgp, "med", |x| x == "7")),
        (
            "ibgp: 65000:3:35 (OUT_IBGP 35 match med)",
            count(ibgp, "large_communities", has("65000:3:35")),
        ),
        (
            "ibgp: 65000:3:36 (OUT_IBGP 36 match next-hop)",
            count(ibgp, "large_communities", has("65000:3:36")),
        ),
        (
            "ibgp: no 3856: left (IN 60 community-remove)",
            count(ibgp, "communities", |x| !x.contains("3856:")),
        ),
        (
            "ebgp: no communities (OUT_EBGP 50 community-replace [])",
            ebgp.values()
                .filter(|a| !a.contains_key("communities"))
                .count(),
        ),
        (
            "ebgp: MED 20 (OUT_EBGP 20)",
            count(ebgp, "med", |x| x == "20"),
        ),
        ("ebgp: MED 5 (+5 on none)", count(ebgp, "med", |x| x == "5")),
        (
            "ebgp: 65000 65000 65000 (prepend 2, then ours)",
            count(ebgp, "as_path", |x| {
                x.starts_with("65000 65000 65000 65001")
            }),
        ),
        (
            "ebgp: next hop set (OUT_EBGP 30)",
            count(ebgp, "next_hop", |x| x.ends_with(".9")),
        ),
        (
            "ebgp: next hop unchanged (OUT_EBGP 40)",
            count(ebgp, "next_hop", |x| x.ends_with(".2")),
        ),
        (
            "ebgp: origin incomplete",
            count(ebgp, "origin", |x| x == "incomplete"),
        ),
        (
            "ebgp: 65000:200",
            count(ebgp, "communities", has("65000:200")),
        ),
    ]);
    out
}
