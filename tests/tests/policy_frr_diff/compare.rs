//! The comparison of what each client got from FRR and from Reflex, with
//! the differences that are intended (each with its reason).

use crate::view::{Attrs, View};
use speaker::wire::Prefix;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One attribute (or the whole route: field "route") that differs.
#[derive(Debug)]
pub struct Difference {
    pub prefix: Prefix,
    pub field: String,
    pub frr: Option<String>,
    pub reflex: Option<String>,
}

/// A difference that is meant: where it applies, and why.
pub struct Intended {
    /// The clients it applies to.
    pub clients: &'static [&'static str],
    pub reason: &'static str,
    pub applies: fn(&Difference) -> bool,
}

/// Every difference between the two views, in prefix order.
pub fn differences(frr: &View, reflex: &View) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut prefixes: Vec<&Prefix> = frr.keys().chain(reflex.keys()).collect();
    prefixes.sort();
    prefixes.dedup();
    let route = |a: Option<&Attrs>| a.map(|a| format!("{a:?}"));
    for p in prefixes {
        match (frr.get(p), reflex.get(p)) {
            (Some(f), Some(r)) => {
                let mut fields: Vec<&String> = f.keys().chain(r.keys()).collect();
                fields.sort();
                fields.dedup();
                for k in fields {
                    if f.get(k) != r.get(k) {
                        out.push(Difference {
                            prefix: *p,
                            field: k.clone(),
                            frr: f.get(k).cloned(),
                            reflex: r.get(k).cloned(),
                        });
                    }
                }
            }
            (f, r) => out.push(Difference {
                prefix: *p,
                field: "route".into(),
                frr: route(f),
                reflex: route(r),
            }),
        }
    }
    out
}

/// The outcome for one client.
pub struct Outcome {
    pub report: String,
    pub unexplained: usize,
}

/// Compares, sets the intended differences aside, and writes a report:
/// counts, per intended difference its count and reason, then the first
/// 20 unexplained differences with both sides.
pub fn compare(client: &str, frr: &View, reflex: &View, intended: &[Intended]) -> Outcome {
    let all = differences(frr, reflex);
    let mut explained = vec![0usize; intended.len()];
    let mut unexplained = Vec::new();
    for d in &all {
        match intended
            .iter()
            .position(|i| i.clients.contains(&client) && (i.applies)(d))
        {
            Some(i) => explained[i] += 1,
            None => unexplained.push(d),
        }
    }
    let mut per_field: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &unexplained {
        *per_field.entry(d.field.as_str()).or_default() += 1;
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{client}: FRR gave {} routes, Reflex {}; {} differences, {} intended, {} unexplained {per_field:?}",
        frr.len(),
        reflex.len(),
        all.len(),
        all.len() - unexplained.len(),
        unexplained.len()
    );
    for (i, n) in intended.iter().zip(&explained) {
        if i.clients.contains(&client) {
            let _ = writeln!(s, "  intended ({n}): {}", i.reason);
        }
    }
    for d in unexplained.iter().take(20) {
        let _ = writeln!(
            s,
            "  {} {}: FRR {} | Reflex {}",
            d.prefix,
            d.field,
            d.frr.as_deref().unwrap_or("-"),
            d.reflex.as_deref().unwrap_or("-")
        );
    }
    Outcome {
        report: s,
        unexplained: unexplained.len(),
    }
}
