//! One round: the router under test started between the replay source
//! (an IPv4 table over IPv4, an IPv6 table over IPv6) and two fresh BIRD
//! clients (a session of each family each), and what the clients hold
//! once it settled.

use crate::config::{
    EBGP_CLIENT_AS, Nodes, ROUTER_AS, SOURCE_AS, bird_config, frr_config, reflex_config,
};
use crate::view::{self, View};
use reflex_tests::bird::Bird;
use reflex_tests::frr::Frr;
use reflex_tests::netns::{Daemon, wait_for};
use reflex_tests::replay::{Sender, Source, Table};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The router under test, stopped on drop.
enum Router {
    Frr(Frr),
    Reflex(#[allow(dead_code)] Daemon),
}

/// The clients' views, in this order: (name, BIRD client, BIRD table).
pub const VIEWS: [(&str, Client, &str); 4] = [
    ("ibgp", Client::Ibgp, "master4"),
    ("ebgp", Client::Ebgp, "master4"),
    ("ibgp6", Client::Ibgp, "master6"),
    ("ebgp6", Client::Ebgp, "master6"),
];

#[derive(Clone, Copy)]
pub enum Client {
    Ibgp,
    Ebgp,
}

/// Waits until the clients' tables have stopped changing: for a few
/// seconds once they hold what `expect` says they will get (when it
/// knows), for longer otherwise (then the comparison tells what is
/// missing). The counts they settled on.
fn settle(
    clients: &[(&Bird, &str)],
    what: &str,
    expect: &dyn Fn() -> Option<Vec<usize>>,
) -> Vec<usize> {
    const QUIET: Duration = Duration::from_secs(5);
    const QUIET_UNEXPECTED: Duration = Duration::from_secs(20);
    let start = Instant::now();
    let mut last = Vec::new();
    let mut since = Instant::now();
    loop {
        let now: Vec<usize> = clients
            .iter()
            .map(|(b, table)| b.route_count_in(table).unwrap_or(0))
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

/// What FRR says it has sent to each of `peers` (`pfxSnt`), each in its
/// own family's summary.
fn frr_sent(frr: &Frr, peers: &[IpAddr]) -> Option<Vec<usize>> {
    peers
        .iter()
        .map(|p| {
            let (family, key) = match p {
                IpAddr::V4(_) => ("ipv4", "ipv4Unicast"),
                IpAddr::V6(_) => ("ipv6", "ipv6Unicast"),
            };
            let j = frr.json(&format!("show bgp {family} unicast summary json"))?;
            // Some versions wrap it in the family's name.
            let peers_json = j.get(key).unwrap_or(&j).get("peers")?;
            let n = peers_json.get(&p.to_string())?.get("pfxSnt")?.as_u64()?;
            usize::try_from(n).ok()
        })
        .collect()
}

/// BIRD's table, dumped and read back once the file holds all of it.
fn dump(bird: &Bird, table: &str, path: &Path) -> View {
    let expected = bird.route_count_in(table).unwrap();
    bird.mrt_dump_table(table, path).unwrap();
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
/// clients; what the clients hold, in the order of [`VIEWS`], once it all
/// settled. `tables`: IPv4 and IPv6. `hint`: what the clients hold after
/// an earlier round.
pub fn round(
    name: &str,
    n: &Nodes,
    dir: &Path,
    tables: [&Arc<Table>; 2],
    hint: Option<Vec<usize>>,
) -> Vec<View> {
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
        for protocol in ["upstream", "upstream6"] {
            let up = wait_for(60, || b.bgp_state(protocol).filter(|s| s == "Established"));
            assert!(
                up.is_some(),
                "{name}: client {protocol} not established: {:?}\n{}",
                b.birdc(&format!("show protocols all {protocol}")),
                reflex_tests::frr::tail(&dir.join(format!("bird-{}.log", b.node().ns)), 20)
            );
        }
    }
    let sender = Sender {
        address: n.source.v4,
        address_v6: n.source.v6,
        local_as: SOURCE_AS,
        peer_as: ROUTER_AS,
    };
    let sources = [
        Source::start(&n.source.ns, n.router.v4, sender, tables[0].clone()),
        Source::start(&n.source.ns, n.router.v6, sender, tables[1].clone()),
    ];
    let took: Vec<Duration> = sources
        .iter()
        .map(|s| {
            s.wait_sent(Duration::from_secs(180))
                .unwrap_or_else(|e| panic!("{name}: replay: {e}"))
        })
        .collect();
    let client = |c: Client| match c {
        Client::Ibgp => (&ibgp, n.ibgp.clone()),
        Client::Ebgp => (&ebgp, n.ebgp.clone()),
    };
    let peers: Vec<IpAddr> = VIEWS
        .iter()
        .map(|(_, c, table)| {
            let node = client(*c).1;
            if *table == "master4" {
                IpAddr::V4(node.v4)
            } else {
                IpAddr::V6(node.v6)
            }
        })
        .collect();
    let expect = || match &router {
        Router::Frr(f) => frr_sent(f, &peers),
        Router::Reflex(_) => hint.clone(),
    };
    let watched: Vec<(&Bird, &str)> = VIEWS
        .iter()
        .map(|(_, c, table)| (client(*c).0, *table))
        .collect();
    let counts = settle(&watched, name, &expect);
    let expected = expect();
    let views: Vec<View> = VIEWS
        .iter()
        .map(|(view, c, table)| dump(client(*c).0, table, &dir.join(format!("{view}.mrt"))))
        .collect();
    for (source, (table, took)) in sources.iter().zip(tables.iter().zip(&took)) {
        assert_eq!(
            source.state(),
            reflex_tests::replay::State::Sent {
                updates: table.updates,
                took: *took
            },
            "{name}: the source's {} session did not stay up",
            table.family
        );
    }
    eprintln!(
        "{name}: tables sent in {:.1} s and {:.1} s; clients hold {counts:?} routes (expected {expected:?}); round took {:.1} s",
        took[0].as_secs_f64(),
        took[1].as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    drop(sources);
    drop(router);
    drop((ibgp, ebgp));
    views
}
