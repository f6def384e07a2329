//! Reads of the whole Loc-RIB by the API, a page at a time: the state
//! machine's lock is taken for one page, let go, and the read goes on after
//! the last destination it saw, so the thread that applies the log waits
//! at most a page (issue 19 §4). The table may move between pages; the
//! applied index before the first page and after the last says whether it
//! did.

use consensus::Member;
use speaker::rib::digest::DigestWalk;
use speaker::rib::{Entry, RouteKey};
use std::time::Duration;
use storage::state_machine::Applied;

/// Destinations read under the lock at a time.
pub const PAGE: usize = 4096;

/// The pause between two pages. The lock is std's, which is not fair: a
/// reader that took it again at once would, a page after another, keep the
/// apply thread (woken, but slower to run than the reader's next lock)
/// waiting for the whole walk, and Raft with it. The pause gives the apply
/// thread the lock between pages; a full table's walk takes about 150 ms
/// more.
const PAUSE: Duration = Duration::from_millis(1);

/// Waits between two pages of a walk under the lock ([`PAUSE`]).
pub async fn between_pages() {
    tokio::time::sleep(PAUSE).await;
}

/// The applied index at the first page and at the last: equal, the read
/// saw one table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub first: Option<u64>,
    pub last: Option<u64>,
}

impl Span {
    pub fn consistent(&self) -> bool {
        self.first == self.last
    }
}

fn applied_index(a: &Applied) -> Option<u64> {
    a.last_applied.map(|l| l.index)
}

/// Calls `step` under the lock until it says it is done, with a pause
/// between calls.
async fn paged(member: &Member, mut step: impl FnMut(&Applied) -> bool) -> Span {
    let mut first = None;
    loop {
        let (done, at) = member.read(|a| (step(a), applied_index(a)));
        let first = *first.get_or_insert(at);
        if done {
            return Span { first, last: at };
        }
        between_pages().await;
    }
}

/// Calls `f` on every Loc-RIB destination, in order.
pub async fn each(member: &Member, mut f: impl FnMut(&RouteKey, &Entry)) -> Span {
    let mut after: Option<RouteKey> = None;
    paged(member, |a| {
        for (looked, (key, entry)) in a.rib.loc_rib_after(after.as_ref()).enumerate() {
            if looked == PAGE {
                return false;
            }
            after = Some(*key);
            f(key, entry);
        }
        true
    })
    .await
}

/// The Loc-RIB digest ([`speaker::rib::Rib::digest`]) and size, walked a
/// page at a time; they are those of `span.last` only if the span is
/// consistent.
pub async fn digest(member: &Member) -> (Span, u64, usize) {
    let mut walk = DigestWalk::default();
    let span = paged(member, |a| walk.step(&a.rib, PAGE)).await;
    let prefixes = walk.prefixes();
    // `paged` returns once a step said it was done.
    (span, walk.finish().unwrap_or_default(), prefixes)
}

/// The Loc-RIB digest and size read under one hold of the lock, with the
/// applied index they are of: for a table that moves while it is walked a
/// page at a time (a full table's walk holds the lock about 90 ms).
pub fn digest_at_once(member: &Member) -> (Option<u64>, u64, usize) {
    member.read(|a| {
        let mut walk = DigestWalk::default();
        walk.step(&a.rib, usize::MAX);
        let prefixes = walk.prefixes();
        (
            applied_index(a),
            walk.finish().unwrap_or_default(),
            prefixes,
        )
    })
}
