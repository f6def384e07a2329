//! What a BIRD client holds, read from its MRT table dump: per prefix,
//! the attributes as text, in the order BIRD holds them (communities too,
//! though they are sets: FRR and Reflex agree on their order here).

use speaker::mrt::{MrtReader, RecordData};
use speaker::wire::attr::MpNextHop;
use speaker::wire::{AttrValue, PathAttributes, Prefix};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::Ipv4Addr;
use std::path::Path;

/// Attribute name -> value, for one route.
pub type Attrs = BTreeMap<String, String>;

/// Prefix -> attributes of the one route BIRD holds for it.
pub type View = BTreeMap<Prefix, Attrs>;

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

/// Reads a BIRD table dump: BGP routes only (those with an ORIGIN; BIRD
/// also holds its interface routes).
pub fn read(path: &Path) -> Result<View, String> {
    let reader = MrtReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = View::new();
    for r in reader {
        let r = r.map_err(|e| format!("{}: {e}", path.display()))?;
        let RecordData::Rib(rib) = r.data else {
            continue;
        };
        for e in &rib.entries {
            if e.attributes.origin().is_some() {
                out.insert(rib.nlri.prefix, attrs(&e.attributes));
            }
        }
    }
    Ok(out)
}
