//! The routing policy is replicated state: a reload on one member of a
//! three-member cluster changes what a client served by another member is
//! sent, every member applies the same policy version, and a member that
//! restarts with its older file does not undo it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::cluster::{Cluster, bird_client, client_neighbors, three_and_three};
use reflex_tests::netns::wait_for;
use reflex_tests::reflex::log;

const ROUTE: &str = "198.19.70.0/24";

fn policy(med: u32) -> String {
    format!("\n[[route-map.OUT]]\naction = \"permit\"\nset = {{ med = {med} }}\n")
}

/// Client 0 without a map, client 1 with `OUT`.
fn neighbors(clients: &[reflex_tests::netns::Node], med: u32) -> String {
    let mut n = client_neighbors(&clients[..2]);
    let second = n.rfind("[[neighbor]]").unwrap();
    let end = n[second..].find("idle-hold = 1\n").unwrap() + second + "idle-hold = 1\n".len();
    n.insert_str(end, "export = \"OUT\"\n");
    format!("{}{n}", policy(med))
}

#[test]
fn a_reload_on_one_member_is_the_policy_of_all() {
    let dir = tempfile::tempdir().unwrap();
    let (_lan, members, clients) = three_and_three().unwrap();
    let mut cluster =
        Cluster::start_with(members.clone(), dir.path(), &neighbors(&clients, 10)).unwrap();
    // Client 0 on member 1, client 1 on member 2 (the balanced owners).
    let _source = bird_client(&clients[0], &members, dir.path(), vec![ROUTE]).unwrap();
    let sink = bird_client(&clients[1], &members, dir.path(), vec![]).unwrap();
    let med = |want: &'static str| {
        wait_for(60, || {
            sink.route_attr(ROUTE, "BGP.med").filter(|m| m == want)
        })
    };
    assert!(
        med("10").is_some(),
        "MED 10 not at client 1: {:?}\n{}",
        sink.birdc("show route all"),
        reflex_tests::reflex::log_tail(&cluster.dirs[1])
    );
    let dirs = cluster.dirs.clone();
    let applied = |i: usize, version: u32| {
        let l = log(&dirs[i]);
        l.contains(&format!("version={version} routing policy applied"))
            || l.contains(&format!("routing policy applied version={version}"))
    };
    for i in 0..3 {
        assert!(applied(i, 1), "member {}: {}", i + 1, log(&cluster.dirs[i]));
    }

    // Member 3 (which runs neither session) reads a new file: MED 20.
    let conf3 = cluster.dirs[2].join("reflex.toml");
    let text = std::fs::read_to_string(&conf3)
        .unwrap()
        .replace("med = 10", "med = 20");
    std::fs::write(&conf3, &text).unwrap();
    cluster.configs[2] = text;
    cluster.daemons[2].as_ref().unwrap().signal("HUP").unwrap();
    assert!(
        med("20").is_some(),
        "MED 20 not at client 1 after member 3's reload\n{}",
        reflex_tests::reflex::log_tail(&cluster.dirs[1])
    );
    for i in 0..3 {
        let v2 = wait_for(20, || applied(i, 2).then_some(()));
        assert!(v2.is_some(), "member {}: {}", i + 1, log(&cluster.dirs[i]));
    }

    // Member 2 restarts with its file (still MED 10): the cluster's policy
    // stays, and its session comes back with MED 20.
    cluster.kill(1);
    cluster.restart(1).unwrap();
    let kept = wait_for(30, || {
        log(&cluster.dirs[1])
            .contains("the cluster runs a newer routing policy")
            .then_some(())
    });
    assert!(kept.is_some(), "{}", log(&cluster.dirs[1]));
    // Client 1's session is back: on member 2, or on the member that took
    // it over while member 2 was down.
    let back = wait_for(60, || {
        (1..=3)
            .any(|m| {
                sink.bgp_state(&format!("m{m}"))
                    .is_some_and(|s| s.eq_ignore_ascii_case("established"))
            })
            .then_some(())
    });
    assert!(
        back.is_some(),
        "{}",
        reflex_tests::reflex::log_tail(&cluster.dirs[1])
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    for i in 0..3 {
        assert!(
            !applied(i, 3),
            "member {}: {}",
            i + 1,
            log(&cluster.dirs[i])
        );
    }
    assert!(
        med("20").is_some(),
        "{:?}\n{}",
        sink.birdc("show route all"),
        reflex_tests::reflex::log_tail(&cluster.dirs[1])
    );
    assert!(
        cluster.agree(30, 1).is_some(),
        "digests differ: {:?}",
        cluster.digests()
    );
}
