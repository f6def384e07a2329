//! The fault campaign, short (CI): a reference run and two seeded runs
//! of 20 s of faults each; no invariant may break. The long campaign is
//! `fault-campaign --runs 100 --secs 60` (README).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_faults::run::{Limits, reference, seeded};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn two_short_seeded_runs_break_no_invariant() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let settle = Duration::from_secs(180);
    let subnet = reflex_faults::lab::SUBNET;
    let reference = reference(
        Arc::new(reflex_faults::stream(None, subnet).unwrap()),
        settle,
        subnet,
    )
    .unwrap();
    assert!(reference.loc_rib > 40_000, "{}", reference.loc_rib);
    let run = Duration::from_secs(20);
    let stream = Arc::new(reflex_faults::stream(Some(run * 7 / 10), subnet).unwrap());
    let limits = Limits {
        rss_kib: 1024 * 1024,
        settle,
    };
    for seed in [1, 2] {
        let o = seeded(seed, run, stream.clone(), &reference, limits).unwrap();
        eprintln!(
            "seed {seed}: faults {:?}; peak RSS {} MiB; settled in {:?}; exits {:?}",
            o.faults,
            o.peak_rss_kib / 1024,
            o.settled_in,
            o.fault_exits
        );
        assert!(!o.faults.is_empty(), "seed {seed}: no fault");
        assert!(
            o.violations.is_empty(),
            "seed {seed}: {}",
            o.violations.join("\n")
        );
    }
}
