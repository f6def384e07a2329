//! A neighbour's routes as received, before import policy: kept where soft
//! reconfiguration is configured (inbound, as IOS and FRR call it), so an
//! import policy change runs over them again instead of asking the
//! neighbour for a ROUTE-REFRESH. Costs a map entry per received path.

use super::ImportFilter;
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
        let routes = |announced| RibCommand::Routes {
            peer,
            withdrawn: Vec::new(),
            announced,
        };
        let mut out = Vec::with_capacity(self.paths.len().div_ceil(REPLAY_CHUNK));
        let mut chunk = Vec::with_capacity(REPLAY_CHUNK.min(self.paths.len()));
        for ((f, ..), (e, a)) in &self.paths {
            chunk.push((*f, *e, a.clone()));
            if chunk.len() == REPLAY_CHUNK {
                out.push(routes(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(REPLAY_CHUNK),
                )));
            }
        }
        if !chunk.is_empty() {
            out.push(routes(chunk));
        }
        out
    }

    /// Every kept path through `import` again (the import policy changed,
    /// or an inbound soft reset): the commands to apply, in order, what
    /// import denied withdrawn.
    pub fn reimport(&self, peer: PeerId, import: &mut ImportFilter) -> Reimported {
        let mut out = Reimported {
            kept: self.len(),
            ..Reimported::default()
        };
        for cmd in self.replay(peer) {
            let (cmd, denied) = import.filter(cmd);
            out.denied += denied;
            out.commands.push(cmd);
        }
        out
    }
}

/// What [`ReceivedRoutes::reimport`] gives.
#[derive(Debug, Default)]
pub struct Reimported {
    pub commands: Vec<RibCommand>,
    /// Paths kept as received (all of them went through import).
    pub kept: usize,
    /// Of them, denied by import.
    pub denied: usize,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
    use std::net::{IpAddr, Ipv4Addr};

    fn routes(prefixes: &[&str], withdrawn: &[&str]) -> RibCommand {
        let attrs = Arc::new(PathAttributes::new(vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::sequence(vec![64512]))),
            PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 0, 1))),
        ]));
        let entry = |p: &&str| NlriEntry::plain(p.parse().unwrap());
        RibCommand::Routes {
            peer: PeerId(1),
            withdrawn: withdrawn
                .iter()
                .map(|p| (Family::IPV4_UNICAST, entry(p)))
                .collect(),
            announced: prefixes
                .iter()
                .map(|p| (Family::IPV4_UNICAST, entry(p), attrs.clone()))
                .collect(),
        }
    }

    fn filter(ebgp: bool) -> ImportFilter {
        // No route-map: everything for iBGP, nothing for eBGP (RFC 8212).
        ImportFilter::new(
            None,
            ebgp,
            true,
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
            65000,
        )
    }

    /// (announced, withdrawn) over all the commands.
    fn counts(cmds: &[RibCommand]) -> (usize, usize) {
        cmds.iter().fold((0, 0), |(a, w), c| match c {
            RibCommand::Routes {
                announced,
                withdrawn,
                ..
            } => (a + announced.len(), w + withdrawn.len()),
            _ => (a, w),
        })
    }

    #[test]
    fn reimport_runs_every_kept_path_through_import_again() {
        let mut kept = ReceivedRoutes::default();
        kept.record(&routes(
            &["198.19.1.0/24", "198.19.2.0/24", "198.19.3.0/24"],
            &[],
        ));
        kept.record(&routes(&[], &["198.19.2.0/24"]));
        let all = kept.reimport(PeerId(1), &mut filter(false));
        assert_eq!((all.kept, all.denied), (2, 0));
        assert_eq!(counts(&all.commands), (2, 0));
        // A policy that denies everything: each kept path withdrawn.
        let none = kept.reimport(PeerId(1), &mut filter(true));
        assert_eq!((none.kept, none.denied), (2, 2));
        assert_eq!(counts(&none.commands), (0, 2));
    }
}
