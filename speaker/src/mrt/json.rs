//! Serialization helpers for the wire types that do not derive `Serialize`
//! (messages, UPDATEs, errors), used by the JSON output of records.

use crate::wire::{DecodeError, Message, Update, UpdateError};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

pub(crate) fn serialize_issues<S: Serializer>(
    issues: &[UpdateError],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(issues.len()))?;
    for e in issues {
        seq.serialize_element(&e.to_string())?;
    }
    seq.end()
}

pub(crate) fn serialize_message<S: Serializer>(
    m: &Result<Message, DecodeError>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match m {
        Ok(m) => MessageJson(m).serialize(s),
        Err(e) => {
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry("error", &e.to_string())?;
            map.end()
        }
    }
}

pub(crate) fn serialize_message_opt<S: Serializer>(
    m: &Option<Result<Message, DecodeError>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => serialize_message(m, s),
        None => s.serialize_none(),
    }
}

/// A message as a JSON object with a `type` field.
pub struct MessageJson<'a>(pub &'a Message);

impl Serialize for MessageJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", self.0.message_type().name())?;
        match self.0 {
            Message::Open(o) => map.serialize_entry("open", o)?,
            Message::Update(u) => map.serialize_entry("update", &UpdateJson(u))?,
            Message::Notification(n) => map.serialize_entry("notification", n)?,
            Message::Keepalive => {}
            Message::RouteRefresh(r) => map.serialize_entry("route_refresh", r)?,
        }
        map.end()
    }
}

/// An UPDATE as a JSON object.
pub struct UpdateJson<'a>(pub &'a Update);

impl Serialize for UpdateJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let u = self.0;
        let mut map = s.serialize_map(None)?;
        if !u.withdrawn.is_empty() {
            map.serialize_entry("withdrawn", &u.withdrawn)?;
        }
        map.serialize_entry("attributes", &*u.attributes)?;
        if !u.nlri.is_empty() {
            map.serialize_entry("nlri", &u.nlri)?;
        }
        if let Some(n) = &u.mp_reach_nlri {
            map.serialize_entry("mp_reach_nlri", n)?;
        }
        if let Some(w) = &u.mp_unreach {
            map.serialize_entry("mp_unreach_family", &w.nlri.family().to_string())?;
            map.serialize_entry("mp_unreach_nlri", &w.nlri)?;
        }
        if !u.issues.is_empty() {
            let v: Vec<String> = u.issues.iter().map(ToString::to_string).collect();
            map.serialize_entry("issues", &v)?;
        }
        map.end()
    }
}

pub(crate) fn serialize_attrs<S: Serializer>(
    a: &std::sync::Arc<crate::wire::PathAttributes>,
    s: S,
) -> Result<S::Ok, S::Error> {
    a.as_ref().serialize(s)
}
