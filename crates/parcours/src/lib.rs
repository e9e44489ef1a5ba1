//! parcours, the binary: command line, configuration, HTTP server, import and demo.
//!
//! Everything is a library so tests drive it without a process: [`server::app`] builds
//! the router, [`import::import_file`] imports a file into a store, [`demo::build`]
//! builds the demo dataset. `main.rs` only parses the command line and dispatches to
//! [`cli::run`].

pub mod analysis;
pub mod attribution_cmd;
pub mod cli;
pub mod config;
pub mod csv_rows;
pub mod dates;
pub mod demo;
pub mod emotion_cmd;
pub mod encoding;
pub mod frame_cache;
pub mod frictions_cmd;
pub mod import;
pub mod journey_cmd;
pub mod kpi_cmd;
pub mod logging;
pub mod paths_cmd;
pub mod rejects;
pub mod requests;
pub mod retention_cmd;
pub mod sentiment_cmd;
pub mod server;
pub mod sessions_cmd;
pub mod survey_import;
pub mod survey_links;
pub mod surveys_cmd;
pub mod themes_cmd;
pub mod transitions_cmd;
