//! What goes into a session and what comes out of it.

use super::negotiate::Negotiated;
use crate::wire::{Notification, RouteRefresh, Update};
use std::time::Duration;

/// The six states of RFC 4271 §8.2.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

/// Administrative events (§8.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminEvent {
    /// ManualStart / AutomaticStart; passive when the configuration says so.
    Start,
    /// ManualStop: the NOTIFICATION to send if a session is up (a Cease
    /// with an RFC 9003 message, typically); Administrative Shutdown if `None`.
    Stop(Option<Notification>),
    /// §8.1.2 Event 8 AutomaticStop: the speaker itself ends the session
    /// (RFC 4271 names the maximum prefix limit as the example), with
    /// `cease` (RFC 4486 §4: Cease / Maximum Number of Prefixes Reached).
    /// The session stays Idle, refusing connections, for `idle_for`
    /// exactly (no IdleHold back-off), then starts again; `None`: until
    /// the next `Start`.
    AutomaticStop {
        cease: Notification,
        idle_for: Option<Duration>,
    },
    /// ManualStop that the peer is to take as a restart of ours, so that it
    /// keeps our routes (RFC 4724 §4.2) while this speaker restarts or
    /// another member of its cluster takes the session over: with the N
    /// bit negotiated, Cease / Administrative Reset carrying `message`
    /// (RFC 8538 §4, RFC 9003); else, to a peer that announced graceful
    /// restart, the connection closed with no NOTIFICATION; else Cease /
    /// Administrative Shutdown with `message` (the peer drops our routes:
    /// nothing else is possible).
    StopGracefully { message: String },
}

/// Transport events (§8.1.3), reported by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpEvent {
    /// Our connection attempt succeeded, or an incoming one was accepted.
    Connected,
    /// The connection attempt failed.
    Failed,
    /// An established connection closed.
    Closed,
}

/// Why a session went down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// We sent this NOTIFICATION (an error of the peer's, or a Cease).
    NotificationSent(Notification),
    NotificationReceived(Notification),
    ConnectionClosed,
    ConnectionFailed,
    /// ManualStop, with the NOTIFICATION sent.
    AdminStop(Notification),
    /// [`AdminEvent::StopGracefully`]: our restart, not the peer's.
    GracefulStop,
}

/// Outputs for the driver, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Open a TCP connection to the peer.
    Connect,
    /// Close the connection once what `poll_transmit` gave is written.
    Disconnect,
    StateChanged {
        from: State,
        to: State,
    },
    /// The session reached Established.
    Established(Box<Negotiated>),
    /// The session left Established or failed to get there.
    Down(DownReason),
    /// An UPDATE to hand to the Adj-RIB-In (check `Update::issues` and
    /// `Update::action` for RFC 7606 treat-as-withdraw).
    Update(Box<Update>),
    RouteRefresh(RouteRefresh),
    /// A message of ours could not be encoded (a field too long for its
    /// length, a message longer than the peer accepts): not sent.
    NotSent(crate::wire::EncodeError),
}
