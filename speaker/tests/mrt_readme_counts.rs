//! Every MRT file under the shared data folder, summarised and checked
//! against the figures of its README ("PART A - MRT FILES"). The table is
//! in `common/mrt_table.rs`, shared with the CLI test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod table {
    include!("common/mrt_table.rs");
}

use speaker::mrt::{MrtError, MrtReader, SummaryBuilder};
use table::{ROWS, check, data_dir, mrt_files};

#[test]
fn every_mrt_file_matches_the_readme() {
    let files = mrt_files();
    assert!(
        files.len() >= 40,
        "data folder not found or empty: {}",
        data_dir().display()
    );
    let mut failures = Vec::new();
    for f in &files {
        if !ROWS.iter().any(|r| r.file == f) {
            failures.push(format!("{f}: not in the table"));
        }
    }
    for row in ROWS {
        if !files.iter().any(|f| f == row.file) {
            failures.push(format!("{}: in the table, not in the folder", row.file));
            continue;
        }
        let reader = MrtReader::open(data_dir().join("mrt").join(row.file)).unwrap();
        let summary = SummaryBuilder::from_records(reader);
        let json = serde_json::to_value(&summary).unwrap();
        for m in check(row, &json) {
            failures.push(format!("{}: {m}", row.file));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{} MRT files match their README figures", ROWS.len());
}

/// The truncated excerpts: every whole record, then one truncation error, then the end.
#[test]
fn truncated_files_yield_whole_records_then_one_error() {
    for row in ROWS.iter().filter(|r| r.fatal.is_some()) {
        let mut reader = MrtReader::open(data_dir().join("mrt").join(row.file)).unwrap();
        let mut framed = 0u64;
        let mut fatal = Vec::new();
        for r in reader.by_ref() {
            match r {
                Ok(_) | Err(MrtError::Body { .. }) => {
                    assert!(
                        fatal.is_empty(),
                        "{}: record after the fatal error",
                        row.file
                    );
                    framed += 1;
                }
                Err(e) => fatal.push(e),
            }
        }
        assert_eq!(framed, row.records, "{}", row.file);
        assert_eq!(fatal.len(), 1, "{}: {fatal:?}", row.file);
        assert_eq!(Some(fatal[0].kind()), row.fatal, "{}", row.file);
        assert!(reader.next().is_none());
        eprintln!("{}: {framed} records, then: {}", row.file, fatal[0]);
    }
}
