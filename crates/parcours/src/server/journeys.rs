//! Journey definitions and reports under `/api/v1/journeys` (read keys).
//!
//! Definitions are stored in their JSON form and validated by the core on the way in;
//! TOML is accepted (`Content-Type: application/toml`) and served (`?format=toml`), the
//! two forms round-trip. Reports build a frame from the store for the run.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parcours_core::journey::{DefinitionError, JourneyDef};
use parcours_store::{JourneyRecord, Scope, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::blocking;
use super::error::ApiError;
use super::extract::{Id, Query};
use super::AppState;
use crate::analysis::FrameSpec;
use crate::requests::{LifecycleOutput, LifecycleRequest, RequestError, RunOutput, RunRequest};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/journeys", get(list).post(create))
        .route("/api/v1/journeys/report", post(adhoc_report))
        .route(
            "/api/v1/journeys/{id}",
            get(fetch).put(replace).delete(remove),
        )
        .route(
            "/api/v1/journeys/{id}/report",
            get(report_get).post(report_post),
        )
        .route("/api/v1/journeys/{id}/lifecycle", get(lifecycle))
        .route("/api/v1/sessions", get(sessions))
        .route("/api/v1/transitions", get(transitions))
        .route("/api/v1/attribution", get(attribution))
        .route("/api/v1/paths/{analysis}", get(paths))
        .route("/api/v1/retention", get(retention))
        .route("/api/v1/surveys/scores", get(survey_scores))
        .route("/api/v1/sentiment", post(sentiment))
        .route("/api/v1/emotion", get(emotion))
        .route("/api/v1/themes", get(themes))
        .route("/api/v1/frictions", get(frictions))
        .route("/api/v1/kpis", get(kpis_builtin).post(kpis_adhoc))
        .route("/api/v1/kpis/catalog", get(kpi_catalog))
        .route("/api/v1/kpis/definitions", get(kpi_definitions))
        .route(
            "/api/v1/kpis/definitions/{id}",
            axum::routing::put(kpi_save).delete(kpi_delete),
        )
}

impl From<DefinitionError> for ApiError {
    fn from(e: DefinitionError) -> ApiError {
        ApiError::bad_request("invalid_definition", &e.field, e.message)
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> ApiError {
        ApiError::bad_request("invalid_value", e.field, e.message)
    }
}

/// The text of a TOML request body (`Content-Type: application/toml`); `None` for any
/// other content type.
pub(super) fn toml_body<'a>(
    headers: &HeaderMap,
    body: &'a [u8],
) -> Result<Option<&'a str>, ApiError> {
    let is_toml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("toml"));
    if !is_toml {
        return Ok(None);
    }
    std::str::from_utf8(body)
        .map(Some)
        .map_err(|_| ApiError::bad_request("invalid_value", "body", "a TOML body must be UTF-8"))
}

/// A definition from a request body: JSON, or TOML when the Content-Type says so.
fn parse_definition(headers: &HeaderMap, body: &[u8]) -> Result<JourneyDef, ApiError> {
    if let Some(text) = toml_body(headers, body)? {
        return Ok(JourneyDef::from_toml(text)?);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            "body",
            format!("expected a journey definition: {e}"),
        )
        .with_hint("send JSON, or TOML with Content-Type: application/toml")
    })?;
    Ok(JourneyDef::from_json(value)?)
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::JourneyExists(name) => ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a journey named `{name}` already exists in this workspace"),
        ),
        other => other.into(),
    }
}

fn stored(def: &JourneyDef) -> Value {
    serde_json::to_value(def).expect("definitions serialise")
}

/// A stored journey's definition, or 404.
fn stored_journey(
    state: &AppState,
    ws: parcours_store::WorkspaceId,
    id: i64,
) -> Result<JourneyDef, ApiError> {
    let record = state.store.journey(ws, id)?.ok_or_else(|| not_found(id))?;
    JourneyDef::from_json(record.definition).map_err(ApiError::internal)
}

/// The stages of the events of a stored journey, for voice reports taking `journey=ID`;
/// none without one.
fn journey_stages(
    state: &AppState,
    ws: parcours_store::WorkspaceId,
    id: Option<i64>,
) -> Result<Vec<(String, String)>, ApiError> {
    id.map_or(Ok(Vec::new()), |id| {
        Ok(stored_journey(state, ws, id)?.stage_of_events())
    })
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no journey {id} in this workspace"))
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    blocking(&state, &headers, Scope::Read, |state, key| {
        Ok(Json(
            json!({ "journeys": state.store.journeys(key.workspace_id)? }),
        ))
    })
    .await
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<JourneyRecord>), ApiError> {
    let def = parse_definition(&headers, &body)?;
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let record = state
            .store
            .save_journey(key.workspace_id, None, &def.name, &stored(&def))
            .map_err(conflict)?
            .ok_or_else(|| ApiError::internal("a new journey was not returned"))?;
        Ok((StatusCode::CREATED, Json(record)))
    })
    .await
}

async fn replace(
    State(state): State<AppState>,
    headers: HeaderMap,
    Id(id): Id,
    body: axum::body::Bytes,
) -> Result<Json<JourneyRecord>, ApiError> {
    let def = parse_definition(&headers, &body)?;
    blocking(&state, &headers, Scope::Read, move |state, key| {
        state
            .store
            .save_journey(key.workspace_id, Some(id), &def.name, &stored(&def))
            .map_err(conflict)?
            .map(Json)
            .ok_or_else(|| not_found(id))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FetchQuery {
    format: Option<String>,
}

async fn fetch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Id(id): Id,
    Query(q): Query<FetchQuery>,
) -> Result<Response, ApiError> {
    let record = blocking(&state, &headers, Scope::Read, move |state, key| {
        state
            .store
            .journey(key.workspace_id, id)?
            .ok_or_else(|| not_found(id))
    })
    .await?;
    match q.format.as_deref() {
        Some("toml") => {
            let def = JourneyDef::from_json(record.definition).map_err(ApiError::internal)?;
            Ok(([(header::CONTENT_TYPE, "application/toml")], def.to_toml()).into_response())
        }
        None | Some("json") => Ok(Json(record).into_response()),
        Some(other) => Err(ApiError::bad_request(
            "invalid_value",
            "format",
            format!("format must be json or toml, not `{other}`"),
        )),
    }
}

async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        if state.store.delete_journey(key.workspace_id, id)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(not_found(id))
        }
    })
    .await
}

/// Query-string options of `GET …/report`: the JSON body's fields, with `where` and
/// `segment` as one `NAME=VALUE` each.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    breakdown: Option<String>,
    trend: Option<String>,
    #[serde(rename = "where")]
    filter: Option<String>,
    segment: Option<String>,
    actors: Option<String>,
    top: Option<usize>,
    format: Option<String>,
}

fn pair(text: Option<String>, field: &'static str) -> Result<Vec<(String, Value)>, ApiError> {
    text.map(|t| crate::requests::name_value(&t))
        .transpose()
        .map(|p| p.into_iter().collect())
        .map_err(|e| ApiError::bad_request("invalid_value", field, e))
}

async fn report_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Id(id): Id,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_value",
                "format",
                format!("format must be json or csv, not `{other}`"),
            ))
        }
    };
    let request = RunRequest {
        from: q.from,
        to: q.to,
        breakdown: q.breakdown,
        trend: q.trend,
        filters: pair(q.filter, "where")?.into_iter().collect(),
        segment: pair(q.segment, "segment")?.into_iter().collect(),
        actors: q.actors,
        top: q.top,
    };
    let (def, output) = run_stored(&state, &headers, id, request).await?;
    match (output, csv) {
        (RunOutput::Actors(rows), true) => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            crate::requests::actors_csv(&def, &rows),
        )
            .into_response()),
        (_, true) => Err(ApiError::bad_request(
            "invalid_value",
            "format",
            "csv is for actor lists: add actors=converted:STAGE or dropped:STAGE",
        )),
        (output, false) => Ok(Json(output).into_response()),
    }
}

async fn report_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Id(id): Id,
    body: axum::body::Bytes,
) -> Result<Json<RunOutput>, ApiError> {
    let request = parse_request(&body)?;
    Ok(Json(run_stored(&state, &headers, id, request).await?.1))
}

fn parse_request(body: &[u8]) -> Result<RunRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RunRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            "body",
            format!("expected report options: {e}"),
        )
    })
}

#[derive(Deserialize)]
struct AdhocBody {
    journey: Value,
    #[serde(flatten)]
    options: Value,
}

/// `POST /api/v1/journeys/report`: run a definition given in the body, without storing it.
async fn adhoc_report(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<RunOutput>, ApiError> {
    let body: AdhocBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            "body",
            format!("expected {{\"journey\": {{…}}, options…}}: {e}"),
        )
    })?;
    let def = JourneyDef::from_json(body.journey).map_err(|e| {
        ApiError::bad_request(
            "invalid_definition",
            &format!("journey.{}", e.field),
            e.message,
        )
    })?;
    let request: RunRequest = serde_json::from_value(body.options).map_err(|e| {
        ApiError::bad_request("invalid_value", "body", format!("report options: {e}"))
    })?;
    let plan = request.plan(def)?;
    let output = blocking(&state, &headers, Scope::Read, move |state, key| {
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        plan.execute(&frame, 0).map_err(ApiError::internal)
    })
    .await?;
    Ok(Json(output))
}

async fn run_stored(
    state: &AppState,
    headers: &HeaderMap,
    id: i64,
    request: RunRequest,
) -> Result<(JourneyDef, RunOutput), ApiError> {
    blocking(state, headers, Scope::Read, move |state, key| {
        let def = stored_journey(state, key.workspace_id, id)?;
        let plan = request.plan(def)?;
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        let output = plan.execute(&frame, 0).map_err(ApiError::internal)?;
        Ok((plan.def, output))
    })
    .await
}

/// `GET …/lifecycle?as_of=&stall_after=&period=&actors=stalled|all`.
async fn lifecycle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Id(id): Id,
    Query(request): Query<LifecycleRequest>,
) -> Result<Json<LifecycleOutput>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let def = stored_journey(state, key.workspace_id, id)?;
        let spec = FrameSpec::for_journey(&def, None, &[], &[]);
        let frame = state.frame(key.workspace_id, &spec)?;
        Ok(Json(request.run(&def, &frame, super::now_micros(), 0)?))
    })
    .await
}

/// `GET /api/v1/sessions?from=&to=&timeout=&split_on_campaign=&top=`.
async fn sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(request): Query<crate::requests::SessionRequest>,
) -> Result<Json<parcours_core::sessions::SessionReport>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let spec = crate::requests::SessionRequest::spec();
        let frame = state.frame(key.workspace_id, &spec)?;
        Ok(Json(request.run(&frame)?))
    })
    .await
}

/// `GET /api/v1/transitions?by=&collapse=&from=&to=&top=`.
async fn transitions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(request): Query<crate::requests::TransitionRequest>,
) -> Result<Json<parcours_core::transitions::TransitionGraph>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let frame = state.frame(key.workspace_id, &FrameSpec::default())?;
        Ok(Json(request.run(&frame)?))
    })
    .await
}

/// `GET /api/v1/attribution?conversion=|journey=&stage=&touch=&models=&lookback=&…`.
async fn attribution(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(request): Query<crate::requests::AttributionRequest>,
) -> Result<Json<parcours_core::attribution::AttributionReport>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let def = match request.journey {
            Some(id) => Some(stored_journey(state, key.workspace_id, id)?),
            None => None,
        };
        let plan = request.plan(def)?;
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        let costs = if plan.uses_costs() {
            state.store.costs(key.workspace_id)?
        } else {
            Vec::new()
        };
        Ok(Json(plan.execute(&frame, &costs)?))
    })
    .await
}

/// `GET /api/v1/paths/flow|matrix|variants|loops?…`.
async fn paths(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(analysis): Path<String>,
    Query(request): Query<crate::requests::PathsRequest>,
) -> Result<Json<crate::requests::PathsOutput>, ApiError> {
    use crate::requests::PathsKind;
    let kind = match analysis.as_str() {
        "flow" => PathsKind::Flow,
        "matrix" => PathsKind::Matrix,
        "variants" => PathsKind::Variants,
        "loops" => PathsKind::Loops,
        other => {
            return Err(ApiError::not_found(format!(
                "no path analysis `{other}` (flow, matrix, variants or loops)"
            )))
        }
    };
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let def = match request.journey {
            Some(id) => Some(stored_journey(state, key.workspace_id, id)?),
            None => None,
        };
        let plan = request.plan(kind, def)?;
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        Ok(Json(plan.execute(&frame)?))
    })
    .await
}

/// `GET /api/v1/retention?start=&return=&period=&periods=&recurring=&on_or_after=&…`.
async fn retention(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(request): Query<crate::requests::RetentionRequest>,
) -> Result<Json<parcours_core::retention::RetentionReport>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let plan = request.plan()?;
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        Ok(Json(plan.execute(&frame)?))
    })
    .await
}

/// `GET /api/v1/surveys/scores?by=&scales=&survey=&period=&from=&to=&segment=&event=`.
async fn survey_scores(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(mut request): Query<crate::requests::SurveyScoresRequest>,
) -> Result<Json<parcours_core::voice::surveys::SurveyReport>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        request.defined_scales = super::surveys::defined_scales(state, key.workspace_id)?;
        let plan = request.plan()?;
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        Ok(Json(plan.execute(&frame)?))
    })
    .await
}

/// `GET /api/v1/emotion?stage_of=&text=&rating=&scales=&from=&to=&segment=&event=`.
async fn emotion(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(mut request): Query<crate::requests::EmotionRequest>,
) -> Result<Json<parcours_core::voice::emotion::EmotionReport>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        request.journey_stages = journey_stages(state, key.workspace_id, request.journey)?;
        request.defined_scales = super::surveys::defined_scales(state, key.workspace_id)?;
        let plan = request.plan()?;
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        Ok(Json(plan.execute(&frame)?))
    })
    .await
}

/// `GET /api/v1/themes?text=&stage_of=&period=&min_mentions=&limit=&merge=&quotes=&actors=&theme=&from=&to=&segment=&event=`.
async fn themes(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(mut request): Query<crate::requests::ThemesRequest>,
) -> Result<Json<parcours_core::voice::themes::ThemeReport>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        request.journey_stages = journey_stages(state, key.workspace_id, request.journey)?;
        let plan = request.plan()?;
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        Ok(Json(plan.execute(&frame)))
    })
    .await
}

/// `GET /api/v1/frictions?journey=&stage_of=&segment_by=&resolution_target=&…`.
async fn frictions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(mut request): Query<crate::requests::FrictionsRequest>,
) -> Result<Json<parcours_core::voice::frictions::FrictionReport>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        request.journey_def = request
            .journey
            .map(|id| stored_journey(state, key.workspace_id, id))
            .transpose()?;
        request.defined_scales = super::surveys::defined_scales(state, key.workspace_id)?;
        let plan = request.plan()?;
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        Ok(Json(plan.execute(&frame)))
    })
    .await
}

/// The most texts one sentiment request may score.
const SENTIMENT_MAX_TEXTS: usize = 1000;

/// `POST /api/v1/sentiment` with `{"texts": [...], "language"?: "en"|"fr"}`.
async fn sentiment(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        texts: Vec<String>,
        language: Option<String>,
    }
    let body: Body = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("malformed_json", "body", e.to_string()))?;
    if body.texts.len() > SENTIMENT_MAX_TEXTS {
        return Err(ApiError::bad_request(
            "invalid_value",
            "texts",
            format!(
                "{} texts: at most {SENTIMENT_MAX_TEXTS} per request",
                body.texts.len()
            ),
        ));
    }
    let language = match body.language.as_deref() {
        None => None,
        Some(l) => Some(parcours_core::text::Lang::parse(l).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_value",
                "language",
                format!("{l:?} is not en or fr"),
            )
        })?),
    };
    blocking(&state, &headers, Scope::Read, move |_, _| {
        let scorer = parcours_core::text::Scorer::new();
        let scores: Vec<_> = body
            .texts
            .iter()
            .map(|t| scorer.score(t, language))
            .collect();
        Ok(Json(json!({ "scores": scores })))
    })
    .await
}

/// The built-in KPIs with the workspace's own definitions (replacing by id).
fn workspace_catalog(
    state: &AppState,
    ws: parcours_store::WorkspaceId,
) -> Result<parcours_core::kpi::Catalog, ApiError> {
    Ok(crate::requests::builtin_kpis().merged(stored_kpis(state, ws)?))
}

fn stored_kpis(
    state: &AppState,
    ws: parcours_store::WorkspaceId,
) -> Result<parcours_core::kpi::Catalog, ApiError> {
    crate::requests::stored_kpis(state.store.as_ref(), ws).map_err(ApiError::internal)
}

/// `GET /api/v1/kpis/catalog`: the built-in KPI definitions with the workspace's own.
async fn kpi_catalog(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<parcours_core::kpi::Catalog>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        Ok(Json(workspace_catalog(state, key.workspace_id)?))
    })
    .await
}

/// `GET /api/v1/kpis/definitions`: the workspace's own KPI definitions.
async fn kpi_definitions(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<parcours_core::kpi::Catalog>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        Ok(Json(stored_kpis(state, key.workspace_id)?))
    })
    .await
}

/// A definition saved under a path's id: the body's `id` is that id, or absent (then set).
pub(super) fn id_from_path(value: &mut Value, id: &str) -> Result<(), ApiError> {
    match value.get("id") {
        None => {
            value["id"] = json!(id);
            Ok(())
        }
        Some(v) if v == &json!(id) => Ok(()),
        Some(_) => Err(ApiError::bad_request(
            "invalid_definition",
            "id",
            format!("the body's id differs from the path's `{id}`"),
        )),
    }
}

/// `PUT /api/v1/kpis/definitions/{id}`: creates or replaces a KPI definition (JSON).
async fn kpi_save(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<parcours_core::kpi::KpiDef>, ApiError> {
    let mut value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("malformed_json", "body", e.to_string()))?;
    id_from_path(&mut value, &id)?;
    let def: parcours_core::kpi::KpiDef = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_definition", "body", e.to_string()))?;
    def.validate()
        .map_err(|e| ApiError::bad_request("invalid_definition", &e.field, e.message))?;
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let stored = serde_json::to_value(&def).map_err(ApiError::internal)?;
        state.store.save_kpi(key.workspace_id, &def.id, &stored)?;
        Ok(Json(def))
    })
    .await
}

/// `DELETE /api/v1/kpis/definitions/{id}`.
async fn kpi_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        if state.store.delete_kpi(key.workspace_id, &id)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::not_found(format!("no KPI definition `{id}`")))
        }
    })
    .await
}

/// `GET /api/v1/kpis?period=&from=&to=&stage=&only=`: the built-in KPIs and the
/// workspace's own.
async fn kpis_builtin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(request): Query<crate::requests::KpiRequest>,
) -> Result<Json<Vec<parcours_core::kpi::KpiResult>>, ApiError> {
    run_kpis(&state, &headers, request, None).await
}

/// `POST /api/v1/kpis` with `{"kpis": [definitions…], "builtins": true|false, options…}`:
/// the definitions (replacing built-ins of the same id, unless `builtins` is false).
async fn kpis_adhoc(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Vec<parcours_core::kpi::KpiResult>>, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        kpis: Vec<parcours_core::kpi::KpiDef>,
        #[serde(default = "yes")]
        builtins: bool,
        period: Option<String>,
        from: Option<String>,
        to: Option<String>,
        stage: Option<String>,
        only: Option<String>,
    }
    fn yes() -> bool {
        true
    }
    let body: Body = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            "body",
            format!("expected {{\"kpis\": [{{…}}], options…}}: {e}"),
        )
    })?;
    let given = parcours_core::kpi::Catalog { kpis: body.kpis };
    given
        .validate()
        .map_err(|e| ApiError::bad_request("invalid_definition", &e.field, e.message))?;
    let catalog = (given, body.builtins);
    let request = crate::requests::KpiRequest {
        period: body.period,
        from: body.from,
        to: body.to,
        stage: body.stage,
        only: body.only,
    };
    run_kpis(&state, &headers, request, Some(catalog)).await
}

/// Runs the workspace's catalog, or `given` (with the workspace's catalog under it when
/// its flag is set).
async fn run_kpis(
    state: &AppState,
    headers: &HeaderMap,
    request: crate::requests::KpiRequest,
    given: Option<(parcours_core::kpi::Catalog, bool)>,
) -> Result<Json<Vec<parcours_core::kpi::KpiResult>>, ApiError> {
    blocking(state, headers, Scope::Read, move |state, key| {
        let catalog = match given {
            None => workspace_catalog(state, key.workspace_id)?,
            Some((given, true)) => workspace_catalog(state, key.workspace_id)?.merged(given),
            Some((given, false)) => given,
        };
        let plan = request.plan(catalog)?;
        let frame = state.frame(key.workspace_id, &plan.spec)?;
        Ok(Json(plan.execute(&frame)?))
    })
    .await
}
