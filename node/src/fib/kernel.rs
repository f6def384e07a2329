//! The kernel's own routes (connected, static, an IGP's: every route that
//! is not BGP's), in which a border resolves BGP next hops. A next hop on
//! a connected network is its own gateway; one reached through another
//! route takes that route's gateways (recursive resolution). The RIB's
//! decision process reads the same view: a path whose next hop does not
//! resolve is not best (RFC 4271 §9.1.2.1).

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteType,
};
use speaker::rib::NextHopResolver;
use speaker::wire::{Family, Prefix};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

/// The table next hops are resolved in: the kernel's `main`.
pub const RESOLVE_TABLE: u32 = RouteHeader::RT_TABLE_MAIN as u32;

/// One kernel route, as far as resolution cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRoute {
    pub prefix: Prefix,
    /// Empty: directly connected.
    pub gateways: Vec<IpAddr>,
    pub metric: u32,
}

/// Where a next hop leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The gateways to install (the next hop itself when connected).
    pub gateways: Vec<IpAddr>,
    /// The metric of the route that resolved it (the decision's IGP cost).
    pub cost: u32,
}

#[derive(Debug, Default)]
pub struct KernelRoutes {
    /// By prefix, then metric (the kernel keeps one route per metric).
    routes: HashMap<Prefix, BTreeMap<u32, Vec<IpAddr>>>,
    /// Prefix lengths in use, per family (IPv4, IPv6), longest first:
    /// a lookup tries only those.
    lengths: [BTreeMap<std::cmp::Reverse<u8>, usize>; 2],
    resolve_via_default: bool,
}

fn family_index(a: IpAddr) -> usize {
    usize::from(a.is_ipv6())
}

impl KernelRoutes {
    pub fn new(resolve_via_default: bool) -> KernelRoutes {
        KernelRoutes {
            resolve_via_default,
            ..KernelRoutes::default()
        }
    }

    pub fn len(&self) -> usize {
        self.routes.values().map(BTreeMap::len).sum()
    }

    pub fn insert(&mut self, r: KernelRoute) {
        let by_metric = self.routes.entry(r.prefix).or_default();
        if by_metric.is_empty() {
            *self.lengths[family_index(r.prefix.addr())]
                .entry(std::cmp::Reverse(r.prefix.len()))
                .or_default() += 1;
        }
        by_metric.insert(r.metric, r.gateways);
    }

    pub fn remove(&mut self, prefix: Prefix, metric: u32) {
        let Some(by_metric) = self.routes.get_mut(&prefix) else {
            return;
        };
        by_metric.remove(&metric);
        if by_metric.is_empty() {
            self.routes.remove(&prefix);
            let lengths = &mut self.lengths[family_index(prefix.addr())];
            let key = std::cmp::Reverse(prefix.len());
            if let Some(n) = lengths.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    lengths.remove(&key);
                }
            }
        }
    }

    /// Every prefix held (what a resynchronisation compares).
    pub fn prefixes(&self) -> BTreeSet<Prefix> {
        self.routes.keys().copied().collect()
    }

    /// The gateways and cost of `next_hop`: the longest matching prefix,
    /// its route of lowest metric. Not through the default route unless
    /// configured (as FRR's `ip nht resolve-via-default`).
    pub fn resolve(&self, next_hop: IpAddr) -> Option<Resolved> {
        for std::cmp::Reverse(len) in self.lengths[family_index(next_hop)].keys() {
            if *len == 0 && !self.resolve_via_default {
                return None;
            }
            let Some(prefix) = Prefix::new(next_hop, *len) else {
                continue;
            };
            if let Some((metric, gateways)) = self.routes.get(&prefix).and_then(|m| m.iter().next())
            {
                let gateways = if gateways.is_empty() {
                    vec![next_hop]
                } else {
                    gateways.clone()
                };
                return Some(Resolved {
                    gateways,
                    cost: *metric,
                });
            }
        }
        None
    }
}

/// The view shared by the route monitor (which writes it), the FIB
/// programmer and the RIB's decision process (which read it).
#[derive(Clone, Debug, Default)]
pub struct SharedKernel(pub Arc<RwLock<KernelRoutes>>);

impl SharedKernel {
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, KernelRoutes> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, KernelRoutes> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl NextHopResolver for SharedKernel {
    fn igp_cost(&self, _: Family, next_hop: IpAddr) -> Option<u32> {
        self.read().resolve(next_hop).map(|r| r.cost)
    }
}

pub fn address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

/// A route message's table, prefix, gateways and metric.
pub struct Parsed {
    pub table: u32,
    pub prefix: Prefix,
    pub gateways: Vec<IpAddr>,
    pub metric: u32,
}

pub fn parse(r: &RouteMessage) -> Option<Parsed> {
    let mut table = u32::from(r.header.table);
    let mut destination = None;
    let mut gateways = Vec::new();
    let mut metric = 0;
    for a in &r.attributes {
        match a {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => destination = address(d),
            RouteAttribute::Gateway(g) => gateways.extend(address(g)),
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::MultiPath(hops) => {
                for h in hops {
                    for a in &h.attributes {
                        if let RouteAttribute::Gateway(g) = a {
                            gateways.extend(address(g));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let unspecified = match r.header.address_family {
        netlink_packet_route::AddressFamily::Inet6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    };
    let prefix = Prefix::new(
        destination.unwrap_or(unspecified),
        r.header.destination_prefix_length,
    )?;
    Some(Parsed {
        table,
        prefix,
        gateways,
        metric,
    })
}

/// The route a message describes, if it is one next hops resolve through:
/// a unicast route of the main table that is not BGP's (ours, or another
/// daemon's: BGP next hops do not resolve through BGP routes).
pub fn resolving(r: &RouteMessage) -> Option<KernelRoute> {
    if r.header.protocol == RouteProtocol::Bgp || r.header.kind != RouteType::Unicast {
        return None;
    }
    let p = parse(r)?;
    if p.table != RESOLVE_TABLE {
        return None;
    }
    Some(KernelRoute {
        prefix: p.prefix,
        gateways: p.gateways,
        metric: p.metric,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn route(p: &str, gw: &[&str], metric: u32) -> KernelRoute {
        KernelRoute {
            prefix: p.parse().unwrap(),
            gateways: gw.iter().map(|g| g.parse().unwrap()).collect(),
            metric,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_next_hop_resolves_through_the_longest_match_of_lowest_metric() {
        let mut k = KernelRoutes::new(false);
        k.insert(route("198.18.0.0/24", &[], 0));
        k.insert(route("198.18.1.0/24", &["198.18.0.9"], 10));
        k.insert(route("198.18.1.0/24", &["198.18.0.8"], 5));
        k.insert(route("198.18.0.0/16", &["198.18.0.7"], 0));
        k.insert(route("0.0.0.0/0", &["198.18.0.1"], 0));
        k.insert(route("2001:db8::/64", &[], 256));
        // Connected: the next hop is its own gateway.
        assert_eq!(
            k.resolve(ip("198.18.0.2")),
            Some(Resolved {
                gateways: vec![ip("198.18.0.2")],
                cost: 0
            })
        );
        // Recursive: through the /24 of metric 5.
        assert_eq!(
            k.resolve(ip("198.18.1.1")).unwrap().gateways,
            vec![ip("198.18.0.8")]
        );
        assert_eq!(k.resolve(ip("198.18.1.1")).unwrap().cost, 5);
        assert_eq!(
            k.resolve(ip("198.18.9.1")).unwrap().gateways,
            vec![ip("198.18.0.7")]
        );
        // Not through the default route.
        assert_eq!(k.resolve(ip("198.19.0.1")), None);
        assert_eq!(
            k.resolve(ip("2001:db8::5")).unwrap().gateways,
            vec![ip("2001:db8::5")]
        );
        assert_eq!(k.resolve(ip("2001:db8:1::5")), None);
        // Removing the better metric falls back to the other one; removing
        // both, to the shorter prefix.
        k.remove("198.18.1.0/24".parse().unwrap(), 5);
        assert_eq!(
            k.resolve(ip("198.18.1.1")).unwrap().gateways,
            vec![ip("198.18.0.9")]
        );
        k.remove("198.18.1.0/24".parse().unwrap(), 10);
        assert_eq!(
            k.resolve(ip("198.18.1.1")).unwrap().gateways,
            vec![ip("198.18.0.7")]
        );
        assert_eq!(k.len(), 4);
        let mut via_default = KernelRoutes::new(true);
        via_default.insert(route("0.0.0.0/0", &["198.18.0.1"], 0));
        assert_eq!(
            via_default.resolve(ip("198.19.0.1")).unwrap().gateways,
            vec![ip("198.18.0.1")]
        );
    }
}
