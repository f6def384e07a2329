//! Splitting reassembled TCP streams into BGP messages.

use bytes::Bytes;

use super::tcp::{Chunk, Flow, Stream};

/// BGP header: 16-byte marker, 2-byte length, 1-byte type.
pub const HEADER_LEN: usize = 19;
const MARKER: [u8; 16] = [0xff; 16];

/// One BGP message found in a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpFrame {
    pub flow: Flow,
    /// Index (0-based) of the packet holding the message's first byte.
    pub frame: usize,
    /// Message type code (1 OPEN .. 5 ROUTE-REFRESH).
    pub msg_type: u8,
    /// The whole message, header included.
    pub bytes: Bytes,
}

/// Something in a stream that is not a clean sequence of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// A message boundary without a valid marker/length; skipped to the next marker.
    BadMarkerOrDesync,
    /// The stream ends inside a message.
    TruncatedLastMessage,
    /// Sequence numbers jump: bytes were not captured.
    GapInCapture,
}

impl AnomalyKind {
    /// The snake_case name used by the data README.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::BadMarkerOrDesync => "bad_marker_or_desync",
            AnomalyKind::TruncatedLastMessage => "truncated_last_message",
            AnomalyKind::GapInCapture => "gap_in_capture",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub flow: Flow,
    /// Packet where it was detected.
    pub frame: usize,
    /// Type code of a message whose header was read but whose body was cut.
    pub msg_type: Option<u8>,
}

/// What to do at a message boundary without a valid header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Desync {
    /// Scan forward for the next marker followed by a plausible length.
    #[default]
    Resync,
    /// Drop the rest of the contiguous run (framing restarts after a gap).
    /// This is what the data README's parser does.
    Abandon,
}

/// Appends the messages and anomalies of `stream`.
pub fn frame_stream(
    stream: &Stream,
    desync: Desync,
    msgs: &mut Vec<BgpFrame>,
    anomalies: &mut Vec<Anomaly>,
) {
    let last = stream.chunks.len().saturating_sub(1);
    for (i, chunk) in stream.chunks.iter().enumerate() {
        let mut cx = Cx {
            flow: stream.flow,
            chunk,
            anomalies: &mut *anomalies,
        };
        if chunk.after_gap {
            cx.note(AnomalyKind::GapInCapture, 0, None);
        }
        frame_chunk(&mut cx, i == last, desync, msgs);
    }
}

struct Cx<'c> {
    flow: Flow,
    chunk: &'c Chunk,
    anomalies: &'c mut Vec<Anomaly>,
}

impl Cx<'_> {
    fn note(&mut self, kind: AnomalyKind, offset: usize, msg_type: Option<u8>) {
        self.anomalies.push(Anomaly {
            kind,
            flow: self.flow,
            frame: self.chunk.frame_at(offset),
            msg_type,
        });
    }
}

fn frame_chunk(cx: &mut Cx<'_>, is_last: bool, desync: Desync, msgs: &mut Vec<BgpFrame>) {
    let data = &cx.chunk.data;
    let mut pos = 0;
    // After a gap the position is unknown: find a header without complaint.
    if cx.chunk.after_gap && !is_header(data) {
        match find_header(data, 0) {
            Some(p) => pos = p,
            None => return,
        }
    }
    while pos < data.len() {
        let rest = &data[pos..];
        if rest.len() < HEADER_LEN {
            // Too short to judge: only a marker prefix counts as a cut message
            // (snaplen-cut captures often end in a few stray bytes).
            if is_last && rest.iter().all(|&b| b == 0xff) {
                cx.note(AnomalyKind::TruncatedLastMessage, pos, None);
            }
            return;
        }
        if !is_header(rest) {
            cx.note(AnomalyKind::BadMarkerOrDesync, pos, None);
            let next = match desync {
                Desync::Resync => find_header(data, pos + 1),
                Desync::Abandon => None,
            };
            match next {
                Some(p) => pos = p,
                None => return,
            }
            continue;
        }
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        let msg_type = rest[18];
        let Some(msg) = rest.get(..len) else {
            // Cut by the end of the capture; a gap already explains a cut before it.
            if is_last {
                cx.note(AnomalyKind::TruncatedLastMessage, pos, Some(msg_type));
            }
            return;
        };
        msgs.push(BgpFrame {
            flow: cx.flow,
            frame: cx.chunk.frame_at(pos),
            msg_type,
            bytes: Bytes::copy_from_slice(msg),
        });
        pos += len;
    }
}

/// A marker followed by a length of at least a header, or a marker prefix
/// cut by the end of `data`.
fn is_header(data: &[u8]) -> bool {
    let marker = data.iter().take(MARKER.len()).all(|&b| b == 0xff);
    let len_ok = match data.get(16..18) {
        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])) >= HEADER_LEN,
        _ => true,
    };
    marker && len_ok
}

/// A header worth resynchronising on: as [`is_header`], and the type, if
/// present, is a known one (random 0xff runs in garbage rarely pass both).
fn resync_candidate(data: &[u8]) -> bool {
    is_header(data) && data.get(18).is_none_or(|t| (1..=5).contains(t))
}

/// Position of the next plausible header at or after `from`. Within a run of
/// more than 16 0xff bytes the marker is taken to be the last 16.
fn find_header(data: &[u8], from: usize) -> Option<usize> {
    let mut run = 0;
    for (i, &b) in data.iter().enumerate().skip(from) {
        if b == 0xff {
            run += 1;
            continue;
        }
        // A run of at least 16 0xff ends at `i`, so `i >= 16`.
        if run >= MARKER.len() && resync_candidate(&data[i - MARKER.len()..]) {
            return Some(i - MARKER.len());
        }
        run = 0;
    }
    (run >= MARKER.len()).then(|| data.len() - MARKER.len())
}
