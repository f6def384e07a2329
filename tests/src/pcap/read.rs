//! Bounds-checked integer reads with a runtime byte order.

/// Byte order of a capture file (or pcapng section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Little,
    Big,
}

impl Order {
    pub(crate) fn u16(self, b: &[u8], off: usize) -> Option<u16> {
        let a: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Order::Little => u16::from_le_bytes(a),
            Order::Big => u16::from_be_bytes(a),
        })
    }

    pub(crate) fn u32(self, b: &[u8], off: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Order::Little => u32::from_le_bytes(a),
            Order::Big => u32::from_be_bytes(a),
        })
    }
}

/// Network-order (big-endian) u16 at `off`.
pub(crate) fn be16(b: &[u8], off: usize) -> Option<u16> {
    Order::Big.u16(b, off)
}

/// Network-order (big-endian) u32 at `off`.
pub(crate) fn be32(b: &[u8], off: usize) -> Option<u32> {
    Order::Big.u32(b, off)
}
