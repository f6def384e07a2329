//! The RIB as a state machine: path lifecycle (withdrawal, session down,
//! graceful restart) and determinism under random command sequences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/rib_util.rs"]
mod util;

use proptest::prelude::*;
use speaker::rib::{GroupId, PeerId, PeerInfo, Resolver, Rib, RibCommand, RibOutput};
use speaker::wire::attr::{AttrValue, Community};
use speaker::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use util::*;

fn lp(v: u32) -> Arc<PathAttributes> {
    attrs(
        &[65100],
        [198, 18, 50, v as u8],
        vec![AttrValue::LocalPref(v)],
    )
}

fn best_peer(rib: &Rib, p: &str) -> Option<u32> {
    let key = speaker::rib::RouteKey::of(Family::IPV4_UNICAST, &NlriEntry::plain(prefix(p)));
    rib.best(&key).map(|c| c.peer.0)
}

#[test]
fn withdrawing_the_best_restores_the_previous_one() {
    let mut rib = rib();
    for p in [client(1), client(2), client(3)] {
        rib.apply(RibCommand::PeerUp(p));
    }
    rib.apply(announce(1, &["203.0.113.0/24"], &lp(100)));
    let out = rib.apply(announce(2, &["203.0.113.0/24"], &lp(200)));
    assert_eq!(out.loc_rib[0].best.as_ref().unwrap().peer, PeerId(2));
    assert_eq!(best_peer(&rib, "203.0.113.0/24"), Some(2));
    let out = rib.apply(withdraw(2, &["203.0.113.0/24"]));
    assert_eq!(out.loc_rib.len(), 1);
    assert_eq!(out.loc_rib[0].best.as_ref().unwrap().peer, PeerId(1));
    assert_eq!(
        sent(&rib, 3, "203.0.113.0/24").unwrap().local_pref(),
        Some(&100)
    );
    // Withdrawing what was never announced changes nothing.
    assert!(rib.apply(withdraw(3, &["203.0.113.0/24"])).is_empty());
}

#[test]
fn peer_down_withdraws_everything() {
    let mut rib = rib();
    for p in [client(1), client(2)] {
        rib.apply(RibCommand::PeerUp(p));
    }
    rib.apply(announce(
        1,
        &["203.0.113.0/24", "198.51.100.0/24"],
        &lp(100),
    ));
    assert_eq!(rib.adj_rib_out_for(PeerId(2)).count(), 2);
    let out = rib.apply(RibCommand::PeerDown { peer: PeerId(1) });
    assert_eq!(out.left.len(), 1);
    assert_eq!(out.loc_rib.len(), 2);
    assert!(out.loc_rib.iter().all(|c| c.best.is_none()));
    let changes = &out.groups[0].changes;
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c.attrs.is_none()));
    assert_eq!(rib.loc_rib_len(), 0);
    assert_eq!(rib.loc_rib().count(), 0);
    assert!(rib.peer(PeerId(1)).is_none());
    assert_eq!(rib.adj_rib_out_for(PeerId(2)).count(), 0);
}

#[test]
fn graceful_restart_keeps_stale_paths_until_end_of_rib_or_timer() {
    let mut rib = rib();
    let mut c1 = client(1);
    c1.families.push(Family::IPV6_UNICAST);
    for p in [c1.clone(), client(2)] {
        rib.apply(RibCommand::PeerUp(p));
    }
    rib.apply(announce(
        1,
        &["203.0.113.0/24", "198.51.100.0/24"],
        &lp(100),
    ));
    let out = rib.apply(RibCommand::PeerDownGraceful { peer: PeerId(1) });
    // Forwarding and advertisements unchanged.
    assert!(out.loc_rib.is_empty() && out.groups.is_empty());
    assert_eq!(rib.loc_rib_len(), 2);
    assert!(rib.adj_rib_in(PeerId(1)).all(|(_, c)| c.stale()));
    // Paths from a session that is down are ignored.
    assert!(
        rib.apply(announce(1, &["192.0.2.0/24"], &lp(100)))
            .is_empty()
    );

    // The peer comes back, re-announces one path, sends End-of-RIB for
    // IPv6 (nothing stale there) and then IPv4: the other path goes.
    rib.apply(RibCommand::PeerUp(c1.clone()));
    rib.apply(announce(1, &["203.0.113.0/24"], &lp(100)));
    assert_eq!(
        rib.adj_rib_in(PeerId(1)).filter(|(_, c)| c.stale()).count(),
        1
    );
    let eor6 = rib.apply(RibCommand::EndOfRib {
        peer: PeerId(1),
        family: Family::IPV6_UNICAST,
    });
    assert!(eor6.loc_rib.is_empty());
    let eor4 = rib.apply(RibCommand::EndOfRib {
        peer: PeerId(1),
        family: Family::IPV4_UNICAST,
    });
    assert_eq!(eor4.loc_rib.len(), 1);
    assert_eq!(rib.loc_rib_len(), 1);
    assert!(sent(&rib, 2, "198.51.100.0/24").is_none());
    assert!(sent(&rib, 2, "203.0.113.0/24").is_some());

    // Down gracefully again, never back: the restart timer drops it all.
    rib.apply(RibCommand::PeerDownGraceful { peer: PeerId(1) });
    assert_eq!(rib.loc_rib_len(), 1);
    let out = rib.apply(RibCommand::RestartExpired { peer: PeerId(1) });
    assert_eq!(out.loc_rib.len(), 1);
    assert_eq!(rib.loc_rib_len(), 0);
    assert!(rib.peer(PeerId(1)).is_none());
}

#[test]
fn a_peer_restarting_with_another_router_id_has_its_stale_paths_exported_anew() {
    let mut rib = rib();
    for p in [client(1), client(2)] {
        rib.apply(RibCommand::PeerUp(p));
    }
    rib.apply(announce(1, &["203.0.113.0/24"], &lp(100)));
    let originator =
        |rib: &Rib| sent(rib, 2, "203.0.113.0/24").and_then(|a| a.originator_id().copied());
    assert_eq!(originator(&rib), Some(router_id(1)));
    rib.apply(RibCommand::PeerDownGraceful { peer: PeerId(1) });

    // Back with another BGP identifier: ORIGINATOR_ID was set from the old
    // one (RFC 4456 §8), so client 2 is sent the path again.
    let mut back = client(1);
    back.router_id = Ipv4Addr::new(198, 19, 9, 9);
    let out = rib.apply(RibCommand::PeerUp(back));
    assert_eq!(originator(&rib), Some(Ipv4Addr::new(198, 19, 9, 9)));
    let to_group: Vec<_> = out.groups.iter().flat_map(|g| &g.changes).collect();
    let last = to_group.last().expect("changes for the group");
    assert_eq!(
        last.attrs.as_ref().and_then(|a| a.originator_id().copied()),
        Some(Ipv4Addr::new(198, 19, 9, 9))
    );
    // Still stale until End-of-RIB.
    assert!(rib.adj_rib_in(PeerId(1)).all(|(_, c)| c.stale()));
    assert_eq!(rib.adj_rib_in_len(PeerId(1)), 1);

    // Back with the same facts: nothing to send.
    rib.apply(RibCommand::PeerDownGraceful { peer: PeerId(1) });
    let mut same = client(1);
    same.router_id = Ipv4Addr::new(198, 19, 9, 9);
    let out = rib.apply(RibCommand::PeerUp(same));
    assert!(out.groups.is_empty(), "{:?}", out.groups);
}

#[test]
fn a_second_peer_up_resets_the_first_session() {
    let mut rib = rib();
    for p in [client(1), client(2)] {
        rib.apply(RibCommand::PeerUp(p));
    }
    rib.apply(announce(1, &["203.0.113.0/24"], &lp(100)));
    let out = rib.apply(RibCommand::PeerUp(client(1)));
    assert_eq!(out.left.len(), 1);
    assert_eq!(out.joined.len(), 1);
    assert_eq!(rib.loc_rib_len(), 0);
}

// ---- random command sequences ----

const PREFIXES: [&str; 5] = [
    "203.0.113.0/24",
    "203.0.113.0/25",
    "198.51.100.0/24",
    "192.0.2.0/24",
    "198.18.128.0/17",
];

fn peers() -> Vec<PeerInfo> {
    let mut ap = client(2);
    ap.add_path_send = vec![Family::IPV4_UNICAST];
    vec![
        client(1),
        ap,
        non_client(3),
        non_client(4),
        ebgp(5, 65001),
        ebgp(6, 65002),
    ]
}

fn pool() -> Vec<Arc<PathAttributes>> {
    vec![
        lp(100),
        lp(200),
        attrs(
            &[65001, 65100],
            [198, 18, 50, 3],
            vec![AttrValue::MultiExitDisc(5)],
        ),
        attrs(
            &[65001, 65200],
            [198, 18, 50, 4],
            vec![AttrValue::MultiExitDisc(1)],
        ),
        attrs(
            &[65002],
            [198, 18, 50, 5],
            vec![communities(&[Community::NO_EXPORT])],
        ),
        attrs(
            &[65100],
            [198, 18, 50, 6],
            vec![AttrValue::OriginatorId(Ipv4Addr::new(198, 51, 100, 9))],
        ),
        // Looped when received over iBGP.
        attrs(
            &[65100],
            [198, 18, 50, 7],
            vec![AttrValue::ClusterList(vec![CLUSTER_ID])],
        ),
        // Looped when received over eBGP.
        attrs(&[65001, LOCAL_AS], [198, 18, 50, 8], vec![]),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Up(usize),
    Routes(usize, Vec<(usize, Option<usize>)>),
    EndOfRib(usize),
    Down(usize),
    DownGraceful(usize),
    Expire(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let peer = 0..6usize;
    prop_oneof![
        2 => peer.clone().prop_map(Op::Up),
        8 => (peer.clone(), prop::collection::vec((0..PREFIXES.len(), prop::option::weighted(0.75, 0..8usize)), 1..6))
            .prop_map(|(p, r)| Op::Routes(p, r)),
        1 => peer.clone().prop_map(Op::EndOfRib),
        1 => peer.clone().prop_map(Op::Down),
        1 => peer.clone().prop_map(Op::DownGraceful),
        1 => peer.prop_map(Op::Expire),
    ]
}

fn command(op: &Op, peers: &[PeerInfo], pool: &[Arc<PathAttributes>]) -> RibCommand {
    let id = |i: usize| peers[i].id;
    match op {
        Op::Up(i) => RibCommand::PeerUp(peers[*i].clone()),
        Op::Routes(i, routes) => {
            let mut withdrawn = Vec::new();
            let mut announced = Vec::new();
            for (p, a) in routes {
                let e = NlriEntry::plain(prefix(PREFIXES[*p]));
                match a {
                    Some(a) => announced.push((Family::IPV4_UNICAST, e, pool[*a].clone())),
                    None => withdrawn.push((Family::IPV4_UNICAST, e)),
                }
            }
            RibCommand::Routes {
                peer: id(*i),
                withdrawn,
                announced,
            }
        }
        Op::EndOfRib(i) => RibCommand::EndOfRib {
            peer: id(*i),
            family: Family::IPV4_UNICAST,
        },
        Op::Down(i) => RibCommand::PeerDown { peer: id(*i) },
        Op::DownGraceful(i) => RibCommand::PeerDownGraceful { peer: id(*i) },
        Op::Expire(i) => RibCommand::RestartExpired { peer: id(*i) },
    }
}

type View = BTreeMap<(Prefix, Option<u32>), Arc<PathAttributes>>;

fn view_of(rib: &Rib, peer: PeerId) -> View {
    rib.adj_rib_out_for(peer)
        .map(|(_, e, a)| ((e.prefix, e.path_id), a.clone()))
        .collect()
}

/// What each peer would hold if the outputs were sent as they say.
#[derive(Default)]
struct Receivers {
    members: BTreeMap<GroupId, BTreeSet<PeerId>>,
    views: BTreeMap<PeerId, View>,
}

impl Receivers {
    fn absorb(&mut self, rib: &Rib, out: &RibOutput) {
        for (peer, g) in &out.left {
            self.members.entry(*g).or_default().remove(peer);
            self.views.remove(peer);
        }
        for g in &out.groups {
            for member in self.members.get(&g.group).into_iter().flatten() {
                let view = self.views.entry(*member).or_default();
                for c in &g.changes {
                    let k = (c.entry.prefix, c.entry.path_id);
                    match &c.attrs {
                        Some(a) if c.except != Some(*member) => {
                            view.insert(k, a.clone());
                        }
                        _ => {
                            view.remove(&k);
                        }
                    }
                }
            }
        }
        for (peer, g) in &out.joined {
            self.members.entry(*g).or_default().insert(*peer);
            self.views.insert(*peer, view_of(rib, *peer));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Two RIBs fed the same commands agree at every step, and the outputs
    /// describe the Adj-RIBs-Out exactly.
    #[test]
    fn same_commands_same_state_and_outputs(ops in prop::collection::vec(op(), 1..60)) {
        let peers = peers();
        let pool = pool();
        let mut a = rib();
        let mut b = rib();
        let mut receivers = Receivers::default();
        for (i, op) in ops.iter().enumerate() {
            if i == ops.len() / 2 {
                // Half way, `b` is rebuilt from a snapshot image of `a`:
                // from there on the two must still agree.
                b = Rib::from_image(config(), Resolver::All, a.image());
                prop_assert!(a.same_state(&b));
            }
            let cmd = command(op, &peers, &pool);
            let out_a = a.apply(cmd.clone());
            let out_b = b.apply(cmd);
            prop_assert_eq!(&out_a, &out_b);
            prop_assert!(a.same_state(&b));
            receivers.absorb(&a, &out_a);
        }
        let la: Vec<_> = a.loc_rib().map(|(k, e)| (*k, e.clone())).collect();
        let lb: Vec<_> = b.loc_rib().map(|(k, e)| (*k, e.clone())).collect();
        prop_assert_eq!(la, lb);
        for p in &peers {
            if a.group_of(p.id).is_some() {
                let got = receivers.views.get(&p.id).cloned().unwrap_or_default();
                prop_assert_eq!(got, view_of(&a, p.id), "peer {:?}", p.id);
            }
        }
        // A probe peer that differs only in AS number size gets a new
        // group, with the same Adj-RIB-Out.
        for p in &peers {
            let Some(g) = a.group_of(p.id) else { continue };
            let mut probe = p.clone();
            probe.id = PeerId(100 + p.id.0);
            probe.four_octet_as = false;
            a.apply(RibCommand::PeerUp(probe.clone()));
            let pg = a.group_of(probe.id).unwrap();
            prop_assert_ne!(pg, g);
            let probe_out: Vec<_> = a.group_routes(pg).collect();
            let out: Vec<_> = a.group_routes(g).collect();
            prop_assert_eq!(probe_out, out);
            a.apply(RibCommand::PeerDown { peer: probe.id });
        }
    }
}

/// A client of ours that negotiated long-lived graceful restart.
fn long_lived_client(id: u32) -> PeerInfo {
    let mut p = client(id);
    p.long_lived = true;
    p
}

#[test]
fn long_lived_stale_paths_are_least_preferred_and_go_only_to_peers_that_understand_them() {
    let mut rib = rib();
    let mut c1 = long_lived_client(1);
    c1.families.push(Family::IPV6_UNICAST);
    // 1 restarts; 2 is a fresh alternative for one prefix; 3 understands
    // LLGR_STALE, 4 does not.
    for p in [c1.clone(), client(2), long_lived_client(3), client(4)] {
        rib.apply(RibCommand::PeerUp(p));
    }
    let plain = lp(200);
    let no_llgr = attrs(
        &[65100],
        [198, 18, 50, 9],
        vec![communities(&[Community::NO_LLGR])],
    );
    rib.apply(announce(1, &["203.0.113.0/24", "198.51.100.0/24"], &plain));
    rib.apply(announce(1, &["192.0.2.0/24"], &no_llgr));
    rib.apply(announce(2, &["198.51.100.0/24"], &lp(100)));
    assert_eq!(best_peer(&rib, "198.51.100.0/24"), Some(1));

    rib.apply(RibCommand::PeerDownGraceful { peer: PeerId(1) });
    rib.apply(RibCommand::LongLivedStale {
        peer: PeerId(1),
        families: vec![Family::IPV4_UNICAST],
    });
    // RFC 9494 §4.2: NO_LLGR goes; the rest carries LLGR_STALE, the
    // attribute set still shared.
    assert!(sent(&rib, 3, "192.0.2.0/24").is_none());
    let kept: Vec<_> = rib.adj_rib_in(PeerId(1)).map(|(_, c)| c.clone()).collect();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|c| c.stale()));
    assert!(
        kept.iter()
            .all(|c| c.attrs.has_community(Community::LLGR_STALE))
    );
    assert!(Arc::ptr_eq(&kept[0].attrs, &kept[1].attrs));
    // §4.3: least preferred, whatever LOCAL_PREF says.
    assert_eq!(best_peer(&rib, "198.51.100.0/24"), Some(2));
    // §4.5: sent with LLGR_STALE to 3, not at all to 4.
    let to_3 = sent(&rib, 3, "203.0.113.0/24").unwrap();
    assert!(to_3.has_community(Community::LLGR_STALE));
    assert!(sent(&rib, 4, "203.0.113.0/24").is_none());
    assert_eq!(
        sent(&rib, 4, "198.51.100.0/24").unwrap().local_pref(),
        Some(&100)
    );

    // Back, re-announcing one prefix: fresh again, everywhere; End-of-RIB
    // sweeps the other.
    rib.apply(RibCommand::PeerUp(c1.clone()));
    rib.apply(announce(1, &["203.0.113.0/24"], &plain));
    let to_4 = sent(&rib, 4, "203.0.113.0/24").unwrap();
    assert!(!to_4.has_community(Community::LLGR_STALE));
    rib.apply(RibCommand::EndOfRib {
        peer: PeerId(1),
        family: Family::IPV4_UNICAST,
    });
    assert_eq!(rib.adj_rib_in(PeerId(1)).count(), 1);
    assert_eq!(best_peer(&rib, "198.51.100.0/24"), Some(2));

    // Down again and never back: long-lived, then its stale time ends.
    rib.apply(RibCommand::PeerDownGraceful { peer: PeerId(1) });
    rib.apply(RibCommand::LongLivedStale {
        peer: PeerId(1),
        families: vec![Family::IPV4_UNICAST],
    });
    assert!(rib.peer(PeerId(1)).is_some());
    rib.apply(RibCommand::LongLivedExpired {
        peer: PeerId(1),
        family: Family::IPV4_UNICAST,
    });
    assert_eq!(rib.adj_rib_in(PeerId(1)).count(), 0);
    assert!(sent(&rib, 3, "203.0.113.0/24").is_none());
    assert!(rib.peer(PeerId(1)).is_none());
}

#[test]
fn long_lived_stale_sweeps_the_families_not_announced_for_it() {
    let mut rib = rib();
    let mut c1 = long_lived_client(1);
    c1.families.push(Family::IPV6_UNICAST);
    for p in [c1, long_lived_client(2)] {
        rib.apply(RibCommand::PeerUp(p));
    }
    let v6 = RibCommand::Routes {
        peer: PeerId(1),
        withdrawn: vec![],
        announced: vec![(
            Family::IPV6_UNICAST,
            NlriEntry::plain(prefix("2001:db8:1::/48")),
            lp(100),
        )],
    };
    rib.apply(v6);
    rib.apply(announce(1, &["203.0.113.0/24"], &lp(100)));
    rib.apply(RibCommand::PeerDownGraceful { peer: PeerId(1) });
    rib.apply(RibCommand::LongLivedStale {
        peer: PeerId(1),
        families: vec![Family::IPV4_UNICAST],
    });
    let left: Vec<Family> = rib.adj_rib_in(PeerId(1)).map(|(k, _)| k.family).collect();
    assert_eq!(left, vec![Family::IPV4_UNICAST]);
}
