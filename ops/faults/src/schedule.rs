//! The seeded fault schedule: which fault, on which member, when and for
//! how long. Pure (no I/O), so a seed names one schedule on any machine
//! and any build: the generator is SplitMix64, written out here rather
//! than taken from a crate whose streams may change between versions.

use std::time::Duration;

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast and with a fixed
/// output for a seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..=high` (`low` when the range is empty).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.next_u64() % (high - low + 1)
    }
}

/// What is done to a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// SIGKILL, started again when the fault ends.
    Kill,
    /// SIGSTOP, SIGCONT when the fault ends.
    Stop,
    /// Its link to the LAN down: BGP and Raft both cut.
    Partition,
    /// Its Raft port dropped both ways; its BGP sessions stay.
    RaftPartition,
    /// Packet loss and delay on its link (`tc netem`, or iptables loss
    /// and a `tbf` queue where the kernel has no netem).
    Netem,
    /// Its data directory (a small tmpfs) filled up; what is written
    /// after fails with ENOSPC. Started again (if it exited) once the
    /// space is back.
    DiskFull,
    /// SIGKILL and its data directory emptied; started again, empty,
    /// when the fault ends: it catches up from the others.
    Wipe,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Kill,
        Kind::Stop,
        Kind::Partition,
        Kind::RaftPartition,
        Kind::Netem,
        Kind::DiskFull,
        Kind::Wipe,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Kill => "kill-9",
            Kind::Stop => "sigstop",
            Kind::Partition => "partition",
            Kind::RaftPartition => "raft-partition",
            Kind::Netem => "loss-delay",
            Kind::DiskFull => "disk-full",
            Kind::Wipe => "wipe",
        }
    }

    /// Whether the member may exit because of this fault (and is started
    /// again when it ends).
    pub fn may_exit(self) -> bool {
        matches!(self, Kind::Kill | Kind::DiskFull | Kind::Wipe)
    }
}

/// One fault: `kind` on `member` (0-based) from `at` (since the run
/// began) for `lasts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub at: Duration,
    pub member: usize,
    pub kind: Kind,
    pub lasts: Duration,
}

/// Bounds of a schedule.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Members of the cluster.
    pub members: usize,
    /// How long faults may be injected for (the last one ends by then).
    pub run: Duration,
    /// How long a fault lasts, in whole seconds: `low..=high`.
    pub lasts: (u64, u64),
    /// Time between the end of one fault and the start of the next.
    pub gap: (u64, u64),
}

impl Shape {
    pub fn new(members: usize, run: Duration) -> Shape {
        Shape {
            members,
            run,
            lasts: (2, 8),
            gap: (1, 4),
        }
    }
}

/// The faults of `seed`: one at a time (a majority always stands, so the
/// cluster can commit throughout; two faults at once would be a quorum
/// loss, which the quorum tests cover), kinds and members uniform.
pub fn schedule(seed: u64, shape: Shape) -> Vec<Fault> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let mut t = Duration::from_secs(rng.between(shape.gap.0, shape.gap.1));
    loop {
        let lasts = Duration::from_secs(rng.between(shape.lasts.0, shape.lasts.1));
        if t + lasts > shape.run || shape.members == 0 {
            return out;
        }
        let kind = Kind::ALL[rng.between(0, Kind::ALL.len() as u64 - 1) as usize];
        let member = rng.between(0, shape.members as u64 - 1) as usize;
        out.push(Fault {
            at: t,
            member,
            kind,
            lasts,
        });
        t += lasts + Duration::from_secs(rng.between(shape.gap.0, shape.gap.1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn splitmix64_reference_values() {
        // The first outputs for seed 0 (the reference implementation's).
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn a_seed_names_one_schedule() {
        let shape = Shape::new(3, Duration::from_secs(60));
        assert_eq!(schedule(7, shape), schedule(7, shape));
        assert_ne!(schedule(7, shape), schedule(8, shape));
    }

    #[test]
    fn faults_come_one_at_a_time_within_the_run() {
        for seed in 0..200 {
            let shape = Shape::new(3, Duration::from_secs(60));
            let faults = schedule(seed, shape);
            assert!(!faults.is_empty(), "seed {seed}");
            for f in &faults {
                assert!(f.member < 3);
                assert!(f.at + f.lasts <= shape.run);
                assert!(f.lasts >= Duration::from_secs(2) && f.lasts <= Duration::from_secs(8));
            }
            for w in faults.windows(2) {
                assert!(w[0].at + w[0].lasts < w[1].at, "seed {seed}: {w:?}");
            }
        }
    }

    #[test]
    fn every_kind_and_member_comes_up_across_seeds() {
        let shape = Shape::new(3, Duration::from_secs(60));
        let seen: BTreeSet<(Kind, usize)> = (0..100)
            .flat_map(|s| schedule(s, shape))
            .map(|f| (f.kind, f.member))
            .collect();
        assert_eq!(seen.len(), Kind::ALL.len() * 3);
    }

    #[test]
    fn a_run_too_short_for_a_fault_has_none() {
        let shape = Shape::new(3, Duration::from_secs(2));
        assert!(schedule(1, shape).is_empty());
    }
}
