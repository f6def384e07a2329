//! The rtnetlink socket the FIB programmer writes through: a batch goes
//! out as datagrams of many requests (not one request and a wait per
//! route), and the kernel's answer to each, an acknowledgement or an
//! error, is matched to its prefix by sequence number.

use super::Change;
use super::FibRoute;
use super::encode::{Target, append, encode, set_ack};
use super::kernel::parse;
use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{RouteMessage, RouteProtocol};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use speaker::wire::Prefix;
use std::collections::HashMap;
use std::io;

/// Requests per datagram at most: the kernel handles a datagram's
/// requests in turn, and its answers must fit the receive buffer.
const DATAGRAM: usize = 64 * 1024;

/// The receive buffer asked for: answers to a whole datagram fit.
const RECEIVE_BUFFER: usize = 4 * 1024 * 1024;

/// A request the kernel refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub prefix: Prefix,
    /// The errno (positive: `libc::EEXIST`, `ENETUNREACH`...).
    pub errno: i32,
}

pub struct FibSocket {
    socket: Socket,
    next_seq: u32,
    /// Answers are read into it (kept: a full table is hundreds of reads).
    buf: Vec<u8>,
}

impl FibSocket {
    /// A route socket in the calling thread's network namespace.
    pub fn open() -> io::Result<FibSocket> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        socket.set_rx_buf_sz(RECEIVE_BUFFER)?;
        Ok(FibSocket {
            socket,
            next_seq: 1,
            buf: Vec::with_capacity(RECEIVE_BUFFER),
        })
    }

    /// Writes `changes` to the kernel; what it refused, by prefix.
    pub fn write(
        &mut self,
        changes: &[(Prefix, Change)],
        target: Target,
    ) -> io::Result<Vec<Refused>> {
        let mut batch = encode(changes, target, self.next_seq);
        self.next_seq = self.next_seq.wrapping_add(changes.len() as u32);
        let prefixes: HashMap<u32, Prefix> = batch.requests.iter().copied().collect();
        let mut refused = Vec::new();
        let mut octets = batch.octets.as_mut_slice();
        let mut sent = 0;
        while !octets.is_empty() {
            // A datagram of whole requests, the last one acknowledged.
            let mut end = 0;
            let mut last = 0;
            let mut count = 0;
            while end < octets.len() {
                let len = message_len(&octets[end..])?;
                if end > 0 && end + len > DATAGRAM {
                    break;
                }
                last = end;
                end += len;
                count += 1;
            }
            set_ack(&mut octets[last..end]);
            self.socket.send(&octets[..end], 0)?;
            sent += count;
            let last_seq = batch.requests[sent - 1].0;
            self.answers(last_seq, &prefixes, &mut refused)?;
            octets = &mut octets[end..];
        }
        Ok(refused)
    }

    /// Reads answers up to that of request `last`: the errors of the
    /// requests before it come first.
    fn answers(
        &mut self,
        last: u32,
        prefixes: &HashMap<u32, Prefix>,
        refused: &mut Vec<Refused>,
    ) -> io::Result<()> {
        self.receive(|msg| {
            let NetlinkPayload::Error(e) = msg.payload else {
                return Ok(false);
            };
            let seq = msg.header.sequence_number;
            if let (Some(code), Some(prefix)) = (e.code, prefixes.get(&seq)) {
                refused.push(Refused {
                    prefix: *prefix,
                    errno: -code.get(),
                });
            }
            Ok(seq == last)
        })
    }

    /// The routes the kernel holds in `table` under protocol `bgp`: at
    /// start, what a previous run left (kept while the sessions come back,
    /// then swept of what is no longer wanted).
    pub fn dump(&mut self, table: u32) -> io::Result<Vec<FibRoute>> {
        Ok(self
            .routes()?
            .iter()
            .filter_map(|r| ours(r, table))
            .collect())
    }

    /// Every route of every table, both families.
    pub fn routes(&mut self) -> io::Result<Vec<RouteMessage>> {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        // AF_UNSPEC: both families. The kernel filters nothing without
        // strict checking: the caller picks what it wants.
        let mut octets = Vec::new();
        let get = RouteNetlinkMessage::GetRoute(RouteMessage::default());
        append(&mut octets, get, NLM_F_REQUEST | NLM_F_DUMP, seq);
        self.socket.send(&octets, 0)?;
        let mut routes = Vec::new();
        self.receive(|msg| match msg.payload {
            NetlinkPayload::Done(_) => Ok(true),
            NetlinkPayload::Error(e) => match e.code {
                Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                None => Ok(false),
            },
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => {
                routes.push(r);
                Ok(false)
            }
            _ => Ok(false),
        })?;
        Ok(routes)
    }

    /// Reads datagrams and hands `each` their messages, until it says it
    /// has seen the last one.
    fn receive(
        &mut self,
        mut each: impl FnMut(NetlinkMessage<RouteNetlinkMessage>) -> io::Result<bool>,
    ) -> io::Result<()> {
        loop {
            self.buf.clear();
            let n = self.socket.recv(&mut self.buf, 0)?;
            for msg in messages(&self.buf[..n]) {
                if each(msg?)? {
                    return Ok(());
                }
            }
        }
    }
}

/// The messages of a datagram, in order.
pub fn messages(
    mut at: &[u8],
) -> impl Iterator<Item = io::Result<NetlinkMessage<RouteNetlinkMessage>>> + '_ {
    std::iter::from_fn(move || {
        if at.is_empty() {
            return None;
        }
        let next = message_len(at).and_then(|len| {
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&at[..len])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
            at = &at[len..];
            msg
        });
        if next.is_err() {
            at = &[];
        }
        Some(next)
    })
}

/// A dumped route, if it is ours (protocol `bgp` in `table`).
fn ours(r: &RouteMessage, table: u32) -> Option<FibRoute> {
    if r.header.protocol != RouteProtocol::Bgp {
        return None;
    }
    let p = parse(r)?;
    (p.table == table).then_some(FibRoute {
        prefix: p.prefix,
        gateways: p.gateways,
    })
}

/// The length of the netlink message at the start of `octets` (its
/// header's, aligned to 4), checked against what is there.
fn message_len(octets: &[u8]) -> io::Result<usize> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "truncated netlink message");
    let head: [u8; 4] = octets
        .get(..4)
        .ok_or_else(bad)?
        .try_into()
        .map_err(|_| bad())?;
    let len = u32::from_ne_bytes(head) as usize;
    let aligned = (len + 3) & !3;
    if len < 16 || len > octets.len() {
        return Err(bad());
    }
    Ok(aligned.min(octets.len()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use std::process::Command;

    /// A network namespace with an interface on 198.18.0.1/24,
    /// deleted on drop.
    struct Namespace(String);

    impl Namespace {
        fn new() -> Namespace {
            let name = format!("reflex-fib-{}", std::process::id());
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
            let ip = |args: &[&str]| {
                let ok = Command::new("ip").args(args).status().unwrap().success();
                assert!(ok, "ip {args:?}");
            };
            ip(&["netns", "add", &name]);
            let ns = Namespace(name.clone());
            // A veth pair, both ends inside (no dummy module here).
            ip(&[
                "-n", &name, "link", "add", "v0", "type", "veth", "peer", "name", "v1",
            ]);
            ip(&["-n", &name, "addr", "add", "198.18.0.1/24", "dev", "v0"]);
            ip(&["-n", &name, "link", "set", "v0", "up"]);
            ip(&["-n", &name, "link", "set", "v1", "up"]);
            ns
        }

        fn routes(&self, table: u32) -> Vec<String> {
            let out = Command::new("ip")
                .args([
                    "-n",
                    &self.0,
                    "route",
                    "show",
                    "table",
                    &table.to_string(),
                    "proto",
                    "bgp",
                ])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from)
                .collect()
        }

        /// Runs `f` on a thread inside the namespace.
        fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
            let path = format!("/var/run/netns/{}", self.0);
            std::thread::spawn(move || {
                let fd = std::fs::File::open(path).unwrap();
                rustix::thread::move_into_link_name_space(
                    std::os::fd::AsFd::as_fd(&fd),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .unwrap();
                f()
            })
            .join()
            .unwrap()
        }
    }

    impl Drop for Namespace {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }

    fn available() -> bool {
        rustix::process::geteuid().is_root()
    }

    #[test]
    fn a_batch_installs_and_removes_routes_and_errors_name_their_prefix() {
        if !available() {
            eprintln!("skipped: needs root for a network namespace");
            return;
        }
        let ns = Namespace::new();
        let target = Target {
            table: 1000,
            metric: 20,
        };
        let gw: IpAddr = "198.18.0.2".parse().unwrap();
        let changes: Vec<(Prefix, Change)> = (0..10_000u32)
            .map(|i| {
                let p: Prefix = format!("198.19.{}.{}/32", i >> 8, i & 0xff)
                    .parse()
                    .unwrap();
                (
                    p,
                    Some(FibRoute {
                        prefix: p,
                        gateways: vec![gw],
                    }),
                )
            })
            .collect();
        let unreachable: Prefix = "198.19.0.0/24".parse().unwrap();
        let mut bad = changes[..1].to_vec();
        bad.push((
            unreachable,
            Some(FibRoute {
                prefix: unreachable,
                gateways: vec!["198.19.255.1".parse().unwrap()],
            }),
        ));
        let deletions: Vec<(Prefix, Change)> =
            changes[..5_000].iter().map(|(p, _)| (*p, None)).collect();
        // Not ours (protocol boot): never dumped as ours, never touched.
        let status = Command::new("ip")
            .args([
                "-n",
                &ns.0,
                "route",
                "add",
                "198.19.200.0/24",
                "via",
                "198.18.0.2",
                "table",
                "1000",
            ])
            .status()
            .unwrap();
        assert!(status.success());
        let all = changes.clone();
        let (first, second, third, dumped, other_table) = ns.run(move || {
            let mut s = FibSocket::open().unwrap();
            let first = s.write(&all, target).unwrap();
            let second = s.write(&bad, target).unwrap();
            let third = s.write(&deletions, target).unwrap();
            // What a restart reads back: ours, in our table only.
            let dumped = s.dump(1000).unwrap();
            let other_table = s.dump(1001).unwrap();
            (first, second, third, dumped, other_table)
        });
        assert_eq!(dumped.len(), 5_000);
        assert!(other_table.is_empty());
        assert_eq!(dumped[0].gateways, vec![gw]);
        let wanted: std::collections::BTreeSet<Prefix> =
            changes[5_000..].iter().map(|(p, _)| *p).collect();
        assert!(dumped.iter().all(|r| wanted.contains(&r.prefix)));
        assert_eq!(first, vec![]);
        // The kernel refuses a gateway it cannot reach; the rest of the
        // batch (a replace of an existing route) goes through.
        assert_eq!(
            second,
            vec![Refused {
                prefix: unreachable,
                errno: 101, // ENETUNREACH
            }]
        );
        assert_eq!(third, vec![]);
        let routes = ns.routes(1000);
        assert_eq!(routes.len(), 5_000, "{:?}", &routes[..3.min(routes.len())]);
        assert!(
            routes[0].contains("via 198.18.0.2") && routes[0].contains("metric 20"),
            "{}",
            routes[0]
        );
        let other = Command::new("ip")
            .args([
                "-n",
                &ns.0,
                "route",
                "show",
                "table",
                "1000",
                "198.19.200.0/24",
            ])
            .output()
            .unwrap();
        assert!(
            !other.stdout.is_empty(),
            "the route that is not ours is gone"
        );
    }
}
