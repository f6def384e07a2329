//! Issue 16, a client that configures one reflector address: its
//! neighbour entry on the members has a service address
//! (`service-address`, `service-interface`), which the member running
//! the session holds on its interface and announces (gratuitous ARP).
//! The client, BIRD with graceful restart, peers with that address only;
//! a source BIRD peers with all three members. Read every 100 ms:
//!
//! - a SIGKILL of the owner: another member takes the session and the
//!   address over; the client never loses a route (it keeps the old
//!   session's as stale, RFC 4724) and its session comes back;
//! - the killed member restarts and lets go of the address it left;
//! - a SIGTERM of the new owner: the session is handed over (one member
//!   holds the address at a time, so not make-before-break), the client
//!   loses no route;
//! - `reflex ctl move` hands it over the same way;
//! - the owner's Raft links (only) cut: it closes the session as a
//!   restart and lets go of the address, another member takes both over,
//!   and a route a third BIRD (the prober, on another member) withdraws
//!   during the cut leaves the client with the new session's End-of-RIB
//!   (the same neighbour address, so the stale copy goes, RFC 4724 §4.2)
//!   within the lease and a second; the member cut off lets go of the
//!   address before the other takes it; the healing brings back no stale
//!   write.
//!
//! After each, exactly one member holds the address: the owner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::cluster::{
    Cluster, bird_service_client_text, client_neighbor, cut_raft, established_neighbors, owner_of,
    service_address, service_keys, source_and_clients, three_and_three,
};
use reflex_tests::continuity::{Sampler, check_counts};
use reflex_tests::netns::{Node, wait_for};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Routes the source announces.
const ROUTES: u32 = 5000;
const TOKEN: &str = "a-service-address-token";
/// The route the prober announces, then withdraws during the partition.
const PROBE: &str = "198.18.222.0/24";

fn neighbors(source: &Node, prober: &Node, client: &Node, service: Ipv4Addr) -> String {
    let mut c = format!("[api]\ntoken = \"{TOKEN}\"\n");
    c.push_str(&client_neighbor(source, 30, "connect-retry = 2\n"));
    c.push_str(&client_neighbor(prober, 30, "connect-retry = 2\n"));
    c.push_str(&client_neighbor(
        client,
        30,
        &format!(
            "connect-retry = 2\nrestart-time = 60\n{}",
            service_keys(service)
        ),
    ));
    c
}

/// The member owning `client`'s session, as the first member of
/// `members` that answers says.
fn owner(members: &[Node], client: &Node) -> Option<usize> {
    members
        .iter()
        .find_map(|m| owner_of(m, client))
        .map(|m| m as usize)
}

/// Whether `service` is on member `m`'s eth0.
fn holds(m: &Node, service: Ipv4Addr) -> bool {
    m.run(&["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
        .is_ok_and(|out| out.contains(&format!(" {service}/")))
}

/// The MAC address of `m`'s eth0.
fn mac_of(m: &Node) -> Option<String> {
    let out = m.run(&["ip", "-o", "link", "show", "dev", "eth0"]).ok()?;
    let at = out.find("link/ether ")? + "link/ether ".len();
    out.get(at..at + 17).map(String::from)
}

/// The MAC address `client`'s neighbour cache has for `service`.
fn cached_mac(client: &Node, service: Ipv4Addr) -> Option<String> {
    let out = client
        .run(&["ip", "neigh", "show", &service.to_string(), "dev", "eth0"])
        .ok()?;
    let at = out.find("lladdr ")? + "lladdr ".len();
    out.get(at..at + 17).map(String::from)
}

/// The members (1-based) holding `service`.
fn holders(members: &[Node], service: Ipv4Addr) -> Vec<usize> {
    (0..members.len())
        .filter(|i| holds(&members[*i], service))
        .map(|i| i + 1)
        .collect()
}

struct Lab {
    cluster: Cluster,
    /// The test's directory (the BIRD logs).
    dir: std::path::PathBuf,
    members: Vec<Node>,
    client: Node,
    bird: Arc<Bird>,
    service: Ipv4Addr,
}

impl Lab {
    /// When the client's session last changed state, as BIRD says.
    fn since(&self) -> Option<String> {
        let out = self.bird.birdc("show protocols svc").ok()?;
        let line = out.lines().find(|l| l.starts_with("svc "))?;
        line.split_whitespace().nth(4).map(String::from)
    }

    /// The client's session Established (on the owner, as the owner
    /// says too), its table full, the owner the only holder of the
    /// address; the owner (1-based).
    fn settled(&self, name: &str) -> usize {
        let client = self.client.v4.to_string();
        let ok = wait_for(120, || {
            let owner = owner(&self.members, &self.client)?;
            let on_owner = established_neighbors(&self.members[owner - 1])?;
            (self.bird.bgp_state("svc").as_deref() == Some("Established")
                && on_owner.contains(&client)
                && self.bird.prefixes().is_some_and(|n| n >= ROUTES as usize)
                && holders(&self.members, self.service) == vec![owner]
                && cached_mac(&self.client, self.service) == mac_of(&self.members[owner - 1]))
            .then_some(owner)
        });
        ok.unwrap_or_else(|| {
            panic!(
                "{name}: not settled: owner {:?}, session {:?}, {:?} prefixes, the address on members {:?}, the client's cache {:?} (members {:?})\n{}",
                owner(&self.members, &self.client),
                self.bird.bgp_state("svc"),
                self.bird.prefixes(),
                holders(&self.members, self.service),
                cached_mac(&self.client, self.service),
                self.members.iter().map(mac_of).collect::<Vec<_>>(),
                self.cluster
                    .dirs
                    .iter()
                    .map(|d| reflex_tests::reflex::log_tail(d))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
    }

    /// Runs `event` with the client read every 100 ms; checks that it
    /// never held fewer than the full table, and that the session ended
    /// on another member than `before`, which held the address alone.
    fn event(&mut self, name: &str, before: usize, event: impl FnOnce(&mut Lab)) -> usize {
        let mut sampler = Sampler::new();
        let bird = self.bird.clone();
        sampler.watch("client", move || bird.prefixes());
        let bird = self.bird.clone();
        sampler.watch("client session", move || {
            Some(usize::from(
                bird.bgp_state("svc").as_deref() == Some("Established"),
            ))
        });
        std::thread::sleep(Duration::from_secs(1));
        let since = self.since();
        let from = Instant::now();
        event(self);
        let after = self.settled(name);
        let now = self.since().unwrap_or_default();
        assert!(
            !reflex_tests::bird::same_output(&now, since.as_deref().unwrap_or_default()),
            "{name}: the client's session never went down (a new member runs it): since {now}"
        );
        let to = Instant::now();
        let series = sampler.finish();
        let (counts, session): (Vec<_>, Vec<_>) = series.iter().partition(|s| s.name == "client");
        let failures = check_counts(name, &counts, ROUTES as usize, from, to, |_| {
            Duration::from_secs(1)
        });
        let down = session[0].below(1, from, to);
        eprintln!(
            "{name}: the session moved from member {before} to member {after}; down {:.1} s (the client kept its routes as stale meanwhile)",
            down.as_secs_f64()
        );
        // What each member (before its restart too) and the client logged
        // last, DEBUG aside: a failure in CI has only this output.
        let logs = || {
            let bird_log = self.dir.join(format!("bird-{}.log", self.client.ns));
            let keep = self.cluster.keep_logs(
                "cluster-service-address-logs",
                std::slice::from_ref(&bird_log),
            );
            let tail = |path: &std::path::Path, n: usize| {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let kept: Vec<&str> = text.lines().filter(|l| !l.contains(" DEBUG ")).collect();
                kept[kept.len().saturating_sub(n)..].join("\n")
            };
            let mut out = format!("(whole logs in {})\n", keep.display());
            for (i, d) in self.cluster.dirs.iter().enumerate() {
                for file in ["reflex.log.1", "reflex.log.2", "reflex.log"] {
                    if d.join(file).exists() {
                        let text = tail(&d.join(file), 40);
                        out.push_str(&format!("--- member {} {file}\n{text}\n", i + 1));
                    }
                }
            }
            out.push_str(&format!("--- client BIRD\n{}", tail(&bird_log, 40)));
            out
        };
        assert!(failures.is_empty(), "{name}: {failures:?}\n{}", logs());
        assert_ne!(after, before, "{name}: the session did not move");
        after
    }
}

#[test]
fn a_client_of_one_service_address_keeps_its_routes_through_takeovers() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, others) = three_and_three().unwrap();
    let (src, client, prober) = (others[0].clone(), others[1].clone(), others[2].clone());
    let service = service_address(&members);
    let cluster = Cluster::start_listening(
        members.clone(),
        dir.path(),
        &neighbors(&src, &prober, &client, service),
        &[IpAddr::V4(service)],
    )
    .unwrap();
    let reaches: Vec<(String, &Node)> = members
        .iter()
        .enumerate()
        .map(|(i, m)| (format!("m{}", i + 1), m))
        .collect();
    let reaches: Vec<(&str, &Node)> = reaches.iter().map(|(n, m)| (n.as_str(), *m)).collect();
    let (_source, _) =
        source_and_clients(dir.path(), &src, &reaches, ROUTES, &[], &members).unwrap();
    let bird = Arc::new(
        Bird::start_text(
            &client,
            dir.path(),
            &bird_service_client_text(&client, service, 60),
        )
        .unwrap(),
    );
    let probe = Bird::start(
        &prober,
        dir.path(),
        &BirdConfig {
            router_id: prober.v4,
            local_as: 65000,
            neighbors: reaches
                .iter()
                .map(|(n, m)| (*n, IpAddr::V4(m.v4), 65000))
                .collect(),
            routes: vec![PROBE],
        },
    )
    .unwrap();
    let mut lab = Lab {
        cluster,
        dir: dir.path().to_path_buf(),
        members: members.clone(),
        client,
        bird,
        service,
    };
    let first = lab.settled("start");
    eprintln!("start: member {first} runs the session and holds {service}");

    // SIGKILL of the owner; restarted once another member took over.
    let second = lab.event("SIGKILL of the owner", first, |lab| {
        lab.cluster.kill(first - 1);
        let taken = wait_for(60, || {
            owner(&lab.members, &lab.client).filter(|o| *o != first)
        });
        assert!(taken.is_some(), "not taken over");
        lab.cluster.restart(first - 1).unwrap();
    });

    // SIGTERM of the new owner: its session is handed over as it drains.
    let third = lab.event("SIGTERM of the owner", second, |lab| {
        let mut d = lab.cluster.daemons[second - 1].take().unwrap();
        d.signal("TERM").unwrap();
        assert!(
            d.wait_exit(Duration::from_secs(90)),
            "the owner did not stop"
        );
        lab.cluster.restart(second - 1).unwrap();
    });

    // `reflex ctl move` to the member that runs it least recently.
    let to = (1..=3).find(|m| *m != third && *m != second).unwrap();
    let moved = lab.event("ctl move", third, |lab| {
        ctl_move(&lab.members[0], &lab.client, to);
    });
    assert_eq!(moved, to);

    let after = raft_partition(&mut lab, &prober, &probe, moved, "of the owner");

    // The same with the client's session on the leader: the others elect
    // a leader first.
    let leader = lab.cluster.leader(0).expect("a leader") as usize;
    if leader != after {
        ctl_move(&lab.members[0], &lab.client, leader);
        assert_eq!(lab.settled("ctl move to the leader"), leader);
    }
    raft_partition(
        &mut lab,
        &prober,
        &probe,
        leader,
        "of the owner, the leader",
    );
}

/// `reflex ctl move NEIGHBOR --to TO`, asked of `asked`; it must succeed.
fn ctl_move(asked: &Node, neighbor: &Node, to: usize) {
    let out = reflex_tests::reflex::ctl(
        asked,
        Some(TOKEN),
        &["move", &neighbor.v4.to_string(), "--to", &to.to_string()],
    );
    assert_eq!(out.0, Some(0), "{}", out.2);
}

/// The owner's Raft links (only) cut for 8 s: the withdrawal of the
/// prober's route reaches the client through the new owner's session.
/// The member that runs the client's session afterwards.
fn raft_partition(lab: &mut Lab, prober: &Node, probe: &Bird, owner: usize, of: &str) -> usize {
    // The prober's session on a member that stays in contact.
    if owner_of(&lab.members[0], prober) == Some(owner as u64) {
        let to = owner % 3 + 1;
        ctl_move(&lab.members[0], prober, to);
        let moved = wait_for(60, || {
            (owner_of(&lab.members[0], prober) == Some(to as u64)).then_some(())
        });
        assert!(moved.is_some(), "the prober's session did not move");
    }
    // Announced (again, after an earlier partition withdrew it).
    let _ = probe.birdc("enable announced");
    let held = wait_for(60, || lab.bird.route(PROBE).map(drop));
    assert!(held.is_some(), "the probe never reached the client");
    let led = lab.cluster.leader(owner % 3);
    let mut gone = None;
    let mut sessions_closed = None;
    let mut withdrawn_at = None;
    let event = &format!("Raft-only partition {of}");
    // How many members hold the address, read every 100 ms meanwhile.
    let mut holding = Sampler::new();
    let (members, service) = (lab.members.clone(), lab.service);
    holding.watch("holders", move || Some(holders(&members, service).len()));
    let from = Instant::now();
    let after = lab.event(event, owner, |lab| {
        let cut_at = Instant::now();
        cut_raft(&lab.members[owner - 1], true).unwrap();
        // The withdrawal, a second after the cut.
        std::thread::sleep(Duration::from_secs(1));
        probe.birdc("disable announced").unwrap();
        let at = Instant::now();
        withdrawn_at = Some(at - cut_at);
        let taken = wait_for(60, || {
            if sessions_closed.is_none()
                && established_neighbors(&lab.members[owner - 1])
                    .is_some_and(|e| !e.contains(&lab.client.v4.to_string()))
            {
                sessions_closed = Some(cut_at.elapsed());
            }
            if gone.is_none() && lab.bird.route(PROBE).is_none() {
                gone = Some(at.elapsed());
            }
            let others = (owner % 3) + 1;
            let moved = owner_of(&lab.members[others - 1], &lab.client)
                .is_some_and(|o| o as usize != owner);
            (moved && gone.is_some()).then_some(())
        });
        assert!(
            taken.is_some(),
            "not taken over, or the withdrawal never reached the client ({gone:?})"
        );
        // Heal once the client's session is back elsewhere.
        std::thread::sleep(Duration::from_secs(8).saturating_sub(cut_at.elapsed()));
        cut_raft(&lab.members[owner - 1], false).unwrap();
    });
    let holding = holding.finish();
    let to = Instant::now();
    let (gone, withdrawn_at) = (gone.unwrap(), withdrawn_at.unwrap());
    let was_leader = led == Some(owner as u64);
    eprintln!(
        "{event}: member {owner} (the leader: {was_leader}) closed the client's session {:.1} s after the cut; the prober withdrew {:.1} s after the cut; the client had the withdrawal {:.1} s later, through member {after}'s session; the address held by two members for {:.1} s, by none for {:.1} s",
        sessions_closed.map_or(f64::NAN, |d| d.as_secs_f64()),
        withdrawn_at.as_secs_f64(),
        gone.as_secs_f64(),
        holding[0].at_least(2, from, to).as_secs_f64(),
        holding[0].below(1, from, to).as_secs_f64(),
    );
    // The member cut off lets go of the address before another takes it
    // (one reading of slack: the readings are 100 ms apart).
    let doubled = holding[0].at_least(2, from, to);
    assert!(
        doubled <= Duration::from_millis(200),
        "{event}: two members held the address for {doubled:?}"
    );
    // Issue 16: within the lease and a second. A follower's lease is
    // 2.5 s (MEMBER_DEAD_AFTER); a leader's is the others' election (the
    // voters' 1 s lease, then 2 to 3 s more before a vote) and 2.5 s of
    // leading before the new leader moves a session: 6.5 s at most.
    let bound = Duration::from_millis(if was_leader { 7500 } else { 3500 });
    assert!(
        gone <= bound,
        "{event}: the withdrawal reached the client after {gone:?} (bound {bound:?})"
    );
    // No stale write: the probe stays withdrawn on every member once it
    // has caught up.
    for m in &lab.members {
        let back = wait_for(30, || {
            let r = reflex_tests::http::get(
                &m.ns,
                "127.0.0.1:8179".parse().unwrap(),
                &format!("/api/v1/rib?prefix={PROBE}"),
            )
            .ok()?;
            (r.status == 200 && !r.body.contains("198.18.222.0")).then_some(())
        });
        assert!(
            back.is_some(),
            "{}: the probe is back after the healing",
            m.v4
        );
    }
    assert!(
        lab.bird.route(PROBE).is_none(),
        "the client holds the probe again"
    );
    after
}
