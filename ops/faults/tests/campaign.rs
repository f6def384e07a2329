//! The fault campaign, short (CI): a reference run, two seeded runs of
//! 20 s of faults each, and the failing seeds of the long campaigns kept
//! as regression runs (seed 66 of 60 s); no invariant may break. The long
//! campaign is `fault-campaign --runs 100 --secs 60` (README).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_faults::run::{Limits, reference, seeded};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn short_seeded_runs_and_the_regression_seeds_break_no_invariant() {
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
    let limits = Limits {
        rss_kib: 1024 * 1024,
        settle,
    };
    // Seed 66 of 60 s: a deposed leader's write, committed by the next
    // leader and received in a snapshot, was never answered (openraft
    // 0.9), and a session leased to that member ran nowhere. (The other
    // regression seeds, `reflex_faults::REGRESSIONS`, failed on a timing
    // that does not come back at will; `fault-campaign --regressions`
    // runs them all: some 6 minutes, too long for every CI run.)
    for (seed, secs) in [(1, 20), (2, 20), (66, reflex_faults::REGRESSION_SECS)] {
        let run = Duration::from_secs(secs);
        let stream = Arc::new(reflex_faults::stream(Some(run * 7 / 10), subnet).unwrap());
        let o = seeded(seed, run, stream, &reference, limits).unwrap();
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
