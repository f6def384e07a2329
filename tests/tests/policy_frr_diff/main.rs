//! Differential policy test against FRR (issue 5). The same route-maps,
//! written for Reflex and for FRR (`policy.rs`), on the same real input (a
//! full IPv4 table replayed from ../shared/bgp-data), with FRR and then
//! Reflex as the router under test at the same address of one namespace
//! topology; what two BIRD clients receive from each is compared route by
//! route and attribute by attribute and must be identical, except for the
//! intended differences listed in `intended()` with their reasons.
//!
//! Topology (one LAN): a border router in AS 65000 (node 1), the replay
//! source as its eBGP neighbour in AS 65001 (node 2, import map IN), a
//! BIRD iBGP client in AS 65000 (node 3, export map OUT_IBGP: what import
//! set, LOCAL_PREF included, is visible there) and a BIRD eBGP client in
//! AS 65002 (node 4, export map OUT_EBGP: the eBGP rules around an export
//! map, our AS prepended after it, the next hop, MED and LOCAL_PREF
//! across the border). The routes are eBGP-learned, so FRR applies the
//! iBGP export map without `bgp route-reflector allow-outbound-policy`
//! (that is only for reflected routes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod compare;
mod policy;
mod view;

use compare::{Intended, compare};
use reflex_tests::bird::Bird;
use reflex_tests::frr::Frr;
use reflex_tests::netns::{Daemon, Lan, Node, wait_for};
use reflex_tests::replay::{Routes, Sender, Source, Table};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use view::View;

const ROUTER_AS: u32 = 65000;
const SOURCE_AS: u32 = 65001;
const EBGP_CLIENT_AS: u32 = 65002;

fn rib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/bgp-data/mrt/derived/DERIVED_rib-from-updates.et-header.2015_pch-as3856_fullv4.gz",
    )
}

/// The differences that are meant, with the reason for each.
fn intended() -> Vec<Intended> {
    vec![Intended {
        clients: &["ibgp", "ebgp"],
        reason: "communities in another order: FRR keeps each kind sorted, Reflex \
                 appends what a map adds; each kind is a set (RFC 1997, RFC 4360 §2, \
                 RFC 8092 §2), so both send the same",
        applies: |d| {
            let kinds = ["communities", "ext_communities", "large_communities"];
            let set = |v: &Option<String>| {
                let mut s: Vec<String> = v
                    .as_deref()
                    .unwrap_or("")
                    .split(' ')
                    .map(String::from)
                    .collect();
                s.sort();
                s
            };
            kinds.contains(&d.field.as_str()) && d.frr != d.reflex && set(&d.frr) == set(&d.reflex)
        },
    }]
}

struct Nodes {
    router: Node,
    source: Node,
    ibgp: Node,
    ebgp: Node,
    /// An address on the LAN that no node has: a next hop set by policy.
    nh: Ipv4Addr,
}

fn reflex_config(n: &Nodes, data: &Path) -> String {
    format!(
        r#"router-id = "{r}"
local-as = {ROUTER_AS}
data-dir = "{data}"
[listen]
addresses = ["{r}"]
{policy}
[[neighbor]]
address = "{src}"
remote-as = {SOURCE_AS}
passive = true
mrai = 0
import = "IN"

[[neighbor]]
address = "{ibgp}"
remote-as = {ROUTER_AS}
connect-retry = 2
export = "OUT_IBGP"

[[neighbor]]
address = "{ebgp}"
remote-as = {EBGP_CLIENT_AS}
connect-retry = 2
mrai = 0
export = "OUT_EBGP"
"#,
        r = n.router.v4,
        data = data.display(),
        policy = policy::with_next_hop(policy::REFLEX, n.nh),
        src = n.source.v4,
        ibgp = n.ibgp.v4,
        ebgp = n.ebgp.v4,
    )
}

fn frr_config(n: &Nodes) -> String {
    format!(
        "frr defaults traditional\nhostname router\nlog stdout informational\n!\n{policy}
router bgp {ROUTER_AS}
 bgp router-id {r}
 bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor {src} remote-as {SOURCE_AS}
 neighbor {src} passive
 neighbor {ibgp} remote-as {ROUTER_AS}
 neighbor {ibgp} timers connect 2
 neighbor {ebgp} remote-as {EBGP_CLIENT_AS}
 neighbor {ebgp} timers connect 2
 neighbor {ebgp} advertisement-interval 0
 address-family ipv4 unicast
  neighbor {src} activate
  neighbor {src} route-map IN in
  neighbor {ibgp} activate
  neighbor {ibgp} route-map OUT_IBGP out
  neighbor {ebgp} activate
  neighbor {ebgp} route-map OUT_EBGP out
 exit-address-family
!
",
        policy = policy::with_next_hop(policy::FRR, n.nh),
        r = n.router.v4,
        src = n.source.v4,
        ibgp = n.ibgp.v4,
        ebgp = n.ebgp.v4,
    )
}

/// A client that takes everything and sends nothing; next hops on the
/// LAN resolve directly (no IGP here), for iBGP too (`direct`). The table
/// holds private ASes, 65002 among them: `allow local as` keeps those
/// routes too, so that the client holds all that the router sent.
fn bird_config(me: &Node, local_as: u32, router: &Node) -> String {
    format!(
        "router id {me};\nlog stderr {{ warning, error, fatal, bug }};\nprotocol device {{}}\n\
         protocol bgp upstream {{\n  local {me} as {local_as};\n  neighbor {router} as {ROUTER_AS};\n  \
         hold time 90;\n  connect retry time 2;\n  error wait time 1, 5;\n  \
         direct;\n  allow local as;\n  ipv4 {{ import all; export none; }};\n}}\n",
        me = me.v4,
        router = router.v4,
    )
}

/// The router under test, stopped on drop.
enum Router {
    Frr(Frr),
    Reflex(#[allow(dead_code)] Daemon),
}

/// Waits until the clients' tables have stopped changing: for a few
/// seconds once they hold what `expect` says they will get (when it
/// knows), for longer otherwise (then the comparison tells what is
/// missing). The counts they settled on.
fn settle(clients: &[&Bird], what: &str, expect: &dyn Fn() -> Option<Vec<usize>>) -> Vec<usize> {
    const QUIET: Duration = Duration::from_secs(5);
    const QUIET_UNEXPECTED: Duration = Duration::from_secs(20);
    let start = Instant::now();
    let mut last = Vec::new();
    let mut since = Instant::now();
    loop {
        let now: Vec<usize> = clients
            .iter()
            .map(|b| b.route_count().unwrap_or(0))
            .collect();
        if now != last {
            last = now;
            since = Instant::now();
        } else if last.iter().all(|n| *n > 0) {
            let quiet = if expect().as_ref() == Some(&last) {
                QUIET
            } else {
                QUIET_UNEXPECTED
            };
            if since.elapsed() >= quiet {
                return last;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "{what}: the clients' tables did not settle: {last:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What FRR says it has sent to each of `peers` (`pfxSnt`).
fn frr_sent(frr: &Frr, peers: &[Ipv4Addr]) -> Option<Vec<usize>> {
    let j = frr.json("show bgp ipv4 unicast summary json")?;
    // Some versions wrap it in the family's name.
    let peers_json = j.get("ipv4Unicast").unwrap_or(&j).get("peers")?;
    peers
        .iter()
        .map(|p| {
            let n = peers_json.get(&p.to_string())?.get("pfxSnt")?.as_u64()?;
            usize::try_from(n).ok()
        })
        .collect()
}

/// BIRD's table, dumped and read back once the file holds all of it.
fn dump(bird: &Bird, path: &Path) -> View {
    let expected = bird.route_count().unwrap();
    bird.mrt_dump(path).unwrap();
    let mut last_err = String::new();
    let got = wait_for(60, || match view::read(path) {
        Ok(v) if v.len() == expected => Some(v),
        Ok(v) => {
            last_err = format!("{} of {expected} routes", v.len());
            None
        }
        Err(e) => {
            last_err = e;
            None
        }
    });
    got.unwrap_or_else(|| panic!("{}: dump incomplete: {last_err}", path.display()))
}

/// One round: the router under test between the source and two fresh
/// clients; what the clients hold (iBGP, eBGP) once it all settled.
/// `hint`: what the clients hold after an earlier round.
fn round(
    name: &str,
    n: &Nodes,
    dir: &Path,
    table: &Arc<Table>,
    hint: Option<Vec<usize>>,
) -> (View, View) {
    let t0 = Instant::now();
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let ibgp =
        Bird::start_text(&n.ibgp, &dir, &bird_config(&n.ibgp, ROUTER_AS, &n.router)).unwrap();
    let ebgp = Bird::start_text(
        &n.ebgp,
        &dir,
        &bird_config(&n.ebgp, EBGP_CLIENT_AS, &n.router),
    )
    .unwrap();
    let router = match name {
        "frr" => Router::Frr(Frr::start_text(&n.router, &dir, &frr_config(n), ROUTER_AS).unwrap()),
        _ => Router::Reflex(
            reflex_tests::reflex::start(&n.router, &dir, &reflex_config(n, &dir.join("data")))
                .unwrap(),
        ),
    };
    for b in [&ibgp, &ebgp] {
        let up = wait_for(60, || {
            b.bgp_state("upstream").filter(|s| s == "Established")
        });
        assert!(
            up.is_some(),
            "{name}: client not established: {:?}\n{}",
            b.birdc("show protocols all upstream"),
            reflex_tests::frr::tail(&dir.join(format!("bird-{}.log", b.node().ns)), 20)
        );
    }
    let sender = Sender {
        address: n.source.v4,
        local_as: SOURCE_AS,
        peer_as: ROUTER_AS,
    };
    let source = Source::start(&n.source.ns, n.router.v4, sender, table.clone());
    let took = source
        .wait_sent(Duration::from_secs(180))
        .unwrap_or_else(|e| panic!("{name}: replay: {e}"));
    let expect = || match &router {
        Router::Frr(f) => frr_sent(f, &[n.ibgp.v4, n.ebgp.v4]),
        Router::Reflex(_) => hint.clone(),
    };
    let counts = settle(&[&ibgp, &ebgp], name, &expect);
    let expected = expect();
    let views = (
        dump(&ibgp, &dir.join("ibgp.mrt")),
        dump(&ebgp, &dir.join("ebgp.mrt")),
    );
    assert_eq!(
        source.state(),
        reflex_tests::replay::State::Sent {
            updates: table.updates,
            took
        },
        "{name}: the source's session did not stay up"
    );
    eprintln!(
        "{name}: table sent in {:.1} s; clients hold {counts:?} routes (expected {expected:?}); round took {:.1} s",
        took.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    drop(source);
    drop(router);
    drop((ibgp, ebgp));
    views
}

/// Routes of a view whose attribute `field` satisfies `f`.
fn count(v: &View, field: &str, f: impl Fn(&str) -> bool) -> usize {
    v.values()
        .filter(|a| a.get(field).is_some_and(|x| f(x)))
        .count()
}

/// The policy did something everywhere it should: every marker and
/// every set shows on some routes (of Reflex's views, which equal FRR's
/// once the comparison passes).
fn coverage(ibgp: &View, ebgp: &View) -> Vec<(&'static str, usize)> {
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

#[test]
fn route_maps_give_the_clients_what_frr_gives_them() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let t0 = Instant::now();
    let routes = Routes::from_rib(&rib()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let router = lan.node(1).unwrap();
    let source = lan.node(2).unwrap();
    let nh = Ipv4Addr::from(u32::from(router.v4) + 8);
    let nodes = Nodes {
        router,
        source,
        ibgp: lan.node(3).unwrap(),
        ebgp: lan.node(4).unwrap(),
        nh,
    };
    let table = Arc::new(Table::encode(
        &routes,
        &Sender {
            address: nodes.source.v4,
            local_as: SOURCE_AS,
            peer_as: ROUTER_AS,
        },
    ));
    eprintln!(
        "table: {} prefixes in {} UPDATEs ({} entries left out as malformed), loaded in {:.1} s",
        table.prefixes,
        table.updates,
        routes.skipped,
        t0.elapsed().as_secs_f64()
    );
    drop(routes);
    let (frr_ibgp, frr_ebgp) = round("frr", &nodes, dir.path(), &table, None);
    let hint = Some(vec![frr_ibgp.len(), frr_ebgp.len()]);
    let (rfx_ibgp, rfx_ebgp) = round("reflex", &nodes, dir.path(), &table, hint);
    let intended = intended();
    let mut unexplained = 0;
    let mut report = String::new();
    for (client, f, r) in [
        ("ibgp", &frr_ibgp, &rfx_ibgp),
        ("ebgp", &frr_ebgp, &rfx_ebgp),
    ] {
        let o = compare(client, f, r, &intended);
        unexplained += o.unexplained;
        report.push_str(&o.report);
    }
    eprint!("{report}");
    let cov = coverage(&rfx_ibgp, &rfx_ebgp);
    for (what, n) in &cov {
        eprintln!("  coverage: {what}: {n}");
    }
    eprintln!("total {:.1} s", t0.elapsed().as_secs_f64());
    assert_eq!(unexplained, 0, "unexplained differences:\n{report}");
    let missing: Vec<_> = cov.iter().filter(|(_, n)| *n == 0).collect();
    assert!(
        missing.is_empty(),
        "policy parts that did nothing: {missing:?}"
    );
}
