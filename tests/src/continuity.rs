//! Continuity is measured, not inferred: a [`Sampler`] reads each client's
//! route count on its own thread every 100 ms (or as fast as the client
//! answers, if slower) through a whole event, and the [`Series`] it
//! returns tell the lowest count seen and how long a count stayed below
//! the table a client should hold, not only where it ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often each client is read.
pub const EVERY: Duration = Duration::from_millis(100);

/// A reading: when, and the count (`None`: the client could not be read,
/// taken as no route, the worst case).
pub type Sample = (Instant, Option<usize>);

/// One client's counts in time.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub samples: Vec<Sample>,
}

impl Series {
    fn within(
        &self,
        from: Instant,
        to: Instant,
    ) -> impl Iterator<Item = &(Instant, Option<usize>)> {
        self.samples
            .iter()
            .filter(move |(t, _)| *t >= from && *t <= to)
    }

    /// The lowest count read between `from` and `to` (an unreadable
    /// sample counts as 0); None if no sample was taken then.
    pub fn lowest(&self, from: Instant, to: Instant) -> Option<usize> {
        self.within(from, to).map(|(_, n)| n.unwrap_or(0)).min()
    }

    /// How long the count stayed below `floor` between `from` and `to`:
    /// each sample below it counts until the next sample.
    pub fn below(&self, floor: usize, from: Instant, to: Instant) -> Duration {
        self.time_where(from, to, |n| n < floor)
    }

    /// How long the count stayed at `floor` or above between `from` and
    /// `to`: each sample at or above it counts until the next sample.
    pub fn at_least(&self, floor: usize, from: Instant, to: Instant) -> Duration {
        self.time_where(from, to, |n| n >= floor)
    }

    /// How long the count (an unreadable sample as 0) met `holds` between
    /// `from` and `to`: each sample counts until the next.
    fn time_where(&self, from: Instant, to: Instant, holds: impl Fn(usize) -> bool) -> Duration {
        let s: Vec<_> = self.within(from, to).collect();
        s.windows(2)
            .filter(|w| holds(w[0].1.unwrap_or(0)))
            .map(|w| w[1].0 - w[0].0)
            .sum()
    }

    /// The longest time between two samples between `from` and `to`: what
    /// the sampling could have missed.
    pub fn longest_gap(&self, from: Instant, to: Instant) -> Duration {
        let s: Vec<_> = self.within(from, to).collect();
        s.windows(2)
            .map(|w| w[1].0 - w[0].0)
            .max()
            .unwrap_or_default()
    }

    /// The last count read.
    pub fn last(&self) -> Option<usize> {
        self.samples.last().and_then(|(_, n)| *n)
    }
}

/// Prints, for one event, each series' lowest count, the time it spent
/// below `full` and the longest gap between its samples; returns what
/// fails: a count below `full` (not one sample may be), or a gap longer
/// than `max_gap` gives for that series (a dip could hide in it).
pub fn check_counts(
    event: &str,
    series: &[&Series],
    full: usize,
    from: Instant,
    to: Instant,
    max_gap: impl Fn(&str) -> Duration,
) -> Vec<String> {
    let mut failures = Vec::new();
    for s in series {
        let lowest = s.lowest(from, to).unwrap_or(0);
        let below = s.below(full, from, to);
        let gap = s.longest_gap(from, to);
        eprintln!(
            "{event}: {}: lowest {lowest} of {full}, {:.1} s below the full table, {} samples, longest gap between samples {} ms",
            s.name,
            below.as_secs_f64(),
            s.samples.len(),
            gap.as_millis()
        );
        // The samples below the table, as read (None: the client did not
        // answer), for the failure's reader.
        let low: Vec<String> = s
            .samples
            .iter()
            .filter(|(t, n)| *t >= from && *t <= to && n.unwrap_or(0) < full)
            .take(8)
            .map(|(t, n)| format!("+{} ms: {n:?}", (*t - from).as_millis()))
            .collect();
        if !low.is_empty() {
            eprintln!("{event}: {}: below the table: {low:?}", s.name);
        }
        if lowest < full || !below.is_zero() {
            failures.push(format!(
                "{}: lowest {lowest} < {full} ({:.1} s below)",
                s.name,
                below.as_secs_f64()
            ));
        }
        if gap > max_gap(&s.name) {
            failures.push(format!(
                "{}: a gap of {} ms between samples",
                s.name,
                gap.as_millis()
            ));
        }
    }
    failures
}

/// Reads clients' route counts until [`Sampler::finish`].
#[derive(Default)]
pub struct Sampler {
    stop: Arc<AtomicBool>,
    threads: Vec<(String, JoinHandle<Vec<Sample>>)>,
    /// The counts after the first of [`Sampler::watch_many`].
    pairs: Vec<(String, Arc<std::sync::Mutex<Vec<Sample>>>)>,
}

impl Sampler {
    pub fn new() -> Sampler {
        Sampler::default()
    }

    /// Reads `count` every [`EVERY`] on a thread of its own.
    pub fn watch(&mut self, name: &str, count: impl FnMut() -> Option<usize> + Send + 'static) {
        let stop = self.stop.clone();
        let mut count = count;
        let thread = std::thread::spawn(move || {
            let mut out = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let n = count();
                out.push((started, n));
                if let Some(rest) = EVERY.checked_sub(started.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            out
        });
        self.threads.push((name.to_string(), thread));
    }

    /// Reads two counts of one client with one call (`names.0`, `names.1`):
    /// a client that answers both in one query is asked once per round.
    pub fn watch_pair(
        &mut self,
        names: (&str, &str),
        mut count: impl FnMut() -> (Option<usize>, Option<usize>) + Send + 'static,
    ) {
        self.watch_many(&[names.0, names.1], move || {
            let (a, b) = count();
            vec![a, b]
        });
    }

    /// Reads several counts with one call, one series per name (in order;
    /// a count the call does not give is `None`).
    pub fn watch_many(
        &mut self,
        names: &[&str],
        mut counts: impl FnMut() -> Vec<Option<usize>> + Send + 'static,
    ) {
        let Some((first, rest)) = names.split_first() else {
            return;
        };
        let others: Vec<Arc<std::sync::Mutex<Vec<Sample>>>> =
            rest.iter().map(|_| Arc::default()).collect();
        let out = others.clone();
        self.watch(first, move || {
            let at = Instant::now();
            let mut v = counts().into_iter();
            let a = v.next().flatten();
            for o in &out {
                o.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((at, v.next().flatten()));
            }
            a
        });
        for (name, series) in rest.iter().zip(others) {
            self.pairs.push((name.to_string(), series));
        }
    }

    /// Stops reading; every client's series.
    pub fn finish(mut self) -> Vec<Series> {
        self.stop.store(true, Ordering::Relaxed);
        let mut out: Vec<Series> = std::mem::take(&mut self.threads)
            .into_iter()
            .map(|(name, t)| Series {
                name,
                samples: t.join().unwrap_or_default(),
            })
            .collect();
        for (name, samples) in std::mem::take(&mut self.pairs) {
            let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|p| p.into_inner()));
            out.push(Series { name, samples });
        }
        out
    }
}

/// A sampler dropped unfinished (a test failed under it) stops its
/// threads, so the clients they read (and hold) are dropped, and stopped,
/// with the test.
impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for (_, t) in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_and_time_below_come_from_every_sample() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let s = Series {
            name: "c".into(),
            samples: vec![
                (at(0), Some(10)),
                (at(100), Some(10)),
                (at(200), Some(3)),
                (at(300), None),
                (at(400), Some(10)),
                (at(500), Some(10)),
            ],
        };
        assert_eq!(s.lowest(at(0), at(500)), Some(0));
        assert_eq!(s.lowest(at(400), at(500)), Some(10));
        assert_eq!(s.below(10, at(0), at(500)), Duration::from_millis(200));
        assert_eq!(s.below(3, at(0), at(500)), Duration::from_millis(100));
        assert_eq!(s.longest_gap(at(0), at(500)), Duration::from_millis(100));
        assert_eq!(s.last(), Some(10));
        assert_eq!(s.lowest(at(600), at(700)), None);
    }
}
