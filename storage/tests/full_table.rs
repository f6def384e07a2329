//! A full IPv4 table (PCH 2015, one iBGP session) as Raft entries: every
//! batch goes through the stored encoding (as on a follower), is applied
//! by the state machine, and a snapshot of the result restores the same
//! RIB in a reopened store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder};
use speaker::mrt::MrtReader;
use speaker::mrt::bgp4mp::Bgp4mp;
use speaker::mrt::record::RecordData;
use speaker::rib::{NextHopSelf, PeerId, PeerInfo, RibCommand, RibConfig};
use speaker::wire::{Family, Message};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;
use storage::{NoHook, Request, TypeConfig, format};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/bgp-data/mrt/updates/bgpdump_updates.et-header.2015.gz"
);

/// Paths per log entry.
const BATCH: usize = 4096;

fn config() -> RibConfig {
    RibConfig {
        local_as: 3856,
        router_id: Ipv4Addr::new(198, 18, 0, 1),
        cluster_id: Ipv4Addr::new(198, 18, 0, 100),
        decision: Default::default(),
        policy: Default::default(),
        ebgp_requires_policy: false,
    }
}

fn peer(id: u32) -> PeerInfo {
    PeerInfo {
        id: PeerId(id),
        address: IpAddr::V4(Ipv4Addr::new(198, 18, 1, id as u8)),
        asn: 3856,
        router_id: Ipv4Addr::new(198, 19, 0, id as u8),
        rr_client: true,
        cluster_id: None,
        families: vec![Family::IPV4_UNICAST],
        add_path_send: vec![],
        four_octet_as: true,
        next_hop_self: NextHopSelf::default(),
        import: None,
        export: None,
        long_lived: false,
    }
}

fn entry(index: u64, commands: Vec<RibCommand>) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Normal(Request::new(commands)),
    }
}

/// The table's commands, grouped into requests of about `BATCH` paths.
fn requests() -> (Vec<Vec<RibCommand>>, usize) {
    let mut all = Vec::new();
    let mut batch = vec![RibCommand::PeerUp(peer(1)), RibCommand::PeerUp(peer(2))];
    let mut paths = 0;
    let mut in_batch = 0;
    for r in MrtReader::open(FILE).expect("shared data folder") {
        if let RecordData::Bgp4mp(Bgp4mp::Message(m)) = r.unwrap().data
            && let Ok(Message::Update(u)) = m.message
        {
            let c = RibCommand::from_update(PeerId(1), &u);
            if let RibCommand::Routes {
                withdrawn,
                announced,
                ..
            } = &c
            {
                in_batch += withdrawn.len() + announced.len();
                paths += withdrawn.len() + announced.len();
            }
            batch.push(c);
            if in_batch >= BATCH {
                all.push(std::mem::take(&mut batch));
                in_batch = 0;
            }
        }
    }
    all.push(batch);
    (all, paths)
}

#[tokio::test(flavor = "current_thread")]
async fn full_table_through_the_log_format_snapshot_and_restart() {
    let (batches, paths) = requests();
    let dir = tempfile::tempdir().unwrap();
    let (_, mut sm) = storage::open(dir.path(), config(), Box::new(NoHook)).unwrap();

    // Each entry is encoded and decoded as the log and the network do.
    let start = Instant::now();
    let mut octets = 0usize;
    let entries: Vec<Entry<TypeConfig>> = batches
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let e = format::encode(&entry(i as u64 + 1, b)).unwrap();
            octets += e.len();
            format::decode(&e).unwrap()
        })
        .collect();
    let coded = start.elapsed();
    let mut entries = entries;
    // Who runs the sessions: replicated state too.
    let owners: storage::Owners = [(PeerId(1), 1), (PeerId(2), 3)].into_iter().collect();
    let owners_entry: Entry<TypeConfig> = Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), entries.len() as u64 + 1),
        payload: EntryPayload::Normal(Request::owners(owners.clone())),
    };
    entries.push(format::decode(&format::encode(&owners_entry).unwrap()).unwrap());
    let n = entries.len() as u64;
    let start = Instant::now();
    let responses = sm.apply(entries).await.unwrap();
    let applied = start.elapsed();
    assert_eq!(responses.len() as u64, n);
    let (digest, loc) = {
        let a = sm.applied();
        assert_eq!(a.last_applied.map(|l| l.index), Some(n));
        (a.rib.digest(), a.rib.loc_rib_len())
    };
    // 577,703 destinations, less the 4 with AS 0 in AS_PATH (RFC 7607).
    assert_eq!(loc, 577_699);
    eprintln!(
        "full table: {paths} paths in {n} entries ({} MiB encoded); encode+decode {coded:.2?} \
         ({:.0} paths/s), apply {applied:.2?} ({:.0} paths/s)",
        octets >> 20,
        paths as f64 / coded.as_secs_f64(),
        paths as f64 / applied.as_secs_f64()
    );

    let start = Instant::now();
    let snap = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let built = start.elapsed();
    let size = snap.snapshot.get_ref().len();
    assert_eq!(snap.meta.last_log_id.map(|l| l.index), Some(n));
    drop(sm);

    // A restart: the RIB is back from the snapshot alone.
    let start = Instant::now();
    let (_, mut again) = storage::open(dir.path(), config(), Box::new(NoHook)).unwrap();
    let reopened = start.elapsed();
    let (applied_id, _) = again.applied_state().await.unwrap();
    assert_eq!(applied_id.map(|l| l.index), Some(n));
    {
        let a = again.applied();
        assert_eq!(a.rib.loc_rib_len(), 577_699);
        assert_eq!(a.rib.digest(), digest);
        assert_eq!(a.owners, owners);
    }
    eprintln!(
        "full table: snapshot of {} MiB built in {built:.2?}; reopened with the RIB in {reopened:.2?}",
        size >> 20
    );
}
