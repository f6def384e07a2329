//! The HTTP API and `/metrics` of a running node (issue 7, first part):
//! neighbours as JSON, errors as JSON with a 4xx, and a Prometheus scrape
//! whose values move as a BIRD client's routes come in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::{Bird, BirdConfig};
use reflex_tests::http::{get, request};
use reflex_tests::netns::{Lan, wait_for};
use reflex_tests::openapi::Document;
use reflex_tests::reflex::{ctl, reflector_config};
use std::net::{IpAddr, SocketAddr};

const API: &str = "127.0.0.1:8179";

fn scrape(ns: &str) -> prometheus_parse::Scrape {
    let r = get(ns, API.parse().unwrap(), "/metrics").unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        r.content_type
    );
    prometheus_parse::Scrape::parse(r.body.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The OpenAPI document the node serves.
fn document(ns: &str) -> Document {
    let r = get(ns, API.parse().unwrap(), "/api/v1/openapi.json").unwrap();
    assert_eq!(r.status, 200);
    Document::parse(&r.body).unwrap()
}

fn conforms(doc: &Document, method: &str, template: &str, r: &reflex_tests::http::Response) {
    if let Err(e) = doc.check(method, template, r.status, &r.body) {
        panic!("{e}");
    }
}

/// The value of the first sample of `name` with these `labels`.
fn sample<'a>(
    s: &'a prometheus_parse::Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a prometheus_parse::Value> {
    s.samples
        .iter()
        .find(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| &x.value)
}

fn value(s: &prometheus_parse::Scrape, name: &str) -> f64 {
    let value = sample(s, name, &[]).unwrap_or_else(|| panic!("no {name} in the scrape"));
    match *value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn neighbours_and_metrics_of_a_running_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let client = lan.node(2).unwrap();
    let config = reflector_config(&rr, &client, &dir.path().join("data"), "");
    let _reflex =
        reflex_tests::reflex::start_args(&rr, dir.path(), &config, &["--log-json"]).unwrap();
    let api: SocketAddr = API.parse().unwrap();
    let up = wait_for(20, || get(&rr.ns, api, "/api/v1/neighbors").ok());
    let r = up.unwrap_or_else(|| panic!("no API:\n{}", reflex_tests::reflex::log_tail(dir.path())));
    assert_eq!(r.status, 200);
    let doc = document(&rr.ns);
    conforms(&doc, "GET", "/api/v1/neighbors", &r);
    let list: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["address"], client.v4.to_string());
    assert_eq!(list[0]["remote_as"], 65000);
    assert_ne!(list[0]["state"], "Established");
    let before = scrape(&rr.ns);
    assert_eq!(value(&before, "reflex_neighbor_established"), 0.0);
    assert_eq!(
        value(&before, "reflex_neighbor_updates_received_total"),
        0.0
    );
    assert_eq!(value(&before, "reflex_rib_prefixes"), 0.0);
    assert_eq!(value(&before, "reflex_raft_is_leader"), 1.0);
    assert!(value(&before, "reflex_raft_apply_lag") >= 0.0);
    assert!(value(&before, "process_resident_memory_bytes") > 0.0);
    // The build, as a label: the version of the binary the test runs.
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        sample(&before, "reflex_build_info", &[("version", version)]),
        Some(&prometheus_parse::Value::Gauge(1.0)),
        "{:?}",
        sample(&before, "reflex_build_info", &[])
    );

    // Traffic: a BIRD client's three routes, and its LAN's (protocol
    // direct): four.
    let _bird = Bird::start(
        &client,
        dir.path(),
        &BirdConfig {
            router_id: client.v4,
            local_as: 65000,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes: vec!["198.19.1.0/24", "198.19.2.0/24", "198.19.3.0/24"],
        },
    )
    .unwrap();
    let moved = wait_for(30, || {
        let s = scrape(&rr.ns);
        (value(&s, "reflex_rib_prefixes") == 4.0).then_some(s)
    });
    let after = moved.unwrap_or_else(|| panic!("{}", reflex_tests::reflex::log_tail(dir.path())));
    assert_eq!(value(&after, "reflex_neighbor_established"), 1.0);
    assert!(value(&after, "reflex_neighbor_updates_received_total") >= 1.0);
    assert_eq!(value(&after, "reflex_neighbor_prefixes_received"), 4.0);
    assert_eq!(value(&after, "reflex_rib_paths"), 4.0);
    assert_eq!(value(&after, "reflex_neighbor_prefixes_accepted"), 4.0);
    let ipv4 = sample(
        &after,
        "reflex_rib_family_prefixes",
        &[("family", "ipv4-unicast")],
    )
    .cloned();
    assert_eq!(ipv4, Some(prometheus_parse::Value::Gauge(4.0)));
    assert!(
        value(&after, "reflex_raft_commit_index") >= value(&after, "reflex_raft_applied_index")
    );
    assert!(value(&after, "reflex_raft_log_entries") >= 1.0);
    assert!(
        value(&after, "reflex_raft_applied_index") > value(&before, "reflex_raft_applied_index")
    );
    let labels = &after
        .samples
        .iter()
        .find(|x| x.metric == "reflex_neighbor_established")
        .unwrap()
        .labels;
    assert_eq!(labels.get("neighbor"), Some(client.v4.to_string().as_str()));

    // The Loc-RIB: pages, filters, why the best won.
    let rib = |query: &str| {
        let r = get(&rr.ns, api, &format!("/api/v1/rib{query}")).unwrap();
        conforms(&doc, "GET", "/api/v1/rib", &r);
        (
            r.status,
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap(),
        )
    };
    let prefixes = |v: &serde_json::Value| -> Vec<String> {
        v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["prefix"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, all) = rib("");
    assert_eq!(status, 200);
    assert_eq!(prefixes(&all).len(), 4, "{all}");
    assert_eq!(all["next"], serde_json::Value::Null);
    let (_, page1) = rib("?limit=3");
    assert_eq!(prefixes(&page1).len(), 3);
    let next = page1["next"].as_str().unwrap().to_string();
    assert_eq!(next, prefixes(&page1)[2]);
    let (_, page2) = rib(&format!("?limit=3&after={next}"));
    assert_eq!(
        [prefixes(&page1), prefixes(&page2)].concat(),
        prefixes(&all),
        "pages"
    );
    assert_eq!(page2["next"], serde_json::Value::Null);
    let (_, one) = rib("?prefix=198.19.2.0/24");
    let route = &one["routes"][0];
    assert_eq!(route["decided_by"], "OnlyPath", "{one}");
    assert_eq!(route["paths"][0]["neighbor"], client.v4.to_string());
    assert_eq!(route["paths"][0]["next_hop"], client.v4.to_string());
    assert_eq!(route["paths"][0]["best"], true);
    assert_eq!(route["paths"][0]["origin"], "igp");
    let (_, covering) = rib("?longest=198.19.2.77");
    assert_eq!(prefixes(&covering), ["198.19.2.0/24"]);
    let (_, from) = rib(&format!("?neighbor={}", client.v4));
    assert_eq!(prefixes(&from).len(), 4);
    let (_, internal) = rib("?as_path=^$");
    assert_eq!(prefixes(&internal).len(), 4);
    let (_, none) = rib("?as_path=_64999_");
    assert!(prefixes(&none).is_empty());
    let (_, none) = rib("?community=64496:1");
    assert!(prefixes(&none).is_empty());
    for (query, status, says) in [
        ("?prefix=198.19.2.0/33", 400, "is not a prefix"),
        ("?limit=5000", 400, "limit 5000 is out of range (1 to 1000)"),
        ("?as_path=(", 400, "("),
        ("?colour=blue", 400, "colour"),
        (
            "?neighbor=198.18.250.250",
            404,
            "no neighbour 198.18.250.250",
        ),
    ] {
        let (got, e) = rib(query);
        assert_eq!(got, status, "{query}: {e}");
        assert!(
            e["error"].as_str().is_some_and(|m| m.contains(says)),
            "{query}: {e}"
        );
    }

    // The cluster: one member leading, owning the session.
    let r = get(&rr.ns, api, "/api/v1/cluster").unwrap();
    conforms(&doc, "GET", "/api/v1/cluster", &r);
    let cluster: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(cluster["member"], 1, "{cluster}");
    assert_eq!(cluster["leader"], 1, "{cluster}");
    assert_eq!(cluster["owners"][client.v4.to_string()], 1, "{cluster}");
    assert_eq!(cluster["loc_rib_prefixes"], 4, "{cluster}");

    // JSON logs: every line an object; a session's events in its span.
    let log = std::fs::read_to_string(dir.path().join("reflex.log")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let established = lines
        .iter()
        .find(|l| l["fields"]["message"] == "session established")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(established["span"]["name"], "session", "{established}");
    assert_eq!(
        established["span"]["neighbor"],
        client.v4.to_string(),
        "{established}"
    );

    let path = format!("/api/v1/neighbors/{}", client.v4);
    let r = get(&rr.ns, api, &path).unwrap();
    conforms(&doc, "GET", "/api/v1/neighbors/{address}", &r);
    conforms(
        &doc,
        "GET",
        "/api/v1/neighbors",
        &get(&rr.ns, api, "/api/v1/neighbors").unwrap(),
    );
    let one: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(one["state"], "Established");
    assert_eq!(one["prefixes_received"], 4);
    assert_eq!(one["prefixes_accepted"], 4);
    // Its own routes are not sent back to it (the only neighbour).
    assert_eq!(one["prefixes_advertised"], 0);
    assert_eq!(one["capabilities"]["hold_time"], 30, "{one}");
    assert_eq!(one["capabilities"]["families"][0], "ipv4-unicast", "{one}");
    assert_eq!(one["capabilities"]["four_octet_as"], true, "{one}");

    // The CLI over the same API: a table, JSON, and exit codes.
    let ctl = |args: &[&str]| ctl(&rr, None, args);
    let (code, table, _) = ctl(&["neighbors"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("NEIGHBOR") && lines[0].contains("STATE"),
        "{table}"
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        row[..6],
        [
            client.v4.to_string().as_str(),
            "65000",
            "Established",
            row[3],
            "4",
            "0"
        ],
        "{table}"
    );
    // Columns line up under their headings.
    assert_eq!(
        lines[0].find("STATE"),
        lines[1].find("Established"),
        "{table}"
    );
    let (code, out, err) = ctl(&["rib", "--prefix", "198.19.2.0/24"]);
    assert_eq!(code, Some(0), "{err}");
    let best: Vec<&str> = out.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(best.len(), 1, "{out}");
    assert!(
        best[0].contains("198.19.2.0/24") && best[0].contains("OnlyPath"),
        "{out}"
    );
    let (_, out, _) = ctl(&["rib", "--limit", "3"]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with('*')).count(),
        3,
        "{out}"
    );
    assert!(
        out.lines().last().unwrap().starts_with("(more: --after "),
        "{out}"
    );
    let (_, out, _) = ctl(&["rib", "--as-path", "^$"]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with('*')).count(),
        4,
        "{out}"
    );
    // The Loc-RIB as MRT, read back by `reflex mrt summary`.
    let dump = dir.path().join("rib.mrt");
    let (code, out, err) = ctl(&["dump", &dump.to_string_lossy()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("octets written to"), "{out}");
    let summary = std::process::Command::new(reflex_tests::reflex::binary())
        .args(["mrt", "summary"])
        .arg(&dump)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&summary.stdout);
    let field = |name: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l[name.len()..].trim().to_string())
    };
    assert_eq!(
        field("tdv2 peers_in_index").as_deref(),
        Some("1"),
        "{summary}"
    );
    assert_eq!(field("tdv2 prefixes v4").as_deref(), Some("4"), "{summary}");
    assert_eq!(field("tdv2 rib_entries").as_deref(), Some("4"), "{summary}");
    assert_eq!(
        field("tdv2 collector_bgp_id").as_deref(),
        Some(rr.v4.to_string().as_str())
    );
    let (code, out, _) = ctl(&["cluster"]);
    assert_eq!(code, Some(0));
    assert!(
        out.lines()
            .any(|l| l.starts_with("leader") && l.ends_with(" 1")),
        "{out}"
    );
    let (code, json, _) = ctl(&["--json", "neighbors"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["state"], "Established");
    let (code, _, err) = ctl(&["neighbor", "198.18.250.250"]);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("404: no neighbour 198.18.250.250"), "{err}");
    let (code, _, err) = ctl(&["--api", "127.0.0.1:1", "neighbors"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("cannot reach the API at 127.0.0.1:1"), "{err}");

    // Without `[api] token`, no action.
    let r = request(&rr.ns, api, "POST", &format!("{path}/refresh"), &[]).unwrap();
    assert_eq!(r.status, 403, "{}", r.body);
    conforms(&doc, "POST", "/api/v1/neighbors/{address}/{action}", &r);
    assert!(r.body.contains("actions are disabled"), "{}", r.body);

    // Bad requests: a 4xx with a JSON error that says what was wrong.
    for (path, status, says) in [
        (
            "/api/v1/neighbors/not-an-address",
            400,
            "not an IPv4 or IPv6 address",
        ),
        (
            "/api/v1/neighbors/198.18.250.250",
            404,
            "no neighbour 198.18.250.250",
        ),
        (
            "/api/v1/nothing",
            404,
            "no such endpoint: GET /api/v1/nothing",
        ),
    ] {
        let r = get(&rr.ns, api, path).unwrap();
        assert_eq!(r.status, status, "{path}: {}", r.body);
        if path.starts_with("/api/v1/neighbors/") {
            conforms(&doc, "GET", "/api/v1/neighbors/{address}", &r);
        }
        let e: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            e["error"].as_str().is_some_and(|m| m.contains(says)),
            "{path}: {}",
            r.body
        );
    }
}

const TOKEN: &str = "a-test-token-of-some-length";

#[test]
fn neighbour_actions_need_the_token_and_act_on_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let client = lan.node(2).unwrap();
    let config = reflector_config(
        &rr,
        &client,
        &dir.path().join("data"),
        &format!("[api]\ntoken = \"{TOKEN}\"\n"),
    );
    let _reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
    let bird = Bird::start(
        &client,
        dir.path(),
        &BirdConfig {
            router_id: client.v4,
            local_as: 65000,
            neighbors: vec![("reflector", IpAddr::V4(rr.v4), 65000)],
            routes: vec!["198.19.1.0/24"],
        },
    )
    .unwrap();
    let api: SocketAddr = API.parse().unwrap();
    let path = format!("/api/v1/neighbors/{}", client.v4);
    let state = |want: &str| {
        wait_for(30, || {
            let r = get(&rr.ns, api, &path).ok()?;
            let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
            (v["state"] == want).then_some(v)
        })
        .unwrap_or_else(|| {
            panic!(
                "never {want}:\n{}",
                reflex_tests::reflex::log_tail(dir.path())
            )
        })
    };
    let up = state("Established");
    let updates = up["updates_received"].as_u64().unwrap();
    // Human-readable logs: the session's span names the neighbour.
    let log = reflex_tests::reflex::log(dir.path());
    let span = format!("session{{neighbor={}}}", client.v4);
    assert!(
        log.lines()
            .any(|l| l.contains(&span) && l.contains("session established")),
        "{log}"
    );
    let doc = document(&rr.ns);
    let action = "/api/v1/neighbors/{address}/{action}";

    // The token: missing, wrong, then right.
    let refresh = format!("{path}/refresh");
    let r = request(&rr.ns, api, "POST", &refresh, &[]).unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    conforms(&doc, "POST", action, &r);
    let wrong = [("Authorization", "Bearer not-the-token-at-all")];
    let r = request(&rr.ns, api, "POST", &refresh, &wrong).unwrap();
    assert_eq!(r.status, 403, "{}", r.body);
    conforms(&doc, "POST", action, &r);
    let auth = format!("Bearer {TOKEN}");
    let good = [("Authorization", auth.as_str())];
    let r = request(&rr.ns, api, "POST", &format!("{path}/explode"), &good).unwrap();
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("no action `explode`"), "{}", r.body);
    conforms(&doc, "POST", action, &r);
    let r = request(&rr.ns, api, "POST", "/api/v1/neighbors/nope/reset", &good).unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    conforms(&doc, "POST", action, &r);
    // A successful action's answer too (an enable of a running session).
    let r = request(&rr.ns, api, "POST", &format!("{path}/enable"), &good).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    conforms(&doc, "POST", action, &r);
    // Move: the token, a body that names a member, a member that votes.
    let to = format!("{path}/move");
    let r = request(&rr.ns, api, "POST", &to, &[]).unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    conforms(&doc, "POST", action, &r);
    for (body, status, says) in [
        ("", 400, "the body must be {\"member\": ID}"),
        ("{\"member\": \"two\"}", 400, "ID a member's number"),
        (
            "{\"member\": 2}",
            409,
            "member 2 is not a voter of the cluster (voters: 1)",
        ),
    ] {
        let r = request_with_body(&rr.ns, api, &to, &auth, body);
        assert_eq!(r.status, status, "{body}: {}", r.body);
        let e: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            e["error"].as_str().is_some_and(|m| m.contains(says)),
            "{body}: {}",
            r.body
        );
        conforms(&doc, "POST", action, &r);
    }
    let r = request_with_body(&rr.ns, api, &to, &auth, "{\"member\": 1}");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("already there"), "{}", r.body);
    conforms(&doc, "POST", action, &r);
    // Drain: a one-member cluster has no one to move its sessions to; an
    // unknown action and a member that is not a voter are refused.
    let drain = "/api/v1/cluster/{action}";
    for (path, body, status, says) in [
        ("/api/v1/cluster/drain", "", 409, "a one-member cluster"),
        (
            "/api/v1/cluster/drain",
            "{\"member\": 7}",
            409,
            "member 7 is not a voter",
        ),
        ("/api/v1/cluster/leave", "", 404, "no cluster action leave"),
        ("/api/v1/cluster/drain", "[]", 400, "the body must be"),
    ] {
        let r = request_with_body(&rr.ns, api, path, &auth, body);
        assert_eq!(r.status, status, "{path} {body}: {}", r.body);
        assert!(r.body.contains(says), "{path} {body}: {}", r.body);
        conforms(&doc, "POST", drain, &r);
    }
    let r = request_with_body(&rr.ns, api, "/api/v1/cluster/undrain", &auth, "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("undrained"), "{}", r.body);
    conforms(&doc, "POST", drain, &r);

    let ctl = |args: &[&str]| ctl(&rr, Some(TOKEN), args);
    let c = client.v4.to_string();
    // Inbound soft reset: BIRD sends its routes again.
    let (code, out, err) = ctl(&["refresh", &c]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), format!("{c}: ROUTE-REFRESH sent"));
    let again = wait_for(20, || {
        let r = get(&rr.ns, api, &path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
        (v["updates_received"].as_u64()? > updates).then_some(())
    });
    assert!(again.is_some(), "BIRD did not send its routes again");

    // Shutdown with an RFC 9003 message; too long a message is refused.
    let long = format!("{{\"message\": \"{}\"}}", "x".repeat(256));
    let r = request_with_body(&rr.ns, api, &format!("{path}/shutdown"), &auth, &long);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("RFC 9003 allows 255"), "{}", r.body);
    conforms(&doc, "POST", action, &r);
    let (code, out, err) = ctl(&["shutdown", &c, "--message", "maintenance window 42"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), format!("{c}: session shut down"));
    state("Idle");
    let said = wait_for(20, || {
        let p = bird.birdc("show protocols all reflector").ok()?;
        p.contains("maintenance window 42").then_some(p)
    });
    assert!(
        said.is_some(),
        "BIRD did not get the message: {:?}",
        bird.birdc("show protocols all reflector")
    );
    // It stays down until enabled.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let down = state("Idle");
    assert_eq!(down["notifications_sent"]["6/2"], 1, "{down}");
    assert_eq!(down["uptime_seconds"], serde_json::Value::Null);
    let m = scrape(&rr.ns);
    let cease = sample(
        &m,
        "reflex_neighbor_notifications_total",
        &[("direction", "sent"), ("code", "6"), ("subcode", "2")],
    )
    .map(|v| match *v {
        prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
        _ => -1.0,
    });
    assert_eq!(cease, Some(1.0));
    let (code, _, err) = ctl(&["enable", &c]);
    assert_eq!(code, Some(0), "{err}");
    let back = state("Established");
    assert_eq!(back["established_transitions"], 2, "{back}");
    assert!(back["uptime_seconds"].as_u64().is_some(), "{back}");
    assert_eq!(
        value(
            &scrape(&rr.ns),
            "reflex_neighbor_established_transitions_total"
        ),
        2.0
    );
    // A reset closes it (Administrative Reset, with a message BIRD shows)
    // and it comes back.
    let (code, out, err) = ctl(&["reset", &c]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), format!("{c}: session reset"));
    let reset_seen = wait_for(20, || {
        let p = bird.birdc("show protocols all reflector").ok()?;
        p.contains("reset by the operator").then_some(())
    });
    assert!(
        reset_seen.is_some(),
        "{:?}\n{}",
        bird.birdc("show protocols all reflector"),
        reflex_tests::reflex::log_tail(dir.path())
    );
    state("Established");
    // A wrong token from the CLI (in a file, never on the command line):
    // exit 4 with the API's reason.
    let wrong_file = dir.path().join("wrong-token");
    std::fs::write(&wrong_file, "not-the-token-at-all\n").unwrap();
    let (code, _, err) = reflex_tests::reflex::ctl(
        &rr,
        None,
        &["--token-file", &wrong_file.to_string_lossy(), "reset", &c],
    );
    assert_eq!(code, Some(4));
    assert!(err.contains("403: wrong token"), "{err}");
}

fn request_with_body(
    ns: &str,
    api: SocketAddr,
    path: &str,
    auth: &str,
    body: &str,
) -> reflex_tests::http::Response {
    reflex_tests::http::request_body(ns, api, "POST", path, &[("Authorization", auth)], body)
        .unwrap()
}

const READ_TOKEN: &str = "a-read-token-of-some-length";

/// With `[api] read-token`, every read needs it (or the action token);
/// the read token makes no action; the OpenAPI document stays open.
#[test]
fn reads_need_the_read_token_when_one_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let client = lan.node(2).unwrap();
    let config = reflector_config(
        &rr,
        &client,
        &dir.path().join("data"),
        &format!("[api]\ntoken = \"{TOKEN}\"\nread-token = \"{READ_TOKEN}\"\n"),
    );
    let _reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
    let api: SocketAddr = API.parse().unwrap();
    let bearer = |t: &str| format!("Bearer {t}");
    let up = wait_for(20, || {
        request(&rr.ns, api, "GET", "/api/v1/openapi.json", &[])
            .ok()
            .filter(|r| r.status == 200)
    });
    assert!(
        up.is_some(),
        "{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    for path in [
        "/api/v1/neighbors",
        "/api/v1/rib",
        "/api/v1/cluster",
        "/metrics",
    ] {
        let r = request(&rr.ns, api, "GET", path, &[]).unwrap();
        assert_eq!(r.status, 401, "{path} without a token: {}", r.body);
        let wrong = bearer("not-the-token-at-all");
        let r = request(&rr.ns, api, "GET", path, &[("Authorization", &wrong)]).unwrap();
        assert_eq!(r.status, 403, "{path} with a wrong token: {}", r.body);
        for t in [READ_TOKEN, TOKEN] {
            let b = bearer(t);
            let r = request(&rr.ns, api, "GET", path, &[("Authorization", &b)]).unwrap();
            assert_eq!(r.status, 200, "{path} with a token: {}", r.body);
        }
    }
    // The read token makes no action.
    let b = bearer(READ_TOKEN);
    let r = request(
        &rr.ns,
        api,
        "POST",
        &format!("/api/v1/neighbors/{}/reset", client.v4),
        &[("Authorization", &b)],
    )
    .unwrap();
    assert_eq!(r.status, 403, "{}", r.body);
    // `reflex ctl` with the token from the environment, and without.
    let (code, out, err) = ctl(&rr, Some(READ_TOKEN), &["neighbors"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&client.v4.to_string()), "{out}");
    let (code, _, err) = ctl(&rr, None, &["neighbors"]);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("401"), "{err}");
}

/// With `[api] certificate` and `key` the API speaks HTTPS only: `reflex
/// ctl --ca` reaches it; plain HTTP, and HTTPS without trusting the CA,
/// do not.
#[test]
fn the_api_over_https() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let client = lan.node(2).unwrap();
    // A CA, and the API's certificate for 127.0.0.1 signed by it.
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let file = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let ca = file("ca.pem", ca_cert.pem());
    let (cert, key) = (
        file("api.pem", cert.pem()),
        file("api.key", key.serialize_pem()),
    );
    let config = reflector_config(
        &rr,
        &client,
        &dir.path().join("data"),
        &format!("[api]\ncertificate = \"{cert}\"\nkey = \"{key}\"\n"),
    );
    let _reflex = reflex_tests::reflex::start(&rr, dir.path(), &config).unwrap();
    let over_https = wait_for(20, || {
        let (code, out, _) = ctl(&rr, None, &["--ca", &ca, "--json", "cluster"]);
        (code == Some(0)).then_some(out)
    });
    assert!(
        over_https.is_some_and(|o| o.contains("rib_digest")),
        "{}",
        reflex_tests::reflex::log_tail(dir.path())
    );
    let plain = get(&rr.ns, API.parse().unwrap(), "/api/v1/cluster");
    assert!(
        plain
            .as_ref()
            .map_or(true, |r| r.status == 0 || r.status >= 400),
        "plain HTTP answered: {plain:?}"
    );
    let (code, _, err) = ctl(&rr, None, &["cluster"]);
    assert_ne!(code, Some(0), "plain HTTP from ctl: {err}");
    let other = dir.path().join("other-ca.pem");
    std::fs::write(
        &other,
        CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&KeyPair::generate().unwrap())
            .unwrap()
            .pem(),
    )
    .unwrap();
    let (code, _, err) = ctl(&rr, None, &["--ca", &other.to_string_lossy(), "cluster"]);
    assert_eq!(code, Some(3), "HTTPS with another CA: {err}");
}
