//! Integration tests of parcours-core, one binary (see STYLE.md).

mod journey_props;
mod journeys;
mod normalize;
mod sessions;
mod transitions;
