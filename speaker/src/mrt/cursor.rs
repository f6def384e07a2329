//! A bounded reader over a record body: every read checks its length, so a
//! field that lies about its size becomes an error, never a panic.

use super::error::BodyError;
use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(crate) struct Cursor {
    buf: Bytes,
    pos: usize,
}

impl Cursor {
    pub(crate) fn new(buf: Bytes) -> Cursor {
        Cursor { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<Bytes, BodyError> {
        if self.remaining() < n {
            return Err(BodyError::Short {
                what,
                need: n,
                have: self.remaining(),
            });
        }
        let b = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(b)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], BodyError> {
        let s = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or(BodyError::Short {
                what,
                need: N,
                have: self.remaining(),
            })?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        self.pos += N;
        Ok(a)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, BodyError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, BodyError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, BodyError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// An AS number of 2 or 4 octets.
    pub(crate) fn asn(&mut self, four: bool, what: &'static str) -> Result<u32, BodyError> {
        if four {
            self.u32(what)
        } else {
            self.u16(what).map(u32::from)
        }
    }

    pub(crate) fn ipv4(&mut self, what: &'static str) -> Result<Ipv4Addr, BodyError> {
        Ok(Ipv4Addr::from(self.array::<4>(what)?))
    }

    pub(crate) fn ipv6(&mut self, what: &'static str) -> Result<Ipv6Addr, BodyError> {
        Ok(Ipv6Addr::from(self.array::<16>(what)?))
    }

    /// An address of the size the MRT AFI gives (1: IPv4, 2: IPv6).
    pub(crate) fn ip(&mut self, afi: u16, what: &'static str) -> Result<IpAddr, BodyError> {
        match afi {
            1 => self.ipv4(what).map(IpAddr::V4),
            2 => self.ipv6(what).map(IpAddr::V6),
            _ => Err(BodyError::BadAfi(afi)),
        }
    }

    /// The rest of the body.
    pub(crate) fn rest(&mut self) -> Bytes {
        let b = self.buf.slice(self.pos..);
        self.pos = self.buf.len();
        b
    }

    /// Fails when octets are left over.
    pub(crate) fn finish(&self) -> Result<(), BodyError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(BodyError::TrailingData(n)),
        }
    }
}
