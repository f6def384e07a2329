//! Our OPEN, and what a pair of OPENs negotiates (RFC 4271 §4.2, §6.2;
//! RFC 5492; RFC 4760 §8; RFC 6793; RFC 7911 §4; RFC 8654; RFC 4724).

use super::config::SessionConfig;
use crate::wire::capability::{AddPathFamily, Capability, GracefulRestartFamily, LlgrFamily};
use crate::wire::error::OpenError;
use crate::wire::{CodecContext, Family, Open};
use bytes::{Bytes, BytesMut};
use std::net::Ipv4Addr;
use std::time::Duration;

/// What the peer said about graceful restart (RFC 4724 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerGracefulRestart {
    pub restart_time: Duration,
    /// The R bit: the peer has restarted.
    pub restarting: bool,
    /// Families, and whether the peer kept their forwarding state.
    pub families: Vec<(Family, bool)>,
    /// The N bit (RFC 8538 §2): the peer treats a NOTIFICATION other than
    /// Hard Reset as a graceful restart.
    pub notification: bool,
}

/// RFC 9494 §2: the most a long-lived stale time can say (24 bits).
pub const MAX_LONG_LIVED_STALE_TIME: u32 = 0x00ff_ffff;

/// RFC 4724 §3 Restart Flags, high bit first: Restart State.
pub const RESTART_STATE: u8 = 0x8;
/// RFC 8538 §2: Graceful Notification (the N bit).
pub const GRACEFUL_NOTIFICATION: u8 = 0x4;
/// RFC 4724 §3: a family's Forwarding State bit.
pub const FORWARDING_STATE: u8 = 0x80;

/// The result of negotiation: what both sides agreed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub peer_as: u32,
    pub peer_id: Ipv4Addr,
    /// The smaller of both proposals; zero means no keepalives and no hold timer.
    pub hold_time: Duration,
    pub keepalive: Duration,
    pub families: Vec<Family>,
    pub four_octet_as: bool,
    /// Families in which we send path identifiers.
    pub add_path_send: Vec<Family>,
    /// Families in which the peer sends path identifiers.
    pub add_path_receive: Vec<Family>,
    pub route_refresh: bool,
    pub enhanced_route_refresh: bool,
    pub extended_message: bool,
    pub peer_graceful_restart: Option<PeerGracefulRestart>,
    /// Both sides announced the N bit (RFC 8538): every NOTIFICATION but
    /// Hard Reset ends the session gracefully, both ways.
    pub graceful_notification: bool,
    /// Both sides announced long-lived graceful restart (RFC 9494 §4.5:
    /// only such a peer is sent routes carrying LLGR_STALE).
    pub long_lived: bool,
    /// RFC 9494 §4.2: the families whose routes the peer asks us to keep
    /// as LLGR_STALE once its restart time has run out, and for how long
    /// (its stale time, capped by ours); empty when `long_lived` is not
    /// negotiated.
    pub long_lived_stale: Vec<(Family, Duration)>,
    pub peer_hostname: Option<String>,
}

impl Negotiated {
    /// How the peer's messages are laid out.
    pub fn receive_context(&self) -> CodecContext {
        CodecContext {
            four_octet_as: self.four_octet_as,
            extended_message: self.extended_message,
            add_path: self.add_path_receive.clone(),
            mrt_rib_entry: None,
        }
    }

    /// How our messages to the peer are laid out.
    pub fn send_context(&self) -> CodecContext {
        CodecContext {
            four_octet_as: self.four_octet_as,
            extended_message: self.extended_message,
            add_path: self.add_path_send.clone(),
            mrt_rib_entry: None,
        }
    }
}

/// The OPEN we send.
pub fn local_open(c: &SessionConfig) -> Open {
    let mut caps: Vec<Capability> = c
        .families
        .iter()
        .map(|&family| Capability::Multiprotocol { family })
        .collect();
    if c.route_refresh {
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::EnhancedRouteRefresh);
    }
    caps.push(Capability::FourOctetAs { asn: c.local_as });
    if !c.add_path.is_empty() {
        let families = c
            .add_path
            .iter()
            .map(|&(family, mode)| AddPathFamily { family, mode })
            .collect();
        caps.push(Capability::AddPath { families });
    }
    if c.extended_message {
        caps.push(Capability::ExtendedMessage);
    }
    if let Some(t) = c.graceful_restart {
        let flags = if c.forwarding_preserved {
            FORWARDING_STATE
        } else {
            0
        };
        let families = c
            .families
            .iter()
            .map(|&family| GracefulRestartFamily { family, flags })
            .collect();
        let restart_state = if c.restarting { RESTART_STATE } else { 0 };
        caps.push(Capability::GracefulRestart {
            restart_flags: restart_state | GRACEFUL_NOTIFICATION,
            restart_time: t.as_secs().min(4095) as u16,
            families,
        });
        // RFC 9494 §4.1: sent with the graceful restart capability.
        if let Some(stale) = c.long_lived_stale_time {
            let families = c
                .families
                .iter()
                .map(|&family| LlgrFamily {
                    family,
                    flags,
                    stale_time: stale_seconds(stale),
                })
                .collect();
            caps.push(Capability::LongLivedGracefulRestart { families });
        }
    }
    if let Some(h) = &c.hostname {
        caps.push(Capability::Fqdn {
            hostname: Bytes::copy_from_slice(h.as_bytes()),
            domain: Bytes::new(),
        });
    }
    let hold = c.hold_time.as_secs().min(u64::from(u16::MAX)) as u16;
    Open::new(c.local_as, hold, c.router_id, caps)
}

/// A long-lived stale time in whole seconds, within its 24 bits.
fn stale_seconds(t: Duration) -> u32 {
    u32::try_from(t.as_secs()).map_or(MAX_LONG_LIVED_STALE_TIME, |s| {
        s.min(MAX_LONG_LIVED_STALE_TIME)
    })
}

fn add_path_modes(o: &Open) -> Vec<AddPathFamily> {
    o.capabilities()
        .flat_map(|c| match c {
            Capability::AddPath { families } => families.clone(),
            _ => Vec::new(),
        })
        .collect()
}

fn has(o: &Open, f: impl Fn(&Capability) -> bool) -> bool {
    o.capabilities().any(f)
}

/// Checks the peer's OPEN against the configuration and negotiates.
pub fn negotiate(c: &SessionConfig, ours: &Open, peer: &Open) -> Result<Negotiated, OpenError> {
    let peer_as = peer.asn();
    if peer_as != c.remote_as {
        return Err(OpenError::BadPeerAs { asn: peer_as });
    }
    // RFC 6286 §2.2: within an AS the identifiers must differ.
    if c.is_ibgp() && peer.bgp_identifier == c.router_id {
        return Err(OpenError::BadBgpIdentifier {
            id: peer.bgp_identifier,
        });
    }
    // RFC 4760 §8: a speaker without the capability does IPv4 unicast only.
    let peer_families: Vec<Family> = {
        let v: Vec<Family> = peer
            .capabilities()
            .filter_map(|c| match c {
                Capability::Multiprotocol { family } => Some(*family),
                _ => None,
            })
            .collect();
        if v.is_empty() {
            vec![Family::IPV4_UNICAST]
        } else {
            v
        }
    };
    let families: Vec<Family> = c
        .families
        .iter()
        .copied()
        .filter(|f| peer_families.contains(f))
        .collect();
    if families.is_empty() {
        // RFC 5492 §5: name what we needed, as our multiprotocol capabilities.
        let mut data = BytesMut::new();
        for family in &c.families {
            // Four octets of value: always fits.
            let _ = Capability::Multiprotocol { family: *family }.encode(&mut data);
        }
        return Err(OpenError::UnsupportedCapability {
            capabilities: data.freeze(),
        });
    }

    let hold = ours.hold_time.min(peer.hold_time);
    let hold_time = Duration::from_secs(u64::from(hold));
    let keepalive = if hold == 0 {
        Duration::ZERO
    } else {
        c.keepalive
            .map_or(hold_time / 3, |k| k.min(hold_time / 3))
            .max(Duration::from_secs(1))
    };

    let four_octet_as = has(peer, |c| matches!(c, Capability::FourOctetAs { .. }));
    let peer_ap = add_path_modes(peer);
    let mode_of = |v: &[AddPathFamily], f: Family| v.iter().find(|a| a.family == f).map(|a| a.mode);
    let ours_ap: Vec<AddPathFamily> = c
        .add_path
        .iter()
        .map(|&(family, mode)| AddPathFamily { family, mode })
        .collect();
    let mut add_path_send = Vec::new();
    let mut add_path_receive = Vec::new();
    for &f in &families {
        let (Some(o), Some(p)) = (mode_of(&ours_ap, f), mode_of(&peer_ap, f)) else {
            continue;
        };
        if o.send() && p.receive() {
            add_path_send.push(f);
        }
        if o.receive() && p.send() {
            add_path_receive.push(f);
        }
    }
    let both = |f: &dyn Fn(&Capability) -> bool| has(ours, f) && has(peer, f);
    let peer_graceful_restart = peer.capabilities().find_map(|cap| match cap {
        Capability::GracefulRestart {
            restart_flags,
            restart_time,
            families,
        } => Some(PeerGracefulRestart {
            restart_time: Duration::from_secs(u64::from(*restart_time)),
            restarting: restart_flags & RESTART_STATE != 0,
            families: families
                .iter()
                .map(|g| (g.family, g.flags & FORWARDING_STATE != 0))
                .collect(),
            notification: restart_flags & GRACEFUL_NOTIFICATION != 0,
        }),
        _ => None,
    });
    // We announce the N bit whenever we announce graceful restart.
    let graceful_notification = c.graceful_restart.is_some()
        && peer_graceful_restart
            .as_ref()
            .is_some_and(|g| g.notification);
    let long_lived_stale = long_lived_stale(c, ours, peer, &families);
    let long_lived = has(ours, |c| {
        matches!(c, Capability::LongLivedGracefulRestart { .. })
    }) && has(peer, |c| {
        matches!(c, Capability::LongLivedGracefulRestart { .. })
    });
    let peer_hostname = peer.capabilities().find_map(|cap| match cap {
        Capability::Fqdn { hostname, .. } => Some(String::from_utf8_lossy(hostname).into_owned()),
        _ => None,
    });
    Ok(Negotiated {
        peer_as,
        peer_id: peer.bgp_identifier,
        hold_time,
        keepalive,
        families,
        four_octet_as,
        add_path_send,
        add_path_receive,
        route_refresh: both(&|c| matches!(c, Capability::RouteRefresh)),
        enhanced_route_refresh: both(&|c| matches!(c, Capability::EnhancedRouteRefresh)),
        extended_message: both(&|c| matches!(c, Capability::ExtendedMessage)),
        peer_graceful_restart,
        graceful_notification,
        long_lived,
        long_lived_stale,
        peer_hostname,
    })
}

/// RFC 9494 §4.2: the negotiated families with a non-zero stale time in
/// the peer's capability, each with that time capped by ours (§4.3: a
/// speaker may keep stale routes for less than its peer asks). Nothing
/// unless both sides announced the capability.
fn long_lived_stale(
    c: &SessionConfig,
    ours: &Open,
    peer: &Open,
    families: &[Family],
) -> Vec<(Family, Duration)> {
    let Some(cap) = c.long_lived_stale_time else {
        return Vec::new();
    };
    if !has(ours, |c| {
        matches!(c, Capability::LongLivedGracefulRestart { .. })
    }) {
        return Vec::new();
    }
    peer.capabilities()
        .filter_map(|cap| match cap {
            Capability::LongLivedGracefulRestart { families } => Some(families),
            _ => None,
        })
        .flatten()
        .filter(|f| f.stale_time > 0 && families.contains(&f.family))
        .map(|f| {
            (
                f.family,
                Duration::from_secs(u64::from(f.stale_time)).min(cap),
            )
        })
        .collect()
}
