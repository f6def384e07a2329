//! `POST /api/v1/neighbors/{address}/{action}`: reset, refresh (inbound
//! soft reset), shutdown (with an RFC 9003 message: a JSON body
//! `{"message": "..."}`), enable, move (to the member of `{"member": ID}`);
//! and `POST /api/v1/reload`. Each needs `Authorization: Bearer TOKEN` with
//! the `[api] token` of the configuration.

use super::{ApiError, ApiState};
use crate::session::{Act, NeighborAction};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Json;
use std::net::IpAddr;

/// RFC 9003 §2: the Shutdown Communication is 255 octets at most.
const MAX_MESSAGE: usize = 255;

/// Whether the request carries the configured token.
pub fn authorize(headers: &HeaderMap, token: Option<&str>) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "actions are disabled: set `[api] token` in the configuration",
        ));
    };
    bearer(headers, &[token], "this action")
}

/// Whether the request carries one of `tokens` (`what` it is for, in
/// the error).
pub fn bearer(headers: &HeaderMap, tokens: &[&str], what: &str) -> Result<(), ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!("{what} needs `Authorization: Bearer TOKEN`"),
        )),
        // Every token compared, so the time says nothing of which.
        Some(t) => {
            let matched = tokens.iter().fold(false, |m, k| {
                constant_time_eq(t.as_bytes(), k.as_bytes()) | m
            });
            if matched {
                Ok(())
            } else {
                Err(ApiError::new(StatusCode::FORBIDDEN, "wrong token"))
            }
        }
    }
}

/// Compares without stopping at the first difference (a timing side
/// channel would tell the token an octet at a time).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn act(
    State(api): State<ApiState>,
    Path((address, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&headers, api.token.as_deref())?;
    let ip: IpAddr = address.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{address}` is not an IPv4 or IPv6 address"),
        )
    })?;
    if action == "move" {
        return move_session(&api, ip, &body).await;
    }
    let action = match action.as_str() {
        "reset" => NeighborAction::Reset {
            hard: reset_hard(&body)?,
        },
        "refresh" => NeighborAction::Refresh,
        "enable" => NeighborAction::Enable,
        "shutdown" => NeighborAction::Shutdown(shutdown_message(&body)?),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no action `{other}` (reset, refresh, shutdown, enable, move)"),
            ));
        }
    };
    if api.sessions.peer_id_of(ip).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no neighbour {ip}"),
        ));
    }
    let session = api.sessions.session_of(ip).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            format!("the session with {ip} does not run on this member"),
        )
    })?;
    match session.send(Act(action)).await {
        Ok(Ok(done)) => Ok(Json(serde_json::json!({ "neighbor": ip, "done": done }))),
        Ok(Err(why)) => Err(ApiError::new(StatusCode::CONFLICT, why)),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the session is stopping",
        )),
    }
}

/// Moves the session of the neighbour at `ip` to the member the body
/// names: the owner map changes through the log, the old owner stops the
/// session (Cease), the new one starts it with the routes already in its
/// replica. The leader keeps an owner while it votes.
async fn move_session(
    api: &ApiState,
    ip: IpAddr,
    body: &[u8],
) -> Result<Json<serde_json::Value>, ApiError> {
    let bad = |why: String| ApiError::new(StatusCode::BAD_REQUEST, why);
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body must be {{\"member\": ID}}: {e}")))?;
    let to = v
        .get("member")
        .and_then(|m| m.as_u64())
        .ok_or_else(|| bad("the body must be {\"member\": ID}, ID a member's number".into()))?;
    let id = api
        .sessions
        .peer_id_of(ip)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no neighbour {ip}")))?;
    let status = consensus::server::status(&api.member.raft);
    if !status.voters.contains_key(&to) {
        let voters: Vec<String> = status.voters.keys().map(u64::to_string).collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "member {to} is not a voter of the cluster (voters: {})",
                voters.join(", ")
            ),
        ));
    }
    if api.member.read(|a| a.owners.get(&id) == Some(&to)) {
        return Ok(Json(
            serde_json::json!({ "neighbor": ip, "member": to, "done": "already there" }),
        ));
    }
    // A session with a service address runs on one member at a time: it
    // is handed over (a restart of ours), not doubled.
    let handed_over = api
        .sessions
        .neighbors()
        .iter()
        .any(|n| n.addr.ip() == ip && n.service.is_some());
    let command = if handed_over {
        storage::LeaseCommand::Assign {
            peer: id.0,
            member: to,
        }
    } else {
        storage::LeaseCommand::Move { peer: id.0, to }
    };
    write_lease(api, command, "move").await?;
    Ok(Json(
        serde_json::json!({ "neighbor": ip, "member": to, "done": "moving" }),
    ))
}

/// Writes a change of the session leases through the log; 503 when it
/// cannot be committed.
async fn write_lease(
    api: &ApiState,
    lease: storage::LeaseCommand,
    what: &str,
) -> Result<(), ApiError> {
    api.member
        .write(storage::Request::leases(vec![lease]))
        .await
        .map(|_| ())
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot write the {what}: {e}"),
            )
        })
}

/// `POST /api/v1/cluster/drain` and `/undrain`: a member (the body's
/// `{"member": ID}`, else this one) takes no sessions, its own moving
/// make-before-break to the others; or takes them again. Replicated: the
/// drain holds until undone, through restarts.
pub async fn drain(
    State(api): State<ApiState>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&headers, api.token.as_deref())?;
    let bad = |why: String| ApiError::new(StatusCode::BAD_REQUEST, why);
    let drain = match action.as_str() {
        "drain" => Some(storage::Drain::Operator),
        "undrain" => None,
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no cluster action {other} (drain, undrain)"),
            ));
        }
    };
    let member = if body.iter().all(u8::is_ascii_whitespace) {
        api.member.id
    } else {
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| bad(format!("the body must be {{\"member\": ID}} or empty: {e}")))?;
        v.get("member")
            .and_then(|m| m.as_u64())
            .ok_or_else(|| bad("the body must be {\"member\": ID} or empty".into()))?
    };
    let status = consensus::server::status(&api.member.raft);
    if !status.voters.contains_key(&member) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("member {member} is not a voter of the cluster"),
        ));
    }
    if drain.is_some() && status.voters.len() < 2 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "a one-member cluster has no other member to move its sessions to",
        ));
    }
    write_lease(
        &api,
        storage::LeaseCommand::Drain { member, drain },
        "drain",
    )
    .await?;
    Ok(Json(serde_json::json!({
        "member": member,
        "done": if drain.is_some() { "draining" } else { "undrained" },
    })))
}

/// `POST /api/v1/reload`: reads the configuration file again and applies
/// it; 422 with the problems when it is refused.
pub async fn reload(
    State(api): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, axum::response::Response> {
    use crate::daemon::reload::ReloadError;
    use axum::response::IntoResponse;
    authorize(&headers, api.token.as_deref()).map_err(IntoResponse::into_response)?;
    let Some(reloader) = &api.reloader else {
        return Err(
            ApiError::new(StatusCode::CONFLICT, "started without a configuration file")
                .into_response(),
        );
    };
    match reloader.reload().await {
        Ok(report) => Ok(Json(serde_json::json!(report))),
        Err(ReloadError::Invalid(problems)) => {
            let message = format!(
                "configuration refused ({} problems): the running one stays",
                problems.len()
            );
            Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({ "error": message, "problems": problems })),
            )
                .into_response())
        }
        Err(e @ ReloadError::Unreadable(_)) => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response())
        }
        Err(e @ ReloadError::Cluster(_)) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response())
        }
    }
}

/// The RFC 9003 message of a shutdown: `{"message": "..."}`, or none.
/// `{"hard": true}`: a Hard Reset (RFC 8538), after which neither side
/// keeps the other's routes; an empty body or `false`: a graceful one.
fn reset_hard(body: &[u8]) -> Result<bool, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let bad = |why: String| ApiError::new(StatusCode::BAD_REQUEST, why);
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    v.get("hard")
        .and_then(|h| h.as_bool())
        .ok_or_else(|| bad("the body must be {\"hard\": true} or {\"hard\": false}".into()))
}

fn shutdown_message(body: &[u8]) -> Result<String, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok("shut down by the operator".into());
    }
    let bad = |why: String| ApiError::new(StatusCode::BAD_REQUEST, why);
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let message = v
        .get("message")
        .and_then(|m| m.as_str())
        .ok_or_else(|| bad("the body must be {\"message\": \"...\"}".into()))?;
    if message.len() > MAX_MESSAGE {
        return Err(bad(format!(
            "the message is {} octets; RFC 9003 allows {MAX_MESSAGE}",
            message.len()
        )));
    }
    Ok(message.to_string())
}
