//! Reads of the whole Loc-RIB by the API, a page at a time: the state
//! machine's lock is taken for one page, let go, and the read goes on after
//! the last destination it saw, so the thread that applies the log waits
//! at most a page (issue 19 §4). The table may move between pages: each
//! destination is as it was when its page was read.

use consensus::Member;
use speaker::rib::{Entry, RouteKey};
use std::time::Duration;

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

/// Calls `f` on every Loc-RIB destination, in order.
pub async fn each(member: &Member, mut f: impl FnMut(&RouteKey, &Entry)) {
    let mut after: Option<RouteKey> = None;
    loop {
        let done = member.read(|a| {
            for (looked, (key, entry)) in a.rib.loc_rib_after(after.as_ref()).enumerate() {
                if looked == PAGE {
                    return false;
                }
                after = Some(*key);
                f(key, entry);
            }
            true
        });
        if done {
            return;
        }
        between_pages().await;
    }
}
