//! Pings and pre-vote elections. openraft 0.9 has no pre-vote: a member
//! cut off from the others would start election after election, each
//! with a higher term, and on its return depose a healthy leader. Here
//! openraft never elects on its own (`enable_elect` is off); every member
//! pings the other voters a few times a second ([`crate::contact`]) and
//! starts an election only when it has heard no leader for longer than a
//! leader's lease and a majority (itself among them) says the same and
//! has no longer log than its own: the question a pre-vote asks
//! (Raft thesis §9.6), asked before the term changes. The pings also tell
//! each member whether it is in contact with a majority.

use crate::contact::Contact;
use crate::network::Connection;
use crate::protocol::{Rpc, RpcReply};
use crate::tls::Tls;
use openraft::{Raft, ServerState};
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::{NodeId, TypeConfig};
use tracing::info;

/// How often every other voter is pinged.
pub const PING_EVERY: Duration = Duration::from_millis(200);

/// How long a ping (connecting included) may take: a member loaded with
/// a full table answers late, and a late answer still says it is there.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a member waits, after it last heard a leader (or tried an
/// election), before it tries one: a voter refuses its vote for a
/// leader's lease after it last heard the leader (openraft's
/// `election_timeout_max`, 1 s), then 2 to 3 s more at random (a leader
/// busy applying a full table can go quiet for a few seconds, and is not
/// deposed for it; members do not all try at once).
///
/// When the leader's Raft port keeps refusing connections
/// ([`Contact::gone`]) its process is gone, not busy: the voters' lease
/// is all there is to wait, 0.1 s more (the other voter may have heard
/// the leader's last heartbeat a little later) and 0 to 0.4 s at random.
fn election_wait(lease: Duration, leader_gone: bool) -> Duration {
    let (from, span) = if leader_gone {
        (100, 400)
    } else {
        (2000, 1000)
    };
    let jitter = from + RandomState::new().hash_one(Instant::now()) % span;
    lease + Duration::from_millis(jitter)
}

/// Pings one other voter every [`PING_EVERY`] and records each answer
/// as it comes: a voter that does not answer (cut off, its pings time
/// out) slows no other's, whose answers say whether this member is in
/// contact with a majority.
async fn ping(contact: Arc<Contact>, id: NodeId, addr: String, tls: Option<Arc<Tls>>) {
    let mut c = Connection::new(Some(id), addr, tls);
    c.contact = Some(contact.clone());
    c.connect_timeout = PING_TIMEOUT;
    loop {
        if let Ok(RpcReply::Ping(pong)) = c.call(&Rpc::Ping, PING_TIMEOUT).await {
            contact.ponged(id, pong);
        }
        tokio::time::sleep(PING_EVERY).await;
    }
}

/// A ping task, stopped when dropped (with the campaign).
struct Pinger {
    addr: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Pinger {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Pings the other voters and starts elections (see the module), until
/// the task is aborted.
pub async fn campaign(
    raft: Raft<TypeConfig>,
    contact: Arc<Contact>,
    tls: Option<Arc<Tls>>,
    me: NodeId,
    lease: Duration,
) {
    let mut pingers: HashMap<NodeId, Pinger> = HashMap::new();
    let started = Instant::now();
    let mut tried: Option<Instant> = None;
    let mut wait = election_wait(lease, false);
    let gone_wait = election_wait(lease, true);
    loop {
        tokio::time::sleep(PING_EVERY).await;
        let m = raft.metrics().borrow().clone();
        contact.set_leading(m.state == ServerState::Leader);
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        contact.set_voters(voters.clone());
        let others: Vec<(NodeId, String)> = voters
            .iter()
            .filter(|v| **v != me)
            .filter_map(|v| Some((*v, membership.get_node(v)?.addr.clone())))
            .collect();
        pingers.retain(|id, p| others.iter().any(|(o, a)| o == id && *a == p.addr));
        for (id, addr) in others {
            pingers.entry(id).or_insert_with(|| Pinger {
                task: tokio::spawn(ping(contact.clone(), id, addr.clone(), tls.clone())),
                addr,
            });
        }
        if m.state == ServerState::Leader || !voters.contains(&me) {
            tried = None;
            continue;
        }
        let single = voters.len() == 1;
        let quiet = [
            contact.heard_leader(),
            tried.map(|t| t.elapsed()),
            Some(started.elapsed()),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_default();
        let leader_gone = m
            .current_leader
            .is_some_and(|l| l != me && !contact.gone(&BTreeSet::from([l])).is_empty());
        let due = if leader_gone && tried.is_none() {
            wait.min(gone_wait)
        } else {
            wait
        };
        if (single && tried.is_some_and(|t| t.elapsed() < lease)) || (!single && quiet < due) {
            continue;
        }
        if !contact.leaderless_majority(PING_EVERY * 2, Some(m.last_log_index)) {
            continue;
        }
        info!(
            term = m.current_term,
            quiet_ms = quiet.as_millis() as u64,
            "no leader, and a majority would vote: starting an election"
        );
        let _ = raft.trigger().elect().await;
        tried = Some(Instant::now());
        wait = election_wait(lease, false);
    }
}
