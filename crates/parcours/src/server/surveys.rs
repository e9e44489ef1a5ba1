//! Surveys: the workspace's definitions (`/api/v1/surveys/definitions`), signed links to
//! a survey page served by parcours (`/s/{token}`), and the check ingestion applies to
//! responses of defined surveys. Guide in `docs/voice.md` ("Survey definitions").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use parcours_core::event::EventKind;
use parcours_core::journey::Span;
use parcours_core::time::format_rfc3339;
use parcours_core::voice::definitions::{parse_stored, response_properties, scales_of, SurveyDef};
use parcours_core::voice::surveys::SURVEY_EVENT;
use parcours_store::{Scope, SurveysStamp, WorkspaceId};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::api::blocking;
use super::error::ApiError;
use super::{now_micros, AppState};
use crate::survey_links::{sign, verify, Claims, B64, LINK_SECRET};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/surveys/definitions", get(list))
        .route(
            "/api/v1/surveys/definitions/{id}",
            get(show).put(save).delete(delete),
        )
        .route("/api/v1/surveys/definitions/{id}/links", post(links))
        .route("/v1/surveys/{id}", get(public))
        .route("/widget.js", get(widget))
        .route(
            "/s/{token}",
            get(page)
                .post(answer)
                .layer(axum::extract::DefaultBodyLimit::max(FORM_LIMIT)),
        )
}

/// The largest answer form accepted by the public survey page.
const FORM_LIMIT: usize = 16 * 1024;

/// Each workspace's survey definitions, parsed once and kept while the store's stamp of
/// them holds (see `Store::surveys_stamp`): ingestion looks them up for every survey
/// response, and `parcours surveys define` or `delete` may change them from another
/// process while the server runs.
#[derive(Default)]
pub struct SurveyCache(Mutex<HashMap<WorkspaceId, Stamped>>);

/// A workspace's parsed survey definitions, with the stamp they were read under.
type Stamped = (SurveysStamp, Arc<Vec<SurveyDef>>);

impl AppState {
    pub fn survey_defs(&self, ws: WorkspaceId) -> Result<Arc<Vec<SurveyDef>>, ApiError> {
        let stamp = self.store.surveys_stamp(ws)?;
        if let Some((held, d)) = self.surveys.0.lock().expect("survey cache").get(&ws) {
            if *held == stamp {
                return Ok(d.clone());
            }
        }
        // Read after the stamp: definitions newer than it are only read again next time.
        let defs = Arc::new(parse_stored(self.store.surveys(ws)?));
        self.surveys
            .0
            .lock()
            .expect("survey cache")
            .insert(ws, (stamp, defs.clone()));
        Ok(defs)
    }

    fn forget_surveys(&self, ws: WorkspaceId) {
        self.surveys.0.lock().expect("survey cache").remove(&ws);
    }
}

/// The scales of the workspace's defined surveys, for reports: a survey defined once is
/// scored without being named in `scales`.
pub fn defined_scales(
    state: &AppState,
    ws: WorkspaceId,
) -> Result<crate::requests::SurveyScales, ApiError> {
    Ok(scales_of(&state.survey_defs(ws)?))
}

fn definition_error(e: parcours_core::voice::definitions::SurveyDefError) -> ApiError {
    ApiError::bad_request("invalid_definition", &e.field, e.message)
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    blocking(&state, &headers, Scope::Read, |state, key| {
        Ok(Json(
            json!({ "surveys": *state.survey_defs(key.workspace_id)? }),
        ))
    })
    .await
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<SurveyDef>, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        Ok(Json(find(state, key.workspace_id, &id)?))
    })
    .await
}

fn find(state: &AppState, ws: WorkspaceId, id: &str) -> Result<SurveyDef, ApiError> {
    state
        .survey_defs(ws)?
        .iter()
        .find(|d| d.id == id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no survey `{id}` in this workspace")))
}

/// `GET /v1/surveys/{id}` with the write key: what the web widget needs to ask a survey
/// (the definition, and the scores to offer).
async fn public(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    blocking(&state, &headers, Scope::Write, move |state, key| {
        let def = find(state, key.workspace_id, &id)?;
        let mut value = serde_json::to_value(&def).map_err(ApiError::internal)?;
        value["choices"] = json!(def.choices());
        Ok(Json(value))
    })
    .await
}

/// The web widget's script (`widget.js`, beside this file; guide in `docs/voice.md`).
const WIDGET: &str = include_str!("widget.js");

/// `GET /widget.js`: the embeddable survey widget.
async fn widget() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        WIDGET,
    )
        .into_response()
}

/// `PUT /api/v1/surveys/definitions/{id}`: creates or replaces a definition (JSON, or
/// TOML with `Content-Type: application/toml`).
async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<SurveyDef>, ApiError> {
    let mut value: Value = match super::journeys::toml_body(&headers, &body)? {
        Some(text) => SurveyDef::toml_value(text).map_err(definition_error)?,
        None => serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("malformed_json", "body", e.to_string()))?,
    };
    super::journeys::id_from_path(&mut value, &id)?;
    let def = SurveyDef::from_json(value).map_err(definition_error)?;
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let stored = serde_json::to_value(&def).map_err(ApiError::internal)?;
        state
            .store
            .save_survey(key.workspace_id, &def.id, &stored)?;
        state.forget_surveys(key.workspace_id);
        Ok(Json(def))
    })
    .await
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let deleted = state.store.delete_survey(key.workspace_id, &id)?;
        state.forget_surveys(key.workspace_id);
        if deleted {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::not_found(format!(
                "no survey `{id}` in this workspace"
            )))
        }
    })
    .await
}

// --- Signed links -----------------------------------------------------------------------

/// The most links one request may ask for.
const MAX_LINKS: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinksBody {
    /// The people to ask, by userId.
    users: Vec<String>,
    /// How long the links stay valid (`30d` when absent).
    expires_in: Option<String>,
}

/// `POST /api/v1/surveys/definitions/{id}/links` with `{"users": [...], "expires_in"?}`:
/// one signed link per person.
async fn links(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: LinksBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("malformed_json", "body", e.to_string()))?;
    if body.users.is_empty() || body.users.len() > MAX_LINKS {
        return Err(ApiError::bad_request(
            "invalid_value",
            "users",
            format!("give 1 to {MAX_LINKS} userIds"),
        ));
    }
    if let Some(i) = body.users.iter().position(|u| u.trim().is_empty()) {
        return Err(ApiError::bad_request(
            "invalid_value",
            &format!("users[{i}]"),
            "a userId must not be empty",
        ));
    }
    let ttl = match body.expires_in.as_deref() {
        None => Span::parse(crate::survey_links::DEFAULT_TTL)
            .expect("the default link lifetime parses")
            .micros(),
        Some(t) => Span::parse(t)
            .map_err(|e| ApiError::bad_request("invalid_value", "expires_in", e))?
            .micros(),
    };
    blocking(&state, &headers, Scope::Read, move |state, key| {
        let def = find(state, key.workspace_id, &id)?;
        let secret = state.store.secret(LINK_SECRET)?;
        let expires = now_micros().saturating_add(ttl);
        let links: Vec<Value> = body
            .users
            .iter()
            .map(|u| {
                let token = sign(
                    &secret,
                    &Claims {
                        w: key.workspace_id,
                        s: def.id.clone(),
                        u: u.clone(),
                        e: expires,
                    },
                );
                json!({ "user": u, "path": crate::survey_links::path(&token), "token": token })
            })
            .collect();
        Ok(Json(
            json!({ "survey": def.id, "expires_at": format_rfc3339(expires), "links": links }),
        ))
    })
    .await
}

// --- The hosted page --------------------------------------------------------------------

/// HTML-escapes text.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.3rem;font-weight:600}fieldset{border:0;padding:0;margin:1rem 0;display:flex;flex-wrap:wrap;gap:.3rem}\
label.choice{display:inline-block}label.choice input{position:absolute;opacity:0}\
label.choice span{display:inline-block;min-width:2.2rem;padding:.5rem 0;text-align:center;border:1px solid #999;border-radius:.3rem;cursor:pointer}\
label.choice input:checked+span{background:#234;color:#fff;border-color:#234}\
.ends{display:flex;justify-content:space-between;font-size:.85rem;color:#555}\
textarea{width:100%;min-height:6rem;font:inherit}button{margin-top:1rem;padding:.6rem 1.4rem;font:inherit}\
.error{color:#a00}";

fn document(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    ))
}

fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    (
        status,
        document(
            title,
            &format!("<h1>{}</h1><p>{}</p>", esc(title), esc(text)),
        ),
    )
        .into_response()
}

/// The form of a survey; `error` is shown above it after a refused answer.
fn form(def: &SurveyDef, token: &str, error: Option<&str>) -> Html<String> {
    let mut b = String::new();
    b.push_str(&format!("<h1>{}</h1>", esc(&def.question)));
    if let Some(e) = error {
        b.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)));
    }
    b.push_str(&format!(
        "<form method=\"post\" action=\"/s/{}\">",
        esc(token)
    ));
    let choices = def.choices();
    if def.scale().is_some() {
        if choices.is_empty() {
            let (lo, hi) = def.scale().map(|s| s.bounds()).unwrap_or((0.0, 0.0));
            b.push_str(&format!(
                "<p><input type=\"number\" name=\"score\" min=\"{lo}\" max=\"{hi}\" step=\"any\" required aria-label=\"score\"></p>"
            ));
        } else {
            b.push_str("<fieldset role=\"radiogroup\">");
            for c in &choices {
                b.push_str(&format!(
                    "<label class=\"choice\"><input type=\"radio\" name=\"score\" value=\"{c}\" required><span>{c}</span></label>"
                ));
            }
            b.push_str("</fieldset>");
        }
        if def.low_label.is_some() || def.high_label.is_some() {
            b.push_str(&format!(
                "<div class=\"ends\"><span>{}</span><span>{}</span></div>",
                esc(def.low_label.as_deref().unwrap_or("")),
                esc(def.high_label.as_deref().unwrap_or(""))
            ));
        }
    }
    match (&def.follow_up, def.scale()) {
        (_, None) => b.push_str(
            "<p><textarea name=\"comment\" required aria-label=\"answer\"></textarea></p>",
        ),
        (Some(f), Some(_)) => {
            // Shown to everyone without script; with it, only for the scores it is for.
            b.push_str(&format!(
                "<div id=\"follow-up\" data-min=\"{}\" data-max=\"{}\"><p><label for=\"comment\">{}</label></p><textarea id=\"comment\" name=\"comment\"></textarea></div>",
                f.min.map_or(String::new(), |x| x.to_string()),
                f.max.map_or(String::new(), |x| x.to_string()),
                esc(&f.question)
            ));
            b.push_str(
                "<script>(function(){var f=document.getElementById('follow-up');var lo=parseFloat(f.dataset.min),hi=parseFloat(f.dataset.max);\
function upd(){var s=document.querySelector('[name=score]:checked')||document.querySelector('input[type=number][name=score]');\
var x=s&&s.value!==''?parseFloat(s.value):NaN;f.hidden=isNaN(x)||(!isNaN(lo)&&x<lo)||(!isNaN(hi)&&x>hi);}\
document.querySelectorAll('[name=score]').forEach(function(e){e.addEventListener('input',upd);e.addEventListener('change',upd);});upd();})();</script>",
            );
        }
        (None, Some(_)) => {}
    }
    b.push_str("<button type=\"submit\">Send</button></form>");
    document(&def.question, &b)
}

/// The survey behind a token, or the page saying why there is none.
fn open(state: &AppState, token: &str) -> Result<(Claims, SurveyDef), Response> {
    let secret = state
        .store
        .secret(LINK_SECRET)
        .map_err(|e| ApiError::from(e).into_response())?;
    let claims = verify(&secret, token, now_micros())
        .map_err(|why| message_page(StatusCode::NOT_FOUND, "Survey unavailable", why))?;
    let def = find(state, claims.w, &claims.s).map_err(|_| {
        message_page(
            StatusCode::NOT_FOUND,
            "Survey unavailable",
            "this survey has been closed",
        )
    })?;
    Ok((claims, def))
}

/// `GET /s/{token}`: the survey page of one person.
async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let job = tokio::task::spawn_blocking(move || match open(&state, &token) {
        Ok((_, def)) => form(&def, &token, None).into_response(),
        Err(r) => r,
    });
    job.await
        .unwrap_or_else(|e| ApiError::internal(e).into_response())
}

#[derive(Deserialize)]
struct Answer {
    score: Option<String>,
    comment: Option<String>,
}

/// `POST /s/{token}` (a form): records the answer as a `Survey Responded` event of the
/// person, once — answering again is acknowledged and not counted twice.
async fn answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(answer): Form<Answer>,
) -> Response {
    let job = tokio::task::spawn_blocking(move || {
        let (claims, def) = match open(&state, &token) {
            Ok(x) => x,
            Err(r) => return r,
        };
        // An open question has no score to keep.
        let score = match answer
            .score
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty() && def.scale().is_some())
        {
            None => None,
            Some(s) => match s.parse::<f64>() {
                Ok(x) => Some(x),
                Err(_) => {
                    return (
                        StatusCode::BAD_REQUEST,
                        form(&def, &token, Some("Pick a score.")),
                    )
                        .into_response()
                }
            },
        };
        // A follow-up answer is kept only where the question was asked.
        let comment = match (def.scale(), score) {
            (None, _) => answer.comment.as_deref(),
            (Some(_), Some(x)) if def.asks_follow_up(x) => answer.comment.as_deref(),
            _ => None,
        };
        let properties = response_properties(&def, score, comment);
        if let Err(e) = def.check_response(&properties) {
            let why = if e.field.ends_with("comment") {
                "Please write an answer.".to_string()
            } else {
                format!("Pick a score. ({})", e.message)
            };
            return (StatusCode::BAD_REQUEST, form(&def, &token, Some(&why))).into_response();
        }
        // One answer per link: the message id is the token's digest.
        let id = format!(
            "survey-{}",
            B64.encode(&Sha256::digest(token.as_bytes())[..18])
        );
        let message = json!({
            "type": "track",
            "userId": claims.u,
            "event": SURVEY_EVENT,
            "messageId": id,
            "properties": Value::Object(properties),
            "context": { "channel": "survey", "library": { "name": "parcours-survey-page" } },
        });
        let stored = (|| -> Result<usize, ApiError> {
            let body = serde_json::to_vec(&message).map_err(ApiError::internal)?;
            let parsed = parcours_core::payload::parse_body(
                &body,
                parcours_core::payload::Endpoint::Single(EventKind::Track),
                now_micros(),
                &parcours_core::payload::Limits::default(),
                &mut || uuid::Uuid::now_v7().to_string(),
            )?;
            let (outcome, rejected) = super::ingest::commit(&state, claims.w, parsed)?;
            match rejected.into_iter().next() {
                Some(e) => Err(ApiError::from(e)),
                None => Ok(outcome.duplicates),
            }
        })();
        match stored {
            Ok(0) => message_page(
                StatusCode::OK,
                "Thank you",
                "Your answer has been recorded.",
            ),
            Ok(_) => message_page(
                StatusCode::OK,
                "Thank you",
                "We already had your answer: it is counted once.",
            ),
            Err(e) => e.into_response(),
        }
    });
    job.await
        .unwrap_or_else(|e| ApiError::internal(e).into_response())
}
