//! openraft's storage conformance suite against the sled log store and the
//! RIB state machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use speaker::rib::RibConfig;
use std::net::Ipv4Addr;
use storage::{LogStore, NoHook, NodeId, StateMachine, TypeConfig};
use tempfile::TempDir;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = RibConfig {
            local_as: 65000,
            router_id: Ipv4Addr::new(198, 18, 0, 1),
            cluster_id: Ipv4Addr::new(198, 18, 0, 1),
            decision: Default::default(),
            policy: Default::default(),
            ebgp_requires_policy: false,
        };
        let (log, sm) = storage::open(dir.path(), config, Box::new(NoHook)).expect("store opens");
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder).unwrap();
}
