//! Fatal exits, recorded in the data directory (`fatal-exits`, one line
//! each: the time and the reason) so that the next start says so and
//! counts them (`reflex_fatal_exits_total`): a member restarted by systemd
//! or compose after a fatal store error is not mistaken for a healthy one.
//! Best effort: on a full disk the record cannot be written (the log and
//! the exit status still say why).

use std::io::Write;
use std::path::Path;

const FILE: &str = "fatal-exits";

/// Appends `why` to the record in `data_dir`.
pub fn record(data_dir: &Path, why: &str) {
    let line = format!("{} {}\n", now_stamp(), why.replace('\n', " "));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join(FILE))
        .and_then(|mut f| f.write_all(line.as_bytes()).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot record the fatal exit in the data directory");
    }
}

/// How many fatal exits `data_dir` records, and the last one's line.
pub fn read(data_dir: &Path) -> (u64, Option<String>) {
    let Ok(text) = std::fs::read_to_string(data_dir.join(FILE)) else {
        return (0, None);
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    (lines.len() as u64, lines.last().map(|l| (*l).to_string()))
}

/// Seconds since the Unix epoch (UTC), as the record's time stamp.
fn now_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("unix={secs}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_and_the_last_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), (0, None));
        record(dir.path(), "first");
        record(dir.path(), "second\nline");
        let (n, last) = read(dir.path());
        assert_eq!(n, 2);
        assert!(last.unwrap().ends_with(" second line"));
    }
}
