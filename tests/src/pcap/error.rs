//! Errors of the capture-file reader.

use thiserror::Error;

/// Why a capture file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PcapError {
    #[error("not a pcap or pcapng file (magic {0:#010x})")]
    BadMagic(u32),
    #[error("file header truncated ({0} bytes)")]
    TruncatedHeader(usize),
    #[error("record {index} at offset {offset} truncated")]
    TruncatedRecord { index: usize, offset: usize },
    #[error("pcapng block at offset {offset} has invalid length {len}")]
    BadBlockLength { offset: usize, len: u32 },
    #[error("pcapng packet at offset {offset} refers to unknown interface {interface}")]
    UnknownInterface { offset: usize, interface: u32 },
    #[error("pcapng packet block at offset {0} before any section header")]
    NoSection(usize),
}
