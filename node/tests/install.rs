//! What an installation uses besides `run`: shell completions and the
//! systemd unit in `ops/systemd`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn completions_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_reflex"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in [
            "run",
            "ctl",
            "check-config",
            "mrt",
            "cluster",
            "neighbors",
            "shutdown",
        ] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_reflex"))
        .args(["completions", "cmd.exe"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

/// `systemd-analyze verify` on the unit, its binary path pointed at the
/// one built here (skipped where systemd is not installed).
#[test]
fn the_systemd_unit_verifies() {
    if !systemd_analyze() {
        return;
    }
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ops/systemd/reflex.service"
    ))
    .unwrap();
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reflex.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/reflex", env!("CARGO_BIN_EXE_reflex")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("reflex.service"))
        .collect();
    assert!(out.status.success() && problems.is_empty(), "{err}");
}

/// `systemd-analyze security` scores the unit 3.0 or better (lower is
/// better; skipped where systemd is not installed).
#[test]
fn the_systemd_unit_is_sandboxed() {
    if !systemd_analyze() {
        return;
    }
    let unit = concat!(env!("CARGO_MANIFEST_DIR"), "/../ops/systemd/reflex.service");
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", unit])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for reflex.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score: {text}{}", String::from_utf8_lossy(&out.stderr)));
    eprintln!("systemd-analyze security: {score}");
    assert!(score <= 3.0, "exposure {score}:\n{text}");
}

/// Whether `systemd-analyze` is here (else the test says it is skipped).
fn systemd_analyze() -> bool {
    let here = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok();
    if !here {
        eprintln!("skipped: no systemd-analyze");
    }
    here
}
