//! The HTTP server: routes, shared state, start-up and graceful shutdown.
//!
//! [`app`] builds the whole router from an [`AppState`]; tests call it without a socket.
//! [`serve`] binds, serves until SIGINT/SIGTERM, then drains: in-flight requests finish,
//! the store's writer commits everything queued, and only then does the process exit.

// `ApiError` carries a whole error body (message, field, hint, batch rejections) and
// only travels on the error path of a handler, once per request: boxing it would buy
// nothing measurable.
#![allow(clippy::result_large_err)]

mod api;
mod auth;
mod error;
mod extract;
mod ingest;
mod journeys;
mod metrics;
mod ratelimit;
mod surveys;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use parcours_store::{Scope, Store};
use tokio::sync::Semaphore;
use tower_http::cors::{Any, CorsLayer};

use crate::config::Config;
pub use error::ApiError;
pub use metrics::Metrics;
use ratelimit::RateLimiter;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    limiter: Arc<RateLimiter>,
    inflight: Arc<Semaphore>,
    /// Frames of recent analyses, reused while the data they were built from is unchanged.
    pub frames: Arc<crate::analysis::FrameMemo>,
    /// Survey definitions by workspace, for ingestion.
    surveys: Arc<surveys::SurveyCache>,
}

impl AppState {
    /// The frame `spec` asks for in workspace `ws`, reused while its data is unchanged.
    pub fn frame(
        &self,
        ws: parcours_store::WorkspaceId,
        spec: &crate::analysis::FrameSpec,
    ) -> Result<Arc<parcours_core::frame::Frame>, error::ApiError> {
        self.frames
            .get(self.store.as_ref(), ws, spec)
            .map_err(error::ApiError::internal)
    }

    pub fn new(store: Arc<dyn Store>, config: Config) -> AppState {
        let limiter = RateLimiter::new(
            config.ingest.rate_limit_events_per_second,
            config.ingest.rate_limit_burst,
        );
        let inflight = Semaphore::new(config.ingest.max_inflight_requests);
        AppState {
            store,
            config: Arc::new(config),
            metrics: Arc::default(),
            limiter: Arc::new(limiter),
            inflight: Arc::new(inflight),
            frames: Arc::new(crate::analysis::FrameMemo::new(4)),
            surveys: Arc::default(),
        }
    }
}

pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::CONTENT_ENCODING,
        ])
        .max_age(Duration::from_secs(86400));
    Router::new()
        .merge(ingest::routes())
        .merge(api::routes())
        .merge(journeys::routes())
        .merge(surveys::routes())
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::not_found("no such endpoint; see docs/http-api.md") })
        .method_not_allowed_fallback(|method: Method| async move {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this endpoint does not take {method}; see docs/http-api.md"),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_key,
        ))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(cors)
        .with_state(state)
}

/// Every `/api/v1` request but the OpenAPI document needs the key its endpoint takes
/// ([`scope_of`]) before anything else of it is read: without one, with the write key a
/// web page ships, or with a read key on an admin endpoint, it gets 401 whatever its
/// path, query or body (a misspelt parameter or a malformed body would otherwise be
/// described to a caller who may not ask). Each endpoint checks its key again when it
/// runs, for its workspace.
async fn require_key(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
        return next.run(request).await;
    }
    let scope = scope_of(request.method(), path);
    let key = auth::header_key(request.headers());
    let store = state.store.clone();
    let check = move || auth::check(store.as_ref(), key.as_deref(), scope);
    match tokio::task::spawn_blocking(check).await {
        Ok(Ok(_)) => next.run(request).await,
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// The scope an `/api/v1` request needs: admin for keys and erasure, read (which admin
/// keys also have) for everything else. No `/api/v1` endpoint takes a write key (the
/// survey widget reads `/v1/surveys`).
fn scope_of(method: &Method, path: &str) -> Scope {
    let keys = path == "/api/v1/keys" || path.starts_with("/api/v1/keys/");
    let erasure = method == Method::DELETE && path.starts_with("/api/v1/persons/");
    if keys || erasure {
        Scope::Admin
    } else {
        Scope::Read
    }
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.workspaces()).await {
        Ok(Ok(_)) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "ok" })),
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "store unavailable" })),
        ),
    }
}

/// The OpenAPI description of this API (`openapi.json`, kept beside the routes; a test
/// checks that every route is described and every description routed).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(state.store.queue_depth()),
    )
}

/// Serves until a shutdown signal, then drains the writer.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let store = state.store.clone();
    let grace = Duration::from_secs(state.config.server.shutdown_grace_seconds);
    tracing::info!(addr = %listener.local_addr()?, "parcours listening");
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(shutdown_signal());
    // In-flight requests get `grace` seconds after the signal; then we stop waiting.
    tokio::select! {
        result = server => result?,
        _ = async { shutdown_signal().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("grace period over; closing with requests still in flight");
        }
    }
    tracing::info!("draining the writer");
    tokio::task::spawn_blocking(move || store.close()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
