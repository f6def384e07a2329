//! The decision process, one step at a time: pairs of paths that differ
//! only in that step, in both orders (RFC 4271 §9.1.2.2, RFC 4456 §9).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use speaker::rib::decision::{DecisionConfig, DecisionStep, PathRank, decide};
use speaker::wire::PathAttributes;
use speaker::wire::attr::{AsPath, AsSegment, AttrValue, Origin, PathAttribute, SegmentType};
use std::net::{IpAddr, Ipv4Addr};

fn set(values: Vec<AttrValue>) -> PathAttributes {
    PathAttributes::new(values.into_iter().map(PathAttribute::new).collect())
}

fn base(extra: Vec<AttrValue>) -> PathAttributes {
    let mut v = vec![
        AttrValue::Origin(Origin::Igp),
        AttrValue::AsPath(AsPath::sequence(vec![65001, 65010])),
        AttrValue::NextHop(Ipv4Addr::new(198, 18, 9, 9)),
    ];
    v.extend(extra);
    set(v)
}

fn rank(attrs: &PathAttributes) -> PathRank<'_> {
    PathRank {
        attrs,
        ebgp: false,
        peer_router_id: Ipv4Addr::new(198, 19, 0, 1),
        peer_address: IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)),
        path_id: None,
        igp_cost: Some(0),
    }
}

/// `better` wins over `worse` at `step`, whichever comes first.
fn check(better: PathRank<'_>, worse: PathRank<'_>, step: DecisionStep, config: DecisionConfig) {
    let d = decide(&[better, worse], &config).unwrap();
    assert_eq!((d.best, d.step, d.runner_up), (0, step, Some(1)));
    let d = decide(&[worse, better], &config).unwrap();
    assert_eq!((d.best, d.step, d.runner_up), (1, step, Some(0)));
}

fn std_check(better: PathRank<'_>, worse: PathRank<'_>, step: DecisionStep) {
    check(better, worse, step, DecisionConfig::default());
}

#[test]
fn only_path() {
    let a = base(vec![]);
    let d = decide(&[rank(&a)], &DecisionConfig::default()).unwrap();
    assert_eq!(
        (d.best, d.step, d.runner_up),
        (0, DecisionStep::OnlyPath, None)
    );
    assert!(decide(&[], &DecisionConfig::default()).is_none());
}

#[test]
fn unresolvable_next_hop_loses_and_alone_is_no_best() {
    let a = base(vec![AttrValue::LocalPref(50)]);
    let b = base(vec![AttrValue::LocalPref(500)]);
    let mut worse = rank(&b);
    worse.igp_cost = None;
    std_check(rank(&a), worse, DecisionStep::NextHopResolvable);
    assert!(decide(&[worse], &DecisionConfig::default()).is_none());
}

#[test]
fn highest_weight_before_local_pref() {
    let mut a = base(vec![AttrValue::LocalPref(50)]);
    a.set_weight(10);
    let b = base(vec![AttrValue::LocalPref(500)]);
    // Absent counts as 0.
    std_check(rank(&a), rank(&b), DecisionStep::Weight);
    let mut c = base(vec![]);
    c.set_weight(11);
    std_check(rank(&c), rank(&a), DecisionStep::Weight);
    assert_eq!(c.weight(), Some(11));
    // Equal weights: on to LOCAL_PREF.
    let mut d = base(vec![AttrValue::LocalPref(200)]);
    d.set_weight(11);
    std_check(rank(&d), rank(&c), DecisionStep::LocalPref);
}

#[test]
fn highest_local_pref() {
    let a = base(vec![AttrValue::LocalPref(200)]);
    let b = base(vec![AttrValue::LocalPref(150)]);
    std_check(rank(&a), rank(&b), DecisionStep::LocalPref);
    // Absent counts as 100.
    let c = base(vec![]);
    let d = base(vec![AttrValue::LocalPref(99)]);
    std_check(rank(&c), rank(&d), DecisionStep::LocalPref);
    let e = base(vec![AttrValue::LocalPref(101)]);
    std_check(rank(&e), rank(&c), DecisionStep::LocalPref);
}

#[test]
fn shortest_as_path() {
    let short = set(vec![
        AttrValue::Origin(Origin::Igp),
        AttrValue::AsPath(AsPath::sequence(vec![65001])),
    ]);
    let long = base(vec![]);
    std_check(rank(&short), rank(&long), DecisionStep::AsPathLength);
}

#[test]
fn as_set_counts_one_and_confederation_zero() {
    // 65001 {1,2,3} = 2; 65001 65002 65003 = 3.
    let with_set = set(vec![
        AttrValue::Origin(Origin::Igp),
        AttrValue::AsPath(AsPath::from_segments([
            AsSegment {
                kind: SegmentType::Sequence,
                asns: vec![65001],
            },
            AsSegment {
                kind: SegmentType::Set,
                asns: vec![1, 2, 3],
            },
        ])),
    ]);
    let seq3 = set(vec![
        AttrValue::Origin(Origin::Igp),
        AttrValue::AsPath(AsPath::sequence(vec![65001, 65002, 65003])),
    ]);
    std_check(rank(&with_set), rank(&seq3), DecisionStep::AsPathLength);
    // (64512 64513) 65001 65010 = 2, equal to 65001 65010: decided later.
    let confed = set(vec![
        AttrValue::Origin(Origin::Igp),
        AttrValue::AsPath(AsPath::from_segments([
            AsSegment {
                kind: SegmentType::ConfedSequence,
                asns: vec![64512, 64513],
            },
            AsSegment {
                kind: SegmentType::Sequence,
                asns: vec![65001, 65010],
            },
        ])),
        AttrValue::NextHop(Ipv4Addr::new(198, 18, 9, 9)),
    ]);
    let plain = base(vec![]);
    let mut b = rank(&plain);
    b.peer_router_id = Ipv4Addr::new(198, 19, 0, 2);
    std_check(rank(&confed), b, DecisionStep::RouterId);
}

#[test]
fn lowest_origin() {
    let igp = base(vec![]);
    let mut egp = base(vec![]);
    egp.set(PathAttribute::new(AttrValue::Origin(Origin::Egp)));
    let mut incomplete = base(vec![]);
    incomplete.set(PathAttribute::new(AttrValue::Origin(Origin::Incomplete)));
    std_check(rank(&igp), rank(&egp), DecisionStep::Origin);
    std_check(rank(&egp), rank(&incomplete), DecisionStep::Origin);
}

#[test]
fn med_within_the_same_neighbour_as() {
    let low = base(vec![AttrValue::MultiExitDisc(10)]);
    let high = base(vec![AttrValue::MultiExitDisc(20)]);
    std_check(rank(&low), rank(&high), DecisionStep::Med);
    // Absent MED is 0, the best.
    let absent = base(vec![]);
    std_check(rank(&absent), rank(&low), DecisionStep::Med);
}

#[test]
fn med_ignored_across_neighbour_ases_unless_always_compare() {
    let from_a = base(vec![AttrValue::MultiExitDisc(50)]);
    let mut from_b = base(vec![AttrValue::MultiExitDisc(10)]);
    from_b.set(PathAttribute::new(AttrValue::AsPath(AsPath::sequence(
        vec![65002, 65010],
    ))));
    // Different neighbour AS: MED not compared; router id decides.
    let a = rank(&from_a);
    let mut b = rank(&from_b);
    b.peer_router_id = Ipv4Addr::new(198, 19, 0, 2);
    std_check(a, b, DecisionStep::RouterId);
    // Always-compare: the lower MED wins.
    check(
        b,
        a,
        DecisionStep::Med,
        DecisionConfig {
            always_compare_med: true,
            ..DecisionConfig::default()
        },
    );
}

#[test]
fn med_elimination_does_not_depend_on_order() {
    // The classic non-transitive triple: A (AS1, MED 10), B (AS1, MED 20),
    // C (AS2, MED 15). RFC 4271: B is removed by A; then A vs C by router
    // id. Every order must give the same best.
    let a = base(vec![AttrValue::MultiExitDisc(10)]);
    let b = base(vec![AttrValue::MultiExitDisc(20)]);
    let mut c = base(vec![AttrValue::MultiExitDisc(15)]);
    c.set(PathAttribute::new(AttrValue::AsPath(AsPath::sequence(
        vec![65002, 65010],
    ))));
    let mut ra = rank(&a);
    ra.peer_router_id = Ipv4Addr::new(198, 19, 0, 3);
    let mut rb = rank(&b);
    rb.peer_router_id = Ipv4Addr::new(198, 19, 0, 1);
    let mut rc = rank(&c);
    rc.peer_router_id = Ipv4Addr::new(198, 19, 0, 2);
    let paths = [ra, rb, rc];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for o in orders {
        let v: Vec<_> = o.iter().map(|&i| paths[i]).collect();
        let d = decide(&v, &DecisionConfig::default()).unwrap();
        assert_eq!(o[d.best], 2, "order {o:?}");
        assert_eq!(d.step, DecisionStep::RouterId);
    }
}

#[test]
fn ebgp_over_ibgp() {
    let a = base(vec![]);
    let mut e = rank(&a);
    e.ebgp = true;
    e.peer_router_id = Ipv4Addr::new(198, 19, 0, 9);
    std_check(e, rank(&a), DecisionStep::EbgpOverIbgp);
}

#[test]
fn lowest_igp_cost() {
    let a = base(vec![]);
    let mut near = rank(&a);
    near.igp_cost = Some(5);
    near.peer_router_id = Ipv4Addr::new(198, 19, 0, 9);
    let mut far = rank(&a);
    far.igp_cost = Some(6);
    std_check(near, far, DecisionStep::IgpCost);
}

#[test]
fn lowest_router_id() {
    let a = base(vec![]);
    let mut low = rank(&a);
    low.peer_router_id = Ipv4Addr::new(198, 19, 0, 1);
    low.peer_address = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 200));
    let mut high = rank(&a);
    high.peer_router_id = Ipv4Addr::new(198, 19, 0, 2);
    std_check(low, high, DecisionStep::RouterId);
}

#[test]
fn originator_id_replaces_router_id() {
    // Peer 1 has the lower router id, but its path carries ORIGINATOR_ID
    // 198.19.9.9, higher than peer 2's router id (RFC 4456 §9).
    let reflected = base(vec![AttrValue::OriginatorId(Ipv4Addr::new(198, 19, 9, 9))]);
    let direct = base(vec![]);
    let mut r = rank(&reflected);
    r.peer_router_id = Ipv4Addr::new(198, 19, 0, 1);
    let mut d = rank(&direct);
    d.peer_router_id = Ipv4Addr::new(198, 19, 0, 2);
    d.peer_address = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 200));
    std_check(d, r, DecisionStep::RouterId);
}

#[test]
fn shortest_cluster_list() {
    let o = AttrValue::OriginatorId(Ipv4Addr::new(198, 19, 9, 9));
    let one = base(vec![
        o.clone(),
        AttrValue::ClusterList(vec![Ipv4Addr::new(1, 1, 1, 1)]),
    ]);
    let two = base(vec![
        o,
        AttrValue::ClusterList(vec![Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2)]),
    ]);
    let mut a = rank(&one);
    a.peer_address = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 200));
    std_check(a, rank(&two), DecisionStep::ClusterListLength);
}

#[test]
fn lowest_peer_address() {
    let a = base(vec![]);
    let low = rank(&a);
    let mut high = rank(&a);
    high.peer_address = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 2));
    std_check(low, high, DecisionStep::PeerAddress);
}

#[test]
fn lowest_path_id_last() {
    let a = base(vec![]);
    let mut low = rank(&a);
    low.path_id = Some(1);
    let mut high = rank(&a);
    high.path_id = Some(2);
    std_check(low, high, DecisionStep::PathId);
}

#[test]
fn explanation_names_the_step_that_removed_the_last_competitor() {
    // Three paths: one loses on LOCAL_PREF, the other two tie until MED.
    let lp = base(vec![AttrValue::LocalPref(50)]);
    let med_low = base(vec![AttrValue::MultiExitDisc(1)]);
    let med_high = base(vec![AttrValue::MultiExitDisc(2)]);
    let d = decide(
        &[rank(&lp), rank(&med_high), rank(&med_low)],
        &DecisionConfig::default(),
    )
    .unwrap();
    assert_eq!(d.best, 2);
    assert_eq!(d.step, DecisionStep::Med);
    assert_eq!(d.runner_up, Some(1));
}
