//! The one error vocabulary of ingestion: a stable code, a message for humans, and the
//! path of the offending field (`batch[3].timestamp`).
//!
//! The HTTP layer maps [`ErrorCode`] to statuses; the CSV importer prints the same codes
//! with line numbers. Codes are part of the public API: add, never rename.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON (or not valid gzip / UTF-8 before that).
    MalformedJson,
    /// A field has the wrong JSON type.
    InvalidType,
    /// A required field is absent or empty.
    MissingField,
    /// A field is present but its value is not acceptable (too long, unknown type, …).
    InvalidValue,
    /// A timestamp does not parse or is out of range.
    InvalidTimestamp,
    /// One event is larger than the per-event limit.
    EventTooLarge,
    /// The request body is larger than the per-request limit.
    PayloadTooLarge,
    /// A batch holds more events than allowed.
    BatchTooLarge,
    /// An imported CSV row cannot be read (not UTF-8, or not as wide as the header).
    MalformedCsv,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::InvalidType => "invalid_type",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::InvalidTimestamp => "invalid_timestamp",
            ErrorCode::EventTooLarge => "event_too_large",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::BatchTooLarge => "batch_too_large",
            ErrorCode::MalformedCsv => "malformed_csv",
        }
    }
}

/// Why one message (or a whole body) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct PayloadError {
    pub code: ErrorCode,
    pub message: String,
    /// The JSON path of the offending field, including the batch index when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The position of the rejected event inside a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl PayloadError {
    pub fn new(
        code: ErrorCode,
        field: impl Into<Option<String>>,
        message: impl Into<String>,
    ) -> Self {
        PayloadError {
            code,
            message: message.into(),
            field: field.into(),
            index: None,
        }
    }

    /// Places the error inside batch item `index`: `timestamp` becomes `batch[3].timestamp`.
    pub fn in_batch(mut self, index: usize) -> Self {
        self.index = Some(index);
        self.field = Some(match self.field.take() {
            Some(f) => format!("batch[{index}].{f}"),
            None => format!("batch[{index}]"),
        });
        self
    }
}
