//! Policy changes applied as a command ([`RibCommand::Policy`]): export is
//! recomputed and only the difference goes out, a peer whose export map
//! changes moves group without a reset, the same policy again is no new
//! version, and the replicated policy outlives a snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/rib_util.rs"]
mod util;

use speaker::policy::{Action, MatchDef, MedSet, Policy, PolicyDef, PrefixListEntry, Set};
use speaker::rib::{
    Attachment, PeerId, ReplicatedPolicy, Resolver, Rib, RibCommand, RibConfig, RibOutput,
};
use speaker::wire::{Family, NlriEntry};
use std::collections::BTreeMap;
use std::sync::Arc;
use util::*;

const C1: u32 = 1;
const C2: u32 = 2;
const C3: u32 = 3;
const E1: u32 = 5;

/// OUT: MED `med` on everything; DENY_CUST: 198.51.100.0/22 le 24 denied,
/// the rest permitted unchanged.
fn def(med: u32) -> PolicyDef {
    let mut d = PolicyDef::default();
    d.prefix_lists.insert(
        "CUST".into(),
        vec![PrefixListEntry {
            seq: 5,
            action: Action::Permit,
            prefix: prefix("198.51.100.0/22"),
            ge: None,
            le: Some(24),
        }],
    );
    d.route_maps.insert(
        "OUT".into(),
        vec![entry(
            10,
            Action::Permit,
            vec![],
            vec![Set::Med(MedSet::Value(med))],
        )],
    );
    d.route_maps.insert(
        "DENY_CUST".into(),
        vec![
            entry(
                10,
                Action::Deny,
                vec![MatchDef::PrefixList("CUST".into())],
                vec![],
            ),
            entry(20, Action::Permit, vec![], vec![]),
        ],
    );
    d
}

fn replicated(
    med: u32,
    requires: bool,
    attachments: &[(u32, Option<&str>, Option<&str>)],
) -> Arc<ReplicatedPolicy> {
    Arc::new(ReplicatedPolicy {
        text: format!("med {med}"),
        compiled: Arc::new(Policy::compile(&def(med)).unwrap()),
        ebgp_requires_policy: requires,
        attachments: attachments
            .iter()
            .map(|(p, i, e)| {
                (
                    PeerId(*p),
                    Attachment {
                        import: i.map(String::from),
                        export: e.map(String::from),
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
    })
}

fn rib_with(requires: bool) -> Rib {
    Rib::new(RibConfig {
        policy: Arc::new(Policy::compile(&def(1)).unwrap()),
        ebgp_requires_policy: requires,
        ..config()
    })
}

fn with(mut p: speaker::rib::PeerInfo, export: Option<&str>) -> speaker::rib::PeerInfo {
    p.export = export.map(String::from);
    p
}

fn key(p: &str) -> (Family, NlriEntry) {
    (Family::IPV4_UNICAST, NlriEntry::plain(prefix(p)))
}

/// The peers of `out` and what each change of a group says, flattened:
/// (group member count irrelevant) prefix and MED, `None` for a withdrawal.
fn group_changes(out: &RibOutput) -> Vec<(String, Option<Option<u32>>)> {
    out.groups
        .iter()
        .flat_map(|g| g.changes.iter())
        .map(|c| {
            (
                c.entry.prefix.to_string(),
                c.attrs.as_ref().map(|a| a.med().copied()),
            )
        })
        .collect()
}

/// Three clients (C2 and C3 with OUT, C1 without) and two routes from C1.
fn loaded() -> Rib {
    let mut rib = rib_with(true);
    rib.apply(RibCommand::PeerUp(client(C1)));
    rib.apply(RibCommand::PeerUp(with(client(C2), Some("OUT"))));
    rib.apply(RibCommand::PeerUp(with(client(C3), Some("OUT"))));
    let a = attrs(&[], [198, 18, 1, 1], vec![]);
    rib.apply(announce(C1, &["198.51.100.0/24", "203.0.113.0/24"], &a));
    rib
}

#[test]
fn a_changed_export_map_sends_its_group_the_difference_only() {
    let mut rib = loaded();
    assert_eq!(sent(&rib, C2, "203.0.113.0/24").unwrap().med(), Some(&1));
    let group = rib.group_of(PeerId(C2));
    let attach = [(C2, None, Some("OUT")), (C3, None, Some("OUT"))];
    let out = rib.apply(RibCommand::Policy(replicated(2, true, &attach)));
    assert_eq!(out.policy, Some(1));
    assert_eq!(rib.policy().unwrap().0, 1);
    // Same group, both routes re-sent with the new MED; nobody moved.
    assert_eq!(rib.group_of(PeerId(C2)), group);
    assert!(out.joined.is_empty() && out.left.is_empty() && out.withdrawn_to.is_empty());
    assert_eq!(
        group_changes(&out),
        vec![
            ("198.51.100.0/24".to_string(), Some(Some(2))),
            ("203.0.113.0/24".to_string(), Some(Some(2))),
        ]
    );
    assert!(out.groups.iter().all(|g| Some(g.group) == group));
    assert_eq!(sent(&rib, C3, "203.0.113.0/24").unwrap().med(), Some(&2));
    // C1's group (no map) is untouched.
    assert!(sent(&rib, C1, "203.0.113.0/24").is_none());

    // The same policy again: no new version, nothing sent.
    let out = rib.apply(RibCommand::Policy(replicated(2, true, &attach)));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(rib.policy().unwrap().0, 1);
    // A policy whose maps are unchanged where used: a new version, no
    // UPDATE.
    let mut other = (*replicated(2, true, &attach)).clone();
    other.text.push_str(" (comment)");
    let out = rib.apply(RibCommand::Policy(Arc::new(other)));
    assert_eq!(out.policy, Some(2));
    assert!(out.groups.is_empty() && out.joined.is_empty());
}

#[test]
fn a_peer_whose_export_map_changes_moves_group_and_is_withdrawn_what_it_no_longer_gets() {
    let mut rib = loaded();
    let before = rib.group_of(PeerId(C3));
    let out = rib.apply(RibCommand::Policy(replicated(
        1,
        true,
        &[
            (C2, None, Some("OUT")),
            (C3, Some("OUT"), Some("DENY_CUST")),
        ],
    )));
    let after = rib.group_of(PeerId(C3));
    assert_ne!(after, before);
    assert_ne!(after, rib.group_of(PeerId(C2)));
    assert_eq!(out.joined, vec![(PeerId(C3), after.unwrap())]);
    assert!(out.left.is_empty(), "a move is not a session down");
    // The customer route is withdrawn from C3; the other is re-sent (in
    // its new group's table) without MED.
    assert_eq!(
        out.withdrawn_to,
        vec![(PeerId(C3), vec![key("198.51.100.0/24")])]
    );
    assert!(sent(&rib, C3, "198.51.100.0/24").is_none());
    assert_eq!(sent(&rib, C3, "203.0.113.0/24").unwrap().med(), None);
    // The import name is recorded with the peer.
    assert_eq!(rib.peer(PeerId(C3)).unwrap().import.as_deref(), Some("OUT"));
    // C2 is unchanged: nothing for its group.
    assert!(out.groups.is_empty(), "{:?}", out.groups);
    // Taking C3's map away moves it to C1's group, where both routes go.
    let out = rib.apply(RibCommand::Policy(replicated(
        1,
        true,
        &[(C2, None, Some("OUT"))],
    )));
    assert_eq!(rib.group_of(PeerId(C3)), rib.group_of(PeerId(C1)));
    assert!(out.withdrawn_to.is_empty());
    assert_eq!(out.joined.len(), 1);
}

#[test]
fn rfc8212_routes_flow_to_an_ebgp_peer_once_it_has_an_export_map() {
    let mut rib = loaded();
    rib.apply(RibCommand::PeerUp(ebgp(E1, 65001)));
    assert!(sent(&rib, E1, "203.0.113.0/24").is_none());
    let attach = [
        (C2, None, Some("OUT")),
        (C3, None, Some("OUT")),
        (E1, Some("OUT"), Some("DENY_CUST")),
    ];
    let out = rib.apply(RibCommand::Policy(replicated(1, true, &attach)));
    assert_eq!(out.joined.len(), 1);
    assert!(out.withdrawn_to.is_empty());
    assert!(sent(&rib, E1, "203.0.113.0/24").is_some());
    assert!(sent(&rib, E1, "198.51.100.0/24").is_none());
    // Turning RFC 8212 off sends an eBGP peer without a map everything.
    rib.apply(RibCommand::PeerUp(ebgp(6, 65002)));
    assert!(sent(&rib, 6, "198.51.100.0/24").is_none());
    let out = rib.apply(RibCommand::Policy(replicated(1, false, &attach)));
    assert_eq!(
        group_changes(&out)
            .iter()
            .filter(|(_, a)| a.is_some())
            .count(),
        2
    );
    assert!(sent(&rib, 6, "198.51.100.0/24").is_some());
}

#[test]
fn a_peer_that_comes_up_takes_its_maps_from_the_replicated_policy() {
    let mut rib = rib_with(true);
    rib.apply(RibCommand::Policy(replicated(
        3,
        true,
        &[(C2, None, Some("OUT"))],
    )));
    // Its session's configuration said otherwise (an older configuration
    // on the member that runs it): the log wins.
    rib.apply(RibCommand::PeerUp(with(client(C2), Some("DENY_CUST"))));
    rib.apply(RibCommand::PeerUp(client(C1)));
    assert_eq!(rib.peer(PeerId(C2)).unwrap().export.as_deref(), Some("OUT"));
    let a = attrs(&[], [198, 18, 1, 1], vec![]);
    rib.apply(announce(C1, &["198.51.100.0/24"], &a));
    assert_eq!(sent(&rib, C2, "198.51.100.0/24").unwrap().med(), Some(&3));
}

#[test]
fn the_replicated_policy_and_its_version_survive_an_image() {
    let mut rib = loaded();
    let attach = [(C2, None, Some("OUT")), (C3, None, Some("OUT"))];
    rib.apply(RibCommand::Policy(replicated(2, true, &attach)));
    rib.apply(RibCommand::Policy(replicated(5, true, &attach)));
    let image = rib.image();
    // Restored with the configuration's policy (MED 1): the image's wins.
    let restored = Rib::from_image(rib.config().clone(), Resolver::All, image.clone());
    let restored_too = Rib::from_image(rib_with(true).config().clone(), Resolver::All, image);
    assert!(restored.same_state(&rib));
    assert!(restored_too.same_state(&rib));
    assert_eq!(restored_too.policy().unwrap().0, 2);
    assert_eq!(
        sent(&restored_too, C2, "203.0.113.0/24").unwrap().med(),
        Some(&5)
    );
}
