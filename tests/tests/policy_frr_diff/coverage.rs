//! Evidence that the policy did something everywhere it should.

use crate::view::View;

/// Routes of a view whose attribute `field` satisfies `f`.
fn count(v: &View, field: &str, f: impl Fn(&str) -> bool) -> usize {
    v.values()
        .filter(|a| a.get(field).is_some_and(|x| f(x)))
        .count()
}

/// The policy did something everywhere it should: every marker and
/// every set shows on some routes (of Reflex's views, which equal FRR's
/// once the comparison passes).
pub fn coverage(ibgp: &View, ebgp: &View) -> Vec<(&'static str, usize)> {
    let has = |c: &'static str| move |x: &str| x.split(' ').any(|v| v == c);
    vec![
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
    ]
}
