//! Free text from customers: language, sentences and words, and sentiment.
//!
//! Reviews, survey comments, ticket and call notes arrive in French or English. This
//! module detects which ([`lang`]), cuts the text into sentences and tokens that keep
//! what matters for sentiment — capitals, emojis, emoticons, French elisions
//! ([`tokens`]) — and scores each sentence with a lexicon-based scorer that handles
//! negation, intensifiers and softeners, contrast, punctuation and emojis
//! ([`sentiment`]); [`keyphrases`] finds the key words and phrases that themes are
//! made of. [`eval`] measures sentiment on a labelled set. The rules are written down
//! in `docs/semantics.md` ("Sentiment"); the lexicons and their provenance are in
//! `crates/parcours-core/text-data/`.

pub mod eval;
pub mod keyphrases;
pub mod lang;
pub mod lexicon;
pub mod sentiment;
pub mod tokens;

pub use lang::Lang;
pub use sentiment::{Polarity, Scorer, SentenceScore, TextScore};
