//! RFC 8212 and route-maps against BIRD: an eBGP neighbour without
//! policy exchanges nothing with Reflex; once import and export route-maps
//! are added by reload (SIGHUP), what they permit flows, changed as they
//! say, and a changed policy applies too, with no session reset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig, same_output};
use reflex_tests::netns::{Lan, Node, wait_for};
use std::net::IpAddr;
use std::path::Path;

const POLICY: &str = r#"
[prefix-list.FROM_PEER]
entries = [ { action = "permit", prefix = "198.19.10.0/24" } ]

[[route-map.IN]]
action = "permit"
match = { prefix-list = "FROM_PEER" }
set = { local-pref = 300, community-add = ["65000:10"] }

[[route-map.OUT]]
action = "permit"
set = { med = 42 }
"#;

fn config(rr: &Node, data: &Path, ebgp: &Node, client: &Node, policy: &str) -> String {
    let with_policy = !policy.is_empty();
    let mut c = format!(
        "router-id = \"{rr}\"\nlocal-as = 65000\ndata-dir = \"{data}\"\n[listen]\naddresses = [\"{rr}\"]\n",
        rr = rr.v4,
        data = data.display()
    );
    c.push_str(policy);
    c.push_str(&format!(
        // MRAI 2 s: UPDATEs within it are held and leave together at its
        // end (the pacer's flush, exercised here); the eBGP default (30 s)
        // would hold the ones the test waits for too long.
        "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65001\nhold-time = 30\nmrai = 2\n",
        ebgp.v4
    ));
    if with_policy {
        c.push_str("import = \"IN\"\nexport = \"OUT\"\n");
    }
    // The client's routes are kept as received (soft reconfiguration): an
    // import map given to it re-runs over them, no ROUTE-REFRESH.
    c.push_str(&format!(
        "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\nhold-time = 30\nsoft-reconfiguration = true\n",
        client.v4
    ));
    if policy.contains("[[route-map.FROM_CLIENT]]") {
        c.push_str("import = \"FROM_CLIENT\"\n");
    }
    c
}

fn established(b: &Bird, what: &str) {
    let st = wait_for(30, || {
        b.bgp_state("reflector").filter(|s| s == "Established")
    });
    assert!(
        st.is_some(),
        "{what} not established: {:?}",
        b.birdc("show protocols all reflector")
    );
}

#[test]
fn an_ebgp_neighbour_exchanges_nothing_without_policy_and_what_a_reloaded_policy_permits_without_a_reset()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let peer = lan.node(2).unwrap();
    let client = lan.node(3).unwrap();
    let peer_bird = Bird::start(
        &peer,
        dir.path(),
        &BirdConfig {
            router_id: peer.v4,
            local_as: 65001,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes: vec!["198.19.10.0/24", "198.19.11.0/24"],
        },
    )
    .unwrap();
    let client_bird = Bird::start(
        &client,
        dir.path(),
        &BirdConfig {
            router_id: client.v4,
            local_as: 65000,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes: vec!["198.19.20.0/24"],
        },
    )
    .unwrap();

    // Without policy (RFC 8212): nothing in, nothing out.
    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    let reflex = reflex_tests::reflex::start(
        &rr,
        &first,
        &config(&rr, &first.join("data"), &peer, &client, ""),
    )
    .unwrap();
    established(&peer_bird, "eBGP neighbour");
    established(&client_bird, "client");
    // The routes did arrive, and were refused, saying why.
    let denied = wait_for(20, || {
        reflex_tests::reflex::log(&first)
            .contains("denied by import policy")
            .then_some(())
    });
    assert!(denied.is_some(), "{}", reflex_tests::reflex::log(&first));
    // The client's route had time to reach the eBGP neighbour, had it
    // been sent: the client's own session took as long.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(client_bird.route("198.19.10.0/24").is_none());
    assert!(client_bird.route("198.19.11.0/24").is_none());
    assert!(peer_bird.route("198.19.20.0/24").is_none());

    // A policy added by reload (SIGHUP), with no session reset: IN
    // permits 198.19.10.0/24 (local-pref 300, a community), not
    // 198.19.11.0/24; OUT sends with MED 42.
    let since_peer = since(&peer_bird);
    let since_client = since(&client_bird);
    assert!(!since_peer.is_empty() && !since_client.is_empty());
    let conf = first.join("reflex.toml");
    let log = || reflex_tests::reflex::log(&first);
    std::fs::write(
        &conf,
        config(&rr, &first.join("data"), &peer, &client, POLICY),
    )
    .unwrap();
    reflex.signal("HUP").unwrap();
    let got = wait_for(40, || client_bird.route("198.19.10.0/24"));
    assert!(
        got.is_some(),
        "198.19.10.0/24 missing at the client after reload\n{}",
        log()
    );
    assert!(
        log().contains("asked the peer to send its routes again (ROUTE-REFRESH)"),
        "{}",
        log()
    );
    assert_eq!(
        client_bird
            .route_attr("198.19.10.0/24", "BGP.local_pref")
            .as_deref(),
        Some("300")
    );
    let comms = client_bird
        .route_attr("198.19.10.0/24", "BGP.community")
        .unwrap_or_default();
    assert!(comms.contains("(65000,10)"), "{comms}");
    let out = wait_for(20, || peer_bird.route("198.19.20.0/24"));
    assert!(
        out.is_some(),
        "198.19.20.0/24 missing at the eBGP neighbour: {:?} {:?}\n{}",
        peer_bird.birdc("show route all"),
        peer_bird.birdc("show protocols all reflector"),
        log()
    );
    assert_eq!(
        peer_bird.route_attr("198.19.20.0/24", "BGP.med").as_deref(),
        Some("42")
    );
    assert_eq!(
        peer_bird
            .route_attr("198.19.20.0/24", "BGP.as_path")
            .as_deref(),
        Some("65000")
    );
    // Denied by the prefix list: never at the client.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(client_bird.route("198.19.11.0/24").is_none(), "{}", log());

    // A changed policy by reload: IN now permits both prefixes (the
    // ROUTE-REFRESH brings 198.19.11.0/24 back), OUT sets MED 43 (the
    // difference is sent).
    let changed = POLICY
        .replace(
            "prefix = \"198.19.10.0/24\"",
            "prefix = \"198.19.10.0/23\", le = 24",
        )
        .replace("med = 42", "med = 43");
    std::fs::write(
        &conf,
        config(&rr, &first.join("data"), &peer, &client, &changed),
    )
    .unwrap();
    reflex.signal("HUP").unwrap();
    let med = wait_for(20, || {
        peer_bird
            .route_attr("198.19.20.0/24", "BGP.med")
            .filter(|m| m == "43")
    });
    assert!(med.is_some(), "MED 43 not at the eBGP neighbour\n{}", log());
    let back = wait_for(20, || client_bird.route("198.19.11.0/24"));
    assert!(
        back.is_some(),
        "198.19.11.0/24 not at the client\n{}",
        log()
    );

    // An import map for the client (whose routes are kept as received):
    // it re-runs over them, and its route is withdrawn from the eBGP
    // neighbour.
    let deny_client = format!("{changed}\n[[route-map.FROM_CLIENT]]\naction = \"deny\"\n");
    std::fs::write(
        &conf,
        config(&rr, &first.join("data"), &peer, &client, &deny_client),
    )
    .unwrap();
    reflex.signal("HUP").unwrap();
    let gone = wait_for(20, || {
        peer_bird.route("198.19.20.0/24").is_none().then_some(())
    });
    assert!(
        gone.is_some(),
        "198.19.20.0/24 still at the eBGP neighbour\n{}",
        log()
    );
    let rerun: Vec<String> = reflex_tests::reflex::peer_lines(
        &first,
        &client,
        "re-ran over the routes kept as received",
    );
    assert_eq!(rerun.len(), 1, "{}", log());
    // Everything it sent was kept, and all of it is denied now.
    let field = |name: &str| {
        rerun[0]
            .split(&format!("{name}="))
            .nth(1)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u32>().ok())
    };
    assert!(field("kept") >= Some(1), "{}", rerun[0]);
    assert_eq!(field("kept"), field("denied"), "{}", rerun[0]);
    assert!(
        reflex_tests::reflex::peer_lines(&first, &client, "ROUTE-REFRESH").is_empty(),
        "{}",
        log()
    );

    // An invalid configuration is refused whole: nothing changes.
    std::fs::write(
        &conf,
        config(
            &rr,
            &first.join("data"),
            &peer,
            &client,
            &changed.replace("med = 43", "med = \"lots\""),
        ),
    )
    .unwrap();
    reflex.signal("HUP").unwrap();
    let refused = wait_for(10, || log().contains("configuration refused").then_some(()));
    assert!(refused.is_some(), "{}", log());
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(peer_bird.route("198.19.20.0/24").is_none(), "{}", log());
    assert!(client_bird.route("198.19.11.0/24").is_some(), "{}", log());

    // The client asks for our routes again (BIRD's `reload in`: a
    // ROUTE-REFRESH, framed by BoRR/EoRR when both have enhanced route
    // refresh, after which BIRD drops what was not re-sent): answered,
    // and it keeps the same routes.
    let before = client_bird.birdc("show route protocol reflector").unwrap();
    client_bird.birdc("reload in reflector").unwrap();
    let answered = wait_for(10, || {
        log().contains("route refresh answered").then_some(())
    });
    assert!(answered.is_some(), "{}", log());
    std::thread::sleep(std::time::Duration::from_secs(2));
    let after = client_bird.birdc("show route protocol reflector").unwrap();
    assert!(same_output(&after, &before), "{after}\n{before}");
    assert!(client_bird.route("198.19.10.0/24").is_some());

    // No session was reset by any of it.
    let shown = |b: &Bird| b.birdc("show protocols all reflector").unwrap_or_default();
    assert!(
        same_output(&since(&peer_bird), &since_peer),
        "{}\n{}",
        shown(&peer_bird),
        log()
    );
    assert!(
        same_output(&since(&client_bird), &since_client),
        "{}\n{}",
        shown(&client_bird),
        log()
    );
    assert_eq!(log().matches("session established").count(), 2, "{}", log());
}

/// When the BIRD session to Reflex last changed state (`show protocols`'
/// Since column): the same after a reload means no reset.
fn since(b: &Bird) -> String {
    let out = b.birdc("show protocols reflector").unwrap_or_default();
    out.lines()
        .find(|l| l.starts_with("reflector"))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap_or_default()
        .to_string()
}
