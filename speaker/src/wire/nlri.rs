//! NLRI fields (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3, RFC 8277, RFC 4364).
//!
//! An [`Nlri`] keeps the validated wire bytes and walks them on demand, so
//! decoding an UPDATE allocates nothing per prefix and re-encoding is
//! byte-identical.

use super::error::NlriError;
use super::family::{Family, NlriFormat};
use super::prefix::{Label, Prefix, RouteDistinguisher};
use bytes::{BufMut, Bytes, BytesMut};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Most labels an entry may carry. RFC 8277 allows more, nobody sends them.
pub const MAX_LABELS: usize = 4;

/// A validated sequence of NLRI entries of one family.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nlri {
    family: Family,
    add_path: bool,
    count: u32,
    raw: Bytes,
}

/// One entry of an NLRI field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NlriEntry {
    /// RFC 7911 path identifier, where ADD-PATH is negotiated for the family.
    pub path_id: Option<u32>,
    /// MPLS labels (labeled and VPN families); empty otherwise.
    pub labels: LabelStack,
    /// Route distinguisher (VPN families).
    pub rd: Option<RouteDistinguisher>,
    pub prefix: Prefix,
}

impl NlriEntry {
    pub fn plain(prefix: Prefix) -> NlriEntry {
        NlriEntry {
            path_id: None,
            labels: LabelStack::default(),
            rd: None,
            prefix,
        }
    }
}

/// A short inline label stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LabelStack {
    len: u8,
    labels: [Label; MAX_LABELS],
}

impl LabelStack {
    pub fn as_slice(&self) -> &[Label] {
        &self.labels[..usize::from(self.len)]
    }
    pub fn push(&mut self, l: Label) -> bool {
        match self.labels.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = l;
                self.len += 1;
                true
            }
            None => false,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Nlri {
    /// Validates `raw` as NLRI of `family` (RFC 7606 §5.3: an entry longer
    /// than the address or running past the field is a syntax error).
    pub fn decode(family: Family, add_path: bool, raw: Bytes) -> Result<Nlri, NlriError> {
        let count = validate(family, add_path, &raw)?;
        Ok(Nlri {
            family,
            add_path,
            count,
            raw,
        })
    }

    /// An empty field.
    pub fn empty(family: Family, add_path: bool) -> Nlri {
        Nlri {
            family,
            add_path,
            count: 0,
            raw: Bytes::new(),
        }
    }

    pub fn family(&self) -> Family {
        self.family
    }
    pub fn add_path(&self) -> bool {
        self.add_path
    }
    /// Number of entries (0 for a family carried opaquely).
    pub fn len(&self) -> usize {
        self.count as usize
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
    /// The wire bytes.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }
    /// Whether the entries can be walked (false for families carried opaquely).
    pub fn is_opaque(&self) -> bool {
        self.family.nlri_format() == NlriFormat::Opaque
    }

    pub fn iter(&self) -> NlriIter<'_> {
        NlriIter {
            nlri: self,
            pos: 0,
            format: self.family.nlri_format(),
        }
    }

    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&self.raw);
    }

    /// Builds an NLRI field from entries; fails on an entry that the family cannot carry.
    pub fn from_entries<'a>(
        family: Family,
        add_path: bool,
        entries: impl IntoIterator<Item = &'a NlriEntry>,
    ) -> Result<Nlri, NlriError> {
        let mut b = NlriBuilder::new(family, add_path);
        for e in entries {
            b.push(e)?;
        }
        Ok(b.finish())
    }
}

impl std::fmt::Debug for Nlri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_opaque() {
            return write!(f, "Nlri({}, opaque {} octets)", self.family, self.raw.len());
        }
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Walks a validated NLRI field.
pub struct NlriIter<'a> {
    nlri: &'a Nlri,
    pos: usize,
    format: NlriFormat,
}

impl Iterator for NlriIter<'_> {
    type Item = NlriEntry;

    #[inline]
    fn next(&mut self) -> Option<NlriEntry> {
        let raw = self.nlri.raw.get(self.pos..)?;
        if raw.is_empty() {
            return None;
        }
        // The field was validated: the plain layout (nearly every prefix)
        // needs no error paths, only the arithmetic.
        let (entry, used) = match self.format {
            NlriFormat::Prefix => {
                parse_prefix_entry(self.nlri.family, self.nlri.add_path, raw).ok()?
            }
            NlriFormat::Opaque => return None,
            _ => parse_entry(self.nlri.family, self.nlri.add_path, raw).ok()??,
        };
        self.pos += used;
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.nlri.len()))
    }
}

fn validate(family: Family, add_path: bool, raw: &[u8]) -> Result<u32, NlriError> {
    if family.nlri_format() == NlriFormat::Opaque {
        return Ok(0);
    }
    let mut pos = 0;
    let mut count = 0u32;
    if family.nlri_format() == NlriFormat::Prefix {
        // The common case, checked without building entries: lengths only.
        let max = family.max_prefix_bits().unwrap_or(0);
        let skip = if add_path { 4 } else { 0 };
        while pos < raw.len() {
            let bits = *raw.get(pos + skip).ok_or(NlriError::Truncated)?;
            if bits > max {
                return Err(NlriError::PrefixTooLong {
                    bits: u32::from(bits),
                    max,
                });
            }
            pos += skip + 1 + usize::from(bits).div_ceil(8);
            if pos > raw.len() {
                return Err(NlriError::Truncated);
            }
            count += 1;
        }
        return Ok(count);
    }
    while let Some((_, used)) = parse_entry(family, add_path, &raw[pos..])? {
        pos += used;
        count += 1;
    }
    Ok(count)
}

/// Parses one entry at the start of `raw`: `Ok(None)` at the end of the field.
#[inline]
fn parse_entry(
    family: Family,
    add_path: bool,
    raw: &[u8],
) -> Result<Option<(NlriEntry, usize)>, NlriError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let format = family.nlri_format();
    if format == NlriFormat::Prefix {
        return parse_prefix_entry(family, add_path, raw).map(Some);
    }
    let mut pos = 0;
    let path_id = if add_path {
        let b: [u8; 4] = raw
            .get(0..4)
            .and_then(|s| s.try_into().ok())
            .ok_or(NlriError::Truncated)?;
        pos = 4;
        Some(u32::from_be_bytes(b))
    } else {
        None
    };
    let bits = *raw.get(pos).ok_or(NlriError::Truncated)?;
    pos += 1;
    let max_bits = family.max_prefix_bits().unwrap_or(0);
    let mut prefix_bits = u32::from(bits);
    let mut labels = LabelStack::default();
    let mut rd = None;
    if matches!(format, NlriFormat::Labeled | NlriFormat::Vpn) {
        loop {
            if prefix_bits < 24 {
                return Err(NlriError::BadLabelStack);
            }
            let l = raw.get(pos..pos + 3).ok_or(NlriError::Truncated)?;
            let label = Label(u32::from_be_bytes([0, l[0], l[1], l[2]]));
            pos += 3;
            prefix_bits -= 24;
            if !labels.push(label) {
                return Err(NlriError::BadLabelStack);
            }
            if label.bottom_of_stack() || label.is_withdraw_compat() || label.0 == 0 {
                break;
            }
        }
        if format == NlriFormat::Vpn {
            if prefix_bits < 64 {
                return Err(NlriError::BadRouteDistinguisher);
            }
            let r: [u8; 8] = raw
                .get(pos..pos + 8)
                .and_then(|s| s.try_into().ok())
                .ok_or(NlriError::Truncated)?;
            rd = Some(RouteDistinguisher(r));
            pos += 8;
            prefix_bits -= 64;
        }
    }
    if prefix_bits > u32::from(max_bits) {
        return Err(NlriError::PrefixTooLong {
            bits: prefix_bits,
            max: max_bits,
        });
    }
    let n = (prefix_bits as usize).div_ceil(8);
    let octets = raw.get(pos..pos + n).ok_or(NlriError::Truncated)?;
    pos += n;
    let prefix = Prefix::from_wire(max_bits == 128, prefix_bits as u8, octets).ok_or(
        NlriError::PrefixTooLong {
            bits: prefix_bits,
            max: max_bits,
        },
    )?;
    Ok(Some((
        NlriEntry {
            path_id,
            labels,
            rd,
            prefix,
        },
        pos,
    )))
}

/// The plain layout: optional path identifier, length, prefix octets.
#[inline]
fn parse_prefix_entry(
    family: Family,
    add_path: bool,
    raw: &[u8],
) -> Result<(NlriEntry, usize), NlriError> {
    let (path_id, rest) = if add_path {
        let (id, rest) = raw.split_first_chunk::<4>().ok_or(NlriError::Truncated)?;
        (Some(u32::from_be_bytes(*id)), rest)
    } else {
        (None, raw)
    };
    let (&bits, rest) = rest.split_first().ok_or(NlriError::Truncated)?;
    let max = family.max_prefix_bits().unwrap_or(0);
    let n = usize::from(bits).div_ceil(8);
    let octets = rest.get(..n).ok_or(NlriError::Truncated)?;
    let prefix = Prefix::from_wire(max == 128, bits, octets).ok_or(NlriError::PrefixTooLong {
        bits: u32::from(bits),
        max,
    })?;
    let used = usize::from(add_path) * 4 + 1 + n;
    Ok((
        NlriEntry {
            path_id,
            labels: LabelStack::default(),
            rd: None,
            prefix,
        },
        used,
    ))
}

/// Encodes NLRI entries of one family.
pub struct NlriBuilder {
    family: Family,
    add_path: bool,
    count: u32,
    buf: BytesMut,
}

impl NlriBuilder {
    pub fn new(family: Family, add_path: bool) -> NlriBuilder {
        NlriBuilder {
            family,
            add_path,
            count: 0,
            buf: BytesMut::new(),
        }
    }

    /// Octets this entry takes on the wire.
    pub fn entry_len(&self, e: &NlriEntry) -> usize {
        let extra = match self.family.nlri_format() {
            NlriFormat::Labeled => 3 * e.labels.as_slice().len().max(1),
            NlriFormat::Vpn => 3 * e.labels.as_slice().len().max(1) + 8,
            _ => 0,
        };
        usize::from(self.add_path) * 4 + 1 + extra + usize::from(e.prefix.len()).div_ceil(8)
    }

    pub fn push(&mut self, e: &NlriEntry) -> Result<(), NlriError> {
        let format = self.family.nlri_format();
        let max = self.family.max_prefix_bits().unwrap_or(0);
        if format == NlriFormat::Opaque || (max == 128) != e.prefix.is_ipv6() {
            return Err(NlriError::WrongFamily);
        }
        if self.add_path {
            self.buf.put_u32(e.path_id.unwrap_or(0));
        }
        let mut bits = u32::from(e.prefix.len());
        let mut labels: &[Label] = e.labels.as_slice();
        let compat = [Label(0x80_0000)];
        if matches!(format, NlriFormat::Labeled | NlriFormat::Vpn) {
            if labels.is_empty() {
                labels = &compat;
            }
            bits += 24 * labels.len() as u32;
            if format == NlriFormat::Vpn {
                bits += 64;
            }
        }
        let bits = u8::try_from(bits).map_err(|_| NlriError::BadLabelStack)?;
        self.buf.put_u8(bits);
        if matches!(format, NlriFormat::Labeled | NlriFormat::Vpn) {
            for l in labels {
                self.buf.put_slice(&l.0.to_be_bytes()[1..]);
            }
            if format == NlriFormat::Vpn {
                self.buf.put_slice(&e.rd.unwrap_or_default().0);
            }
        }
        let (octets, n) = e.prefix.wire_octets();
        self.buf.put_slice(&octets[..n]);
        self.count += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn finish(self) -> Nlri {
        Nlri {
            family: self.family,
            add_path: self.add_path,
            count: self.count,
            raw: self.buf.freeze(),
        }
    }
}

impl Serialize for NlriEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.path_id.is_none() && self.rd.is_none() && self.labels.is_empty() {
            return self.prefix.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("prefix", &self.prefix)?;
        if let Some(p) = self.path_id {
            m.serialize_entry("path_id", &p)?;
        }
        if let Some(rd) = &self.rd {
            m.serialize_entry("rd", rd)?;
        }
        if !self.labels.is_empty() {
            let v: Vec<u32> = self.labels.as_slice().iter().map(|l| l.value()).collect();
            m.serialize_entry("labels", &v)?;
        }
        m.end()
    }
}

impl Serialize for Nlri {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_opaque() {
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry("family", &self.family.to_string())?;
            m.serialize_entry("opaque", &super::hex(&self.raw))?;
            return m.end();
        }
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for e in self.iter() {
            seq.serialize_element(&e)?;
        }
        seq.end()
    }
}
