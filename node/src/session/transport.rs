//! The TCP side of a session: a writer task with a bounded queue, so the
//! actor never blocks on a slow peer (actix's `FramedWrite` would stop the
//! whole actor context while it drains: reads and the hold timer with it).

use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

/// Messages a connection may have queued before the session is reset as
/// too slow: enough for a burst of UPDATEs, bounded so memory is.
pub const WRITE_QUEUE: usize = 4096;

/// Octets gathered into one write at most (a message already taken is
/// never split, so a write can exceed it by one message).
const WRITE_BATCH: usize = 64 * 1024;

/// The sending half: queue encoded messages; dropping it closes the
/// connection after what was queued is written.
pub struct Writer {
    tx: mpsc::Sender<Bytes>,
    /// Messages handed to the socket so far.
    written: Arc<AtomicU64>,
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
    /// Starts the writer task; `on_error` runs once if writing fails.
    pub fn spawn(
        mut half: OwnedWriteHalf,
        on_error: impl FnOnce(std::io::Error) + Send + 'static,
    ) -> Writer {
        let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
        let written = Arc::new(AtomicU64::new(0));
        let count = written.clone();
        tokio::spawn(async move {
            // Messages queued together leave in one write: a full table is
            // hundreds of thousands of UPDATEs, and a system call each would
            // cost more than the copy.
            let mut buf = Vec::with_capacity(WRITE_BATCH);
            while let Some(b) = rx.recv().await {
                buf.extend_from_slice(&b);
                let mut messages = 1;
                while buf.len() < WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(b) => {
                            buf.extend_from_slice(&b);
                            messages += 1;
                        }
                        Err(_) => break,
                    }
                }
                if let Err(e) = half.write_all(&buf).await {
                    on_error(e);
                    return;
                }
                count.fetch_add(messages, Ordering::Relaxed);
                buf.clear();
            }
            // Sender dropped: everything queued is written; close our side.
            let _ = half.shutdown().await;
        });
        Writer { tx, written }
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

    /// Resolves when the queue has room again (false: connection gone).
    pub fn room(&self) -> impl std::future::Future<Output = bool> + 'static {
        let tx = self.tx.clone();
        async move { tx.reserve().await.is_ok() }
    }
}
