//! Lines of keys: from a key path to its line, and from a byte offset (of a
//! serde error) to the key path there.
//!
//! The file is parsed a second time into toml's spanned document tree
//! (`toml::de::DeTable`), and every key and array element is recorded with
//! its path (`neighbor[2].hold-time`, `group.clients.families[0]`) and
//! spans. The typed model then needs no spans of its own.

use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub struct Locator {
    /// Offsets where lines start; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
    entries: Vec<Entry>,
}

struct Entry {
    path: String,
    /// The key (for a table entry) or the element (for an array element).
    key: Range<usize>,
    value: Range<usize>,
}

impl Locator {
    pub fn new(source: &str, document: &DeTable<'_>) -> Locator {
        let mut line_starts = vec![0];
        line_starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let mut entries = Vec::new();
        walk_table(document, "", &mut entries);
        Locator {
            line_starts,
            entries,
        }
    }

    /// Only line numbers, for a file whose TOML does not parse.
    pub fn lines_only(source: &str) -> Locator {
        Locator::new(source, &DeTable::new())
    }

    /// 1-based line of a byte offset.
    pub fn line_at(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// Line of a key path; for a key that is not in the file (a missing
    /// key), the line of the nearest enclosing table that is, else 1.
    pub fn line_of(&self, path: &str) -> usize {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.iter().find(|e| e.path == p) {
                return self.line_at(e.key.start);
            }
            match parent(p) {
                Some(up) => p = up,
                None => return 1,
            }
        }
    }

    /// The most specific key path whose key or value spans `offset`.
    pub fn path_at(&self, offset: usize) -> Option<&str> {
        let on_key = self
            .entries
            .iter()
            .filter(|e| e.key.contains(&offset))
            .min_by_key(|e| e.key.len());
        if let Some(e) = on_key {
            return Some(&e.path);
        }
        self.entries
            .iter()
            .filter(|e| e.value.contains(&offset))
            .min_by_key(|e| e.value.len())
            .map(|e| e.path.as_str())
    }
}

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> None.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

fn walk_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<Entry>) {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
        out.push(Entry {
            path: path.clone(),
            key: key.span(),
            value: value.span(),
        });
        walk_value(value, &path, out);
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, path: &str, out: &mut Vec<Entry>) {
    match value.get_ref() {
        DeValue::Table(t) => walk_table(t, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                out.push(Entry {
                    path: item_path.clone(),
                    key: item.span(),
                    value: item.span(),
                });
                walk_value(item, &item_path, out);
            }
        }
        _ => {}
    }
}

/// Append a key to a path, quoting it unless it is a bare TOML key.
pub fn join(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}
