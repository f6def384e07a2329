//! Malformed messages, each with the exact outcome RFC 4271 §6 and RFC 7606
//! give it: the NOTIFICATION (code, subcode, data), AFI/SAFI disable,
//! treat-as-withdraw or attribute discard.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{BufMut, Bytes, BytesMut};
use speaker::wire::error::UpdateErrorKind as K;
use speaker::wire::{CodecContext, ErrorAction as A, Family, Message};

fn msg(t: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![0xff; 16];
    b.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    b.push(t);
    b.extend_from_slice(body);
    b
}

fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code];
    if flags & 0x10 != 0 {
        a.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        a.push(value.len() as u8);
    }
    a.extend_from_slice(value);
    a
}

fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    msg(2, &b)
}

fn origin() -> Vec<u8> {
    attr(0x40, 1, &[0])
}
fn as_path4() -> Vec<u8> {
    attr(0x40, 2, &[2, 1, 0, 0, 0xfd, 0xe8])
}
fn next_hop() -> Vec<u8> {
    attr(0x40, 3, &[192, 0, 2, 1])
}
/// ORIGIN, AS_PATH, NEXT_HOP followed by `extra`.
fn base(extra: &[u8]) -> Vec<u8> {
    [origin(), as_path4(), next_hop(), extra.to_vec()].concat()
}
const NLRI: &[u8] = &[24, 198, 51, 100];

fn open(version: u8, my_as: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&my_as.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(params.len() as u8);
    b.extend_from_slice(params);
    msg(1, &b)
}
fn caps(c: &[u8]) -> Vec<u8> {
    [vec![2, c.len() as u8], c.to_vec()].concat()
}
const ID: [u8; 4] = [192, 0, 2, 1];

fn mp_reach_v6(nh: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, nh.len() as u8];
    v.extend_from_slice(nh);
    v.push(0);
    v.extend_from_slice(nlri);
    attr(0x80, 14, &v)
}
const NH6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const NLRI6: &[u8] = &[32, 0x20, 0x01, 0x0d, 0xb8];

#[derive(Debug)]
enum Want {
    /// NOTIFICATION code, subcode, data.
    Reset(u8, u8, Vec<u8>),
    /// AFI/SAFI disable of a family; the NOTIFICATION if the session resets instead.
    Disable(Family, u8, u8),
    /// Decodes, with these issues (kind, action), and the strongest action.
    Issues(Vec<(K, A)>),
    Clean,
}
use Want::*;

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    ctx: CodecContext,
    want: Want,
}

fn four() -> CodecContext {
    CodecContext::four_octet()
}
fn two() -> CodecContext {
    CodecContext::default()
}
fn case(name: &'static str, bytes: Vec<u8>, want: Want) -> Case {
    Case {
        name,
        bytes,
        ctx: four(),
        want,
    }
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    // --- Message header (RFC 4271 §6.1) ---
    let mut bad_marker = msg(4, &[]);
    bad_marker[3] = 0;
    v.push(case("bad marker", bad_marker, Reset(1, 1, vec![])));
    let mut short = msg(4, &[]);
    short[17] = 18;
    v.push(case("length 18", short, Reset(1, 2, vec![0, 18])));
    let big = msg(2, &[0u8; 4079]);
    v.push(case(
        "length 4098 without extended messages",
        big.clone(),
        Reset(1, 2, vec![0x10, 0x02]),
    ));
    let mut ext = four();
    ext.extended_message = true;
    // 4079 zero octets: empty fields, then NLRI of default routes.
    let missing = Issues(vec![(K::MissingWellKnown, A::TreatAsWithdraw); 3]);
    v.push(Case {
        name: "length 4098 with extended messages",
        bytes: big,
        ctx: ext.clone(),
        want: missing,
    });
    v.push(case("type 0", msg(0, &[]), Reset(1, 3, vec![0])));
    v.push(case("type 6", msg(6, &[]), Reset(1, 3, vec![6])));
    v.push(case("type 255", msg(255, &[0; 4]), Reset(1, 3, vec![255])));
    v.push(case(
        "KEEPALIVE with a body",
        msg(4, &[0]),
        Reset(1, 2, vec![0, 20]),
    ));
    v.push(case(
        "OPEN of 28 octets",
        msg(1, &[4, 0, 1, 0, 90, 1, 2, 3, 4]),
        Reset(1, 2, vec![0, 28]),
    ));
    v.push(case(
        "UPDATE of 22 octets",
        msg(2, &[0, 0, 0]),
        Reset(1, 2, vec![0, 22]),
    ));
    v.push(case(
        "NOTIFICATION of 20 octets",
        msg(3, &[6]),
        Reset(1, 2, vec![0, 20]),
    ));
    v.push(case(
        "ROUTE-REFRESH of 22 octets",
        msg(5, &[0, 1, 0]),
        Reset(1, 2, vec![0, 22]),
    ));
    let big_open = open(4, 65001, 90, ID, &caps(&[]));
    let mut big_open_ext = big_open.clone();
    big_open_ext.resize(4100, 0);
    big_open_ext[16..18].copy_from_slice(&4100u16.to_be_bytes());
    v.push(Case {
        name: "OPEN above 4096 even with extended messages",
        bytes: big_open_ext,
        ctx: ext,
        want: Reset(1, 2, vec![0x10, 0x04]),
    });
    let mut trailing = msg(4, &[]);
    trailing.push(0);
    v.push(case(
        "octets after the message length",
        trailing,
        Reset(1, 2, vec![0, 19]),
    ));

    // --- OPEN (RFC 4271 §6.2, RFC 5492, RFC 9072) ---
    let as4 = caps(&[65, 4, 0, 0, 0xfd, 0xe8]);
    v.push(case(
        "version 3",
        open(3, 65001, 90, ID, &as4),
        Reset(2, 1, vec![0, 4]),
    ));
    v.push(case(
        "hold time 1",
        open(4, 65001, 1, ID, &as4),
        Reset(2, 6, vec![]),
    ));
    v.push(case(
        "hold time 2",
        open(4, 65001, 2, ID, &as4),
        Reset(2, 6, vec![]),
    ));
    v.push(case(
        "hold time 0 is fine",
        open(4, 65001, 0, ID, &as4),
        Clean,
    ));
    v.push(case(
        "BGP identifier 0",
        open(4, 65001, 90, [0; 4], &as4),
        Reset(2, 3, vec![]),
    ));
    v.push(case(
        "my AS 0",
        open(4, 0, 90, ID, &[]),
        Reset(2, 2, vec![]),
    ));
    v.push(case(
        "4-octet AS capability 0",
        open(4, 23456, 90, ID, &caps(&[65, 4, 0, 0, 0, 0])),
        Reset(2, 2, vec![]),
    ));
    v.push(case(
        "authentication parameter (type 1)",
        open(4, 65001, 90, ID, &[1, 2, 0, 0]),
        Reset(2, 4, vec![]),
    ));
    v.push(case(
        "parameter length overruns",
        open(4, 65001, 90, ID, &[2, 9, 65, 4, 0, 0, 0xfd, 0xe8]),
        Reset(2, 0, vec![]),
    ));
    v.push(case(
        "capability length overruns",
        open(4, 65001, 90, ID, &caps(&[65, 9, 0, 0, 0xfd, 0xe8])),
        Reset(2, 0, vec![]),
    ));
    v.push(case(
        "multiprotocol capability of 3 octets",
        open(4, 65001, 90, ID, &caps(&[1, 3, 0, 1, 0])),
        Reset(2, 0, vec![]),
    ));
    v.push(case(
        "4-octet AS capability of 2 octets",
        open(4, 65001, 90, ID, &caps(&[65, 2, 0, 1])),
        Reset(2, 0, vec![]),
    ));
    v.push(case(
        "graceful restart capability of 3 octets",
        open(4, 65001, 90, ID, &caps(&[64, 3, 0, 120, 0])),
        Reset(2, 0, vec![]),
    ));
    v.push(case(
        "ADD-PATH capability of 5 octets",
        open(4, 65001, 90, ID, &caps(&[69, 5, 0, 1, 1, 3, 0])),
        Reset(2, 0, vec![]),
    ));
    v.push(case(
        "route refresh capability with a value",
        open(4, 65001, 90, ID, &caps(&[2, 1, 0])),
        Reset(2, 0, vec![]),
    ));
    // RFC 9072: 255, 255, 2-octet length, parameters with 2-octet lengths.
    let mut ext_open = open(4, 65001, 90, ID, &[]);
    ext_open.truncate(ext_open.len() - 1);
    ext_open.extend_from_slice(&[255, 255, 0, 9, 2, 0, 6, 65, 4, 0, 0, 0xfd, 0xe8]);
    let l = ext_open.len() as u16;
    ext_open[16..18].copy_from_slice(&l.to_be_bytes());
    v.push(case(
        "extended optional parameters",
        ext_open.clone(),
        Clean,
    ));
    let mut ext_bad = ext_open.clone();
    ext_bad[31] = 10;
    v.push(case(
        "extended optional parameters length mismatch",
        ext_bad,
        Reset(2, 0, vec![]),
    ));
    let mut opt_long = open(4, 65001, 90, ID, &as4);
    opt_long[28] = 10;
    v.push(case(
        "optional parameters length longer than the message",
        opt_long,
        Reset(2, 0, vec![]),
    ));
    v.push(case(
        "unknown capability is kept",
        open(4, 65001, 90, ID, &caps(&[200, 2, 1, 2])),
        Clean,
    ));

    // --- UPDATE: session reset (RFC 4271 §6.3, RFC 7606 §3 (f), §5.3) ---
    let mut wl = update(&[], &base(&[]), NLRI);
    wl[20] = 200;
    v.push(case(
        "withdrawn routes length overruns",
        wl,
        Reset(3, 1, vec![]),
    ));
    let mut al = update(&[], &base(&[]), NLRI);
    al[22] = 200;
    v.push(case(
        "total attribute length overruns",
        al,
        Reset(3, 1, vec![]),
    ));
    v.push(case(
        "withdrawn prefix /33",
        update(&[33, 1, 2, 3, 4, 5], &[], &[]),
        Reset(3, 10, vec![]),
    ));
    v.push(case(
        "NLRI prefix /33",
        update(&[], &base(&[]), &[33, 1, 2, 3, 4, 5]),
        Reset(3, 10, vec![]),
    ));
    v.push(case(
        "NLRI entry truncated",
        update(&[], &base(&[]), &[24, 198, 51]),
        Reset(3, 10, vec![]),
    ));
    v.push(case(
        "withdrawn entry truncated",
        update(&[16, 10], &[], &[]),
        Reset(3, 10, vec![]),
    ));
    let unknown_wk = attr(0x40, 99, &[1, 2]);
    v.push(case(
        "unrecognized well-known attribute",
        update(&[], &base(&unknown_wk), NLRI),
        Reset(3, 2, unknown_wk),
    ));
    let reach = mp_reach_v6(&NH6, NLRI6);
    v.push(case(
        "MP_REACH_NLRI twice",
        update(
            &[],
            &[origin(), as_path4(), reach.clone(), reach.clone()].concat(),
            &[],
        ),
        Reset(3, 1, vec![]),
    ));
    let unreach = attr(0x80, 15, &[0, 2, 1]);
    v.push(case(
        "MP_UNREACH_NLRI twice",
        update(&[], &[unreach.clone(), unreach].concat(), &[]),
        Reset(3, 1, vec![]),
    ));
    let short_reach = attr(0x80, 14, &[0, 2, 1]);
    v.push(case(
        "MP_REACH_NLRI of 3 octets",
        update(
            &[],
            &[origin(), as_path4(), short_reach.clone()].concat(),
            &[],
        ),
        Reset(3, 9, short_reach),
    ));
    let short_unreach = attr(0x80, 15, &[0, 2]);
    v.push(case(
        "MP_UNREACH_NLRI of 2 octets",
        update(&[], &short_unreach, &[]),
        Reset(3, 9, short_unreach.clone()),
    ));

    // --- UPDATE: AFI/SAFI disable (RFC 7606 §7.11, §7.12) ---
    let v6 = Family::IPV6_UNICAST;
    v.push(case(
        "MP_REACH_NLRI IPv6 with a 4-octet next hop",
        update(
            &[],
            &[origin(), as_path4(), mp_reach_v6(&[1, 2, 3, 4], NLRI6)].concat(),
            &[],
        ),
        Disable(v6, 3, 9),
    ));
    v.push(case(
        "MP_REACH_NLRI IPv6 prefix /129",
        update(
            &[],
            &[origin(), as_path4(), mp_reach_v6(&NH6, &[129, 0x20])].concat(),
            &[],
        ),
        Disable(v6, 3, 9),
    ));
    v.push(case(
        "MP_REACH_NLRI next hop overruns",
        update(
            &[],
            &[
                origin(),
                as_path4(),
                attr(0x80, 14, &[0, 2, 1, 40, 0x20, 1]),
            ]
            .concat(),
            &[],
        ),
        Disable(v6, 3, 9),
    ));
    v.push(case(
        "MP_UNREACH_NLRI IPv6 entry truncated",
        update(&[], &attr(0x80, 15, &[0, 2, 1, 64, 0x20, 1]), &[]),
        Disable(v6, 3, 9),
    ));
    v.push(case(
        "MP_REACH_NLRI VPNv4 next hop of 4 octets",
        update(
            &[],
            &[
                origin(),
                as_path4(),
                attr(0x80, 14, &[0, 1, 128, 4, 1, 2, 3, 4, 0]),
            ]
            .concat(),
            &[],
        ),
        Disable(Family::VPNV4, 3, 9),
    ));

    // --- UPDATE: treat-as-withdraw (RFC 7606 §7) ---
    let taw = |k| Issues(vec![(k, A::TreatAsWithdraw)]);
    let with = |first: Vec<u8>| update(&[], &[first, as_path4(), next_hop()].concat(), NLRI);
    v.push(case(
        "ORIGIN 3",
        with(attr(0x40, 1, &[3])),
        taw(K::InvalidOrigin),
    ));
    v.push(case(
        "ORIGIN of 2 octets",
        with(attr(0x40, 1, &[0, 0])),
        taw(K::AttributeLength),
    ));
    v.push(case(
        "ORIGIN flagged optional",
        with(attr(0xc0, 1, &[0])),
        taw(K::AttributeFlags),
    ));
    let with_path = |p: &[u8]| {
        update(
            &[],
            &[origin(), attr(0x40, 2, p), next_hop()].concat(),
            NLRI,
        )
    };
    v.push(case(
        "AS_PATH segment overruns",
        with_path(&[2, 2, 0, 0, 0xfd, 0xe8]),
        taw(K::MalformedAsPath),
    ));
    v.push(case(
        "AS_PATH segment type 5",
        with_path(&[5, 1, 0, 0, 0xfd, 0xe8]),
        taw(K::MalformedAsPath),
    ));
    v.push(case(
        "AS_PATH segment of length 0",
        with_path(&[2, 0]),
        taw(K::MalformedAsPath),
    ));
    v.push(case(
        "AS_PATH with one octet left over",
        with_path(&[2, 1, 0, 0, 0xfd, 0xe8, 2]),
        taw(K::MalformedAsPath),
    ));
    // RFC 7607 §2: AS 0 in AS_PATH or AGGREGATOR is malformed.
    v.push(case(
        "AS_PATH holding AS 0",
        with_path(&[2, 2, 0, 0, 0xfd, 0xe8, 0, 0, 0, 0]),
        taw(K::MalformedAsPath),
    ));
    v.push(case(
        "AGGREGATOR with AS 0",
        update(
            &[],
            &base(&attr(0xc0, 7, &[0, 0, 0, 0, 192, 0, 2, 1])),
            NLRI,
        ),
        Issues(vec![(K::OptionalAttribute, A::AttributeDiscard)]),
    ));
    v.push(case(
        "AS_PATH in 2-octet encoding on a 4-octet session",
        with_path(&[2, 1, 0xfd, 0xe8]),
        taw(K::MalformedAsPath),
    ));
    v.push(case(
        "NEXT_HOP of 5 octets",
        update(
            &[],
            &[origin(), as_path4(), attr(0x40, 3, &[1, 2, 3, 4, 5])].concat(),
            NLRI,
        ),
        taw(K::AttributeLength),
    ));
    v.push(case(
        "NEXT_HOP missing",
        update(&[], &[origin(), as_path4()].concat(), NLRI),
        taw(K::MissingWellKnown),
    ));
    v.push(case(
        "ORIGIN missing",
        update(&[], &[as_path4(), next_hop()].concat(), NLRI),
        taw(K::MissingWellKnown),
    ));
    v.push(case(
        "AS_PATH missing",
        update(&[], &[origin(), next_hop()].concat(), NLRI),
        taw(K::MissingWellKnown),
    ));
    v.push(case(
        "AS_PATH missing with MP_REACH_NLRI",
        update(&[], &[origin(), mp_reach_v6(&NH6, NLRI6)].concat(), &[]),
        taw(K::MissingWellKnown),
    ));
    v.push(case(
        "no NEXT_HOP needed with only MP_REACH_NLRI",
        update(
            &[],
            &[origin(), as_path4(), mp_reach_v6(&NH6, NLRI6)].concat(),
            &[],
        ),
        Clean,
    ));
    v.push(case(
        "MULTI_EXIT_DISC of 3 octets",
        update(&[], &base(&attr(0x80, 4, &[0, 0, 1])), NLRI),
        taw(K::AttributeLength),
    ));
    v.push(case(
        "MULTI_EXIT_DISC flagged well-known",
        update(&[], &base(&attr(0x40, 4, &[0, 0, 0, 1])), NLRI),
        taw(K::AttributeFlags),
    ));
    v.push(case(
        "LOCAL_PREF of 0 octets",
        update(&[], &base(&attr(0x40, 5, &[])), NLRI),
        taw(K::AttributeLength),
    ));
    v.push(case(
        "COMMUNITIES of 5 octets",
        update(&[], &base(&attr(0xc0, 8, &[0; 5])), NLRI),
        taw(K::OptionalAttribute),
    ));
    v.push(case(
        "COMMUNITIES of 0 octets",
        update(&[], &base(&attr(0xc0, 8, &[])), NLRI),
        taw(K::OptionalAttribute),
    ));
    v.push(case(
        "ORIGINATOR_ID of 3 octets",
        update(&[], &base(&attr(0x80, 9, &[1, 2, 3])), NLRI),
        taw(K::AttributeLength),
    ));
    v.push(case(
        "CLUSTER_LIST of 6 octets",
        update(&[], &base(&attr(0x80, 10, &[0; 6])), NLRI),
        taw(K::AttributeLength),
    ));
    v.push(case(
        "EXTENDED_COMMUNITIES of 12 octets",
        update(&[], &base(&attr(0xc0, 16, &[0; 12])), NLRI),
        taw(K::OptionalAttribute),
    ));
    v.push(case(
        "LARGE_COMMUNITY of 8 octets",
        update(&[], &base(&attr(0xc0, 32, &[0; 8])), NLRI),
        taw(K::OptionalAttribute),
    ));
    v.push(case(
        "IPv6 extended communities of 19 octets",
        update(&[], &base(&attr(0xc0, 25, &[0; 19])), NLRI),
        taw(K::OptionalAttribute),
    ));
    let mut lying = base(&[]);
    lying.extend_from_slice(&[0x80, 4, 9, 0, 0]);
    v.push(case(
        "last attribute length overruns the field",
        update(&[], &lying, NLRI),
        taw(K::AttributeOverrun),
    ));
    let mut stub = base(&[]);
    stub.extend_from_slice(&[0x80, 4]);
    v.push(case(
        "two octets left in the attributes field",
        update(&[], &stub, NLRI),
        taw(K::AttributeOverrun),
    ));
    let mut stub_ext = base(&[]);
    stub_ext.extend_from_slice(&[0x90, 4, 0]);
    v.push(case(
        "extended-length header cut short",
        update(&[], &stub_ext, NLRI),
        taw(K::AttributeOverrun),
    ));
    v.push(case(
        "MP_REACH_NLRI flagged transitive: NLRI withdrawn",
        update(
            &[],
            &[origin(), as_path4(), {
                let mut a = mp_reach_v6(&NH6, NLRI6);
                a[0] = 0xc0;
                a
            }]
            .concat(),
            &[],
        ),
        taw(K::AttributeFlags),
    ));

    // --- UPDATE: attribute discard (RFC 7606 §7.6, §7.7, RFC 6793 §6, §3 (f)) ---
    let discard = |k| Issues(vec![(k, A::AttributeDiscard)]);
    v.push(case(
        "ATOMIC_AGGREGATE of 1 octet",
        update(&[], &base(&attr(0x40, 6, &[0])), NLRI),
        discard(K::AttributeLength),
    ));
    v.push(case(
        "AGGREGATOR of 7 octets",
        update(&[], &base(&attr(0xc0, 7, &[0; 7])), NLRI),
        discard(K::AttributeLength),
    ));
    v.push(Case {
        name: "AGGREGATOR of 8 octets on a 2-octet session",
        bytes: update(
            &[],
            &[
                origin(),
                attr(0x40, 2, &[2, 1, 0xfd, 0xe8]),
                next_hop(),
                attr(0xc0, 7, &[0; 8]),
            ]
            .concat(),
            NLRI,
        ),
        ctx: two(),
        want: discard(K::AttributeLength),
    });
    v.push(Case {
        name: "AS4_PATH malformed",
        bytes: update(
            &[],
            &[
                origin(),
                attr(0x40, 2, &[2, 1, 0x5b, 0xa0]),
                next_hop(),
                attr(0xc0, 17, &[2, 2, 0, 1]),
            ]
            .concat(),
            NLRI,
        ),
        ctx: two(),
        want: discard(K::MalformedAsPath),
    });
    v.push(Case {
        name: "AS4_AGGREGATOR of 6 octets",
        bytes: update(
            &[],
            &[
                origin(),
                attr(0x40, 2, &[2, 1, 0x5b, 0xa0]),
                next_hop(),
                attr(0xc0, 18, &[0; 6]),
            ]
            .concat(),
            NLRI,
        ),
        ctx: two(),
        want: discard(K::AttributeLength),
    });
    v.push(case(
        "AS4_PATH from a 4-octet speaker",
        update(&[], &base(&attr(0xc0, 17, &[2, 1, 0, 1, 0, 0])), NLRI),
        discard(K::UnexpectedAs4Attribute),
    ));
    let comm = attr(0xc0, 8, &[0, 1, 0, 2]);
    v.push(case(
        "COMMUNITIES twice",
        update(&[], &base(&[comm.clone(), comm].concat()), NLRI),
        discard(K::DuplicateAttribute),
    ));
    v.push(case(
        "ORIGIN twice",
        update(&[], &base(&origin()), NLRI),
        discard(K::DuplicateAttribute),
    ));
    // RFC 7606 §3 (g): the strongest action wins.
    v.push(case(
        "discard and treat-as-withdraw together",
        update(
            &[],
            &[
                attr(0x40, 1, &[7]),
                as_path4(),
                next_hop(),
                attr(0x40, 6, &[0]),
            ]
            .concat(),
            NLRI,
        ),
        Issues(vec![
            (K::InvalidOrigin, A::TreatAsWithdraw),
            (K::AttributeLength, A::AttributeDiscard),
        ]),
    ));

    // --- ROUTE-REFRESH (RFC 7313 §5) ---
    let rr = msg(5, &[0, 1, 1, 1, 0]);
    v.push(case("BoRR of 5 octets", rr.clone(), Reset(7, 1, rr)));
    v.push(case(
        "ROUTE-REFRESH with ORF entries",
        msg(5, &[0, 1, 0, 1, 1, 0, 0]),
        Clean,
    ));
    v.push(case(
        "unknown refresh subtype is kept",
        msg(5, &[0, 1, 9, 1]),
        Clean,
    ));

    // --- Clean edge cases ---
    v.push(case(
        "attributes without NLRI need no mandatory ones",
        update(&[], &attr(0x80, 4, &[0, 0, 0, 1]), &[]),
        Clean,
    ));
    v.push(case(
        "unknown optional transitive attribute",
        update(&[], &base(&attr(0xc0, 250, &[1])), NLRI),
        Clean,
    ));
    v.push(case(
        "NLRI with host bits set",
        update(&[], &base(&[]), &[8, 10]),
        Clean,
    ));
    v.push(case("prefix /0", update(&[], &base(&[]), &[0]), Clean));
    v.push(case("IPv4 End-of-RIB", update(&[], &[], &[]), Clean));
    v
}

#[test]
fn every_malformed_message_gets_its_rfc_outcome() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let got = Message::decode(Bytes::from(c.bytes.clone()), &c.ctx, None);
        let ok = match (&c.want, &got) {
            (Reset(code, sub, data), Err(e)) => {
                let n = e.notification();
                let action_ok = !matches!(e, speaker::wire::DecodeError::Update(u) if u.action != A::SessionReset);
                action_ok && n.code == *code && n.subcode == *sub && n.data[..] == data[..]
            }
            (Disable(f, code, sub), Err(speaker::wire::DecodeError::Update(u))) => {
                let n = u.notification();
                u.action == A::AfiSafiDisable(*f) && n.code == *code && n.subcode == *sub
            }
            (Issues(want), Ok(Message::Update(u))) => {
                let got: Vec<_> = u.issues.iter().map(|i| (i.kind, i.action)).collect();
                let strongest = want.iter().map(|w| w.1).reduce(A::stronger);
                got == *want && u.action() == strongest
            }
            (Clean, Ok(Message::Update(u))) => u.issues.is_empty(),
            (Clean, Ok(_)) => true,
            _ => false,
        };
        if !ok {
            let mut got = format!("{got:?}");
            got.truncate(400);
            failures.push(format!("{}: want {:?}, got {got}", c.name, c.want));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn issue_notifications_carry_the_attribute() {
    // RFC 4271 §6.3: data of an Invalid ORIGIN is the erroneous attribute.
    let bad = attr(0x40, 1, &[3]);
    let m = Message::decode(
        Bytes::from(update(
            &[],
            &[bad.clone(), as_path4(), next_hop()].concat(),
            NLRI,
        )),
        &four(),
        None,
    )
    .unwrap();
    let Message::Update(u) = m else { panic!() };
    let n = u.issues[0].notification();
    assert_eq!((n.code, n.subcode, &n.data[..]), (3, 6, &bad[..]));
    // Missing well-known attribute: data is the type code.
    let m = Message::decode(
        Bytes::from(update(&[], &[origin(), as_path4()].concat(), NLRI)),
        &four(),
        None,
    )
    .unwrap();
    let Message::Update(u) = m else { panic!() };
    let n = u.issues[0].notification();
    assert_eq!((n.code, n.subcode, &n.data[..]), (3, 3, &[3u8][..]));
}

#[test]
fn streaming_decoder_waits_for_whole_messages() {
    let m = update(&[], &base(&[]), NLRI);
    let mut buf = BytesMut::new();
    for (i, b) in m.iter().enumerate() {
        buf.put_u8(*b);
        let r = Message::decode_from(&mut buf, &four(), None).unwrap();
        assert_eq!(r.is_some(), i == m.len() - 1);
    }
    assert!(buf.is_empty());
}
