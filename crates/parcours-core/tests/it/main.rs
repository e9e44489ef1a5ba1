//! Integration tests of parcours-core, one binary (see STYLE.md).

mod journeys;
mod normalize;
