//! What release each member runs (issue 17 §3, §6): members say it in
//! their answers to pings ([`crate::contact::Pong`]), so that every
//! member knows the newest store format all of them read (what a command
//! of a newer format waits for during a rolling upgrade) and the operator
//! sees each member's version (`reflex ctl cluster`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A member's release: its version and the newest store format it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// The package version, major, minor, patch.
    pub version: [u16; 3],
    /// The newest store and log format it reads ([`storage::format::FORMAT`]).
    pub reads: u8,
}

impl Build {
    /// This process's.
    pub fn this() -> Build {
        let part = |s: &str| s.parse::<u16>().unwrap_or(0);
        Build {
            version: [
                part(env!("CARGO_PKG_VERSION_MAJOR")),
                part(env!("CARGO_PKG_VERSION_MINOR")),
                part(env!("CARGO_PKG_VERSION_PATCH")),
            ],
            reads: storage::format::FORMAT,
        }
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.version;
        write!(f, "{major}.{minor}.{patch} (format {})", self.reads)
    }
}

/// The newest format every one of `members` reads: `None` while one of
/// them has not said (not answered yet, or of a release before builds
/// were said, which reads format 7 at most).
pub fn read_by_all<'a>(members: impl IntoIterator<Item = Option<&'a Build>>) -> Option<u8> {
    members
        .into_iter()
        .map(|b| b.map(|b| b.reads))
        .try_fold(u8::MAX, |low, r| Some(low.min(r?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_read_by_all_is_the_lowest_and_unknown_until_each_said() {
        let new = Build {
            version: [0, 2, 0],
            reads: 8,
        };
        let old = Build {
            version: [0, 1, 0],
            reads: 7,
        };
        assert_eq!(read_by_all([Some(&new), Some(&old)]), Some(7));
        assert_eq!(read_by_all([Some(&new), Some(&new)]), Some(8));
        assert_eq!(read_by_all([Some(&new), None]), None);
        assert_eq!(old.to_string(), "0.1.0 (format 7)");
        assert_eq!(Build::this().reads, storage::format::FORMAT);
    }
}
