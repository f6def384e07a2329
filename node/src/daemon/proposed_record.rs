//! The record, in the data directory, of the routing policy this member
//! last proposed to the cluster (`policy-proposed`): at its next start a
//! member proposes its file's policy only if it differs from the record,
//! so a restart does not undo a newer policy another member's reload gave
//! the cluster.
//!
//! The record is versioned (a version octet, then the postcard octets of
//! [`StoredPolicy`], the log's own form of the policy) and replaced
//! atomically: written beside, flushed, renamed over, the directory
//! flushed. A crash leaves the old record or the new, never half of one.
//! The previous release wrote the policy's `Debug` text: it is still read
//! (as version 0), so an upgrade does not propose the policy again.

use speaker::rib::ReplicatedPolicy;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use storage::StoredPolicy;

/// The file's name in the data directory.
const FILE: &str = "policy-proposed";

/// The version this release writes.
const VERSION: u8 = 1;

/// Errors writing the record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot encode the policy: {0}")]
    Encode(#[from] postcard::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the record in `data_dir` says of `policy`.
#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The record holds `policy`: proposed before.
    Same,
    /// The record holds another policy, or there is none.
    Other,
    /// The record cannot be read (the reason): treated as another.
    Unreadable(String),
}

/// The record's path in `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// Whether the record in `data_dir` holds `policy`.
pub fn recorded(data_dir: &Path, policy: &ReplicatedPolicy) -> Recorded {
    let octets = match std::fs::read(path(data_dir)) {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Recorded::Other,
        Err(e) => return Recorded::Unreadable(e.to_string()),
    };
    let stored = StoredPolicy::of(policy);
    match octets.split_first() {
        Some((&VERSION, rest)) => match postcard::from_bytes::<StoredPolicy>(rest) {
            Ok(r) if r == stored => Recorded::Same,
            Ok(_) => Recorded::Other,
            Err(e) => Recorded::Unreadable(format!("version {VERSION}: {e}")),
        },
        // Version 0, the previous release's: the policy's Debug text
        // (which begins with its type's name, never with octet 1).
        _ if octets.starts_with(b"StoredPolicy") => {
            if octets == previous_text(&stored).as_bytes() {
                Recorded::Same
            } else {
                Recorded::Other
            }
        }
        Some((v, _)) => Recorded::Unreadable(format!(
            "version {v}; this release reads versions 0 and {VERSION}"
        )),
        None => Recorded::Unreadable("empty".into()),
    }
}

/// The record as the previous release wrote it.
fn previous_text(stored: &StoredPolicy) -> String {
    format!("{stored:?}")
}

/// Records `policy` in `data_dir`, replacing the record atomically.
pub fn write(data_dir: &Path, policy: &ReplicatedPolicy) -> Result<(), RecordError> {
    let mut octets = vec![VERSION];
    octets.extend(postcard::to_stdvec(&StoredPolicy::of(policy))?);
    let target = path(data_dir);
    let beside = data_dir.join(format!("{FILE}.new"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RecordError::Io { path, source }
    };
    let mut f = std::fs::File::create(&beside).map_err(io(&beside))?;
    f.write_all(&octets)
        .and_then(|()| f.sync_all())
        .map_err(io(&beside))?;
    drop(f);
    std::fs::rename(&beside, &target).map_err(io(&target))?;
    // The rename itself is durable once the directory is flushed.
    std::fs::File::open(data_dir)
        .and_then(|d| d.sync_all())
        .map_err(io(data_dir))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use speaker::policy::Policy;
    use speaker::rib::{Attachment, PeerId};
    use std::sync::Arc;

    fn policy(import: &str) -> ReplicatedPolicy {
        ReplicatedPolicy {
            text: "[[route-map.IN]]\naction = \"permit\"\n".into(),
            compiled: Arc::new(Policy::default()),
            ebgp_requires_policy: true,
            attachments: [(
                PeerId(3),
                Attachment {
                    import: Some(import.into()),
                    export: None,
                },
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn a_written_record_holds_that_policy_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(recorded(dir.path(), &policy("IN")), Recorded::Other);
        write(dir.path(), &policy("IN")).unwrap();
        assert_eq!(recorded(dir.path(), &policy("IN")), Recorded::Same);
        assert_eq!(recorded(dir.path(), &policy("OUT")), Recorded::Other);
        // Replaced whole; nothing left beside it.
        write(dir.path(), &policy("OUT")).unwrap();
        assert_eq!(recorded(dir.path(), &policy("OUT")), Recorded::Same);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE)]);
        assert_eq!(std::fs::read(path(dir.path())).unwrap()[0], VERSION);
    }

    #[test]
    fn the_previous_releases_text_record_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy("IN");
        // As the previous release wrote it (daemon::reload, before).
        let text = format!("{:?}", StoredPolicy::of(&p));
        assert!(text.starts_with("StoredPolicy"), "{text}");
        std::fs::write(path(dir.path()), text).unwrap();
        assert_eq!(recorded(dir.path(), &p), Recorded::Same);
        assert_eq!(recorded(dir.path(), &policy("OUT")), Recorded::Other);
    }

    #[test]
    fn a_damaged_or_newer_record_is_unreadable_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy("IN");
        for (octets, says) in [
            (vec![], "empty"),
            (vec![VERSION, 0xff, 0xff], "version 1"),
            (vec![9, 1, 2], "version 9"),
        ] {
            std::fs::write(path(dir.path()), &octets).unwrap();
            match recorded(dir.path(), &p) {
                Recorded::Unreadable(why) => assert!(why.contains(says), "{why}"),
                other => panic!("{octets:?}: {other:?}"),
            }
        }
    }
}
