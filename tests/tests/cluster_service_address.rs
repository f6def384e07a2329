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
//! - `reflex ctl move` hands it over the same way.
//!
//! After each, exactly one member holds the address: the owner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::Bird;
use reflex_tests::cluster::{
    Cluster, client_neighbor, established_neighbors, owner_of, source_and_clients, three_and_three,
};
use reflex_tests::continuity::{Sampler, check_counts};
use reflex_tests::netns::{Node, wait_for};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Routes the source announces.
const ROUTES: u32 = 5000;
const TOKEN: &str = "a-service-address-token";

/// The service address on the members' LAN (host 100 of its /24).
fn service_address(members: &[Node]) -> Ipv4Addr {
    let o = members[0].v4.octets();
    Ipv4Addr::new(o[0], o[1], o[2], 100)
}

fn neighbors(source: &Node, client: &Node, service: Ipv4Addr) -> String {
    let mut c = format!("[api]\ntoken = \"{TOKEN}\"\n");
    c.push_str(&client_neighbor(source, 30, "connect-retry = 2\n"));
    c.push_str(&client_neighbor(
        client,
        30,
        &format!(
            "connect-retry = 2\nrestart-time = 60\nservice-address = \"{service}/24\"\nservice-interface = \"eth0\"\n"
        ),
    ));
    c
}

/// The client: one BGP session, to the service address.
fn client_text(me: &Node, service: Ipv4Addr) -> String {
    format!(
        "router id {me};\nlog stderr all;\ndebug protocols {{ states, events }};\nprotocol device {{}}\n\
         protocol bgp svc {{\n  local {me} as 65000;\n  neighbor {service} as 65000;\n  \
         hold time 30;\n  connect retry time 2;\n  error wait time 1, 5;\n  direct;\n  \
         graceful restart on;\n  graceful restart time 60;\n  ipv4 {{ import all; export none; }};\n}}\n",
        me = me.v4
    )
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
        assert_ne!(
            self.since(),
            since,
            "{name}: the client's session never went down (a new member runs it)"
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
        assert!(failures.is_empty(), "{name}: {failures:?}");
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
    let (src, client) = (others[0].clone(), others[1].clone());
    let service = service_address(&members);
    let cluster = Cluster::start_listening(
        members.clone(),
        dir.path(),
        &neighbors(&src, &client, service),
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
    let bird =
        Arc::new(Bird::start_text(&client, dir.path(), &client_text(&client, service)).unwrap());
    let mut lab = Lab {
        cluster,
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
        let out = reflex_tests::reflex::ctl(
            &lab.members[0],
            Some(TOKEN),
            &["move", &lab.client.v4.to_string(), "--to", &to.to_string()],
        );
        assert_eq!(out.0, Some(0), "{}", out.2);
    });
    assert_eq!(moved, to);
}
