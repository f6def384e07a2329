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
    /// Paths of the neighbour's in the Adj-RIB-In (after import policy).
    pub prefixes_accepted: u64,
    /// Paths in the neighbour's Adj-RIB-Out: only in the one neighbour's
    /// view (a walk of the Loc-RIB), `null` in the list.
    pub prefixes_advertised: Option<u64>,
    /// What the OPENs agreed, while Established.
    pub capabilities: Option<Capabilities>,
    pub last_error: Option<String>,
    pub updates_sent: u64,
    /// Seconds since the session reached Established, while it is.
    pub uptime_seconds: Option<u64>,
    /// The table the session was sent on coming up, and its End-of-RIB,
    /// are written to the socket.
    pub table_sent: bool,
    pub established_transitions: u64,
    /// NOTIFICATIONs that ended sessions, "code/subcode" to count.
    pub notifications_sent: BTreeMap<String, u64>,
    pub notifications_received: BTreeMap<String, u64>,
    /// Octets queued for the neighbour that its socket has not taken.
    pub output_queued_octets: u64,
    /// The bound on them (`output-buffer`); 0 when no session runs here.
    pub output_buffer_octets: u64,
    /// Sessions closed because the neighbour did not take what was sent
    /// (output buffer over its bound: Cease 6/8; or a write timeout).
    pub output_resets: u64,
}

/// The capabilities a session negotiated (RFC 5492).
#[derive(Serialize)]
pub struct Capabilities {
    pub peer_router_id: std::net::Ipv4Addr,
    pub hold_time: u64,
    pub keepalive: u64,
    /// Family names as the configuration writes them (`ipv4-unicast`).
    pub families: Vec<String>,
    pub four_octet_as: bool,
    pub route_refresh: bool,
    pub enhanced_route_refresh: bool,
    pub extended_message: bool,
    pub add_path_send: Vec<String>,
    pub add_path_receive: Vec<String>,
    /// The restart time the peer announced (RFC 4724), if it did.
    pub graceful_restart: Option<u64>,
    pub peer_hostname: Option<String>,
}

fn capabilities(n: &speaker::fsm::Negotiated) -> Capabilities {
    let names = |f: &[speaker::wire::Family]| f.iter().map(|f| f.to_string()).collect();
    Capabilities {
        peer_router_id: n.peer_id,
        hold_time: n.hold_time.as_secs(),
        keepalive: n.keepalive.as_secs(),
        families: names(&n.families),
        four_octet_as: n.four_octet_as,
        route_refresh: n.route_refresh,
        enhanced_route_refresh: n.enhanced_route_refresh,
        extended_message: n.extended_message,
        add_path_send: names(&n.add_path_send),
        add_path_receive: names(&n.add_path_receive),
        graceful_restart: n
            .peer_graceful_restart
            .as_ref()
            .map(|g| g.restart_time.as_secs()),
        peer_hostname: n.peer_hostname.clone(),
    }
}

/// The view of one neighbour; `accepted` is its Adj-RIB-In's size.
pub fn view(spec: &NeighborSpec, status: Option<&SessionStatus>, accepted: u64) -> NeighborView {
    NeighborView {
        prefixes_accepted: accepted,
        prefixes_advertised: None,
        capabilities: status
            .and_then(|s| s.negotiated.as_deref())
            .map(capabilities),
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
        table_sent: status.is_some_and(|s| s.table_sent),
        established_transitions: status.map_or(0, |s| s.established_transitions),
        notifications_sent: codes(status.map(|s| &s.notifications_sent)),
        notifications_received: codes(status.map(|s| &s.notifications_received)),
        output_queued_octets: status.map_or(0, |s| s.output_octets),
        output_buffer_octets: status.map_or(0, |s| s.output_limit),
        output_resets: status.map_or(0, |s| s.output_resets),
    }
}

fn codes(m: Option<&BTreeMap<(u8, u8), u64>>) -> BTreeMap<String, u64> {
    m.into_iter()
        .flatten()
        .map(|((c, s), n)| (format!("{c}/{s}"), *n))
        .collect()
}

pub async fn list(State(api): State<ApiState>) -> Json<Vec<NeighborView>> {
    Json(all(&api).await)
}

/// Every configured neighbour's view.
pub async fn all(api: &ApiState) -> Vec<NeighborView> {
    let all = api.sessions.statuses().await;
    let accepted: Vec<u64> = api
        .member
        .read(|a| all.iter().map(|(n, _)| accepted(a, n.addr.ip())).collect());
    all.iter()
        .zip(accepted)
        .map(|((n, s), accepted)| view(n, s.as_ref(), accepted))
        .collect()
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
    let (accepted, advertised) = api.member.read(|a| {
        let advertised = a
            .peer_ids
            .get(&ip)
            .filter(|id| a.rib.peer(**id).is_some())
            .map(|id| a.rib.adj_rib_out_for(*id).count() as u64);
        (accepted(a, ip), advertised)
    });
    let mut v = view(&n, s.as_ref(), accepted);
    v.prefixes_advertised = advertised;
    Ok(Json(v))
}

/// The size of the Adj-RIB-In of the neighbour at `ip`.
fn accepted(a: &storage::state_machine::Applied, ip: IpAddr) -> u64 {
    a.peer_ids
        .get(&ip)
        .map_or(0, |id| a.rib.adj_rib_in_len(*id) as u64)
}
