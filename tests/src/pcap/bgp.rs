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
}

/// Appends the messages and anomalies of `stream`.
pub fn frame_stream(stream: &Stream, msgs: &mut Vec<BgpFrame>, anomalies: &mut Vec<Anomaly>) {
    let last = stream.chunks.len().saturating_sub(1);
    for (i, chunk) in stream.chunks.iter().enumerate() {
        let mut cx = Cx {
            flow: stream.flow,
            chunk,
            anomalies: &mut *anomalies,
        };
        if chunk.after_gap {
            cx.note(AnomalyKind::GapInCapture, 0);
        }
        frame_chunk(&mut cx, i == last, msgs);
    }
}

struct Cx<'c> {
    flow: Flow,
    chunk: &'c Chunk,
    anomalies: &'c mut Vec<Anomaly>,
}

impl Cx<'_> {
    fn note(&mut self, kind: AnomalyKind, offset: usize) {
        self.anomalies.push(Anomaly {
            kind,
            flow: self.flow,
            frame: self.chunk.frame_at(offset),
        });
    }
}

fn frame_chunk(cx: &mut Cx<'_>, is_last: bool, msgs: &mut Vec<BgpFrame>) {
    let data = &cx.chunk.data;
    let mut pos = 0;
    // After a gap the position is unknown: find a marker without complaint.
    if cx.chunk.after_gap && !data.starts_with(&MARKER) {
        match find_marker(data, 0) {
            Some(p) => pos = p,
            None => return,
        }
    }
    while pos < data.len() {
        let rest = &data[pos..];
        let marker_ok = rest.iter().take(16).all(|&b| b == 0xff);
        if marker_ok && rest.len() < HEADER_LEN {
            if is_last {
                cx.note(AnomalyKind::TruncatedLastMessage, pos);
            }
            return;
        }
        let len = rest
            .get(16..18)
            .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
        if !marker_ok || len < HEADER_LEN {
            cx.note(AnomalyKind::BadMarkerOrDesync, pos);
            match find_marker(data, pos + 1) {
                Some(p) => pos = p,
                None => return,
            }
            continue;
        }
        let Some(msg) = rest.get(..len) else {
            // Cut by the end of the capture; a gap already explains a cut before it.
            if is_last {
                cx.note(AnomalyKind::TruncatedLastMessage, pos);
            }
            return;
        };
        msgs.push(BgpFrame {
            flow: cx.flow,
            frame: cx.chunk.frame_at(pos),
            msg_type: rest[18],
            bytes: Bytes::copy_from_slice(msg),
        });
        pos += len;
    }
}

/// Position of the next marker at or after `from`. Within a longer run of
/// 0xff the marker is taken as the last 16 bytes of the run.
fn find_marker(data: &[u8], from: usize) -> Option<usize> {
    let mut run = 0;
    for (i, &b) in data.iter().enumerate().skip(from) {
        if b == 0xff {
            run += 1;
        } else if run >= MARKER.len() {
            return Some(i - MARKER.len());
        } else {
            run = 0;
        }
    }
    (run >= MARKER.len()).then(|| data.len() - MARKER.len())
}
