//! `GET /api/v1/neighbors` and `GET /api/v1/neighbors/{address}`.

use super::{ApiError, ApiState};
use crate::daemon::NeighborSpec;
use crate::session::SessionStatus;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// One neighbour as the API shows it.
#[derive(Serialize)]
pub struct NeighborView {
    pub address: IpAddr,
    pub remote_as: u32,
    /// RFC 4271 §8.2.2 state; `null` when another member runs the session.
    pub state: Option<String>,
    pub updates_received: u64,
    pub prefixes_received: u64,
    pub prefixes_denied: u64,
    pub last_error: Option<String>,
    pub updates_sent: u64,
    /// Seconds since the session reached Established, while it is.
    pub uptime_seconds: Option<u64>,
    pub established_transitions: u64,
    /// NOTIFICATIONs that ended sessions, "code/subcode" to count.
    pub notifications_sent: BTreeMap<String, u64>,
    pub notifications_received: BTreeMap<String, u64>,
}

pub fn view(spec: &NeighborSpec, status: Option<&SessionStatus>) -> NeighborView {
    NeighborView {
        address: spec.addr.ip(),
        remote_as: spec.session.remote_as,
        state: status.map(|s| format!("{:?}", s.state)),
        updates_received: status.map_or(0, |s| s.updates_received),
        prefixes_received: status.map_or(0, |s| s.prefixes_received),
        prefixes_denied: status.map_or(0, |s| s.prefixes_denied),
        last_error: status.and_then(|s| s.last_error.clone()),
        updates_sent: status.map_or(0, |s| s.updates_sent),
        uptime_seconds: status
            .and_then(|s| s.established_at)
            .map(|t| t.elapsed().as_secs()),
        established_transitions: status.map_or(0, |s| s.established_transitions),
        notifications_sent: codes(status.map(|s| &s.notifications_sent)),
        notifications_received: codes(status.map(|s| &s.notifications_received)),
    }
}

fn codes(m: Option<&BTreeMap<(u8, u8), u64>>) -> BTreeMap<String, u64> {
    m.into_iter()
        .flatten()
        .map(|((c, s), n)| (format!("{c}/{s}"), *n))
        .collect()
}

pub async fn list(State(api): State<ApiState>) -> Json<Vec<NeighborView>> {
    let all = api.sessions.statuses().await;
    Json(all.iter().map(|(n, s)| view(n, s.as_ref())).collect())
}

pub async fn one(
    State(api): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<NeighborView>, ApiError> {
    let ip: IpAddr = address.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{address}` is not an IPv4 or IPv6 address"),
        )
    })?;
    let (n, s) = api
        .sessions
        .status_of(ip)
        .await
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no neighbour {ip}")))?;
    Ok(Json(view(&n, s.as_ref())))
}
