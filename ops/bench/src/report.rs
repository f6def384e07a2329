//! The result table: one row per reflector, ratios against BIRD's row of
//! the same invocation.

use crate::run::{Outcome, Status};

const MIB: f64 = 1024.0 * 1024.0;

fn ratio(x: Option<f64>, base: Option<f64>) -> String {
    match (x, base) {
        (Some(x), Some(b)) if b > 0.0 => format!("{:.2}x", x / b),
        _ => "-".into(),
    }
}

/// The table, plus a line per reflector that did not finish.
pub fn render(rows: &[Outcome], expected: usize) -> String {
    let bird = rows
        .iter()
        .find(|r| r.kind == crate::reflectors::Kind::Bird);
    let bird_time = bird.and_then(|b| b.reflect);
    let bird_rss = bird.and_then(|b| b.peak_rss).map(|r| r as f64);
    let mut s = format!(
        "{:<14} {:>8} {:>17} {:>15} {:>13} {:>13} {:>12} {:>17}\n",
        "reflector",
        "routes",
        "reflect time (s)",
        "peak RSS (MiB)",
        "RSS B/route",
        "time vs BIRD",
        "RSS vs BIRD",
        "committed paths/s"
    );
    for r in rows {
        let time = match &r.status {
            Status::Done => r.reflect.map_or("-".into(), |t| format!("{t:.2}")),
            Status::Timeout => "timeout".into(),
            Status::Failed(_) => "failed".into(),
        };
        let rss = r.peak_rss.map(|b| b as f64);
        s.push_str(&format!(
            "{:<14} {:>8} {:>17} {:>15} {:>13} {:>13} {:>12} {:>17}\n",
            r.kind.name(),
            r.routes,
            time,
            rss.map_or("-".into(), |b| format!("{:.1}", b / MIB)),
            rss.map_or("-".into(), |b| format!("{:.0}", b / expected as f64)),
            ratio(r.reflect, bird_time),
            ratio(rss, bird_rss),
            r.committed
                .map_or("-".into(), |(t, n)| rate(n as usize, Some(t))),
        ));
    }
    for r in rows {
        if let Status::Failed(why) = &r.status {
            s.push_str(&format!("{}: {why}\n", r.kind.name()));
        }
        if r.resets > 0 {
            s.push_str(&format!(
                "{}: {} client session reset(s) during the replay\n",
                r.kind.name(),
                r.resets
            ));
        }
    }
    s
}

/// The round of median reflect time; a round that did not finish counts
/// as the slowest (so half the rounds failing shows as a failure).
pub fn median(mut rounds: Vec<Outcome>) -> Option<Outcome> {
    let time = |o: &Outcome| match o.status {
        Status::Done => o.reflect.unwrap_or(f64::INFINITY),
        _ => f64::INFINITY,
    };
    rounds.sort_by(|a, b| time(a).total_cmp(&time(b)));
    let mid = rounds.len() / 2;
    rounds.into_iter().nth(mid)
}

/// Paths per second over `secs`.
fn rate(paths: usize, secs: Option<f64>) -> String {
    secs.filter(|s| *s > 0.0)
        .map_or("-".into(), |s| format!("{:.0}", paths as f64 / s))
}

fn secs(x: Option<f64>) -> String {
    x.map_or("-".into(), |t| format!("{t:.2}"))
}

/// One line of details for a run: when each client was complete, how far
/// the slowest was when the source had sent everything, memory after.
pub fn detail(r: &Outcome) -> String {
    let clients: Vec<String> = r.client_times.iter().map(|t| secs(*t)).collect();
    format!(
        "{}: {:?}; source sent all in {} s ({} paths/s); replay committed at {} s ({} paths in \
         the log, {} paths/s); table applied per member at [{}] s; slowest client at End-of-RIB: {} routes; \
         clients complete at [{}] s; RSS peak {} MiB (per member: [{}]), after {} MiB",
        r.kind.name(),
        r.status,
        secs(r.send),
        rate(r.routes, r.send),
        secs(r.committed.map(|(t, _)| t)),
        r.committed.map_or("-".into(), |(_, n)| n.to_string()),
        r.committed
            .map_or("-".into(), |(t, n)| rate(n as usize, Some(t))),
        r.applied
            .iter()
            .map(|t| secs(*t))
            .collect::<Vec<String>>()
            .join(", "),
        r.routes_at_eor.map_or("-".into(), |n| n.to_string()),
        clients.join(", "),
        r.peak_rss
            .map_or("-".into(), |b| format!("{:.1}", b as f64 / MIB)),
        r.member_rss
            .iter()
            .map(|m| m.map_or("-".into(), |b| format!("{:.1}", b as f64 / MIB)))
            .collect::<Vec<String>>()
            .join(", "),
        r.rss_after
            .map_or("-".into(), |b| format!("{:.1}", b as f64 / MIB)),
    )
}
