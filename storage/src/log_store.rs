//! The Raft log in sled (openraft's v2 `RaftLogStorage`): entries by
//! big-endian index in one tree, the vote, the committed and the last
//! purged log ids in another. An append is acknowledged only once sled has
//! flushed it: a member that says it has an entry has it on disk. Flushes
//! run on their own thread, so Raft goes on (replicating, committing,
//! taking the next writes) while the disk syncs; appends that arrive
//! meanwhile share the next flush.

use crate::flush::{self, Answer, FLUSH_DEADLINE, Watched};
use crate::format::{self, index_key, index_of};
use crate::types::{NodeId, TypeConfig};
use crate::{io_err, lock};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{
    Entry, EntryPayload, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftLogReader, StorageError,
    Vote,
};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

type Result<T> = std::result::Result<T, StorageError<NodeId>>;

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";

/// The log store; clones share the trees (the log reader is a clone).
#[derive(Clone)]
pub struct LogStore {
    db: sled::Db,
    log: sled::Tree,
    meta: sled::Tree,
    /// The last entries appended, in their stored form: applying them and
    /// replicating them to followers reads them back at once, and taking
    /// them from here spares a read and a decode each time.
    recent: Arc<Mutex<BTreeMap<u64, Entry<TypeConfig>>>>,
    flusher: Arc<Flusher>,
    committed: Arc<CommittedPaths>,
}

/// Paths (announced or withdrawn) in the entries committed since the store
/// was opened: how fast the cluster takes routes in.
#[derive(Default)]
struct CommittedPaths {
    total: AtomicU64,
    /// The last index known committed.
    index: AtomicU64,
    /// Paths of each entry appended and not yet known committed.
    pending: Mutex<BTreeMap<u64, u64>>,
}

impl CommittedPaths {
    fn appended(&self, entry: &Entry<TypeConfig>) {
        if let EntryPayload::Normal(r) = &entry.payload {
            lock(&self.pending).insert(entry.log_id.index, r.paths() as u64);
        }
    }

    fn committed(&self, upto: u64) {
        self.index.fetch_max(upto, Ordering::Relaxed);
        let mut pending = lock(&self.pending);
        let later = pending.split_off(&(upto + 1));
        let paths: u64 = std::mem::replace(&mut *pending, later).into_values().sum();
        self.total.fetch_add(paths, Ordering::Relaxed);
    }

    fn truncated(&self, from: u64) {
        lock(&self.pending).split_off(&from);
    }
}

/// The thread that makes appends durable and then acknowledges them, in
/// the order they were appended (a flush covers every write before it).
struct Flusher {
    appended: Option<mpsc::Sender<LogFlushed<TypeConfig>>>,
    /// Says when the thread is done (its last flush, its handle on the
    /// store dropped).
    done: Mutex<Option<mpsc::Receiver<()>>>,
    thread: Option<JoinHandle<()>>,
    /// Fails the appends of a flush that does not end.
    watched: Arc<Watched<LogFlushed<TypeConfig>>>,
}

/// How long dropping the log store waits for its flusher thread. After an
/// I/O error (a full disk) sled can wait for ever in a flush, and the
/// store is dropped inside the Raft core on the runtime's thread: past
/// this the thread is left behind rather than the runtime stopped.
const FLUSHER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Flusher {
    fn start(db: sled::Db) -> std::io::Result<Flusher> {
        let (tx, rx) = mpsc::channel::<LogFlushed<TypeConfig>>();
        let (done_tx, done) = mpsc::channel::<()>();
        let watched = Watched::start(FLUSH_DEADLINE)?;
        let in_flight = watched.clone();
        let spawned = std::thread::Builder::new()
            .name("raft-log-flush".into())
            .spawn(move || {
                // Dropped last, after `db` (locals drop in reverse): the
                // drop of the store's last handle flushes too.
                let _done = Done(done_tx);
                let db = db;
                while let Ok(first) = rx.recv() {
                    // Group commit: one flush for every append waiting.
                    in_flight.begin(std::iter::once(first).chain(rx.try_iter()).collect());
                    let flushed = db.flush().map(|_| ()).map_err(|e| e.to_string());
                    for callback in in_flight.end() {
                        callback.answer(flushed.clone().map_err(std::io::Error::other));
                    }
                }
            });
        let thread = spawned.inspect_err(|_| watched.stop())?;
        Ok(Flusher {
            appended: Some(tx),
            done: Mutex::new(Some(done)),
            thread: Some(thread),
            watched,
        })
    }

    /// Acknowledges through `callback` once what is appended is on disk.
    fn after_flush(&self, callback: LogFlushed<TypeConfig>) {
        if let Some(tx) = &self.appended
            && let Err(mpsc::SendError(callback)) = tx.send(callback)
        {
            callback.log_io_completed(Err(std::io::Error::other("the log flusher stopped")));
        }
    }
}

impl Drop for Flusher {
    /// Waits for the last flush, so the store can be opened again at once.
    fn drop(&mut self) {
        self.appended.take();
        self.watched.stop();
        let done = self
            .done
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let finished = match done {
            // The sender dropped (the thread ended) or a message: done.
            Some(done) => !matches!(
                done.recv_timeout(FLUSHER_WAIT),
                Err(mpsc::RecvTimeoutError::Timeout)
            ),
            None => true,
        };
        match self.thread.take() {
            Some(t) if finished => {
                let _ = t.join();
            }
            Some(_) => tracing::error!(
                waited_secs = FLUSHER_WAIT.as_secs(),
                "the Raft log's last flush does not end (the store failed?): left behind"
            ),
            None => {}
        }
    }
}

/// Tells the flusher's owner, when dropped, that its thread is done.
struct Done(mpsc::Sender<()>);

impl Drop for Done {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// Entries kept in [`LogStore::recent`]: the ones being applied and
/// replicated (two writes are in flight at most); each holds thousands of
/// paths, so more would cost memory a full table notices (8: 10 MiB more).
const RECENT: usize = 3;

/// The entry as every member reads it back from the log.
fn stored_form(e: &Entry<TypeConfig>) -> Entry<TypeConfig> {
    Entry {
        log_id: e.log_id,
        payload: match &e.payload {
            EntryPayload::Normal(r) => EntryPayload::Normal(r.stored()),
            EntryPayload::Blank => EntryPayload::Blank,
            EntryPayload::Membership(m) => EntryPayload::Membership(m.clone()),
        },
    }
}

impl LogStore {
    /// The log trees of `db` (created when absent).
    pub fn open(db: &sled::Db) -> std::result::Result<LogStore, sled::Error> {
        Ok(LogStore {
            db: db.clone(),
            log: db.open_tree("raft_log")?,
            meta: db.open_tree("raft_meta")?,
            recent: Arc::default(),
            flusher: Arc::new(Flusher::start(db.clone())?),
            committed: Arc::default(),
        })
    }

    /// Paths in the entries committed since the store was opened (what a
    /// follower learns committed counts when it learns it).
    pub fn committed_paths(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let c = self.committed.clone();
        move || c.total.load(Ordering::Relaxed)
    }

    /// The last log index this member knows committed.
    pub fn committed_index(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let c = self.committed.clone();
        move || c.index.load(Ordering::Relaxed)
    }

    fn get_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        subject: ErrorSubject<NodeId>,
    ) -> Result<Option<T>> {
        let Some(v) = self
            .meta
            .get(key)
            .map_err(|e| io_err(subject.clone(), ErrorVerb::Read, e))?
        else {
            return Ok(None);
        };
        format::decode(&v)
            .map(Some)
            .map_err(|e| io_err(subject, ErrorVerb::Read, e))
    }

    async fn put_meta<T: serde::Serialize>(
        &self,
        key: &str,
        value: &T,
        subject: ErrorSubject<NodeId>,
    ) -> Result<()> {
        // openraft's own types (vote, log ids): laid out as in format 1.
        let v = format::encode_as(value, format::FORMAT_1)
            .map_err(|e| io_err(subject.clone(), ErrorVerb::Write, e))?;
        self.meta
            .insert(key, v)
            .map_err(|e| io_err(subject.clone(), ErrorVerb::Write, e))?;
        self.flush(subject).await
    }

    async fn flush(&self, subject: ErrorSubject<NodeId>) -> Result<()> {
        flush::flush(self.db.flush_async(), subject).await
    }

    fn decode_entry(v: &[u8]) -> Result<Entry<TypeConfig>> {
        format::decode(v).map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        {
            let recent = lock(&self.recent);
            let end = match range.end_bound() {
                Bound::Included(i) => Some(*i),
                Bound::Excluded(i) => i.checked_sub(1),
                Bound::Unbounded => recent.keys().next_back().copied(),
            };
            if let Some(end) = end
                && end >= start
                && (start..=end).all(|i| recent.contains_key(&i))
            {
                return Ok(recent.range(start..=end).map(|(_, e)| e.clone()).collect());
            }
        }
        let mut out = Vec::new();
        for item in self.log.range(index_key(start)..) {
            let (k, v) = item.map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
            let Some(index) = index_of(&k) else { continue };
            if !range.contains(&index) {
                break;
            }
            out.push(Self::decode_entry(&v)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>> {
        let last_purged: Option<LogId<NodeId>> = self.get_meta(LAST_PURGED, ErrorSubject::Store)?;
        let last = match self
            .log
            .last()
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?
        {
            Some((_, v)) => Some(Self::decode_entry(&v)?.log_id),
            None => last_purged,
        };
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<()> {
        self.put_meta(VOTE, vote, ErrorSubject::Vote).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>> {
        self.get_meta(VOTE, ErrorSubject::Vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<()> {
        if let Some(c) = &committed {
            self.committed.committed(c.index);
        }
        // Not flushed on its own: losing the latest committed id only means
        // re-applying a little more after a restart.
        let v = format::encode_as(&committed, format::FORMAT_1)
            .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, e))?;
        self.meta
            .insert(COMMITTED, v)
            .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, e))?;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>> {
        Ok(self
            .get_meta::<Option<LogId<NodeId>>>(COMMITTED, ErrorSubject::Store)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let started = std::time::Instant::now();
        let mut batch = sled::Batch::default();
        let mut appended = Vec::new();
        for entry in entries {
            let entry = stored_form(&entry);
            // The entry's own layout is format 1's; its request carries
            // its own format (`StoredBatch::format`).
            let v = format::encode_as(&entry, format::FORMAT_1)
                .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Write, e))?;
            batch.insert(&index_key(entry.log_id.index), v);
            self.committed.appended(&entry);
            appended.push(entry);
        }
        self.log
            .apply_batch(batch)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Write, e))?;
        let encoded = started.elapsed();
        {
            let mut recent = lock(&self.recent);
            for e in appended {
                recent.insert(e.log_id.index, e);
            }
            while recent.len() > RECENT {
                recent.pop_first();
            }
        }
        tracing::debug!(encode_us = encoded.as_micros() as u64, "log append written");
        // Durable before acknowledged (openraft's contract for append).
        self.flusher.after_flush(callback);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<()> {
        self.committed.truncated(log_id.index);
        lock(&self.recent).retain(|i, _| *i < log_id.index);
        let mut batch = sled::Batch::default();
        for item in self.log.range(index_key(log_id.index)..) {
            let (k, _) = item.map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
            batch.remove(k);
        }
        self.log
            .apply_batch(batch)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Write, e))?;
        self.flush(ErrorSubject::Logs).await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<()> {
        // The last purged id first: entries at or before it are ignored even
        // if the removal below is cut short.
        self.put_meta(LAST_PURGED, &log_id, ErrorSubject::Store)
            .await?;
        lock(&self.recent).retain(|i, _| *i > log_id.index);
        let mut batch = sled::Batch::default();
        for item in self.log.range(..=index_key(log_id.index)) {
            let (k, _) = item.map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
            batch.remove(k);
        }
        self.log
            .apply_batch(batch)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Write, e))?;
        Ok(())
    }
}
