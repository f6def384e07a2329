//! The BGP finite state machine (RFC 4271 §8) as a pure state machine: time
//! is an input, the transport is events, outputs are polled. See
//! [`session::Session`].

pub mod collision;
pub mod config;
pub mod event;
pub mod mrai;
pub mod negotiate;
pub mod session;
pub mod timer;

pub use config::SessionConfig;
pub use event::{AdminEvent, DownReason, Event, State, TcpEvent};
pub use negotiate::{
    MAX_LONG_LIVED_STALE_TIME, Negotiated, PeerGracefulRestart, local_open, negotiate,
};
pub use session::Session;
pub use timer::Timer;
