//! Destinations recently withdrawn, kept a short while so that a session
//! that takes a neighbour over from another member withdraws them first.
//!
//! A neighbour that helps with graceful restart keeps the routes of the
//! session it lost, stale, until the new session's End-of-RIB (RFC 4724
//! §4.2). A route withdrawn between the two sessions, while another
//! member was taking the neighbour over, would stay with it, stale, until
//! that End-of-RIB: after a whole table. A withdrawal on the new session
//! ends the stale copy at once (it is the same neighbour's route, RFC
//! 4724 §4.2: the new session's routes replace the stale ones, and so
//! does a withdrawal), so the new session sends these first, before its
//! table. A withdrawal of a route the neighbour does not hold is nothing
//! to it (RFC 4271 §9.1.3 acts on routes it has).
//!
//! Sessions with ADD-PATH for a family get none of that family: the
//! path ids another member sent are not known here; their stale copies
//! go with End-of-RIB.

use super::loc_rib::RouteKey;
use super::output::RibOutput;
use super::peer::PeerId;
use super::{NextHopResolver, Rib};
use crate::dispatch::{Packed, pack};
use crate::wire::{CodecContext, NlriEntry};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a withdrawal is kept: longer than a takeover takes (the
/// owner's lease, an election, a new session; seconds), far shorter than
/// the restart time a neighbour keeps stale routes for.
pub const KEPT: Duration = Duration::from_secs(60);

/// The destinations withdrawn within [`KEPT`], each once (its latest
/// withdrawal), so the memory is bounded by the table's size.
#[derive(Debug, Default)]
pub struct RecentWithdrawals {
    at: HashMap<RouteKey, Instant>,
    /// In the order withdrawn; a destination withdrawn again appears
    /// twice, the older entry ignored on expiry (its time differs).
    order: VecDeque<(Instant, RouteKey)>,
}

impl RecentWithdrawals {
    /// Takes in what a batch of commands withdrew: destinations that lost
    /// their best path, and those an update group stopped being sent.
    pub fn record(&mut self, now: Instant, outputs: &[RibOutput]) {
        for out in outputs {
            let gone_best = out
                .loc_rib
                .iter()
                .filter(|c| c.best.is_none())
                .map(|c| c.key);
            let gone_out = out.groups.iter().flat_map(|g| {
                g.changes
                    .iter()
                    .filter(|c| c.attrs.is_none())
                    .map(|c| RouteKey {
                        family: c.family,
                        rd: c.entry.rd,
                        prefix: c.entry.prefix,
                    })
            });
            for key in gone_best.chain(gone_out) {
                self.at.insert(key, now);
                self.order.push_back((now, key));
            }
        }
        self.expire(now);
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, key)) = self.order.front().copied() {
            if now.saturating_duration_since(at) <= KEPT {
                break;
            }
            self.order.pop_front();
            if self.at.get(&key) == Some(&at) {
                self.at.remove(&key);
            }
        }
    }

    /// Destinations kept now.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// The withdrawals a session of `peer` that just came up is sent
    /// before its table: the destinations withdrawn within [`KEPT`] that
    /// it is not sent a path for now (those its table announces again),
    /// in destination order, without the families it has ADD-PATH for.
    pub fn for_session<R: NextHopResolver>(
        &mut self,
        now: Instant,
        rib: &Rib<R>,
        peer: PeerId,
        ctx: &CodecContext,
    ) -> Packed {
        self.expire(now);
        let Some(info) = rib.peer(peer) else {
            return Packed::default();
        };
        let keys: BTreeSet<RouteKey> = self
            .at
            .keys()
            .filter(|k| info.families.contains(&k.family) && !ctx.add_path.contains(&k.family))
            .filter(|k| !rib.sends(peer, k))
            .copied()
            .collect();
        pack(
            ctx,
            keys.into_iter().map(|k| {
                let entry = NlriEntry {
                    rd: k.rd,
                    ..NlriEntry::plain(k.prefix)
                };
                (k.family, entry, None)
            }),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fixtures::{client, rib};
    use crate::rib::RibCommand;
    use crate::wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
    use crate::wire::{Family, Message, PathAttributes, Prefix};
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    fn path(next_hop: u8) -> Arc<PathAttributes> {
        Arc::new(PathAttributes::new(vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::default())),
            PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 0, next_hop))),
            PathAttribute::new(AttrValue::LocalPref(100)),
        ]))
    }

    fn entry(p: &str) -> NlriEntry {
        NlriEntry::plain(p.parse::<Prefix>().unwrap())
    }

    fn routes(peer: u32, announced: &[&str], withdrawn: &[&str]) -> RibCommand {
        RibCommand::Routes {
            peer: PeerId(peer),
            withdrawn: withdrawn
                .iter()
                .map(|p| (Family::IPV4_UNICAST, entry(p)))
                .collect(),
            announced: announced
                .iter()
                .map(|p| (Family::IPV4_UNICAST, entry(p), path(1)))
                .collect(),
        }
    }

    fn withdrawn(p: &Packed) -> Vec<Prefix> {
        p.msgs
            .iter()
            .flat_map(|m| {
                match Message::decode(m.clone(), &CodecContext::four_octet(), None).unwrap() {
                    Message::Update(u) => {
                        u.withdrawals().map(|(_, e)| e.prefix).collect::<Vec<_>>()
                    }
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn a_session_coming_up_is_sent_what_went_meanwhile_and_nothing_it_gets_again() {
        let mut rib = rib();
        let mut recent = RecentWithdrawals::default();
        let t0 = Instant::now();
        for i in 1..=2 {
            recent.record(t0, &[rib.apply(RibCommand::PeerUp(client(i)))]);
        }
        let (gone, back, kept) = ("198.19.1.0/24", "198.19.2.0/24", "198.19.3.0/24");
        recent.record(t0, &[rib.apply(routes(1, &[gone, back, kept], &[]))]);
        assert!(recent.is_empty());
        // Client 2's session is lost (another member ran it); meanwhile
        // client 1 withdraws two routes and announces one of them again.
        recent.record(
            t0,
            &[rib.apply(RibCommand::PeerDownGraceful { peer: PeerId(2) })],
        );
        recent.record(t0, &[rib.apply(routes(1, &[], &[gone, back]))]);
        recent.record(t0, &[rib.apply(routes(1, &[back], &[]))]);
        recent.record(t0, &[rib.apply(RibCommand::PeerUp(client(2)))]);
        let ctx = CodecContext::four_octet();
        let first = recent.for_session(t0 + Duration::from_secs(3), &rib, PeerId(2), &ctx);
        assert_eq!(withdrawn(&first), vec![gone.parse::<Prefix>().unwrap()]);
        // Client 1 sent it: a withdrawal is nothing to it, and harmless.
        // Past the time kept: nothing.
        let late = recent.for_session(t0 + KEPT + Duration::from_secs(1), &rib, PeerId(2), &ctx);
        assert!(late.msgs.is_empty());
        assert!(recent.is_empty());
    }

    #[test]
    fn add_path_families_are_left_to_end_of_rib() {
        let mut rib = rib();
        let mut recent = RecentWithdrawals::default();
        let t0 = Instant::now();
        rib.apply(RibCommand::PeerUp(client(1)));
        rib.apply(RibCommand::PeerUp(client(2)));
        rib.apply(routes(1, &["198.19.1.0/24"], &[]));
        recent.record(t0, &[rib.apply(routes(1, &[], &["198.19.1.0/24"]))]);
        assert_eq!(recent.len(), 1);
        let ctx = CodecContext {
            add_path: vec![Family::IPV4_UNICAST],
            ..CodecContext::four_octet()
        };
        assert!(
            recent
                .for_session(t0, &rib, PeerId(2), &ctx)
                .msgs
                .is_empty()
        );
    }

    #[test]
    fn a_destination_withdrawn_twice_is_kept_from_its_latest() {
        let mut rib = rib();
        let mut recent = RecentWithdrawals::default();
        let t0 = Instant::now();
        rib.apply(RibCommand::PeerUp(client(1)));
        rib.apply(RibCommand::PeerUp(client(2)));
        let p = "198.19.1.0/24";
        rib.apply(routes(1, &[p], &[]));
        recent.record(t0, &[rib.apply(routes(1, &[], &[p]))]);
        rib.apply(routes(1, &[p], &[]));
        let t1 = t0 + Duration::from_secs(30);
        recent.record(t1, &[rib.apply(routes(1, &[], &[p]))]);
        let ctx = CodecContext::four_octet();
        let at = t0 + KEPT + Duration::from_secs(1);
        assert_eq!(
            withdrawn(&recent.for_session(at, &rib, PeerId(2), &ctx)).len(),
            1
        );
        assert_eq!(recent.len(), 1);
    }
}
