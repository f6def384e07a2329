//! The reader must return errors, never panic, on damaged captures.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use reflex_tests::pcap::{BGP_PORTS, Desync, bgp_messages_with};

fn small_captures() -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bgp-data/pcap");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            if bytes.len() <= 4096 {
                out.push(bytes);
            }
        }
    }
    out
}

/// Deterministic xorshift, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 >> 32).unwrap()
    }
}

#[test]
fn damaged_real_captures_do_not_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let captures = small_captures();
    assert!(captures.len() > 50);
    for original in &captures {
        for _ in 0..500 {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = rng.next() % bytes.len();
                bytes[at] = u8::try_from(rng.next() % 256).unwrap();
            }
            let cut = bytes.len() - rng.next() % 8;
            for desync in [Desync::Resync, Desync::Abandon] {
                let _ = bgp_messages_with(&bytes[..cut], &BGP_PORTS, desync);
            }
        }
    }
}
