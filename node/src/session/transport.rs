//! The TCP side of a session: a writer task with a bounded queue, so the
//! actor never blocks on a slow peer (actix's `FramedWrite` would stop the
//! whole actor context while it drains: reads and the hold timer with it).

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

/// Messages a connection may have queued before the session is reset as
/// too slow: enough for a burst of UPDATEs, bounded so memory is.
pub const WRITE_QUEUE: usize = 4096;

/// The sending half: queue encoded messages; dropping it closes the
/// connection after what was queued is written.
pub struct Writer {
    tx: mpsc::Sender<Bytes>,
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
        tokio::spawn(async move {
            while let Some(b) = rx.recv().await {
                if let Err(e) = half.write_all(&b).await {
                    on_error(e);
                    return;
                }
            }
            // Sender dropped: everything queued is written; close our side.
            let _ = half.shutdown().await;
        });
        Writer { tx }
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
