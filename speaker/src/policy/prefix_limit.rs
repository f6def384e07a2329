//! Maximum prefixes per neighbour (RFC 4486 §4; RFC 4271 §8.1.2 Event 8
//! AutomaticStop names it as the example): how many paths the neighbour
//! has announced and not withdrawn, and when that count crosses the limit
//! or the share of it that warns.
//!
//! Counted at the session on what the neighbour sends, before import
//! policy and the RIB: the limit guards against what the peer sends (a
//! leaked full table), so a path import denies or the RIB drops still
//! counts, as in FRR and IOS. All families share one count. Costs a set
//! entry per path held, and only for neighbours with a limit.

use super::received::{Key, key};
use crate::rib::RibCommand;
use crate::wire::Family;
use foldhash::fast::FixedState;
use std::collections::HashSet;
use std::time::Duration;

/// The limit of one neighbour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixLimit {
    /// Paths the neighbour may hold announced at once, all families together.
    pub max: u32,
    /// Warn when the count reaches this share of `max`, in percent (1 to 100).
    pub warning_percent: u8,
    pub action: LimitAction,
}

/// What passing the limit does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitAction {
    /// Log it; the session and its routes stay.
    Warn,
    /// Close the session with Cease / Maximum Number of Prefixes Reached
    /// and start it again after this long (`None`: not automatically).
    Restart(Option<Duration>),
}

/// What one command did to the count: reported once per crossing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crossing {
    /// The count reached the warning share of the limit.
    Warning { count: usize, threshold: usize },
    /// The count went past the limit; `family` is that of the announcement
    /// that passed it (the family a Cease names, RFC 4486 §4).
    Exceeded { family: Family, count: usize },
}

/// The paths a neighbour holds announced, against its limit.
#[derive(Debug)]
pub struct PrefixCounter {
    limit: PrefixLimit,
    /// The smallest count that warns: `max` times the share, rounded up.
    threshold: usize,
    held: HashSet<Key, FixedState>,
    /// At or above the threshold, and reported (re-armed below it).
    warned: bool,
    /// Above the limit, and reported (re-armed at or below it).
    exceeded: bool,
}

impl PrefixCounter {
    pub fn new(limit: PrefixLimit) -> PrefixCounter {
        let share = u64::from(limit.max) * u64::from(limit.warning_percent.min(100));
        let threshold = usize::try_from(share.div_ceil(100)).unwrap_or(usize::MAX);
        PrefixCounter {
            limit,
            threshold,
            held: HashSet::default(),
            warned: false,
            exceeded: false,
        }
    }

    pub fn limit(&self) -> &PrefixLimit {
        &self.limit
    }

    /// Paths held announced now.
    pub fn count(&self) -> usize {
        self.held.len()
    }

    /// Records a command made of what the neighbour sent (before import),
    /// and says whether the count crossed the limit (first) or the
    /// warning threshold on the way.
    pub fn record(&mut self, cmd: &RibCommand) -> Option<Crossing> {
        let RibCommand::Routes {
            withdrawn,
            announced,
            ..
        } = cmd
        else {
            return None;
        };
        let max = usize::try_from(self.limit.max).unwrap_or(usize::MAX);
        // Withdrawals first, as the RIB applies the command.
        for (f, e) in withdrawn {
            self.held.remove(&key(*f, e));
        }
        let mut passed = None;
        let mut warning = false;
        for (f, e, _) in announced {
            if !self.held.insert(key(*f, e)) {
                // A path announced again replaces itself: no new prefix.
                continue;
            }
            let count = self.held.len();
            if count > max && !self.exceeded {
                self.exceeded = true;
                passed = Some(*f);
            }
            if count >= self.threshold && !self.warned {
                self.warned = true;
                warning = true;
            }
        }
        let count = self.held.len();
        self.rearm(max);
        match passed {
            Some(family) => Some(Crossing::Exceeded { family, count }),
            None if warning => Some(Crossing::Warning {
                count,
                threshold: self.threshold,
            }),
            None => None,
        }
    }

    /// Forgets every path (the session went down): the count starts again
    /// from zero, and so do the reports. The memory goes too.
    pub fn clear(&mut self) {
        self.held = HashSet::default();
        self.warned = false;
        self.exceeded = false;
    }

    /// A count back under a mark after a command reports the next
    /// crossing of it (a path withdrawn and announced again in one UPDATE
    /// crosses nothing).
    fn rearm(&mut self, max: usize) {
        let count = self.held.len();
        if count <= max {
            self.exceeded = false;
        }
        if count < self.threshold {
            self.warned = false;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::rib::PeerId;
    use crate::wire::{NlriEntry, PathAttributes, Prefix};
    use std::net::IpAddr;
    use std::sync::Arc;

    fn entry(p: &str, path_id: Option<u32>) -> (Family, NlriEntry) {
        let (addr, len) = p.split_once('/').unwrap();
        let addr: IpAddr = addr.parse().unwrap();
        let family = match addr {
            IpAddr::V4(_) => Family::IPV4_UNICAST,
            IpAddr::V6(_) => Family::IPV6_UNICAST,
        };
        let mut e = NlriEntry::plain(Prefix::new(addr, len.parse().unwrap()).unwrap());
        e.path_id = path_id;
        (family, e)
    }

    fn routes(withdraw: &[&str], announce: &[&str]) -> RibCommand {
        let attrs = Arc::new(PathAttributes::default());
        RibCommand::Routes {
            peer: PeerId(0),
            withdrawn: withdraw.iter().map(|p| entry(p, None)).collect(),
            announced: announce
                .iter()
                .map(|p| {
                    let (f, e) = entry(p, None);
                    (f, e, attrs.clone())
                })
                .collect(),
        }
    }

    fn counter(max: u32, warning_percent: u8) -> PrefixCounter {
        PrefixCounter::new(PrefixLimit {
            max,
            warning_percent,
            action: LimitAction::Warn,
        })
    }

    /// `n` distinct IPv4 /24s from 198.19.`from`.0 on.
    fn v4(from: usize, n: usize) -> Vec<String> {
        (from..from + n)
            .map(|i| format!("198.19.{}.0/24", i % 256))
            .collect()
    }

    fn strs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    #[test]
    fn counts_distinct_paths_announced_and_not_withdrawn() {
        let mut c = counter(100, 100);
        c.record(&routes(&[], &["198.19.1.0/24", "198.19.2.0/24"]));
        // Announced again: replaces itself.
        c.record(&routes(&[], &["198.19.1.0/24"]));
        assert_eq!(c.count(), 2);
        // Another family, and a path id of its own, are other paths.
        c.record(&routes(&[], &["2001:db8::/32"]));
        let attrs = Arc::new(PathAttributes::default());
        let (f, e) = entry("198.19.1.0/24", Some(7));
        c.record(&RibCommand::Routes {
            peer: PeerId(0),
            withdrawn: Vec::new(),
            announced: vec![(f, e, attrs)],
        });
        assert_eq!(c.count(), 4);
        // Withdrawn, and withdrawn what was never announced.
        c.record(&routes(&["198.19.2.0/24", "198.19.99.0/24"], &[]));
        assert_eq!(c.count(), 3);
        // Other commands count nothing.
        let eor = RibCommand::EndOfRib {
            peer: PeerId(0),
            family: Family::IPV4_UNICAST,
        };
        assert_eq!(c.record(&eor), None);
        assert_eq!(c.count(), 3);
    }

    #[test]
    fn passing_the_limit_is_reported_once_with_the_family_that_passed_it() {
        let mut c = counter(3, 100);
        // Reaching the limit is not passing it (but reaches a 100 % warning).
        let at = c.record(&routes(&[], &strs(&v4(0, 3))));
        assert_eq!(
            at,
            Some(Crossing::Warning {
                count: 3,
                threshold: 3
            })
        );
        let over = c.record(&routes(&[], &["2001:db8::/32", "198.19.50.0/24"]));
        assert_eq!(
            over,
            Some(Crossing::Exceeded {
                family: Family::IPV6_UNICAST,
                count: 5
            })
        );
        // Still above: said once.
        assert_eq!(c.record(&routes(&[], &["198.19.51.0/24"])), None);
        // Back to the limit, then past it again: a new crossing.
        assert_eq!(
            c.record(&routes(
                &["198.19.50.0/24", "198.19.51.0/24", "2001:db8::/32"],
                &[]
            )),
            None
        );
        assert_eq!(c.count(), 3);
        assert_eq!(
            c.record(&routes(&[], &["198.19.52.0/24"])),
            Some(Crossing::Exceeded {
                family: Family::IPV4_UNICAST,
                count: 4
            })
        );
    }

    #[test]
    fn withdrawals_of_a_command_count_before_its_announcements() {
        let mut c = counter(2, 100);
        c.record(&routes(&[], &["198.19.1.0/24", "198.19.2.0/24"]));
        // One out, one in: still at the limit, never past it.
        let r = c.record(&routes(&["198.19.1.0/24"], &["198.19.3.0/24"]));
        assert_eq!(r, None);
        assert_eq!(c.count(), 2);
    }

    #[test]
    fn the_warning_share_is_rounded_up_and_re_armed_below_it() {
        // 75 % of 10 is 7.5: the eighth path warns.
        let mut c = counter(10, 75);
        assert_eq!(c.record(&routes(&[], &strs(&v4(0, 7)))), None);
        assert_eq!(
            c.record(&routes(&[], &strs(&v4(7, 1)))),
            Some(Crossing::Warning {
                count: 8,
                threshold: 8
            })
        );
        assert_eq!(c.record(&routes(&[], &strs(&v4(8, 1)))), None);
        // Below, then up again: warned again.
        c.record(&routes(&strs(&v4(0, 3)), &[]));
        assert_eq!(c.count(), 6);
        assert_eq!(
            c.record(&routes(&[], &strs(&v4(20, 2)))),
            Some(Crossing::Warning {
                count: 8,
                threshold: 8
            })
        );
    }

    #[test]
    fn passing_both_marks_at_once_reports_the_limit() {
        let mut c = counter(4, 50);
        assert_eq!(
            c.record(&routes(&[], &strs(&v4(0, 6)))),
            Some(Crossing::Exceeded {
                family: Family::IPV4_UNICAST,
                count: 6
            })
        );
        // The warning was passed too: not reported later on its own.
        c.record(&routes(&strs(&v4(0, 3)), &[]));
        assert_eq!(c.count(), 3);
        assert_eq!(c.record(&routes(&[], &strs(&v4(10, 1)))), None);
    }

    #[test]
    fn clearing_starts_the_count_and_the_reports_again() {
        let mut c = counter(1, 100);
        c.record(&routes(&[], &strs(&v4(0, 2))));
        c.clear();
        assert_eq!(c.count(), 0);
        assert!(matches!(
            c.record(&routes(&[], &strs(&v4(0, 2)))),
            Some(Crossing::Exceeded { count: 2, .. })
        ));
    }
}
