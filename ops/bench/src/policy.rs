//! The import policy of `reflex-policy`: the benchmark policy, a
//! route-map of 20 entries on the source's session, made to the table it
//! runs on so that it works as hard as a real one and denies nothing
//! (every reflector must still end with the whole table):
//!
//! - 16 deny entries that every route goes through and none matches: AS
//!   path expressions and community lists naming the bench's own AS (the
//!   table carries neither: checked here);
//! - a permit of a 10,000-entry prefix list (prefixes of the table, with
//!   `le 32`) that sets a local preference and adds a community;
//! - permits on common transit communities and AS paths, with two sets;
//! - a last permit of everything else, setting the local preference.

use anyhow::{Result, bail};
use speaker::wire::{Prefix, Update};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

/// Entries of the big prefix list.
const PREFIXES: usize = 10_000;

/// Community lists of the deny entries (8 AS-path ones besides: 20
/// entries in all).
const OWN: u32 = 8;

/// The route-map the source's neighbour imports through.
pub const ROUTE_MAP: &str = "BENCH_IN";

/// The policy sections, for a Reflex configuration file.
pub fn import_policy(updates: &[Update], mrt: &Path, asn: u32) -> Result<String> {
    let mut prefixes = BTreeSet::new();
    for u in updates {
        for (_, e) in u.announced() {
            if !e.prefix.is_ipv6() {
                prefixes.insert(e.prefix);
            }
        }
        let own = u
            .attributes
            .communities()
            .is_some_and(|cs| cs.iter().any(|c| c.0 >> 16 == asn));
        if own {
            bail!(
                "the table carries communities of AS {asn}: the policy's deny entries would match"
            );
        }
    }
    if prefixes.len() < PREFIXES {
        bail!(
            "{} has {} IPv4 prefixes, fewer than {PREFIXES}",
            mrt.display(),
            prefixes.len()
        );
    }
    let step = prefixes.len() / PREFIXES;
    let sample: Vec<&Prefix> = prefixes.iter().step_by(step).take(PREFIXES).collect();
    let mut s = String::from("\n[prefix-list.BIG]\nentries = [\n");
    for p in sample {
        let _ = writeln!(s, "  {{ action = \"permit\", prefix = \"{p}\", le = 32 }},");
    }
    s.push_str("]\n");
    // Deny entries that match nothing in the table but must be tried.
    let paths = [
        format!("_{asn}_"),
        format!("^{asn}_"),
        format!("_{asn}$"),
        format!("_{asn}_{asn}_"),
        format!("_({asn}|{})_", asn + 100_000),
        format!("^[0-9]+_{asn}_"),
        format!("_{asn}_[0-9]+$"),
        format!("_{asn}( [0-9]+)+_{asn}_"),
    ];
    for (i, re) in paths.iter().enumerate() {
        let _ = write!(
            s,
            "\n[as-path-list.DENY{i}]\nentries = [ {{ action = \"permit\", regex = \"{re}\" }} ]\n"
        );
    }
    for i in 0..OWN {
        let _ = write!(
            s,
            "\n[community-list.OWN{i}]\nentries = [ {{ action = \"permit\", values = [\"{asn}:{}\"] }} ]\n",
            i + 1
        );
    }
    s.push_str(
        "\n[community-list.TRANSIT]\nentries = [ { action = \"permit\", regex = \"^(174|3356|1299|2914|3257):\" } ]\n\
         \n[as-path-list.TIER1]\nentries = [ { action = \"permit\", regex = \"_(174|3356|1299)_\" } ]\n",
    );
    let mut seq = 10;
    let mut entry = |s: &mut String, body: &str| {
        let _ = write!(s, "\n[[route-map.{ROUTE_MAP}]]\nseq = {seq}\n{body}\n");
        seq += 10;
    };
    for i in 0..paths.len() {
        entry(
            &mut s,
            &format!("action = \"deny\"\nmatch = {{ as-path = \"DENY{i}\" }}"),
        );
    }
    for i in 0..OWN {
        entry(
            &mut s,
            &format!("action = \"deny\"\nmatch = {{ community = \"OWN{i}\" }}"),
        );
    }
    entry(
        &mut s,
        &format!(
            "action = \"permit\"\nmatch = {{ prefix-list = \"BIG\" }}\nset = {{ local-pref = 200, community-add = [\"{asn}:100\"] }}"
        ),
    );
    entry(
        &mut s,
        "action = \"permit\"\nmatch = { community = \"TRANSIT\" }\nset = { local-pref = 150, med = 10 }",
    );
    entry(
        &mut s,
        &format!(
            "action = \"permit\"\nmatch = {{ as-path = \"TIER1\" }}\nset = {{ local-pref = 120, community-add = [\"{asn}:200\"] }}"
        ),
    );
    entry(
        &mut s,
        "action = \"permit\"\nset = { local-pref = 100, med = 0 }",
    );
    Ok(s)
}
