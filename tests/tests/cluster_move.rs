//! Sessions between members of a three-member cluster: an operator moves
//! a client's session to another member (`reflex ctl move`, the owner map
//! through the log) and the client's routes stay everywhere; then the
//! member running the other client's session is killed, and the leader
//! gives that session to a member alive, which already holds its routes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::Bird;
use reflex_tests::cluster::{Cluster, bird_client, client_neighbors, three_and_three};
use reflex_tests::http::get;
use reflex_tests::netns::{Node, wait_for};

const TOKEN: &str = "a-cluster-move-token";
const ROUTE_A: &str = "198.19.70.0/24";
const ROUTE_B: &str = "198.19.71.0/24";

/// The owner map as member `m` serves it: client address to member id.
fn owners(m: &Node) -> Option<serde_json::Value> {
    let r = get(&m.ns, "127.0.0.1:8179".parse().unwrap(), "/api/v1/cluster").ok()?;
    let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    Some(v["owners"].clone())
}

fn owner_of(m: &Node, client: &Node) -> Option<u64> {
    owners(m)?[client.v4.to_string()].as_u64()
}

fn established_with(b: &Bird, member: u64) -> bool {
    b.bgp_state(&format!("m{member}"))
        .is_some_and(|s| s.eq_ignore_ascii_case("established"))
}

fn ctl(node: &Node, args: &[&str]) -> reflex_tests::reflex::CtlOutput {
    reflex_tests::reflex::ctl(node, Some(TOKEN), args)
}

#[test]
fn a_session_moves_on_request_and_off_a_dead_member() {
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, clients) = three_and_three().unwrap();
    let neighbors = format!(
        "[api]\ntoken = \"{TOKEN}\"\n{}",
        client_neighbors(&clients[..2])
    );
    let mut cluster = Cluster::start_with(members.clone(), dir.path(), &neighbors).unwrap();
    let a = bird_client(&clients[0], &members, dir.path(), vec![ROUTE_A]).unwrap();
    let b = bird_client(&clients[1], &members, dir.path(), vec![ROUTE_B]).unwrap();
    let dirs = cluster.dirs.clone();
    // What each member did with sessions and owners, for failures.
    let tail = |_: usize| {
        let mut out = String::new();
        for (i, d) in dirs.iter().enumerate() {
            out.push_str(&format!("--- member {}\n", i + 1));
            for l in reflex_tests::reflex::log(d).lines().filter(|l| {
                [
                    "owners",
                    "stopping the session",
                    "session established",
                    "session down",
                    "registering",
                ]
                .iter()
                .any(|w| l.contains(w))
            }) {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    };
    let both = wait_for(60, || {
        let oa = owner_of(&members[0], &clients[0])?;
        let ob = owner_of(&members[0], &clients[1])?;
        (established_with(&a, oa)
            && established_with(&b, ob)
            && a.route(ROUTE_B).is_some()
            && b.route(ROUTE_A).is_some())
        .then_some((oa, ob))
    });
    let (from, owner_b) = both.unwrap_or_else(|| panic!("not up:\n{}", tail(0)));

    // Each member knows what release every member runs (issue 17 §6), as
    // they say in their answers to pings, and so the newest store format
    // all of them read (what a command of a newer format waits for).
    for m in &members {
        let said = wait_for(10, || {
            let (code, out, _) = ctl(m, &["--json", "cluster"]);
            let v: serde_json::Value = serde_json::from_str(&out).ok()?;
            let builds = v["member_builds"].as_object()?.clone();
            (code == Some(0) && builds.len() == 3 && builds.values().all(|b| b.is_string()))
                .then_some(v)
        });
        let v =
            said.unwrap_or_else(|| panic!("{}: builds not said: {:?}", m.ns, ctl(m, &["cluster"])));
        let this = format!(
            "{} (format {})",
            env!("CARGO_PKG_VERSION"),
            v["store_format"]
        );
        for id in ["1", "2", "3"] {
            assert_eq!(v["member_builds"][id], this.as_str(), "{v}");
        }
        assert_eq!(v["format_read_by_all"], v["store_format"], "{v}");
        let (_, text, _) = ctl(m, &["cluster"]);
        assert!(
            text.lines()
                .any(|l| l.starts_with("member_builds") && l.contains(&this)),
            "{text}"
        );
    }

    // Move A's session to another member, asking member 3 (the write goes
    // to the leader).
    let to = if from == 1 { 2 } else { 1 };
    let (code, out, err) = ctl(
        &members[2],
        &["move", &clients[0].v4.to_string(), "--to", &to.to_string()],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("moving"), "{out}");
    let moved = wait_for(40, || {
        (members.iter().all(|m| owner_of(m, &clients[0]) == Some(to))
            && established_with(&a, to)
            && !established_with(&a, from)
            && b.route(ROUTE_A).is_some()
            && a.route(ROUTE_B).is_some())
        .then_some(())
    });
    assert!(moved.is_some(), "not moved:\n{}", tail(0));
    // Refused: a member that is not in the cluster, a neighbour that is
    // not configured.
    let (code, _, err) = ctl(
        &members[0],
        &["move", &clients[0].v4.to_string(), "--to", "9"],
    );
    assert_eq!(code, Some(4), "{err}");
    assert!(
        err.contains("409") && err.contains("member 9 is not a voter"),
        "{err}"
    );
    let (code, _, err) = ctl(&members[0], &["move", "198.18.250.250", "--to", "1"]);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("404"), "{err}");

    // Kill the member that runs B's session: its Raft port refuses
    // connections at once, so the leader gives B's session to a member
    // alive without waiting out 2.5 s of silence (`MEMBER_DEAD_AFTER`;
    // a leader killed is replaced first, after the voters' 2 s lease);
    // B's session comes up there, and the routes are where they were.
    let dead = owner_b;
    let led = cluster.leader(0);
    let killed = std::time::Instant::now();
    cluster.kill(dead as usize - 1);
    let alive: Vec<usize> = (1..=3).filter(|m| *m as u64 != dead).collect();
    let asked = &members[alive[0] - 1];
    let reassigned = wait_for(30, || {
        owner_of(asked, &clients[1])
            .is_some_and(|o| o != dead)
            .then(|| killed.elapsed())
    });
    eprintln!(
        "member {dead} killed (the leader: {led:?}): B's session reassigned after {reassigned:?}"
    );
    if led != Some(dead) {
        let bound = std::time::Duration::from_millis(2000);
        assert!(
            reassigned.is_some_and(|r| r < bound),
            "a killed follower's sessions reassigned after {reassigned:?}, not within {bound:?} (its refused connections say it is gone)\n{}",
            tail(alive[0] - 1)
        );
    }
    let failed_over = wait_for(60, || {
        let o = owner_of(asked, &clients[1])?;
        (o != dead && established_with(&b, o) && b.route(ROUTE_A).is_some()).then_some(o)
    });
    eprintln!(
        "A moved from member {from} to {to}; member {dead} (B's) killed, B now on {failed_over:?}"
    );
    assert!(
        failed_over.is_some(),
        "B's session not taken over:\n{}",
        tail(alive[0] - 1)
    );
    assert!(
        wait_for(30, || a.route(ROUTE_B)).is_some(),
        "A lost B's route"
    );
}
