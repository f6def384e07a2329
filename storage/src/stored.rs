//! What the store writes: RIB commands (in log entries) and RIB images (in
//! snapshots), as serde types of their own, so that the stored format is
//! decided here and can evolve under a version number ([`crate::format`])
//! while `speaker`'s types change freely.
//!
//! Attribute sets are stored once per log entry or snapshot, as BGP path
//! attribute octets (4-octet AS numbers, MP_REACH_NLRI without NLRI), and
//! referenced by index.

use crate::error::FormatError;
use crate::format;
use crate::leases::{Fence, LeaseCommand, Leases};
use crate::types::{Command, Owners, PeerIds};
use crate::writes::{WriteId, Writes};
use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use speaker::policy::Policy;
use speaker::rib::{
    Attachment, DestinationImage, GroupId, GroupImage, GroupKey, NextHopSelf, PathImage, PeerId,
    PeerImage, PeerInfo, PeerStats, ReplicatedPolicy, RibCommand, RibImage, RouteKey,
};
use speaker::wire::attr::{decode_attributes, encode_attributes};
use speaker::wire::intern::AttrInterner;
use speaker::wire::nlri::LabelStack;
use speaker::wire::prefix::{Label, RouteDistinguisher};
use speaker::wire::{
    Afi, AttrValue, CodecContext, Family, NlriEntry, PathAttribute, PathAttributes, Prefix, Safi,
};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFamily {
    pub afi: u16,
    pub safi: u8,
}

impl From<Family> for StoredFamily {
    fn from(f: Family) -> StoredFamily {
        StoredFamily {
            afi: f.afi.0,
            safi: f.safi.0,
        }
    }
}

impl From<StoredFamily> for Family {
    fn from(f: StoredFamily) -> Family {
        Family::new(Afi(f.afi), Safi(f.safi))
    }
}

/// A destination and path id: the NLRI of one path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredNlri {
    pub family: StoredFamily,
    pub addr: IpAddr,
    pub len: u8,
    pub rd: Option<[u8; 8]>,
    pub path_id: Option<u32>,
    /// Raw 3-octet label fields.
    pub labels: Vec<u32>,
}

fn labels_of(l: &LabelStack) -> Vec<u32> {
    l.as_slice().iter().map(|l| l.0).collect()
}

fn label_stack(v: &[u32]) -> Result<LabelStack, FormatError> {
    let mut s = LabelStack::default();
    for l in v {
        if !s.push(Label(*l)) {
            return Err(FormatError::Invalid("label stack too deep"));
        }
    }
    Ok(s)
}

impl StoredNlri {
    fn of(family: Family, e: &NlriEntry) -> StoredNlri {
        StoredNlri {
            family: family.into(),
            addr: e.prefix.addr(),
            len: e.prefix.len(),
            rd: e.rd.map(|r| r.0),
            path_id: e.path_id,
            labels: labels_of(&e.labels),
        }
    }

    fn entry(&self) -> Result<(Family, NlriEntry), FormatError> {
        let prefix =
            Prefix::new(self.addr, self.len).ok_or(FormatError::Invalid("prefix length"))?;
        Ok((
            self.family.into(),
            NlriEntry {
                path_id: self.path_id,
                labels: label_stack(&self.labels)?,
                rd: self.rd.map(RouteDistinguisher),
                prefix,
            },
        ))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPeer {
    pub id: u32,
    pub address: IpAddr,
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub rr_client: bool,
    pub cluster_id: Option<Ipv4Addr>,
    pub families: Vec<StoredFamily>,
    pub add_path_send: Vec<StoredFamily>,
    pub four_octet_as: bool,
    pub next_hop_self_v4: Option<Ipv4Addr>,
    pub next_hop_self_v6: Option<Ipv6Addr>,
}

impl From<&PeerInfo> for StoredPeer {
    fn from(p: &PeerInfo) -> StoredPeer {
        StoredPeer {
            id: p.id.0,
            address: p.address,
            asn: p.asn,
            router_id: p.router_id,
            rr_client: p.rr_client,
            cluster_id: p.cluster_id,
            families: p.families.iter().map(|f| (*f).into()).collect(),
            add_path_send: p.add_path_send.iter().map(|f| (*f).into()).collect(),
            four_octet_as: p.four_octet_as,
            next_hop_self_v4: p.next_hop_self.ipv4,
            next_hop_self_v6: p.next_hop_self.ipv6,
        }
    }
}

impl From<&StoredPeer> for PeerInfo {
    fn from(p: &StoredPeer) -> PeerInfo {
        PeerInfo {
            id: PeerId(p.id),
            address: p.address,
            asn: p.asn,
            router_id: p.router_id,
            rr_client: p.rr_client,
            cluster_id: p.cluster_id,
            families: p.families.iter().map(|f| (*f).into()).collect(),
            add_path_send: p.add_path_send.iter().map(|f| (*f).into()).collect(),
            four_octet_as: p.four_octet_as,
            next_hop_self: NextHopSelf {
                ipv4: p.next_hop_self_v4,
                ipv6: p.next_hop_self_v6,
            },
            // Beside the peer where it has them ([`StoredCommand::PeerUpWithPolicy`],
            // [`StoredPolicyRefs`]).
            import: None,
            export: None,
            // Beside the peer where it is set ([`StoredCommand::PeerUpLongLived`],
            // [`StoredLongLivedRefs`]).
            long_lived: false,
        }
    }
}

/// A peer's facts with its route-map names.
fn peer_with_policy(p: &StoredPeer, import: &Option<String>, export: &Option<String>) -> PeerInfo {
    let mut info = PeerInfo::from(p);
    info.import = import.clone();
    info.export = export.clone();
    info
}

/// One RIB command; attribute sets are indexes into the batch's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredCommand {
    PeerUp(StoredPeer),
    Routes {
        peer: u32,
        withdrawn: Vec<StoredNlri>,
        announced: Vec<(StoredNlri, u32)>,
    },
    EndOfRib {
        peer: u32,
        family: StoredFamily,
    },
    PeerDown {
        peer: u32,
    },
    PeerDownGraceful {
        peer: u32,
    },
    RestartExpired {
        peer: u32,
    },
    /// Session owners: (neighbour, member).
    Owners(Vec<(u32, u64)>),
    /// Which write this entry is ([`crate::writes`]); first in its batch.
    /// Last among the variants: entries written before it existed read
    /// the same.
    Write {
        writer: u64,
        seq: u64,
    },
    /// A PeerUp whose peer has route-maps (format 3); one without is
    /// written as [`StoredCommand::PeerUp`], which every format reads.
    PeerUpWithPolicy {
        peer: StoredPeer,
        import: Option<String>,
        export: Option<String>,
    },
    /// The routing policy from now on (format 4).
    Policy(StoredPolicy),
    /// A border's forwarding table changed under these prefixes
    /// (address, length).
    Reresolve(Vec<(IpAddr, u8)>),
    /// Neighbours to give ids to (format 5).
    Register(Vec<IpAddr>),
    /// A change of the session leases (format 6).
    Lease(LeaseCommand),
    /// The lease epochs the write's author held (format 6); after
    /// [`StoredCommand::Write`], before the commands it fences.
    Fence(Fence),
    /// A PeerUp whose session negotiated long-lived graceful restart
    /// (format 7); one without is written as before.
    PeerUpLongLived {
        peer: StoredPeer,
        import: Option<String>,
        export: Option<String>,
    },
    /// RFC 9494: a peer's stale paths become long-lived stale (format 7).
    LongLivedStale {
        peer: u32,
        families: Vec<StoredFamily>,
    },
    /// RFC 9494: a peer's long-lived stale paths of a family go (format 7).
    LongLivedExpired {
        peer: u32,
        family: StoredFamily,
    },
}

/// The replicated routing policy: the policy sections of the
/// configuration as text (compiled by the node, [`crate::ApplyHook::compile_policy`]),
/// RFC 8212's switch and each neighbour's route-maps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPolicy {
    pub text: String,
    pub ebgp_requires_policy: bool,
    /// (peer, import, export), for neighbours with either.
    pub attachments: Vec<(u32, Option<String>, Option<String>)>,
}

impl StoredPolicy {
    pub fn of(p: &ReplicatedPolicy) -> StoredPolicy {
        StoredPolicy {
            text: p.text.clone(),
            ebgp_requires_policy: p.ebgp_requires_policy,
            attachments: p
                .attachments
                .iter()
                .map(|(id, a)| (id.0, a.import.clone(), a.export.clone()))
                .collect(),
        }
    }

    /// The policy, with `text` compiled by `compile`.
    pub fn with(&self, compiled: Arc<Policy>) -> ReplicatedPolicy {
        ReplicatedPolicy {
            text: self.text.clone(),
            compiled,
            ebgp_requires_policy: self.ebgp_requires_policy,
            attachments: self
                .attachments
                .iter()
                .map(|(id, import, export)| {
                    (
                        PeerId(*id),
                        Attachment {
                            import: import.clone(),
                            export: export.clone(),
                        },
                    )
                })
                .collect(),
        }
    }
}

impl StoredCommand {
    /// The lowest format whose release reads it ([`format::encode_as`]):
    /// the format that brought its variant.
    pub fn format(&self) -> u8 {
        use format::*;
        match self {
            StoredCommand::PeerUp(_)
            | StoredCommand::Routes { .. }
            | StoredCommand::EndOfRib { .. }
            | StoredCommand::PeerDown { .. }
            | StoredCommand::PeerDownGraceful { .. }
            | StoredCommand::RestartExpired { .. }
            | StoredCommand::Owners(_) => FORMAT_1,
            StoredCommand::Write { .. } => FORMAT_2,
            StoredCommand::PeerUpWithPolicy { .. } => FORMAT_3,
            StoredCommand::Policy(_) | StoredCommand::Reresolve(_) => FORMAT_4,
            StoredCommand::Register(_) => FORMAT_5,
            StoredCommand::Lease(_) | StoredCommand::Fence(_) => FORMAT_6,
            StoredCommand::PeerUpLongLived { .. }
            | StoredCommand::LongLivedStale { .. }
            | StoredCommand::LongLivedExpired { .. } => FORMAT_7,
        }
    }

    /// Paths it announces or withdraws.
    pub fn paths(&self) -> usize {
        match self {
            StoredCommand::Routes {
                withdrawn,
                announced,
                ..
            } => withdrawn.len() + announced.len(),
            _ => 0,
        }
    }
}

/// The commands of one log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBatch {
    /// Attribute sets, as path attribute octets.
    pub attrs: Vec<Vec<u8>>,
    pub commands: Vec<StoredCommand>,
}

/// Attribute sets numbered in order of first use; the same `Arc` (or an
/// equal set) gets the same number.
#[derive(Default)]
struct AttrTable {
    by_ptr: HashMap<*const PathAttributes, u32>,
    by_octets: HashMap<Vec<u8>, u32>,
    sets: Vec<Vec<u8>>,
}

impl AttrTable {
    fn index(&mut self, a: &Arc<PathAttributes>) -> u32 {
        if let Some(i) = self.by_ptr.get(&Arc::as_ptr(a)) {
            return *i;
        }
        let octets = attr_octets(a);
        let i = match self.by_octets.get(&octets) {
            Some(i) => *i,
            None => {
                let i = self.sets.len() as u32;
                self.sets.push(octets.clone());
                self.by_octets.insert(octets, i);
                i
            }
        };
        // The table lives no longer than the borrowed sets: the pointer
        // stays unique while it is a key.
        self.by_ptr.insert(Arc::as_ptr(a), i);
        i
    }
}

fn attr_ctx() -> CodecContext {
    CodecContext::four_octet()
}

/// A set as path attribute octets (4-octet AS numbers; MP_REACH_NLRI with
/// its header only). Attributes the session found malformed are left out:
/// the RIB never uses them, and their octets could read as valid in the
/// stored (4-octet) form. So is one too long for an attribute's length
/// (a 2-octet AS_PATH near 64 KiB grows in the 4-octet form): stored cut,
/// it would not decode on any member, and it can be sent to no one.
pub fn attr_octets(a: &PathAttributes) -> Vec<u8> {
    let mut out = BytesMut::new();
    let invalid = |x: &PathAttribute| matches!(x.value, AttrValue::Invalid { .. });
    if !a.attrs.iter().any(invalid)
        && encode_attributes(a, None, None, &attr_ctx(), &mut out).is_ok()
    {
        return out.to_vec();
    }
    out.clear();
    let mut valid = a.clone();
    valid.attrs.retain(|x| {
        let one = PathAttributes::new(vec![x.clone()]);
        !invalid(x)
            && encode_attributes(&one, None, None, &attr_ctx(), &mut BytesMut::new()).is_ok()
    });
    // Every attribute left encodes.
    let _ = encode_attributes(&valid, None, None, &attr_ctx(), &mut out);
    out.to_vec()
}

/// A set from its octets, decoded only if `interner` has not seen them.
pub fn interned_set(
    octets: &[u8],
    interner: &mut AttrInterner,
) -> Result<Arc<PathAttributes>, FormatError> {
    if let Some(a) = interner.get_raw(octets) {
        return Ok(a);
    }
    let raw = Bytes::copy_from_slice(octets);
    let mut set = decode_attributes(&raw, &attr_ctx())
        .map_err(|_| FormatError::Invalid("attribute set does not decode"))?
        .attrs;
    // What reads as malformed here is left out, as [`attr_octets`] leaves
    // it out: a set applied from the log and the same set restored from a
    // snapshot (stored again without it) are then equal.
    set.attrs
        .retain(|x| !matches!(x.value, AttrValue::Invalid { .. }));
    Ok(interner.intern(set, Some(raw)))
}

fn attr_at(sets: &[Arc<PathAttributes>], i: u32) -> Result<Arc<PathAttributes>, FormatError> {
    sets.get(i as usize)
        .cloned()
        .ok_or(FormatError::Invalid("attribute set index out of range"))
}

impl StoredBatch {
    /// The lowest format whose release reads it: its newest command's
    /// (format 1 for an empty batch).
    pub fn format(&self) -> u8 {
        self.commands
            .iter()
            .map(StoredCommand::format)
            .max()
            .unwrap_or(format::FORMAT_1)
    }

    /// Its octets, versioned as [`StoredBatch::format`] says: what the log
    /// and the wire carry.
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        format::encode_as(self, self.format())
    }

    pub fn owners(owners: &Owners) -> StoredBatch {
        StoredBatch {
            attrs: Vec::new(),
            commands: vec![StoredCommand::Owners(
                owners.iter().map(|(p, m)| (p.0, *m)).collect(),
            )],
        }
    }

    pub fn leases(commands: &[LeaseCommand]) -> StoredBatch {
        StoredBatch {
            attrs: Vec::new(),
            commands: commands.iter().copied().map(StoredCommand::Lease).collect(),
        }
    }

    pub fn register(addresses: &[IpAddr]) -> StoredBatch {
        StoredBatch {
            attrs: Vec::new(),
            commands: vec![StoredCommand::Register(addresses.to_vec())],
        }
    }

    pub fn of(commands: &[RibCommand]) -> StoredBatch {
        let mut table = AttrTable::default();
        let commands = commands
            .iter()
            .map(|c| match c {
                RibCommand::PeerUp(info) if info.long_lived => StoredCommand::PeerUpLongLived {
                    peer: info.into(),
                    import: info.import.clone(),
                    export: info.export.clone(),
                },
                RibCommand::PeerUp(info) if info.import.is_none() && info.export.is_none() => {
                    StoredCommand::PeerUp(info.into())
                }
                RibCommand::PeerUp(info) => StoredCommand::PeerUpWithPolicy {
                    peer: info.into(),
                    import: info.import.clone(),
                    export: info.export.clone(),
                },
                RibCommand::Routes {
                    peer,
                    withdrawn,
                    announced,
                } => StoredCommand::Routes {
                    peer: peer.0,
                    withdrawn: withdrawn
                        .iter()
                        .map(|(f, e)| StoredNlri::of(*f, e))
                        .collect(),
                    announced: announced
                        .iter()
                        .map(|(f, e, a)| (StoredNlri::of(*f, e), table.index(a)))
                        .collect(),
                },
                RibCommand::EndOfRib { peer, family } => StoredCommand::EndOfRib {
                    peer: peer.0,
                    family: (*family).into(),
                },
                RibCommand::PeerDown { peer } => StoredCommand::PeerDown { peer: peer.0 },
                RibCommand::PeerDownGraceful { peer } => {
                    StoredCommand::PeerDownGraceful { peer: peer.0 }
                }
                RibCommand::RestartExpired { peer } => {
                    StoredCommand::RestartExpired { peer: peer.0 }
                }
                RibCommand::LongLivedStale { peer, families } => StoredCommand::LongLivedStale {
                    peer: peer.0,
                    families: families.iter().map(|f| (*f).into()).collect(),
                },
                RibCommand::LongLivedExpired { peer, family } => StoredCommand::LongLivedExpired {
                    peer: peer.0,
                    family: (*family).into(),
                },
                RibCommand::Policy(p) => StoredCommand::Policy(StoredPolicy::of(p)),
                RibCommand::Reresolve { prefixes } => {
                    StoredCommand::Reresolve(prefixes.iter().map(|p| (p.addr(), p.len())).collect())
                }
            })
            .collect();
        StoredBatch {
            attrs: table.sets,
            commands,
        }
    }

    /// The commands, with attribute sets from `interner` (decoded once per
    /// distinct set, shared with every other batch that has it).
    pub fn commands_with(&self, interner: &mut AttrInterner) -> Result<Vec<Command>, FormatError> {
        let sets = self
            .attrs
            .iter()
            .map(|o| interned_set(o, interner))
            .collect::<Result<Vec<_>, _>>()?;
        self.commands
            .iter()
            .map(|c| {
                Ok(Command::Rib(match c {
                    StoredCommand::Write { writer, seq } => {
                        return Ok(Command::Write(WriteId {
                            writer: *writer,
                            seq: *seq,
                        }));
                    }
                    StoredCommand::Policy(p) => return Ok(Command::Policy(p.clone())),
                    StoredCommand::Register(a) => return Ok(Command::Register(a.clone())),
                    StoredCommand::Lease(l) => return Ok(Command::Lease(*l)),
                    StoredCommand::Fence(f) => return Ok(Command::Fence(f.clone())),
                    StoredCommand::Owners(o) => {
                        return Ok(Command::Owners(
                            o.iter().map(|(p, m)| (PeerId(*p), *m)).collect(),
                        ));
                    }
                    StoredCommand::PeerUp(p) => RibCommand::PeerUp(p.into()),
                    StoredCommand::PeerUpWithPolicy {
                        peer,
                        import,
                        export,
                    } => RibCommand::PeerUp(peer_with_policy(peer, import, export)),
                    StoredCommand::PeerUpLongLived {
                        peer,
                        import,
                        export,
                    } => {
                        let mut info = peer_with_policy(peer, import, export);
                        info.long_lived = true;
                        RibCommand::PeerUp(info)
                    }
                    StoredCommand::LongLivedStale { peer, families } => {
                        RibCommand::LongLivedStale {
                            peer: PeerId(*peer),
                            families: families.iter().map(|f| (*f).into()).collect(),
                        }
                    }
                    StoredCommand::LongLivedExpired { peer, family } => {
                        RibCommand::LongLivedExpired {
                            peer: PeerId(*peer),
                            family: (*family).into(),
                        }
                    }
                    StoredCommand::Routes {
                        peer,
                        withdrawn,
                        announced,
                    } => RibCommand::Routes {
                        peer: PeerId(*peer),
                        withdrawn: withdrawn
                            .iter()
                            .map(StoredNlri::entry)
                            .collect::<Result<_, _>>()?,
                        announced: announced
                            .iter()
                            .map(|(n, i)| {
                                let (f, e) = n.entry()?;
                                Ok((f, e, attr_at(&sets, *i)?))
                            })
                            .collect::<Result<_, FormatError>>()?,
                    },
                    StoredCommand::EndOfRib { peer, family } => RibCommand::EndOfRib {
                        peer: PeerId(*peer),
                        family: (*family).into(),
                    },
                    StoredCommand::PeerDown { peer } => RibCommand::PeerDown {
                        peer: PeerId(*peer),
                    },
                    StoredCommand::PeerDownGraceful { peer } => RibCommand::PeerDownGraceful {
                        peer: PeerId(*peer),
                    },
                    StoredCommand::RestartExpired { peer } => RibCommand::RestartExpired {
                        peer: PeerId(*peer),
                    },
                    StoredCommand::Reresolve(prefixes) => RibCommand::Reresolve {
                        prefixes: prefixes
                            .iter()
                            .map(|(a, l)| {
                                Prefix::new(*a, *l).ok_or(FormatError::Invalid("prefix length"))
                            })
                            .collect::<Result<_, _>>()?,
                    },
                }))
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGroupKey {
    pub ebgp: bool,
    pub rr_client: bool,
    pub cluster_id: Option<Ipv4Addr>,
    pub next_hop_self_v4: Option<Ipv4Addr>,
    pub next_hop_self_v6: Option<Ipv6Addr>,
    pub families: Vec<StoredFamily>,
    pub add_path_send: Vec<StoredFamily>,
    pub four_octet_as: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPeerState {
    pub info: StoredPeer,
    pub up: bool,
    pub group: Option<u32>,
    pub originator_loop: u64,
    pub cluster_loop: u64,
    /// Always 0 now: AS-path loops are found by the session, before import
    /// policy. Kept so that the format stays readable both ways.
    pub as_loop: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGroup {
    pub id: u32,
    pub key: StoredGroupKey,
    pub members: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPath {
    pub peer: u32,
    pub path_id: Option<u32>,
    pub local_id: u32,
    pub stale: bool,
    pub labels: Vec<u32>,
    pub attrs: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDestination {
    pub family: StoredFamily,
    pub addr: IpAddr,
    pub len: u8,
    pub rd: Option<[u8; 8]>,
    pub next_local_id: u32,
    pub paths: Vec<StoredPath>,
}

/// The content of a snapshot: the RIB image, the session owners and the
/// writes applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredState {
    pub rib: StoredImage,
    pub owners: Vec<(u32, u64)>,
    pub writes: Writes,
    /// Format 3: the route-map names of peers and groups.
    pub policy: StoredPolicyRefs,
    /// Format 4: the replicated policy and its version, once there is one.
    pub replicated_policy: Option<(u64, StoredPolicy)>,
    /// Format 5: the neighbours' ids (address, id).
    pub peer_ids: Vec<(IpAddr, u32)>,
    /// Format 6: the session leases (`owners` is their owners, for a
    /// reader of format 5).
    pub leases: Leases,
    /// Format 7: the peers and groups that negotiated long-lived
    /// graceful restart.
    pub long_lived: StoredLongLivedRefs,
}

/// The peers and groups with long-lived graceful restart (RFC 9494), apart
/// from the peers and groups (whose layout format 1 fixed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLongLivedRefs {
    pub peers: Vec<u32>,
    pub groups: Vec<u32>,
}

/// A snapshot as format 6 wrote it (before long-lived graceful restart).
#[derive(Deserialize)]
pub struct StoredStateV6 {
    pub rib: StoredImage,
    pub owners: Vec<(u32, u64)>,
    pub writes: Writes,
    pub policy: StoredPolicyRefs,
    pub replicated_policy: Option<(u64, StoredPolicy)>,
    pub peer_ids: Vec<(IpAddr, u32)>,
    pub leases: Leases,
}

impl From<StoredStateV6> for StoredState {
    fn from(v6: StoredStateV6) -> StoredState {
        StoredState {
            rib: v6.rib,
            owners: v6.owners,
            writes: v6.writes,
            policy: v6.policy,
            replicated_policy: v6.replicated_policy,
            peer_ids: v6.peer_ids,
            leases: v6.leases,
            long_lived: StoredLongLivedRefs::default(),
        }
    }
}

/// A snapshot as format 5 wrote it (before the leases).
#[derive(Deserialize)]
pub struct StoredStateV5 {
    pub rib: StoredImage,
    pub owners: Vec<(u32, u64)>,
    pub writes: Writes,
    pub policy: StoredPolicyRefs,
    pub replicated_policy: Option<(u64, StoredPolicy)>,
    pub peer_ids: Vec<(IpAddr, u32)>,
}

impl From<StoredStateV5> for StoredState {
    fn from(v5: StoredStateV5) -> StoredState {
        // The leases come from the owners ([`StoredState::leases`]).
        StoredState {
            rib: v5.rib,
            owners: v5.owners,
            writes: v5.writes,
            policy: v5.policy,
            replicated_policy: v5.replicated_policy,
            peer_ids: v5.peer_ids,
            leases: Leases::default(),
            long_lived: StoredLongLivedRefs::default(),
        }
    }
}

/// A snapshot as format 4 wrote it (before the neighbours' ids).
#[derive(Deserialize)]
pub struct StoredStateV4 {
    pub rib: StoredImage,
    pub owners: Vec<(u32, u64)>,
    pub writes: Writes,
    pub policy: StoredPolicyRefs,
    pub replicated_policy: Option<(u64, StoredPolicy)>,
}

impl From<StoredStateV4> for StoredState {
    fn from(v4: StoredStateV4) -> StoredState {
        StoredState {
            rib: v4.rib,
            owners: v4.owners,
            writes: v4.writes,
            policy: v4.policy,
            replicated_policy: v4.replicated_policy,
            peer_ids: Vec::new(),
            leases: Leases::default(),
            long_lived: StoredLongLivedRefs::default(),
        }
    }
}

/// A snapshot as format 3 wrote it (before the replicated policy).
#[derive(Deserialize)]
pub struct StoredStateV3 {
    pub rib: StoredImage,
    pub owners: Vec<(u32, u64)>,
    pub writes: Writes,
    pub policy: StoredPolicyRefs,
}

impl From<StoredStateV3> for StoredState {
    fn from(v3: StoredStateV3) -> StoredState {
        StoredState {
            rib: v3.rib,
            owners: v3.owners,
            writes: v3.writes,
            policy: v3.policy,
            replicated_policy: None,
            peer_ids: Vec::new(),
            leases: Leases::default(),
            long_lived: StoredLongLivedRefs::default(),
        }
    }
}

/// Route-map names in a snapshot, apart from the peers and groups they
/// belong to (whose layout formats 1 and 2 fixed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPolicyRefs {
    /// (peer, import, export), for peers with either.
    pub peers: Vec<(u32, Option<String>, Option<String>)>,
    /// (group, export), for groups with one.
    pub groups: Vec<(u32, String)>,
}

/// A snapshot as format 2 wrote it (before route-maps).
#[derive(Deserialize)]
pub struct StoredStateV2 {
    pub rib: StoredImage,
    pub owners: Vec<(u32, u64)>,
    pub writes: Writes,
}

impl From<StoredStateV2> for StoredState {
    fn from(v2: StoredStateV2) -> StoredState {
        StoredState {
            rib: v2.rib,
            owners: v2.owners,
            writes: v2.writes,
            policy: StoredPolicyRefs::default(),
            replicated_policy: None,
            peer_ids: Vec::new(),
            leases: Leases::default(),
            long_lived: StoredLongLivedRefs::default(),
        }
    }
}

/// A snapshot as format 1 wrote it (before writes were recorded).
#[derive(Deserialize)]
pub struct StoredStateV1 {
    pub rib: StoredImage,
    pub owners: Vec<(u32, u64)>,
}

impl From<StoredStateV1> for StoredState {
    fn from(v1: StoredStateV1) -> StoredState {
        StoredState {
            rib: v1.rib,
            owners: v1.owners,
            writes: Writes::default(),
            policy: StoredPolicyRefs::default(),
            replicated_policy: None,
            peer_ids: Vec::new(),
            leases: Leases::default(),
            long_lived: StoredLongLivedRefs::default(),
        }
    }
}

impl StoredState {
    pub fn of(
        image: &RibImage,
        leases: &Leases,
        peer_ids: &PeerIds,
        writes: &Writes,
    ) -> StoredState {
        let owners = leases.owners();
        StoredState {
            leases: leases.clone(),
            peer_ids: peer_ids.iter().map(|(a, p)| (*a, p.0)).collect(),
            rib: StoredImage::of(image),
            owners: owners.iter().map(|(p, m)| (p.0, *m)).collect(),
            writes: writes.clone(),
            policy: StoredPolicyRefs {
                peers: image
                    .peers
                    .iter()
                    .filter(|p| p.info.import.is_some() || p.info.export.is_some())
                    .map(|p| (p.info.id.0, p.info.import.clone(), p.info.export.clone()))
                    .collect(),
                groups: image
                    .groups
                    .iter()
                    .filter_map(|g| Some((g.id.0, g.key.export.clone()?)))
                    .collect(),
            },
            replicated_policy: image
                .policy
                .as_ref()
                .map(|(v, p)| (*v, StoredPolicy::of(p))),
            long_lived: StoredLongLivedRefs {
                peers: image
                    .peers
                    .iter()
                    .filter(|p| p.info.long_lived)
                    .map(|p| p.info.id.0)
                    .collect(),
                groups: image
                    .groups
                    .iter()
                    .filter(|g| g.key.long_lived)
                    .map(|g| g.id.0)
                    .collect(),
            },
        }
    }

    /// A snapshot's octets, of this format or an earlier one.
    pub fn decode(octets: &[u8]) -> Result<StoredState, FormatError> {
        format::decode_or_older::<
            StoredState,
            StoredStateV6,
            StoredStateV5,
            StoredStateV4,
            StoredStateV3,
            StoredStateV2,
            StoredStateV1,
        >(octets)
    }

    /// The RIB image, its peers and groups with their route-map names, and
    /// the replicated policy compiled by `compile`.
    pub fn image_with(
        &self,
        interner: &mut AttrInterner,
        compile: &dyn Fn(&str) -> Result<Policy, String>,
    ) -> Result<RibImage, FormatError> {
        let mut image = self.rib.image_with(interner)?;
        if let Some((version, p)) = &self.replicated_policy {
            let compiled = compile(&p.text).map_err(FormatError::Policy)?;
            image.policy = Some((*version, Arc::new(p.with(Arc::new(compiled)))));
        }
        for (id, import, export) in &self.policy.peers {
            if let Some(p) = image.peers.iter_mut().find(|p| p.info.id.0 == *id) {
                p.info.import = import.clone();
                p.info.export = export.clone();
            }
        }
        for (id, export) in &self.policy.groups {
            if let Some(g) = image.groups.iter_mut().find(|g| g.id.0 == *id) {
                g.key.export = Some(export.clone());
            }
        }
        for id in &self.long_lived.peers {
            if let Some(p) = image.peers.iter_mut().find(|p| p.info.id.0 == *id) {
                p.info.long_lived = true;
            }
        }
        for id in &self.long_lived.groups {
            if let Some(g) = image.groups.iter_mut().find(|g| g.id.0 == *id) {
                g.key.long_lived = true;
            }
        }
        Ok(image)
    }

    pub fn owners(&self) -> Owners {
        self.owners.iter().map(|(p, m)| (PeerId(*p), *m)).collect()
    }

    /// The session leases (from the owner map, for an older format's).
    pub fn leases(&self) -> Leases {
        if self.leases == Leases::default() && !self.owners.is_empty() {
            let mut l = Leases::default();
            l.replace(&self.owners());
            return l;
        }
        self.leases.clone()
    }

    pub fn peer_ids(&self) -> PeerIds {
        self.peer_ids
            .iter()
            .map(|(a, p)| (*a, PeerId(*p)))
            .collect()
    }
}

/// A RIB image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredImage {
    pub peers: Vec<StoredPeerState>,
    pub groups: Vec<StoredGroup>,
    pub next_group: u32,
    pub attrs: Vec<Vec<u8>>,
    pub destinations: Vec<StoredDestination>,
}

impl StoredImage {
    pub fn of(image: &RibImage) -> StoredImage {
        let mut table = AttrTable::default();
        let destinations = image
            .destinations
            .iter()
            .map(|d| StoredDestination {
                family: d.key.family.into(),
                addr: d.key.prefix.addr(),
                len: d.key.prefix.len(),
                rd: d.key.rd.map(|r| r.0),
                next_local_id: d.next_local_id,
                paths: d
                    .paths
                    .iter()
                    .map(|p| StoredPath {
                        peer: p.peer.0,
                        path_id: p.path_id,
                        local_id: p.local_id,
                        stale: p.stale,
                        labels: labels_of(&p.labels),
                        attrs: table.index(&p.attrs),
                    })
                    .collect(),
            })
            .collect();
        StoredImage {
            peers: image
                .peers
                .iter()
                .map(|p| StoredPeerState {
                    info: (&p.info).into(),
                    up: p.up,
                    group: p.group.map(|g| g.0),
                    originator_loop: p.stats.originator_loop,
                    cluster_loop: p.stats.cluster_loop,
                    as_loop: 0,
                })
                .collect(),
            groups: image
                .groups
                .iter()
                .map(|g| StoredGroup {
                    id: g.id.0,
                    key: StoredGroupKey {
                        ebgp: g.key.ebgp,
                        rr_client: g.key.rr_client,
                        cluster_id: g.key.cluster_id,
                        next_hop_self_v4: g.key.next_hop_self.ipv4,
                        next_hop_self_v6: g.key.next_hop_self.ipv6,
                        families: g.key.families.iter().map(|f| (*f).into()).collect(),
                        add_path_send: g.key.add_path_send.iter().map(|f| (*f).into()).collect(),
                        four_octet_as: g.key.four_octet_as,
                    },
                    members: g.members.iter().map(|m| m.0).collect(),
                })
                .collect(),
            next_group: image.next_group,
            attrs: table.sets,
            destinations,
        }
    }

    /// The image, with attribute sets from `interner`.
    pub fn image_with(&self, interner: &mut AttrInterner) -> Result<RibImage, FormatError> {
        let sets = self
            .attrs
            .iter()
            .map(|o| interned_set(o, interner))
            .collect::<Result<Vec<_>, _>>()?;
        let destinations = self
            .destinations
            .iter()
            .map(|d| {
                let prefix =
                    Prefix::new(d.addr, d.len).ok_or(FormatError::Invalid("prefix length"))?;
                Ok(DestinationImage {
                    key: RouteKey {
                        family: d.family.into(),
                        rd: d.rd.map(RouteDistinguisher),
                        prefix,
                    },
                    next_local_id: d.next_local_id,
                    paths: d
                        .paths
                        .iter()
                        .map(|p| {
                            Ok(PathImage {
                                peer: PeerId(p.peer),
                                path_id: p.path_id,
                                local_id: p.local_id,
                                stale: p.stale,
                                labels: label_stack(&p.labels)?,
                                attrs: attr_at(&sets, p.attrs)?,
                            })
                        })
                        .collect::<Result<_, FormatError>>()?,
                })
            })
            .collect::<Result<_, FormatError>>()?;
        Ok(RibImage {
            policy: None,
            peers: self
                .peers
                .iter()
                .map(|p| PeerImage {
                    info: (&p.info).into(),
                    up: p.up,
                    group: p.group.map(GroupId),
                    stats: PeerStats {
                        originator_loop: p.originator_loop,
                        cluster_loop: p.cluster_loop,
                    },
                })
                .collect(),
            groups: self
                .groups
                .iter()
                .map(|g| GroupImage {
                    id: GroupId(g.id),
                    key: GroupKey {
                        ebgp: g.key.ebgp,
                        rr_client: g.key.rr_client,
                        cluster_id: g.key.cluster_id,
                        next_hop_self: NextHopSelf {
                            ipv4: g.key.next_hop_self_v4,
                            ipv6: g.key.next_hop_self_v6,
                        },
                        families: g.key.families.iter().map(|f| (*f).into()).collect(),
                        add_path_send: g.key.add_path_send.iter().map(|f| (*f).into()).collect(),
                        four_octet_as: g.key.four_octet_as,
                        // From the snapshot's [`StoredPolicyRefs`].
                        export: None,
                        // From the snapshot's [`StoredLongLivedRefs`].
                        long_lived: false,
                    },
                    members: g.members.iter().map(|m| PeerId(*m)).collect(),
                })
                .collect(),
            next_group: self.next_group,
            destinations,
        })
    }
}
