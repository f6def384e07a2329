//! Writing TABLE_DUMP_V2: a PEER_INDEX_TABLE, then RIB records, from typed values.

use super::record::{Header, mrt_type};
use super::table_dump_v2::{PeerIndexTable, RibRecord, subtype};
use bytes::BytesMut;
use std::io::{self, Write};

/// Writes records to any `Write`; each record is encoded whole, then written.
pub struct MrtWriter<W: Write> {
    out: W,
    buf: BytesMut,
}

impl<W: Write> MrtWriter<W> {
    pub fn new(out: W) -> MrtWriter<W> {
        MrtWriter {
            out,
            buf: BytesMut::with_capacity(1 << 16),
        }
    }

    pub fn write_peer_index_table(
        &mut self,
        timestamp: u32,
        table: &PeerIndexTable,
    ) -> io::Result<()> {
        let mut body = BytesMut::new();
        table.encode(&mut body);
        self.write_record(
            timestamp,
            mrt_type::TABLE_DUMP_V2,
            subtype::PEER_INDEX_TABLE,
            &body,
        )
    }

    /// Writes a RIB record as the subtype its family and ADD-PATH flag call for.
    pub fn write_rib(&mut self, timestamp: u32, rib: &RibRecord) -> io::Result<()> {
        let mut body = BytesMut::new();
        rib.encode(&mut body)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.write_record(timestamp, mrt_type::TABLE_DUMP_V2, rib.subtype(), &body)
    }

    /// Writes one record with the common header.
    pub fn write_record(
        &mut self,
        timestamp: u32,
        mrt_type: u16,
        subtype: u16,
        body: &[u8],
    ) -> io::Result<()> {
        if u32::try_from(body.len()).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "MRT record longer than 4 GiB",
            ));
        }
        self.buf.clear();
        let h = Header {
            timestamp,
            microseconds: None,
            mrt_type,
            subtype,
            length: 0,
        };
        h.encode(body.len(), &mut self.buf);
        self.out.write_all(&self.buf)?;
        self.out.write_all(body)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
