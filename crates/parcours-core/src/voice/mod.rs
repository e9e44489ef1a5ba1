//! Voice of the customer: survey scores, and (with [`crate::text`]) how customers feel
//! at each touchpoint and stage.

pub mod emotion;
pub mod scores;
pub mod surveys;
