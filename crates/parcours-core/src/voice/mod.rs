//! Voice of the customer: survey scores, and (with [`crate::text`]) how customers feel
//! at each touchpoint and stage, what they write about ([`themes`]), and what gets in their way
//! ([`frictions`]).

pub mod definitions;
pub mod emotion;
pub mod feedback;
pub mod frictions;
pub mod scores;
pub mod surveys;
pub mod themes;
