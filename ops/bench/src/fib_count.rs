//! Counts the routes of one kernel table as they come and go, from the
//! kernel's route notifications in a namespace: a thread reads them as
//! they are sent (a large forced receive buffer, a parse of three fields
//! per message), so the time a count is reached is known to the
//! notification, without walking the table (reading `fib_triestat` walks
//! all of it, and would slow what it measures).

use anyhow::{Context, Result};
use netlink_sys::{Socket, protocols::NETLINK_ROUTE};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const NLM_F_REPLACE: u16 = 0x100;
const RTA_TABLE: u16 = 15;
/// Forced past rmem_max (root): a full table's notifications while the
/// reader is descheduled.
const RECEIVE_BUFFER: usize = 1 << 30;

#[derive(Default)]
pub struct Counter {
    count: AtomicI64,
    /// Notifications were lost (ENOBUFS): the count is not to be trusted.
    lost: AtomicBool,
    /// When the count last reached a watched value.
    reached: Mutex<Option<(i64, Instant)>>,
    watch: AtomicI64,
}

impl Counter {
    pub fn count(&self) -> i64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// From now on, notes when the count equals `n`.
    pub fn watch(&self, n: i64) {
        if let Ok(mut r) = self.reached.lock() {
            *r = None;
        }
        self.watch.store(n, Ordering::Relaxed);
        self.check();
    }

    /// When the watched count was reached.
    pub fn reached(&self) -> Option<Instant> {
        let w = self.watch.load(Ordering::Relaxed);
        self.reached
            .lock()
            .ok()
            .and_then(|r| *r)
            .filter(|(n, _)| *n == w)
            .map(|(_, t)| t)
    }

    fn check(&self) {
        let n = self.count();
        if n == self.watch.load(Ordering::Relaxed)
            && let Ok(mut r) = self.reached.lock()
            && r.is_none()
        {
            *r = Some((n, Instant::now()));
        }
    }
}

/// Starts counting the routes of `table` in namespace `ns`; subscribed
/// when this returns.
pub fn start(ns: &str, table: u32) -> Result<Arc<Counter>> {
    let counter = Arc::new(Counter::default());
    counter.watch.store(-1, Ordering::Relaxed);
    let path = format!("/var/run/netns/{ns}");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let c = counter.clone();
    std::thread::spawn(move || {
        let socket = (|| -> Result<Socket> {
            let fd = std::fs::File::open(&path).with_context(|| path.clone())?;
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&fd),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )?;
            let mut s = Socket::new(NETLINK_ROUTE)?;
            s.bind_auto()?;
            rustix::net::sockopt::set_socket_recv_buffer_size_force(&s, RECEIVE_BUFFER)?;
            s.add_membership(RTNLGRP_IPV4_ROUTE)?;
            Ok(s)
        })();
        let socket = match socket {
            Ok(s) => {
                let _ = ready_tx.send(Ok(()));
                s
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        let mut buf = Vec::with_capacity(1 << 20);
        loop {
            buf.clear();
            match socket.recv(&mut buf, 0) {
                Ok(n) => {
                    let delta = count_datagram(&buf[..n], table);
                    if delta != 0 {
                        c.count.fetch_add(delta, Ordering::Relaxed);
                        c.check();
                    }
                }
                Err(e) if e.raw_os_error() == Some(105) => c.lost.store(true, Ordering::Relaxed),
                Err(_) => return,
            }
        }
    });
    ready_rx
        .recv()
        .context("the route counter did not start")??;
    Ok(counter)
}

/// Routes of `table` added minus removed by the messages of a datagram.
fn count_datagram(mut at: &[u8], table: u32) -> i64 {
    let mut delta = 0;
    while at.len() >= 16 {
        let len = u32::from_ne_bytes([at[0], at[1], at[2], at[3]]) as usize;
        if len < 16 || len > at.len() {
            break;
        }
        let kind = u16::from_ne_bytes([at[4], at[5]]);
        let flags = u16::from_ne_bytes([at[6], at[7]]);
        let body = &at[16..len];
        if (kind == RTM_NEWROUTE || kind == RTM_DELROUTE) && route_table(body) == Some(table) {
            match kind {
                RTM_NEWROUTE if flags & NLM_F_REPLACE == 0 => delta += 1,
                RTM_DELROUTE => delta -= 1,
                _ => {}
            }
        }
        at = &at[((len + 3) & !3).min(at.len())..];
    }
    delta
}

/// The table of a route message body (rtmsg, then attributes).
fn route_table(body: &[u8]) -> Option<u32> {
    let mut table = u32::from(*body.get(4)?);
    let mut attrs = body.get(12..)?;
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]);
        if len < 4 || len > attrs.len() {
            break;
        }
        if kind == RTA_TABLE && len >= 8 {
            table = u32::from_ne_bytes([attrs[4], attrs[5], attrs[6], attrs[7]]);
        }
        attrs = &attrs[((len + 3) & !3).min(attrs.len())..];
    }
    Some(table)
}
