//! Integration tests of parcours-core, one binary (see STYLE.md).

mod attribution;
mod attribution_props;
mod frictions;
mod journey_props;
mod journeys;
mod kpis;
mod normalize;
mod paths;
mod paths_props;
mod retention;
mod retention_props;
mod sentiment_props;
mod sessions;
mod surveys;
mod themes;
mod transitions;
