//! The one error shape of the HTTP API, `{ "error": { "code", "message", "field"?, "hint"? } }`,
//! and the one table mapping codes to statuses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parcours_core::{ErrorCode, PayloadError};
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub hint: Option<&'static str>,
    pub retry_after: Option<u64>,
    /// Extra top-level members (the accepted count and per-index rejections of a batch).
    pub extra: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            hint: None,
            retry_after: None,
            extra: None,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, code, message);
        e.field = Some(field.into());
        e
    }

    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    /// A `503`: nothing of the request was done, and a retry after `seconds` may succeed
    /// (clients retry it).
    pub fn unavailable(code: &'static str, message: &str, seconds: u64) -> ApiError {
        let mut api = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        api.retry_after = Some(seconds);
        api
    }

    pub fn with_hint(mut self, hint: &'static str) -> ApiError {
        self.hint = Some(hint);
        self
    }
}

/// The status for each ingestion error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::MalformedJson
        | ErrorCode::InvalidType
        | ErrorCode::MissingField
        | ErrorCode::InvalidValue
        | ErrorCode::InvalidTimestamp
        | ErrorCode::EventTooLarge
        | ErrorCode::BatchTooLarge
        | ErrorCode::MalformedCsv => StatusCode::BAD_REQUEST,
    }
}

impl From<PayloadError> for ApiError {
    fn from(e: PayloadError) -> ApiError {
        let mut api = ApiError::new(status_of(e.code), e.code.as_str(), e.message);
        api.field = e.field;
        api
    }
}

impl From<parcours_store::StoreError> for ApiError {
    fn from(e: parcours_store::StoreError) -> ApiError {
        match e {
            parcours_store::StoreError::Closed => ApiError::unavailable(
                "unavailable",
                "the server is shutting down or overloaded",
                1,
            ),
            // Nothing of the request was stored, and a retry may succeed: 503, as
            // clients retry it, with what an operator must fix in the log.
            parcours_store::StoreError::Full(why) => {
                tracing::error!(error = %why, "cannot store: the disk is full");
                ApiError::unavailable(
                    "storage_full",
                    "the server cannot store events: its disk is full (nothing of this request was stored)",
                    30,
                )
            }
            parcours_store::StoreError::Busy(why) => {
                tracing::error!(error = %why, "cannot store: the database stayed locked");
                ApiError::unavailable(
                    "busy",
                    "the server cannot store events now: another process holds the database (nothing of this request was stored)",
                    5,
                )
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(f) = self.field {
            error["field"] = Value::String(f);
        }
        if let Some(h) = self.hint {
            error["hint"] = Value::String(h.into());
        }
        let mut body = json!({ "error": error });
        if let Some(Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parcours_store::StoreError;

    #[test]
    fn a_full_disk_or_a_held_lock_is_unavailable_not_internal() {
        // Nothing was stored and a retry may succeed: 503 with Retry-After, which the
        // Segment libraries retry, and a code that says why.
        for (error, code, retry) in [
            (StoreError::Full("disk".into()), "storage_full", 30),
            (StoreError::Busy("lock".into()), "busy", 5),
        ] {
            let api = ApiError::from(error);
            assert_eq!(
                (api.status, api.code, api.retry_after),
                (StatusCode::SERVICE_UNAVAILABLE, code, Some(retry))
            );
        }
        let api = ApiError::from(StoreError::CommitFailed("constraint".into()));
        assert_eq!(
            (api.status, api.code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
    }
}
