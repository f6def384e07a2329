//! The FIB of the border role: best paths from the Loc-RIB into a kernel
//! routing table through rtnetlink, next hops resolved in the kernel's
//! own routes.
//!
//! - `feed`: in the RIB's apply, each changed destination's BGP next hops
//!   (ECMP: all the equal paths') into the `inbox`, latest state per
//!   prefix, never blocking;
//! - `programmer`: a thread that resolves them (`kernel`), writes what
//!   differs from the kernel's table (`encode`, `socket`: many requests a
//!   datagram, errors matched to prefixes), and after a restart keeps a
//!   previous run's routes until every neighbour is back, then sweeps;
//! - `monitor`: a thread that follows the kernel's routes and links, for
//!   re-resolution by the programmer and the RIB's decision.

pub mod encode;
pub mod feed;
pub mod inbox;
pub mod kernel;
pub mod monitor;
pub mod programmer;
pub mod queue;
pub mod socket;

use anyhow::Context as _;
use encode::Target;
use feed::FibFeed;
use inbox::FibInbox;
use kernel::SharedKernel;
use monitor::Monitor;
use programmer::Programmer;
use socket::FibSocket;
use speaker::wire::Prefix;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{error, info};

/// A route as the kernel is to hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FibRoute {
    pub prefix: Prefix,
    /// Gateways, one for a plain route, more for ECMP (RTA_MULTIPATH).
    pub gateways: Vec<IpAddr>,
}

/// What a prefix should become in the kernel: a route, or nothing.
pub type Change = Option<FibRoute>;

/// Next hops or gateways of one route: inline when one (nearly every
/// route), so a full table's maps hold no allocation per route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hops {
    One(IpAddr),
    Many(Box<[IpAddr]>),
}

impl Hops {
    /// `None` when empty.
    pub fn of(v: Vec<IpAddr>) -> Option<Hops> {
        match v.as_slice() {
            [] => None,
            [one] => Some(Hops::One(*one)),
            _ => Some(Hops::Many(v.into_boxed_slice())),
        }
    }

    pub fn as_slice(&self) -> &[IpAddr] {
        match self {
            Hops::One(a) => std::slice::from_ref(a),
            Hops::Many(v) => v,
        }
    }

    /// The same addresses, whatever their order (the kernel gives a
    /// multipath route's back in its own).
    pub fn same(&self, other: &[IpAddr]) -> bool {
        let mine = self.as_slice();
        mine.len() == other.len() && mine.iter().all(|a| other.contains(a))
    }
}

/// How the border programs the kernel (`[fib]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FibSpec {
    pub target: Target,
    pub multipath: u16,
    pub retain_on_shutdown: bool,
    pub sweep_timeout: Duration,
    pub resolve_via_default: bool,
}

/// Counters of the programmer (logged; the operator surface's metrics
/// read them).
#[derive(Debug, Default)]
pub struct FibStats {
    /// Our routes in the kernel.
    pub installed: AtomicU64,
    /// Requests the kernel refused (each retried).
    pub errors: AtomicU64,
}

/// A running FIB.
pub struct Fib {
    pub kernel: SharedKernel,
    pub inbox: Arc<FibInbox>,
    pub feed: Arc<Mutex<FibFeed>>,
    pub stats: Arc<FibStats>,
    programmer: Option<JoinHandle<()>>,
}

impl Fib {
    /// Reads the kernel's routes and starts the monitor and the programmer
    /// (which reads what a previous run left). Before the RIB: its
    /// decision resolves next hops in this view. The receiver gets the
    /// prefixes under which the kernel's routes changed, for the RIB.
    pub fn start(spec: FibSpec) -> anyhow::Result<(Fib, mpsc::UnboundedReceiver<Vec<Prefix>>)> {
        let kernel = SharedKernel::default();
        // Subscribed before the first read: no change falls between.
        let mut monitor = Monitor::open(kernel.clone(), spec.resolve_via_default)
            .context("cannot subscribe to the kernel's route notifications")?;
        let mut dumper = FibSocket::open().context("cannot open a route netlink socket")?;
        let routes = monitor::load(&mut dumper, spec.resolve_via_default)
            .context("cannot read the kernel's routes")?;
        info!(
            routes = routes.len(),
            "kernel routes read for next-hop resolution"
        );
        *kernel.write() = routes;
        let stats = Arc::new(FibStats::default());
        let programmer = Programmer::start(dumper, spec.target, kernel.clone(), stats.clone())
            .with_context(|| format!("cannot read kernel table {}", spec.target.table))?;
        let inbox = Arc::new(FibInbox::default());
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let inbox = inbox.clone();
            std::thread::Builder::new()
                .name("fib-monitor".into())
                .spawn(move || {
                    loop {
                        match monitor.next() {
                            Ok(changed) if changed.is_empty() => {}
                            Ok(changed) => {
                                inbox.kernel_changed(changed.iter().copied());
                                if tx.send(changed).is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                error!(error = %e, "route notifications failed; retrying");
                                std::thread::sleep(Duration::from_secs(1));
                            }
                        }
                    }
                })
                .context("cannot start the route monitor")?;
        }
        let handle = {
            let inbox = inbox.clone();
            std::thread::Builder::new()
                .name("fib-programmer".into())
                .spawn(move || {
                    programmer.run(&inbox, spec.sweep_timeout, spec.retain_on_shutdown);
                })
                .context("cannot start the FIB programmer")?
        };
        Ok((
            Fib {
                kernel,
                feed: Arc::new(Mutex::new(FibFeed::new(inbox.clone()))),
                inbox,
                stats,
                programmer: Some(handle),
            },
            rx,
        ))
    }

    pub fn resolver(&self) -> speaker::rib::Resolver {
        speaker::rib::Resolver::Table(Arc::new(self.kernel.clone()))
    }

    /// Writes what is pending, removes our routes unless they are to stay,
    /// and returns.
    pub fn stop(mut self) {
        self.inbox.stop();
        if let Some(h) = self.programmer.take() {
            let _ = h.join();
        }
    }
}
