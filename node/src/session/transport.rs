//! The TCP side of a session: a writer task with a bounded queue, so the
//! actor never blocks on a slow peer (actix's `FramedWrite` would stop the
//! whole actor context while it drains: reads and the hold timer with it).

use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};

/// Messages a connection may have queued before the session is reset as
/// too slow: enough for a burst of UPDATEs, bounded so memory is.
pub const WRITE_QUEUE: usize = 4096;

/// Octets gathered into one write at most (a message already taken is
/// never split, so a write can exceed it by one message).
const WRITE_BATCH: usize = 64 * 1024;

/// Whether an encoded message is a NOTIFICATION (RFC 4271 §4.1: the type
/// octet follows the 16-octet marker and the 2-octet length).
pub fn is_notification(b: &Bytes) -> bool {
    b.get(18) == Some(&3)
}

/// The sending half: queue encoded messages; dropping it closes the
/// connection after what was queued is written (or the write timeout
/// passes with nothing written).
pub struct Writer {
    tx: mpsc::Sender<Bytes>,
    /// Set by [`Writer::close_with`]: what is queued and not yet taken
    /// is dropped (but for the NOTIFICATION that closes).
    discard: Arc<AtomicBool>,
    /// Messages handed to the socket so far.
    written: Arc<AtomicU64>,
    /// Octets handed to the socket so far.
    octets: watch::Receiver<u64>,
}

/// Why a queued write did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The peer does not read fast enough (the queue is full).
    Full,
    /// The connection is gone.
    Closed,
}

impl Writer {
    /// Starts the writer task; `on_error` runs once if writing fails, or
    /// if the socket takes nothing for `timeout` (a peer that stopped
    /// reading: its window stays shut, and what we queue for it would
    /// wait there for ever).
    pub fn spawn(
        mut half: OwnedWriteHalf,
        timeout: Duration,
        on_error: impl FnOnce(std::io::Error) + Send + 'static,
    ) -> Writer {
        let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
        let discard = Arc::new(AtomicBool::new(false));
        let dropping = discard.clone();
        // Once closing with a NOTIFICATION, only it goes.
        let keep = move |b: &Bytes| !dropping.load(Ordering::Relaxed) || is_notification(b);
        let written = Arc::new(AtomicU64::new(0));
        let count = written.clone();
        let (octets_tx, octets) = watch::channel(0u64);
        tokio::spawn(async move {
            // Messages queued together leave in one write: a full table is
            // hundreds of thousands of UPDATEs, and a system call each would
            // cost more than the copy.
            let mut buf = Vec::with_capacity(WRITE_BATCH);
            let mut total = 0u64;
            while let Some(b) = rx.recv().await {
                if !keep(&b) {
                    continue;
                }
                buf.extend_from_slice(&b);
                let mut messages = 1;
                while buf.len() < WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(b) if keep(&b) => {
                            buf.extend_from_slice(&b);
                            messages += 1;
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                let mut at = 0;
                while at < buf.len() {
                    // The timeout is on progress: a slow reader that takes
                    // a little at a time is not cut off.
                    match tokio::time::timeout(timeout, half.write(&buf[at..])).await {
                        Ok(Ok(0)) => {
                            on_error(std::io::ErrorKind::WriteZero.into());
                            return;
                        }
                        Ok(Ok(n)) => {
                            at += n;
                            total += n as u64;
                            octets_tx.send_replace(total);
                        }
                        Ok(Err(e)) => {
                            on_error(e);
                            return;
                        }
                        Err(_) => {
                            on_error(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                format!(
                                    "the peer took nothing for {} s (write timeout)",
                                    timeout.as_secs()
                                ),
                            ));
                            return;
                        }
                    }
                }
                count.fetch_add(messages, Ordering::Relaxed);
                buf.clear();
            }
            // Sender dropped: everything queued is written; close our side.
            let _ = tokio::time::timeout(timeout, half.shutdown()).await;
        });
        Writer {
            tx,
            discard,
            written,
            octets,
        }
    }

    /// Octets written to the socket so far.
    pub fn octets_written(&self) -> u64 {
        *self.octets.borrow()
    }

    /// Resolves once `octets` octets in all are written (false: the
    /// connection is gone first).
    pub fn written_up_to(&self, octets: u64) -> impl std::future::Future<Output = bool> + 'static {
        let mut rx = self.octets.clone();
        async move { rx.wait_for(|w| *w >= octets).await.is_ok() }
    }

    /// Messages written to the socket so far, in the order queued.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Queues without waiting; on `Full` the message comes back.
    pub fn send(&self, b: Bytes) -> Result<(), (WriteError, Bytes)> {
        self.tx.try_send(b).map_err(|e| match e {
            mpsc::error::TrySendError::Full(b) => (WriteError::Full, b),
            mpsc::error::TrySendError::Closed(b) => (WriteError::Closed, b),
        })
    }

    /// Closes the connection with `last` (a NOTIFICATION): what is queued
    /// and not yet taken by the writer task is dropped (the session is
    /// over; a table the peer is still taking in would hold the
    /// NOTIFICATION back for as long), the write under way finishes, then
    /// `last` goes. `last` waits for room in the queue, which the dropping
    /// makes at once.
    pub fn close_with(self, last: Bytes) {
        self.discard.store(true, Ordering::Relaxed);
        let tx = self.tx;
        tokio::spawn(async move {
            let _ = tx.send(last).await;
        });
    }

    /// Resolves when the queue has room again (false: connection gone).
    pub fn room(&self) -> impl std::future::Future<Output = bool> + 'static {
        let tx = self.tx.clone();
        async move { tx.reserve().await.is_ok() }
    }
}
