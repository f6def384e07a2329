//! `GET /metrics`: the Prometheus text exposition format (version 0.0.4).

use super::ApiState;
use super::neighbors::NeighborView;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// Appends one metric family: its help, its type and its samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// `{neighbor="...",remote_as="..."}`: addresses and numbers need no
/// escaping.
fn labels(pairs: &[(&str, String)]) -> String {
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(","))
}

pub async fn render(State(api): State<ApiState>) -> impl IntoResponse {
    let mut out = String::new();
    let views: Vec<(String, NeighborView)> = super::neighbors::all(&api)
        .await
        .into_iter()
        .map(|v| {
            let l = labels(&[
                ("neighbor", v.address.to_string()),
                ("remote_as", v.remote_as.to_string()),
            ]);
            (l, v)
        })
        .collect();
    let per = |f: &dyn Fn(&NeighborView) -> f64| -> Vec<(String, f64)> {
        views.iter().map(|(l, v)| (l.clone(), f(v))).collect()
    };
    family(
        &mut out,
        "reflex_neighbor_established",
        "gauge",
        "1 when the session with the neighbour is Established on this member.",
        &per(&|v| f64::from(u8::from(v.state.as_deref() == Some("Established")))),
    );
    family(
        &mut out,
        "reflex_neighbor_updates_received_total",
        "counter",
        "UPDATE messages received from the neighbour (this session).",
        &per(&|v| v.updates_received as f64),
    );
    family(
        &mut out,
        "reflex_neighbor_prefixes_received",
        "gauge",
        "Prefixes the neighbour announced (this session).",
        &per(&|v| v.prefixes_received as f64),
    );
    family(
        &mut out,
        "reflex_neighbor_prefixes_accepted",
        "gauge",
        "Paths of the neighbour's in the Adj-RIB-In, after import policy.",
        &per(&|v| v.prefixes_accepted as f64),
    );
    family(
        &mut out,
        "reflex_neighbor_prefixes_denied",
        "gauge",
        "Received prefixes import policy denied (this session).",
        &per(&|v| v.prefixes_denied as f64),
    );
    family(
        &mut out,
        "reflex_neighbor_updates_sent_total",
        "counter",
        "UPDATE messages queued for the neighbour (this session actor).",
        &per(&|v| v.updates_sent as f64),
    );
    family(
        &mut out,
        "reflex_neighbor_established_transitions_total",
        "counter",
        "Times the session reached Established (flaps: this, less one).",
        &per(&|v| v.established_transitions as f64),
    );
    family(
        &mut out,
        "reflex_neighbor_uptime_seconds",
        "gauge",
        "Seconds since the session reached Established (0 while it is not).",
        &per(&|v| v.uptime_seconds.unwrap_or(0) as f64),
    );
    family(
        &mut out,
        "reflex_neighbor_output_queued_octets",
        "gauge",
        "Octets queued for the neighbour that its socket has not taken (write queue, backlog, MRAI).",
        &per(&|v| v.output_queued_octets as f64),
    );
    family(
        &mut out,
        "reflex_neighbor_output_buffer_octets",
        "gauge",
        "The bound on the octets queued for the neighbour (output-buffer); 0 when no session runs here.",
        &per(&|v| v.output_buffer_octets as f64),
    );
    family(
        &mut out,
        "reflex_neighbor_output_resets_total",
        "counter",
        "Sessions closed because the neighbour did not take what was sent: output buffer over its bound (Cease 6/8) or a write timeout.",
        &per(&|v| v.output_resets as f64),
    );
    let mut notifications = Vec::new();
    for (_, v) in &views {
        for (direction, counts) in [
            ("sent", &v.notifications_sent),
            ("received", &v.notifications_received),
        ] {
            for (code, count) in counts {
                let (c, sc) = code.split_once('/').unwrap_or((code, "0"));
                let l = labels(&[
                    ("neighbor", v.address.to_string()),
                    ("direction", direction.to_string()),
                    ("code", c.to_string()),
                    ("subcode", sc.to_string()),
                ]);
                notifications.push((l, *count as f64));
            }
        }
    }
    family(
        &mut out,
        "reflex_neighbor_notifications_total",
        "counter",
        "NOTIFICATIONs that ended sessions with the neighbour, by direction, code and subcode.",
        &notifications,
    );
    family(
        &mut out,
        "reflex_build_info",
        "gauge",
        "1, labelled with this member's build: its version and the store format it writes.",
        &[(
            labels(&[
                ("version", crate::VERSION.to_string()),
                ("store_format", storage::format::FORMAT.to_string()),
            ]),
            1.0,
        )],
    );
    family(
        &mut out,
        "reflex_fatal_exits_total",
        "counter",
        "Times this member exited on a fatal store or consensus error, as recorded in its data directory (fatal-exits) before this start.",
        &[(String::new(), api.fatal_exits as f64)],
    );
    // One walk of the Loc-RIB, a page at a time, for every family's counts
    // and the total (each page as it was when read).
    let paths = api.member.read(|a| a.rib.adj_rib_in_total());
    let mut families: std::collections::BTreeMap<speaker::wire::Family, (usize, usize)> =
        std::collections::BTreeMap::new();
    super::pages::each(&api.member, |key, entry| {
        let c = families.entry(key.family).or_default();
        c.0 += usize::from(entry.decision().is_some());
        c.1 += entry.candidates().len();
    })
    .await;
    let loc_rib: usize = families.values().map(|c| c.0).sum();
    let by_family = |pick: &dyn Fn(&(usize, usize)) -> usize| -> Vec<(String, f64)> {
        families
            .iter()
            .map(|(f, c)| (labels(&[("family", f.to_string())]), pick(c) as f64))
            .collect()
    };
    family(
        &mut out,
        "reflex_rib_family_prefixes",
        "gauge",
        "Destinations with a best path in the Loc-RIB, by address family.",
        &by_family(&|c| c.0),
    );
    family(
        &mut out,
        "reflex_rib_family_paths",
        "gauge",
        "Paths in the Loc-RIB's destinations, by address family.",
        &by_family(&|c| c.1),
    );
    family(
        &mut out,
        "reflex_rib_prefixes",
        "gauge",
        "Destinations with a best path in the Loc-RIB.",
        &[(String::new(), loc_rib as f64)],
    );
    family(
        &mut out,
        "reflex_rib_paths",
        "gauge",
        "Paths in the Adj-RIBs-In of every peer.",
        &[(String::new(), paths as f64)],
    );
    let (term, leader, last_log, applied, purged, snapshot) = {
        let m = api.member.raft.metrics();
        let m = m.borrow();
        (
            m.current_term,
            m.current_leader,
            m.last_log_index,
            m.last_applied.map(|l| l.index),
            m.purged.map(|l| l.index),
            m.snapshot.map(|l| l.index),
        )
    };
    family(
        &mut out,
        "reflex_raft_commit_index",
        "gauge",
        "Index of the last entry this member knows committed.",
        &[(String::new(), api.member.committed_index() as f64)],
    );
    family(
        &mut out,
        "reflex_raft_log_entries",
        "gauge",
        "Entries in the member's log (not yet purged behind a snapshot).",
        &[(
            String::new(),
            last_log.map_or(0, |l| l.saturating_sub(purged.unwrap_or(0))) as f64,
        )],
    );
    family(
        &mut out,
        "reflex_raft_snapshot_index",
        "gauge",
        "The last log index the member's snapshot covers (0: none).",
        &[(String::new(), snapshot.unwrap_or(0) as f64)],
    );
    if let Some(age) = api.member.snapshot_age() {
        family(
            &mut out,
            "reflex_raft_snapshot_age_seconds",
            "gauge",
            "Seconds since this process built or installed its last snapshot (absent: none since start).",
            &[(String::new(), age.as_secs_f64())],
        );
    }
    family(
        &mut out,
        "reflex_raft_term",
        "gauge",
        "The member's current Raft term.",
        &[(String::new(), term as f64)],
    );
    family(
        &mut out,
        "reflex_raft_is_leader",
        "gauge",
        "1 when this member leads its cluster.",
        &[(
            String::new(),
            f64::from(u8::from(leader == Some(api.member.id))),
        )],
    );
    family(
        &mut out,
        "reflex_raft_last_log_index",
        "gauge",
        "Index of the member's last log entry.",
        &[(String::new(), last_log.unwrap_or(0) as f64)],
    );
    family(
        &mut out,
        "reflex_raft_apply_lag",
        "gauge",
        "Log entries this member holds and has not applied yet.",
        &[(
            String::new(),
            last_log.unwrap_or(0).saturating_sub(applied.unwrap_or(0)) as f64,
        )],
    );
    family(
        &mut out,
        "reflex_raft_applied_index",
        "gauge",
        "Index of the last entry the member applied to its RIB.",
        &[(String::new(), applied.unwrap_or(0) as f64)],
    );
    if let Some(fib) = &api.fib {
        family(
            &mut out,
            "reflex_fib_routes",
            "gauge",
            "Routes of ours in the kernel's table.",
            &[(String::new(), fib.installed.load(Ordering::Relaxed) as f64)],
        );
        family(
            &mut out,
            "reflex_fib_errors_total",
            "counter",
            "Route requests the kernel refused (each retried).",
            &[(String::new(), fib.errors.load(Ordering::Relaxed) as f64)],
        );
    }
    if let Some(rss) = resident_bytes() {
        family(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            &[(String::new(), rss as f64)],
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// VmRSS of this process.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
