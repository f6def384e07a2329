//! What the consensus tests share: members on loopback with the cluster's
//! certificates (made once per test directory), and the operator.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use consensus::manage::ManageError;
use consensus::protocol::{ClusterStatus, Manage};
use consensus::tls::{Tls, TlsFiles, make_certificates};
use consensus::{Member, Transport};
use speaker::rib::{PeerId, RibCommand, RibConfig};
use speaker::wire::attr::{AsPath, AttrValue, Origin, PathAttribute};
use speaker::wire::{Family, NlriEntry, PathAttributes, Prefix};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use storage::{NoHook, NodeId};

/// The RIB every test member runs.
pub fn rib_config() -> RibConfig {
    RibConfig {
        local_as: 65000,
        router_id: Ipv4Addr::new(198, 18, 0, 1),
        cluster_id: Ipv4Addr::new(198, 18, 0, 1),
        decision: Default::default(),
        policy: Default::default(),
        ebgp_requires_policy: false,
    }
}

/// Members 1 to 5 and the operator, in `dir/certs`.
pub fn certs(dir: &Path) -> PathBuf {
    let certs = dir.join("certs");
    if !certs.join("ca.pem").exists() {
        make_certificates(&certs, &[1, 2, 3, 4, 5], true).unwrap();
    }
    certs
}

/// The TLS side of `name` (`member-N` or `operator`).
pub fn tls(dir: &Path, name: &str) -> Arc<Tls> {
    Tls::load(TlsFiles::in_dir(&certs(dir), name)).unwrap()
}

/// Member `id` on `addr` (port 0: any), its store in `dir/ID`.
pub async fn start(id: NodeId, addr: SocketAddr, dir: &Path, rib: RibConfig) -> Member {
    // A member just shut down may hold its store's lock a moment longer
    // (its tasks end after `shutdown` returns): try again for a while.
    let mut tries = 0;
    loop {
        let transport = Transport::Tls {
            listen: addr,
            tls: tls(dir, &format!("member-{id}")),
        };
        match Member::start(
            id,
            transport,
            &dir.join(id.to_string()),
            rib.clone(),
            Box::new(NoHook),
        )
        .await
        {
            Ok(m) => return m,
            Err(e) if tries < 50 && e.to_string().contains("could not acquire lock") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("member {id} did not start: {e}"),
        }
    }
}

/// Where `m` listens.
pub fn socket(m: &Member) -> SocketAddr {
    m.addr.expect("a member with a Raft transport")
}

pub fn addr(m: &Member) -> String {
    socket(m).to_string()
}

/// `reflex cluster ...` asked of `m` as the operator (certificates in
/// `dir/certs`).
pub async fn ask(dir: &Path, m: &Member, what: Manage) -> Result<ClusterStatus, ManageError> {
    consensus::manage::ask(&addr(m), tls(dir, "operator"), what).await
}

/// `count` host routes from `first` (in 198.18.0.0/15) announced by `peer`.
pub fn routes(peer: u32, first: u32, count: u32, med: u32) -> RibCommand {
    let attrs = Arc::new(PathAttributes::new(vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::sequence(vec![64512, 64513]))),
        PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(198, 18, 1, peer as u8))),
        PathAttribute::new(AttrValue::MultiExitDisc(med)),
    ]));
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    RibCommand::Routes {
        peer: PeerId(peer),
        withdrawn: vec![],
        announced: (first..first + count)
            .map(|i| {
                let p = Prefix::new(IpAddr::V4(Ipv4Addr::from(base + i)), 32).unwrap();
                (Family::IPV4_UNICAST, NlriEntry::plain(p), attrs.clone())
            })
            .collect(),
    }
}
