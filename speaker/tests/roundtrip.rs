//! Property tests: for every message and attribute, `decode(encode(x)) == x`,
//! and encoding what was decoded gives the same octets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use speaker::wire::attr::{
    Aggregator, AsPath, AsSegment, AttrFlags, AttrValue, Community, ExtCommunity, Ipv6ExtCommunity,
    LargeCommunity, MpNextHop, MpReachHeader, MpUnreach, Origin, PathAttribute, PathAttributes,
    SegmentType, type_code as t,
};
use speaker::wire::capability::{
    AddPathFamily, AddPathMode, Capability, ExtendedNextHop, GracefulRestartFamily, LlgrFamily,
};
use speaker::wire::nlri::{LabelStack, NlriBuilder};
use speaker::wire::prefix::{Label, RouteDistinguisher};
use speaker::wire::route_refresh::RefreshSubtype;
use speaker::wire::{
    Afi, CodecContext, Family, Message, Nlri, NlriEntry, Notification, Open, Prefix, RouteRefresh,
    Safi, Update,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}
fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}
fn rd() -> impl Strategy<Value = RouteDistinguisher> {
    any::<[u8; 8]>().prop_map(RouteDistinguisher)
}

fn prefix(v6: bool) -> BoxedStrategy<Prefix> {
    if v6 {
        (ipv6(), 0u8..=128)
            .prop_map(|(a, l)| Prefix::new(IpAddr::V6(a), l).unwrap())
            .boxed()
    } else {
        (ipv4(), 0u8..=32)
            .prop_map(|(a, l)| Prefix::new(IpAddr::V4(a), l).unwrap())
            .boxed()
    }
}

/// A label stack whose last entry has the bottom-of-stack bit, and no entry
/// that a decoder takes for an end marker earlier.
fn labels(max: usize) -> impl Strategy<Value = LabelStack> {
    vec(1u32..0x0f_ffff, 1..=max).prop_map(|vals| {
        let mut s = LabelStack::default();
        let n = vals.len();
        for (i, v) in vals.into_iter().enumerate() {
            let bos = u32::from(i + 1 == n);
            s.push(Label((v << 4) | bos));
        }
        s
    })
}

fn entry(family: Family, add_path: bool) -> BoxedStrategy<NlriEntry> {
    let v6 = family.afi == Afi::IPV6;
    let path_id = if add_path {
        any::<u32>().prop_map(Some).boxed()
    } else {
        Just(None).boxed()
    };
    match family.safi {
        Safi::LABELED_UNICAST => (path_id, labels(3), prefix(v6))
            .prop_filter("fits in a length octet", |(_, l, p)| {
                24 * l.as_slice().len() + usize::from(p.len()) <= 255
            })
            .prop_map(|(path_id, labels, prefix)| NlriEntry {
                path_id,
                labels,
                rd: None,
                prefix,
            })
            .boxed(),
        Safi::MPLS_VPN => (path_id, labels(2), rd(), prefix(v6))
            .prop_filter("fits in a length octet", |(_, l, _, p)| {
                24 * l.as_slice().len() + 64 + usize::from(p.len()) <= 255
            })
            .prop_map(|(path_id, labels, rd, prefix)| NlriEntry {
                path_id,
                labels,
                rd: Some(rd),
                prefix,
            })
            .boxed(),
        _ => (path_id, prefix(v6))
            .prop_map(|(path_id, prefix)| NlriEntry {
                path_id,
                labels: LabelStack::default(),
                rd: None,
                prefix,
            })
            .boxed(),
    }
}

fn nlri(family: Family, add_path: bool, max: usize) -> impl Strategy<Value = Nlri> {
    vec(entry(family, add_path), 0..=max).prop_map(move |es| {
        let mut b = NlriBuilder::new(family, add_path);
        for e in &es {
            b.push(e).unwrap();
        }
        b.finish()
    })
}

const FAMILIES: [Family; 8] = [
    Family::IPV4_UNICAST,
    Family::IPV6_UNICAST,
    Family::IPV4_MULTICAST,
    Family::IPV6_MULTICAST,
    Family::IPV4_LABELED,
    Family::IPV6_LABELED,
    Family::VPNV4,
    Family::VPNV6,
];

fn family() -> impl Strategy<Value = Family> {
    proptest::sample::select(&FAMILIES[..])
}

fn next_hop(f: Family) -> BoxedStrategy<MpNextHop> {
    let zero = RouteDistinguisher::default();
    match (f.afi, f.safi) {
        (Afi::IPV4, Safi::MPLS_VPN) => prop_oneof![
            ipv4().prop_map(move |a| MpNextHop::VpnIpv4(zero, a)),
            ipv6().prop_map(move |a| MpNextHop::VpnIpv6(zero, a)),
        ]
        .boxed(),
        (_, Safi::MPLS_VPN) => prop_oneof![
            ipv6().prop_map(move |a| MpNextHop::VpnIpv6(zero, a)),
            (ipv6(), ipv6()).prop_map(move |(a, l)| MpNextHop::VpnIpv6LinkLocal(zero, a, zero, l)),
        ]
        .boxed(),
        (Afi::IPV4, _) => prop_oneof![
            ipv4().prop_map(MpNextHop::Ipv4),
            ipv6().prop_map(MpNextHop::Ipv6),
            (ipv6(), ipv6()).prop_map(|(a, l)| MpNextHop::Ipv6LinkLocal(a, l)),
        ]
        .boxed(),
        _ => prop_oneof![
            ipv6().prop_map(MpNextHop::Ipv6),
            (ipv6(), ipv6()).prop_map(|(a, l)| MpNextHop::Ipv6LinkLocal(a, l)),
        ]
        .boxed(),
    }
}

fn as_path(four: bool) -> impl Strategy<Value = AsPath> {
    // AS 0 is malformed (RFC 7607).
    let asn = if four {
        (1u32..).boxed()
    } else {
        (1u32..=0xffff).boxed()
    };
    let kind = prop_oneof![
        Just(SegmentType::Sequence),
        Just(SegmentType::Set),
        Just(SegmentType::ConfedSequence),
        Just(SegmentType::ConfedSet)
    ];
    vec(
        (kind, vec(asn, 1..=20)).prop_map(|(kind, asns)| AsSegment { kind, asns }),
        0..=4,
    )
    .prop_map(AsPath::from_segments)
}

/// Attribute values that are valid in a context, by type code.
fn optional_values(four: bool) -> BoxedStrategy<Vec<AttrValue>> {
    let agg_asn = if four {
        (1u32..).boxed()
    } else {
        (1u32..=0xffff).boxed()
    };
    let mut opts: Vec<BoxedStrategy<Option<AttrValue>>> = vec![
        proptest::option::of(any::<u32>().prop_map(AttrValue::MultiExitDisc)).boxed(),
        proptest::option::of(any::<u32>().prop_map(AttrValue::LocalPref)).boxed(),
        proptest::option::of(Just(AttrValue::AtomicAggregate)).boxed(),
        proptest::option::of(
            (agg_asn, ipv4())
                .prop_map(|(asn, address)| AttrValue::Aggregator(Aggregator { asn, address })),
        )
        .boxed(),
        proptest::option::of(
            vec(any::<u32>().prop_map(Community), 1..20).prop_map(AttrValue::Communities),
        )
        .boxed(),
        proptest::option::of(ipv4().prop_map(AttrValue::OriginatorId)).boxed(),
        proptest::option::of(vec(ipv4(), 1..8).prop_map(AttrValue::ClusterList)).boxed(),
        proptest::option::of(
            vec(any::<[u8; 8]>().prop_map(ExtCommunity), 1..10)
                .prop_map(AttrValue::ExtendedCommunities),
        )
        .boxed(),
        proptest::option::of(
            vec(any::<[u8; 20]>().prop_map(Ipv6ExtCommunity), 1..4)
                .prop_map(AttrValue::Ipv6ExtendedCommunities),
        )
        .boxed(),
        proptest::option::of(
            vec(
                (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(g, a, b)| LargeCommunity {
                    global: g,
                    local1: a,
                    local2: b,
                }),
                1..10,
            )
            .prop_map(AttrValue::LargeCommunities),
        )
        .boxed(),
        proptest::option::of(
            (
                prop_oneof![19u8..=24, 26u8..=31, 33u8..=255],
                vec(any::<u8>(), 0..300),
            )
                .prop_map(|(type_code, v)| AttrValue::Unknown {
                    type_code,
                    value: Bytes::from(v),
                }),
        )
        .boxed(),
    ];
    if !four {
        // RFC 6793: only a 2-octet session carries the AS4 attributes.
        opts.push(proptest::option::of(as_path(true).prop_map(AttrValue::As4Path)).boxed());
        opts.push(
            proptest::option::of(
                (1u32.., ipv4()).prop_map(|(asn, address)| {
                    AttrValue::As4Aggregator(Aggregator { asn, address })
                }),
            )
            .boxed(),
        );
    }
    opts.prop_map(|v| v.into_iter().flatten().collect()).boxed()
}

fn flags_for(value: &AttrValue, ext: bool, partial: bool) -> AttrFlags {
    let mut f = AttrFlags::expected(value.type_code())
        .unwrap_or(AttrFlags::OPTIONAL_TRANSITIVE)
        .0;
    if ext {
        f |= AttrFlags::EXTENDED_LENGTH;
    }
    if partial && f & AttrFlags::OPTIONAL != 0 && f & AttrFlags::TRANSITIVE != 0 {
        f |= AttrFlags::PARTIAL;
    }
    AttrFlags(f)
}

/// A well-formed UPDATE and the context it is valid in.
fn update() -> impl Strategy<Value = (Update, CodecContext)> {
    (
        any::<bool>(),
        proptest::option::of(family()),
        proptest::option::of(family()),
        any::<bool>(),
    )
        .prop_flat_map(|(four, reach_family, unreach_family, add_path)| {
            let mut ctx = CodecContext {
                four_octet_as: four,
                extended_message: true,
                ..CodecContext::default()
            };
            if add_path {
                ctx.add_path = FAMILIES.to_vec();
            }
            let v4_ap = ctx.add_path(Family::IPV4_UNICAST);
            let reach = match reach_family {
                Some(f) => (next_hop(f), any::<u8>(), nlri(f, ctx.add_path(f), 20))
                    .prop_map(move |(nh, reserved, n)| {
                        Some((
                            MpReachHeader {
                                family: f,
                                next_hop: nh,
                                reserved,
                                mrt_full_form: false,
                            },
                            n,
                        ))
                    })
                    .boxed(),
                None => Just(None).boxed(),
            };
            let unreach = match unreach_family {
                Some(f) => nlri(f, ctx.add_path(f), 20).prop_map(Some).boxed(),
                None => Just(None).boxed(),
            };
            (
                Just(ctx),
                nlri(Family::IPV4_UNICAST, v4_ap, 20),
                nlri(Family::IPV4_UNICAST, v4_ap, 20),
                reach,
                unreach,
                prop_oneof![
                    Just(Origin::Igp),
                    Just(Origin::Egp),
                    Just(Origin::Incomplete)
                ],
                as_path(four),
                ipv4(),
                optional_values(four),
                vec((any::<bool>(), any::<bool>()), 20),
                any::<prop::sample::Index>(),
                any::<u64>(),
            )
        })
        .prop_map(
            |(
                ctx,
                withdrawn,
                nlri,
                reach,
                unreach,
                origin,
                path,
                nh,
                optional,
                flag_bits,
                pos,
                seed,
            )| {
                let mut values = vec![
                    AttrValue::Origin(origin),
                    AttrValue::AsPath(path),
                    AttrValue::NextHop(nh),
                ];
                values.extend(optional);
                let mp_reach_nlri = reach.map(|(h, n)| {
                    values.push(AttrValue::MpReachNlri(Box::new(h)));
                    n
                });
                // A fixed shuffle from the seed: attribute order is free on the wire.
                let mut order: Vec<usize> = (0..values.len()).collect();
                let mut s = seed;
                for i in (1..order.len()).rev() {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    order.swap(i, (s >> 33) as usize % (i + 1));
                }
                let attrs: Vec<PathAttribute> = order
                    .into_iter()
                    .zip(flag_bits)
                    .map(|(i, (ext, partial))| {
                        let value = values[i].clone();
                        PathAttribute {
                            flags: flags_for(&value, ext, partial),
                            value,
                        }
                    })
                    .collect();
                let position = pos.index(attrs.len() + 1);
                let mp_unreach = unreach.map(|nlri| MpUnreach {
                    flags: AttrFlags::OPTIONAL_NON_TRANSITIVE,
                    nlri,
                    position,
                });
                let u = Update {
                    withdrawn,
                    attributes: Arc::new(PathAttributes::new(attrs)),
                    nlri,
                    mp_reach_nlri,
                    mp_unreach,
                    issues: Vec::new(),
                };
                (u, ctx)
            },
        )
}

fn family_any() -> impl Strategy<Value = Family> {
    (any::<u16>(), any::<u8>()).prop_map(|(a, s)| Family::new(Afi(a), Safi(s)))
}

fn capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        family_any().prop_map(|family| Capability::Multiprotocol { family }),
        Just(Capability::RouteRefresh),
        Just(Capability::ExtendedMessage),
        Just(Capability::EnhancedRouteRefresh),
        vec((any::<u16>(), any::<u16>(), any::<u16>()), 0..5).prop_map(|v| {
            Capability::ExtendedNextHop {
                entries: v
                    .into_iter()
                    .map(|(a, s, n)| ExtendedNextHop {
                        nlri_afi: Afi(a),
                        nlri_safi: s,
                        next_hop_afi: Afi(n),
                    })
                    .collect(),
            }
        }),
        any::<u8>().prop_map(|role| Capability::Role { role }),
        (0u8..16, 0u16..4096, vec((family_any(), any::<u8>()), 0..5)).prop_map(
            |(restart_flags, restart_time, f)| {
                Capability::GracefulRestart {
                    restart_flags,
                    restart_time,
                    families: f
                        .into_iter()
                        .map(|(family, flags)| GracefulRestartFamily { family, flags })
                        .collect(),
                }
            }
        ),
        (1u32..).prop_map(|asn| Capability::FourOctetAs { asn }),
        vec((family_any(), any::<u8>()), 0..5).prop_map(|f| Capability::AddPath {
            families: f
                .into_iter()
                .map(|(family, m)| AddPathFamily {
                    family,
                    mode: AddPathMode(m)
                })
                .collect()
        }),
        vec((family_any(), any::<u8>(), 0u32..0x100_0000), 0..5).prop_map(|f| {
            Capability::LongLivedGracefulRestart {
                families: f
                    .into_iter()
                    .map(|(family, flags, stale_time)| LlgrFamily {
                        family,
                        flags,
                        stale_time,
                    })
                    .collect(),
            }
        }),
        (vec(any::<u8>(), 0..40), vec(any::<u8>(), 0..40)).prop_map(|(h, d)| Capability::Fqdn {
            hostname: Bytes::from(h),
            domain: Bytes::from(d)
        }),
        (any::<u8>(), vec(any::<u8>(), 0..40))
            .prop_filter("unknown code", |(c, _)| !matches!(
                c,
                1 | 2 | 5 | 6 | 9 | 64 | 65 | 69 | 70 | 71 | 73
            ))
            .prop_map(|(code, v)| Capability::Unknown {
                code,
                value: Bytes::from(v)
            }),
    ]
}

fn open() -> impl Strategy<Value = Open> {
    (
        1u16..,
        any::<u16>().prop_filter("hold 1, 2", |h| *h != 1 && *h != 2),
        1u32..,
        vec(vec(capability(), 0..4), 0..4),
        any::<bool>(),
    )
        .prop_map(
            |(my_as, hold_time, id, capability_params, extended_params)| Open {
                version: 4,
                my_as,
                hold_time,
                bgp_identifier: Ipv4Addr::from(id),
                capability_params,
                extended_params,
            },
        )
}

/// The encoder sets Extended Length whenever a value needs it, so a value
/// generated without it may come back with it: compare without that bit.
fn strip_extended_length(u: &Update) -> Update {
    let mut u = u.clone();
    let mut attrs = (*u.attributes).clone();
    for a in &mut attrs.attrs {
        a.flags.0 &= !AttrFlags::EXTENDED_LENGTH;
    }
    u.attributes = Arc::new(attrs);
    if let Some(m) = &mut u.mp_unreach {
        m.flags.0 &= !AttrFlags::EXTENDED_LENGTH;
    }
    u
}

fn roundtrip(m: &Message, ctx: &CodecContext) -> (Message, Bytes) {
    let wire = m.to_bytes(ctx).unwrap();
    let back = Message::decode(wire.clone(), ctx, None)
        .unwrap_or_else(|e| panic!("{e}: {}", speaker::wire::hex(&wire)));
    (back, wire)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn update_roundtrips((u, ctx) in update()) {
        let m = Message::Update(u.clone());
        let (back, wire) = roundtrip(&m, &ctx);
        let Message::Update(b) = &back else { panic!("not an UPDATE") };
        prop_assert_eq!(strip_extended_length(b), strip_extended_length(&u));
        prop_assert_eq!(back.to_bytes(&ctx).unwrap(), wire);
    }

    #[test]
    fn update_roundtrips_through_the_interner((u, ctx) in update()) {
        let m = Message::Update(u);
        let wire = m.to_bytes(&ctx).unwrap();
        let mut interner = speaker::wire::AttrInterner::new();
        let a = Message::decode(wire.clone(), &ctx, Some(&mut interner)).unwrap();
        let b = Message::decode(wire.clone(), &ctx, Some(&mut interner)).unwrap();
        let (Message::Update(ua), Message::Update(ub), Message::Update(um)) = (&a, &b, &m) else { panic!() };
        prop_assert_eq!(strip_extended_length(ua), strip_extended_length(um));
        prop_assert_eq!(strip_extended_length(ub), strip_extended_length(um));
        if let (Message::Update(a), Message::Update(b)) = (&a, &b) {
            prop_assert!(Arc::ptr_eq(&a.attributes, &b.attributes) || a.attributes.attrs.is_empty());
        }
    }

    #[test]
    fn open_roundtrips(o in open()) {
        let ctx = CodecContext::default();
        let m = Message::Open(o.clone());
        let (back, wire) = roundtrip(&m, &ctx);
        let Message::Open(b) = &back else { panic!("not an OPEN") };
        // The encoder switches to RFC 9072 when parameters exceed 255 octets.
        prop_assert_eq!(&b.capability_params, &o.capability_params);
        prop_assert_eq!((b.my_as, b.hold_time, b.bgp_identifier), (o.my_as, o.hold_time, o.bgp_identifier));
        prop_assert!(b.extended_params || !o.extended_params);
        prop_assert_eq!(back.to_bytes(&ctx).unwrap(), wire);
    }

    #[test]
    fn notification_roundtrips(code in any::<u8>(), subcode in any::<u8>(), data in vec(any::<u8>(), 0..200)) {
        let m = Message::Notification(Notification::new(code, subcode, Bytes::from(data)));
        let (back, wire) = roundtrip(&m, &CodecContext::default());
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_bytes(&CodecContext::default()).unwrap(), wire);
    }

    #[test]
    fn shutdown_communication_roundtrips(text in "\\PC{0,300}", sub in prop_oneof![Just(2u8), Just(4u8)]) {
        let n = Notification::cease_with_message(sub, &text);
        prop_assert!(n.data.len() <= 256);
        match n.shutdown_communication() {
            Some(speaker::wire::notification::ShutdownCommunication::Message(m)) => prop_assert!(text.starts_with(&m)),
            Some(speaker::wire::notification::ShutdownCommunication::None) => prop_assert!(text.is_empty() || n.data[0] == 0),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn route_refresh_roundtrips(f in family_any(), sub in any::<u8>(), orf in vec(any::<u8>(), 0..50)) {
        let orf = if sub == 0 { Bytes::from(orf) } else { Bytes::new() };
        let m = Message::RouteRefresh(RouteRefresh { family: f, subtype: RefreshSubtype(sub), orf });
        let (back, wire) = roundtrip(&m, &CodecContext::default());
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_bytes(&CodecContext::default()).unwrap(), wire);
    }

    #[test]
    fn nlri_roundtrips(n in (family(), any::<bool>()).prop_flat_map(|(f, a)| nlri(f, a, 50))) {
        let (f, add_path) = (n.family(), n.add_path());
        let entries: Vec<_> = n.iter().collect();
        let back = Nlri::decode(f, add_path, n.raw().clone()).unwrap();
        prop_assert_eq!(back.iter().collect::<Vec<_>>(), entries.clone());
        let rebuilt = Nlri::from_entries(f, add_path, &entries).unwrap();
        prop_assert_eq!(rebuilt.raw(), n.raw());
    }

    #[test]
    fn end_of_rib_roundtrips(f in family()) {
        let ctx = CodecContext::four_octet();
        let m = Message::Update(Update::end_of_rib(f));
        let (back, _) = roundtrip(&m, &ctx);
        let Message::Update(u) = back else { panic!() };
        prop_assert_eq!(u.end_of_rib_family(), Some(f));
    }

    /// Any octets: decoding never panics, and what decodes re-encodes stably.
    #[test]
    fn arbitrary_octets_never_panic(body in vec(any::<u8>(), 0..600), t in 1u8..=5, four in any::<bool>()) {
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        m.push(t);
        m.extend_from_slice(&body);
        let ctx = CodecContext { four_octet_as: four, ..CodecContext::default() };
        if let Ok(msg) = Message::decode(Bytes::from(m), &ctx, None) {
            let again = Message::decode(msg.to_bytes(&ctx).unwrap(), &ctx, None);
            if let Message::Update(u) = &msg && u.issues.is_empty() {
                prop_assert_eq!(again.unwrap(), msg);
            }
        }
    }
}

#[test]
fn keepalive_roundtrips() {
    let ctx = CodecContext::default();
    let (back, wire) = roundtrip(&Message::Keepalive, &ctx);
    assert_eq!(back, Message::Keepalive);
    assert_eq!(
        &wire[..],
        &[0xff; 16]
            .iter()
            .copied()
            .chain([0, 19, 4])
            .collect::<Vec<_>>()[..]
    );
}

#[test]
fn attribute_type_codes_match_iana() {
    assert_eq!(
        (t::ORIGIN, t::MP_REACH_NLRI, t::LARGE_COMMUNITIES),
        (1, 14, 32)
    );
    let _ = Ipv6Addr::LOCALHOST;
}
