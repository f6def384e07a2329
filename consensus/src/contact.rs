//! Whether this member is in touch with a majority of the cluster: what
//! decides if it may keep running the sessions it holds a lease for
//! (issue 16, fenced ownership), and whether it may start an election
//! (pre-vote).
//!
//! The leader gives a member's sessions to another only when that member
//! has not answered it for a while (`MEMBER_DEAD_AFTER` in the node).
//! So a member counts itself in contact while
//! - it leads, and a majority (itself among them) answered it lately;
//! - or it follows, and the leader vouched for it lately: each
//!   AppendEntries carries how long ago the leader last heard from this
//!   member and from a majority ([`Contact::vouch_for`]); the member
//!   accepted it, so the leader's term is current;
//! - or a majority of the members (itself among them) said lately that
//!   they follow no leader (an election, the leader dead): then no leader
//!   can commit anything, a move of this member's sessions included.
//!
//! A member out of contact for longer than the node's fence time closes
//! its sessions before any leader can have given them away.

use crate::build::Build;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use storage::NodeId;

/// A member that accepted an AppendEntries this recently follows a
/// leader: it grants no pre-vote, and does not count as leaderless.
pub const LEADER_STICKY: Duration = Duration::from_millis(600);

/// A member whose Raft port has refused every connection of this one
/// for this long (pings come every 200 ms) is gone: no process listens
/// there, so none runs its sessions. A member cut off or slow times out
/// rather than refuses, and is judged by its silence instead.
pub const REFUSING_FOR: Duration = Duration::from_millis(400);

/// A refusal older than this no longer says a member is gone (its
/// connections may be timing out now: another failure, judged by
/// silence).
pub const REFUSED_LATELY: Duration = Duration::from_millis(1000);

/// What a member says of itself when another asks ([`crate::protocol::Rpc::Ping`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pong {
    /// It leads the cluster.
    pub leader: bool,
    /// How long ago it accepted an AppendEntries from a leader, in
    /// milliseconds (`None`: not since it started).
    pub heard_leader_ms: Option<u64>,
    /// The last index of its log.
    pub last_log_index: Option<u64>,
    /// Its release (`None` from a member of a release before it said it).
    /// Last, and last in its frame: a member of an earlier release reads
    /// the fields before and leaves the rest of the frame unread.
    pub build: Option<Build>,
}

/// Reads a pong of this release or of an earlier one, which ends before
/// `build` (the frame's octets run out there).
impl<'de> Deserialize<'de> for Pong {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Pong, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Pong;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member's answer to a ping")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pong, A::Error> {
                let missing = |i| de::Error::invalid_length(i, &"3 or 4 fields");
                Ok(Pong {
                    leader: seq.next_element()?.ok_or_else(|| missing(0))?,
                    heard_leader_ms: seq.next_element()?.ok_or_else(|| missing(1))?,
                    last_log_index: seq.next_element()?.ok_or_else(|| missing(2))?,
                    build: seq.next_element::<Option<Build>>().ok().flatten().flatten(),
                })
            }
        }
        const FIELDS: &[&str] = &["leader", "heard_leader_ms", "last_log_index", "build"];
        d.deserialize_struct("Pong", FIELDS, Fields)
    }
}

impl Pong {
    /// It follows no leader: it leads no one and has heard no leader for
    /// longer than [`LEADER_STICKY`].
    pub fn leaderless(&self) -> bool {
        !self.leader
            && self
                .heard_leader_ms
                .is_none_or(|ms| ms > LEADER_STICKY.as_millis() as u64)
    }
}

#[derive(Default)]
struct State {
    voters: BTreeSet<NodeId>,
    /// When each other member last answered a call of this one.
    answered: HashMap<NodeId, Instant>,
    /// Follower: the latest instant at which a leader had heard from
    /// this member and from a majority, as the leader vouched.
    vouched: Option<Instant>,
    /// When this member last accepted an AppendEntries.
    heard_leader: Option<Instant>,
    /// The other members' answers to this one's pings, and when.
    pongs: HashMap<NodeId, (Instant, Pong)>,
    /// Since when this member leads (`None`: it does not).
    leading_since: Option<Instant>,
    /// Members whose Raft port refused this one's connections: since
    /// when (without an answer since), and last: no process listens there.
    refused: HashMap<NodeId, (Instant, Instant)>,
}

/// This member's contact with the others (shared by the transport, the
/// server and the member).
pub struct Contact {
    me: NodeId,
    state: Mutex<State>,
}

impl Contact {
    pub fn new(me: NodeId) -> Contact {
        Contact {
            me,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_voters(&self, voters: BTreeSet<NodeId>) {
        self.state().voters = voters;
    }

    pub fn voters(&self) -> BTreeSet<NodeId> {
        self.state().voters.clone()
    }

    /// This member leads (from now, unless it already did), or not.
    pub fn set_leading(&self, leading: bool) {
        let mut s = self.state();
        match (leading, s.leading_since) {
            (true, None) => s.leading_since = Some(Instant::now()),
            (false, Some(_)) => s.leading_since = None,
            _ => {}
        }
    }

    /// Since when this member leads, as [`Contact::set_leading`] saw it.
    pub fn leading_since(&self) -> Option<Instant> {
        self.state().leading_since
    }

    /// `member` answered a call of this one (any call: Raft's or a ping).
    pub fn answered(&self, member: NodeId) {
        let mut s = self.state();
        s.answered.insert(member, Instant::now());
        s.refused.remove(&member);
    }

    /// `member` answered a ping with `pong`.
    pub fn ponged(&self, member: NodeId, pong: Pong) {
        let now = Instant::now();
        let mut s = self.state();
        s.answered.insert(member, now);
        s.refused.remove(&member);
        s.pongs.insert(member, (now, pong));
    }

    /// What each member that answered a ping said of its release (this
    /// member's own included).
    pub fn builds(&self) -> BTreeMap<NodeId, Build> {
        let s = self.state();
        s.pongs
            .iter()
            .filter_map(|(m, (_, p))| Some((*m, p.build?)))
            .chain([(self.me, Build::this())])
            .collect()
    }

    /// `member`'s Raft port refused a connection (a TCP reset to the
    /// connect): its process is gone, or not yet listening; either way it
    /// runs no session.
    pub fn refused(&self, member: NodeId) {
        let now = Instant::now();
        self.state()
            .refused
            .entry(member)
            .and_modify(|(_, last)| *last = now)
            .or_insert((now, now));
    }

    /// The members of `members` whose Raft port has refused every
    /// connection of this one for [`REFUSING_FOR`], the last within
    /// [`REFUSED_LATELY`], with no answer since: their process is gone.
    /// Faster than a silence ([`Contact::reachable`]), which may be a
    /// member only slow or cut off.
    pub fn gone(&self, members: &BTreeSet<NodeId>) -> BTreeSet<NodeId> {
        self.gone_after(members, REFUSING_FOR)
    }

    fn gone_after(&self, members: &BTreeSet<NodeId>, refusing_for: Duration) -> BTreeSet<NodeId> {
        let s = self.state();
        members
            .iter()
            .filter(|m| {
                **m != self.me
                    && s.refused.get(m).is_some_and(|(first, last)| {
                        first.elapsed() >= refusing_for && last.elapsed() < REFUSED_LATELY
                    })
            })
            .copied()
            .collect()
    }

    /// An AppendEntries received at `received` was accepted; its leader
    /// vouched that it had heard from this member and from a majority
    /// `vouch` before it sent it.
    pub fn accepted_append(&self, received: Instant, vouch: Duration) {
        let mut s = self.state();
        s.heard_leader = Some(received);
        if let Some(at) = received.checked_sub(vouch) {
            s.vouched = Some(s.vouched.map_or(at, |v| v.max(at)));
        }
    }

    /// The members of `members` that answered a call of this one within
    /// `within`, and this one.
    pub fn reachable(&self, members: &BTreeSet<NodeId>, within: Duration) -> BTreeSet<NodeId> {
        let s = self.state();
        members
            .iter()
            .filter(|m| **m == self.me || s.answered.get(m).is_some_and(|t| t.elapsed() < within))
            .copied()
            .collect()
    }

    /// Votes needed for a majority of the voters.
    fn majority(voters: &BTreeSet<NodeId>) -> usize {
        voters.len() / 2 + 1
    }

    /// On the leader: the latest instant by which a majority of the
    /// voters, this member among them, had answered it (`None`: never).
    fn quorum_instant(s: &State, me: NodeId, now: Instant) -> Option<Instant> {
        let mut seen: Vec<Instant> = s
            .voters
            .iter()
            .filter_map(|v| {
                if *v == me {
                    Some(now)
                } else {
                    s.answered.get(v).copied()
                }
            })
            .collect();
        seen.sort_unstable_by(|a, b| b.cmp(a));
        seen.get(Self::majority(&s.voters).checked_sub(1)?).copied()
    }

    /// What the leader vouches to `target` in an AppendEntries: how long
    /// ago it last heard from both `target` and a majority (the longer),
    /// or, if later, since it leads: a new leader moves no session before
    /// it has led a while, whoever it has heard from.
    pub fn vouch_for(&self, target: NodeId) -> Duration {
        let now = Instant::now();
        let mut s = self.state();
        // It sends AppendEntries, so it leads: from now at the latest. A
        // leader restarted on its own vote leads at once, before the
        // campaign marks it; vouching nothing then fenced its followers.
        let leading_since = *s.leading_since.get_or_insert(now);
        let quorum = Self::quorum_instant(&s, self.me, now);
        let heard = s.answered.get(&target).copied();
        let both = match (quorum, heard) {
            (Some(q), Some(h)) => Some(q.min(h)),
            _ => None,
        };
        now.duration_since(both.map_or(leading_since, |b| b.max(leading_since)))
    }

    /// How long ago this member accepted an AppendEntries (`None`: not
    /// since it started).
    pub fn heard_leader(&self) -> Option<Duration> {
        self.state().heard_leader.map(|t| t.elapsed())
    }

    /// Whether a majority, this member among them, said within `within`
    /// that they follow no leader; with `log_at_most`, also that their
    /// log ends at or before it (they would grant a pre-vote).
    pub fn leaderless_majority(&self, within: Duration, log_at_most: Option<Option<u64>>) -> bool {
        let s = self.state();
        if s.heard_leader.is_some_and(|t| t.elapsed() <= LEADER_STICKY) {
            return false;
        }
        let others = s
            .voters
            .iter()
            .filter(|v| **v != self.me)
            .filter_map(|v| s.pongs.get(v))
            .filter(|(t, p)| {
                t.elapsed() < within
                    && p.leaderless()
                    && log_at_most.is_none_or(|mine| p.last_log_index <= mine)
            })
            .count();
        let me = usize::from(s.voters.contains(&self.me));
        me + others >= Self::majority(&s.voters)
    }

    /// Whether this member is in contact with a majority within `within`
    /// (see the module's documentation); `leading`: it is the leader.
    /// A member that is not a voter (or knows no voters yet) holds no
    /// lease to lose: it counts as in contact.
    pub fn in_contact(&self, leading: bool, within: Duration) -> bool {
        let now = Instant::now();
        {
            let s = self.state();
            if !s.voters.contains(&self.me) {
                return true;
            }
            if leading {
                return Self::quorum_instant(&s, self.me, now)
                    .is_some_and(|q| now.duration_since(q) < within);
            }
            if s.vouched.is_some_and(|v| now.duration_since(v) < within) {
                return true;
            }
        }
        self.leaderless_majority(within, None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn three(me: NodeId) -> Contact {
        let c = Contact::new(me);
        c.set_voters([1, 2, 3].into_iter().collect());
        c
    }

    const WITHIN: Duration = Duration::from_millis(1500);

    #[test]
    fn a_leader_is_in_contact_while_a_majority_answers() {
        let c = three(1);
        assert!(!c.in_contact(true, WITHIN), "no one answered yet");
        c.answered(2);
        assert!(c.in_contact(true, WITHIN));
        // Member 3 never answered: vouched for only since this one leads.
        assert!(c.vouch_for(3) < Duration::from_millis(100));
        assert!(c.vouch_for(2) < Duration::from_millis(100));
        assert!(!c.in_contact(true, Duration::ZERO));
    }

    #[test]
    fn a_new_leader_vouches_since_it_leads() {
        let c = three(1);
        c.set_leading(true);
        let since = c.leading_since();
        assert!(c.vouch_for(2) < Duration::from_millis(100));
        std::thread::sleep(Duration::from_millis(50));
        assert!(c.vouch_for(2) >= Duration::from_millis(50));
        assert_eq!(c.leading_since(), since);
        // A leader that sends AppendEntries before the campaign marks it
        // (restarted on its own vote) leads from its first one.
        let c = three(1);
        assert_eq!(c.leading_since(), None);
        assert!(c.vouch_for(2) < Duration::from_millis(100));
        assert!(c.leading_since().is_some());
    }

    #[test]
    fn a_single_member_is_always_in_contact() {
        let c = Contact::new(1);
        c.set_voters([1].into_iter().collect());
        assert!(c.in_contact(true, WITHIN));
        assert!(c.leaderless_majority(WITHIN, Some(None)));
    }

    #[test]
    fn a_follower_is_in_contact_through_its_leader_s_vouch() {
        let c = three(2);
        assert!(!c.in_contact(false, WITHIN));
        let now = Instant::now();
        c.accepted_append(now, Duration::from_millis(100));
        assert!(c.in_contact(false, WITHIN));
        // A vouch older than the window does not count.
        let c = three(2);
        c.accepted_append(now, Duration::from_secs(5));
        assert!(!c.in_contact(false, WITHIN));
        // An unbounded vouch (the leader never heard from us) neither.
        let c = three(2);
        c.accepted_append(now, Duration::MAX);
        assert!(!c.in_contact(false, WITHIN));
    }

    #[test]
    fn a_leaderless_majority_keeps_a_follower_in_contact() {
        let c = three(2);
        let quiet = Pong {
            leader: false,
            heard_leader_ms: Some(2000),
            last_log_index: Some(10),
            build: None,
        };
        c.ponged(3, quiet);
        assert!(c.in_contact(false, WITHIN));
        assert!(c.leaderless_majority(WITHIN, Some(Some(10))));
        // Its log is longer: it would not grant a pre-vote.
        assert!(!c.leaderless_majority(WITHIN, Some(Some(9))));
        // A member that follows a leader is not leaderless.
        let c = three(2);
        c.ponged(
            3,
            Pong {
                heard_leader_ms: Some(100),
                ..quiet
            },
        );
        assert!(!c.in_contact(false, WITHIN));
        let c = three(2);
        c.ponged(
            3,
            Pong {
                leader: true,
                ..quiet
            },
        );
        assert!(!c.in_contact(false, WITHIN));
    }

    #[test]
    fn a_member_that_is_no_voter_holds_nothing_to_fence() {
        let c = Contact::new(4);
        c.set_voters([1, 2, 3].into_iter().collect());
        assert!(c.in_contact(false, WITHIN));
    }

    #[test]
    fn a_member_refusing_connections_for_a_while_is_gone_until_it_answers() {
        let c = three(1);
        let all: BTreeSet<NodeId> = [1, 2, 3].into_iter().collect();
        let none = BTreeSet::new();
        c.refused(2);
        assert_eq!(
            c.gone_after(&all, Duration::from_millis(50)),
            none,
            "not for long yet"
        );
        assert_eq!(
            c.gone_after(&all, Duration::ZERO),
            [2].into_iter().collect()
        );
        std::thread::sleep(Duration::from_millis(60));
        c.refused(2);
        assert_eq!(
            c.gone_after(&all, Duration::from_millis(50)),
            [2].into_iter().collect()
        );
        // One answer and it is back: the refusals start over.
        c.answered(2);
        assert_eq!(c.gone_after(&all, Duration::ZERO), none);
        c.refused(3);
        c.ponged(3, Pong::default());
        assert_eq!(c.gone_after(&all, Duration::ZERO), none);
        // This member never counts itself.
        c.refused(1);
        assert_eq!(c.gone_after(&all, Duration::ZERO), none);
    }

    #[test]
    fn a_pong_reads_across_releases() {
        use storage::format;
        let ours = Pong {
            leader: true,
            heard_leader_ms: Some(5),
            last_log_index: Some(9),
            build: Some(Build::this()),
        };
        let frame = crate::protocol::encode_frame(
            &crate::protocol::RpcReply::Ping(ours),
            crate::protocol::MAX_FRAME,
        )
        .unwrap();
        let read = |octets: &[u8]| match format::decode(octets) {
            Ok(crate::protocol::RpcReply::Ping(p)) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(read(&frame[4..]), ours);
        // An earlier release's pong: the same fields, no build.
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Earlier {
            leader: bool,
            heard_leader_ms: Option<u64>,
            last_log_index: Option<u64>,
        }
        #[derive(Serialize, Deserialize, Debug)]
        enum EarlierReply {
            Append(()),
            Vote(()),
            Snapshot(()),
            Forward(()),
            Manage(()),
            Ping(Earlier),
        }
        let earlier = Earlier {
            leader: true,
            heard_leader_ms: Some(5),
            last_log_index: Some(9),
        };
        let octets = format::encode_as(&EarlierReply::Ping(earlier), format::WIRE_FORMAT).unwrap();
        assert_eq!(
            read(&octets),
            Pong {
                build: None,
                ..ours
            }
        );
        // What an earlier release reads of ours: its fields, the build
        // left unread.
        match format::decode::<EarlierReply>(&frame[4..]).unwrap() {
            EarlierReply::Ping(p) => assert_eq!(
                p,
                Earlier {
                    leader: true,
                    heard_leader_ms: Some(5),
                    last_log_index: Some(9),
                }
            ),
            other => panic!("{other:?}"),
        }
    }
}
