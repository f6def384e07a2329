//! A member of a reflector cluster: its Raft, the server other members
//! reach it on, and the RIB state machine it applies to.

use crate::config::raft_config;
use crate::contact::Contact;
use crate::network::{Connection, Network};
use crate::protocol::{ForwardError, Rpc, RpcReply};
use crate::server::{propose, serve};
use crate::tls::Tls;
use openraft::{BasicNode, Raft};
use speaker::rib::RibConfig;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use storage::state_machine::Applied;
use storage::{ApplyHook, NodeId, Request, Response, StateMachine, TypeConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Why a member could not start or do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("store: {0}")]
    Store(#[from] storage::OpenError),
    #[error("raft transport address: {0}")]
    Listen(std::io::Error),
    #[error("raft: {0}")]
    Raft(String),
    #[error("write: {0}")]
    Write(#[from] ForwardError),
    #[error("no leader is known")]
    NoLeader,
}

/// How long a forwarded write may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// How a member is reached by the others.
#[derive(Clone, Debug)]
pub enum Transport {
    /// Not at all: a one-member node opens no Raft listener.
    Alone,
    /// Mutual TLS on `listen` (port 0: any free port; see
    /// [`Member::addr`]).
    Tls { listen: SocketAddr, tls: Arc<Tls> },
}

pub struct Member {
    pub id: NodeId,
    pub raft: Raft<TypeConfig>,
    /// The address other members reach this one on (`None`: a one-member
    /// node with no Raft transport).
    pub addr: Option<SocketAddr>,
    tls: Option<Arc<Tls>>,
    /// Read through [`Member::read`] and [`Member::read_when`] only.
    state: StateMachine,
    server: Option<JoinHandle<()>>,
    /// Pings and elections ([`crate::campaign`]).
    campaign: JoinHandle<()>,
    /// The connection writes are forwarded on, to the leader it names.
    forward: tokio::sync::Mutex<Option<(NodeId, Connection)>>,
    /// The last log index this member knows committed.
    committed_index: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// Who answered this member lately, and whether it is in contact
    /// with a majority.
    contact: Arc<Contact>,
}

impl Member {
    /// Opens the store in `dir` and starts serving Raft as `transport`
    /// says.
    pub async fn start(
        id: NodeId,
        transport: Transport,
        dir: &Path,
        rib: RibConfig,
        hook: Box<dyn ApplyHook>,
    ) -> Result<Member, MemberError> {
        let (log, state) = storage::open(dir, rib, hook)?;
        let committed: crate::server::CommittedPaths = Arc::new(log.committed_paths());
        let committed_index = Arc::new(log.committed_index());
        let (listener, tls) = match transport {
            Transport::Alone => (None, None),
            Transport::Tls { listen, tls } => (
                Some(
                    TcpListener::bind(listen)
                        .await
                        .map_err(MemberError::Listen)?,
                ),
                Some(tls),
            ),
        };
        let addr = match &listener {
            Some(l) => Some(l.local_addr().map_err(MemberError::Listen)?),
            None => None,
        };
        let config = Arc::new(
            raft_config("reflex")
                .validate()
                .map_err(|e| MemberError::Raft(e.to_string()))?,
        );
        let contact = Arc::new(Contact::new(id));
        let network = Network {
            contact: contact.clone(),
            tls: tls.clone(),
        };
        let lease = Duration::from_millis(config.election_timeout_max);
        let raft = Raft::new(id, config, network, log, state.clone())
            .await
            .map_err(|e| MemberError::Raft(e.to_string()))?;
        let server = match (listener, &tls) {
            (Some(listener), Some(tls)) => Some(tokio::spawn(serve(
                listener,
                tls.clone(),
                raft.clone(),
                state.clone(),
                committed,
                contact.clone(),
            ))),
            _ => None,
        };
        let campaign = tokio::spawn(crate::campaign::campaign(
            raft.clone(),
            contact.clone(),
            tls.clone(),
            id,
            lease,
        ));
        Ok(Member {
            id,
            raft,
            addr,
            tls,
            state,
            server,
            campaign,
            forward: tokio::sync::Mutex::new(None),
            committed_index,
            contact,
        })
    }

    /// Makes a new cluster of `members` (this one among them). Once, on one
    /// member, when none of them has state.
    pub async fn init(&self, members: BTreeMap<NodeId, SocketAddr>) -> Result<(), MemberError> {
        let nodes: BTreeMap<NodeId, BasicNode> = members
            .into_iter()
            .map(|(id, a)| (id, BasicNode::new(a.to_string())))
            .collect();
        self.raft
            .initialize(nodes)
            .await
            .map_err(|e| MemberError::Raft(e.to_string()))
    }

    /// The last log index this member knows committed (0: none yet).
    pub fn committed_index(&self) -> u64 {
        (self.committed_index)()
    }

    /// The members of `members` that answered a Raft call of this one
    /// within `within`, and this one. Meaningful on the leader, which
    /// calls every member several times a second (heartbeats), once it
    /// has led for `within`.
    pub fn reachable(
        &self,
        members: &std::collections::BTreeSet<NodeId>,
        within: std::time::Duration,
    ) -> std::collections::BTreeSet<NodeId> {
        self.contact.reachable(members, within)
    }

    /// The members of `members` whose Raft port keeps refusing this
    /// one's connections ([`Contact::gone`]): their process is gone.
    pub fn gone(
        &self,
        members: &std::collections::BTreeSet<NodeId>,
    ) -> std::collections::BTreeSet<NodeId> {
        self.contact.gone(members)
    }

    /// Whether this member has been in contact with a majority within
    /// `within`, or `leading_within` while it leads ([`crate::contact`]):
    /// if not, a leader may give its sessions to another member once that
    /// time and a margin have passed.
    pub fn in_contact(&self, within: Duration, leading_within: Duration) -> bool {
        let leading = self.raft.metrics().borrow().state == openraft::ServerState::Leader;
        let within = if leading { leading_within } else { within };
        self.contact.in_contact(leading, within)
    }

    /// Each voter's release, as it said in its last answer to this
    /// member's pings (`None`: not said yet, or of a release before they
    /// were said); this member's own included.
    pub fn builds(&self) -> std::collections::BTreeMap<NodeId, Option<crate::build::Build>> {
        let said = self.contact.builds();
        let voters: Vec<NodeId> = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .collect();
        voters
            .into_iter()
            .chain([self.id])
            .map(|v| (v, said.get(&v).copied()))
            .collect()
    }

    /// The newest store format every voter reads (`None` while one has
    /// not said): a command of a newer format waits until it is
    /// ([`storage::format::encode_as`]).
    pub fn format_read_by_all(&self) -> Option<u8> {
        crate::build::read_by_all(self.builds().values().map(Option::as_ref))
    }

    /// Since when this member leads, as its vouches to the others count
    /// it (`None`: it does not lead, or not yet seen).
    pub fn leading_since(&self) -> Option<std::time::Instant> {
        self.contact.leading_since()
    }

    /// Why this member's Raft stopped for good, if it did: a store that
    /// cannot be read or written (a corrupt log entry, a full disk), a
    /// snapshot that failed to install, a panic in its core. Not a stop
    /// asked for ([`Member::shutdown`]).
    pub fn fatal(&self) -> Option<String> {
        fatal_of(&self.raft.metrics().borrow().running_state)
    }

    /// Resolves once this member's Raft stopped for good ([`Member::fatal`]),
    /// with why.
    pub async fn fatal_error(&self) -> String {
        let mut metrics = self.raft.metrics();
        loop {
            let fatal = fatal_of(&metrics.borrow().running_state);
            if let Some(why) = fatal {
                return why;
            }
            if metrics.changed().await.is_err() {
                return "the Raft core is gone".to_string();
            }
        }
    }

    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// The leader, waiting for one to be known at most `within` (woken by
    /// this member's Raft metrics, not by polling).
    pub async fn leader_within(&self, within: Duration) -> Option<NodeId> {
        let mut metrics = self.raft.metrics();
        let known = async {
            loop {
                let leader = metrics.borrow().current_leader;
                if leader.is_some() {
                    return leader;
                }
                if metrics.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(within, known).await.ok().flatten()
    }

    /// Reads the replicated state as this member has applied it. `f` runs
    /// under the state machine's lock: applying waits for it, so keep it
    /// short.
    pub fn read<T>(&self, f: impl FnOnce(&Applied) -> T) -> T {
        f(&self.state.applied())
    }

    /// Reads the replicated state as of one log index: once no entry is
    /// half applied (the apply tells when), at most `within`; `None` if an
    /// entry was still under way then. For what must be of one index (a
    /// digest); [`Member::read`] for what may see part of an entry.
    pub async fn read_settled<T>(
        &self,
        within: Duration,
        f: impl FnMut(&Applied) -> T,
    ) -> Option<T> {
        self.state.read_settled(within, f).await
    }

    /// Waits until `f` finds what it looks for in the applied state (it
    /// answers `Some`), reading it again each time this member's Raft
    /// metrics change (an entry applied, a leader known), at most
    /// `within`: `None` if it never did.
    pub async fn read_when<T>(
        &self,
        within: Duration,
        mut f: impl FnMut(&Applied) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + within;
        let mut metrics = self.raft.metrics();
        loop {
            if let Some(v) = self.read(&mut f) {
                return Some(v);
            }
            match tokio::time::timeout_at(deadline, metrics.changed()).await {
                Ok(Ok(())) => {}
                // Time is up, or Raft stopped: one last look.
                Ok(Err(_)) | Err(_) => return self.read(&mut f),
            }
        }
    }

    /// How long ago this member built or installed its snapshot.
    pub fn snapshot_age(&self) -> Option<Duration> {
        self.state.snapshot_age()
    }

    /// Commits `req` through the log: on the leader directly, from a
    /// follower by forwarding it to the leader. Returns once it is applied
    /// on the leader.
    pub async fn write(&self, req: Request) -> Result<Response, MemberError> {
        let mut hint: Option<(NodeId, BasicNode)> = None;
        // The leader may change while we ask: follow its hints a few times.
        for _ in 0..5 {
            let leader = match &hint {
                Some((id, _)) => Some(*id),
                None => self.leader(),
            };
            match leader {
                Some(l) if l == self.id => match propose(&self.raft, req.clone()).await {
                    Ok(r) => return Ok(r),
                    Err(ForwardError::NotLeader(h)) => hint = h,
                    Err(other) => return Err(other.into()),
                },
                Some(l) => {
                    let node = match &hint {
                        Some((_, n)) => Some(n.clone()),
                        None => self.node_of(l),
                    };
                    let Some(node) = node else {
                        return Err(MemberError::NoLeader);
                    };
                    match self.forward(l, &node, req.clone()).await {
                        Ok(r) => return Ok(r),
                        Err(ForwardError::NotLeader(h)) => hint = h,
                        Err(e) => return Err(e.into()),
                    }
                }
                None => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    hint = None;
                }
            }
        }
        Err(MemberError::NoLeader)
    }

    /// Commits `req` only as this member's own decision as leader: not
    /// forwarded if it does not lead, nor if it loses the leadership
    /// before `req` commits (then `req` is dropped with its term). A
    /// leader cut off from the others decides on what it last saw; its
    /// decision must not land once another leads (issue 16: a cut-off
    /// leader gave every session to itself, and the write, forwarded to
    /// the new leader on healing, moved them all).
    pub async fn write_as_leader(&self, req: Request) -> Result<Response, MemberError> {
        if self.leader() != Some(self.id) {
            return Err(ForwardError::NotLeader(None).into());
        }
        propose(&self.raft, req).await.map_err(Into::into)
    }

    /// Waits until this member's replica holds everything the cluster
    /// committed before the call (an empty entry written through the
    /// leader, then applied here): what it reads next is not stale.
    pub async fn barrier(&self, within: Duration) -> Result<u64, MemberError> {
        let index = tokio::time::timeout(within, self.write(Request::default()))
            .await
            .map_err(|_| MemberError::NoLeader)??
            .index;
        self.raft
            .wait(Some(within))
            .applied_index_at_least(Some(index), "replica caught up")
            .await
            .map_err(|e| MemberError::Raft(e.to_string()))?;
        Ok(index)
    }

    fn node_of(&self, id: NodeId) -> Option<BasicNode> {
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&id)
            .cloned()
    }

    async fn forward(
        &self,
        leader: NodeId,
        node: &BasicNode,
        req: Request,
    ) -> Result<Response, ForwardError> {
        let mut slot = self.forward.lock().await;
        if slot.as_ref().is_none_or(|(id, _)| *id != leader) {
            *slot = Some((
                leader,
                Connection::new(Some(leader), node.addr.clone(), self.tls.clone()),
            ));
        }
        let Some((_, conn)) = slot.as_mut() else {
            return Err(ForwardError::Failed("no connection".into()));
        };
        // A leader cut off from us answers nothing (its packets are lost,
        // not refused): once another is known, ask that one instead (the
        // write is numbered, so one that did commit is not applied twice).
        // Looked at before waiting for a change: another may have been
        // elected while this write waited for the connection (it then
        // waited out the forward timeout, 30 s, for a leader long gone).
        let mut metrics = self.raft.metrics();
        let deposed = async move {
            loop {
                let now = metrics.borrow_and_update().current_leader;
                if now.is_some_and(|l| l != leader) {
                    return now;
                }
                if metrics.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        let rpc = Rpc::Forward(req);
        let reply = tokio::select! {
            reply = conn.call(&rpc, FORWARD_TIMEOUT) => Ok(reply),
            now = deposed => Err(now),
        };
        match reply {
            Ok(Ok(RpcReply::Forward(r))) => r,
            Ok(Ok(_)) => Err(ForwardError::Failed("reply of the wrong kind".into())),
            Ok(Err(e)) => Err(ForwardError::Failed(e.to_string())),
            Err(now) => {
                // The connection is out of step with its reply: a new one.
                *slot = None;
                tracing::debug!(from = leader, to = ?now, "leader changed while a write was forwarded: asking the new one");
                Err(ForwardError::NotLeader(None))
            }
        }
    }

    /// Stops Raft and the server (the store stays on disk).
    pub async fn shutdown(self) {
        if let Some(server) = &self.server {
            server.abort();
        }
        self.campaign.abort();
        let _ = self.raft.shutdown().await;
    }
}

/// A Raft core's running state as a reason it stopped for good (`None`:
/// it runs, or it was stopped on purpose).
fn fatal_of(state: &Result<(), openraft::error::Fatal<NodeId>>) -> Option<String> {
    match state {
        Ok(()) | Err(openraft::error::Fatal::Stopped) => None,
        Err(e) => Some(e.to_string()),
    }
}
