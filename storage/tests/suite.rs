//! openraft's storage conformance suite against the sled log store and the
//! RIB state machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use storage::{LogStore, NoHook, NodeId, StateMachine, TypeConfig};
use tempfile::TempDir;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (log, sm) =
            storage::open(dir.path(), common::config(), Box::new(NoHook)).expect("store opens");
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder).unwrap();
}
