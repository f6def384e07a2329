//! One peer connection's finite state machine (RFC 4271 §8), without I/O.
//!
//! Inputs carry the time (`handle_admin`, `handle_tcp`, `handle_data`,
//! `handle_message`, `handle_timeout`); outputs are polled:
//! `poll_transmit` (encoded messages to write), `poll_event` (what the
//! driver or the RIB must do), `poll_timeout` (the earliest deadline). After
//! every input the driver drains `poll_transmit` and `poll_event`, then
//! re-arms its one timer from `poll_timeout`.

use super::config::SessionConfig;
use super::event::{AdminEvent, DownReason, Event, State, TcpEvent};
use super::negotiate::{Negotiated, local_open, negotiate};
use super::timer::{Timer, TimerTable};
use crate::wire::error::DecodeError;
use crate::wire::notification::{code, subcode};
use crate::wire::{AttrInterner, CodecContext, Family, Message, Notification, Open};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Attribute sets a session's interner keeps before it drops those nothing
/// else holds: the RIB keeps its own (decoded from the log), so the
/// session's are needed only while its commands are on their way.
const SESSION_INTERNER: usize = 4096;

pub struct Session {
    config: SessionConfig,
    local_open: Open,
    state: State,
    timers: TimerTable,
    negotiated: Option<Negotiated>,
    /// The peer's RFC 4724 restart time from its last OPEN: kept after the
    /// session drops, which is when it matters.
    peer_restart_time: Option<Duration>,
    /// RFC 9494: the families the peer's routes are kept for as
    /// LLGR_STALE after its restart time, and how long; kept like it.
    peer_long_lived: Vec<(Family, Duration)>,
    /// Whether the last session negotiated the N bit (RFC 8538): kept, like
    /// the restart time, for after it drops.
    graceful_notification: bool,
    /// The session is administratively up: restart automatically after IdleHold.
    admin_up: bool,
    /// Consecutive failures, for IdleHold back-off (DampPeerOscillations).
    failures: u32,
    established_at: Option<Instant>,
    rng: u64,
    interner: AttrInterner,
    transmit: VecDeque<Bytes>,
    events: VecDeque<Event>,
}

impl Session {
    pub fn new(config: SessionConfig) -> Session {
        let local_open = local_open(&config);
        let rng = config.jitter_seed | 1;
        Session {
            config,
            local_open,
            state: State::Idle,
            timers: TimerTable::default(),
            negotiated: None,
            peer_restart_time: None,
            peer_long_lived: Vec::new(),
            graceful_notification: false,
            admin_up: false,
            failures: 0,
            established_at: None,
            rng,
            interner: AttrInterner::with_limit(SESSION_INTERNER),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // --- getters ---

    pub fn state(&self) -> State {
        self.state
    }

    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// How long the peer's routes are kept, stale, after its session went
    /// down for `reason` (None: they go now). RFC 4724 §4.2: the connection
    /// dropped without a NOTIFICATION and the peer announced graceful
    /// restart. RFC 8538 §4: with the N bit negotiated, also any
    /// NOTIFICATION sent or received other than Hard Reset. Our own
    /// graceful stop keeps them too (we are the one restarting).
    pub fn keeps_routes_after(&self, reason: &DownReason) -> Option<Duration> {
        let t = self.peer_restart_time?;
        let keep = match reason {
            DownReason::ConnectionClosed | DownReason::GracefulStop => true,
            DownReason::NotificationSent(n)
            | DownReason::NotificationReceived(n)
            | DownReason::AdminStop(n) => self.graceful_notification && !n.is_hard_reset(),
            DownReason::ConnectionFailed => false,
        };
        keep.then_some(t)
    }

    /// `n` as a stop that must not leave our routes with the peer: a Hard
    /// Reset carrying it when the session negotiated the N bit (RFC 8538
    /// §3), else `n` itself.
    pub fn hard(&self, n: Notification) -> Notification {
        if self
            .negotiated
            .as_ref()
            .is_some_and(|x| x.graceful_notification)
        {
            Notification::hard_reset(&n)
        } else {
            n
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Whether the timer is armed (for tests and diagnostics).
    pub fn timer(&self, t: Timer) -> Option<Instant> {
        self.timers.get(t)
    }

    // --- outputs ---

    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.pop_front()
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // --- inputs ---

    pub fn handle_admin(&mut self, now: Instant, ev: AdminEvent) {
        match ev {
            AdminEvent::Start => {
                self.admin_up = true;
                if self.state == State::Idle {
                    self.timers.stop(Timer::IdleHold);
                    self.start_connecting(now);
                }
            }
            AdminEvent::Stop(n) => {
                self.admin_up = false;
                self.failures = 0;
                let notify = match self.state {
                    State::OpenSent | State::OpenConfirm | State::Established => {
                        Some(n.unwrap_or_else(|| {
                            Notification::new(
                                code::CEASE,
                                subcode::cease::ADMINISTRATIVE_SHUTDOWN,
                                Bytes::new(),
                            )
                        }))
                    }
                    _ => None,
                };
                if self.state != State::Idle {
                    let reason = match &notify {
                        Some(n) => DownReason::AdminStop(n.clone()),
                        None => DownReason::ConnectionClosed,
                    };
                    self.go_idle(now, reason, notify, false);
                }
                self.timers.stop_all();
            }
            AdminEvent::StopGracefully { message } => {
                self.admin_up = false;
                self.failures = 0;
                if self.state == State::Idle {
                    self.timers.stop_all();
                    return;
                }
                let cease = |sub| Some(Notification::cease_with_message(sub, &message));
                let notify = match self.state {
                    State::OpenSent | State::OpenConfirm | State::Established => {
                        match &self.negotiated {
                            Some(n) if n.graceful_notification => {
                                cease(subcode::cease::ADMINISTRATIVE_RESET)
                            }
                            Some(n) if n.peer_graceful_restart.is_some() => None,
                            _ => cease(subcode::cease::ADMINISTRATIVE_SHUTDOWN),
                        }
                    }
                    _ => None,
                };
                self.go_idle(now, DownReason::GracefulStop, notify, false);
                self.timers.stop_all();
            }
            AdminEvent::AutomaticStop { cease, idle_for } => {
                if !matches!(
                    self.state,
                    State::OpenSent | State::OpenConfirm | State::Established
                ) {
                    return;
                }
                // What the peer sent after the message that made us stop
                // is moot: the session it came on is gone, and with a
                // NOTIFICATION sent its routes go too (no graceful restart).
                self.events
                    .retain(|e| !matches!(e, Event::Update(_) | Event::RouteRefresh(_)));
                let reason = DownReason::NotificationSent(cease.clone());
                self.go_idle(now, reason, Some(cease), false);
                // §8.2.2 leaves damping optional here: the wait is the one
                // configured (FRR's `maximum-prefix N restart M`), so the
                // operator knows when the peer is tried again.
                if let Some(d) = idle_for.filter(|_| self.admin_up) {
                    self.timers.set(Timer::IdleHold, now + d);
                }
            }
        }
    }

    pub fn handle_tcp(&mut self, now: Instant, ev: TcpEvent) {
        match (self.state, ev) {
            (State::Connect | State::Active, TcpEvent::Connected) => {
                self.timers.stop(Timer::ConnectRetry);
                match self.config.delay_open {
                    Some(d) => self.timers.set(Timer::DelayOpen, now + d),
                    None => self.send_open(now),
                }
            }
            // §8.2.2 Idle refuses connections; other states have one already
            // (a second connection is the collision case, decided above us).
            (_, TcpEvent::Connected) => self.events.push_back(Event::Disconnect),
            // A connection attempt that fails leaves us waiting in Active:
            // listening, with ConnectRetry armed. (§8.2.2 sends Connect to
            // Idle here; IdleHold back-off is for sessions that flap, and a
            // peer that only connects out must find us listening: BIRD, FRR
            // and GoBGP do the same.)
            (State::Connect | State::Active, TcpEvent::Failed | TcpEvent::Closed) => {
                self.timers.stop(Timer::DelayOpen);
                self.events.push_back(Event::Disconnect);
                if !self.timers.is_running(Timer::ConnectRetry) {
                    self.restart_connect_retry(now);
                }
                self.set_state(State::Active);
            }
            (State::OpenSent, TcpEvent::Failed | TcpEvent::Closed) => {
                // §8.2.2 OpenSent: back to Active, waiting for a connection.
                self.events.push_back(Event::Disconnect);
                self.timers.stop_all();
                self.restart_connect_retry(now);
                self.set_state(State::Active);
            }
            (State::OpenConfirm | State::Established, TcpEvent::Failed | TcpEvent::Closed) => {
                self.go_idle(now, DownReason::ConnectionClosed, None, true);
            }
            (State::Idle, _) => {}
        }
    }

    /// Decodes every whole message at the front of `buf` and handles it.
    pub fn handle_data(&mut self, now: Instant, buf: &mut BytesMut) {
        loop {
            if matches!(self.state, State::Idle) {
                buf.clear();
                return;
            }
            let ctx = self.receive_context();
            match Message::decode_from(buf, &ctx, Some(&mut self.interner)) {
                Ok(Some(m)) => self.handle_message(now, m),
                Ok(None) => return,
                Err(e) => {
                    self.decode_error(now, &e);
                    buf.clear();
                    return;
                }
            }
        }
    }

    pub fn handle_message(&mut self, now: Instant, m: Message) {
        match (self.state, m) {
            (State::Idle, _) => {}
            (_, Message::Notification(n)) => {
                self.go_idle(now, DownReason::NotificationReceived(n), None, true);
            }
            (State::Connect | State::Active, Message::Open(o))
                if self.timers.is_running(Timer::DelayOpen) =>
            {
                // §8.2.2: OPEN while DelayOpen runs: answer with OPEN and KEEPALIVE.
                self.timers.stop(Timer::DelayOpen);
                let local = self.local_open.clone();
                self.send(&Message::Open(local));
                self.accept_open(now, o);
            }
            (State::Connect | State::Active, _) => {
                self.go_idle(now, DownReason::ConnectionClosed, None, true);
            }
            (State::OpenSent, Message::Open(o)) => self.accept_open(now, o),
            (State::OpenSent, _) => self.fsm_error(now, subcode::fsm::UNEXPECTED_IN_OPEN_SENT),
            (State::OpenConfirm, Message::Keepalive) => {
                self.restart_hold(now);
                self.established_at = Some(now);
                self.set_state(State::Established);
                // RFC 4724 §3: the Restart State is for the first session
                // after the restart; later ones are ordinary.
                if self.config.restarting {
                    self.config.restarting = false;
                    self.local_open = local_open(&self.config);
                }
                if let Some(n) = self.negotiated.clone() {
                    self.events.push_back(Event::Established(Box::new(n)));
                }
            }
            (State::OpenConfirm, _) => {
                self.fsm_error(now, subcode::fsm::UNEXPECTED_IN_OPEN_CONFIRM)
            }
            (State::Established, Message::Keepalive) => self.restart_hold(now),
            (State::Established, Message::Update(u)) => {
                self.restart_hold(now);
                self.events.push_back(Event::Update(Box::new(u)));
            }
            (State::Established, Message::RouteRefresh(r)) => {
                self.restart_hold(now);
                self.events.push_back(Event::RouteRefresh(r));
            }
            (State::Established, Message::Open(_)) => {
                self.fsm_error(now, subcode::fsm::UNEXPECTED_IN_ESTABLISHED)
            }
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(t) = self.timers.expired(now) {
            self.on_timer(now, t);
        }
    }

    /// Queues a message for the peer (UPDATE, ROUTE-REFRESH) once Established;
    /// returns false otherwise. Sending restarts the keepalive timer (§8.2.2).
    pub fn send_message(&mut self, now: Instant, m: &Message) -> bool {
        if self.state != State::Established {
            return false;
        }
        self.send(m);
        self.restart_keepalive(now);
        true
    }

    /// Connection collision (RFC 4271 §6.8): the peer's other connection
    /// wins. Closes this one with a Cease / Connection Collision Resolution
    /// and waits in Active for the driver to hand over the winner
    /// (`handle_tcp(Connected)`). Only meaningful in OpenSent or OpenConfirm.
    pub fn yield_to_other_connection(&mut self, now: Instant) {
        if !matches!(self.state, State::OpenSent | State::OpenConfirm) {
            return;
        }
        let n = Notification::new(
            code::CEASE,
            subcode::cease::CONNECTION_COLLISION_RESOLUTION,
            Bytes::new(),
        );
        self.send(&Message::Notification(n));
        self.events.push_back(Event::Disconnect);
        self.timers.stop_all();
        self.negotiated = None;
        self.restart_connect_retry(now);
        self.set_state(State::Active);
    }

    /// The driver wrote UPDATEs it encoded itself (packed once for an update
    /// group): restarts the keepalive timer as sending one does (§8.2.2).
    pub fn updates_sent(&mut self, now: Instant) {
        if self.state == State::Established {
            self.restart_keepalive(now);
        }
    }

    // --- transitions ---

    fn on_timer(&mut self, now: Instant, t: Timer) {
        match (self.state, t) {
            (State::Idle, Timer::IdleHold) if self.admin_up => self.start_connecting(now),
            (State::Connect, Timer::ConnectRetry) => {
                // Drop the attempt and try again.
                self.events.push_back(Event::Disconnect);
                self.events.push_back(Event::Connect);
                self.restart_connect_retry(now);
            }
            (State::Active, Timer::ConnectRetry) => {
                self.events.push_back(Event::Connect);
                self.restart_connect_retry(now);
                self.set_state(State::Connect);
            }
            (State::Connect | State::Active, Timer::DelayOpen) => self.send_open(now),
            (State::OpenSent | State::OpenConfirm | State::Established, Timer::Hold) => {
                let n = Notification::new(code::HOLD_TIMER_EXPIRED, 0, Bytes::new());
                self.go_idle(now, DownReason::NotificationSent(n.clone()), Some(n), true);
            }
            (State::OpenConfirm | State::Established, Timer::Keepalive) => {
                self.send(&Message::Keepalive);
                self.restart_keepalive(now);
            }
            _ => {}
        }
    }

    fn start_connecting(&mut self, now: Instant) {
        self.restart_connect_retry(now);
        if self.config.passive {
            self.set_state(State::Active);
        } else {
            self.events.push_back(Event::Connect);
            self.set_state(State::Connect);
        }
    }

    /// RFC 9494 §4.2: once the restart time of
    /// [`Session::keeps_routes_after`] has run out, the families whose
    /// stale routes stay as LLGR_STALE, and for how long (empty: none).
    pub fn long_lived_after(&self) -> &[(Family, Duration)] {
        &self.peer_long_lived
    }

    fn send_open(&mut self, now: Instant) {
        let local = self.local_open.clone();
        self.send(&Message::Open(local));
        self.timers
            .set(Timer::Hold, now + self.config.open_hold_time);
        self.set_state(State::OpenSent);
    }

    fn accept_open(&mut self, now: Instant, peer: Open) {
        match negotiate(&self.config, &self.local_open, &peer) {
            Ok(n) => {
                // RFC 9494 §4.2: long-lived graceful restart without
                // graceful restart is a restart time of zero.
                self.peer_restart_time = n
                    .peer_graceful_restart
                    .as_ref()
                    .map(|g| g.restart_time)
                    .or_else(|| (!n.long_lived_stale.is_empty()).then_some(Duration::ZERO));
                self.peer_long_lived = n.long_lived_stale.clone();
                self.graceful_notification = n.graceful_notification;
                self.negotiated = Some(n);
                self.send(&Message::Keepalive);
                self.restart_hold(now);
                self.restart_keepalive(now);
                self.set_state(State::OpenConfirm);
            }
            Err(e) => {
                let n = DecodeError::Open(e).notification();
                self.go_idle(now, DownReason::NotificationSent(n.clone()), Some(n), true);
            }
        }
    }

    fn decode_error(&mut self, now: Instant, e: &DecodeError) {
        // AFI/SAFI disable may be done as a session reset (RFC 7606 §2):
        // this speaker resets, so a peer never half-works.
        let n = e.notification();
        self.go_idle(now, DownReason::NotificationSent(n.clone()), Some(n), true);
    }

    fn fsm_error(&mut self, now: Instant, sub: u8) {
        // RFC 6608: the subcode says in which state the message was unexpected.
        let n = Notification::new(code::FSM_ERROR, sub, Bytes::new());
        self.go_idle(now, DownReason::NotificationSent(n.clone()), Some(n), true);
    }

    /// Leaves for Idle: sends `notify`, closes, reports, and (after an error
    /// while administratively up) arms IdleHold for the automatic restart.
    fn go_idle(
        &mut self,
        now: Instant,
        reason: DownReason,
        notify: Option<Notification>,
        error: bool,
    ) {
        if let Some(n) = notify {
            self.send(&Message::Notification(n));
        }
        self.events.push_back(Event::Disconnect);
        // A session that never got past Active was never up: no Down.
        if matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        ) {
            self.events.push_back(Event::Down(reason));
        }
        self.timers.stop_all();
        self.negotiated = None;
        self.interner = AttrInterner::with_limit(SESSION_INTERNER);
        self.set_state(State::Idle);
        if error && self.admin_up {
            // A session that stayed up long enough starts the back-off afresh.
            if self
                .established_at
                .is_some_and(|t| now.saturating_duration_since(t) >= self.config.idle_hold_max)
            {
                self.failures = 0;
            }
            self.failures = self.failures.saturating_add(1);
            let wait = self
                .config
                .idle_hold
                .saturating_mul(1 << (self.failures - 1).min(16))
                .min(self.config.idle_hold_max);
            self.timers.set(Timer::IdleHold, now + wait);
        }
        self.established_at = None;
    }

    fn set_state(&mut self, to: State) {
        if to != self.state {
            self.events.push_back(Event::StateChanged {
                from: self.state,
                to,
            });
            self.state = to;
        }
    }

    fn send(&mut self, m: &Message) {
        let ctx = self
            .negotiated
            .as_ref()
            .map(Negotiated::send_context)
            .unwrap_or_default();
        match m.to_bytes(&ctx) {
            Ok(b) => self.transmit.push_back(b),
            Err(e) => self.events.push_back(Event::NotSent(e)),
        }
    }

    fn receive_context(&self) -> CodecContext {
        self.negotiated
            .as_ref()
            .map(Negotiated::receive_context)
            .unwrap_or_default()
    }

    /// RFC 4271 §10: jitter by a factor between 0.75 and 1.0.
    fn jitter(&mut self, d: Duration) -> Duration {
        // xorshift64: deterministic from the configured seed.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let f = 0.75 + 0.25 * ((self.rng >> 11) as f64 / (1u64 << 53) as f64);
        d.mul_f64(f)
    }

    fn restart_connect_retry(&mut self, now: Instant) {
        let d = self.jitter(self.config.connect_retry);
        self.timers.set(Timer::ConnectRetry, now + d);
    }

    fn restart_hold(&mut self, now: Instant) {
        match self.negotiated.as_ref().map(|n| n.hold_time) {
            Some(h) if !h.is_zero() => self.timers.set(Timer::Hold, now + h),
            _ => self.timers.stop(Timer::Hold),
        }
    }

    fn restart_keepalive(&mut self, now: Instant) {
        match self.negotiated.as_ref().map(|n| n.keepalive) {
            Some(k) if !k.is_zero() => {
                let d = self.jitter(k);
                self.timers.set(Timer::Keepalive, now + d)
            }
            _ => self.timers.stop(Timer::Keepalive),
        }
    }
}
