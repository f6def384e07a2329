//! The fuzz targets' entry points, run over the shared data and the GoBGP
//! crash inputs on every test run, so a broken invariant shows up without
//! a fuzzer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn data(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bgp-data")
        .join(rel)
}

#[test]
fn message_and_attribute_entry_points_hold_on_crash_inputs() {
    for f in std::fs::read_dir(data("fuzz/gobgp-fuzz-bad-len")).unwrap() {
        let raw = std::fs::read(f.unwrap().path()).unwrap();
        for selector in 0u8..32 {
            let mut input = vec![selector];
            input.extend_from_slice(&raw);
            speaker::fuzzing::fuzz_message(&input);
            speaker::fuzzing::fuzz_attributes(&input);
            // Every suffix too: the attribute decoder meets other offsets.
            for cut in (1..raw.len()).step_by(7) {
                let mut input = vec![selector];
                input.extend_from_slice(&raw[cut..]);
                speaker::fuzzing::fuzz_attributes(&input);
            }
        }
    }
}

#[test]
fn mrt_entry_point_holds_on_samples_and_their_prefixes() {
    for f in std::fs::read_dir(data("mrt/impl-samples")).unwrap() {
        let raw = std::fs::read(f.unwrap().path()).unwrap();
        speaker::fuzzing::fuzz_mrt(&raw);
        for cut in (0..raw.len()).step_by(97) {
            speaker::fuzzing::fuzz_mrt(&raw[..cut]);
            let mut damaged = raw.clone();
            damaged[cut] ^= 0x5a;
            speaker::fuzzing::fuzz_mrt(&damaged);
        }
    }
}

#[test]
fn fuzz_regressions() {
    // A full-form MP_REACH_NLRI inside an MRT RIB entry was re-encoded in the
    // abbreviated form, which did not decode again.
    speaker::fuzzing::fuzz_attributes(&[0xeb, 0xab, 0x0e, 0x05, 0, 0, 0, 0, 3]);
}
