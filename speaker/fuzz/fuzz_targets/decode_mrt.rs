#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| speaker::fuzzing::fuzz_mrt(data));
