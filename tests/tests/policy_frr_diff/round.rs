//! One round: the router under test started between the replay source
//! and two fresh BIRD clients, and what the clients hold once it settled.

use crate::config::{
    EBGP_CLIENT_AS, Nodes, ROUTER_AS, SOURCE_AS, bird_config, frr_config, reflex_config,
};
use crate::view::{self, View};
use reflex_tests::bird::Bird;
use reflex_tests::frr::Frr;
use reflex_tests::netns::{Daemon, wait_for};
use reflex_tests::replay::{Sender, Source, Table};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
pub fn round(
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
