//! The Segment-compatible ingestion endpoints: `/v1/track`, `identify`, `page`, `screen`,
//! `group`, `alias`, `batch`, `import`, and the one-letter aliases analytics.js uses.
//!
//! Each request: limit and decompress the body, parse it (core), authenticate the write
//! key, rate-limit by workspace, append to the store (which answers once committed),
//! answer. A batch keeps its valid events and reports each rejected one; the answer is
//! 200 when nothing was rejected and 400 (listing the rejections) otherwise.

use std::io::Read;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use parcours_core::payload::{parse_body, Endpoint, Limits, Parsed};
use parcours_core::{ErrorCode, EventKind, PayloadError};
use parcours_store::{AppendOutcome, Scope, WorkspaceId};
use serde_json::json;

use super::error::ApiError;
use super::{auth, now_micros, AppState};

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for kind in EventKind::ALL {
        let long = format!("/v1/{}", kind.as_str());
        let short = format!("/v1/{}", &kind.as_str()[..1]);
        for path in [long, short] {
            router = router.route(
                &path,
                post(move |s: State<AppState>, h: HeaderMap, b: Body| {
                    ingest(s, h, b, Endpoint::Single(kind), kind.as_str())
                }),
            );
        }
    }
    for (path, endpoint, name) in [
        ("/v1/batch", Endpoint::Batch, "batch"),
        ("/v1/b", Endpoint::Batch, "batch"),
        ("/v1/import", Endpoint::Import, "import"),
    ] {
        router = router.route(
            path,
            post(move |s: State<AppState>, h: HeaderMap, b: Body| ingest(s, h, b, endpoint, name)),
        );
    }
    router
}

async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
    endpoint: Endpoint,
    name: &'static str,
) -> Response {
    let started = Instant::now();
    let response = match handle(&state, &headers, body, endpoint).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let status = response.status().as_u16();
    state.metrics.request(name, status);
    state.metrics.ingest_latency.observe(started.elapsed());
    response
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    endpoint: Endpoint,
) -> Result<Response, ApiError> {
    let Ok(_permit) = state.inflight.try_acquire() else {
        return Err(ApiError::unavailable(
            "overloaded",
            "too many ingestion requests in flight; retry shortly",
            1,
        ));
    };
    let limit = state.config.ingest.max_request_bytes;
    let raw = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(limit))?;
    let bytes = decode(headers, raw, limit)?;
    let header_key = auth::header_key(headers);
    // Parsed here, on the runtime's thread (a few hundred microseconds for a batch of
    // 100), and the commit awaited without a thread waiting for it. Handing each request
    // to the blocking pool, parked there until the writer answered, cost the server
    // 5.0–5.6 µs of CPU an event under 8 clients against 4.4–4.9 now (6.0 against 5.5
    // under 4), in alternating runs.
    let (workspace, mut parsed, total) = admit(state, header_key, &bytes, endpoint)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let started = Instant::now();
    state.store.append_then(
        workspace,
        std::mem::take(&mut parsed.events),
        Box::new(move |outcome| {
            let _ = tx.send(outcome);
        }),
    );
    let outcome = rx
        .await
        .map_err(|_| ApiError::from(parcours_store::StoreError::Closed))??;
    record(state, started, &outcome, &parsed);
    respond(endpoint, total, outcome, parsed.rejected)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::from(PayloadError::new(
        ErrorCode::PayloadTooLarge,
        None,
        format!("a request body may be at most {limit} bytes; send smaller batches"),
    ))
}

/// Undoes `Content-Encoding: gzip` (or `deflate`, the zlib format), refusing bodies that
/// inflate past the limit.
fn decode(headers: &HeaderMap, raw: Bytes, limit: usize) -> Result<Bytes, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let inflate = |reader: &mut dyn Read, format: &str| {
        let mut out = Vec::new();
        reader
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| {
                ApiError::bad_request(
                    "malformed_json",
                    "body",
                    format!("the body is not valid {format}: {e}"),
                )
            })?;
        if out.len() > limit {
            return Err(too_large(limit));
        }
        Ok(Bytes::from(out))
    };
    match encoding.as_str() {
        "" | "identity" => Ok(raw),
        "gzip" | "x-gzip" => inflate(&mut flate2::read::GzDecoder::new(&raw[..]), "gzip"),
        "deflate" => inflate(&mut flate2::read::ZlibDecoder::new(&raw[..]), "deflate"),
        other => Err(ApiError::bad_request(
            "unsupported_encoding",
            "Content-Encoding",
            format!("unsupported Content-Encoding `{other}`; use gzip, deflate or none"),
        )),
    }
}

/// Authenticates a request, parses its body and checks its events against the
/// workspace (see [`check`]): the workspace, the parsed body (its valid events, the
/// rejected ones) and how many events it held.
fn admit(
    state: &AppState,
    header_key: Option<String>,
    bytes: &[u8],
    endpoint: Endpoint,
) -> Result<(WorkspaceId, Parsed, usize), ApiError> {
    let limits = Limits {
        max_event_bytes: state.config.ingest.max_event_bytes,
        max_batch_events: state.config.ingest.max_batch_events,
    };
    let store = state.store.as_ref();
    // A key in the header is checked before the body is even parsed.
    let header_auth = header_key
        .as_deref()
        .map(|k| auth::check(store, Some(k), Scope::Write))
        .transpose()?;
    let mut parsed = parse_body(bytes, endpoint, now_micros(), &limits, &mut || {
        uuid::Uuid::now_v7().to_string()
    })?;
    let key = match header_auth {
        Some(k) => k,
        None => auth::check(store, parsed.write_key.as_deref(), Scope::Write)?,
    };
    let total = parsed.events.len() + parsed.rejected.len();
    check(state, key.workspace_id, &mut parsed)?;
    Ok((key.workspace_id, parsed, total))
}

/// The answer to an ingestion request: 200 when nothing was rejected, else 400 naming
/// the first rejection (and, for a batch, listing them all with what was stored).
fn respond(
    endpoint: Endpoint,
    total: usize,
    outcome: AppendOutcome,
    rejected: Vec<PayloadError>,
) -> Result<Response, ApiError> {
    let accepted = outcome.inserted + outcome.duplicates;
    let Some(first) = rejected.first().cloned() else {
        return Ok(Json(
            json!({ "success": true, "accepted": accepted, "duplicates": outcome.duplicates }),
        )
        .into_response());
    };
    let mut error = ApiError::from(first);
    if endpoint.is_batch() {
        error.message = format!(
            "{} of {total} events rejected (the other {accepted} were stored): {}",
            rejected.len(),
            error.message
        );
        error.extra = Some(
            json!({ "accepted": accepted, "duplicates": outcome.duplicates, "rejected": rejected }),
        );
    }
    Err(error)
}

/// Everything between a parsed body and the store, whichever way events come in (the
/// ingestion endpoints, the survey page): the checks that need the workspace, the rate
/// limit, the commit and the metrics. Returns what was stored and what was rejected.
pub(super) fn commit(
    state: &AppState,
    workspace: WorkspaceId,
    mut parsed: Parsed,
) -> Result<(AppendOutcome, Vec<PayloadError>), ApiError> {
    check(state, workspace, &mut parsed)?;
    let started = Instant::now();
    let outcome = state
        .store
        .append(workspace, std::mem::take(&mut parsed.events))?;
    record(state, started, &outcome, &parsed);
    Ok((outcome, parsed.rejected))
}

/// The checks that need the workspace: responses of its own surveys must fit their
/// definitions (and get the touchpoint and stage they rate); its rate limit.
fn check(state: &AppState, workspace: WorkspaceId, parsed: &mut Parsed) -> Result<(), ApiError> {
    if parcours_core::voice::definitions::has_responses(&parsed.events) {
        let defs = state.survey_defs(workspace)?;
        parsed.reject_failing(|e| parcours_core::voice::definitions::admit_response(&defs, e));
    }
    let total = parsed.events.len() + parsed.rejected.len();
    if let Err(retry) = state.limiter.check(workspace, total) {
        state
            .metrics
            .rate_limited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "this workspace is sending events faster than its rate limit",
        );
        e.retry_after = Some(retry);
        return Err(e.with_hint(
            "wait for Retry-After seconds, or raise ingest.rate_limit_events_per_second",
        ));
    }
    Ok(())
}

/// Records a committed request in the metrics: its commit's latency (from `started`),
/// its events by outcome, and the placeholder ids its accepted messages gave.
fn record(state: &AppState, started: Instant, outcome: &AppendOutcome, parsed: &Parsed) {
    state.metrics.commit_latency.observe(started.elapsed());
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    state
        .metrics
        .events_accepted
        .fetch_add(outcome.inserted as u64, relaxed);
    state
        .metrics
        .events_duplicate
        .fetch_add(outcome.duplicates as u64, relaxed);
    state
        .metrics
        .events_rejected
        .fetch_add(parsed.rejected.len() as u64, relaxed);
    state
        .metrics
        .placeholder_ids
        .fetch_add(parsed.placeholder_ids as u64, relaxed);
}
