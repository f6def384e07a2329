//! UPDATE packing: everything announced and withdrawn comes back out of the
//! packed messages, none is larger than allowed, and shared attributes are
//! not repeated per prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use speaker::packing::{Packer, carries};
use speaker::wire::attr::{
    AsPath, AttrValue, MpNextHop, MpReachHeader, Origin, PathAttribute, PathAttributes,
};
use speaker::wire::{CodecContext, Family, Message, NlriEntry, Prefix};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

fn v4_attrs() -> Arc<PathAttributes> {
    Arc::new(PathAttributes::new(vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(vec![65001, 65002]))),
        PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 0, 9))),
        PathAttribute::new(AttrValue::LocalPref(100)),
    ]))
}

fn v6_attrs() -> Arc<PathAttributes> {
    let header = MpReachHeader {
        family: Family::IPV6_UNICAST,
        next_hop: MpNextHop::Ipv6("2001:db8::9".parse().unwrap()),
        reserved: 0,
        mrt_full_form: false,
    };
    Arc::new(PathAttributes::new(vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::default())),
        PathAttribute::new(AttrValue::MpReachNlri(Box::new(header))),
    ]))
}

fn v4_prefixes(n: u32) -> Vec<NlriEntry> {
    (0..n)
        .map(|i| {
            NlriEntry::plain(
                Prefix::new(IpAddr::V4(Ipv4Addr::from(0xc613_0000 + (i << 8))), 24).unwrap(),
            )
        })
        .collect()
}

fn v6_prefixes(n: u32) -> Vec<NlriEntry> {
    (0..n)
        .map(|i| {
            let a = (0x2001_0db8_u128 << 96) | (u128::from(i) << 64);
            NlriEntry::plain(Prefix::new(IpAddr::V6(Ipv6Addr::from(a)), 64).unwrap())
        })
        .collect()
}

fn unpack(ctx: &CodecContext, msgs: &[bytes::Bytes]) -> (Vec<NlriEntry>, Vec<NlriEntry>) {
    let (mut a, mut w) = (Vec::new(), Vec::new());
    for m in msgs {
        assert!(m.len() <= ctx.max_message_len(), "{} octets", m.len());
        let Message::Update(u) = Message::decode(m.clone(), ctx, None).unwrap() else {
            panic!()
        };
        assert!(u.issues.is_empty(), "{:?}", u.issues);
        a.extend(u.announced().map(|(_, e)| e));
        w.extend(u.withdrawals().map(|(_, e)| e));
    }
    (a, w)
}

#[test]
fn ipv4_announcements_fill_messages_up_to_4096() {
    let ctx = CodecContext::four_octet();
    let prefixes = v4_prefixes(5000);
    let mut p = Packer::new(&ctx, Family::IPV4_UNICAST);
    p.announce(&v4_attrs(), &prefixes);
    let msgs = p.finish();
    // 5000 /24s at 4 octets each: 20,000 octets of NLRI, about 4050 per message.
    assert_eq!(msgs.len(), 5);
    assert!(msgs[..4].iter().all(|m| m.len() > 4000));
    let (a, w) = unpack(&ctx, &msgs);
    assert_eq!(a, prefixes);
    assert!(w.is_empty());
}

#[test]
fn extended_messages_carry_more() {
    let ctx = CodecContext {
        extended_message: true,
        ..CodecContext::four_octet()
    };
    let prefixes = v4_prefixes(20_000);
    let mut p = Packer::new(&ctx, Family::IPV4_UNICAST);
    p.announce(&v4_attrs(), &prefixes);
    let msgs = p.finish();
    assert_eq!(msgs.len(), 2);
    assert_eq!(unpack(&ctx, &msgs).0, prefixes);
}

#[test]
fn ipv6_goes_in_mp_reach_and_mp_unreach() {
    let ctx = CodecContext::four_octet();
    let prefixes = v6_prefixes(2000);
    let mut p = Packer::new(&ctx, Family::IPV6_UNICAST);
    p.announce(&v6_attrs(), &prefixes);
    p.withdraw(&prefixes[..1500]);
    p.end_of_rib();
    let msgs = p.finish();
    let (a, w) = unpack(&ctx, &msgs);
    assert_eq!(a, prefixes);
    assert_eq!(w, prefixes[..1500].to_vec());
    let Message::Update(last) = Message::decode(msgs.last().unwrap().clone(), &ctx, None).unwrap()
    else {
        panic!()
    };
    assert_eq!(last.end_of_rib_family(), Some(Family::IPV6_UNICAST));
}

#[test]
fn add_path_identifiers_are_packed() {
    let ctx = CodecContext {
        add_path: vec![Family::IPV4_UNICAST],
        ..CodecContext::four_octet()
    };
    let prefixes: Vec<NlriEntry> = v4_prefixes(3000)
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.path_id = Some(i as u32 % 3 + 1);
            e
        })
        .collect();
    let mut p = Packer::new(&ctx, Family::IPV4_UNICAST);
    p.withdraw(&prefixes);
    assert_eq!(unpack(&ctx, &p.finish()).1, prefixes);
}

#[test]
fn carries_checks_the_next_hop_of_the_family() {
    assert!(carries(&v4_attrs(), Family::IPV4_UNICAST));
    assert!(!carries(&v4_attrs(), Family::IPV6_UNICAST));
    assert!(carries(&v6_attrs(), Family::IPV6_UNICAST));
}

/// IPv4 attributes with `octets` octets of COMMUNITIES (4 each).
fn v4_attrs_with_communities(octets: usize) -> Arc<PathAttributes> {
    use speaker::wire::attr::Community;
    let mut attrs = (*v4_attrs()).clone();
    let communities = (0..octets / 4).map(|i| Community(0xfde8_0000 + i as u32));
    attrs.attrs.push(PathAttribute::new(AttrValue::Communities(
        communities.collect(),
    )));
    Arc::new(attrs)
}

#[test]
fn a_route_too_large_for_the_neighbour_is_withdrawn_not_sent() {
    // RFC 8654 §4: 5,000 octets of attributes fit an extended neighbour's
    // messages, not a non-extended one's.
    let prefixes = v4_prefixes(10);
    let big = v4_attrs_with_communities(5000);
    let plain = CodecContext::four_octet();
    let mut p = Packer::new(&plain, Family::IPV4_UNICAST);
    p.announce(&big, &prefixes);
    assert_eq!(p.oversized(), 10);
    let (a, w) = unpack(&plain, &p.finish());
    assert!(a.is_empty(), "announced {a:?}");
    assert_eq!(w, prefixes);
    let extended = CodecContext {
        extended_message: true,
        ..CodecContext::four_octet()
    };
    let mut p = Packer::new(&extended, Family::IPV4_UNICAST);
    p.announce(&big, &prefixes);
    assert_eq!(p.oversized(), 0);
    let (a, w) = unpack(&extended, &p.finish());
    assert_eq!((a, w.len()), (prefixes.clone(), 0));
    // 65,530 octets fit no message at all: withdrawn, no length wraps.
    let huge = v4_attrs_with_communities(65_528);
    let mut p = Packer::new(&extended, Family::IPV4_UNICAST);
    p.announce(&huge, &prefixes);
    assert_eq!(p.oversized(), 10);
    let (a, w) = unpack(&extended, &p.finish());
    assert!(a.is_empty());
    assert_eq!(w, prefixes);
    // IPv6: the same through MP_REACH_NLRI and MP_UNREACH_NLRI.
    let mut v6 = (*v6_attrs()).clone();
    v6.attrs.push(PathAttribute::new(AttrValue::Communities(
        (0..1250).map(speaker::wire::attr::Community).collect(),
    )));
    let v6_prefixes = v6_prefixes(5);
    let mut p = Packer::new(&plain, Family::IPV6_UNICAST);
    p.announce(&Arc::new(v6), &v6_prefixes);
    assert_eq!(p.oversized(), 5);
    let (a, w) = unpack(&plain, &p.finish());
    assert!(a.is_empty());
    assert_eq!(w, v6_prefixes);
}
