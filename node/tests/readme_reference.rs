//! The README's configuration reference names every key of
//! `ops/config/reference.toml` (the file that sets each to its default):
//! a key added there and not documented in the README fails here.

use std::collections::BTreeSet;

const REFERENCE: &str = include_str!("../../ops/config/reference.toml");
const README: &str = include_str!("../../README.md");

/// Keys set (or commented out with their default) at the start of a line.
fn keys() -> BTreeSet<&'static str> {
    REFERENCE
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("# ").unwrap_or(l);
            let (key, _) = l.split_once(" = ")?;
            key.chars()
                .all(|c| c.is_ascii_lowercase() || c == '-')
                .then_some(key)
        })
        .collect()
}

#[test]
fn every_key_of_the_reference_is_in_the_readme() {
    let reference = README
        .split("## Configuration reference")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_default();
    let keys = keys();
    assert!(keys.len() > 50, "{keys:?}");
    let missing: Vec<&&str> = keys
        .iter()
        .filter(|k| {
            !reference.contains(&format!("`{k}`")) && !reference.contains(&format!(" {k}`"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "not in the README's configuration reference: {missing:?}"
    );
}
