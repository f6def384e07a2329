//! Tables sent in pages. What a session is sent on coming up (its
//! Adj-RIB-Out, then End-of-RIB: RFC 4724 §2) and the answer to a
//! ROUTE-REFRESH (RFC 2918 §4, between BoRR and EoRR with RFC 7313) are
//! read from the RIB a page at a time ([`crate::session::TablePage`],
//! [`super::NextPage`]), the state machine's lock held for one page. A
//! ROUTE-REFRESH answer goes as the session's socket takes it; the table
//! of a session coming up is held by the session and written whole at
//! its last page (see [`Tables::start_table`]).
//!
//! Each page reads the RIB as it is then. The UPDATEs of changes applied
//! meanwhile go to the session as usual, in the order of the lock, so the
//! peer ends with the current table: a destination paged after a change
//! is sent as it is now, one paged before it got the change's UPDATE.

use crate::session::TablePage;
use speaker::dispatch::pack;
use speaker::packing::Packer;
use speaker::rib::{PeerId, Rib, RouteKey};
use speaker::wire::route_refresh::{RefreshSubtype, RouteRefresh};
use speaker::wire::{CodecContext, Family, Message};
use std::collections::{BTreeMap, VecDeque};

/// Destinations looked at per page: a few hundred kilobytes of UPDATEs,
/// a few milliseconds of the lock.
pub const PAGE_DESTINATIONS: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The session came up: everything, then End-of-RIB per family.
    Table,
    /// A ROUTE-REFRESH of one family.
    Refresh { enhanced: bool },
}

#[derive(Debug)]
struct Job {
    kind: Kind,
    family: Option<Family>,
    /// The last destination paged; `None` with `started`: none yet.
    after: Option<RouteKey>,
    started: bool,
    /// Pages made so far (for the log).
    pages: u32,
}

/// The tables being sent, per peer, in the order asked.
#[derive(Debug, Default)]
pub struct Tables {
    jobs: BTreeMap<PeerId, VecDeque<Job>>,
    /// ROUTE-REFRESH requests that came before the session's PeerUp
    /// applied (family, enhanced): answered after the table it will be
    /// sent ([`Tables::refresh_after_up`]).
    early: BTreeMap<PeerId, Vec<(Family, bool)>>,
    /// ROUTE-REFRESH requests folded into one already being answered.
    pub refreshes_coalesced: u64,
}

impl Tables {
    /// `peer`'s session came up: its table from the start, in place of
    /// whatever an earlier session of it was being sent. The first page.
    /// The session holds these pages (and the UPDATEs sent to it
    /// meanwhile, in order) and writes the table whole at its last page:
    /// the peer gets it at once, as if packed in one go, while the RIB
    /// packs it a page per turn of the runtime, so Raft, on the same
    /// thread, is never held up for a whole table (850 ms for a full one
    /// here, past an election timeout on a slower machine).
    pub fn start_table<R: speaker::rib::NextHopResolver>(
        &mut self,
        rib: &Rib<R>,
        peer: PeerId,
        ctx: &CodecContext,
    ) -> TablePage {
        let job = Job {
            kind: Kind::Table,
            family: None,
            after: None,
            started: false,
            pages: 0,
        };
        // Refreshes asked and not yet answered stay asked: answered
        // after the table (an extra answer costs less than a lost one).
        for old in self
            .jobs
            .insert(peer, VecDeque::from([job]))
            .unwrap_or_default()
        {
            if let (Kind::Refresh { enhanced }, Some(family)) = (old.kind, old.family) {
                self.refresh_after_up(peer, family, enhanced);
            }
        }
        // Asked before the table started: answered after it, BoRR and
        // EoRR included (a neighbour taking us over in a move waits for
        // that answer before the move completes).
        for (family, enhanced) in self.early.remove(&peer).unwrap_or_default() {
            let _queued = self.refresh(rib, peer, family, enhanced, ctx);
        }
        self.next_page(rib, peer, ctx).unwrap_or_else(|| TablePage {
            msgs: Vec::new(),
            more: false,
            first_table: true,
            table_done: true,
        })
    }

    /// A ROUTE-REFRESH of `family`. A request for a family already being
    /// answered starts that answer over (the peer wants the table as it
    /// is now; it still gets one BoRR and one EoRR), and one already
    /// waiting is that one: however many the peer sends, at most one
    /// answer per family is under way, paced by its socket. The first
    /// page when nothing else was being sent, else `None` (it comes
    /// after, when the session asks).
    pub fn refresh<R: speaker::rib::NextHopResolver>(
        &mut self,
        rib: &Rib<R>,
        peer: PeerId,
        family: Family,
        enhanced: bool,
        ctx: &CodecContext,
    ) -> Option<TablePage> {
        let jobs = self.jobs.entry(peer).or_default();
        if let Some(j) = jobs
            .iter_mut()
            .find(|j| matches!(j.kind, Kind::Refresh { .. }) && j.family == Some(family))
        {
            self.refreshes_coalesced += 1;
            j.after = None;
            return None;
        }
        jobs.push_back(Job {
            kind: Kind::Refresh { enhanced },
            family: Some(family),
            after: None,
            started: false,
            pages: 0,
        });
        if jobs.len() > 1 {
            return None;
        }
        self.next_page(rib, peer, ctx)
    }

    /// A ROUTE-REFRESH of `family` from `peer`'s session before its
    /// PeerUp applied (the request goes straight to the RIB, the PeerUp
    /// through the log, so it can overtake it): answered after the table
    /// that the PeerUp starts ([`Tables::start_table`]), not dropped.
    pub fn refresh_after_up(&mut self, peer: PeerId, family: Family, enhanced: bool) {
        let early = self.early.entry(peer).or_default();
        if !early.iter().any(|(f, _)| *f == family) {
            early.push((family, enhanced));
        }
    }

    /// The next page for `peer`, `None` when nothing is being sent to it.
    pub fn next_page<R: speaker::rib::NextHopResolver>(
        &mut self,
        rib: &Rib<R>,
        peer: PeerId,
        ctx: &CodecContext,
    ) -> Option<TablePage> {
        let jobs = self.jobs.get_mut(&peer)?;
        let Some(job) = jobs.front_mut() else {
            self.jobs.remove(&peer);
            return None;
        };
        let mut msgs = Vec::new();
        let marker = |subtype, family| {
            let mut out = bytes::BytesMut::new();
            // Six octets and a header: always fits.
            let _ = Message::RouteRefresh(RouteRefresh::new(family, subtype)).encode(ctx, &mut out);
            out.freeze()
        };
        if let (Kind::Refresh { enhanced: true }, Some(f), false) =
            (job.kind, job.family, job.started)
        {
            msgs.push(marker(RefreshSubtype::BORR, f));
        }
        job.started = true;
        job.pages += 1;
        let (routes, next) = rib.adj_rib_out_page(peer, job.family, job.after, PAGE_DESTINATIONS);
        let packed = pack(ctx, routes.into_iter().map(|(f, e, a)| (f, e, Some(a))));
        msgs.extend(super::sendable(packed, peer));
        let first_table = job.kind == Kind::Table;
        let mut table_done = false;
        match next {
            Some(k) => job.after = Some(k),
            None => {
                match (job.kind, job.family) {
                    (Kind::Table, _) => {
                        table_done = true;
                        for f in rib
                            .peer(peer)
                            .map(|i| i.families.clone())
                            .unwrap_or_default()
                        {
                            let mut p = Packer::new(ctx, f);
                            p.end_of_rib();
                            msgs.extend(p.finish());
                        }
                    }
                    (Kind::Refresh { enhanced }, Some(f)) => {
                        if enhanced {
                            msgs.push(marker(RefreshSubtype::EORR, f));
                        }
                        tracing::info!(
                            peer = peer.0,
                            family = %f,
                            pages = job.pages,
                            "route refresh answered"
                        );
                    }
                    _ => {}
                }
                jobs.pop_front();
            }
        }
        let more = !jobs.is_empty();
        if !more {
            self.jobs.remove(&peer);
        }
        Some(TablePage {
            msgs,
            more,
            first_table,
            table_done,
        })
    }

    /// `peer`'s session is gone: nothing more is sent to it.
    pub fn forget(&mut self, peer: PeerId) {
        self.jobs.remove(&peer);
    }

    /// Peers being sent a table.
    #[cfg(test)]
    pub fn sending(&self) -> usize {
        self.jobs.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use speaker::fixtures::{client, rib};
    use speaker::rib::RibCommand;
    use speaker::wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
    use speaker::wire::{NlriEntry, PathAttributes, Prefix};
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    #[test]
    fn an_empty_table_is_end_of_rib_alone() {
        let mut rib = rib();
        let mut tables = Tables::default();
        for i in 1..=3u8 {
            rib.apply(RibCommand::PeerUp(client(i)));
        }
        for i in 1..=3u8 {
            let page = tables.start_table(&rib, PeerId(i.into()), &CodecContext::four_octet());
            assert!(!page.more && page.table_done);
            assert_eq!(read(&page.msgs), (0, 1, vec![]), "peer {i}");
        }
    }

    /// Client 1 announces `n` /24s (in several attribute sets); client 2
    /// is the one sent tables.
    fn rib_with(n: u32) -> Rib {
        let mut rib = rib();
        rib.apply(RibCommand::PeerUp(client(1)));
        rib.apply(RibCommand::PeerUp(client(2)));
        let sets: Vec<Arc<PathAttributes>> = (0..7u32)
            .map(|med| {
                Arc::new(PathAttributes::new(vec![
                    PathAttribute::new(AttrValue::Origin(Origin::Igp)),
                    PathAttribute::new(AttrValue::AsPath(AsPath::default())),
                    PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 0, 1))),
                    PathAttribute::new(AttrValue::MultiExitDisc(med)),
                    PathAttribute::new(AttrValue::LocalPref(100)),
                ]))
            })
            .collect();
        let announced = (0..n)
            .map(|i| {
                let p = Prefix::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)).into(), 24).unwrap();
                (
                    Family::IPV4_UNICAST,
                    NlriEntry::plain(p),
                    sets[i as usize % sets.len()].clone(),
                )
            })
            .collect();
        rib.apply(RibCommand::Routes {
            peer: PeerId(1),
            withdrawn: vec![],
            announced,
        });
        rib
    }

    /// What the messages carry: announced prefixes, End-of-RIBs, and the
    /// route refresh subtypes, in order.
    fn read(msgs: &[bytes::Bytes]) -> (usize, usize, Vec<u8>) {
        let (mut prefixes, mut eor, mut markers) = (0, 0, Vec::new());
        for m in msgs {
            match Message::decode(m.clone(), &CodecContext::four_octet(), None).unwrap() {
                Message::Update(u) if u.end_of_rib_family().is_some() => eor += 1,
                Message::Update(u) => prefixes += u.nlri.iter().count(),
                Message::RouteRefresh(r) => markers.push(r.subtype.0),
                other => panic!("{other:?}"),
            }
        }
        (prefixes, eor, markers)
    }

    #[test]
    fn a_table_goes_in_pages_and_ends_with_end_of_rib() {
        let n = 3 * PAGE_DESTINATIONS as u32 + 17;
        let rib = rib_with(n);
        let ctx = CodecContext::four_octet();
        let mut tables = Tables::default();
        let mut page = tables.start_table(&rib, PeerId(2), &ctx);
        let (mut prefixes, mut pages) = (0, 0);
        loop {
            pages += 1;
            let (p, eor, _) = read(&page.msgs);
            prefixes += p;
            assert_eq!(
                eor == 1,
                page.table_done,
                "End-of-RIB in the last page only"
            );
            assert!(p <= PAGE_DESTINATIONS);
            if !page.more {
                break;
            }
            page = tables.next_page(&rib, PeerId(2), &ctx).unwrap();
        }
        assert_eq!(prefixes, n as usize);
        assert_eq!(pages, 4);
        assert_eq!(tables.sending(), 0);
        assert!(tables.next_page(&rib, PeerId(2), &ctx).is_none());
        // The sender of the routes gets End-of-RIB only (split horizon).
        let mut page = tables.start_table(&rib, PeerId(1), &ctx);
        let mut seen = (0, 0);
        loop {
            let (p, eor, _) = read(&page.msgs);
            seen = (seen.0 + p, seen.1 + eor);
            if !page.more {
                break;
            }
            page = tables.next_page(&rib, PeerId(1), &ctx).unwrap();
        }
        assert_eq!(seen, (0, 1));
    }

    #[test]
    fn refreshes_are_paced_and_coalesced() {
        let n = 2 * PAGE_DESTINATIONS as u32;
        let rib = rib_with(n);
        let ctx = CodecContext::four_octet();
        let mut tables = Tables::default();
        let first = tables
            .refresh(&rib, PeerId(2), Family::IPV4_UNICAST, true, &ctx)
            .unwrap();
        let (p, eor, markers) = read(&first.msgs);
        assert_eq!(
            (p, eor, markers),
            (PAGE_DESTINATIONS, 0, vec![1]),
            "BoRR first"
        );
        assert!(first.more && !first.table_done);
        // A thousand more requests while it is under way: folded into it,
        // which starts over; nothing is packed for them.
        for _ in 0..1000 {
            assert!(
                tables
                    .refresh(&rib, PeerId(2), Family::IPV4_UNICAST, true, &ctx)
                    .is_none()
            );
        }
        assert_eq!(tables.refreshes_coalesced, 1000);
        let mut prefixes = 0;
        let mut markers = Vec::new();
        while let Some(page) = tables.next_page(&rib, PeerId(2), &ctx) {
            let (p, _, m) = read(&page.msgs);
            prefixes += p;
            markers.extend(m);
            if !page.more {
                break;
            }
        }
        // Started over: the whole table again, then one EoRR.
        assert_eq!(prefixes, n as usize);
        assert_eq!(markers, vec![2]);
        // Without enhanced route refresh: no markers.
        let page = tables
            .refresh(&rib, PeerId(2), Family::IPV4_UNICAST, false, &ctx)
            .unwrap();
        assert!(read(&page.msgs).2.is_empty());
        // A family the peer does not have: nothing but the markers.
        tables.forget(PeerId(2));
        let page = tables
            .refresh(&rib, PeerId(2), Family::IPV6_UNICAST, true, &ctx)
            .unwrap();
        assert_eq!(read(&page.msgs), (0, 0, vec![1, 2]));
        assert!(!page.more);
    }

    #[test]
    fn a_refresh_asked_before_the_table_started_is_answered_after_it() {
        let n = PAGE_DESTINATIONS as u32 + 5;
        let rib = rib_with(n);
        let ctx = CodecContext::four_octet();
        let mut tables = Tables::default();
        tables.refresh_after_up(PeerId(2), Family::IPV4_UNICAST, true);
        tables.refresh_after_up(PeerId(2), Family::IPV4_UNICAST, true);
        let mut page = tables.start_table(&rib, PeerId(2), &ctx);
        let (mut prefixes, mut eor, mut markers) = (0, 0, Vec::new());
        loop {
            let (p, e, m) = read(&page.msgs);
            prefixes += p;
            eor += e;
            markers.extend(m);
            if !page.more {
                break;
            }
            page = tables.next_page(&rib, PeerId(2), &ctx).unwrap();
        }
        // The table and its End-of-RIB, then the refresh once (asked twice),
        // framed by BoRR and EoRR.
        assert_eq!(prefixes, 2 * n as usize);
        assert_eq!(eor, 1);
        assert_eq!(markers, vec![1, 2]);
        assert_eq!(tables.sending(), 0);
        // Once answered it is not answered again with the next table.
        let page = tables.start_table(&rib, PeerId(2), &ctx);
        assert!(read(&page.msgs).2.is_empty());
        // One asked while a table was under way, which a new table then
        // replaces: still answered, after the new one.
        tables.forget(PeerId(2));
        let _ = tables.start_table(&rib, PeerId(2), &ctx);
        assert!(
            tables
                .refresh(&rib, PeerId(2), Family::IPV4_UNICAST, true, &ctx)
                .is_none()
        );
        let mut page = tables.start_table(&rib, PeerId(2), &ctx);
        let mut markers = Vec::new();
        loop {
            markers.extend(read(&page.msgs).2);
            if !page.more {
                break;
            }
            page = tables.next_page(&rib, PeerId(2), &ctx).unwrap();
        }
        assert_eq!(markers, vec![1, 2]);
    }
}
