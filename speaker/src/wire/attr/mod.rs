//! Path attributes (RFC 4271 §4.3 and §5, and the RFCs that add attributes).

mod as_path;
mod community;
mod decode;
mod encode;
mod mp;

pub use as_path::{AsPath, AsSegment, Segment, SegmentType, Segments};
pub use community::{Community, ExtCommunity, Ipv6ExtCommunity, LargeCommunity};
pub use decode::{AttrSection, MpUnreach, decode_attributes};
pub use encode::encode_attributes;
pub use mp::{MpNextHop, MpReachHeader};

use bytes::Bytes;
use serde::Serialize;
use std::net::Ipv4Addr;

/// Attribute type codes (IANA).
pub mod type_code {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MULTI_EXIT_DISC: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const ORIGINATOR_ID: u8 = 9;
    pub const CLUSTER_LIST: u8 = 10;
    pub const MP_REACH_NLRI: u8 = 14;
    pub const MP_UNREACH_NLRI: u8 = 15;
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    pub const LARGE_COMMUNITIES: u8 = 32;
    /// Not an attribute of the wire: 255 is reserved for development (RFC
    /// 2042). Reflex keeps a route-map's `weight` (a preference of this
    /// speaker only, as in IOS and FRR) in it, optional non-transitive,
    /// so the RIB and its log carry it with the path and propagation
    /// drops it (RFC 4271 §9.1.3); import drops one a peer sends.
    pub const LOCAL_WEIGHT: u8 = 255;
}

/// Attribute flags octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AttrFlags(pub u8);

impl AttrFlags {
    pub const OPTIONAL: u8 = 0x80;
    pub const TRANSITIVE: u8 = 0x40;
    pub const PARTIAL: u8 = 0x20;
    pub const EXTENDED_LENGTH: u8 = 0x10;
    /// Well-known: transitive, not optional.
    pub const WELL_KNOWN: AttrFlags = AttrFlags(Self::TRANSITIVE);
    pub const OPTIONAL_TRANSITIVE: AttrFlags = AttrFlags(Self::OPTIONAL | Self::TRANSITIVE);
    pub const OPTIONAL_NON_TRANSITIVE: AttrFlags = AttrFlags(Self::OPTIONAL);

    pub fn optional(self) -> bool {
        self.0 & Self::OPTIONAL != 0
    }
    pub fn transitive(self) -> bool {
        self.0 & Self::TRANSITIVE != 0
    }
    pub fn partial(self) -> bool {
        self.0 & Self::PARTIAL != 0
    }
    pub fn extended_length(self) -> bool {
        self.0 & Self::EXTENDED_LENGTH != 0
    }

    /// The flags a known attribute must carry in its Optional and Transitive
    /// bits (RFC 4271 §5), or `None` for an unknown type.
    pub fn expected(code: u8) -> Option<AttrFlags> {
        use self::type_code as t;
        Some(match code {
            t::ORIGIN | t::AS_PATH | t::NEXT_HOP | t::LOCAL_PREF | t::ATOMIC_AGGREGATE => {
                Self::WELL_KNOWN
            }
            t::MULTI_EXIT_DISC
            | t::ORIGINATOR_ID
            | t::CLUSTER_LIST
            | t::MP_REACH_NLRI
            | t::MP_UNREACH_NLRI => Self::OPTIONAL_NON_TRANSITIVE,
            t::AGGREGATOR
            | t::COMMUNITIES
            | t::EXTENDED_COMMUNITIES
            | t::AS4_PATH
            | t::AS4_AGGREGATOR
            | t::IPV6_EXTENDED_COMMUNITIES
            | t::LARGE_COMMUNITIES => Self::OPTIONAL_TRANSITIVE,
            _ => return None,
        })
    }
}

/// ORIGIN values (RFC 4271 §5.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

/// AGGREGATOR / AS4_AGGREGATOR (RFC 4271 §5.1.7, RFC 6793).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Aggregator {
    pub asn: u32,
    pub address: Ipv4Addr,
}

/// The value of one path attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AttrValue {
    Origin(Origin),
    AsPath(AsPath),
    NextHop(Ipv4Addr),
    MultiExitDisc(u32),
    LocalPref(u32),
    AtomicAggregate,
    Aggregator(Aggregator),
    Communities(Vec<Community>),
    OriginatorId(Ipv4Addr),
    ClusterList(Vec<Ipv4Addr>),
    /// The MP_REACH_NLRI header; its NLRI travel with the UPDATE. Boxed: it
    /// is the largest value, and most attribute sets (IPv4) have none.
    MpReachNlri(Box<MpReachHeader>),
    ExtendedCommunities(Vec<ExtCommunity>),
    As4Path(AsPath),
    As4Aggregator(Aggregator),
    Ipv6ExtendedCommunities(Vec<Ipv6ExtCommunity>),
    LargeCommunities(Vec<LargeCommunity>),
    /// A known attribute that was malformed, or a repeated one: kept as
    /// received so the message re-encodes identically, ignored by every
    /// getter, and never propagated. The UPDATE's issues say why.
    Invalid {
        type_code: u8,
        #[serde(serialize_with = "super::serialize_hex")]
        value: Bytes,
    },
    /// An attribute this speaker does not interpret, carried as received.
    Unknown {
        type_code: u8,
        #[serde(serialize_with = "super::serialize_hex")]
        value: Bytes,
    },
}

impl AttrValue {
    pub fn type_code(&self) -> u8 {
        use type_code as t;
        match self {
            AttrValue::Origin(_) => t::ORIGIN,
            AttrValue::AsPath(_) => t::AS_PATH,
            AttrValue::NextHop(_) => t::NEXT_HOP,
            AttrValue::MultiExitDisc(_) => t::MULTI_EXIT_DISC,
            AttrValue::LocalPref(_) => t::LOCAL_PREF,
            AttrValue::AtomicAggregate => t::ATOMIC_AGGREGATE,
            AttrValue::Aggregator(_) => t::AGGREGATOR,
            AttrValue::Communities(_) => t::COMMUNITIES,
            AttrValue::OriginatorId(_) => t::ORIGINATOR_ID,
            AttrValue::ClusterList(_) => t::CLUSTER_LIST,
            AttrValue::MpReachNlri(_) => t::MP_REACH_NLRI,
            AttrValue::ExtendedCommunities(_) => t::EXTENDED_COMMUNITIES,
            AttrValue::As4Path(_) => t::AS4_PATH,
            AttrValue::As4Aggregator(_) => t::AS4_AGGREGATOR,
            AttrValue::Ipv6ExtendedCommunities(_) => t::IPV6_EXTENDED_COMMUNITIES,
            AttrValue::LargeCommunities(_) => t::LARGE_COMMUNITIES,
            AttrValue::Unknown { type_code, .. } | AttrValue::Invalid { type_code, .. } => {
                *type_code
            }
        }
    }
}

/// One attribute with the flags it was received with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PathAttribute {
    pub flags: AttrFlags,
    #[serde(flatten)]
    pub value: AttrValue,
}

impl PathAttribute {
    /// An attribute with the standard flags for its type (unknown types:
    /// optional transitive).
    pub fn new(value: AttrValue) -> PathAttribute {
        let flags =
            AttrFlags::expected(value.type_code()).unwrap_or(AttrFlags::OPTIONAL_TRANSITIVE);
        PathAttribute { flags, value }
    }
}

/// The path attributes of a route, in wire order. Shared between routes
/// through `Arc` (see [`super::intern::AttrInterner`]). MP_UNREACH_NLRI is not
/// a property of a path and lives in the UPDATE.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PathAttributes {
    pub attrs: Vec<PathAttribute>,
}

macro_rules! getter {
    ($name:ident, $variant:ident, $t:ty) => {
        pub fn $name(&self) -> Option<&$t> {
            self.attrs.iter().find_map(|a| match &a.value {
                AttrValue::$variant(v) => Some(v),
                _ => None,
            })
        }
    };
}

impl PathAttributes {
    pub fn new(attrs: Vec<PathAttribute>) -> PathAttributes {
        PathAttributes { attrs }
    }

    /// The attribute of this type, unless it was malformed.
    pub fn get(&self, type_code: u8) -> Option<&PathAttribute> {
        self.attrs.iter().find(|a| {
            a.value.type_code() == type_code && !matches!(a.value, AttrValue::Invalid { .. })
        })
    }

    pub fn has(&self, type_code: u8) -> bool {
        self.get(type_code).is_some()
    }

    getter!(origin, Origin, Origin);
    getter!(as_path, AsPath, AsPath);
    getter!(next_hop, NextHop, Ipv4Addr);
    getter!(med, MultiExitDisc, u32);
    getter!(local_pref, LocalPref, u32);
    getter!(aggregator, Aggregator, Aggregator);
    getter!(communities, Communities, Vec<Community>);
    getter!(originator_id, OriginatorId, Ipv4Addr);
    getter!(cluster_list, ClusterList, Vec<Ipv4Addr>);
    pub fn mp_reach(&self) -> Option<&MpReachHeader> {
        self.attrs.iter().find_map(|a| match &a.value {
            AttrValue::MpReachNlri(h) => Some(&**h),
            _ => None,
        })
    }
    getter!(extended_communities, ExtendedCommunities, Vec<ExtCommunity>);
    getter!(as4_path, As4Path, AsPath);
    getter!(large_communities, LargeCommunities, Vec<LargeCommunity>);

    /// The local weight a route-map set ([`type_code::LOCAL_WEIGHT`]).
    pub fn weight(&self) -> Option<u32> {
        self.attrs.iter().find_map(|a| match &a.value {
            AttrValue::Unknown { type_code, value } if *type_code == type_code::LOCAL_WEIGHT => {
                Some(u32::from_be_bytes(value.as_ref().try_into().ok()?))
            }
            _ => None,
        })
    }

    /// Sets the local weight ([`type_code::LOCAL_WEIGHT`]).
    pub fn set_weight(&mut self, weight: u32) {
        self.set(PathAttribute {
            flags: AttrFlags::OPTIONAL_NON_TRANSITIVE,
            value: AttrValue::Unknown {
                type_code: type_code::LOCAL_WEIGHT,
                value: Bytes::copy_from_slice(&weight.to_be_bytes()),
            },
        });
    }

    /// RFC 4271 §5 and §9.1.3 on propagation: an unrecognized optional
    /// transitive attribute is passed on with the Partial bit set; an
    /// unrecognized optional non-transitive one is dropped.
    pub fn prepare_for_propagation(&mut self) {
        self.attrs.retain_mut(|a| match a.value {
            AttrValue::Invalid { .. } => false,
            AttrValue::Unknown { .. } if !a.flags.transitive() => false,
            AttrValue::Unknown { .. } => {
                a.flags.0 |= AttrFlags::PARTIAL;
                true
            }
            _ => true,
        });
    }

    /// Replaces or appends an attribute, keeping the order of the others.
    pub fn set(&mut self, attr: PathAttribute) {
        let code = attr.value.type_code();
        match self.attrs.iter_mut().find(|a| a.value.type_code() == code) {
            Some(slot) => *slot = attr,
            None => self.attrs.push(attr),
        }
    }

    pub fn remove(&mut self, type_code: u8) {
        self.attrs.retain(|a| a.value.type_code() != type_code);
    }

    /// Whether COMMUNITIES holds `c`.
    pub fn has_community(&self, c: Community) -> bool {
        self.communities().is_some_and(|cs| cs.contains(&c))
    }

    /// Adds `c` to COMMUNITIES (creating it), unless it is there.
    pub fn add_community(&mut self, c: Community) {
        if self.has_community(c) {
            return;
        }
        let mut cs = self.communities().cloned().unwrap_or_default();
        cs.push(c);
        self.set(PathAttribute::new(AttrValue::Communities(cs)));
    }
}
