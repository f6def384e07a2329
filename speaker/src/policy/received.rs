//! A neighbour's routes as received, before import policy: kept where soft
//! reconfiguration is configured (inbound, as IOS and FRR call it), so an
//! import policy change runs over them again instead of asking the
//! neighbour for a ROUTE-REFRESH. Costs a map entry per received path.

use crate::rib::{PeerId, RibCommand};
use crate::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A path as the neighbour names it: what a later announcement replaces
/// and a withdrawal removes.
pub(super) type Key = (Family, Prefix, Option<u32>, Option<[u8; 8]>);

pub(super) fn key(family: Family, e: &NlriEntry) -> Key {
    (family, e.prefix, e.path_id, e.rd.map(|r| r.0))
}

/// Routes this many at a time in a replay: log entries of a usual size.
pub const REPLAY_CHUNK: usize = 4096;

#[derive(Debug, Default)]
pub struct ReceivedRoutes {
    paths: BTreeMap<Key, (NlriEntry, Arc<PathAttributes>)>,
}

impl ReceivedRoutes {
    /// Records what a command from the neighbour (before import) changes.
    pub fn record(&mut self, cmd: &RibCommand) {
        let RibCommand::Routes {
            withdrawn,
            announced,
            ..
        } = cmd
        else {
            return;
        };
        for (f, e) in withdrawn {
            self.paths.remove(&key(*f, e));
        }
        for (f, e, a) in announced {
            self.paths.insert(key(*f, e), (*e, a.clone()));
        }
    }

    /// Forgets everything (the session went down).
    pub fn clear(&mut self) {
        self.paths.clear();
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Every kept path announced again, [`REPLAY_CHUNK`] at a time, in
    /// order: to go through import again.
    pub fn replay(&self, peer: PeerId) -> Vec<RibCommand> {
        let all: Vec<_> = self
            .paths
            .iter()
            .map(|((f, ..), (e, a))| (*f, *e, a.clone()))
            .collect();
        all.chunks(REPLAY_CHUNK)
            .map(|c| RibCommand::Routes {
                peer,
                withdrawn: Vec::new(),
                announced: c.to_vec(),
            })
            .collect()
    }
}
