//! `reflex check-config`: the sample configurations pass, a bad file fails
//! with every problem on its own `FILE:LINE: key ...` line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn reflex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reflex"))
        .args(args)
        .output()
        .unwrap()
}

fn ops(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ops/config")
        .join(name)
}

#[test]
fn sample_config_is_ok() {
    let path = ops("reflex.toml");
    let path = path.to_str().unwrap();
    let out = reflex(&["check-config", path]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, format!("{path}: ok (2 neighbours)\n"));
}

#[test]
fn reference_config_is_ok() {
    let path = ops("reference.toml");
    let out = reflex(&["check-config", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": ok (1 neighbour)\n"));
}

#[test]
fn json_shows_the_resolved_config() {
    let path = ops("reflex.toml");
    let out = reflex(&["check-config", "--json", path.to_str().unwrap()]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json_end = stdout.rfind('}').unwrap() + 1;
    let json: serde_json::Value = serde_json::from_str(&stdout[..json_end]).unwrap();
    assert_eq!(json["neighbors"][0]["timers"]["hold_time"], 90);
    assert_eq!(json["listen"]["port"], 1179);
}

#[test]
fn bad_config_fails_with_every_error_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "router-id = \"198.18.0.1\"\n\
         local-as = 65000\n\
         \n\
         [[neighbor]]\n\
         address = \"198.18.0.2\"\n\
         remote-as = 65000\n\
         hold-time = 2\n\
         \n\
         [[neighbor]]\n\
         address = \"198.18.0.2\"\n\
         remote-as = 0\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let out = reflex(&["check-config", p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = [
        format!(
            "{p}:7: key `neighbor[0].hold-time`: hold time 2 is invalid (RFC 4271 §4.2: 0 or at least 3)"
        ),
        format!(
            "{p}:10: key `neighbor[1].address`: neighbour address 198.18.0.2 is also at line 5 (`neighbor[0].address`)"
        ),
        format!(
            "{p}:11: key `neighbor[1].remote-as`: AS 0 is invalid (RFC 7607: AS 0 is reserved)"
        ),
        format!("reflex: {p}: 3 errors"),
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn unknown_key_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    std::fs::write(
        &path,
        "router-id = \"198.18.0.1\"\nlocal-as = 65000\n[listen]\nprot = 1179\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let out = reflex(&["check-config", p]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{p}:4: key `listen.prot`: unknown field `prot`, expected `addresses` or `port`\n"
        )),
        "{stderr}"
    );
}

#[test]
fn missing_file_fails() {
    let out = reflex(&["check-config", "/nonexistent/reflex.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/reflex.toml: cannot read"),
        "{stderr}"
    );
}
