//! A batch of FIB changes as rtnetlink requests in one buffer: written to
//! the socket at once (one datagram, many requests), each under its own
//! sequence number so an error is matched to its prefix. None asks for an
//! acknowledgement (the kernel answers errors anyway): the socket asks it
//! of the last request of each datagram ([`set_ack`]), whose answer says
//! every request before it was handled. Routes carry protocol `bgp` (186, so `ip route show proto
//! bgp` and a restart find ours), the configured table (in RTA_TABLE too,
//! for tables above 255) and metric.

use super::Change;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol,
    RouteScope, RouteType,
};
use speaker::wire::Prefix;
use std::net::IpAddr;

/// Where our routes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub table: u32,
    pub metric: u32,
}

/// Requests in one buffer, and the prefix of each sequence number.
#[derive(Debug, Default)]
pub struct Batch {
    pub octets: Vec<u8>,
    pub requests: Vec<(u32, Prefix)>,
}

/// The message header of a route of `prefix` in `target`.
fn message(prefix: &Prefix, target: Target) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = match prefix.addr() {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.destination_prefix_length = prefix.len();
    m.header.table = u8::try_from(target.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    m.header.protocol = RouteProtocol::Bgp;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes = vec![
        RouteAttribute::Table(target.table),
        RouteAttribute::Destination(RouteAddress::from(prefix.addr())),
        RouteAttribute::Priority(target.metric),
    ];
    m
}

/// Appends the requests for `changes` to a new batch, numbered from `seq`.
pub fn encode(changes: &[(Prefix, Change)], target: Target, seq: u32) -> Batch {
    let mut batch = Batch::default();
    for (i, (prefix, change)) in changes.iter().enumerate() {
        let n = seq.wrapping_add(i as u32);
        let mut m = message(prefix, target);
        let (payload, flags) = match change {
            Some(route) => {
                match route.gateways.as_slice() {
                    [] => {}
                    [one] => m
                        .attributes
                        .push(RouteAttribute::Gateway(RouteAddress::from(*one))),
                    many => m.attributes.push(RouteAttribute::MultiPath(
                        many.iter()
                            .map(|g| {
                                let mut hop = RouteNextHop::default();
                                hop.attributes =
                                    vec![RouteAttribute::Gateway(RouteAddress::from(*g))];
                                hop
                            })
                            .collect(),
                    )),
                }
                (
                    RouteNetlinkMessage::NewRoute(m),
                    NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE,
                )
            }
            None => (RouteNetlinkMessage::DelRoute(m), NLM_F_REQUEST),
        };
        append(&mut batch.octets, payload, flags, n);
        batch.requests.push((n, *prefix));
    }
    batch
}

/// Asks for an acknowledgement of the request at the start of `octets`.
pub fn set_ack(octets: &mut [u8]) {
    if let Some(flags) = octets.get_mut(6..8) {
        let f = u16::from_ne_bytes([flags[0], flags[1]]) | NLM_F_ACK;
        flags.copy_from_slice(&f.to_ne_bytes());
    }
}

/// Appends one request to `octets`, its header made to fit it.
pub fn append(octets: &mut Vec<u8>, payload: RouteNetlinkMessage, flags: u16, seq: u32) {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
    msg.finalize();
    let at = octets.len();
    octets.resize(at + msg.buffer_len(), 0);
    msg.serialize(&mut octets[at..]);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fib::FibRoute;

    fn parse_all(mut octets: &[u8]) -> Vec<NetlinkMessage<RouteNetlinkMessage>> {
        let mut out = Vec::new();
        while !octets.is_empty() {
            let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(octets).unwrap();
            let len = m.header.length as usize;
            out.push(m);
            octets = &octets[len..];
        }
        out
    }

    #[test]
    fn a_batch_is_one_buffer_of_acknowledged_requests_in_our_table_as_bgp() {
        let p4: Prefix = "198.19.1.0/24".parse().unwrap();
        let p6: Prefix = "2001:db8:1::/48".parse().unwrap();
        let gone: Prefix = "198.19.2.0/24".parse().unwrap();
        let gw = |s: &str| s.parse::<IpAddr>().unwrap();
        let changes = vec![
            (
                p4,
                Some(FibRoute {
                    prefix: p4,
                    gateways: vec![gw("198.18.0.2")],
                }),
            ),
            (
                p6,
                Some(FibRoute {
                    prefix: p6,
                    gateways: vec![gw("2001:db8::2"), gw("2001:db8::3")],
                }),
            ),
            (gone, None),
        ];
        let target = Target {
            table: 1000,
            metric: 20,
        };
        let batch = encode(&changes, target, u32::MAX);
        assert_eq!(batch.requests, vec![(u32::MAX, p4), (0, p6), (1, gone)]);
        let msgs = parse_all(&batch.octets);
        assert_eq!(msgs.len(), 3);
        for (m, (seq, _)) in msgs.iter().zip(&batch.requests) {
            assert_eq!(m.header.sequence_number, *seq);
            assert_eq!(m.header.flags & NLM_F_ACK, 0);
        }
        // The socket asks for the acknowledgement of a datagram's last.
        let mut octets = batch.octets.clone();
        let last = octets.len() - msgs[2].header.length as usize;
        set_ack(&mut octets[last..]);
        let msgs = parse_all(&octets);
        assert_ne!(msgs[2].header.flags & NLM_F_ACK, 0);
        assert_eq!(msgs[1].header.flags & NLM_F_ACK, 0);
        let route = |m: &NetlinkMessage<RouteNetlinkMessage>| match &m.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r))
            | NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRoute(r)) => r.clone(),
            other => panic!("{other:?}"),
        };
        let r = route(&msgs[0]);
        assert_eq!(r.header.protocol, RouteProtocol::Bgp);
        assert_eq!(r.header.destination_prefix_length, 24);
        // Above 255: RTA_TABLE says it, the header's octet is unspecified.
        assert_eq!(r.header.table, RouteHeader::RT_TABLE_UNSPEC);
        assert!(r.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(r.attributes.contains(&RouteAttribute::Priority(20)));
        assert!(
            r.attributes
                .contains(&RouteAttribute::Gateway(RouteAddress::Inet(
                    "198.18.0.2".parse().unwrap()
                )))
        );
        assert_ne!(msgs[0].header.flags & NLM_F_REPLACE, 0);
        // ECMP: one RTA_MULTIPATH with both gateways.
        let r = route(&msgs[1]);
        assert_eq!(r.header.address_family, AddressFamily::Inet6);
        let hops = r
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(h) => Some(h.len()),
                _ => None,
            })
            .unwrap();
        assert_eq!(hops, 2);
        // A deletion names the route: table, prefix, protocol, metric.
        assert!(matches!(
            msgs[2].payload,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRoute(_))
        ));
        assert_eq!(msgs[2].header.flags & NLM_F_CREATE, 0);
    }
}
