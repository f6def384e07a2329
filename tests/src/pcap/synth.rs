//! Builders for synthetic captures used by the unit tests.

use std::net::Ipv4Addr;

pub(crate) const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(crate) const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// A BGP message of `msg_type` with `body_len` zero bytes of body.
pub(crate) fn bgp(msg_type: u8, body_len: usize) -> Vec<u8> {
    let len = u16::try_from(19 + body_len).unwrap_or(u16::MAX);
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&len.to_be_bytes());
    m.push(msg_type);
    m.resize(19 + body_len, 0);
    m
}

/// A TCP segment (20-byte header) with the given flags.
pub(crate) fn tcp(sport: u16, dport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    t
}

/// An IPv4 packet carrying `l4` with protocol TCP.
pub(crate) fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, l4: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + l4.len()).unwrap_or(u16::MAX);
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(l4);
    p
}

/// An Ethernet frame around an IPv4 packet.
pub(crate) fn ether(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(ip);
    f
}

/// Ethernet/IPv4/TCP frame from A:port to B:179 (PSH|ACK).
pub(crate) fn frame(sport: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    ether(&ipv4(A, B, &tcp(sport, 179, seq, 0x18, payload)))
}

/// A classic pcap file; `big` selects the byte order, `nanos` the ns magic.
pub(crate) fn pcap_file(link_type: u32, frames: &[Vec<u8>], big: bool, nanos: bool) -> Vec<u8> {
    let w32 = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut f = Vec::new();
    f.extend_from_slice(&w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    f.extend_from_slice(&w16(2));
    f.extend_from_slice(&w16(4));
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&w32(65535));
    f.extend_from_slice(&w32(link_type));
    for (i, d) in frames.iter().enumerate() {
        let len = u32::try_from(d.len()).unwrap_or(u32::MAX);
        f.extend_from_slice(&w32(u32::try_from(i).unwrap_or(0)));
        f.extend_from_slice(&w32(0));
        f.extend_from_slice(&w32(len));
        f.extend_from_slice(&w32(len));
        f.extend_from_slice(d);
    }
    f
}

/// pcapng writer: one section, blocks appended in call order.
pub(crate) struct Pcapng {
    pub(crate) big: bool,
    pub(crate) bytes: Vec<u8>,
}

impl Pcapng {
    pub(crate) fn new(big: bool) -> Self {
        let mut p = Pcapng {
            big,
            bytes: Vec::new(),
        };
        let mut body = p.w32(0x1a2b_3c4d).to_vec();
        body.extend_from_slice(&p.w16(1));
        body.extend_from_slice(&p.w16(0));
        body.extend_from_slice(&[0xff; 8]); // section length unknown
        p.block(0x0a0d_0d0a, &body);
        p
    }

    fn w32(&self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn w16(&self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn block(&mut self, block_type: u32, body: &[u8]) {
        let mut padded = body.to_vec();
        padded.resize(body.len().div_ceil(4) * 4, 0);
        let total = u32::try_from(padded.len() + 12).unwrap_or(u32::MAX);
        let head = [self.w32(block_type), self.w32(total)].concat();
        self.bytes.extend_from_slice(&head);
        self.bytes.extend_from_slice(&padded);
        self.bytes.extend_from_slice(&self.w32(total));
    }

    pub(crate) fn idb(&mut self, link_type: u16) {
        let mut body = self.w16(link_type).to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.w32(0));
        self.block(1, &body);
    }

    pub(crate) fn epb(&mut self, iface: u32, data: &[u8]) {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let mut body = Vec::new();
        for v in [iface, 0, 0, len, len] {
            body.extend_from_slice(&self.w32(v));
        }
        body.extend_from_slice(data);
        self.block(6, &body);
    }

    pub(crate) fn spb(&mut self, data: &[u8]) {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let mut body = self.w32(len).to_vec();
        body.extend_from_slice(data);
        self.block(3, &body);
    }
}
