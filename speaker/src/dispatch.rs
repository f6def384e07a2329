//! From RIB outputs to encoded UPDATEs per peer: changes are merged per
//! update group (the last change of a destination wins), packed once per
//! group, and the same octets go to every member; only a member that must
//! get a withdrawal instead (split horizon) gets its own packing.
//!
//! Pure: the node's apply hook calls it with the RIB at hand and sends
//! what it returns; nothing here logs or does I/O (routes too large for
//! any message are counted in what is returned, for the caller to say).

use crate::packing::Packer;
use crate::rib::{GroupId, OutChange, PeerId, Rib, RibOutput};
use crate::wire::{CodecContext, Family, NlriEntry, PathAttributes, Prefix};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// A destination as the peer sees it: family, prefix, path id, RD.
type Key = (Family, Prefix, Option<u32>, Option<[u8; 8]>);

fn key(c: &OutChange) -> Key {
    entry_key(c.family, &c.entry)
}

fn entry_key(family: Family, e: &NlriEntry) -> Key {
    (family, e.prefix, e.path_id, e.rd.map(|r| r.0))
}

/// The changes in destination order, each destination once: its last
/// change wins (a sort, cheaper than a search tree for thousands).
fn last_of_each(mut changes: Vec<(Key, &OutChange)>) -> Vec<&OutChange> {
    // Stable: of equal keys, the later change stays later.
    changes.sort_by_key(|(k, _)| *k);
    let mut out: Vec<(Key, &OutChange)> = Vec::with_capacity(changes.len());
    for (k, c) in changes {
        match out.last_mut() {
            Some((last, kept)) if *last == k => *kept = c,
            _ => out.push((k, c)),
        }
    }
    out.into_iter().map(|(_, c)| c).collect()
}

/// Encoded UPDATEs for each peer, in the order to send.
pub type Outbound = BTreeMap<PeerId, Vec<Bytes>>;

/// Encoded UPDATEs, and how many routes were left out because no message
/// of the neighbours' size holds them (withdrawn instead, RFC 8654 §4).
#[derive(Debug, Default)]
pub struct Packed {
    pub msgs: Vec<Bytes>,
    pub oversized: usize,
}

impl Packed {
    /// The UPDATEs, the routes left out added to `oversized`.
    pub fn counted(self, oversized: &mut usize) -> Vec<Bytes> {
        *oversized += self.oversized;
        self.msgs
    }
}

/// What [`dispatch`] sends each peer, and the routes it left out as too
/// large (all peers together).
#[derive(Debug, Default)]
pub struct Dispatched {
    pub sends: Outbound,
    pub oversized: usize,
}

/// Turns the outputs of a batch of commands into UPDATEs. `ctx` gives the
/// send context of each established peer.
pub fn dispatch<R: crate::rib::NextHopResolver>(
    rib: &Rib<R>,
    outputs: &[RibOutput],
    ctx: &BTreeMap<PeerId, CodecContext>,
) -> Dispatched {
    let mut merged: BTreeMap<GroupId, Vec<(Key, &OutChange)>> = BTreeMap::new();
    for out in outputs {
        for g in &out.groups {
            let m = merged.entry(g.group).or_default();
            m.extend(g.changes.iter().map(|c| (key(c), c)));
        }
    }
    let mut sends: Outbound = BTreeMap::new();
    let mut oversized = 0;
    for (group, changes) in merged {
        let changes = last_of_each(changes);
        let Some(g) = rib.group(group) else { continue };
        let members: Vec<PeerId> = g
            .members
            .iter()
            .copied()
            .filter(|p| ctx.contains_key(p))
            .collect();
        let excepted: BTreeSet<PeerId> = changes.iter().filter_map(|c| c.except).collect();
        let common: Vec<PeerId> = members
            .iter()
            .copied()
            .filter(|p| !excepted.contains(p))
            .collect();
        if let Some(c) = group_context(&common, ctx) {
            let msgs = pack(
                &c,
                changes
                    .iter()
                    .map(|ch| (ch.family, ch.entry, ch.attrs.clone())),
            )
            .counted(&mut oversized);
            for p in &common {
                sends.entry(*p).or_default().extend(msgs.iter().cloned());
            }
        }
        for p in members.iter().filter(|p| excepted.contains(p)) {
            let Some(c) = ctx.get(p) else { continue };
            // What this member is not to get: its own paths (a withdrawal
            // only if it had been sent the path they replace), and
            // withdrawals of paths it never had.
            let own = changes.iter().filter_map(|ch| {
                if ch.except != Some(*p) {
                    return Some((ch.family, ch.entry, ch.attrs.clone()));
                }
                (ch.attrs.is_some() && ch.except_had).then_some((ch.family, ch.entry, None))
            });
            let msgs = pack(c, own).counted(&mut oversized);
            if !msgs.is_empty() {
                sends.entry(*p).or_default().extend(msgs);
            }
        }
    }
    for out in outputs {
        // A peer that moved group: what it no longer gets, before its new
        // group's table (paged: [`super::table`]).
        for (peer, gone) in &out.withdrawn_to {
            let Some(c) = ctx.get(peer) else { continue };
            let msgs = pack(c, gone.iter().map(|(f, e)| (*f, *e, None))).counted(&mut oversized);
            sends.entry(*peer).or_default().extend(msgs);
        }
    }
    Dispatched { sends, oversized }
}

/// What `peer` must be sent to go from what `old` sent it to what `new`
/// sends it: the RIB was replaced by a snapshot while its session ran
/// (this member was stopped or cut off, and the log it missed was
/// compacted). Announcements of what is new or changed, withdrawals of
/// what is gone; nothing when `new` has no group for it (its session is
/// not up as the cluster sees it: closing it is the fence's, and a
/// withdrawal of everything would cost the neighbour its routes).
pub fn resync<R: crate::rib::NextHopResolver>(
    old: &Rib<R>,
    new: &Rib<R>,
    peer: PeerId,
    ctx: &CodecContext,
) -> Packed {
    if new.group_of(peer).is_none() {
        return Packed::default();
    }
    let mut sent: HashMap<Key, (NlriEntry, Arc<PathAttributes>)> = old
        .adj_rib_out_for(peer)
        .map(|(f, e, a)| (entry_key(f, &e), (e, a)))
        .collect();
    let mut changes: Vec<(Family, NlriEntry, Option<Arc<PathAttributes>>)> = Vec::new();
    for (f, e, a) in new.adj_rib_out_for(peer) {
        match sent.remove(&entry_key(f, &e)) {
            Some((_, before)) if Arc::ptr_eq(&before, &a) || before == a => {}
            _ => changes.push((f, e, Some(a))),
        }
    }
    let mut gone: Vec<(Key, NlriEntry)> = sent.into_iter().map(|(k, (e, _))| (k, e)).collect();
    // In destination order, as every other send; withdrawals first.
    gone.sort_by_key(|(k, _)| *k);
    changes.splice(0..0, gone.into_iter().map(|(k, e)| (k.0, e, None)));
    pack(ctx, changes.into_iter())
}

/// The layout every member can read: extended messages only if all have them.
fn group_context(members: &[PeerId], ctx: &BTreeMap<PeerId, CodecContext>) -> Option<CodecContext> {
    let mut all = members.iter().filter_map(|p| ctx.get(p));
    let mut c = all.next()?.clone();
    for other in all {
        c.extended_message &= other.extended_message;
    }
    Some(c)
}

/// Packs changes family by family: withdrawals, then announcements grouped
/// by attribute set (first-seen order, so the output is deterministic).
pub fn pack(
    ctx: &CodecContext,
    changes: impl Iterator<Item = (Family, NlriEntry, Option<Arc<PathAttributes>>)>,
) -> Packed {
    struct PerFamily {
        withdrawn: Vec<NlriEntry>,
        sets: Vec<(Arc<PathAttributes>, Vec<NlriEntry>)>,
        index: HashMap<*const PathAttributes, usize>,
    }
    let mut families: BTreeMap<Family, PerFamily> = BTreeMap::new();
    for (family, entry, attrs) in changes {
        let f = families.entry(family).or_insert_with(|| PerFamily {
            withdrawn: Vec::new(),
            sets: Vec::new(),
            index: HashMap::new(),
        });
        match attrs {
            None => f.withdrawn.push(entry),
            Some(a) => {
                let i = *f.index.entry(Arc::as_ptr(&a)).or_insert_with(|| {
                    f.sets.push((a.clone(), Vec::new()));
                    f.sets.len() - 1
                });
                f.sets[i].1.push(entry);
            }
        }
    }
    let mut out = Packed::default();
    for (family, f) in families {
        let mut p = Packer::new(ctx, family);
        if !f.withdrawn.is_empty() {
            p.withdraw(&f.withdrawn);
        }
        for (attrs, entries) in &f.sets {
            p.announce(attrs, entries);
        }
        out.oversized += p.oversized();
        out.msgs.extend(p.finish());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fixtures::{client, rib};
    use crate::rib::RibCommand;
    use crate::wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
    use crate::wire::{Message, Prefix};
    use std::net::Ipv4Addr;

    fn updates(msgs: &[Bytes]) -> Vec<crate::wire::Update> {
        msgs.iter()
            .map(
                |m| match Message::decode(m.clone(), &CodecContext::four_octet(), None).unwrap() {
                    Message::Update(u) => u,
                    other => panic!("{other:?}"),
                },
            )
            .collect()
    }

    #[test]
    fn one_packing_per_group_and_split_horizon_for_the_sender() {
        let mut rib = rib();
        let ctx: BTreeMap<PeerId, CodecContext> = (1..=3)
            .map(|i| (PeerId(i), CodecContext::four_octet()))
            .collect();
        let joined: Vec<RibOutput> = (1..=3)
            .map(|i| rib.apply(RibCommand::PeerUp(client(i))))
            .collect();
        // A new member's table is paged (the node's table pages), not
        // dispatched.
        let sends = dispatch(&rib, &joined, &ctx).sends;
        assert!(sends.is_empty());

        let attrs = Arc::new(PathAttributes::new(vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::default())),
            PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 0, 1))),
            PathAttribute::new(AttrValue::LocalPref(100)),
        ]));
        let prefixes = ["198.19.1.0/24", "198.19.2.0/24"]
            .map(|p| NlriEntry::plain(p.parse::<Prefix>().unwrap()));
        let out = rib.apply(RibCommand::Routes {
            peer: PeerId(1),
            withdrawn: vec![],
            announced: prefixes
                .iter()
                .map(|e| (Family::IPV4_UNICAST, *e, attrs.clone()))
                .collect(),
        });
        let sends = dispatch(&rib, &[out], &ctx).sends;
        // Both other clients get the same octets: one packing for the group.
        assert_eq!(sends[&PeerId(2)], sends[&PeerId(3)]);
        let u = updates(&sends[&PeerId(2)]);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].nlri.iter().collect::<Vec<_>>(), prefixes.to_vec());
        assert_eq!(
            u[0].attributes.originator_id(),
            Some(&Ipv4Addr::new(198, 18, 0, 1))
        );
        // The sender is sent nothing: not its own route back, nor a
        // withdrawal of what it never had.
        assert!(!sends.contains_key(&PeerId(1)));

        // Client 2 sends a better path (higher LOCAL_PREF) for one prefix:
        // client 2 had client 1's path, so it gets a withdrawal; clients 1
        // and 3 get client 2's path.
        let better = Arc::new(PathAttributes::new(vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::default())),
            PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 0, 2))),
            PathAttribute::new(AttrValue::LocalPref(200)),
        ]));
        let out = rib.apply(RibCommand::Routes {
            peer: PeerId(2),
            withdrawn: vec![],
            announced: vec![(Family::IPV4_UNICAST, prefixes[0], better)],
        });
        let sends = dispatch(&rib, &[out], &ctx).sends;
        let to2 = updates(&sends[&PeerId(2)]);
        assert_eq!(to2.len(), 1);
        assert_eq!(
            to2[0].withdrawn.iter().collect::<Vec<_>>(),
            vec![prefixes[0]]
        );
        for p in [1, 3] {
            let u = updates(&sends[&PeerId(p)]);
            assert_eq!(
                u[0].attributes.originator_id(),
                Some(&Ipv4Addr::new(198, 18, 0, 2)),
                "peer {p}"
            );
        }
    }

    fn path(next_hop: u8, local_pref: u32) -> Arc<PathAttributes> {
        Arc::new(PathAttributes::new(vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::default())),
            PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 0, next_hop))),
            PathAttribute::new(AttrValue::LocalPref(local_pref)),
        ]))
    }

    fn routes(
        peer: u8,
        announced: &[(&str, Arc<PathAttributes>)],
        withdrawn: &[&str],
    ) -> RibCommand {
        RibCommand::Routes {
            peer: PeerId(u32::from(peer)),
            withdrawn: withdrawn
                .iter()
                .map(|p| (Family::IPV4_UNICAST, NlriEntry::plain(p.parse().unwrap())))
                .collect(),
            announced: announced
                .iter()
                .map(|(p, a)| {
                    (
                        Family::IPV4_UNICAST,
                        NlriEntry::plain(p.parse().unwrap()),
                        a.clone(),
                    )
                })
                .collect(),
        }
    }

    /// A member stopped while the others went on is sent a snapshot: its
    /// sessions, which ran on, are sent what the snapshot changed (a
    /// route gone, one changed, one new) and nothing of what it kept.
    #[test]
    fn a_replaced_rib_sends_its_sessions_what_changed() {
        let mut old = rib();
        for i in 1..=2 {
            old.apply(RibCommand::PeerUp(client(i)));
        }
        let mut new = rib();
        for i in 1..=2 {
            new.apply(RibCommand::PeerUp(client(i)));
        }
        let (kept, changed, gone, added) = (
            "198.19.1.0/24",
            "198.19.2.0/24",
            "198.19.3.0/24",
            "198.19.4.0/24",
        );
        old.apply(routes(
            1,
            &[
                (kept, path(1, 100)),
                (changed, path(1, 100)),
                (gone, path(1, 100)),
            ],
            &[],
        ));
        new.apply(routes(
            1,
            &[
                (kept, path(1, 100)),
                (changed, path(1, 200)),
                (added, path(1, 100)),
            ],
            &[],
        ));
        let ctx = CodecContext::four_octet();
        let u = updates(&resync(&old, &new, PeerId(2), &ctx).msgs);
        let withdrawn: Vec<String> = u
            .iter()
            .flat_map(|u| u.withdrawn.iter().map(|e| e.prefix.to_string()))
            .collect();
        let announced: Vec<(String, Option<u32>)> = u
            .iter()
            .flat_map(|u| {
                u.nlri
                    .iter()
                    .map(|e| (e.prefix.to_string(), u.attributes.local_pref().copied()))
            })
            .collect();
        assert_eq!(withdrawn, vec![gone.to_string()]);
        assert_eq!(
            announced,
            vec![
                (changed.to_string(), Some(200)),
                (added.to_string(), Some(100))
            ]
        );
        // The sender of the paths is sent nothing (split horizon), and a
        // peer the snapshot has down nothing either.
        assert!(resync(&old, &new, PeerId(1), &ctx).msgs.is_empty());
        assert!(resync(&old, &new, PeerId(3), &ctx).msgs.is_empty());
        // Nothing changed, nothing sent.
        assert!(resync(&new, &new, PeerId(2), &ctx).msgs.is_empty());
    }
}
