//! `POST /api/v1/neighbors/{address}/{action}`: reset, refresh (inbound
//! soft reset), shutdown (with an RFC 9003 message: a JSON body
//! `{"message": "..."}`), enable. Each needs `Authorization: Bearer TOKEN`
//! with the `[api] token` of the configuration.

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
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this action needs `Authorization: Bearer TOKEN`",
        )),
        Some(t) if constant_time_eq(t.as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::FORBIDDEN, "wrong token")),
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
    let action = match action.as_str() {
        "reset" => NeighborAction::Reset,
        "refresh" => NeighborAction::Refresh,
        "enable" => NeighborAction::Enable,
        "shutdown" => NeighborAction::Shutdown(shutdown_message(&body)?),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no action `{other}` (reset, refresh, shutdown, enable)"),
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

/// The RFC 9003 message of a shutdown: `{"message": "..."}`, or none.
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
