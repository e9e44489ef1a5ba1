//! The query and admin API under `/api/v1`: person timelines, erasure, keys.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Json, Router};
use parcours_core::time::format_rfc3339;
use parcours_store::{KeyInfo, PersonId, Scope, StoredEvent, Timeline, TimelinePage};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{Id, Query};
use super::{auth, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/workspace", get(workspace))
        .route("/api/v1/persons/{identifier}", get(person).delete(erase))
        .route("/api/v1/persons/{identifier}/timeline", get(timeline))
        .route("/api/v1/keys", get(list_keys).post(create_key))
        .route("/api/v1/keys/{id}", delete(revoke_key))
}

/// Runs blocking store work off the async threads, after checking the key.
pub(super) async fn blocking<T: Send + 'static>(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
    f: impl FnOnce(&AppState, KeyInfo) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let key = auth::header_key(headers);
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let info = auth::check(state.store.as_ref(), key.as_deref(), scope)?;
        f(&state, info)
    })
    .await
    .map_err(ApiError::internal)?
}

fn resolve(state: &AppState, key: &KeyInfo, identifier: &str) -> Result<PersonId, ApiError> {
    state
        .store
        .resolve(key.workspace_id, identifier)?
        .ok_or_else(|| ApiError::not_found(format!("no person is known by `{identifier}` (userId, anonymousId or email) in this workspace")))
}

async fn workspace(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    blocking(&state, &headers, Scope::Read, |state, key| {
        let events = state.store.event_count(key.workspace_id)?;
        let name = state
            .store
            .workspaces()?
            .into_iter()
            .find(|w| w.id == key.workspace_id)
            .map(|w| w.name);
        Ok(Json(json!({ "name": name, "events": events })))
    })
    .await
}

async fn person(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(identifier): Path<String>,
) -> Result<Json<Value>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let person = resolve(state, &key, &identifier)?;
        let record = state
            .store
            .person(key.workspace_id, person)?
            .ok_or_else(|| ApiError::not_found("person not found"))?;
        Ok(Json(
            serde_json::to_value(record).map_err(ApiError::internal)?,
        ))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineQuery {
    /// Most events returned (the most recent are dropped first); default 1,000.
    limit: Option<usize>,
    /// Events skipped first, in the order asked: the next page starts at
    /// `offset + limit`; default 0.
    offset: Option<usize>,
    /// `asc` (default) or `desc`.
    #[serde(default)]
    order: Order,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Order {
    #[default]
    Asc,
    Desc,
}

async fn timeline(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(identifier): Path<String>,
    Query(q): Query<TimelineQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(1000);
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let person = resolve(state, &key, &identifier)?;
        let record = state.store.person(key.workspace_id, person)?;
        let page = TimelinePage {
            offset: q.offset.unwrap_or(0),
            limit,
            latest_first: q.order == Order::Desc,
        };
        let Timeline { total, events } =
            state
                .store
                .person_timeline(key.workspace_id, person, page)?;
        Ok(Json(json!({
            "person": record,
            "total": total,
            "events": events.iter().map(entry).collect::<Vec<_>>(),
        })))
    })
    .await
}

/// One timeline entry, with the four Segment times as RFC 3339.
fn entry(e: &StoredEvent) -> Value {
    let ev = &e.event;
    let t = |m: Option<i64>| m.map(format_rfc3339);
    json!({
        "seq": e.seq,
        "message_id": ev.message_id,
        "type": ev.kind.as_str(),
        "event": ev.name,
        "timestamp": format_rfc3339(ev.timestamp),
        "original_timestamp": t(ev.original_timestamp),
        "sent_at": t(ev.sent_at),
        "received_at": format_rfc3339(ev.received_at),
        "user_id": ev.user_id,
        "anonymous_id": ev.anonymous_id,
        "group_id": ev.group_id,
        "channel": ev.touch.channel,
        "touchpoint": ev.touch.touchpoint,
        "campaign": ev.touch.campaign,
        "revenue": ev.touch.revenue,
        "currency": ev.touch.currency,
        "online": ev.touch.online,
        "properties": ev.properties,
        "traits": ev.traits,
    })
}

async fn erase(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(identifier): Path<String>,
) -> Result<Json<Value>, ApiError> {
    blocking(&state, &headers, Scope::Admin, move |state, key| {
        let person = resolve(state, &key, &identifier)?;
        let report = crate::analysis::erase_person(
            &*state.store,
            key.workspace_id,
            person,
            Some(&state.frames),
        )?;
        tracing::info!(
            workspace = key.workspace_id,
            erasure = report.erasure_id,
            "person erased"
        );
        Ok(Json(
            serde_json::to_value(report).map_err(ApiError::internal)?,
        ))
    })
    .await
}

async fn list_keys(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    blocking(&state, &headers, Scope::Admin, |state, key| {
        Ok(Json(json!({ "keys": state.store.keys(key.workspace_id)? })))
    })
    .await
}

#[derive(Deserialize)]
struct NewKey {
    scope: String,
    label: Option<String>,
}

async fn create_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: NewKey = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            "body",
            format!("expected {{\"scope\": \"write|read|admin\", \"label\"?}}: {e}"),
        )
    })?;
    let scope = Scope::parse(&req.scope).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_value",
            "scope",
            format!("scope must be write, read or admin, not `{}`", req.scope),
        )
    })?;
    blocking(&state, &headers, Scope::Admin, move |state, key| {
        let (info, secret) = state.store.create_key(key.workspace_id, scope, req.label.as_deref())?;
        Ok((StatusCode::CREATED, Json(json!({ "key": secret, "info": info, "note": "store this key now: it is not shown again" }))))
    })
    .await
}

async fn revoke_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    blocking(&state, &headers, Scope::Admin, move |state, key| {
        if state.store.revoke_key(key.workspace_id, id)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::not_found(format!(
                "no live key {id} in this workspace"
            )))
        }
    })
    .await
}
