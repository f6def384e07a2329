//! Reading records one at a time from any `Read`, plain or compressed.
//!
//! The reader never holds more than one record: the common header's length
//! frames it, a length above the limit stops the stream with an error
//! instead of allocating, and a stream that ends inside a record yields
//! every whole record, then [`MrtError::Truncated`], then nothing.

use super::bgp4mp::{Bgp4mp, Interners};
use super::error::{BodyError, MrtError};
use super::legacy_bgp::LegacyBgp;
use super::record::{HEADER_LEN, Header, RawRecord, Record, RecordData, mrt_type};
use super::table_dump::TableDumpEntry;
use super::table_dump_v2::{PeerIndexTable, RibRecord, subtype as tdv2};
use bytes::Bytes;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// Default limit on one record's length: far above any real record (the
/// largest known are ~70 KB), far below memory trouble.
pub const DEFAULT_MAX_RECORD_LEN: u32 = 16 << 20;

/// How the input is compressed, found from its first octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
}

impl Compression {
    /// gzip: 1f 8b; bzip2: "BZh".
    pub fn detect(magic: &[u8]) -> Compression {
        match magic {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [b'B', b'Z', b'h', ..] => Compression::Bzip2,
            _ => Compression::None,
        }
    }
}

/// An iterator of decoded records over a byte stream.
pub struct MrtReader<'a> {
    src: BufReader<Box<dyn Read + Send + 'a>>,
    offset: u64,
    done: bool,
    max_record_len: u32,
    compression: Compression,
    interners: Interners,
}

impl<'a> MrtReader<'a> {
    /// Wraps a stream, decompressing gzip or bzip2 (detected by magic bytes).
    pub fn new<R: Read + Send + 'a>(mut r: R) -> io::Result<MrtReader<'a>> {
        let mut magic = [0u8; 3];
        let mut n = 0;
        while n < magic.len() {
            match r.read(&mut magic[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let compression = Compression::detect(&magic[..n]);
        let head = io::Cursor::new(magic).take(n as u64);
        let stream = head.chain(r);
        let src: Box<dyn Read + Send + 'a> = match compression {
            Compression::None => Box::new(stream),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(stream)),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(stream)),
        };
        Ok(MrtReader {
            src: BufReader::with_capacity(1 << 16, src),
            offset: 0,
            done: false,
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            compression,
            interners: Interners::new(),
        })
    }

    /// Opens a file.
    pub fn open(path: impl AsRef<Path>) -> io::Result<MrtReader<'static>> {
        MrtReader::new(File::open(path)?)
    }

    /// Sets the largest record length accepted.
    pub fn with_max_record_len(mut self, max: u32) -> MrtReader<'a> {
        self.max_record_len = max;
        self
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Offset of the next record in the decompressed stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record, framed but not decoded.
    pub fn next_raw(&mut self) -> Option<Result<RawRecord, MrtError>> {
        if self.done {
            return None;
        }
        let r = self.read_raw();
        match &r {
            Ok(None) => self.done = true,
            Err(e) if e.is_fatal() => self.done = true,
            _ => {}
        }
        r.transpose()
    }

    fn read_raw(&mut self) -> Result<Option<RawRecord>, MrtError> {
        let offset = self.offset;
        let mut hdr = [0u8; HEADER_LEN];
        let got = self.read_up_to(&mut hdr, offset)?;
        if got == 0 {
            return Ok(None);
        }
        if got < HEADER_LEN {
            return Err(MrtError::Truncated {
                offset,
                detail: format!("stream ends {got} octets into a {HEADER_LEN}-octet record header"),
            });
        }
        let mut header = Header::parse(&hdr);
        if header.length > self.max_record_len {
            return Err(MrtError::RecordTooLong {
                offset,
                length: header.length,
                max: self.max_record_len,
            });
        }
        let len = header.length as usize;
        let mut body = Vec::new();
        let read = (&mut self.src).take(len as u64).read_to_end(&mut body);
        if let Err(e) = read {
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                MrtError::Truncated {
                    offset,
                    detail: format!("record body: {e}"),
                }
            } else {
                MrtError::Io { offset, source: e }
            });
        }
        if body.len() < len {
            return Err(MrtError::Truncated {
                offset,
                detail: format!(
                    "record of type {}/{} declares {len} octets, the stream holds {}",
                    header.mrt_type,
                    header.subtype,
                    body.len()
                ),
            });
        }
        self.offset += (HEADER_LEN + len) as u64;
        let mut body = Bytes::from(body);
        if Header::is_extended(header.mrt_type) {
            if body.len() < 4 {
                return Err(MrtError::Body {
                    offset,
                    header,
                    error: BodyError::Short {
                        what: "microseconds",
                        need: 4,
                        have: body.len(),
                    },
                });
            }
            let us = body.split_to(4);
            header.microseconds = Some(u32::from_be_bytes([us[0], us[1], us[2], us[3]]));
        }
        Ok(Some(RawRecord {
            offset,
            header,
            body,
        }))
    }

    /// Fills `buf` as far as the stream allows; an early end returns the
    /// count, other errors are fatal.
    fn read_up_to(&mut self, buf: &mut [u8], offset: u64) -> Result<usize, MrtError> {
        let mut n = 0;
        while n < buf.len() {
            match self.src.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(MrtError::Truncated {
                        offset,
                        detail: format!("record header: {e}"),
                    });
                }
                Err(e) => return Err(MrtError::Io { offset, source: e }),
            }
        }
        Ok(n)
    }

    /// Decodes a framed record with this reader's interners.
    pub fn decode(&mut self, raw: RawRecord) -> Result<Record, MrtError> {
        decode_record(raw, &mut self.interners)
    }
}

impl Iterator for MrtReader<'_> {
    type Item = Result<Record, MrtError>;

    fn next(&mut self) -> Option<Self::Item> {
        let raw = self.next_raw()?;
        Some(raw.and_then(|r| self.decode(r)))
    }
}

/// Decodes the body of a framed record. Unknown types and subtypes become
/// [`RecordData::Unknown`].
pub fn decode_record(raw: RawRecord, interners: &mut Interners) -> Result<Record, MrtError> {
    let RawRecord {
        offset,
        header,
        body,
    } = raw;
    let st = header.subtype;
    let data = match header.mrt_type {
        mrt_type::TABLE_DUMP_V2 if st == tdv2::PEER_INDEX_TABLE => {
            PeerIndexTable::decode(body).map(RecordData::PeerIndexTable)
        }
        mrt_type::TABLE_DUMP_V2 if RibRecord::subtype_layout(st).is_some() => {
            RibRecord::decode(st, body, interners.get(true)).map(RecordData::Rib)
        }
        mrt_type::TABLE_DUMP if st == 1 || st == 2 => {
            TableDumpEntry::decode(st, body, interners.get(false)).map(RecordData::TableDump)
        }
        mrt_type::BGP4MP | mrt_type::BGP4MP_ET if Bgp4mp::known_subtype(st) => {
            Bgp4mp::decode(st, body, interners).map(RecordData::Bgp4mp)
        }
        mrt_type::BGP if st <= 7 => {
            LegacyBgp::decode(st, body, interners.get(false)).map(RecordData::LegacyBgp)
        }
        _ => Ok(RecordData::unknown(&header, body)),
    };
    match data {
        Ok(data) => Ok(Record {
            offset,
            header,
            data,
        }),
        Err(error) => Err(MrtError::Body {
            offset,
            header,
            error,
        }),
    }
}
