//! AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 5065 §3, RFC 6793 §3).

use bytes::{BufMut, BytesMut};
use serde::Serialize;
use std::fmt;

/// Path segment types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentType {
    Set = 1,
    Sequence = 2,
    /// RFC 5065.
    ConfedSequence = 3,
    /// RFC 5065.
    ConfedSet = 4,
}

impl SegmentType {
    pub fn from_code(c: u8) -> Option<SegmentType> {
        Some(match c {
            1 => SegmentType::Set,
            2 => SegmentType::Sequence,
            3 => SegmentType::ConfedSequence,
            4 => SegmentType::ConfedSet,
            _ => return None,
        })
    }
}

/// One segment, owned: for building paths.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AsSegment {
    pub kind: SegmentType,
    pub asns: Vec<u32>,
}

/// One segment of a path, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Segment<'a> {
    pub kind: SegmentType,
    pub asns: &'a [u32],
}

/// An AS path: segments in order, AS numbers widened to 32 bits.
///
/// Stored flat in one allocation, each segment as a header word (type in
/// the high half, count in the low half) followed by its AS numbers: a path
/// is decoded for every UPDATE, and two allocations per path showed in the
/// decode profile.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    words: Vec<u32>,
}

fn header(kind: SegmentType, len: usize) -> u32 {
    ((kind as u32) << 16) | (len as u32 & 0xffff)
}

fn kind_of(word: u32) -> SegmentType {
    SegmentType::from_code((word >> 16) as u8).unwrap_or(SegmentType::Sequence)
}

/// Walks the segments of a path.
pub struct Segments<'a> {
    words: &'a [u32],
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        let (&h, rest) = self.words.split_first()?;
        let n = (h & 0xffff) as usize;
        let (asns, rest) = rest.split_at(n.min(rest.len()));
        self.words = rest;
        Some(Segment {
            kind: kind_of(h),
            asns,
        })
    }
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn sequence(asns: impl Into<Vec<u32>>) -> AsPath {
        let asns = asns.into();
        AsPath::from_segments([AsSegment {
            kind: SegmentType::Sequence,
            asns,
        }])
    }

    /// A path from segments; empty segments are left out.
    pub fn from_segments(segments: impl IntoIterator<Item = AsSegment>) -> AsPath {
        let mut words = Vec::new();
        for s in segments {
            // Segments of more than 65535 ASes are split, as on the wire
            // (where the limit is 255).
            for chunk in s.asns.chunks(0xffff) {
                words.push(header(s.kind, chunk.len()));
                words.extend_from_slice(chunk);
            }
        }
        AsPath { words }
    }

    pub fn segments(&self) -> Segments<'_> {
        Segments { words: &self.words }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Decodes with 2- or 4-octet AS numbers. The error says which rule of
    /// RFC 7606 §7.2 the value breaks.
    pub fn decode(v: &[u8], four_octet: bool) -> Result<AsPath, &'static str> {
        let width = if four_octet { 4 } else { 2 };
        // At most one word per AS plus one per segment: sized once.
        let mut words = Vec::with_capacity(v.len() / width + 1);
        let mut rest = v;
        while !rest.is_empty() {
            let [t, n, body @ ..] = rest else {
                return Err("a single octet after the last segment");
            };
            let kind = SegmentType::from_code(*t).ok_or("unrecognized segment type")?;
            if *n == 0 {
                return Err("segment of length zero");
            }
            let len = usize::from(*n) * width;
            let asns = body.get(..len).ok_or("segment overruns the attribute")?;
            words.push(header(kind, usize::from(*n)));
            if four_octet {
                words.extend(
                    asns.chunks_exact(4)
                        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
                );
            } else {
                words.extend(
                    asns.chunks_exact(2)
                        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))),
                );
            }
            rest = &body[len..];
        }
        Ok(AsPath { words })
    }

    /// Encodes with 2- or 4-octet AS numbers; on a 2-octet session an AS
    /// above 65535 is written as AS_TRANS (RFC 6793 §4.2.2). Segments longer
    /// than 255 ASes are split.
    pub fn encode(&self, four_octet: bool, out: &mut BytesMut) {
        for seg in self.segments() {
            for chunk in seg.asns.chunks(255) {
                out.put_u8(seg.kind as u8);
                out.put_u8(chunk.len() as u8);
                for &a in chunk {
                    if four_octet {
                        out.put_u32(a);
                    } else {
                        out.put_u16(u16::try_from(a).unwrap_or(super::super::open::AS_TRANS));
                    }
                }
            }
        }
    }

    /// Octets of the encoding.
    pub fn wire_len(&self, four_octet: bool) -> usize {
        let width = if four_octet { 4 } else { 2 };
        self.segments()
            .map(|s| s.asns.len() * width + 2 * s.asns.len().div_ceil(255))
            .sum()
    }

    /// Path length for the decision process (RFC 4271 §9.1.2.2 (a)): a set
    /// counts as one, confederation segments count as zero (RFC 5065 §5.3).
    pub fn path_length(&self) -> usize {
        self.segments()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// Whether any AS needs 4 octets.
    pub fn has_four_octet_asn(&self) -> bool {
        self.segments().flat_map(|s| s.asns).any(|&a| a > 0xffff)
    }

    /// The neighbour AS: first AS of a leading AS_SEQUENCE.
    pub fn first_asn(&self) -> Option<u32> {
        match self.segments().next() {
            Some(Segment {
                kind: SegmentType::Sequence,
                asns,
            }) => asns.first().copied(),
            _ => None,
        }
    }

    /// The origin AS: last AS of a trailing AS_SEQUENCE.
    pub fn origin_asn(&self) -> Option<u32> {
        match self.segments().last() {
            Some(Segment {
                kind: SegmentType::Sequence,
                asns,
            }) => asns.last().copied(),
            _ => None,
        }
    }

    pub fn contains(&self, asn: u32) -> bool {
        self.segments().any(|s| s.asns.contains(&asn))
    }

    fn owned_segments(&self) -> Vec<AsSegment> {
        self.segments()
            .map(|s| AsSegment {
                kind: s.kind,
                asns: s.asns.to_vec(),
            })
            .collect()
    }

    /// `asns` put in front, into the leading AS_SEQUENCE (or a new one
    /// before a leading set or confederation segment): route-map prepend.
    pub fn prepended(&self, asns: &[u32]) -> AsPath {
        let mut segments = self.owned_segments();
        match segments.first_mut() {
            Some(first) if first.kind == SegmentType::Sequence => {
                first.asns.splice(0..0, asns.iter().copied());
            }
            _ => segments.insert(
                0,
                AsSegment {
                    kind: SegmentType::Sequence,
                    asns: asns.to_vec(),
                },
            ),
        }
        AsPath::from_segments(segments)
    }

    /// Every occurrence of `asns` taken out (segments left empty go):
    /// route-map exclude.
    pub fn without(&self, asns: &[u32]) -> AsPath {
        let mut segments = self.owned_segments();
        for s in &mut segments {
            s.asns.retain(|a| !asns.contains(a));
        }
        AsPath::from_segments(segments.into_iter().filter(|s| !s.asns.is_empty()))
    }

    /// RFC 6793 §4.2.3: rebuild the real path of a route received from a
    /// 2-octet speaker from its AS_PATH and AS4_PATH.
    pub fn merge_as4(&self, as4: &AsPath) -> AsPath {
        let n = self.path_length();
        let n4 = as4.path_length();
        if n4 > n {
            // "the AS4_PATH attribute MUST be ignored"
            return self.clone();
        }
        // Keep the leading (n - n4) ASes of AS_PATH, then all of AS4_PATH.
        let mut keep = n - n4;
        let mut segments = Vec::new();
        for s in self.segments() {
            if keep == 0 {
                break;
            }
            let asns = match s.kind {
                SegmentType::Sequence => {
                    let take = keep.min(s.asns.len());
                    keep -= take;
                    &s.asns[..take]
                }
                SegmentType::Set => {
                    keep -= 1;
                    s.asns
                }
                _ => s.asns,
            };
            segments.push(AsSegment {
                kind: s.kind,
                asns: asns.to_vec(),
            });
        }
        segments.extend(as4.segments().map(|s| AsSegment {
            kind: s.kind,
            asns: s.asns.to_vec(),
        }));
        AsPath::from_segments(segments)
    }
}

impl fmt::Debug for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AsPath({self})")
    }
}

impl Serialize for AsPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.segments())
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in self.segments() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let (open, close) = match s.kind {
                SegmentType::Sequence => ("", ""),
                SegmentType::Set => ("{", "}"),
                SegmentType::ConfedSequence => ("(", ")"),
                SegmentType::ConfedSet => ("[", "]"),
            };
            f.write_str(open)?;
            for (i, a) in s.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(if open == "{" || open == "[" { "," } else { " " })?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}
