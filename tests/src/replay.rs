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
