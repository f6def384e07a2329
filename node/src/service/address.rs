//! Adds and removes one interface address through rtnetlink
//! (RTM_NEWADDR, RTM_DELADDR), waiting for the kernel's answer.

use crate::fib::encode::append;
use crate::fib::socket::messages;
use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkPayload};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use std::io;
use std::net::IpAddr;

/// The request for `address/prefix_len` on the interface `index`.
fn message(index: u32, address: IpAddr, prefix_len: u8) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.prefix_len = prefix_len;
    m.header.index = index;
    m.header.scope = AddressScope::Universe;
    m.attributes = vec![
        AddressAttribute::Local(address),
        AddressAttribute::Address(address),
    ];
    if address.is_ipv6() {
        // Usable at once: duplicate address detection would hold it
        // tentative (unusable as a source) for a second or more, and the
        // member that held it before has let it go.
        m.header.flags = AddressHeaderFlags::Nodad;
        m.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    m
}

/// Adds `address/prefix_len` to interface `index`; `Ok(false)` if it was
/// there already.
pub fn add(index: u32, address: IpAddr, prefix_len: u8) -> io::Result<bool> {
    let request = RouteNetlinkMessage::NewAddress(message(index, address, prefix_len));
    match ask(request, NLM_F_CREATE | NLM_F_EXCL) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes `address/prefix_len` from interface `index`; `Ok(false)` if
/// it was not there.
pub fn remove(index: u32, address: IpAddr, prefix_len: u8) -> io::Result<bool> {
    let request = RouteNetlinkMessage::DelAddress(message(index, address, prefix_len));
    match ask(request, 0) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sends `request` with an acknowledgement asked for, and reads the
/// kernel's answer: an error, or none.
fn ask(request: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut octets = Vec::new();
    append(&mut octets, request, NLM_F_REQUEST | NLM_F_ACK | flags, 1);
    socket.send(&octets, 0)?;
    let mut buf = Vec::with_capacity(8192);
    loop {
        buf.clear();
        let n = socket.recv(&mut buf, 0)?;
        for msg in messages(&buf[..n]) {
            if let NetlinkPayload::Error(e) = msg?.payload {
                return match e.code {
                    Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                    None => Ok(()),
                };
            }
        }
    }
}
