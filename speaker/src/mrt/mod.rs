//! MRT (RFC 6396): reading routing dumps, and writing TABLE_DUMP_V2.
//!
//! [`MrtReader`] yields one [`Record`] at a time from a plain, gzip or bzip2
//! stream. BGP messages and attributes are decoded by [`crate::wire`], with
//! the context each record type implies (AS number size, ADD-PATH, the
//! abbreviated MP_REACH_NLRI of RIB entries). [`MrtWriter`] writes the peer
//! index table and RIB records. [`summary`] counts what a file holds.

pub mod bgp4mp;
mod cursor;
pub mod error;
pub mod json;
pub mod legacy_bgp;
pub mod reader;
pub mod record;
pub mod summary;
pub mod table_dump;
pub mod table_dump_v2;
pub mod writer;

pub use bgp4mp::{Bgp4mp, Bgp4mpEntry, Bgp4mpMessage, Interners, Peering, Snapshot, StateChange};
pub use error::{BodyError, MrtError};
pub use legacy_bgp::LegacyBgp;
pub use reader::{Compression, DEFAULT_MAX_RECORD_LEN, MrtReader, decode_record};
pub use record::{Header, RawRecord, Record, RecordData};
pub use summary::{Summary, SummaryBuilder};
pub use table_dump::TableDumpEntry;
pub use table_dump_v2::{Peer, PeerIndexTable, RibEntry, RibRecord};
pub use writer::MrtWriter;

#[cfg(test)]
mod tests;
