//! A client's table route by route: for each prefix, a digest of the
//! attributes of the routes it holds for it, read from an MRT table dump
//! (BIRD, FRR) or from GoBGP's event stream, and compared with a reference
//! taken from the same client (so each daemon's own way of writing
//! attributes does not matter).

use speaker::mrt::{MrtReader, RecordData};
use speaker::wire::attr::MpNextHop;
use speaker::wire::{AttrValue, PathAttributes, Prefix};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

/// Attribute name -> value, for one route.
pub type Attrs = BTreeMap<String, String>;

/// Prefix -> digest of the distinct attribute sets its routes carry (two
/// copies of one route, from two sessions, count once).
pub type Routes = BTreeMap<Prefix, u64>;

fn list<T: Display>(v: &[T]) -> String {
    v.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The attributes of a route as text, one entry per attribute.
pub fn attrs(a: &PathAttributes) -> Attrs {
    let mut out = Attrs::new();
    for at in &a.attrs {
        let (k, v): (String, String) = match &at.value {
            AttrValue::Origin(o) => ("origin".into(), format!("{o:?}").to_lowercase()),
            AttrValue::AsPath(p) => ("as_path".into(), p.to_string()),
            AttrValue::NextHop(n) => ("next_hop".into(), n.to_string()),
            AttrValue::MpReachNlri(h) => (
                "next_hop".into(),
                match &h.next_hop {
                    MpNextHop::Ipv4(a) => a.to_string(),
                    MpNextHop::Ipv6(a) => a.to_string(),
                    other => format!("{other:?}"),
                },
            ),
            AttrValue::MultiExitDisc(m) => ("med".into(), m.to_string()),
            AttrValue::LocalPref(l) => ("local_pref".into(), l.to_string()),
            AttrValue::AtomicAggregate => ("atomic_aggregate".into(), "yes".into()),
            AttrValue::Aggregator(g) => ("aggregator".into(), format!("{} {}", g.asn, g.address)),
            AttrValue::Communities(c) => ("communities".into(), list(c)),
            AttrValue::OriginatorId(o) => ("originator_id".into(), o.to_string()),
            AttrValue::ClusterList(c) => (
                "cluster_list".into(),
                c.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            AttrValue::ExtendedCommunities(c) => ("ext_communities".into(), list(c)),
            AttrValue::LargeCommunities(c) => ("large_communities".into(), list(c)),
            AttrValue::As4Path(p) => ("as4_path".into(), p.to_string()),
            AttrValue::As4Aggregator(g) => {
                ("as4_aggregator".into(), format!("{} {}", g.asn, g.address))
            }
            AttrValue::Ipv6ExtendedCommunities(c) => ("ipv6_ext_communities".into(), list(c)),
            // BIRD writes NEXT_HOP into its dumps with no flags (the
            // decoder keeps it as invalid): the address all the same.
            AttrValue::Invalid {
                type_code: 3,
                value,
            } if value.len() == 4 => (
                "next_hop".into(),
                Ipv4Addr::new(value[0], value[1], value[2], value[3]).to_string(),
            ),
            AttrValue::Unknown { type_code, value } | AttrValue::Invalid { type_code, value } => (
                format!("attr {type_code}"),
                format!("flags {:#04x} value {value:02x?}", at.flags.0),
            ),
        };
        out.insert(k, v);
    }
    out
}

/// The digest of some attribute texts, whatever their order or repeats.
pub fn digest<'a>(texts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut v: Vec<&str> = texts.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    // DefaultHasher::new() has fixed keys: the same text, the same digest.
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fn text(a: &Attrs) -> String {
    a.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// Calls `each` with every BGP route (one with an ORIGIN: a daemon's
/// dump may hold its interface routes too) of an MRT TABLE_DUMP_V2 file.
pub fn each_bgp_route(
    path: &Path,
    mut each: impl FnMut(Prefix, &PathAttributes),
) -> Result<(), String> {
    let reader = MrtReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for r in reader {
        let r = r.map_err(|e| format!("{}: {e}", path.display()))?;
        let RecordData::Rib(rib) = r.data else {
            continue;
        };
        for e in &rib.entries {
            if e.attributes.origin().is_some() {
                each(rib.nlri.prefix, &e.attributes);
            }
        }
    }
    Ok(())
}

/// The BGP routes of an MRT TABLE_DUMP_V2 file.
pub fn read_mrt(path: &Path) -> Result<Routes, String> {
    let mut texts: BTreeMap<Prefix, Vec<String>> = BTreeMap::new();
    each_bgp_route(path, |prefix, a| {
        texts.entry(prefix).or_default().push(text(&attrs(a)));
    })?;
    Ok(texts
        .into_iter()
        .map(|(p, t)| (p, digest(t.iter().map(String::as_str))))
        .collect())
}

/// Asks for a table dump into `path` (`dump`), then reads it once the
/// daemon has finished writing it (the file is readable and has not grown
/// for half a second), and removes it (a full table's dump is tens of
/// megabytes).
pub fn dump_and_read(
    path: &Path,
    dump: impl FnOnce() -> Result<(), String>,
) -> Result<Routes, String> {
    dump()?;
    let mut last = (0, String::new());
    let got = crate::netns::wait_for(120, || {
        let before = std::fs::metadata(path).ok()?.len();
        std::thread::sleep(Duration::from_millis(500));
        let after = std::fs::metadata(path).ok()?.len();
        if before != after || after == 0 {
            return None;
        }
        match read_mrt(path) {
            Ok(r) if !r.is_empty() => Some(r),
            Ok(_) => None,
            Err(e) => {
                last = (after, e);
                None
            }
        }
    });
    if got.is_some() {
        let _ = std::fs::remove_file(path);
    }
    got.ok_or_else(|| {
        format!(
            "{}: no complete dump ({} octets: {})",
            path.display(),
            last.0,
            last.1
        )
    })
}

/// How a table differs from its reference.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Difference {
    /// Prefixes compared.
    pub compared: usize,
    pub missing: Vec<Prefix>,
    pub extra: Vec<Prefix>,
    /// Present in both, with other attributes.
    pub changed: Vec<Prefix>,
}

impl Difference {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.changed.is_empty()
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let few = |v: &[Prefix]| {
            v.iter()
                .take(5)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "{} compared, {} missing [{}], {} extra [{}], {} changed [{}]",
            self.compared,
            self.missing.len(),
            few(&self.missing),
            self.extra.len(),
            few(&self.extra),
            self.changed.len(),
            few(&self.changed)
        )
    }
}

/// Compares `now` with `reference`, route by route, leaving out the
/// prefixes `skip` names (those a live stream changes all the time).
pub fn compare(reference: &Routes, now: &Routes, skip: impl Fn(&Prefix) -> bool) -> Difference {
    let mut d = Difference::default();
    for (p, r) in reference.iter().filter(|(p, _)| !skip(p)) {
        d.compared += 1;
        match now.get(p) {
            None => d.missing.push(*p),
            Some(n) if n != r => d.changed.push(*p),
            Some(_) => {}
        }
    }
    d.extra = now
        .keys()
        .filter(|p| !skip(p) && !reference.contains_key(p))
        .copied()
        .collect();
    d
}

/// Reads the tables (`read`, one per client) until each equals its
/// `reference` (by [`compare`]) or `deadline` has passed, 10 s apart; the
/// differences of the last reading.
pub fn until_equal(
    reference: &[Routes],
    mut read: impl FnMut() -> Vec<Routes>,
    skip: impl Fn(&Prefix) -> bool,
    deadline: std::time::Instant,
) -> Vec<Difference> {
    loop {
        let now = read();
        let differences: Vec<Difference> = reference
            .iter()
            .zip(&now)
            .map(|(r, n)| compare(r, n, &skip))
            .collect();
        if differences.iter().all(Difference::is_empty) || std::time::Instant::now() > deadline {
            return differences;
        }
        std::thread::sleep(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    #[test]
    fn routes_compare_by_prefix_and_digest_leaving_out_what_is_skipped() {
        let reference: Routes = [
            (p("198.18.0.0/24"), digest(["a"])),
            (p("198.18.1.0/24"), digest(["b"])),
            (p("198.18.2.0/24"), digest(["c"])),
            (p("198.19.0.0/24"), digest(["churn"])),
        ]
        .into_iter()
        .collect();
        let now: Routes = [
            (p("198.18.0.0/24"), digest(["a", "a"])),
            (p("198.18.1.0/24"), digest(["b2"])),
            (p("198.18.9.0/24"), digest(["x"])),
        ]
        .into_iter()
        .collect();
        let churn = |q: &Prefix| q.to_string().starts_with("198.19.");
        let d = compare(&reference, &now, churn);
        assert_eq!(d.compared, 3);
        assert_eq!(d.missing, vec![p("198.18.2.0/24")]);
        assert_eq!(d.changed, vec![p("198.18.1.0/24")]);
        assert_eq!(d.extra, vec![p("198.18.9.0/24")]);
        assert!(compare(&reference, &reference, churn).is_empty());
        assert_eq!(digest(["x", "y"]), digest(["y", "x", "y"]));
    }
}
