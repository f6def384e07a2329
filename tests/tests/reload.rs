//! Hot reload (issue 7): a reflector with BIRD clients reads its file
//! again. Neighbours added start, removed ones stop with Cease / Peer
//! De-configured and their routes go, a changed one starts again with its
//! new timers, and an untouched session is not reset; an invalid file
//! changes nothing, whether it comes by SIGHUP, the API or `reflex ctl`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::http::{get, request};
use reflex_tests::netns::{Lan, Node, wait_for};
use reflex_tests::openapi::Document;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

const API: &str = "127.0.0.1:8179";
const TOKEN: &str = "a-reload-test-token";

/// A reflector (`rr`) whose route-reflector clients are `clients`, each
/// with its own extra lines.
fn config(rr: &Node, data: &Path, clients: &[(&Node, &str)]) -> String {
    let mut s = format!(
        "router-id = \"{rr}\"\nlocal-as = 65000\ndata-dir = \"{data}\"\n[listen]\naddresses = [\"{rr}\"]\n[api]\ntoken = \"{TOKEN}\"\n[timers]\nconnect-retry = 1\nidle-hold = 1\n",
        rr = rr.v4,
        data = data.display()
    );
    for (c, extra) in clients {
        s.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nremote-as = 65000\nroute-reflector-client = true\n{extra}",
            c.v4
        ));
    }
    s
}

fn bird(node: &Node, rr: &Node, dir: &Path, route: &'static str) -> Bird {
    Bird::start(
        node,
        dir,
        &BirdConfig {
            router_id: node.v4,
            local_as: 65000,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes: vec![route],
        },
    )
    .unwrap()
}

fn neighbor(rr: &Node, client: &Node) -> serde_json::Value {
    let api: SocketAddr = API.parse().unwrap();
    let r = get(&rr.ns, api, &format!("/api/v1/neighbors/{}", client.v4)).unwrap();
    serde_json::from_str(&r.body).unwrap()
}

fn addresses(rr: &Node) -> Vec<String> {
    let r = get(&rr.ns, API.parse().unwrap(), "/api/v1/neighbors").unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["address"].as_str().unwrap().to_string())
        .collect()
}

fn established(rr: &Node, client: &Node) -> bool {
    neighbor(rr, client)["state"] == "Established"
}

/// `reflex ctl ARGS` in `node` with the token.
fn ctl(node: &Node, args: &[&str]) -> reflex_tests::reflex::CtlOutput {
    reflex_tests::reflex::ctl(node, Some(TOKEN), args)
}

#[test]
fn neighbours_come_and_go_and_untouched_sessions_stay_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let kept = lan.node(2).unwrap();
    let removed = lan.node(3).unwrap();
    let changed = lan.node(4).unwrap();
    let added = lan.node(5).unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("reflex.toml");
    let first = config(&rr, &data, &[(&kept, ""), (&removed, ""), (&changed, "")]);
    let reflex = reflex_tests::reflex::start(&rr, dir.path(), &first).unwrap();
    let b_kept = bird(&kept, &rr, dir.path(), "198.19.2.0/24");
    let _b_removed = bird(&removed, &rr, dir.path(), "198.19.3.0/24");
    let _b_changed = bird(&changed, &rr, dir.path(), "198.19.4.0/24");
    let _b_added = bird(&added, &rr, dir.path(), "198.19.5.0/24");
    let api: SocketAddr = API.parse().unwrap();
    let all_up = wait_for(40, || {
        let up = get(&rr.ns, api, "/api/v1/neighbors").ok()?;
        let v: serde_json::Value = serde_json::from_str(&up.body).ok()?;
        let n = v.as_array()?.len();
        (n == 3
            && [&kept, &removed, &changed]
                .iter()
                .all(|c| established(&rr, c)))
        .then_some(())
    });
    assert!(
        all_up.is_some(),
        "sessions not up:\n{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    assert!(
        wait_for(30, || b_kept.route("198.19.3.0/24")).is_some(),
        "the removed neighbour's route not reflected"
    );
    let before = neighbor(&rr, &kept);
    assert_eq!(before["established_transitions"], 1);
    assert_eq!(before["capabilities"]["hold_time"], 30, "{before}");
    assert_eq!(neighbor(&rr, &changed)["capabilities"]["hold_time"], 30);
    let bird_since = |b: &Bird| {
        b.birdc("show protocols reflector")
            .unwrap()
            .lines()
            .find(|l| l.starts_with("reflector"))
            .unwrap()
            .to_string()
    };
    let kept_line = bird_since(&b_kept);

    // SIGHUP: one removed, one whose hold time changes, one added.
    std::fs::write(
        &file,
        config(
            &rr,
            &data,
            &[
                (&added, ""),
                (&kept, ""),
                (&changed, "hold-time = 20\nkeepalive = 6\n"),
            ],
        ),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    reflex.signal("HUP").unwrap();
    let reloaded = wait_for(20, || {
        reflex_tests::reflex::log(dir.path())
            .contains("configuration reloaded")
            .then_some(())
    });
    assert!(
        reloaded.is_some(),
        "{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    let log = reflex_tests::reflex::log(dir.path());
    let line = log
        .lines()
        .find(|l| l.contains("configuration reloaded"))
        .unwrap();
    assert!(line.contains(&format!("added=[{}]", added.v4)), "{line}");
    assert!(
        line.contains(&format!("removed=[{}]", removed.v4)),
        "{line}"
    );
    assert!(
        line.contains(&format!("changed=[{}]", changed.v4)),
        "{line}"
    );

    // The added neighbour comes up and its route reaches the kept client;
    // the removed one's route is withdrawn from it.
    let settled = wait_for(40, || {
        (established(&rr, &added)
            && established(&rr, &changed)
            && b_kept.route("198.19.5.0/24").is_some()
            && b_kept.route("198.19.3.0/24").is_none())
        .then_some(())
    });
    assert!(
        settled.is_some(),
        "after the reload:\n{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    let mut listed = addresses(&rr);
    listed.sort();
    let mut expected = vec![
        kept.v4.to_string(),
        changed.v4.to_string(),
        added.v4.to_string(),
    ];
    expected.sort();
    assert_eq!(listed, expected);
    // The changed session runs with its new hold time.
    assert_eq!(neighbor(&rr, &changed)["capabilities"]["hold_time"], 20);
    // Each was told why: Cease / Peer De-configured, Cease / Other
    // Configuration Change (RFC 4486), as BIRD logs them.
    let bird_log = |n: &Node| {
        std::fs::read_to_string(dir.path().join(format!("bird-{}.log", n.ns))).unwrap_or_default()
    };
    assert!(
        bird_log(&removed).contains("Received: Peer de-configured"),
        "{}",
        bird_log(&removed)
    );
    assert!(
        bird_log(&changed).contains("Received: Other configuration change"),
        "{}",
        bird_log(&changed)
    );
    assert!(
        !bird_log(&kept).contains("Received:"),
        "{}",
        bird_log(&kept)
    );
    // The untouched session: the same session, on both sides.
    let after = neighbor(&rr, &kept);
    assert_eq!(after["established_transitions"], 1, "{after}");
    assert!(
        after["uptime_seconds"].as_u64().unwrap() >= before["uptime_seconds"].as_u64().unwrap(),
        "{before} / {after}"
    );
    assert!(
        reflex_tests::bird::same_output(&bird_since(&b_kept), &kept_line),
        "{}\n{}",
        b_kept.birdc("show protocols all").unwrap_or_default(),
        bird_log(&kept)
    );
    assert!(reflex_tests::reflex::downs_after_up(dir.path(), &kept).is_empty());

    // An invalid file, by SIGHUP, the API and the CLI: refused whole.
    std::fs::write(
        &file,
        config(&rr, &data, &[(&kept, "hold-time = 1\n"), (&removed, "")]),
    )
    .unwrap();
    reflex.signal("HUP").unwrap();
    let refused = wait_for(20, || {
        reflex_tests::reflex::log(dir.path())
            .contains("configuration refused")
            .then_some(())
    });
    assert!(
        refused.is_some(),
        "{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    let doc = Document::parse(&get(&rr.ns, api, "/api/v1/openapi.json").unwrap().body).unwrap();
    let auth = format!("Bearer {TOKEN}");
    let r = request(
        &rr.ns,
        api,
        "POST",
        "/api/v1/reload",
        &[("Authorization", &auth)],
    )
    .unwrap();
    assert_eq!(r.status, 422, "{}", r.body);
    doc.check("POST", "/api/v1/reload", r.status, &r.body)
        .unwrap();
    let e: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(e["error"].as_str().unwrap().contains("refused"), "{e}");
    assert!(
        e["problems"][0].as_str().unwrap().contains("hold-time"),
        "{e}"
    );
    let (code, _, err) = ctl(&rr, &["reload"]);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("422") && err.contains("hold-time"), "{err}");
    // Without the token, or with a wrong one: no reload.
    let r = request(&rr.ns, api, "POST", "/api/v1/reload", &[]).unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    doc.check("POST", "/api/v1/reload", r.status, &r.body)
        .unwrap();
    let r = request(
        &rr.ns,
        api,
        "POST",
        "/api/v1/reload",
        &[("Authorization", "Bearer not-the-token-at-all")],
    )
    .unwrap();
    assert_eq!(r.status, 403, "{}", r.body);
    let mut listed = addresses(&rr);
    listed.sort();
    assert_eq!(listed, expected, "a refused file changed the neighbours");
    assert_eq!(neighbor(&rr, &kept)["established_transitions"], 1);

    // Back to the first file through `reflex ctl reload`: the report.
    std::fs::write(&file, &first).unwrap();
    let (code, out, err) = ctl(&rr, &["reload"]);
    assert_eq!(code, Some(0), "{err}");
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .map(|l| l[name.len()..].trim().to_string())
            .unwrap_or_else(|| panic!("{out}"))
    };
    assert_eq!(row("added"), removed.v4.to_string(), "{out}");
    assert_eq!(row("removed"), added.v4.to_string(), "{out}");
    assert_eq!(row("changed"), changed.v4.to_string(), "{out}");
    assert_eq!(row("not applied"), "-", "{out}");
    let (code, json, _) = ctl(&rr, &["--json", "reload"]);
    assert_eq!(code, Some(0));
    let r = reflex_tests::http::Response {
        status: 200,
        content_type: None,
        body: json,
    };
    doc.check("POST", "/api/v1/reload", r.status, &r.body)
        .unwrap();
    assert!(
        wait_for(40, || (established(&rr, &removed)
            && b_kept.route("198.19.3.0/24").is_some()
            && b_kept.route("198.19.5.0/24").is_none())
        .then_some(()))
        .is_some(),
        "{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    assert_eq!(neighbor(&rr, &kept)["established_transitions"], 1);
    // A one-member cluster has no other member to move a session to.
    let (code, _, err) = ctl(&rr, &["move", &kept.v4.to_string(), "--to", "2"]);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("member 2 is not a voter"), "{err}");
}
