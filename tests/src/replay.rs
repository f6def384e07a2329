//! A replay source for tests: a minimal BGP speaker that sends a real
//! table (an MRT RIB dump) to a router over one session, then keeps the
//! session up until dropped.
//!
//! ```ignore
//! let routes = Routes::from_rib(path)?;
//! let sender = Sender { address: src.v4, local_as: 65001, peer_as: 65000 };
//! let table = Arc::new(Table::encode(&routes, &sender));
//! let source = Source::start(&src.ns, router.v4, sender, table);
//! source.wait_sent(Duration::from_secs(60))?;
//! ```

mod session;
mod table;

pub use session::{Source, State};
pub use table::{Churn, Routes, Sender, Table};

/// The full IPv4 table of the shared BGP data (PCH, AS3856, 2015: 577,703
/// prefixes), as a TABLE_DUMP_V2 RIB dump.
pub fn full_ipv4_table() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/bgp-data/mrt/derived/DERIVED_rib-from-updates.et-header.2015_pch-as3856_fullv4.gz",
    )
}

impl Sender {
    /// `node` sending as an iBGP speaker of `asn` (its addresses as next
    /// hops and router id).
    pub fn internal(node: &crate::netns::Node, asn: u32) -> Sender {
        Sender {
            address: node.v4,
            address_v6: node.v6,
            local_as: asn,
            peer_as: asn,
        }
    }
}
