//! Journeys: definitions (TOML / JSON), the engine that walks every actor's events
//! through them, and the reports built from its outcomes.
//!
//! The exact rules — windows, ties, re-entry, optional parts, exclusions — are written
//! in `docs/semantics.md`; the fixtures under `testdata/journeys/` hold every edge case.
//!
//! ```
//! use parcours_core::event::EventKind;
//! use parcours_core::frame::{FrameBuilder, FrameRow};
//! use parcours_core::journey::{run_report, Engine, JourneyDef, ReportOptions, RunOptions};
//!
//! let def = JourneyDef::from_toml(r#"
//!     name = "signup"
//!     window = "7d"
//!     [[stages]]
//!     name = "visit"
//!     steps = [{ event = "home" }]
//!     [[stages]]
//!     name = "signup"
//!     steps = [{ event = "Signed Up" }]
//! "#).unwrap();
//! let mut b = FrameBuilder::new(vec![]);
//! let day = 86_400_000_000;
//! for (actor, t, name) in [("ann", 1, "home"), ("ann", 2, "Signed Up"), ("bob", 1, "home")] {
//!     b.push(&FrameRow { actor, ts: 1_700_000_000_000_000 + t * day, kind: EventKind::Track,
//!                        name, channel: "web", campaign: None, touchpoint: name, properties: &[] });
//! }
//! let frame = b.finish();
//! let engine = Engine::new(&def, &frame).unwrap();
//! let report = run_report(&def, &engine, &RunOptions::default(), &ReportOptions::default());
//! assert_eq!(report.stages[0].entered, 2);
//! assert_eq!(report.stages[1].entered, 1);
//! assert_eq!(report.conversion_rate, 0.5);
//! ```

mod definition;
mod engine;
mod lifecycle;
mod matcher;
mod report;
mod span;

pub use definition::*;
pub use engine::{Engine, Outcomes, RunOptions, NONE};
pub use lifecycle::*;
pub use matcher::{Matcher, MissingProperty, Predicate};
pub use report::*;
pub use span::Span;
