//! Voice of the customer: survey scores, and (with [`crate::text`]) how customers feel
//! at each touchpoint and stage, and what they write about ([`themes`]).

pub mod emotion;
pub mod feedback;
pub mod scores;
pub mod surveys;
pub mod themes;
