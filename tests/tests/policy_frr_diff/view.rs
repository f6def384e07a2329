//! What a BIRD client holds, read from its MRT table dump: per prefix,
//! the attributes as text, in the order BIRD holds them (communities too,
//! though they are sets: FRR and Reflex agree on their order here).

pub use reflex_tests::table::{Attrs, attrs};
use speaker::wire::Prefix;
use std::collections::BTreeMap;
use std::path::Path;

/// Prefix -> attributes of the one route BIRD holds for it.
pub type View = BTreeMap<Prefix, Attrs>;

/// Reads a BIRD table dump: BGP routes only (those with an ORIGIN; BIRD
/// also holds its interface routes).
pub fn read(path: &Path) -> Result<View, String> {
    let mut out = View::new();
    reflex_tests::table::each_bgp_route(path, |prefix, a| {
        out.insert(prefix, attrs(a));
    })?;
    Ok(out)
}
