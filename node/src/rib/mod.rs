//! The RIB of a single node as an actor: sessions send it commands, it
//! applies them to [`speaker::rib::Rib`] and sends each established peer
//! the UPDATEs its update group needs. (With the replicated RIB, commands
//! reach it through the Raft log instead.)

mod dispatch;

use crate::session::{PeerSession, SendUpdates};
use actix::prelude::*;
use speaker::rib::{PeerId, PeerInfo, Rib, RibCommand, RibConfig, RibOutput};
use speaker::wire::CodecContext;
use std::collections::BTreeMap;
use tracing::{debug, info};

pub use dispatch::dispatch;

/// What a session tells the RIB.
#[derive(Debug)]
pub enum SessionCommand {
    /// Established: the peer and how to encode for it.
    Up(Box<PeerInfo>, CodecContext),
    Rib(RibCommand),
}

/// A batch of commands from one session, in order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Commands(pub Vec<SessionCommand>);

/// A session announces itself, so the RIB can send it UPDATEs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Register(pub PeerId, pub Addr<PeerSession>);

/// Sizes of the RIB, for status and tests.
#[derive(Message)]
#[rtype(result = "RibSummary")]
pub struct Summary;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RibSummary {
    pub loc_rib: usize,
    pub established: usize,
    pub dropped: u64,
}

pub struct RibActor {
    rib: Rib,
    sessions: BTreeMap<PeerId, Addr<PeerSession>>,
    contexts: BTreeMap<PeerId, CodecContext>,
    dropped: u64,
}

impl RibActor {
    pub fn new(config: RibConfig) -> RibActor {
        RibActor {
            rib: Rib::new(config),
            sessions: BTreeMap::new(),
            contexts: BTreeMap::new(),
            dropped: 0,
        }
    }
}

impl Actor for RibActor {
    type Context = Context<Self>;
}

impl Handler<Register> for RibActor {
    type Result = ();
    fn handle(&mut self, Register(id, addr): Register, _: &mut Context<Self>) {
        self.sessions.insert(id, addr);
    }
}

impl Handler<Commands> for RibActor {
    type Result = ();
    fn handle(&mut self, Commands(cmds): Commands, _: &mut Context<Self>) {
        let mut outputs: Vec<RibOutput> = Vec::with_capacity(cmds.len());
        let mut gone = Vec::new();
        for c in cmds {
            let cmd = match c {
                SessionCommand::Up(info, ctx) => {
                    self.contexts.insert(info.id, ctx);
                    RibCommand::PeerUp(*info)
                }
                SessionCommand::Rib(cmd) => {
                    if let RibCommand::PeerDown { peer } | RibCommand::PeerDownGraceful { peer } =
                        &cmd
                    {
                        gone.push(*peer);
                    }
                    cmd
                }
            };
            let peer = match &cmd {
                RibCommand::Routes { peer, .. } => Some(*peer),
                _ => None,
            };
            let out = self.rib.apply(cmd);
            if out.dropped > 0
                && let Some(p) = peer
            {
                // RFC 4456 §8 loop checks and AS-path loops: counted per peer.
                let stats = self.rib.peer_stats(p).unwrap_or_default();
                info!(
                    peer = p.0,
                    dropped = out.dropped,
                    originator_loop = stats.originator_loop,
                    cluster_loop = stats.cluster_loop,
                    as_loop = stats.as_loop,
                    "received routes dropped by import checks"
                );
            }
            self.dropped += out.dropped;
            outputs.push(out);
        }
        let sends = dispatch(&self.rib, &outputs, &self.contexts);
        for p in gone {
            self.contexts.remove(&p);
        }
        for (peer, msgs) in sends {
            if msgs.is_empty() {
                continue;
            }
            if let Some(s) = self.sessions.get(&peer) {
                debug!(peer = peer.0, messages = msgs.len(), "updates out");
                s.do_send(SendUpdates(msgs));
            }
        }
    }
}

impl Handler<Summary> for RibActor {
    type Result = MessageResult<Summary>;
    fn handle(&mut self, _: Summary, _: &mut Context<Self>) -> MessageResult<Summary> {
        MessageResult(RibSummary {
            loc_rib: self.rib.loc_rib_len(),
            established: self.contexts.len(),
            dropped: self.dropped,
        })
    }
}
