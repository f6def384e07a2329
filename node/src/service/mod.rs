//! Service addresses: an address that follows a neighbour's session
//! through the cluster, so that a client configured with one reflector
//! address still gets takeover (issue 16). The member that runs the
//! session holds the address on its interface and announces it to the
//! LAN (gratuitous ARP, unsolicited Neighbor Advertisement); the member
//! that stops running it lets it go once the session's close is out.
//! A member starting up lets go of every service address it is
//! configured with (what a kill left behind) before any session starts.

mod address;
mod frame;

use crate::config::ServiceAddress;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How long a service address stays after its session stopped here: the
/// session's NOTIFICATION and close leave from it.
pub const RELEASE_AFTER: Duration = Duration::from_secs(1);

/// What [`Book::sweep`] lets go of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// What was released [`RELEASE_AFTER`] ago or more.
    Due,
    /// Everything released, at once: a member cut off from the majority,
    /// whose sessions another member takes over (and the address with
    /// them) a few hundred milliseconds after it closed them.
    Released,
    /// Everything, held or released: the member stops.
    All,
}

/// Announcements sent per takeover, a second apart: a host ignores an
/// update of an entry it changed within its `locktime` (1 s on Linux).
const ANNOUNCEMENTS: u32 = 3;
const ANNOUNCE_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no interface named `{0}` on this host (service-interface)")]
    NoInterface(String),
    #[error(
        "cannot add service address {address}/{len} to {interface}: {source} (it needs CAP_NET_ADMIN)"
    )]
    Add {
        address: IpAddr,
        len: u8,
        interface: String,
        source: std::io::Error,
    },
    #[error("cannot remove service address {address}/{len} from {interface}: {source}")]
    Remove {
        address: IpAddr,
        len: u8,
        interface: String,
        source: std::io::Error,
    },
}

/// The interface `name`: its index and MAC address.
fn interface(name: &str) -> Result<pnet_datalink::NetworkInterface, ServiceError> {
    pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| ServiceError::NoInterface(name.to_string()))
}

/// Adds `s` to its interface and announces it (in the background);
/// whether it was added (`false`: it was there).
fn add(s: &ServiceAddress) -> Result<bool, ServiceError> {
    let iface = interface(&s.interface)?;
    let added =
        address::add(iface.index, s.address, s.prefix_len).map_err(|source| ServiceError::Add {
            address: s.address,
            len: s.prefix_len,
            interface: s.interface.clone(),
            source,
        })?;
    announce(iface, s.address);
    Ok(added)
}

/// Removes `s` from its interface; whether it was there.
pub fn remove(s: &ServiceAddress) -> Result<bool, ServiceError> {
    let iface = interface(&s.interface)?;
    address::remove(iface.index, s.address, s.prefix_len).map_err(|source| ServiceError::Remove {
        address: s.address,
        len: s.prefix_len,
        interface: s.interface.clone(),
        source,
    })
}

/// Tells the LAN that `address` is at `iface`'s MAC, [`ANNOUNCEMENTS`]
/// times, from a thread of its own (it sleeps between them).
fn announce(iface: pnet_datalink::NetworkInterface, address: IpAddr) {
    let Some(mac) = iface.mac else {
        // No link-layer address (a tunnel, loopback): nothing to tell.
        return;
    };
    let frame = frame::announcement(address, mac.octets());
    let spawned = std::thread::Builder::new()
        .name("announce".into())
        .spawn(move || {
            let mut tx = match pnet_datalink::channel(&iface, pnet_datalink::Config::default()) {
                Ok(pnet_datalink::Channel::Ethernet(tx, _)) => tx,
                Ok(_) => return,
                Err(e) => {
                    warn!(%address, interface = %iface.name, error = %e, "cannot announce the service address (it needs CAP_NET_RAW): hosts learn it when their cache entry expires");
                    return;
                }
            };
            for i in 0..ANNOUNCEMENTS {
                if i > 0 {
                    std::thread::sleep(ANNOUNCE_EVERY);
                }
                if let Some(Err(e)) = tx.send_to(&frame, None) {
                    warn!(%address, interface = %iface.name, error = %e, "cannot announce the service address");
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        warn!(%address, error = %e, "cannot announce the service address");
    }
}

/// The service addresses this member holds, and those to let go.
#[derive(Default)]
pub struct Book {
    /// By address: the service address, and since when its session no
    /// longer runs here (`None`: it runs).
    held: Mutex<HashMap<IpAddr, (ServiceAddress, Option<Instant>)>>,
}

impl Book {
    fn held(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (ServiceAddress, Option<Instant>)>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds `s` for a session starting here: added and announced unless
    /// held already (a release called off is announced again).
    pub fn hold(&self, s: &ServiceAddress) -> Result<(), ServiceError> {
        let mut held = self.held();
        if let Some((_, released)) = held.get_mut(&s.address)
            && released.take().is_none()
        {
            return Ok(());
        }
        let added = add(s)?;
        info!(address = %s.address, len = s.prefix_len, interface = %s.interface, added, "holding the service address");
        held.insert(s.address, (s.clone(), None));
        Ok(())
    }

    /// The session using `s` stopped here: `s` goes after
    /// [`RELEASE_AFTER`] ([`Book::sweep`]) unless a session holds it again.
    pub fn release_later(&self, s: &ServiceAddress) {
        if let Some((_, released)) = self.held().get_mut(&s.address) {
            released.get_or_insert_with(Instant::now);
        }
    }

    /// Lets go of what `what` says.
    pub fn sweep(&self, what: Sweep) {
        let due: Vec<ServiceAddress> = {
            let mut held = self.held();
            let due: Vec<IpAddr> = held
                .iter()
                .filter(|(_, (_, r))| match what {
                    Sweep::Due => r.is_some_and(|t| t.elapsed() >= RELEASE_AFTER),
                    Sweep::Released => r.is_some(),
                    Sweep::All => true,
                })
                .map(|(a, _)| *a)
                .collect();
            due.iter()
                .filter_map(|a| held.remove(a))
                .map(|(s, _)| s)
                .collect()
        };
        for s in due {
            match remove(&s) {
                Ok(_) => {
                    info!(address = %s.address, interface = %s.interface, "service address let go")
                }
                Err(e) => warn!(error = %e, "cannot let the service address go"),
            }
        }
    }
}

/// Lets go of the service addresses `configured`, at start: a member
/// killed left its addresses on the interface, and another member may
/// hold them now.
pub fn release_at_start<'a>(configured: impl IntoIterator<Item = &'a ServiceAddress>) {
    for s in configured {
        match remove(s) {
            Ok(true) => {
                info!(address = %s.address, interface = %s.interface, "service address left from before: let go")
            }
            Ok(false) => {}
            Err(e) => warn!(error = %e, "cannot let go of a service address left from before"),
        }
    }
}
