//! The policy sections: `[prefix-list.NAME]`, `[as-path-list.NAME]`,
//! `[community-list.NAME]` and `[[route-map.NAME]]`, checked value by
//! value here, then compiled whole by `speaker::policy::Policy::compile`,
//! whose problems are reported at the list or route-map entry they name.

use super::super::error::Problem;
use super::super::locate::join;
use super::super::raw::{
    IntOrInts, IntOrString, RawCommunityEntry, RawConfig, RawMatch, RawRouteMapEntry, RawSet,
};
use super::Checker;
use speaker::policy::community_list::{EntryDef, Values};
use speaker::policy::{
    Action, CommunityKind, CommunityValues, Match, MatchDef, MedSet, NextHopSet, OnMatch, Place,
    Policy, PolicyDef, PrefixListEntry, Prepend, RouteMapEntryDef, Set, SetDef,
};
use speaker::wire::Prefix;
use speaker::wire::attr::{Community, ExtCommunity, LargeCommunity, Origin};
use std::ops::RangeInclusive;
use std::str::FromStr;

fn route_map_key(name: &str, index: usize) -> String {
    format!("{}[{index}]", join("route-map", name))
}

impl Checker<'_> {
    /// The policy definitions, each value checked; then the whole compiled,
    /// which finds what only the whole shows (unknown names, bad
    /// expressions, impossible ranges). `None` when anything is wrong
    /// (reported).
    pub(super) fn policy(&mut self, raw: &RawConfig) -> Option<Policy> {
        let before = self.diagnostics.len();
        let mut def = PolicyDef::default();
        for (name, list) in &raw.prefix_list {
            let prefix = join(&join("prefix-list", name), "entries");
            let entries = list
                .entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let key = format!("{prefix}[{i}]");
                    let seq = self.seq(&key, e.seq, i);
                    let action = self.action(&key, e.action.as_deref());
                    let p = match &e.prefix {
                        None => {
                            self.report(&key, Problem::Missing("prefix"));
                            None
                        }
                        Some(s) => self.parse::<Prefix>(
                            &join(&key, "prefix"),
                            s,
                            "a prefix (ADDRESS/LENGTH)",
                        ),
                    };
                    let ge = e.ge.and_then(|v| self.length(&join(&key, "ge"), v));
                    let le = e.le.and_then(|v| self.length(&join(&key, "le"), v));
                    Some(PrefixListEntry {
                        seq: seq?,
                        action: action?,
                        prefix: p?,
                        ge,
                        le,
                    })
                })
                .collect();
            def.prefix_lists.insert(name.clone(), entries);
        }
        for (name, list) in &raw.as_path_list {
            let prefix = join(&join("as-path-list", name), "entries");
            let entries = list
                .entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let key = format!("{prefix}[{i}]");
                    let action = self.action(&key, e.action.as_deref());
                    let regex = e.regex.clone();
                    if regex.is_none() {
                        self.report(&key, Problem::Missing("regex"));
                    }
                    Some((action?, regex?))
                })
                .collect();
            def.as_path_lists.insert(name.clone(), entries);
        }
        for (name, list) in &raw.community_list {
            let table = join("community-list", name);
            let kind = match list.kind.as_deref() {
                None | Some("standard") => CommunityKind::Standard,
                Some("extended") => CommunityKind::Extended,
                Some("large") => CommunityKind::Large,
                Some(other) => {
                    self.report(
                        &join(&table, "kind"),
                        Problem::NotA {
                            value: other.to_string(),
                            expected: "a community list kind (`standard`, `extended` or `large`)",
                        },
                    );
                    continue;
                }
            };
            let prefix = join(&table, "entries");
            let entries = list
                .entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| self.community_entry(&format!("{prefix}[{i}]"), kind, e))
                .collect();
            def.community_lists.insert(name.clone(), (kind, entries));
        }
        for (name, entries) in &raw.route_map {
            let entries = entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| self.route_map_entry(&route_map_key(name, i), i, e))
                .collect();
            def.route_maps.insert(name.clone(), entries);
        }
        if self.diagnostics.len() > before {
            return None;
        }
        match Policy::compile(&def) {
            Ok(policy) => Some(policy),
            Err(errors) => {
                for e in errors {
                    let key = match &e.place {
                        Place::PrefixList(n) => join("prefix-list", n),
                        Place::AsPathList(n) => join("as-path-list", n),
                        Place::CommunityList(n) => join("community-list", n),
                        Place::RouteMap { name, index, .. } => route_map_key(name, *index),
                    };
                    self.report(&key, Problem::Policy(e.to_string()));
                }
                None
            }
        }
    }

    fn parse<T: FromStr>(&mut self, key: &str, s: &str, expected: &'static str) -> Option<T> {
        match s.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                self.report(
                    key,
                    Problem::NotA {
                        value: s.to_string(),
                        expected,
                    },
                );
                None
            }
        }
    }

    /// `seq`, or the entry's place (1, 2, ...) times 10 when not written.
    fn seq(&mut self, key: &str, seq: Option<i64>, index: usize) -> Option<u32> {
        match seq {
            None => u32::try_from((index + 1) * 10).ok(),
            Some(n) => match u32::try_from(n) {
                Ok(v) => Some(v),
                Err(_) => {
                    self.report(
                        &join(key, "seq"),
                        Problem::NotA {
                            value: n.to_string(),
                            expected: "a sequence number (0 to 4294967295)",
                        },
                    );
                    None
                }
            },
        }
    }

    fn action(&mut self, key: &str, action: Option<&str>) -> Option<Action> {
        match action {
            Some("permit") => Some(Action::Permit),
            Some("deny") => Some(Action::Deny),
            None => {
                self.report(key, Problem::Missing("action"));
                None
            }
            Some(other) => {
                self.report(
                    &join(key, "action"),
                    Problem::NotA {
                        value: other.to_string(),
                        expected: "an action (`permit` or `deny`)",
                    },
                );
                None
            }
        }
    }

    fn length(&mut self, key: &str, v: i64) -> Option<u8> {
        match u8::try_from(v) {
            Ok(l) if l <= 128 => Some(l),
            _ => {
                self.report(
                    key,
                    Problem::NotA {
                        value: v.to_string(),
                        expected: "a prefix length (0 to 32 for IPv4, 0 to 128 for IPv6)",
                    },
                );
                None
            }
        }
    }

    fn u32_value(&mut self, key: &str, v: i64, what: &'static str) -> Option<u32> {
        match u32::try_from(v) {
            Ok(x) => Some(x),
            Err(_) => {
                self.report(
                    key,
                    Problem::NotA {
                        value: v.to_string(),
                        expected: what,
                    },
                );
                None
            }
        }
    }

    fn community_values(
        &mut self,
        key: &str,
        kind: CommunityKind,
        values: &[String],
    ) -> Option<Values> {
        let mut ok = true;
        let mut std = Vec::new();
        let mut ext = Vec::new();
        let mut large = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let k = format!("{key}[{i}]");
            let parsed = match kind {
                CommunityKind::Standard => v
                    .parse::<Community>()
                    .map(|c| std.push(c))
                    .map_err(|e| e.to_string()),
                CommunityKind::Extended => v
                    .parse::<ExtCommunity>()
                    .map(|c| ext.push(c))
                    .map_err(|e| e.to_string()),
                CommunityKind::Large => v
                    .parse::<LargeCommunity>()
                    .map(|c| large.push(c))
                    .map_err(|e| e.to_string()),
            };
            if let Err(e) = parsed {
                self.report(&k, Problem::Policy(e));
                ok = false;
            }
        }
        ok.then_some(match kind {
            CommunityKind::Standard => Values::Standard(std),
            CommunityKind::Extended => Values::Extended(ext),
            CommunityKind::Large => Values::Large(large),
        })
    }

    fn community_entry(
        &mut self,
        key: &str,
        kind: CommunityKind,
        e: &RawCommunityEntry,
    ) -> Option<(Action, EntryDef)> {
        let action = self.action(key, e.action.as_deref());
        let def = match (&e.values, &e.regex) {
            (Some(v), None) => self
                .community_values(&join(key, "values"), kind, v)
                .map(EntryDef::Values),
            (None, Some(r)) => Some(EntryDef::Regex(r.clone())),
            _ => {
                self.report(key, Problem::OneOf("values", "regex"));
                None
            }
        };
        Some((action?, def?))
    }

    /// `N` or `LOW-HIGH`.
    fn range(&mut self, key: &str, s: &str) -> Option<RangeInclusive<u32>> {
        let parsed = match s.split_once('-') {
            Some((a, b)) => a.trim().parse().ok().zip(b.trim().parse().ok()),
            None => s.trim().parse().ok().map(|v| (v, v)),
        };
        match parsed {
            Some((a, b)) => Some(a..=b),
            None => {
                self.report(
                    key,
                    Problem::NotA {
                        value: s.to_string(),
                        expected: "a value or range (N or LOW-HIGH, 0 to 4294967295)",
                    },
                );
                None
            }
        }
    }

    fn origin(&mut self, key: &str, s: &str) -> Option<Origin> {
        match s {
            "igp" => Some(Origin::Igp),
            "egp" => Some(Origin::Egp),
            "incomplete" => Some(Origin::Incomplete),
            _ => {
                self.report(
                    key,
                    Problem::NotA {
                        value: s.to_string(),
                        expected: "an origin (`igp`, `egp` or `incomplete`)",
                    },
                );
                None
            }
        }
    }

    fn addresses(&mut self, key: &str, list: &[String]) -> Option<Vec<std::net::IpAddr>> {
        let v: Vec<Option<std::net::IpAddr>> = list
            .iter()
            .enumerate()
            .map(|(i, s)| self.ip(&format!("{key}[{i}]"), s))
            .collect();
        v.into_iter().collect()
    }

    fn matches(&mut self, key: &str, m: &RawMatch) -> Option<Vec<MatchDef>> {
        let before = self.diagnostics.len();
        let mut out = Vec::new();
        if let Some(n) = &m.prefix_list {
            out.push(MatchDef::PrefixList(n.clone()));
        }
        if let Some(n) = &m.next_hop_list {
            out.push(MatchDef::NextHopList(n.clone()));
        }
        if let Some(n) = &m.as_path {
            out.push(MatchDef::AsPath(n.clone()));
        }
        match (&m.community, m.community_exact) {
            (Some(list), exact) => out.push(MatchDef::Community {
                list: list.clone(),
                exact: exact.unwrap_or(false),
            }),
            (None, Some(_)) => self.report(
                &join(key, "community-exact"),
                Problem::Policy(
                    "`community-exact` needs `community` (the list to match exactly)".into(),
                ),
            ),
            (None, None) => {}
        }
        if let Some(a) = &m.next_hop
            && let Some(v) = self.addresses(&join(key, "next-hop"), a)
        {
            out.push(MatchDef::Plain(Match::NextHop(v)));
        }
        if let Some(a) = &m.neighbor
            && let Some(v) = self.addresses(&join(key, "neighbor"), a)
        {
            out.push(MatchDef::Plain(Match::Neighbor(v)));
        }
        if let Some(list) = &m.origin_as {
            let k = join(key, "origin-as");
            let ranges: Vec<Option<RangeInclusive<u32>>> = list
                .iter()
                .enumerate()
                .map(|(i, s)| self.range(&format!("{k}[{i}]"), s))
                .collect();
            if let Some(r) = ranges.into_iter().collect() {
                out.push(MatchDef::Plain(Match::OriginAs(r)));
            }
        }
        if let Some(s) = &m.med
            && let Some(r) = self.range(&join(key, "med"), s)
        {
            out.push(MatchDef::Plain(Match::Med(r)));
        }
        if let Some(s) = &m.local_pref
            && let Some(r) = self.range(&join(key, "local-pref"), s)
        {
            out.push(MatchDef::Plain(Match::LocalPref(r)));
        }
        if let Some(s) = &m.origin
            && let Some(o) = self.origin(&join(key, "origin"), s)
        {
            out.push(MatchDef::Plain(Match::Origin(o)));
        }
        (self.diagnostics.len() == before).then_some(out)
    }

    fn community_set(
        &mut self,
        key: &str,
        kind: CommunityKind,
        values: &[String],
    ) -> Option<CommunityValues> {
        Some(match self.community_values(key, kind, values)? {
            Values::Standard(v) => CommunityValues::Standard(v),
            Values::Extended(v) => CommunityValues::Extended(v),
            Values::Large(v) => CommunityValues::Large(v),
        })
    }

    fn sets(&mut self, key: &str, s: &RawSet) -> Option<Vec<SetDef>> {
        let before = self.diagnostics.len();
        let mut out = Vec::new();
        let mut plain = |set: Set| out.push(SetDef::Plain(set));
        if let Some(v) = s.local_pref
            && let Some(v) = self.u32_value(
                &join(key, "local-pref"),
                v,
                "a local preference (0 to 4294967295)",
            )
        {
            plain(Set::LocalPref(v));
        }
        if let Some(m) = &s.med {
            let k = join(key, "med");
            let med = match m {
                IntOrString::Int(v) => self
                    .u32_value(&k, *v, "a MED (0 to 4294967295)")
                    .map(MedSet::Value),
                IntOrString::Str(t) => {
                    let (make, digits): (fn(u32) -> MedSet, &str) = match t.as_bytes().first() {
                        Some(b'+') => (MedSet::Add, &t[1..]),
                        Some(b'-') => (MedSet::Subtract, &t[1..]),
                        _ => (MedSet::Value, t.as_str()),
                    };
                    self.parse::<u32>(&k, digits, "a MED (N, +N or -N, 0 to 4294967295)")
                        .map(make)
                }
            };
            if let Some(m) = med {
                plain(Set::Med(m));
            }
        }
        if let Some(o) = &s.origin
            && let Some(o) = self.origin(&join(key, "origin"), o)
        {
            plain(Set::Origin(o));
        }
        if let Some(n) = &s.next_hop {
            let nh = match n.as_str() {
                "self" => Some(NextHopSet::SelfAddress),
                "unchanged" => Some(NextHopSet::Unchanged),
                "peer-address" => Some(NextHopSet::PeerAddress),
                a => self
                    .parse(
                        &join(key, "next-hop"),
                        a,
                        "a next hop (an address, `self`, `unchanged` or `peer-address`)",
                    )
                    .map(NextHopSet::Address),
            };
            if let Some(nh) = nh {
                plain(Set::NextHop(nh));
            }
        }
        if let Some(p) = &s.prepend {
            let k = join(key, "prepend");
            let pre = match p {
                IntOrInts::Int(n) => match u8::try_from(*n) {
                    Ok(n) if (1..=32).contains(&n) => Some(Prepend::Own(n)),
                    _ => {
                        self.report(
                            &k,
                            Problem::NotA {
                                value: n.to_string(),
                                expected: "a count of our AS to prepend (1 to 32), or a list of ASNs",
                            },
                        );
                        None
                    }
                },
                IntOrInts::Ints(v) => {
                    let asns: Vec<Option<u32>> = v
                        .iter()
                        .enumerate()
                        .map(|(i, n)| self.asn(&format!("{k}[{i}]"), *n))
                        .collect();
                    asns.into_iter()
                        .collect::<Option<Vec<u32>>>()
                        .map(Prepend::Asns)
                }
            };
            if let Some(p) = pre {
                plain(Set::Prepend(p));
            }
        }
        if let Some(v) = &s.exclude {
            let k = join(key, "exclude");
            let asns: Vec<Option<u32>> = v
                .iter()
                .enumerate()
                .map(|(i, n)| self.asn(&format!("{k}[{i}]"), *n))
                .collect();
            if let Some(a) = asns.into_iter().collect() {
                plain(Set::Exclude(a));
            }
        }
        let mut removes = Vec::new();
        let kinds = [
            (
                CommunityKind::Standard,
                "community",
                &s.community_add,
                &s.community_replace,
                &s.community_remove,
            ),
            (
                CommunityKind::Extended,
                "ext-community",
                &s.ext_community_add,
                &s.ext_community_replace,
                &s.ext_community_remove,
            ),
            (
                CommunityKind::Large,
                "large-community",
                &s.large_community_add,
                &s.large_community_replace,
                &s.large_community_remove,
            ),
        ];
        for (kind, name, add, replace, remove) in kinds {
            if let Some(v) = add
                && let Some(c) = self.community_set(&join(key, &format!("{name}-add")), kind, v)
            {
                plain(Set::CommunityAdd(c));
            }
            if let Some(v) = replace
                && let Some(c) = self.community_set(&join(key, &format!("{name}-replace")), kind, v)
            {
                plain(Set::CommunityReplace(c));
            }
            if let Some(list) = remove {
                removes.push(SetDef::CommunityRemove(list.clone()));
            }
        }
        if let Some(w) = s.weight
            && let Some(w) = self.u32_value(&join(key, "weight"), w, "a weight (0 to 4294967295)")
        {
            plain(Set::Weight(w));
        }
        out.extend(removes);
        (self.diagnostics.len() == before).then_some(out)
    }

    fn route_map_entry(
        &mut self,
        key: &str,
        index: usize,
        e: &RawRouteMapEntry,
    ) -> Option<RouteMapEntryDef> {
        let seq = self.seq(key, e.seq, index);
        let action = self.action(key, e.action.as_deref());
        let on_match = match e.on_match.as_deref() {
            None | Some("exit") => Some(OnMatch::Exit),
            Some("next") => Some(OnMatch::Next),
            Some(s) => match s.strip_prefix("goto ").map(|n| n.trim().parse::<u32>()) {
                Some(Ok(n)) => Some(OnMatch::Goto(n)),
                _ => {
                    self.report(
                        &join(key, "on-match"),
                        Problem::NotA {
                            value: s.to_string(),
                            expected: "an on-match (`exit`, `next` or `goto N`)",
                        },
                    );
                    None
                }
            },
        };
        let matches = match &e.matches {
            Some(m) => self.matches(&join(key, "match"), m),
            None => Some(Vec::new()),
        };
        let sets = match &e.set {
            Some(s) => self.sets(&join(key, "set"), s),
            None => Some(Vec::new()),
        };
        Some(RouteMapEntryDef {
            seq: seq?,
            action: action?,
            matches: matches?,
            sets: sets?,
            on_match: on_match?,
        })
    }
}
