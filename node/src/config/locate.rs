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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const DOC: &str = "a = 1\n\n[t]\nb = [\n  1,\n  2,\n]\n\n[[n]]\nc = 3\n\n[[n]]\n\"d e\" = 4\n";

    fn locator() -> Locator {
        let doc = DeTable::parse(DOC).unwrap();
        Locator::new(DOC, doc.get_ref())
    }

    #[test]
    fn line_of_keys_elements_and_tables() {
        let loc = locator();
        assert_eq!(loc.line_of("a"), 1);
        assert_eq!(loc.line_of("t"), 3);
        assert_eq!(loc.line_of("t.b"), 4);
        assert_eq!(loc.line_of("t.b[1]"), 6);
        assert_eq!(loc.line_of("n[0]"), 9);
        assert_eq!(loc.line_of("n[0].c"), 10);
        assert_eq!(loc.line_of("n[1]"), 12);
        assert_eq!(loc.line_of("n[1].\"d e\""), 13);
        // Missing keys: the enclosing table, else line 1.
        assert_eq!(loc.line_of("n[1].missing"), 12);
        assert_eq!(loc.line_of("missing"), 1);
    }

    #[test]
    fn path_at_an_offset() {
        let loc = locator();
        let at = |needle: &str| loc.path_at(DOC.find(needle).unwrap());
        assert_eq!(at("c = 3"), Some("n[0].c"));
        assert_eq!(at("3\n"), Some("n[0].c"));
        assert_eq!(at("2,"), Some("t.b[1]"));
        assert_eq!(at("\"d e\""), Some("n[1].\"d e\""));
    }

    #[test]
    fn lines_of_offsets() {
        let loc = Locator::lines_only("a\nb\n\nc");
        assert_eq!(loc.line_at(0), 1);
        assert_eq!(loc.line_at(1), 1);
        assert_eq!(loc.line_at(2), 2);
        assert_eq!(loc.line_at(5), 4);
    }

    #[test]
    fn paths() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("g", "x y"), "g.\"x y\"");
        assert_eq!(parent("a.b[2].c"), Some("a.b[2]"));
        assert_eq!(parent("a.b[2]"), Some("a.b"));
        assert_eq!(parent("a"), None);
    }
}
