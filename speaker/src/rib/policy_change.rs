//! A change of routing policy, applied in log order like any command
//! ([`RibCommand::Policy`]): every member evaluates the same policy version
//! for the same log entry, and no session is reset.
//!
//! What it changes: the route-maps, RFC 8212's switch, and which maps each
//! neighbour uses. Export is recomputed and only the difference goes out:
//! a group whose map changed gets, per destination, what it is sent now
//! against what it was sent; a peer whose export map name changed moves to
//! the group of its new map, is withdrawn what that group is not sent and
//! is sent the group's table. Import runs in the sessions, before the log:
//! the RIB records the names; the node hands the sessions their new maps
//! (they ask their peers for a ROUTE-REFRESH, RFC 2918).

use super::adj_rib_out::View;
use super::export::ExportCache;
use super::output::RibOutput;
use super::peer::PeerId;
use super::update_group::{self, GroupId, GroupKey, OutChange};
use super::{NextHopResolver, Rib, RibConfig};
use crate::policy::Policy;
use crate::wire::{Family, NlriEntry, Prefix};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The route-maps of one neighbour, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attachment {
    pub import: Option<String>,
    pub export: Option<String>,
}

/// The routing policy of a cluster: what the log carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicatedPolicy {
    /// The policy sections of the configuration as text: what the log and
    /// snapshots keep (the node compiles it).
    pub text: String,
    /// `text`, compiled.
    pub compiled: Arc<Policy>,
    /// RFC 8212.
    pub ebgp_requires_policy: bool,
    /// Each neighbour's route-maps; neighbours with none are left out.
    pub attachments: BTreeMap<PeerId, Attachment>,
}

impl ReplicatedPolicy {
    pub fn attachment(&self, peer: PeerId) -> Attachment {
        self.attachments.get(&peer).cloned().unwrap_or_default()
    }
}

/// A destination as a peer sees it.
type SentKey = (Family, Prefix, Option<u32>, Option<[u8; 8]>);

fn sent_key(family: Family, e: &NlriEntry) -> SentKey {
    (family, e.prefix, e.path_id, e.rd.map(|r| r.0))
}

impl<R: NextHopResolver> Rib<R> {
    /// The policy in force and its version (counted from 1 by the changes
    /// applied); `None` before the first [`RibCommand::Policy`], when the
    /// configuration's ([`RibConfig::policy`]) is used.
    ///
    /// [`RibCommand::Policy`]: super::RibCommand::Policy
    pub fn policy(&self) -> Option<(u64, &Arc<ReplicatedPolicy>)> {
        self.state.policy.as_ref().map(|(v, p)| (*v, p))
    }

    pub(super) fn change_policy(&mut self, new: Arc<ReplicatedPolicy>, out: &mut RibOutput) {
        // The same policy again (every member proposes its configuration
        // at start): no new version, nothing to do.
        if self.state.policy.as_ref().is_some_and(|(_, p)| **p == *new) {
            return;
        }
        let version = self.state.policy.as_ref().map_or(1, |(v, _)| v + 1);
        let old_config = self.config.clone();
        let mut new_config = self.config.clone();
        new_config.policy = new.compiled.clone();
        new_config.ebgp_requires_policy = new.ebgp_requires_policy;

        // Peers in a group whose export map name changes: what they were
        // sent, before anything changes.
        let moving: Vec<PeerId> = self
            .state
            .peers
            .iter()
            .filter(|(id, p)| p.group.is_some() && p.info.export != new.attachment(**id).export)
            .map(|(id, _)| *id)
            .collect();
        let sent_before: Vec<(PeerId, Vec<(Family, NlriEntry)>)> = moving
            .iter()
            .map(|p| {
                let sent = self.adj_rib_out_for(*p).map(|(f, e, _)| (f, e)).collect();
                (*p, sent)
            })
            .collect();

        // Groups that stay whose export changes: the difference, per
        // destination (old treatment against new).
        let changed: Vec<GroupId> = self
            .state
            .groups
            .iter()
            .filter(|(_, g)| self.exports(g))
            .filter(|(_, g)| !g.members.iter().all(|m| moving.contains(m)))
            .filter(|(_, g)| export_changes(&g.key, &old_config, &new_config))
            .map(|(id, _)| *id)
            .collect();
        let mut old_cache = match self.cache.get_mut() {
            Ok(c) => std::mem::take(c),
            Err(poisoned) => {
                *poisoned.into_inner() = ExportCache::default();
                ExportCache::default()
            }
        };
        if !changed.is_empty() {
            let mut new_cache = ExportCache::default();
            let mut changes: BTreeMap<GroupId, Vec<OutChange>> = BTreeMap::new();
            let old_view = View {
                config: &old_config,
                resolver: &self.resolver,
                peers: &self.state.peers,
            };
            let new_view = View {
                config: &new_config,
                ..old_view
            };
            for (key, entry) in self.state.loc.iter() {
                for gid in &changed {
                    let Some(group) = self.state.groups.get(gid) else {
                        continue;
                    };
                    if !group.key.has_family(key.family) {
                        continue;
                    }
                    let old = old_view.paths(&mut old_cache, *gid, group, *key, entry);
                    let now = new_view.paths(&mut new_cache, *gid, group, *key, entry);
                    if old.is_empty() && now.is_empty() || old == now {
                        continue;
                    }
                    update_group::diff(
                        &group.key,
                        *key,
                        &old,
                        &now,
                        changes.entry(*gid).or_default(),
                    );
                }
            }
            out.groups.extend(
                changes
                    .into_iter()
                    .filter(|(_, c)| !c.is_empty())
                    .map(|(group, changes)| super::GroupChanges { group, changes }),
            );
            if let Ok(c) = self.cache.get_mut() {
                *c = new_cache;
            }
        }
        drop(old_cache);

        self.config = new_config;
        for (id, p) in self.state.peers.iter_mut() {
            let a = new.attachment(*id);
            p.info.import = a.import;
            p.info.export = a.export;
        }
        self.state.policy = Some((version, new));

        // The moved peers: withdrawn what the new group is not sent, then
        // sent its table (as a peer that joins).
        for (peer, before) in sent_before {
            self.leave_group_quietly(peer);
            let group = self.join_group(peer);
            let now: BTreeSet<SentKey> = self
                .adj_rib_out_for(peer)
                .map(|(f, e, _)| sent_key(f, &e))
                .collect();
            let gone: Vec<(Family, NlriEntry)> = before
                .into_iter()
                .filter(|(f, e)| !now.contains(&sent_key(*f, e)))
                .collect();
            if !gone.is_empty() {
                out.withdrawn_to.push((peer, gone));
            }
            out.joined.push((peer, group));
        }
        out.policy = Some(version);
    }
}

/// Whether what a group is sent may change from `old` to `new`: its map
/// changed (or appeared or went), or RFC 8212's switch flipped for an
/// eBGP group without one.
fn export_changes(key: &GroupKey, old: &RibConfig, new: &RibConfig) -> bool {
    match &key.export {
        Some(name) => old.policy.route_map(name) != new.policy.route_map(name),
        None => key.ebgp && old.ebgp_requires_policy != new.ebgp_requires_policy,
    }
}
