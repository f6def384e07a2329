//! The FSM of RFC 4271 §8, state by state, and a simulated pair of
//! speakers on a virtual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use speaker::fsm::collision::{Survivor, resolve};
use speaker::fsm::{
    AdminEvent, DownReason, Event, Session, SessionConfig, State, TcpEvent, Timer, local_open,
};
use speaker::wire::capability::{AddPathMode, Capability};
use speaker::wire::{CodecContext, Family, Message, Notification, Open};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

fn cfg() -> SessionConfig {
    SessionConfig::new(65000, US, 65000)
}

fn peer_cfg() -> SessionConfig {
    SessionConfig::new(65000, PEER, 65000)
}

fn s(d: u64) -> Duration {
    Duration::from_secs(d)
}

/// Drains outputs: (messages sent, events).
fn drain(x: &mut Session) -> (Vec<Message>, Vec<Event>) {
    let ctx = x.negotiated().map(|n| n.send_context()).unwrap_or_default();
    let mut msgs = Vec::new();
    while let Some(b) = x.poll_transmit() {
        msgs.push(Message::decode(b, &ctx, None).unwrap());
    }
    let mut evs = Vec::new();
    while let Some(e) = x.poll_event() {
        evs.push(e);
    }
    (msgs, evs)
}

fn sent_notification(msgs: &[Message]) -> Option<(u8, u8, Bytes)> {
    msgs.iter().find_map(|m| match m {
        Message::Notification(n) => Some((n.code, n.subcode, n.data.clone())),
        _ => None,
    })
}

fn peer_open() -> Open {
    local_open(&peer_cfg())
}

/// A session brought to OpenSent.
fn open_sent(t0: Instant) -> Session {
    let mut x = Session::new(cfg());
    x.handle_admin(t0, AdminEvent::Start);
    x.handle_tcp(t0, TcpEvent::Connected);
    drain(&mut x);
    assert_eq!(x.state(), State::OpenSent);
    x
}

fn established(t0: Instant) -> Session {
    let mut x = open_sent(t0);
    x.handle_message(t0, Message::Open(peer_open()));
    x.handle_message(t0, Message::Keepalive);
    drain(&mut x);
    assert_eq!(x.state(), State::Established);
    x
}

#[test]
fn start_active_connects_and_passive_waits() {
    let t0 = Instant::now();
    let mut x = Session::new(cfg());
    x.handle_admin(t0, AdminEvent::Start);
    let (_, evs) = drain(&mut x);
    assert_eq!(x.state(), State::Connect);
    assert!(evs.contains(&Event::Connect));
    let retry = x.timer(Timer::ConnectRetry).unwrap() - t0;
    // RFC 4271 §10: 120 s with jitter 0.75..1.0.
    assert!(retry >= s(90) && retry <= s(120), "{retry:?}");

    let mut p = Session::new(SessionConfig {
        passive: true,
        ..cfg()
    });
    p.handle_admin(t0, AdminEvent::Start);
    let (_, evs) = drain(&mut p);
    assert_eq!(p.state(), State::Active);
    assert!(!evs.contains(&Event::Connect));
}

#[test]
fn connected_sends_open_with_a_large_hold_timer() {
    let t0 = Instant::now();
    let mut x = Session::new(cfg());
    x.handle_admin(t0, AdminEvent::Start);
    x.handle_tcp(t0, TcpEvent::Connected);
    let (msgs, _) = drain(&mut x);
    assert!(
        matches!(msgs.as_slice(), [Message::Open(o)] if o.asn() == 65000 && o.bgp_identifier == US)
    );
    assert_eq!(x.state(), State::OpenSent);
    // RFC 4271 §8.2.2's suggested 4 minutes (`open_hold_time`).
    assert_eq!(x.timer(Timer::Hold), Some(t0 + s(240)));
    assert_eq!(x.timer(Timer::ConnectRetry), None);
}

#[test]
fn delay_open_waits_then_sends_open() {
    let t0 = Instant::now();
    let mut x = Session::new(SessionConfig {
        delay_open: Some(s(5)),
        ..cfg()
    });
    x.handle_admin(t0, AdminEvent::Start);
    x.handle_tcp(t0, TcpEvent::Connected);
    let (msgs, _) = drain(&mut x);
    assert!(msgs.is_empty());
    assert_eq!(x.state(), State::Connect);
    x.handle_timeout(t0 + s(5));
    let (msgs, _) = drain(&mut x);
    assert!(matches!(msgs.as_slice(), [Message::Open(_)]));
    assert_eq!(x.state(), State::OpenSent);
}

#[test]
fn open_during_delay_open_is_answered_with_open_and_keepalive() {
    let t0 = Instant::now();
    let mut x = Session::new(SessionConfig {
        delay_open: Some(s(5)),
        passive: true,
        ..cfg()
    });
    x.handle_admin(t0, AdminEvent::Start);
    x.handle_tcp(t0, TcpEvent::Connected);
    x.handle_message(t0 + s(1), Message::Open(peer_open()));
    let (msgs, _) = drain(&mut x);
    assert!(matches!(
        msgs.as_slice(),
        [Message::Open(_), Message::Keepalive]
    ));
    assert_eq!(x.state(), State::OpenConfirm);
    assert_eq!(x.timer(Timer::DelayOpen), None);
}

#[test]
fn connect_retry_expiry_retries_and_active_moves_to_connect() {
    let t0 = Instant::now();
    let mut x = Session::new(cfg());
    x.handle_admin(t0, AdminEvent::Start);
    drain(&mut x);
    x.handle_timeout(t0 + s(121));
    let (_, evs) = drain(&mut x);
    assert_eq!(&evs[..2], &[Event::Disconnect, Event::Connect]);
    assert_eq!(x.state(), State::Connect);

    let mut p = Session::new(SessionConfig {
        passive: true,
        ..cfg()
    });
    p.handle_admin(t0, AdminEvent::Start);
    p.handle_timeout(t0 + s(121));
    let (_, evs) = drain(&mut p);
    assert!(evs.contains(&Event::Connect));
    assert_eq!(p.state(), State::Connect);
}

#[test]
fn failed_connection_attempts_wait_in_active() {
    // A refused connection: keep listening (Active) until ConnectRetry.
    let t0 = Instant::now();
    let mut x = Session::new(cfg());
    x.handle_admin(t0, AdminEvent::Start);
    drain(&mut x);
    x.handle_tcp(t0, TcpEvent::Failed);
    assert_eq!(x.state(), State::Active);
    assert!(x.timer(Timer::ConnectRetry).is_some());
    assert_eq!(x.timer(Timer::IdleHold), None);
    // ...and a connection from the peer is taken.
    x.handle_tcp(t0 + s(1), TcpEvent::Connected);
    assert_eq!(x.state(), State::OpenSent);
}

#[test]
fn flapping_sessions_back_off_exponentially() {
    // DampPeerOscillations (§8.1.1): IdleHold 5 s, doubling up to 120 s,
    // each time the peer closes the session with a NOTIFICATION.
    let mut now = Instant::now();
    let mut x = Session::new(cfg());
    x.handle_admin(now, AdminEvent::Start);
    let mut waits = Vec::new();
    for _ in 0..7 {
        x.handle_tcp(now, TcpEvent::Connected);
        x.handle_message(
            now,
            Message::Notification(Notification::new(6, 5, Bytes::new())),
        );
        assert_eq!(x.state(), State::Idle);
        let at = x.timer(Timer::IdleHold).unwrap();
        waits.push((at - now).as_secs());
        now = at;
        x.handle_timeout(now);
        assert_eq!(x.state(), State::Connect);
        drain(&mut x);
    }
    assert_eq!(waits, vec![5, 10, 20, 40, 80, 120, 120]);
}

#[test]
fn good_open_negotiates_and_confirms() {
    let t0 = Instant::now();
    let mut x = open_sent(t0);
    let mut p = peer_open();
    p.hold_time = 30;
    x.handle_message(t0, Message::Open(p));
    let (msgs, _) = drain(&mut x);
    assert!(matches!(msgs.as_slice(), [Message::Keepalive]));
    assert_eq!(x.state(), State::OpenConfirm);
    let n = x.negotiated().unwrap();
    assert_eq!(n.hold_time, s(30));
    assert_eq!(n.keepalive, s(10));
    assert!(n.four_octet_as && n.route_refresh && n.enhanced_route_refresh && n.extended_message);
    assert_eq!(x.timer(Timer::Hold), Some(t0 + s(30)));
}

#[test]
fn open_errors_send_the_rfc_notification() {
    let t0 = Instant::now();
    let cases: Vec<(Open, (u8, u8))> = vec![
        (local_open(&SessionConfig::new(65001, PEER, 65000)), (2, 2)),
        (local_open(&SessionConfig::new(65000, US, 65000)), (2, 3)),
        (
            local_open(&SessionConfig {
                families: vec![Family::IPV6_UNICAST],
                ..peer_cfg()
            }),
            (2, 7),
        ),
    ];
    for (open, want) in cases {
        let mut x = open_sent(t0);
        x.handle_message(t0, Message::Open(open));
        let (msgs, evs) = drain(&mut x);
        let (c, sc, data) = sent_notification(&msgs).unwrap();
        assert_eq!((c, sc), want);
        if want == (2, 7) {
            // RFC 5492 §5: the data lists the capability we needed.
            assert_eq!(&data[..], &[1, 4, 0, 1, 0, 1]);
        }
        assert_eq!(x.state(), State::Idle);
        assert!(evs.contains(&Event::Disconnect));
        assert!(x.timer(Timer::IdleHold).is_some());
    }
}

#[test]
fn unexpected_messages_are_fsm_errors_with_the_state_subcode() {
    // RFC 6608 subcodes 1, 2, 3.
    let t0 = Instant::now();
    let mut x = open_sent(t0);
    x.handle_message(t0, Message::Keepalive);
    assert_eq!(
        sent_notification(&drain(&mut x).0).map(|n| (n.0, n.1)),
        Some((5, 1))
    );

    let mut x = open_sent(t0);
    x.handle_message(t0, Message::Open(peer_open()));
    drain(&mut x);
    let upd = Message::Update(speaker::wire::Update::end_of_rib(Family::IPV4_UNICAST));
    x.handle_message(t0, upd);
    assert_eq!(
        sent_notification(&drain(&mut x).0).map(|n| (n.0, n.1)),
        Some((5, 2))
    );

    let mut x = established(t0);
    x.handle_message(t0, Message::Open(peer_open()));
    assert_eq!(
        sent_notification(&drain(&mut x).0).map(|n| (n.0, n.1)),
        Some((5, 3))
    );
    assert_eq!(x.state(), State::Idle);
}

#[test]
fn open_sent_connection_loss_goes_back_to_active() {
    let t0 = Instant::now();
    let mut x = open_sent(t0);
    x.handle_tcp(t0, TcpEvent::Closed);
    assert_eq!(x.state(), State::Active);
    assert!(x.timer(Timer::ConnectRetry).is_some());
}

#[test]
fn hold_timer_expiry_sends_4_0_in_every_state_that_has_one() {
    let t0 = Instant::now();
    let mut x = open_sent(t0);
    x.handle_timeout(t0 + s(239));
    assert!(drain(&mut x).0.is_empty(), "expired before 240 s");
    x.handle_timeout(t0 + s(240));
    assert_eq!(
        sent_notification(&drain(&mut x).0).map(|n| (n.0, n.1)),
        Some((4, 0))
    );

    let mut x = established(t0);
    x.handle_timeout(t0 + s(90));
    let (msgs, evs) = drain(&mut x);
    assert_eq!(sent_notification(&msgs).map(|n| (n.0, n.1)), Some((4, 0)));
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Down(DownReason::NotificationSent(n)) if n.code == 4))
    );
    assert_eq!(x.state(), State::Idle);
}

#[test]
fn established_keeps_alive_and_delivers_updates() {
    let t0 = Instant::now();
    let mut x = established(t0);
    let k = x.timer(Timer::Keepalive).unwrap() - t0;
    assert!(k >= Duration::from_millis(22_500) && k <= s(30), "{k:?}");
    x.handle_timeout(t0 + k);
    assert!(matches!(drain(&mut x).0.as_slice(), [Message::Keepalive]));

    x.handle_message(
        t0 + s(60),
        Message::Update(speaker::wire::Update::end_of_rib(Family::IPV4_UNICAST)),
    );
    let (_, evs) = drain(&mut x);
    assert!(matches!(evs.as_slice(), [Event::Update(_)]));
    assert_eq!(x.timer(Timer::Hold), Some(t0 + s(150)));
}

#[test]
fn received_notification_brings_the_session_down() {
    let t0 = Instant::now();
    let mut x = established(t0);
    let cease = Notification::cease_with_message(2, "maintenance");
    x.handle_message(t0, Message::Notification(cease.clone()));
    let (msgs, evs) = drain(&mut x);
    assert!(msgs.is_empty());
    assert!(evs.contains(&Event::Down(DownReason::NotificationReceived(cease))));
    assert_eq!(x.state(), State::Idle);
}

#[test]
fn admin_stop_sends_cease_and_stays_idle() {
    let t0 = Instant::now();
    let mut x = established(t0);
    x.handle_admin(
        t0,
        AdminEvent::Stop(Some(Notification::cease_with_message(2, "bye"))),
    );
    let (msgs, evs) = drain(&mut x);
    assert_eq!(sent_notification(&msgs).map(|n| (n.0, n.1)), Some((6, 2)));
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Down(DownReason::AdminStop(n)) if n.subcode == 2))
    );
    assert_eq!(x.state(), State::Idle);
    assert_eq!(x.poll_timeout(), None);
}

#[test]
fn bad_bytes_reset_and_malformed_attributes_do_not() {
    let t0 = Instant::now();
    let mut x = established(t0);
    let mut buf = BytesMut::from(&[0u8; 19][..]);
    x.handle_data(t0, &mut buf);
    assert_eq!(
        sent_notification(&drain(&mut x).0).map(|n| (n.0, n.1)),
        Some((1, 1))
    );
    assert_eq!(x.state(), State::Idle);

    // ORIGIN 7: treat-as-withdraw (RFC 7606 §7.1), the session stays up.
    let mut x = established(t0);
    let mut body = vec![0, 0, 0, 21];
    body.extend_from_slice(&[
        0x40, 1, 1, 7, 0x40, 2, 0, 0x40, 3, 4, 198, 18, 0, 9, 0x40, 5, 4, 0, 0, 0, 100,
    ]);
    body.extend_from_slice(&[24, 198, 51, 100]);
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&body);
    let mut buf = BytesMut::from(&m[..]);
    x.handle_data(t0, &mut buf);
    let (msgs, evs) = drain(&mut x);
    assert!(msgs.is_empty());
    assert!(matches!(evs.as_slice(), [Event::Update(u)] if u.treat_as_withdraw()));
    assert_eq!(x.state(), State::Established);
}

#[test]
fn hold_time_zero_means_no_timers() {
    let t0 = Instant::now();
    let mut x = Session::new(SessionConfig {
        hold_time: Duration::ZERO,
        ..cfg()
    });
    x.handle_admin(t0, AdminEvent::Start);
    x.handle_tcp(t0, TcpEvent::Connected);
    x.handle_message(t0, Message::Open(peer_open()));
    x.handle_message(t0, Message::Keepalive);
    assert_eq!(x.state(), State::Established);
    assert_eq!(x.timer(Timer::Hold), None);
    assert_eq!(x.timer(Timer::Keepalive), None);
}

#[test]
fn idle_ignores_messages_and_refuses_connections() {
    let t0 = Instant::now();
    let mut x = Session::new(cfg());
    x.handle_message(t0, Message::Keepalive);
    x.handle_tcp(t0, TcpEvent::Connected);
    let (msgs, evs) = drain(&mut x);
    assert!(msgs.is_empty());
    assert_eq!(evs, vec![Event::Disconnect]);
    assert_eq!(x.state(), State::Idle);
}

#[test]
fn add_path_is_negotiated_per_direction() {
    let t0 = Instant::now();
    let v4 = Family::IPV4_UNICAST;
    let mut x = Session::new(SessionConfig {
        add_path: vec![(v4, AddPathMode::BOTH)],
        ..cfg()
    });
    x.handle_admin(t0, AdminEvent::Start);
    x.handle_tcp(t0, TcpEvent::Connected);
    let peer = local_open(&SessionConfig {
        add_path: vec![(v4, AddPathMode::RECEIVE)],
        ..peer_cfg()
    });
    x.handle_message(t0, Message::Open(peer));
    let n = x.negotiated().unwrap();
    assert_eq!(n.add_path_send, vec![v4]);
    assert!(n.add_path_receive.is_empty());
}

#[test]
fn a_peer_without_multiprotocol_does_ipv4_unicast() {
    let t0 = Instant::now();
    let mut x = open_sent(t0);
    let bare = Open::new(
        65000,
        90,
        PEER,
        vec![Capability::FourOctetAs { asn: 65000 }],
    );
    x.handle_message(t0, Message::Open(bare));
    assert_eq!(x.negotiated().unwrap().families, vec![Family::IPV4_UNICAST]);
}

#[test]
fn collision_keeps_the_higher_identifiers_connection() {
    assert_eq!(resolve(PEER, US), Survivor::Outgoing);
    assert_eq!(resolve(US, PEER), Survivor::Incoming);
}

/// Two sessions joined by a virtual wire, stepped on a virtual clock until idle.
struct Pair {
    a: Session,
    b: Session,
    now: Instant,
    events_a: Vec<Event>,
    events_b: Vec<Event>,
}

impl Pair {
    fn new(a: SessionConfig, b: SessionConfig) -> Pair {
        Pair {
            a: Session::new(a),
            b: Session::new(b),
            now: Instant::now(),
            events_a: vec![],
            events_b: vec![],
        }
    }

    /// Moves bytes both ways until neither side has output; returns whether anything moved.
    fn step(&mut self) -> bool {
        let mut moved = false;
        let mut ab = BytesMut::new();
        while let Some(b) = self.a.poll_transmit() {
            ab.extend_from_slice(&b);
        }
        let mut ba = BytesMut::new();
        while let Some(b) = self.b.poll_transmit() {
            ba.extend_from_slice(&b);
        }
        if !ab.is_empty() {
            self.b.handle_data(self.now, &mut ab);
            moved = true;
        }
        if !ba.is_empty() {
            self.a.handle_data(self.now, &mut ba);
            moved = true;
        }
        for (s, log) in [
            (&mut self.a, &mut self.events_a),
            (&mut self.b, &mut self.events_b),
        ] {
            while let Some(e) = s.poll_event() {
                log.push(e);
                moved = true;
            }
        }
        moved
    }

    fn drive(&mut self) {
        while self.step() {}
    }

    fn advance_to_next_timer(&mut self) {
        let next = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        self.now = next;
        self.a.handle_timeout(next);
        self.b.handle_timeout(next);
        self.drive();
    }
}

#[test]
fn a_simulated_pair_comes_up_keeps_alive_and_goes_down_cleanly() {
    let mut p = Pair::new(
        cfg(),
        SessionConfig {
            passive: true,
            ..peer_cfg()
        },
    );
    let now = p.now;
    p.a.handle_admin(now, AdminEvent::Start);
    p.b.handle_admin(now, AdminEvent::Start);
    p.drive();
    // The driver would connect now: both ends see the connection.
    p.a.handle_tcp(now, TcpEvent::Connected);
    p.b.handle_tcp(now, TcpEvent::Connected);
    p.drive();
    assert_eq!(
        (p.a.state(), p.b.state()),
        (State::Established, State::Established)
    );
    assert!(
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::Established(_)))
    );

    // An hour of virtual time: keepalives keep both hold timers from expiring.
    let end = now + s(3600);
    while p.now < end {
        p.advance_to_next_timer();
        assert_eq!(
            (p.a.state(), p.b.state()),
            (State::Established, State::Established)
        );
    }

    p.a.handle_admin(
        p.now,
        AdminEvent::Stop(Some(Notification::cease_with_message(2, "upgrade"))),
    );
    p.drive();
    assert_eq!(p.b.state(), State::Idle);
    assert!(p.events_b.iter().any(|e| matches!(e,
        Event::Down(DownReason::NotificationReceived(n)) if n.code == 6 && n.subcode == 2)));
    // b was stopped by an error of sorts: it restarts by itself after IdleHold.
    assert!(p.b.timer(Timer::IdleHold).is_some());
    let _ = CodecContext::default();
}

fn arb_input() -> impl Strategy<Value = (u8, u64, u8)> {
    (0u8..13, 0u64..400, any::<u8>())
}

proptest! {
    /// Random event sequences never panic, and negotiated state exists
    /// exactly in OpenConfirm and Established.
    #[test]
    fn random_inputs_keep_the_fsm_consistent(inputs in proptest::collection::vec(arb_input(), 1..60)) {
        let mut now = Instant::now();
        let mut x = Session::new(SessionConfig { delay_open: Some(s(3)), ..cfg() });
        for (kind, dt, byte) in inputs {
            now += Duration::from_millis(dt * 250);
            match kind {
                0 => x.handle_admin(now, AdminEvent::Start),
                1 => x.handle_admin(now, AdminEvent::Stop(None)),
                2 => x.handle_tcp(now, TcpEvent::Connected),
                3 => x.handle_tcp(now, TcpEvent::Failed),
                4 => x.handle_tcp(now, TcpEvent::Closed),
                5 => x.handle_message(now, Message::Open(peer_open())),
                6 => x.handle_message(now, Message::Keepalive),
                7 => x.handle_message(now, Message::Notification(Notification::new(6, byte, Bytes::new()))),
                8 => x.handle_message(now, Message::Update(speaker::wire::Update::end_of_rib(Family::IPV4_UNICAST))),
                9 => x.handle_timeout(now),
                10 => { let mut b = BytesMut::from(&[byte; 23][..]); x.handle_data(now, &mut b); }
                11 => x.handle_admin(now, AdminEvent::AutomaticStop {
                    cease: Notification::max_prefixes_reached(Family::IPV4_UNICAST, u32::from(byte)),
                    idle_for: (byte % 2 == 0).then(|| s(u64::from(byte))),
                }),
                _ => x.handle_timeout(now + s(300)),
            }
            let _ = drain(&mut x);
            let up = matches!(x.state(), State::OpenConfirm | State::Established);
            prop_assert_eq!(x.negotiated().is_some(), up);
            if x.state() == State::Idle {
                prop_assert!(x.timer(Timer::Hold).is_none() && x.timer(Timer::Keepalive).is_none());
            }
        }
    }
}

#[test]
fn losing_a_collision_closes_with_cease_6_7_and_takes_the_other_connection() {
    // RFC 4271 §6.8: the connection initiated by the higher identifier wins.
    let t0 = Instant::now();
    let mut x = open_sent(t0);
    x.handle_message(t0, Message::Open(peer_open()));
    drain(&mut x);
    assert_eq!(x.state(), State::OpenConfirm);
    x.yield_to_other_connection(t0);
    let (msgs, evs) = drain(&mut x);
    assert_eq!(sent_notification(&msgs).map(|n| (n.0, n.1)), Some((6, 7)));
    assert!(evs.contains(&Event::Disconnect));
    assert_eq!(x.state(), State::Active);
    assert!(x.negotiated().is_none());
    x.handle_tcp(t0, TcpEvent::Connected);
    assert_eq!(x.state(), State::OpenSent);
    // Outside OpenSent/OpenConfirm it does nothing.
    let mut e = established(t0);
    e.yield_to_other_connection(t0);
    assert_eq!(e.state(), State::Established);
}

/// RFC 4486 §4 / RFC 4271 §8.1.2 Event 8: the maximum prefix limit ends
/// the session with Cease 6/1 naming the family and the limit; it stays
/// Idle, refusing the peer, for exactly the restart time, then connects.
#[test]
fn automatic_stop_ceases_6_1_and_waits_exactly_the_restart_time() {
    let t0 = Instant::now();
    let mut x = established(t0);
    // Earlier failures would make an IdleHold back-off longer: not here.
    let cease = Notification::max_prefixes_reached(Family::IPV6_UNICAST, 1000);
    x.handle_admin(
        t0 + s(1),
        AdminEvent::AutomaticStop {
            cease: cease.clone(),
            idle_for: Some(s(3)),
        },
    );
    let (msgs, evs) = drain(&mut x);
    // 6/1 with AFI 2, SAFI 1, limit 1000 (0x3e8) as 2 + 1 + 4 octets.
    assert_eq!(
        sent_notification(&msgs),
        Some((6, 1, Bytes::from_static(&[0, 2, 1, 0, 0, 0x03, 0xe8])))
    );
    assert!(evs.contains(&Event::Disconnect));
    assert!(evs.contains(&Event::Down(DownReason::NotificationSent(cease))));
    assert_eq!(x.state(), State::Idle);
    assert_eq!(x.timer(Timer::IdleHold), Some(t0 + s(4)));
    assert_eq!(x.poll_timeout(), Some(t0 + s(4)));

    // The peer comes back at once: refused while Idle.
    x.handle_tcp(t0 + s(2), TcpEvent::Connected);
    assert_eq!(drain(&mut x).1, vec![Event::Disconnect]);
    x.handle_timeout(t0 + s(3));
    assert_eq!(x.state(), State::Idle);

    // The restart time passed: connect again.
    x.handle_timeout(t0 + s(4));
    assert_eq!(x.state(), State::Connect);
    assert!(drain(&mut x).1.contains(&Event::Connect));
}

#[test]
fn automatic_stop_without_a_restart_time_stays_idle_until_started() {
    let t0 = Instant::now();
    let mut x = established(t0);
    x.handle_admin(
        t0,
        AdminEvent::AutomaticStop {
            cease: Notification::max_prefixes_reached(Family::IPV4_UNICAST, 5),
            idle_for: None,
        },
    );
    drain(&mut x);
    assert_eq!(x.state(), State::Idle);
    assert_eq!(x.poll_timeout(), None);
    x.handle_admin(t0 + s(600), AdminEvent::Start);
    assert_eq!(x.state(), State::Connect);
}

#[test]
fn automatic_stop_drops_the_updates_still_queued_and_is_ignored_when_not_up() {
    let t0 = Instant::now();
    let mut x = established(t0);
    let eor = || Message::Update(speaker::wire::Update::end_of_rib(Family::IPV4_UNICAST));
    x.handle_message(t0, eor());
    x.handle_message(t0, eor());
    // The driver took the first UPDATE, and stops on it.
    assert!(matches!(x.poll_event(), Some(Event::Update(_))));
    let stop = AdminEvent::AutomaticStop {
        cease: Notification::max_prefixes_reached(Family::IPV4_UNICAST, 1),
        idle_for: Some(s(60)),
    };
    x.handle_admin(t0, stop.clone());
    let (_, evs) = drain(&mut x);
    assert!(
        !evs.iter().any(|e| matches!(e, Event::Update(_))),
        "{evs:?}"
    );
    // Nothing more to stop: no second NOTIFICATION, the timer unchanged.
    x.handle_admin(t0 + s(1), stop);
    let (msgs, evs) = drain(&mut x);
    assert!(msgs.is_empty() && evs.is_empty(), "{msgs:?} {evs:?}");
    assert_eq!(x.timer(Timer::IdleHold), Some(t0 + s(60)));
}

// --- Graceful restart, restarting side (RFC 4724 §4.1) and RFC 8538 ---

fn gr(mut c: SessionConfig) -> SessionConfig {
    c.graceful_restart = Some(s(120));
    c
}

/// A session of `ours` established with a peer configured as `theirs`.
fn established_with(t0: Instant, ours: SessionConfig, theirs: SessionConfig) -> Session {
    let mut x = Session::new(ours);
    x.handle_admin(t0, AdminEvent::Start);
    x.handle_tcp(t0, TcpEvent::Connected);
    drain(&mut x);
    x.handle_message(t0, Message::Open(local_open(&theirs)));
    x.handle_message(t0, Message::Keepalive);
    drain(&mut x);
    assert_eq!(x.state(), State::Established);
    x
}

fn gr_flags(o: &Open) -> Option<(u8, Vec<u8>)> {
    o.capabilities().find_map(|c| match c {
        Capability::GracefulRestart {
            restart_flags,
            families,
            ..
        } => Some((*restart_flags, families.iter().map(|f| f.flags).collect())),
        _ => None,
    })
}

#[test]
fn our_open_tells_restart_forwarding_and_notification() {
    let mut c = gr(cfg());
    assert_eq!(gr_flags(&local_open(&c)), Some((0x4, vec![0])));
    c.restarting = true;
    c.forwarding_preserved = true;
    assert_eq!(gr_flags(&local_open(&c)), Some((0x8 | 0x4, vec![0x80])));
    // The R bit is for the first session after the restart only.
    let t0 = Instant::now();
    let mut x = established_with(t0, c, gr(peer_cfg()));
    x.handle_admin(t0, AdminEvent::Stop(None));
    drain(&mut x);
    x.handle_admin(t0, AdminEvent::Start);
    x.handle_tcp(t0, TcpEvent::Connected);
    let (msgs, _) = drain(&mut x);
    let open = msgs.iter().find_map(|m| match m {
        Message::Open(o) => Some(o.clone()),
        _ => None,
    });
    assert_eq!(gr_flags(&open.unwrap()), Some((0x4, vec![0x80])));
}

#[test]
fn n_bit_is_negotiated_when_both_announce_it() {
    let t0 = Instant::now();
    let x = established_with(t0, gr(cfg()), gr(peer_cfg()));
    assert!(x.negotiated().unwrap().graceful_notification);
    let x = established_with(t0, gr(cfg()), peer_cfg());
    assert!(!x.negotiated().unwrap().graceful_notification);
    let x = established_with(t0, cfg(), gr(peer_cfg()));
    assert!(!x.negotiated().unwrap().graceful_notification);
}

/// RFC 8538 §4: with the N bit, a NOTIFICATION other than Hard Reset is a
/// graceful restart both ways; a Hard Reset is not. RFC 4724 §4.2 without
/// it: only a connection dropped without one.
#[test]
fn which_ends_keep_the_peers_routes() {
    let t0 = Instant::now();
    let cease = Notification::cease_with_message(4, "reset");
    let hard = Notification::hard_reset(&cease);
    let mut with_n = established_with(t0, gr(cfg()), gr(peer_cfg()));
    with_n.handle_message(t0, Message::Notification(cease.clone()));
    let (_, evs) = drain(&mut with_n);
    let down = evs.iter().find_map(|e| match e {
        Event::Down(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(with_n.keeps_routes_after(&down.unwrap()), Some(s(120)));
    for r in [
        DownReason::NotificationReceived(hard.clone()),
        DownReason::AdminStop(hard.clone()),
        DownReason::ConnectionFailed,
    ] {
        assert_eq!(with_n.keeps_routes_after(&r), None, "{r:?}");
    }
    for r in [
        DownReason::NotificationSent(Notification::new(4, 0, Bytes::new())),
        DownReason::ConnectionClosed,
        DownReason::GracefulStop,
    ] {
        assert_eq!(with_n.keeps_routes_after(&r), Some(s(120)), "{r:?}");
    }
    // A peer with graceful restart but no N bit: only a silent drop.
    let mut no_n = established_with(t0, gr(cfg()), {
        let mut c = gr(peer_cfg());
        c.graceful_restart = Some(s(90));
        c
    });
    no_n.handle_tcp(t0, TcpEvent::Closed);
    drain(&mut no_n);
    // (Negotiated with N here too: both are Reflex configurations.)
    assert_eq!(
        no_n.keeps_routes_after(&DownReason::ConnectionClosed),
        Some(s(90))
    );
    // A peer without graceful restart: nothing is kept.
    let mut plain = established_with(t0, gr(cfg()), peer_cfg());
    plain.handle_tcp(t0, TcpEvent::Closed);
    drain(&mut plain);
    assert_eq!(
        plain.keeps_routes_after(&DownReason::ConnectionClosed),
        None
    );
}

#[test]
fn hard_stops_are_hard_resets_only_with_the_n_bit() {
    let t0 = Instant::now();
    let cease = Notification::cease_with_message(2, "going away");
    let with_n = established_with(t0, gr(cfg()), gr(peer_cfg()));
    let h = with_n.hard(cease.clone());
    assert_eq!((h.code, h.subcode), (6, 9));
    assert_eq!(h.hard_reset_reason(), Some(cease.clone()));
    assert!(
        h.describe().contains("Administrative Shutdown"),
        "{}",
        h.describe()
    );
    let plain = established_with(t0, gr(cfg()), peer_cfg());
    assert_eq!(plain.hard(cease.clone()), cease);
}

/// Our graceful stop: Cease / Administrative Reset with the N bit, a
/// silent close to a helper without it, Administrative Shutdown to a peer
/// without graceful restart.
#[test]
fn graceful_stop_says_what_the_peer_understands() {
    let t0 = Instant::now();
    let stop = |x: &mut Session| {
        x.handle_admin(
            t0,
            AdminEvent::StopGracefully {
                message: "restarting".into(),
            },
        );
        let (msgs, evs) = drain(x);
        assert!(evs.contains(&Event::Down(DownReason::GracefulStop)));
        assert!(evs.contains(&Event::Disconnect));
        assert_eq!(x.state(), State::Idle);
        sent_notification(&msgs).map(|(c, s, _)| (c, s))
    };
    let mut with_n = established_with(t0, gr(cfg()), gr(peer_cfg()));
    assert_eq!(stop(&mut with_n), Some((6, 4)));
    // A helper that does not announce N (BIRD 2.0): the peer side of the
    // capability without its N bit.
    let mut helper_open = local_open(&gr(peer_cfg()));
    for c in helper_open.capability_params.iter_mut().flatten() {
        if let Capability::GracefulRestart { restart_flags, .. } = c {
            *restart_flags = 0;
        }
    }
    let mut helper = Session::new(gr(cfg()));
    helper.handle_admin(t0, AdminEvent::Start);
    helper.handle_tcp(t0, TcpEvent::Connected);
    drain(&mut helper);
    helper.handle_message(t0, Message::Open(helper_open));
    helper.handle_message(t0, Message::Keepalive);
    drain(&mut helper);
    assert!(!helper.negotiated().unwrap().graceful_notification);
    assert_eq!(stop(&mut helper), None);
    let mut plain = established_with(t0, gr(cfg()), peer_cfg());
    assert_eq!(stop(&mut plain), Some((6, 2)));
}

fn llgr(mut c: SessionConfig, stale: u64) -> SessionConfig {
    c.long_lived_stale_time = Some(s(stale));
    gr(c)
}

fn llgr_families(o: &Open) -> Option<Vec<(Family, u8, u32)>> {
    o.capabilities().find_map(|c| match c {
        Capability::LongLivedGracefulRestart { families } => Some(
            families
                .iter()
                .map(|f| (f.family, f.flags, f.stale_time))
                .collect(),
        ),
        _ => None,
    })
}

/// RFC 9494 §2, §4.1: the capability goes with graceful restart, every
/// family with our stale time (24 bits at most) and the Forwarding State
/// bit as for graceful restart.
#[test]
fn long_lived_graceful_restart_is_announced_with_graceful_restart_only() {
    let mut c = llgr(cfg(), 3600);
    c.forwarding_preserved = true;
    assert_eq!(
        llgr_families(&local_open(&c)),
        Some(vec![(Family::IPV4_UNICAST, 0x80, 3600)])
    );
    c.long_lived_stale_time = Some(s(u64::MAX));
    assert_eq!(llgr_families(&local_open(&c)).unwrap()[0].2, 0x00ff_ffff);
    c.graceful_restart = None;
    assert_eq!(llgr_families(&local_open(&c)), None);
    assert_eq!(llgr_families(&local_open(&gr(cfg()))), None);
}

/// RFC 9494 §4.2: the peer's stale time per family, capped by ours; only
/// when both announced the capability; a family at 0 is not kept.
#[test]
fn long_lived_stale_time_is_the_peers_capped_by_ours() {
    let t0 = Instant::now();
    let x = established_with(t0, llgr(cfg(), 600), llgr(peer_cfg(), 86400));
    let n = x.negotiated().unwrap();
    assert!(n.long_lived);
    assert_eq!(n.long_lived_stale, vec![(Family::IPV4_UNICAST, s(600))]);
    assert_eq!(x.long_lived_after(), &[(Family::IPV4_UNICAST, s(600))]);
    let x = established_with(t0, llgr(cfg(), 600), llgr(peer_cfg(), 30));
    assert_eq!(x.long_lived_after(), &[(Family::IPV4_UNICAST, s(30))]);
    // Not ours: the peer's capability gives nothing.
    let x = established_with(t0, gr(cfg()), llgr(peer_cfg(), 86400));
    assert!(!x.negotiated().unwrap().long_lived);
    assert!(x.long_lived_after().is_empty());
    // Not the peer's.
    let x = established_with(t0, llgr(cfg(), 600), gr(peer_cfg()));
    assert!(!x.negotiated().unwrap().long_lived);
    assert!(x.long_lived_after().is_empty());
    // The peer's family at 0: aware, but nothing kept (§4.2).
    let x = established_with(t0, llgr(cfg(), 600), llgr(peer_cfg(), 0));
    assert!(x.negotiated().unwrap().long_lived);
    assert!(x.long_lived_after().is_empty());
}

/// RFC 9494 §4.2: a peer that announces long-lived graceful restart
/// without graceful restart has a restart time of zero: its routes go
/// long-lived stale at once when its connection drops.
#[test]
fn long_lived_without_graceful_restart_keeps_routes_from_a_zero_restart_time() {
    let t0 = Instant::now();
    let mut open = local_open(&llgr(peer_cfg(), 300));
    if let Some(caps) = open.capability_params.iter_mut().next() {
        caps.retain(|c| !matches!(c, Capability::GracefulRestart { .. }));
    }
    let mut x = Session::new(llgr(cfg(), 600));
    x.handle_admin(t0, AdminEvent::Start);
    x.handle_tcp(t0, TcpEvent::Connected);
    drain(&mut x);
    x.handle_message(t0, Message::Open(open));
    x.handle_message(t0, Message::Keepalive);
    drain(&mut x);
    assert_eq!(x.state(), State::Established);
    assert_eq!(
        x.keeps_routes_after(&DownReason::ConnectionClosed),
        Some(Duration::ZERO)
    );
    assert_eq!(x.long_lived_after(), &[(Family::IPV4_UNICAST, s(300))]);
}
