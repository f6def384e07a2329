//! The Raft type configuration: what a log entry carries (a batch of RIB
//! commands) and what applying it answers. It lives with the stores, which
//! are written for it; `consensus` uses it as it is.

use crate::format;
use crate::stored::StoredBatch;
use openraft::BasicNode;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use speaker::rib::RibCommand;
use std::fmt;
use std::io::Cursor;

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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    pub commands: Vec<RibCommand>,
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} RIB commands", self.commands.len())
    }
}

/// Serialized as the versioned octets of a [`StoredBatch`].
impl Serialize for Request {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let octets =
            format::encode(&StoredBatch::of(&self.commands)).map_err(serde::ser::Error::custom)?;
        s.serialize_bytes(&octets)
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Request, D::Error> {
        let octets = d.deserialize_bytes(OctetsVisitor)?;
        let batch: StoredBatch = format::decode(&octets).map_err(de::Error::custom)?;
        let commands = batch.commands().map_err(de::Error::custom)?;
        Ok(Request { commands })
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
/// checks dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub dropped: u64,
}
