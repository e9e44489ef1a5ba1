//! parcours-core: the domain types of parcours and its pure logic.
//!
//! This crate does no IO: no files, sockets, clocks or databases. Everything here takes
//! values and returns values, so every rule can be tested without a server. Today it
//! holds the ingestion model (parsing Segment payloads, timestamps, normalisation), the columnar
//! analysis [`frame`], and the [`journey`] engine and its reports.
//!
//! ```
//! use parcours_core::payload::{parse_body, Endpoint, Limits};
//! use parcours_core::time::parse_rfc3339;
//!
//! let received = parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
//! let body = br#"{"userId": "u1", "event": "Order Completed",
//!                 "properties": {"revenue": 42.5, "currency": "eur"},
//!                 "context": {"campaign": {"medium": "email", "name": "spring"}}}"#;
//! let mut ids = || "m1".to_string();
//! let parsed = parse_body(body, Endpoint::Single(parcours_core::event::EventKind::Track),
//!                         received, &Limits::default(), &mut ids).unwrap();
//! let touch = &parsed.events[0].touch;
//! assert_eq!(touch.channel, "email");
//! assert_eq!(touch.touchpoint, "email spring");
//! assert_eq!(touch.revenue, Some(42.5));
//! assert_eq!(touch.currency.as_deref(), Some("EUR"));
//! ```

pub mod attribution;
pub mod error;
pub mod event;
pub mod frame;
pub mod journey;
pub mod kpi;
pub mod normalize;
pub mod paths;
pub mod payload;
pub mod retention;
pub mod sessions;
pub mod stats;
pub mod text;
pub mod time;
pub mod transitions;
pub mod view;
pub mod voice;

pub use error::{ErrorCode, PayloadError};
pub use event::{Campaign, Event, EventKind, JsonObject, Touch};
