//! The RIB as openraft's state machine. Applying a committed entry runs
//! its RIB commands, in order, on the deterministic [`speaker::rib::Rib`]:
//! every member that applies the same log holds the same RIB.
//!
//! Durability comes from the log (flushed before an append is acknowledged)
//! and from snapshots: a snapshot is the RIB's replicated state
//! ([`speaker::rib::RibImage`]: peers, groups and the Adj-RIB-In, each
//! attribute set once) written to sled. A member that restarts loads its
//! last snapshot, and openraft applies the committed entries after it
//! again. The Loc-RIB decision and the Adj-RIBs-Out are derived, so they
//! are computed, not stored.
//!
//! What the applied commands changed goes to an [`ApplyHook`] (the node,
//! which sends UPDATEs to the sessions this member owns).

use crate::format;
use crate::leases::{Fence, Leases};
use crate::stored::StoredState;
use crate::types::{Command, NodeId, Owners, PeerIds, Response, TypeConfig};
use crate::writes::{Admission, Writes};
use crate::{io_err, lock};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, Entry, EntryPayload, ErrorSubject, ErrorVerb, LogId, OptionalSend,
    RaftSnapshotBuilder, SnapshotMeta, StorageError, StoredMembership,
};
use speaker::policy::Policy;
use speaker::rib::{PeerId, Rib, RibCommand, RibConfig, RibOutput};
use speaker::wire::intern::AttrInterner;
use std::collections::BTreeSet;
use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

type Result<T> = std::result::Result<T, StorageError<NodeId>>;

/// Commands applied under one lock before Raft's other tasks get a turn.
const APPLY_CHUNK: usize = 1024;

/// Attribute sets the interner holds before it drops those no path uses.
const INTERNER_LIMIT: usize = 64 * 1024;

/// How long the snapshot builder waits for a half-applied entry before
/// it says so (and waits on).
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The key of the current snapshot in the snapshot tree.
const CURRENT: &str = "current";

/// Told what the RIB did, with the RIB at hand.
pub trait ApplyHook: Send + 'static {
    /// `outputs` of the commands of one apply call, in order.
    fn applied(&mut self, rib: &Rib, outputs: Vec<RibOutput>);
    /// The RIB was replaced by a snapshot's: `old` is the RIB of before,
    /// whose routes the sessions of this member were sent.
    fn replaced(&mut self, old: &Rib, rib: &Rib);
    /// The peers this member sends UPDATEs to, asked before each apply
    /// call: the RIB computes the Adj-RIB-Out changes of their groups
    /// only ([`Rib::export_to`]). A peer must be in it before its PeerUp
    /// is proposed. `None` (the default): every group.
    fn sends_to(&self) -> Option<BTreeSet<PeerId>> {
        None
    }
    /// Compiles the text of a replicated policy ([`crate::stored::StoredPolicy`]):
    /// the policy language is the node's configuration. Every member must
    /// compile the same text to the same policy. The default compiles only
    /// an empty text.
    fn compile_policy(&self, text: &str) -> std::result::Result<Policy, String> {
        if text.trim().is_empty() {
            return Ok(Policy::default());
        }
        Err("this member has no policy compiler".into())
    }
    /// How the RIB resolves next hops (a border: in its forwarding
    /// table). The default: every next hop resolves (a reflector).
    fn resolver(&self) -> speaker::rib::Resolver {
        speaker::rib::Resolver::All
    }
}

/// A hook that ignores everything.
pub struct NoHook;

impl ApplyHook for NoHook {
    fn applied(&mut self, _: &Rib, _: Vec<RibOutput>) {}
    fn replaced(&mut self, _: &Rib, _: &Rib) {}
}

/// The applied state.
pub struct Applied {
    pub rib: Rib,
    /// Which member runs each neighbour's session (the leases' owners).
    pub owners: Owners,
    /// The session leases: owners, moves under way, epochs, drains.
    pub leases: Leases,
    /// The neighbours' ids.
    pub peer_ids: PeerIds,
    /// Attribute sets of applied entries, by their stored octets.
    interner: AttrInterner,
    pub last_applied: Option<LogId<NodeId>>,
    /// The index of an entry being applied in chunks (the runtime's other
    /// tasks run between them): the RIB holds part or all of it while
    /// `last_applied` is still the entry before. What reads the RIB as of
    /// an index (a snapshot's image, a digest) waits until it is `None`.
    pub applying: Option<u64>,
    pub membership: StoredMembership<NodeId, BasicNode>,
    /// The writes applied, so copies are not.
    writes: Writes,
}

/// The state machine; clones share the RIB (a clone is also how the node
/// reads it).
#[derive(Clone)]
pub struct StateMachine {
    config: RibConfig,
    applied: Arc<Mutex<Applied>>,
    hook: Arc<Mutex<Box<dyn ApplyHook>>>,
    /// Paths in the Adj-RIBs-In after the last apply: read without waiting
    /// for the RIB's lock while an entry is applied.
    paths: Arc<AtomicU64>,
    snapshots: sled::Tree,
    /// Numbers snapshots built by this process, for unique snapshot ids.
    built: Arc<Mutex<u64>>,
    /// When the last snapshot was built or installed by this process.
    snapshot_at: Arc<Mutex<Option<std::time::Instant>>>,
    /// `Applied::applying`, sent after each change of it: what reads the
    /// RIB as of an index waits on it ([`StateMachine::read_settled`]).
    settled: Arc<tokio::sync::watch::Sender<Option<u64>>>,
}

/// A stored snapshot: its meta and the versioned image octets.
/// Gives the `addresses` without an id the next free ones, in order. An
/// empty registry numbers from 0 (a store of before the registry numbered
/// neighbours by their place in the configuration: the same file keeps its
/// ids); else after every id the registry, the RIB or the owner map has
/// used, so a new neighbour never inherits another's paths.
fn register(ids: &mut PeerIds, rib: &Rib, owners: &Owners, addresses: Vec<std::net::IpAddr>) {
    let mut next = if ids.is_empty() {
        0
    } else {
        ids.values()
            .chain(owners.keys())
            .copied()
            .chain(rib.known_peers())
            .map(|p| p.0.saturating_add(1))
            .max()
            .unwrap_or(0)
    };
    for address in addresses {
        if let std::collections::btree_map::Entry::Vacant(e) = ids.entry(address) {
            e.insert(PeerId(next));
            next = next.saturating_add(1);
        }
    }
}

type StoredSnapshot = (SnapshotMeta<NodeId, BasicNode>, Vec<u8>);

impl StateMachine {
    /// The state machine of `db`: the RIB of the last snapshot, if any.
    pub fn open(
        db: &sled::Db,
        config: RibConfig,
        hook: Box<dyn ApplyHook>,
    ) -> Result<StateMachine> {
        let snapshots = db
            .open_tree("snapshot")
            .map_err(|e| io_err(ErrorSubject::StateMachine, ErrorVerb::Read, e))?;
        let resolver = hook.resolver();
        let applied = Arc::new(Mutex::new(Applied {
            rib: Rib::with_resolver(config.clone(), resolver),
            owners: Owners::new(),
            leases: Leases::default(),
            peer_ids: PeerIds::new(),
            interner: AttrInterner::with_limit(INTERNER_LIMIT),
            last_applied: None,
            applying: None,
            membership: StoredMembership::default(),
            writes: Writes::default(),
        }));
        let sm = StateMachine {
            config,
            applied,
            hook: Arc::new(Mutex::new(hook)),
            paths: Arc::default(),
            snapshots,
            built: Arc::new(Mutex::new(0)),
            snapshot_at: Arc::default(),
            settled: Arc::new(tokio::sync::watch::Sender::new(None)),
        };
        if let Some((meta, data)) = sm.stored_snapshot()? {
            sm.restore(&meta, &data)?;
        }
        Ok(sm)
    }

    /// How long ago this process built or installed the snapshot it
    /// holds (`None`: none since it started).
    pub fn snapshot_age(&self) -> Option<std::time::Duration> {
        lock(&self.snapshot_at).map(|t| t.elapsed())
    }

    /// The applied state, locked: read the RIB through it.
    pub fn applied(&self) -> MutexGuard<'_, Applied> {
        lock(&self.applied)
    }

    /// Reads the applied state once no entry is half applied, so the RIB
    /// is of `last_applied`'s index (a snapshot's image, a digest). Waits
    /// for the apply under way to end (told by it, not polled), at most
    /// `within`: `None` if it had not ended by then.
    pub async fn read_settled<T>(
        &self,
        within: std::time::Duration,
        mut f: impl FnMut(&Applied) -> T,
    ) -> Option<T> {
        // Subscribed before the first look: a change after it wakes us.
        let mut changes = self.settled.subscribe();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            {
                let a = self.applied();
                if a.applying.is_none() {
                    return Some(f(&a));
                }
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return None,
            }
        }
    }

    /// Sets `Applied::applying` and tells the readers waiting for it.
    fn set_applying(&self, index: Option<u64>) -> bool {
        let was = std::mem::replace(&mut self.applied().applying, index);
        // Most entries are applied whole: nothing changed, no one woken.
        if was != index {
            self.settled.send_replace(index);
        }
        was.is_some()
    }

    /// Paths in the Adj-RIBs-In of all peers as of the last apply (does
    /// not wait for the RIB's lock).
    pub fn paths(&self) -> u64 {
        self.paths.load(Ordering::Relaxed)
    }

    /// Runs `commands` on the RIB under one lock, then tells the hook.
    fn apply_commands(
        &self,
        commands: impl Iterator<Item = Command>,
        fence: &Fence,
        response: &mut Response,
    ) {
        let started = std::time::Instant::now();
        let mut a = self.applied();
        a.rib.export_to(lock(&self.hook).sends_to());
        let mut outputs = Vec::new();
        for cmd in commands {
            match cmd {
                Command::Rib(cmd) => {
                    // A session's command under an epoch no longer granted:
                    // its writer lost the session (cut off, or moved).
                    if let Some(peer) = cmd.peer()
                        && !a.leases.admits(fence, peer)
                    {
                        response.fenced += 1;
                        continue;
                    }
                    let out = a.rib.apply(cmd);
                    response.dropped += out.dropped;
                    outputs.push(out);
                }
                Command::Owners(o) => {
                    a.leases.replace(&o);
                    a.owners = a.leases.owners();
                }
                Command::Lease(l) => {
                    if a.leases.apply(&l) {
                        a.owners = a.leases.owners();
                        tracing::debug!(lease = ?l, "session lease changed");
                    }
                }
                Command::Register(addresses) => {
                    let a = &mut *a;
                    register(&mut a.peer_ids, &a.rib, &a.owners, addresses);
                }
                Command::Policy(p) => {
                    let compiled = lock(&self.hook).compile_policy(&p.text);
                    match compiled {
                        Ok(c) => {
                            let cmd = RibCommand::Policy(Arc::new(p.with(Arc::new(c))));
                            outputs.push(a.rib.apply(cmd));
                        }
                        // Checked by the member that proposed it: only a
                        // release that reads the language differently gets
                        // here. The policy in force stays, said loudly.
                        Err(e) => tracing::error!(
                            error = %e,
                            "a replicated policy does not compile on this member; the previous one stays in force"
                        ),
                    }
                }
                // Checked before the entry's commands run.
                Command::Write(_) | Command::Fence(_) => {}
            }
        }
        self.paths
            .store(a.rib.adj_rib_in_total() as u64, Ordering::Relaxed);
        let took = started.elapsed();
        if !outputs.is_empty() {
            lock(&self.hook).applied(&a.rib, outputs);
        }
        tracing::debug!(
            apply_us = took.as_micros() as u64,
            total_us = started.elapsed().as_micros() as u64,
            "commands applied"
        );
    }

    fn stored_snapshot(&self) -> Result<Option<StoredSnapshot>> {
        let Some(v) = self
            .snapshots
            .get(CURRENT)
            .map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Read, e))?
        else {
            return Ok(None);
        };
        format::decode(&v)
            .map(Some)
            .map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Read, e))
    }

    /// Replaces the RIB by a snapshot's.
    fn restore(&self, meta: &SnapshotMeta<NodeId, BasicNode>, data: &[u8]) -> Result<()> {
        let subject = || ErrorSubject::Snapshot(Some(meta.signature()));
        let stored =
            StoredState::decode(data).map_err(|e| io_err(subject(), ErrorVerb::Read, e))?;
        self.set_applying(None);
        let mut a = lock(&self.applied);
        a.leases = stored.leases();
        a.owners = a.leases.owners();
        a.peer_ids = stored.peer_ids();
        a.writes = stored.writes.clone();
        let image = {
            let hook = lock(&self.hook);
            let compile = |text: &str| hook.compile_policy(text);
            stored
                .image_with(&mut a.interner, &compile)
                .map_err(|e| io_err(subject(), ErrorVerb::Read, e))?
        };
        let resolver = lock(&self.hook).resolver();
        let rib = Rib::from_image(self.config.clone(), resolver, image);
        let old = std::mem::replace(&mut a.rib, rib);
        a.last_applied = meta.last_log_id;
        a.membership = meta.last_membership.clone();
        self.paths
            .store(a.rib.adj_rib_in_total() as u64, Ordering::Relaxed);
        lock(&self.hook).replaced(&old, &a.rib);
        Ok(())
    }

    async fn store_snapshot(
        &self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        data: &[u8],
    ) -> Result<()> {
        let subject = || ErrorSubject::Snapshot(Some(meta.signature()));
        let v =
            format::encode(&(meta, data)).map_err(|e| io_err(subject(), ErrorVerb::Write, e))?;
        self.snapshots
            .insert(CURRENT, v)
            .map_err(|e| io_err(subject(), ErrorVerb::Write, e))?;
        crate::flush::flush(self.snapshots.flush_async(), subject()).await?;
        *lock(&self.snapshot_at) = Some(std::time::Instant::now());
        Ok(())
    }
}

/// Builds one snapshot from the state captured when it was asked for.
pub struct SnapshotBuilder {
    sm: StateMachine,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>> {
        // The image is taken under the lock (attribute sets are shared,
        // not copied), encoded outside it, and off the runtime's thread:
        // that thread also runs Raft, whose heartbeats a full table's
        // encoding (a second or more) would hold up past the fence time.
        // openraft runs this beside `apply`: an entry half applied is not
        // in the image, or its meta would name the entry before and a
        // member installing it would apply the entry twice.
        let started = std::time::Instant::now();
        let image_of = |a: &Applied| {
            (
                a.rib.image(),
                a.leases.clone(),
                a.peer_ids.clone(),
                a.writes.clone(),
                a.last_applied,
                a.membership.clone(),
            )
        };
        let (image, leases, peer_ids, writes, last_applied, membership) = loop {
            if let Some(i) = self.sm.read_settled(SETTLE_WAIT, image_of).await {
                break i;
            }
            tracing::warn!(
                waited_s = SETTLE_WAIT.as_secs(),
                "snapshot: an entry is still being applied; waiting on"
            );
        };
        let imaged = started.elapsed();
        let data = tokio::task::spawn_blocking(move || {
            format::encode(&StoredState::of(&image, &leases, &peer_ids, &writes))
        })
        .await
        .map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Write, e))?
        .map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Write, e))?;
        tracing::debug!(
            image_ms = imaged.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            octets = data.len(),
            "snapshot built"
        );
        let n = {
            let mut b = lock(&self.sm.built);
            *b += 1;
            *b
        };
        let snapshot_id = match last_applied {
            Some(l) => format!("{}-{}-{n}", l.leader_id, l.index),
            None => format!("none-{n}"),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        };
        self.sm.store_snapshot(&meta, &data).await?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>)> {
        let a = self.applied();
        Ok((a.last_applied, a.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut responses = Vec::new();
        for entry in entries {
            let mut response = Response {
                index: entry.log_id.index,
                ..Response::default()
            };
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(req) => {
                    let commands =
                        req.into_commands(&mut self.applied().interner)
                            .map_err(|e| {
                                io_err(ErrorSubject::Apply(entry.log_id), ErrorVerb::Read, e)
                            })?;
                    let mut commands = commands.into_iter().peekable();
                    // A copy of a write applied before changes nothing; a
                    // write that overtook an earlier one of its writer
                    // waits for it (written again).
                    if let Some(Command::Write(w)) = commands.peek() {
                        let admission = self.applied().writes.admit(*w, entry.log_id.index);
                        if admission != Admission::Apply {
                            tracing::debug!(
                                writer = w.writer,
                                seq = w.seq,
                                ?admission,
                                "write skipped"
                            );
                            response.early = admission == Admission::Early;
                            commands = Vec::new().into_iter().peekable();
                        } else {
                            commands.next();
                        }
                    }
                    let fence = match commands.next_if(|c| matches!(c, Command::Fence(_))) {
                        Some(Command::Fence(f)) => f,
                        _ => Fence::default(),
                    };
                    if commands.peek().is_some() {
                        self.set_applying(Some(entry.log_id.index));
                    }
                    while commands.peek().is_some() {
                        self.apply_commands(
                            commands.by_ref().take(APPLY_CHUNK),
                            &fence,
                            &mut response,
                        );
                        // Raft's other tasks (replication, the transport)
                        // share this thread: let them run between chunks
                        // (and after the entry, once its index is set).
                        if commands.peek().is_some() {
                            tokio::task::yield_now().await;
                        }
                    }
                }
                EntryPayload::Membership(m) => {
                    self.applied().membership = StoredMembership::new(Some(entry.log_id), m);
                }
            }
            // The index first, then `applying` cleared: a reader that sees
            // it clear sees the index of what the RIB holds.
            self.applied().last_applied = Some(entry.log_id);
            let chunked = self.set_applying(None);
            responses.push(response);
            if chunked {
                tokio::task::yield_now().await;
            }
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder { sm: self.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<()> {
        let data = snapshot.into_inner();
        self.restore(meta, &data)?;
        self.store_snapshot(meta, &data).await
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>> {
        Ok(self.stored_snapshot()?.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}
