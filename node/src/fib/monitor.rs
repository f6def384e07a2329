//! Follows the kernel's routes and links: the view next hops resolve in is
//! kept current, and each change is handed on (to the FIB programmer, which
//! re-resolves the routes whose next hops it covers, and to the RIB, whose
//! decision reads the view). Notifications come on a socket of their own
//! with a large receive buffer; ENOBUFS there means events were lost, and
//! a link change can remove routes without a notification (IPv4 drops the
//! routes of a link that goes down silently): both resynchronise with a
//! dump.

use super::kernel::{KernelRoutes, SharedKernel, resolving};
use super::socket::{FibSocket, messages};
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, protocols::NETLINK_ROUTE};
use speaker::wire::Prefix;
use std::collections::BTreeSet;
use std::io;
use std::time::Duration;
use tracing::{debug, warn};

/// rtnetlink multicast groups (linux/rtnetlink.h).
const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_ROUTE: u32 = 11;

const RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

/// Changes that come this close together are handed on together.
const SETTLE: Duration = Duration::from_millis(20);

/// Reads the kernel's resolving routes (the main table, not BGP's).
pub fn load(dumper: &mut FibSocket, resolve_via_default: bool) -> io::Result<KernelRoutes> {
    let mut routes = KernelRoutes::new(resolve_via_default);
    for r in dumper.routes()? {
        if let Some(k) = resolving(&r) {
            routes.insert(k);
        }
    }
    Ok(routes)
}

pub struct Monitor {
    socket: Socket,
    dumper: FibSocket,
    kernel: SharedKernel,
    resolve_via_default: bool,
    /// Notifications are read into it.
    buf: Vec<u8>,
}

impl Monitor {
    /// Subscribes first, so nothing between the caller's initial load and
    /// the first notification is missed.
    pub fn open(kernel: SharedKernel, resolve_via_default: bool) -> io::Result<Monitor> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.set_rx_buf_sz(RECEIVE_BUFFER)?;
        ignore_bgp_routes(&socket)?;
        for group in [RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE] {
            socket.add_membership(group)?;
        }
        Ok(Monitor {
            socket,
            buf: Vec::with_capacity(RECEIVE_BUFFER),
            dumper: FibSocket::open()?,
            kernel,
            resolve_via_default,
        })
    }

    /// Waits for the next changes; the prefixes whose resolution may have
    /// changed. Never fails for lost events (they resynchronise).
    pub fn next(&mut self) -> io::Result<Vec<Prefix>> {
        let mut changed = BTreeSet::new();
        let mut resync = false;
        self.socket.set_non_blocking(false)?;
        self.read(&mut changed, &mut resync)?;
        // More of the same burst (a link going down, a routing daemon
        // rewriting its table): taken together.
        self.socket.set_non_blocking(true)?;
        loop {
            std::thread::sleep(SETTLE);
            let before = (changed.len(), resync);
            match self.read(&mut changed, &mut resync) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if (changed.len(), resync) == before {
                        break;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if resync {
            changed.extend(self.resync()?);
        }
        Ok(changed.into_iter().collect())
    }

    /// One datagram of notifications (ENOBUFS: lost ones, resynchronise).
    fn read(&mut self, changed: &mut BTreeSet<Prefix>, resync: &mut bool) -> io::Result<()> {
        self.buf.clear();
        let n = match self.socket.recv(&mut self.buf, 0) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(ENOBUFS) => {
                warn!("route notifications lost (ENOBUFS): resynchronising");
                *resync = true;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut kernel = self.kernel.write();
        for msg in messages(&self.buf[..n]) {
            match msg?.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => {
                    if let Some(k) = resolving(&r) {
                        changed.insert(k.prefix);
                        kernel.insert(k);
                    }
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRoute(r)) => {
                    if let Some(k) = resolving(&r) {
                        changed.insert(k.prefix);
                        kernel.remove(k.prefix, k.metric);
                    }
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(_))
                | NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(_)) => {
                    *resync = true;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads the whole table again; the prefixes that differ.
    fn resync(&mut self) -> io::Result<BTreeSet<Prefix>> {
        let fresh = load(&mut self.dumper, self.resolve_via_default)?;
        let mut kernel = self.kernel.write();
        let mut changed: BTreeSet<Prefix> = kernel.prefixes();
        changed.extend(fresh.prefixes());
        // Unchanged prefixes are handed on too: re-resolving them finds
        // nothing to do, and comparing routes here would repeat that work.
        debug!(routes = fresh.len(), "kernel routes resynchronised");
        *kernel = fresh;
        Ok(changed)
    }
}

/// ENOBUFS (105 on Linux, every architecture).
const ENOBUFS: i32 = 105;

/// A socket filter that drops notifications of BGP routes (ours: a full
/// table's installation would be a million notifications to read and
/// ignore, and would overflow the buffer) before they are queued, as
/// FRR's zebra filters its own. Notifications carry one message each:
/// the filter reads its type (octet 4, the low octet of `nlmsg_type` on
/// a little-endian host) and, for RTM_NEWROUTE and RTM_DELROUTE,
/// `rtm_protocol` (octet 16 + 5).
fn ignore_bgp_routes(socket: &Socket) -> io::Result<()> {
    use socket2::SockFilter;
    const LD_B_ABS: u16 = 0x30;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    const RTM_NEWROUTE: u32 = 24;
    const RTM_DELROUTE: u32 = 25;
    const RTPROT_BGP: u32 = 186;
    let program = [
        SockFilter::new(LD_B_ABS, 0, 0, 4),
        SockFilter::new(JEQ_K, 1, 0, RTM_NEWROUTE),
        SockFilter::new(JEQ_K, 0, 3, RTM_DELROUTE),
        SockFilter::new(LD_B_ABS, 0, 0, 21),
        SockFilter::new(JEQ_K, 0, 1, RTPROT_BGP),
        SockFilter::new(RET_K, 0, 0, 0),
        SockFilter::new(RET_K, 0, 0, u32::MAX),
    ];
    socket2::SockRef::from(socket).attach_filter(&program)
}
