//! TCP header decoding and per-direction stream reassembly.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::read::{be16, be32};

/// One direction of a TCP connection: bytes flow from `src` to `dst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flow {
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

/// A decoded TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub syn: bool,
    pub payload: &'a [u8],
}

const FLAG_SYN: u8 = 0x02;

/// Decodes a TCP header; `None` if it is cut short or its data offset is bad.
pub fn parse_tcp(seg: &[u8]) -> Option<TcpSegment<'_>> {
    let data_off = usize::from(seg.get(12)? >> 4) * 4;
    if data_off < 20 {
        return None;
    }
    Some(TcpSegment {
        src_port: be16(seg, 0)?,
        dst_port: be16(seg, 2)?,
        seq: be32(seg, 4)?,
        syn: seg.get(13)? & FLAG_SYN != 0,
        payload: seg.get(data_off..)?,
    })
}

impl Flow {
    pub fn new(src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> Self {
        Flow {
            src: SocketAddr::new(src, src_port),
            dst: SocketAddr::new(dst, dst_port),
        }
    }
}

/// A run of contiguous stream bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    /// Bytes are missing before this run (always true for runs after the first).
    pub after_gap: bool,
    pub data: Vec<u8>,
    /// `(offset in data, frame index)` for each segment that contributed bytes.
    pub frames: Vec<(usize, usize)>,
}

impl Chunk {
    /// Frame that supplied the byte at `offset`.
    pub fn frame_at(&self, offset: usize) -> usize {
        let i = self.frames.partition_point(|&(o, _)| o <= offset);
        self.frames
            .get(i.saturating_sub(1))
            .map_or(0, |&(_, frame)| frame)
    }
}

/// The reassembled bytes of one direction of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub flow: Flow,
    /// Contiguous runs; a new run starts at every hole in the sequence space.
    pub chunks: Vec<Chunk>,
}

struct Seg<'a> {
    frame: usize,
    /// Sequence number of the first payload byte.
    start: u32,
    payload: &'a [u8],
}

struct Session<'a> {
    flow: Flow,
    /// Sequence number of the first data byte, known when the SYN was seen.
    isn_next: Option<u32>,
    segs: Vec<Seg<'a>>,
}

/// Collects segments in capture order, then reassembles each direction.
#[derive(Default)]
pub struct Reassembler<'a> {
    sessions: Vec<Session<'a>>,
    /// Latest session index per flow (a new SYN starts a new session).
    current: HashMap<Flow, usize>,
}

impl<'a> Reassembler<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, frame: usize, flow: Flow, seg: &TcpSegment<'a>) {
        // The SYN takes one sequence number, but synthetic captures put data
        // in the SYN at `seq` itself (BGP never uses TCP Fast Open).
        let start = if seg.syn && seg.payload.is_empty() {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        let same_connection = |s: &Session<'_>| match s.isn_next {
            Some(n) => n == start,
            None => s.segs.is_empty(),
        };
        let idx = match self.current.get(&flow) {
            // A SYN with a new ISN on a flow with history is a new connection.
            Some(&i) if !seg.syn || same_connection(&self.sessions[i]) => i,
            _ => {
                self.sessions.push(Session {
                    flow,
                    isn_next: None,
                    segs: Vec::new(),
                });
                self.current.insert(flow, self.sessions.len() - 1);
                self.sessions.len() - 1
            }
        };
        let session = &mut self.sessions[idx];
        if seg.syn {
            session.isn_next = Some(start);
        }
        if !seg.payload.is_empty() {
            session.segs.push(Seg {
                frame,
                start,
                payload: seg.payload,
            });
        }
    }

    /// Streams in order of first appearance.
    pub fn finish(self) -> Vec<Stream> {
        self.sessions
            .into_iter()
            .filter(|s| !s.segs.is_empty())
            .map(reassemble)
            .collect()
    }
}

/// Orders segments by sequence number (wrap-safe, relative to the first),
/// drops bytes already seen and starts a new chunk at every hole.
fn reassemble(session: Session<'_>) -> Stream {
    let reference = session
        .isn_next
        .or_else(|| session.segs.first().map(|s| s.start))
        .unwrap_or(0);
    let rel = |seq: u32| i64::from(seq.wrapping_sub(reference) as i32);
    let mut segs = session.segs;
    // Stable: among equal starts the first captured copy wins.
    segs.sort_by_key(|s| rel(s.start));

    let mut chunks: Vec<Chunk> = Vec::new();
    let mut expected = match session.isn_next {
        Some(_) => 0,
        None => segs.first().map_or(0, |s| rel(s.start)),
    };
    for seg in &segs {
        let start = rel(seg.start);
        let end = start + seg.payload.len() as i64;
        if end <= expected {
            continue; // retransmission of bytes already taken
        }
        if chunks.is_empty() || start > expected {
            chunks.push(Chunk {
                after_gap: start > expected,
                ..Chunk::default()
            });
        }
        let skip = usize::try_from(expected - start).unwrap_or(0);
        let (Some(chunk), Some(fresh)) = (chunks.last_mut(), seg.payload.get(skip..)) else {
            continue;
        };
        chunk.frames.push((chunk.data.len(), seg.frame));
        chunk.data.extend_from_slice(fresh);
        expected = end;
    }
    Stream {
        flow: session.flow,
        chunks,
    }
}
