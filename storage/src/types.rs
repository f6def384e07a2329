//! The Raft type configuration: what a log entry carries (a batch of RIB
//! commands) and what applying it answers. It lives with the stores, which
//! are written for it; `consensus` uses it as it is.

use crate::format;
use crate::stored::StoredBatch;
use openraft::BasicNode;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use speaker::rib::{PeerId, RibCommand};
use speaker::wire::intern::AttrInterner;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// Reflex's Raft: RIB command batches over members addressed by
    /// `BasicNode` (their Raft address).
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = NodeId,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime
);

/// One log entry's worth of RIB commands, applied in order. Many paths
/// per entry: a full table is a few hundred entries, not a million.
///
/// Made from commands on the member that writes it; read back (from the
/// log, or the network) in its stored form, whose attribute sets the state
/// machine decodes through its interner, so entries share them.
#[derive(Clone, Debug, PartialEq)]
pub struct Request(Batch);

#[derive(Clone, Debug, PartialEq)]
enum Batch {
    Commands(Vec<RibCommand>),
    Owners(Owners),
    Leases(Vec<crate::leases::LeaseCommand>),
    Register(Vec<IpAddr>),
    Stored(Arc<Stored>),
}

/// A batch in its stored form, with its octets once they are known (read
/// from the log or the network, or encoded once for the log and every
/// follower).
#[derive(Debug)]
struct Stored {
    batch: StoredBatch,
    octets: OnceLock<Vec<u8>>,
}

impl Stored {
    fn new(batch: StoredBatch) -> Arc<Stored> {
        Arc::new(Stored {
            batch,
            octets: OnceLock::new(),
        })
    }

    fn octets(&self) -> Result<&[u8], crate::FormatError> {
        if let Some(o) = self.octets.get() {
            return Ok(o);
        }
        let encoded = self.batch.encode()?;
        // Another thread may have set it meanwhile: same octets.
        let _ = self.octets.set(encoded);
        self.octets
            .get()
            .map(Vec::as_slice)
            .ok_or(crate::FormatError::Invalid("stored octets unset"))
    }
}

impl PartialEq for Stored {
    fn eq(&self, other: &Stored) -> bool {
        self.batch == other.batch
    }
}

/// Which member runs the session of each configured neighbour: replicated
/// state, changed only through the log.
pub type Owners = BTreeMap<PeerId, NodeId>;

/// The RIB's id of every neighbour ever configured, by address:
/// replicated, so every member, and every restart, numbers a neighbour the
/// same whatever the order of its configuration file, and a neighbour
/// added while the cluster runs takes an id no other ever had.
pub type PeerIds = BTreeMap<IpAddr, PeerId>;

/// One thing a log entry asks the state machine to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Rib(RibCommand),
    /// The session owners from now on (the whole map).
    Owners(Owners),
    /// Which write the entry is: a copy of one applied before is skipped.
    Write(crate::WriteId),
    /// A policy read back from the log: compiled by the hook, then applied
    /// as [`RibCommand::Policy`].
    Policy(crate::stored::StoredPolicy),
    /// Neighbours to give ids to (those without one yet).
    Register(Vec<IpAddr>),
    /// A change of the session leases.
    Lease(crate::leases::LeaseCommand),
    /// The lease epochs the entry's writer held: the entry's commands
    /// about a session whose epoch is no longer granted are refused.
    Fence(crate::leases::Fence),
}

impl Default for Request {
    fn default() -> Request {
        Request::new(Vec::new())
    }
}

impl Request {
    pub fn new(commands: Vec<RibCommand>) -> Request {
        Request(Batch::Commands(commands))
    }

    /// Sets the session owners.
    pub fn owners(owners: Owners) -> Request {
        Request(Batch::Owners(owners))
    }

    /// Changes the session leases.
    pub fn leases(commands: Vec<crate::leases::LeaseCommand>) -> Request {
        Request(Batch::Leases(commands))
    }

    /// Gives ids to the neighbours at `addresses` that have none.
    pub fn register(addresses: Vec<IpAddr>) -> Request {
        Request(Batch::Register(addresses))
    }

    /// The same request in its stored form: what every member reads back
    /// from the log (and so what every member applies).
    pub fn stored(&self) -> Request {
        match &self.0 {
            Batch::Stored(b) => Request(Batch::Stored(b.clone())),
            _ => Request(Batch::Stored(Stored::new(self.stored_batch()))),
        }
    }

    /// Its commands in their stored form.
    fn stored_batch(&self) -> StoredBatch {
        match &self.0 {
            Batch::Commands(c) => StoredBatch::of(c),
            Batch::Owners(o) => StoredBatch::owners(o),
            Batch::Leases(l) => StoredBatch::leases(l),
            Batch::Register(a) => StoredBatch::register(a),
            Batch::Stored(b) => b.batch.clone(),
        }
    }

    /// The stored form, saying which write it is: applied once however
    /// often it is written, in its writer's order ([`crate::writes`]),
    /// and under which lease epochs ([`crate::leases`]).
    pub fn stored_as(&self, write: crate::WriteId, fence: crate::leases::Fence) -> Request {
        let mut batch = self.stored_batch();
        let mut head = vec![crate::stored::StoredCommand::Write {
            writer: write.writer,
            seq: write.seq,
        }];
        if !fence.epochs.is_empty() {
            head.push(crate::stored::StoredCommand::Fence(fence));
        }
        batch.commands.splice(0..0, head);
        Request(Batch::Stored(Stored::new(batch)))
    }

    /// The stored form of `commands` under `fence` (a write that is not a
    /// session's stream, [`crate::leases`]): refused where its author no
    /// longer holds the session.
    pub fn fenced(commands: Vec<RibCommand>, fence: crate::leases::Fence) -> Request {
        let mut batch = StoredBatch::of(&commands);
        if !fence.epochs.is_empty() {
            batch
                .commands
                .insert(0, crate::stored::StoredCommand::Fence(fence));
        }
        Request(Batch::Stored(Stored::new(batch)))
    }

    /// How many commands it holds.
    pub fn len(&self) -> usize {
        match &self.0 {
            Batch::Commands(c) => c.len(),
            Batch::Owners(_) | Batch::Register(_) => 1,
            Batch::Leases(l) => l.len(),
            Batch::Stored(b) => b.batch.commands.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Paths its commands announce or withdraw.
    pub fn paths(&self) -> usize {
        match &self.0 {
            Batch::Commands(c) => c.iter().map(RibCommand::paths).sum(),
            Batch::Owners(_) | Batch::Register(_) | Batch::Leases(_) => 0,
            Batch::Stored(b) => b.batch.commands.iter().map(|c| c.paths()).sum(),
        }
    }

    /// The commands, attribute sets decoded through `interner` when stored.
    pub fn into_commands(
        self,
        interner: &mut AttrInterner,
    ) -> Result<Vec<Command>, crate::FormatError> {
        match self.0 {
            Batch::Commands(c) => Ok(c.into_iter().map(Command::Rib).collect()),
            Batch::Owners(o) => Ok(vec![Command::Owners(o)]),
            Batch::Leases(l) => Ok(l.into_iter().map(Command::Lease).collect()),
            Batch::Register(a) => Ok(vec![Command::Register(a)]),
            Batch::Stored(b) => b.batch.commands_with(interner),
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} RIB commands", self.len())
    }
}

/// Serialized as the versioned octets of a [`StoredBatch`].
impl Serialize for Request {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Batch::Stored(b) => s.serialize_bytes(b.octets().map_err(serde::ser::Error::custom)?),
            _ => {
                let octets = self
                    .stored_batch()
                    .encode()
                    .map_err(serde::ser::Error::custom)?;
                s.serialize_bytes(&octets)
            }
        }
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Request, D::Error> {
        let octets = d.deserialize_bytes(OctetsVisitor)?;
        let batch: StoredBatch = format::decode(&octets).map_err(de::Error::custom)?;
        Ok(Request(Batch::Stored(Arc::new(Stored {
            batch,
            octets: OnceLock::from(octets),
        }))))
    }
}

struct OctetsVisitor;

impl<'de> Visitor<'de> for OctetsVisitor {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the octets of a stored command batch")
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(b) = seq.next_element()? {
            v.push(b);
        }
        Ok(v)
    }
}

/// What applying an entry answers: how many received paths the import
/// checks dropped, how many commands a stale lease epoch refused, and
/// whether the entry overtook an earlier write of its writer (skipped:
/// the writer writes it again, [`crate::writes::Admission::Early`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub dropped: u64,
    pub fenced: u64,
    pub early: bool,
    /// The entry's log index.
    pub index: u64,
}
