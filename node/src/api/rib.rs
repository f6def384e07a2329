//! `GET /api/v1/rib`: the Loc-RIB's IPv4 and IPv6 unicast destinations,
//! every candidate path, and why the best one won (the decision step that
//! set it apart, RFC 4271 §9.1.2.2). Filtered by exact prefix, longest
//! match, neighbour, community or AS path (FRR's expression dialect), and
//! paginated: `limit` (100 by default, 1000 at most) destinations a page,
//! `after` the `next` of the previous page.

use super::{ApiError, ApiState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Json;
use regex::Regex;
use serde::{Deserialize, Serialize};
use speaker::rib::adj_rib_out::next_hop;
use speaker::rib::{Entry, PeerId, RouteKey};
use speaker::wire::{Family, NlriEntry, Prefix};
use std::net::IpAddr;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// Destinations one request looks at, at most.
const SCAN: usize = 65_536;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RibQuery {
    prefix: Option<String>,
    longest: Option<String>,
    neighbor: Option<String>,
    community: Option<String>,
    as_path: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

#[derive(Serialize)]
pub struct RibPage {
    routes: Vec<RouteView>,
    /// Give as `after` for the next page; `null` on the last.
    next: Option<String>,
}

#[derive(Serialize)]
struct RouteView {
    prefix: String,
    family: &'static str,
    /// The step of the decision process that set the best path apart
    /// (`null`: no usable path).
    decided_by: Option<String>,
    paths: Vec<PathView>,
}

#[derive(Serialize)]
struct PathView {
    neighbor: Option<IpAddr>,
    best: bool,
    /// The path the best one beat last, at `decided_by`.
    runner_up: bool,
    stale: bool,
    next_hop: Option<IpAddr>,
    as_path: String,
    origin: Option<String>,
    local_pref: Option<u32>,
    med: Option<u32>,
    communities: Vec<String>,
}

fn bad(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

fn key_of(prefix: Prefix) -> RouteKey {
    let family = if prefix.is_ipv6() {
        Family::IPV6_UNICAST
    } else {
        Family::IPV4_UNICAST
    };
    RouteKey::of(family, &NlriEntry::plain(prefix))
}

fn parse_prefix(what: &str, s: &str) -> Result<Prefix, ApiError> {
    s.parse().map_err(|_| {
        bad(format!(
            "{what} `{s}` is not a prefix (198.51.100.0/24, 2001:db8::/32)"
        ))
    })
}

pub async fn query(
    State(api): State<ApiState>,
    q: Result<Query<RibQuery>, QueryRejection>,
) -> Result<Json<RibPage>, ApiError> {
    let Query(q) = q.map_err(|e| bad(e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad(format!(
            "limit {limit} is out of range (1 to {MAX_LIMIT})"
        )));
    }
    let exact = q
        .prefix
        .as_deref()
        .map(|s| parse_prefix("prefix", s))
        .transpose()?;
    let longest: Option<IpAddr> = q
        .longest
        .as_deref()
        .map(|s| {
            s.parse()
                .map_err(|_| bad(format!("longest `{s}` is not an address")))
        })
        .transpose()?;
    let neighbor: Option<IpAddr> = q
        .neighbor
        .as_deref()
        .map(|s| {
            s.parse()
                .map_err(|_| bad(format!("neighbor `{s}` is not an address")))
        })
        .transpose()?;
    let as_path: Option<Regex> = q
        .as_path
        .as_deref()
        .map(|s| speaker::policy::as_path_list::compile(s).map_err(|e| bad(e.to_string())))
        .transpose()?;
    let after = q
        .after
        .as_deref()
        .map(|s| parse_prefix("after", s).map(key_of))
        .transpose()?;

    // Before the state machine's lock: the id is read under it.
    let peer: Option<PeerId> = neighbor.and_then(|ip| api.sessions.peer_id_of(ip));
    if let Some(ip) = neighbor
        && peer.is_none()
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no neighbour {ip}"),
        ));
    }
    let wanted = |key: &RouteKey, e: &Entry| -> bool {
        let paths = e.candidates();
        (neighbor.is_none() || paths.iter().any(|c| Some(c.peer) == peer))
            && q.community.as_deref().is_none_or(|want| {
                paths.iter().any(|c| {
                    c.attrs
                        .communities()
                        .is_some_and(|cs| cs.iter().any(|x| x.to_string() == want))
                })
            })
            && as_path.as_ref().is_none_or(|re| {
                paths.iter().any(|c| {
                    re.is_match(&c.attrs.as_path().map(|p| p.to_string()).unwrap_or_default())
                })
            })
            && key.is_ip_unicast()
    };
    if exact.is_some() || longest.is_some() {
        // One destination, found by a search under the lock.
        let routes = api.member.read(|applied| {
            let rib = &applied.rib;
            let found = match (exact, longest) {
                (Some(p), _) => rib.loc_rib_entry(&key_of(p)).map(|e| (key_of(p), e)),
                (None, Some(a)) => longest_match(rib, a),
                (None, None) => None,
            };
            found
                .filter(|(k, e)| wanted(k, e))
                .map(|(k, e)| view(rib, &k, e))
                .into_iter()
                .collect()
        });
        return Ok(Json(RibPage { routes, next: None }));
    }
    // From the cursor by a search, and at most SCAN destinations looked
    // at: a filter that matches little pages through the table (a page may
    // come back short, even empty, with a `next`) instead of walking all
    // of it. The lock is held for a page of the walk at a time (the thread
    // that applies the log waits at most that): each destination is as it
    // was when its part of the walk was read.
    let mut routes: Vec<RouteView> = Vec::new();
    let mut next = None;
    let mut cursor = after;
    let mut looked = 0;
    loop {
        let done = api.member.read(|applied| {
            let rib = &applied.rib;
            for (i, (key, entry)) in rib.unicast_after(cursor).enumerate() {
                if i == super::pages::PAGE {
                    return false;
                }
                if looked == SCAN {
                    next = cursor.map(|k| k.prefix.to_string());
                    return true;
                }
                looked += 1;
                if wanted(key, entry) {
                    if routes.len() == limit {
                        next = routes.last().map(|r| r.prefix.clone());
                        return true;
                    }
                    routes.push(view(rib, key, entry));
                }
                cursor = Some(*key);
            }
            true
        });
        if done {
            break;
        }
        super::pages::between_pages().await;
    }
    Ok(Json(RibPage { routes, next }))
}

/// The most specific destination with a best path covering `a`.
fn longest_match(rib: &speaker::rib::Rib, a: IpAddr) -> Option<(RouteKey, &Entry)> {
    let max = if a.is_ipv6() { 128 } else { 32 };
    (0..=max).rev().find_map(|len| {
        let key = key_of(Prefix::new(a, len)?);
        rib.loc_rib_entry(&key)
            .filter(|e| e.best().is_some())
            .map(|e| (key, e))
    })
}

fn view(rib: &speaker::rib::Rib, key: &RouteKey, e: &Entry) -> RouteView {
    let decision = e.decision();
    let paths = e
        .candidates()
        .iter()
        .enumerate()
        .map(|(i, c)| PathView {
            neighbor: rib.peer(c.peer).map(|p| p.address),
            best: decision.is_some_and(|d| d.best == i),
            runner_up: decision.is_some_and(|d| d.runner_up == Some(i)),
            stale: c.stale(),
            next_hop: next_hop(key.family, &c.attrs),
            as_path: c.attrs.as_path().map(|p| p.to_string()).unwrap_or_default(),
            origin: c.attrs.origin().map(|o| format!("{o:?}").to_lowercase()),
            local_pref: c.attrs.local_pref().copied(),
            med: c.attrs.med().copied(),
            communities: c
                .attrs
                .communities()
                .map(|cs| cs.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
        })
        .collect();
    RouteView {
        prefix: key.prefix.to_string(),
        family: if key.family == Family::IPV6_UNICAST {
            "ipv6-unicast"
        } else {
            "ipv4-unicast"
        },
        decided_by: decision.map(|d| format!("{:?}", d.step)),
        paths,
    }
}
