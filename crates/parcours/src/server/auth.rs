//! Finding and checking API keys.
//!
//! Ingestion takes the write key the Segment way — HTTP Basic with the key as user name —
//! or as `writeKey` in the body. The query and admin API take `Authorization: Bearer KEY`
//! (Basic works too). A key that is unknown, revoked, or of the wrong scope gets 401.

use axum::http::{header, HeaderMap};
use base64::Engine;
use parcours_store::{KeyInfo, Scope, Store};

use super::error::ApiError;

/// The key in the `Authorization` header, Basic (user part) or Bearer.
pub fn header_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(rest.trim().to_string()),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let user = text.split_once(':').map(|(u, _)| u).unwrap_or(&text);
            Some(user.to_string())
        }
        _ => None,
    }
    .filter(|k| !k.is_empty())
}

/// The scope's name after its indefinite article: "a read", "an admin".
fn with_article(scope: Scope) -> String {
    match scope {
        Scope::Admin => format!("an {}", scope.as_str()),
        _ => format!("a {}", scope.as_str()),
    }
}

/// Checks `secret` against the store and the scope the endpoint needs.
pub fn check(
    store: &dyn Store,
    secret: Option<&str>,
    required: Scope,
) -> Result<KeyInfo, ApiError> {
    let Some(secret) = secret else {
        return Err(ApiError::unauthorized(match required {
            Scope::Write => {
                "no write key: send it as the Basic auth user name or as `writeKey` in the body"
            }
            _ => "no API key: send `Authorization: Bearer KEY`",
        }));
    };
    let key = store
        .authenticate(secret)
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked key"))?;
    if !key.scope.allows(required) {
        let mut e = ApiError::unauthorized(format!(
            "this is {} key; this endpoint needs {} key",
            with_article(key.scope),
            with_article(required)
        ));
        e.code = "wrong_scope";
        return Err(e);
    }
    Ok(key)
}
