//! pcapng blocks: SHB, IDB, EPB, SPB and the obsolete PB; others are skipped.

use super::error::PcapError;
use super::file::{Capture, Packet};
use super::read::Order;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

#[derive(Clone, Copy)]
struct Interface {
    link_type: u16,
    snaplen: u32,
}

/// Reads a pcapng file; every SHB restarts the byte order and interface list.
pub(crate) fn read(bytes: &[u8]) -> Result<Capture<'_>, PcapError> {
    let mut order: Option<Order> = None;
    let mut ifaces: Vec<Interface> = Vec::new();
    let mut first_link: Option<u16> = None;
    let mut packets = Vec::new();
    let mut off = 0;
    while off < bytes.len() {
        let trunc = PcapError::TruncatedRecord {
            index: packets.len(),
            offset: off,
        };
        // The SHB type reads the same in both orders; others need the section's.
        let raw_type = Order::Little.u32(bytes, off).ok_or(trunc.clone())?;
        if raw_type == SHB {
            let bom = Order::Little.u32(bytes, off + 8).ok_or(trunc.clone())?;
            order = Some(match bom {
                BYTE_ORDER_MAGIC => Order::Little,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => Order::Big,
                m => return Err(PcapError::BadMagic(m)),
            });
            ifaces.clear();
        }
        let ord = order.ok_or(PcapError::NoSection(off))?;
        let block_type = ord.u32(bytes, off).ok_or(trunc.clone())?;
        let len = ord.u32(bytes, off + 4).ok_or(trunc.clone())?;
        if len < 12 || len % 4 != 0 {
            return Err(PcapError::BadBlockLength { offset: off, len });
        }
        let end = off
            .checked_add(len as usize)
            .filter(|&e| e <= bytes.len())
            .ok_or(trunc.clone())?;
        // Body between the 8-byte head and the 4-byte trailing length.
        let body = &bytes[off + 8..end - 4];
        match block_type {
            IDB => {
                let link_type = ord.u16(body, 0).ok_or(trunc.clone())?;
                let snaplen = ord.u32(body, 4).ok_or(trunc)?;
                first_link.get_or_insert(link_type);
                ifaces.push(Interface { link_type, snaplen });
            }
            EPB | PB => {
                // PB has a 16-bit interface id followed by a drops counter.
                let iface = if block_type == EPB {
                    ord.u32(body, 0)
                } else {
                    ord.u16(body, 0).map(u32::from)
                }
                .ok_or(trunc.clone())?;
                let caplen = ord.u32(body, 12).ok_or(trunc.clone())?;
                let orig_len = ord.u32(body, 16).ok_or(trunc.clone())?;
                let data = body
                    .get(20..20usize.saturating_add(caplen as usize))
                    .ok_or(trunc)?;
                let link_type = interface(&ifaces, iface, off)?.link_type;
                packets.push(Packet {
                    link_type,
                    orig_len,
                    data,
                });
            }
            SPB => {
                let orig_len = ord.u32(body, 0).ok_or(trunc.clone())?;
                let rest = body.get(4..).ok_or(trunc)?;
                let iface = interface(&ifaces, 0, off)?;
                let mut caplen = (orig_len as usize).min(rest.len());
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                packets.push(Packet {
                    link_type: iface.link_type,
                    orig_len,
                    data: &rest[..caplen],
                });
            }
            _ => {}
        }
        off = end;
    }
    Ok(Capture {
        link_type: first_link.unwrap_or(0),
        packets,
    })
}

fn interface(ifaces: &[Interface], id: u32, offset: usize) -> Result<Interface, PcapError> {
    ifaces
        .get(id as usize)
        .copied()
        .ok_or(PcapError::UnknownInterface {
            offset,
            interface: id,
        })
}
