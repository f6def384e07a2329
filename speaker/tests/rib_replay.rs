//! A full IPv4 table (one real iBGP session, PCH 2015) replayed as one
//! route-reflector client's commands; a second client must be sent all of
//! it, reflected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/rib_util.rs"]
mod util;

use speaker::mrt::MrtReader;
use speaker::mrt::bgp4mp::Bgp4mp;
use speaker::mrt::record::RecordData;
use speaker::rib::{PeerId, Rib, RibCommand, RibConfig};
use speaker::wire::{Family, Message, Prefix};
use std::collections::{BTreeSet, HashSet};
use std::net::Ipv4Addr;
use std::time::Instant;

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/bgp-data/mrt/updates/bgpdump_updates.et-header.2015.gz"
);

#[test]
fn full_table_reflected_to_a_second_client() {
    let reader = MrtReader::open(FILE).expect("shared data folder");
    let mut updates = Vec::new();
    for r in reader {
        let r = r.unwrap();
        if let RecordData::Bgp4mp(Bgp4mp::Message(m)) = r.data
            && let Ok(Message::Update(u)) = m.message
        {
            updates.push(u);
        }
    }
    assert_eq!(updates.len(), 89_679);

    // What the stream implies: announce adds, withdraw removes.
    let mut expected: BTreeSet<Prefix> = BTreeSet::new();
    for u in &updates {
        for (_, e) in u.withdrawals() {
            expected.remove(&e.prefix);
        }
        for (_, e) in u.announced() {
            if u.treat_as_withdraw() {
                expected.remove(&e.prefix);
            } else {
                expected.insert(e.prefix);
            }
        }
    }

    let cluster = Ipv4Addr::new(198, 18, 0, 100);
    let mut rib = Rib::new(RibConfig {
        local_as: 3856,
        router_id: Ipv4Addr::new(198, 18, 0, 1),
        cluster_id: cluster,
        decision: Default::default(),
        policy: Default::default(),
        ebgp_requires_policy: false,
    });
    let mut source = util::peer(1, 3856, true);
    source.router_id = Ipv4Addr::new(206, 220, 231, 55);
    rib.apply(RibCommand::PeerUp(source));
    rib.apply(RibCommand::PeerUp(util::peer(2, 3856, true)));

    // Commands are made one at a time, so the RSS growth is the RIB's.
    let rss_before = rss_kib();
    let start = Instant::now();
    let mut changes = 0usize;
    for u in &updates {
        let out = rib.apply(RibCommand::from_update(PeerId(1), u));
        changes += out.groups.iter().map(|g| g.changes.len()).sum::<usize>();
    }
    let elapsed = start.elapsed();

    let n = rib.loc_rib_len();
    assert_eq!(n, expected.len());
    // README: 577,706 unique prefixes announced, 3 withdrawn. The stream
    // withdraws 3 prefixes that it announced before and does not announce
    // again, hence 577,703 (the same count as the TDv2 dump of the session).
    // 4 of them carry AS 0 in AS_PATH: malformed (RFC 7607), treated as
    // withdrawn (RFC 7606 §7.2).
    assert_eq!(n, 577_703 - 4);

    let mut distinct = HashSet::new();
    let mut sent = 0usize;
    for (_, _, a) in rib.adj_rib_out_for(PeerId(2)) {
        sent += 1;
        assert_eq!(a.cluster_list().and_then(|l| l.first()), Some(&cluster));
        assert!(a.originator_id().is_some());
        distinct.insert(std::sync::Arc::as_ptr(&a) as usize);
    }
    assert_eq!(sent, n);
    // The source is split-horizoned: it is sent nothing.
    assert_eq!(rib.adj_rib_out_for(PeerId(1)).count(), 0);
    // Sent in pages (a table streamed to a session, a ROUTE-REFRESH), the
    // same routes in the same order, each page resuming after the last.
    let t = Instant::now();
    let whole: Vec<_> = rib.adj_rib_out_for(PeerId(2)).collect();
    eprintln!("adj-rib-out whole: {:?}", t.elapsed());
    for family in [None, Some(Family::IPV4_UNICAST)] {
        let t = Instant::now();
        let (mut paged, mut after, mut pages) = (Vec::new(), None, 0);
        loop {
            let (routes, next) = rib.adj_rib_out_page(PeerId(2), family, after, 4096);
            assert!(routes.len() <= 4096);
            paged.extend(routes);
            pages += 1;
            match next {
                Some(k) => after = Some(k),
                None => break,
            }
        }
        eprintln!("adj-rib-out in {pages} pages: {:?}", t.elapsed());
        assert_eq!(paged, whole, "{family:?}");
        assert!(pages >= n / 4096, "{pages} pages");
    }
    // What `/api/v1/cluster` costs (polled by tests and monitoring).
    let t = Instant::now();
    let digest = rib.digest();
    eprintln!("digest of the Loc-RIB: {:?} ({digest:016x})", t.elapsed());
    // Walked a page at a time (the API, off the thread that applies the
    // log): the same digest, whatever the page.
    for page in [1, 4096, 100_000] {
        let mut walk = speaker::rib::digest::DigestWalk::default();
        let mut pages = 1;
        while !walk.step(&rib, page) {
            pages += 1;
        }
        assert_eq!(walk.prefixes(), n, "pages of {page}");
        assert_eq!(walk.finish(), Some(digest), "pages of {page}");
        assert!(pages >= n / page, "{pages} pages of {page}");
    }
    let (routes, next) = rib.adj_rib_out_page(PeerId(2), Some(Family::IPV6_UNICAST), None, 4096);
    assert!(routes.is_empty() && next.is_none());
    let (routes, next) = rib.adj_rib_out_page(PeerId(1), None, None, 4096);
    assert!(routes.is_empty(), "split horizon: {next:?}");
    eprintln!(
        "replay: {} UPDATEs' commands applied in {:.2?} ({:.0} prefixes/s); Loc-RIB {n}; \
         {changes} group changes; {} distinct exported attribute sets; export cache {}",
        89_679,
        elapsed,
        n as f64 / elapsed.as_secs_f64(),
        distinct.len(),
        rib.export_cache_len()
    );
    // What the RIB holds, for memory work: RSS growth over the replay (the
    // decoded UPDATEs, and so the attribute sets, were already in memory).
    if let (Some(before), Some(after)) = (rss_before, rss_kib()) {
        eprintln!(
            "replay: RSS grew {} MiB, {} octets per route",
            after.saturating_sub(before) / 1024,
            after.saturating_sub(before) * 1024 / n as u64
        );
    }

    // The source goes down: the client is sent a withdrawal of everything.
    let rss_before = rss_kib();
    let start = Instant::now();
    let out = rib.apply(RibCommand::PeerDown { peer: PeerId(1) });
    let elapsed = start.elapsed();
    let withdrawn: usize = out
        .groups
        .iter()
        .flat_map(|g| &g.changes)
        .filter(|c| c.attrs.is_none())
        .count();
    assert_eq!(withdrawn, n);
    assert_eq!(rib.loc_rib_len(), 0);
    assert_eq!(rib.adj_rib_out_for(PeerId(2)).count(), 0);
    if let (Some(before), Some(after)) = (rss_before, rss_kib()) {
        eprintln!(
            "replay: source down: {withdrawn} withdrawals in {elapsed:.2?}, RSS grew {} MiB",
            after.saturating_sub(before) / 1024
        );
    }
}

/// Resident set size of this process in KiB (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
