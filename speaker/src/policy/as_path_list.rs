//! AS-path access lists: regular expressions over the AS path written as
//! FRR and IOS write it ("64500 64501 {64502,64503}"), with their `_`: a
//! boundary that matches the start, the end, a space, a comma or a set's
//! or confederation's bracket. The first entry whose expression finds a
//! match decides; a path no entry matches is denied.

use super::Action;
use super::error::PolicyError;
use crate::wire::attr::AsPath;
use regex::Regex;
use std::cell::RefCell;
use std::fmt::Write;

/// FRR's expansion of `_` (bgpd/bgp_regex.c).
const BOUNDARY: &str = "(?:^|[,{}() ]|$)";

/// Compiles an expression in FRR's dialect: `_` is [`BOUNDARY`], the rest
/// is a regular expression (POSIX ERE and Rust's syntax agree on what AS
/// path expressions use: anchors, classes, repetition, alternation).
pub fn compile(pattern: &str) -> Result<Regex, PolicyError> {
    let mut expanded = String::with_capacity(pattern.len() + 16);
    let mut escaped = false;
    for c in pattern.chars() {
        match c {
            '_' if !escaped => expanded.push_str(BOUNDARY),
            _ => expanded.push(c),
        }
        escaped = c == '\\' && !escaped;
    }
    Regex::new(&expanded).map_err(|e| PolicyError::BadRegex {
        pattern: pattern.to_string(),
        reason: e.to_string(),
    })
}

#[derive(Clone, Debug)]
pub struct AsPathList {
    entries: Vec<(Action, Regex)>,
}

thread_local! {
    /// The last path and its text: the lists of a route-map read the same
    /// path one after the other, and it is written once.
    static TEXT: RefCell<(Option<AsPath>, String)> = const { RefCell::new((None, String::new())) };
}

/// Runs `f` on the text form of `path` (empty for no path).
pub fn with_text<T>(path: Option<&AsPath>, f: impl FnOnce(&str) -> T) -> T {
    TEXT.with(|t| {
        let mut t = t.borrow_mut();
        let (last, text) = &mut *t;
        if last.as_ref() != path {
            text.clear();
            if let Some(p) = path {
                let _ = write!(text, "{p}");
            }
            *last = path.cloned();
        }
        f(text)
    })
}

/// Equal when written the same.
impl PartialEq for AsPathList {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((a, x), (b, y))| a == b && x.as_str() == y.as_str())
    }
}

impl Eq for AsPathList {}

impl AsPathList {
    /// Entries in order: `(action, expression)`.
    pub fn new(entries: &[(Action, String)]) -> Result<AsPathList, PolicyError> {
        let entries = entries
            .iter()
            .map(|(a, p)| Ok((*a, compile(p)?)))
            .collect::<Result<_, PolicyError>>()?;
        Ok(AsPathList { entries })
    }

    /// The action of the first entry matching the path's text form.
    pub fn evaluate_text(&self, text: &str) -> Option<Action> {
        self.entries
            .iter()
            .find(|(_, re)| re.is_match(text))
            .map(|(a, _)| *a)
    }

    pub fn permits(&self, path: Option<&AsPath>) -> bool {
        with_text(path, |t| self.evaluate_text(t)) == Some(Action::Permit)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::attr::{AsSegment, SegmentType};
    use Action::{Deny, Permit};

    fn list(entries: &[(Action, &str)]) -> AsPathList {
        let v: Vec<(Action, String)> = entries.iter().map(|(a, p)| (*a, p.to_string())).collect();
        AsPathList::new(&v).unwrap()
    }

    fn seq(asns: &[u32]) -> AsPath {
        AsPath::sequence(asns.to_vec())
    }

    fn permits(l: &AsPathList, p: &AsPath) -> bool {
        l.permits(Some(p))
    }

    #[test]
    fn underscore_is_a_boundary() {
        let l = list(&[(Permit, "_64500_")]);
        assert!(permits(&l, &seq(&[64500])));
        assert!(permits(&l, &seq(&[1, 64500, 2])));
        assert!(!permits(&l, &seq(&[645001])));
        assert!(!permits(&l, &seq(&[164500])));
        // Inside a set: the comma and braces are boundaries.
        let set = AsPath::from_segments([
            AsSegment {
                kind: SegmentType::Sequence,
                asns: vec![1],
            },
            AsSegment {
                kind: SegmentType::Set,
                asns: vec![7, 64500],
            },
        ]);
        assert!(permits(&l, &set));
        // Confederation segments: parentheses.
        let confed = AsPath::from_segments([AsSegment {
            kind: SegmentType::ConfedSequence,
            asns: vec![64500, 3],
        }]);
        assert!(permits(&l, &confed));
    }

    #[test]
    fn anchors() {
        // Originated by 64500.
        let origin = list(&[(Permit, "_64500$")]);
        assert!(permits(&origin, &seq(&[1, 2, 64500])));
        assert!(!permits(&origin, &seq(&[64500, 2])));
        // Learned from neighbour AS 64500.
        let first = list(&[(Permit, "^64500_")]);
        assert!(permits(&first, &seq(&[64500, 2])));
        assert!(!permits(&first, &seq(&[1, 64500])));
        // Locally originated: the empty path.
        let local = list(&[(Permit, "^$")]);
        assert!(permits(&local, &seq(&[])));
        assert!(local.permits(None));
        assert!(!permits(&local, &seq(&[1])));
        // Exactly one AS.
        let one = list(&[(Permit, "^[0-9]+$")]);
        assert!(permits(&one, &seq(&[4200000000])));
        assert!(!permits(&one, &seq(&[1, 2])));
    }

    #[test]
    fn first_match_decides_and_no_match_denies() {
        let l = list(&[(Deny, "_666_"), (Permit, ".*")]);
        assert!(!permits(&l, &seq(&[1, 666, 2])));
        assert!(permits(&l, &seq(&[1, 2])));
        let none = list(&[(Permit, "_1_")]);
        assert_eq!(with_text(Some(&seq(&[2])), |t| none.evaluate_text(t)), None);
        assert!(!permits(&none, &seq(&[2])));
    }

    #[test]
    fn prepends_and_repetition() {
        // Any path with 64500 prepended at least three times in a row.
        let l = list(&[(Permit, "(_64500){3}_")]);
        assert!(permits(&l, &seq(&[64500, 64500, 64500, 1])));
        assert!(!permits(&l, &seq(&[64500, 64500, 1])));
    }

    #[test]
    fn an_escaped_underscore_is_literal_and_bad_expressions_are_refused() {
        let re = compile("a\\_b").unwrap();
        assert!(re.is_match("a_b"));
        for bad in ["(", "[0-9", "*1", "a{2,1}"] {
            let e = AsPathList::new(&[(Permit, bad.to_string())]).unwrap_err();
            assert!(matches!(e, PolicyError::BadRegex { .. }), "{bad}");
        }
    }
}
