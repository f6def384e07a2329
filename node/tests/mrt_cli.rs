//! `reflex mrt summary` on every MRT file of the data folder, against the
//! README table shared with the speaker's tests; `reflex mrt dump` output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod table {
    include!("../../speaker/tests/common/mrt_table.rs");
}

use std::process::{Command, Output};

fn reflex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reflex"))
        .args(args)
        .output()
        .unwrap()
}

fn data(file: &str) -> String {
    table::data_dir()
        .join("mrt")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn summary_json_matches_the_readme_for_every_file() {
    let files = table::mrt_files();
    let mut failures = Vec::new();
    for f in &files {
        if !table::ROWS.iter().any(|r| r.file == f) {
            failures.push(format!("{f}: not in the table"));
        }
    }
    for row in table::ROWS {
        let out = reflex(&["mrt", "summary", "--json", &data(row.file)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() == row.fatal.is_some() {
            failures.push(format!(
                "{}: exit status {} (stderr: {stderr})",
                row.file, out.status
            ));
        }
        let json: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: output is not JSON: {e}", row.file));
                continue;
            }
        };
        failures.extend(
            table::check(row, &json)
                .into_iter()
                .map(|m| format!("{}: {m}", row.file)),
        );
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn summary_text_is_one_aligned_line_per_figure() {
    let out = reflex(&[
        "mrt",
        "summary",
        &data("rib/ryu_rib.20161101.0000_pick.bz2"),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Values start in one column, two spaces after the longest label.
    let first = lines[0];
    assert!(first.starts_with("records"));
    let col = first.len() - first["records".len()..].trim_start().len();
    for l in &lines {
        let b = l.as_bytes();
        assert!(
            b.len() > col && &b[col - 2..col] == b"  " && b[col] != b' ',
            "misaligned: {l:?}"
        );
    }
    for want in ["records", "tdv2 peers_in_index", "tdv2 rib_entries", "time"] {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "{want} missing in:\n{text}"
        );
    }
    assert!(
        text.contains("tdv2 rib_entries")
            && text
                .lines()
                .any(|l| l.starts_with("tdv2 rib_entries") && l.ends_with(" 4"))
    );
}

#[test]
fn dump_prints_one_json_object_per_record() {
    for (file, records) in [
        ("rib/ryu_rib.20161101.0000_pick.bz2", 3),
        ("impl-samples/mrtparse_quagga_bgp", 67),
        ("impl-samples/mrtparse_openbgpd_rib_table-mp", 31),
        (
            "historic/bgpkit_rrc00_1999.12_updates.19991214.1621.gz",
            18_203,
        ),
    ] {
        let out = reflex(&["mrt", "dump", &data(file)]);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut n = 0;
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["type"].is_u64() && v["record"].is_string(), "{file}: {l}");
            n += 1;
        }
        assert_eq!(n, records, "{file}");
    }
}

#[test]
fn dump_of_a_truncated_file_prints_every_whole_record_then_fails() {
    let whole = std::fs::read(data("impl-samples/mrtparse_quagga_bgp")).unwrap();
    let dir = std::env::temp_dir().join(format!("reflex-mrt-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("quagga_bgp.truncated");
    std::fs::write(&cut, &whole[..3000]).unwrap();
    let out = reflex(&["mrt", "dump", cut.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("truncated"), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (last, whole_records) = lines.split_last().unwrap();
    assert!(whole_records.iter().all(|v| v["record"].is_string()));
    assert!(
        last["error"].as_str().unwrap().contains("truncated"),
        "{last}"
    );
    // Every record that ends before octet 3000 was printed.
    let end =
        |v: &serde_json::Value| v["offset"].as_u64().unwrap() + 12 + v["length"].as_u64().unwrap();
    assert!(whole_records.iter().all(|v| end(v) <= 3000));
    assert_eq!(last["offset"].as_u64(), whole_records.last().map(end));
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = reflex(&["mrt", "summary", "/nonexistent/file.mrt"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/file.mrt"));
}
