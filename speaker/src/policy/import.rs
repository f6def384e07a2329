//! Import policy as the session that owns a neighbour applies it: on the
//! routes of each UPDATE, before they go to the log. One member runs it,
//! once, on the session's thread; the log carries what it permitted (as
//! the route-map changed it), so every member applies the same routes.
//!
//! A denied announcement becomes a withdrawal: a path the neighbour
//! announced before, and import permitted then, must go now.
//!
//! The AS-path loop check (RFC 4271 §9.1.2: our AS in the AS_PATH of a
//! path from eBGP) runs here too, on the path as received and before the
//! route-map, as FRR, BIRD and IOS do: it finds our own routes coming
//! back, and an AS that our import policy prepends (to make a path less
//! preferred) is not a loop.

use super::route_map::{Direction, Memo, Route, RouteMap, Verdict};
use crate::rib::RibCommand;
use crate::wire::attr::type_code;
use crate::wire::{Family, NlriEntry, PathAttributes};
use std::net::IpAddr;
use std::sync::Arc;

/// Attribute sets the memo holds before it starts again.
const MEMO_SETS: usize = 4096;

/// What import does with a neighbour's routes.
pub struct ImportFilter {
    rule: Rule,
    /// An eBGP neighbour: its paths get the AS-path loop check.
    ebgp: bool,
    neighbor: IpAddr,
    local_as: u32,
    memo: Memo,
    /// Paths dropped by the loop check, in all.
    as_loops: u64,
}

enum Rule {
    /// Everything, unchanged (iBGP without a route-map).
    All,
    /// Nothing (RFC 8212: eBGP without a route-map).
    Nothing,
    Map(Arc<RouteMap>),
}

impl ImportFilter {
    /// The filter of a neighbour: its route-map, else everything, or
    /// nothing for eBGP when `ebgp_requires_policy` (RFC 8212).
    pub fn new(
        map: Option<Arc<RouteMap>>,
        ebgp: bool,
        ebgp_requires_policy: bool,
        neighbor: IpAddr,
        local_as: u32,
    ) -> ImportFilter {
        let rule = match map {
            Some(m) => Rule::Map(m),
            None if ebgp && ebgp_requires_policy => Rule::Nothing,
            None => Rule::All,
        };
        ImportFilter {
            rule,
            ebgp,
            neighbor,
            local_as,
            memo: Memo::default(),
            as_loops: 0,
        }
    }

    /// Whether it lets everything through unchanged (the loop check
    /// aside).
    pub fn is_open(&self) -> bool {
        matches!(self.rule, Rule::All)
    }

    /// Paths dropped so far because the AS_PATH the neighbour sent holds
    /// our AS (RFC 4271 §9.1.2).
    pub fn as_loops(&self) -> u64 {
        self.as_loops
    }

    /// The command with what import permits (changed as the route-map
    /// says) and what it denies withdrawn; and the number denied.
    pub fn filter(&mut self, cmd: RibCommand) -> (RibCommand, usize) {
        let RibCommand::Routes {
            peer,
            mut withdrawn,
            mut announced,
        } = cmd
        else {
            return (cmd, 0);
        };
        drop_local_weight(&mut announced);
        if self.ebgp {
            self.as_loops += drop_as_loops(&mut announced, &mut withdrawn, self.local_as) as u64;
        }
        let map = match &self.rule {
            Rule::All => {
                let cmd = RibCommand::Routes {
                    peer,
                    withdrawn,
                    announced,
                };
                return (cmd, 0);
            }
            Rule::Nothing => None,
            Rule::Map(m) => Some(m),
        };
        if self.memo.len() > MEMO_SETS {
            self.memo.clear();
        }
        let mut permitted: Vec<(Family, NlriEntry, Arc<PathAttributes>)> =
            Vec::with_capacity(announced.len());
        let mut denied = 0;
        for (family, entry, attrs) in announced {
            let verdict = match map {
                None => Verdict::Deny,
                Some(m) => m.apply_with(
                    &Route {
                        family,
                        prefix: &entry.prefix,
                        attrs: &attrs,
                        neighbor: self.neighbor,
                        local_as: self.local_as,
                        direction: Direction::Import,
                    },
                    &mut self.memo,
                ),
            };
            match verdict {
                Verdict::Permit(p) => permitted.push((family, entry, p.attrs)),
                Verdict::Deny => {
                    denied += 1;
                    withdrawn.push((family, entry));
                }
            }
        }
        (
            RibCommand::Routes {
                peer,
                withdrawn,
                announced: permitted,
            },
            denied,
        )
    }
}

/// Moves the paths whose AS_PATH holds `local_as` from `announced` to
/// `withdrawn` (the new advertisement replaces the old one, RFC 4271 §9);
/// how many. One check per attribute set.
fn drop_as_loops(
    announced: &mut Vec<(Family, NlriEntry, Arc<PathAttributes>)>,
    withdrawn: &mut Vec<(Family, NlriEntry)>,
    local_as: u32,
) -> usize {
    let mut last: Option<(*const PathAttributes, bool)> = None;
    let before = withdrawn.len();
    announced.retain(|(family, entry, attrs)| {
        let looped = match last {
            Some((ptr, v)) if std::ptr::eq(ptr, Arc::as_ptr(attrs)) => v,
            _ => {
                let v = attrs.as_path().is_some_and(|p| p.contains(local_as));
                last = Some((Arc::as_ptr(attrs), v));
                v
            }
        };
        if looped {
            withdrawn.push((*family, *entry));
        }
        !looped
    });
    withdrawn.len() - before
}

/// A weight is ours to set ([`type_code::LOCAL_WEIGHT`]): one a peer sends
/// in its place goes. One check per attribute set (the routes of an
/// UPDATE share theirs).
fn drop_local_weight(announced: &mut [(Family, NlriEntry, Arc<PathAttributes>)]) {
    let mut last: Option<(*const PathAttributes, Option<Arc<PathAttributes>>)> = None;
    for (_, _, attrs) in announced.iter_mut() {
        match &last {
            Some((ptr, replaced)) if std::ptr::eq(*ptr, Arc::as_ptr(attrs)) => {
                if let Some(r) = replaced {
                    *attrs = r.clone();
                }
                continue;
            }
            _ => {}
        }
        let ptr = Arc::as_ptr(attrs);
        let replaced = attrs.has(type_code::LOCAL_WEIGHT).then(|| {
            let mut a = (**attrs).clone();
            a.remove(type_code::LOCAL_WEIGHT);
            Arc::new(a)
        });
        if let Some(r) = &replaced {
            *attrs = r.clone();
        }
        last = Some((ptr, replaced));
    }
}
