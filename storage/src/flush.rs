//! Deadlines on sled's flushes. After an I/O error (a full disk) inside
//! sled's own periodic flusher, a later flush can wait for ever: the
//! member then neither stores nor fails, and Raft waits on it for good (a
//! zombie that holds its sessions on a frozen RIB). A flush that has not
//! ended by [`FLUSH_DEADLINE`] is a store error instead: openraft stops on
//! it, and the daemon exits on openraft's fatal state (a supervisor starts
//! it again on a store that opens or fails to open, both visible).

use crate::types::{NodeId, TypeConfig};
use crate::{io_err, lock};
use openraft::storage::LogFlushed;
use openraft::{ErrorSubject, ErrorVerb, StorageError};
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a flush may take before the store is taken for failed. A
/// healthy disk flushes a full table's snapshot in well under a second.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(30);

/// Why a flush failed: sled's error, or no answer by the deadline.
#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("the flush did not end within {} s (the disk failed?)", .0.as_secs())]
    Deadline(Duration),
}

/// Awaits `flush` (a sled `flush_async`) for at most `deadline`.
pub async fn within(
    flush: impl Future<Output = sled::Result<usize>>,
    deadline: Duration,
) -> Result<(), FlushError> {
    match tokio::time::timeout(deadline, flush).await {
        Ok(r) => r.map(|_| ()).map_err(FlushError::from),
        Err(_) => Err(FlushError::Deadline(deadline)),
    }
}

/// [`within`] [`FLUSH_DEADLINE`], as the store error openraft takes.
pub async fn flush(
    flush: impl Future<Output = sled::Result<usize>>,
    subject: ErrorSubject<NodeId>,
) -> Result<(), StorageError<NodeId>> {
    within(flush, FLUSH_DEADLINE).await.map_err(|e| {
        tracing::error!(error = %e, "a flush of the store failed");
        io_err(subject, ErrorVerb::Write, e)
    })
}

/// The appends a blocking flush (on the log's flusher thread) is making
/// durable, watched from another thread: if the flush has not ended by the
/// deadline they are answered with an error, so openraft stops instead of
/// waiting for ever.
pub(crate) struct Watched<C: Answer> {
    state: Mutex<InFlight<C>>,
    wake: Condvar,
    deadline: Duration,
}

struct InFlight<C> {
    since: Option<Instant>,
    callbacks: Vec<C>,
    stopped: bool,
}

/// What waits on a flush: answered once it ends or fails.
pub(crate) trait Answer: Send + 'static {
    fn answer(self, flushed: Result<(), std::io::Error>);
}

impl Answer for LogFlushed<TypeConfig> {
    fn answer(self, flushed: Result<(), std::io::Error>) {
        self.log_io_completed(flushed);
    }
}

impl<C: Answer> Watched<C> {
    /// Starts the watchdog thread; it ends once [`Watched::stop`] is called.
    pub(crate) fn start(deadline: Duration) -> std::io::Result<Arc<Watched<C>>> {
        let w = Arc::new(Watched {
            state: Mutex::new(InFlight {
                since: None,
                callbacks: Vec::new(),
                stopped: false,
            }),
            wake: Condvar::new(),
            deadline,
        });
        let watched = w.clone();
        std::thread::Builder::new()
            .name("raft-log-watchdog".into())
            .spawn(move || watched.watch())?;
        Ok(w)
    }

    /// A flush of the appends behind `callbacks` starts.
    pub(crate) fn begin(&self, callbacks: Vec<C>) {
        let mut s = lock(&self.state);
        s.since = Some(Instant::now());
        s.callbacks = callbacks;
        self.wake.notify_all();
    }

    /// The flush ended: the callbacks still to answer (none if the
    /// watchdog answered them already).
    pub(crate) fn end(&self) -> Vec<C> {
        let mut s = lock(&self.state);
        s.since = None;
        std::mem::take(&mut s.callbacks)
    }

    pub(crate) fn stop(&self) {
        lock(&self.state).stopped = true;
        self.wake.notify_all();
    }

    fn watch(&self) {
        let mut s = lock(&self.state);
        while !s.stopped {
            let wait = match s.since {
                Some(since) if since.elapsed() >= self.deadline => {
                    let late = std::mem::take(&mut s.callbacks);
                    s.since = None;
                    if !late.is_empty() {
                        tracing::error!(
                            secs = self.deadline.as_secs(),
                            appends = late.len(),
                            "the Raft log's flush did not end in time (the disk failed?): \
                             the appends it holds are failed"
                        );
                    }
                    for callback in late {
                        callback.answer(Err(std::io::Error::other(FlushError::Deadline(
                            self.deadline,
                        ))));
                    }
                    self.deadline
                }
                Some(since) => self.deadline.saturating_sub(since.elapsed()),
                None => self.deadline,
            };
            s = self
                .wake
                .wait_timeout(s, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flush_that_never_ends_fails_at_the_deadline() {
        let never = std::future::pending::<sled::Result<usize>>();
        let t0 = Instant::now();
        let r = within(never, Duration::from_millis(50)).await;
        assert!(matches!(r, Err(FlushError::Deadline(_))), "{r:?}");
        assert!(t0.elapsed() >= Duration::from_millis(50));
        assert!(r.unwrap_err().to_string().contains("did not end within"));
    }

    #[tokio::test]
    async fn a_flush_that_ends_is_its_result() {
        let ok = async { Ok::<usize, sled::Error>(7) };
        assert!(within(ok, Duration::from_secs(1)).await.is_ok());
        let failed =
            async { Err::<usize, sled::Error>(sled::Error::Io(std::io::Error::other("ENOSPC"))) };
        let r = within(failed, Duration::from_secs(1)).await;
        assert!(matches!(r, Err(FlushError::Sled(_))), "{r:?}");
    }

    impl Answer for std::sync::mpsc::Sender<Result<(), String>> {
        fn answer(self, flushed: Result<(), std::io::Error>) {
            let _ = self.send(flushed.map_err(|e| e.to_string()));
        }
    }

    #[test]
    fn appends_behind_a_flush_that_hangs_are_failed_at_the_deadline() {
        let w = Watched::start(Duration::from_millis(100)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        w.begin(vec![tx.clone(), tx]);
        // The flush "hangs": nobody calls end.
        for _ in 0..2 {
            let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert!(
                r.as_ref().is_err_and(|e| e.contains("did not end")),
                "{r:?}"
            );
        }
        // When the flush ends at last, nothing is left to answer twice.
        assert!(w.end().is_empty());
        w.stop();
    }

    #[test]
    fn appends_behind_a_flush_that_ends_are_left_to_the_flusher() {
        let w = Watched::start(Duration::from_millis(200)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        w.begin(vec![tx]);
        let back = w.end();
        assert_eq!(back.len(), 1);
        std::thread::sleep(Duration::from_millis(400));
        assert!(
            rx.try_recv().is_err(),
            "the watchdog answered a flush that ended"
        );
        for c in back {
            c.answer(Ok(()));
        }
        assert_eq!(rx.recv().unwrap(), Ok(()));
        w.stop();
    }
}
