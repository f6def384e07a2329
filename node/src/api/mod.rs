//! The node's HTTP API (`/api/v1/...`, JSON) and its Prometheus metrics
//! (`/metrics`), on loopback unless `[api] address` says otherwise (issue 7,
//! in progress: neighbours, metrics and the neighbour actions so far).
//! Every error is a JSON object `{"error": "..."}` with a 4xx status that
//! says what was wrong.

mod actions;
mod cluster;
mod metrics;
mod mrt;
mod neighbors;
mod pages;
mod rib;
mod tls;

use crate::daemon::Sessions;
use crate::fib::FibStats;
use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use consensus::Member;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tracing::{info, warn};

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    pub sessions: Sessions,
    pub member: Arc<Member>,
    /// A border's FIB counters.
    pub fib: Option<Arc<FibStats>>,
    /// The bearer token actions need (`None`: actions are refused).
    pub token: Option<String>,
    /// The bearer token reads need, or the action token (`None`: reads
    /// are open).
    pub read_token: Option<String>,
    /// Reads the configuration file again (`None`: started without one).
    pub reloader: Option<Arc<crate::daemon::reload::Reloader>>,
    /// Fatal exits of this member recorded in its data directory before
    /// this start.
    pub fatal_exits: u64,
    /// The last Loc-RIB digest `/api/v1/cluster` read whole at one log
    /// position, with that position ([`cluster::DigestCache`]).
    pub digest: cluster::DigestCache,
}

/// A request the API cannot answer, as JSON.
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        (self.status, body).into_response()
    }
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/neighbors", get(neighbors::list))
        .route("/api/v1/neighbors/{address}", get(neighbors::one))
        .route("/api/v1/neighbors/{address}/{action}", post(actions::act))
        .route("/api/v1/rib", get(rib::query))
        .route("/api/v1/rib/mrt", get(mrt::dump))
        .route("/api/v1/cluster", get(cluster::view))
        .route("/api/v1/cluster/{action}", post(actions::drain))
        .route("/api/v1/reload", post(actions::reload))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_access,
        ))
        .with_state(state)
}

/// With `[api] read-token`, a read (GET: the RIB, the MRT dump, the
/// metrics...) needs it or the action token; the OpenAPI document stays
/// open.
async fn read_access(
    axum::extract::State(api): axum::extract::State<ApiState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(read) = api.read_token.as_deref()
        && request.method() == Method::GET
        && request.uri().path() != "/api/v1/openapi.json"
    {
        let tokens: Vec<&str> = [Some(read), api.token.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if let Err(e) = actions::bearer(request.headers(), &tokens, "this read") {
            return e.into_response();
        }
    }
    next.run(request).await
}

/// The OpenAPI document of this API (`ops/api/openapi.json`).
const OPENAPI: &str = include_str!("../../../ops/api/openapi.json");

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {method} {}", uri.path()),
    )
}

/// Serves the API until the process ends, over HTTPS when `tls` names a
/// certificate and key. A port that cannot be bound, or TLS files that do
/// not load, are logged and the node runs without its API (BGP never
/// waits for it; never plain HTTP in place of HTTPS).
pub async fn serve(address: SocketAddr, tls: Option<(PathBuf, PathBuf)>, state: ApiState) {
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(l) => l,
        Err(e) => {
            warn!(%address, error = %e, "cannot serve the HTTP API; running without it");
            return;
        }
    };
    let served = match tls {
        None => {
            info!(%address, "HTTP API and metrics listening");
            axum::serve(listener, router(state)).await
        }
        Some((certificate, key)) => match consensus::tls::server_only(&certificate, &key) {
            Ok(config) => {
                info!(%address, "HTTPS API and metrics listening");
                axum::serve(tls::TlsListener::new(listener, config), router(state)).await
            }
            Err(e) => {
                warn!(%address, error = %e, "cannot serve the HTTPS API; running without it");
                return;
            }
        },
    };
    if let Err(e) = served {
        warn!(error = %e, "the HTTP API stopped");
    }
}
