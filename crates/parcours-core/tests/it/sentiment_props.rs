//! Invariants of the sentiment scorer on arbitrary text.

use parcours_core::text::lexicon::lexicons;
use parcours_core::text::{Lang, Polarity, Scorer};
use proptest::prelude::*;

proptest! {
    /// Any text scores without panicking, within −1…+1, with a polarity that matches its
    /// compound, and the same every time.
    #[test]
    fn bounded_and_consistent(text in "\\PC{0,200}") {
        let s = Scorer::new().score(&text, None);
        prop_assert!((-1.0..=1.0).contains(&s.compound));
        prop_assert_eq!(s.polarity, Polarity::of(s.compound));
        for sentence in &s.sentences {
            prop_assert!((-1.0..=1.0).contains(&sentence.compound));
        }
        prop_assert_eq!(Scorer::new().score(&text, None), s);
    }

    /// Negating a sentiment word of the English lexicon flips the sign of the sentence.
    #[test]
    fn negation_flips_english_words(index in 0usize..10_000) {
        let lex = &lexicons().en;
        let mut words: Vec<(&String, &f64)> = lex
            .words
            .iter()
            .filter(|(w, v)| v.abs() >= 0.5 && w.chars().all(|c| c.is_ascii_lowercase()))
            .collect();
        words.sort_by(|a, b| a.0.cmp(b.0));
        let (word, _) = words[index % words.len()];
        let scorer = Scorer::new().without_domain();
        let plain = scorer.score(&format!("it was {word}"), Some(Lang::En)).compound;
        let negated = scorer.score(&format!("it was not {word}"), Some(Lang::En)).compound;
        prop_assume!(plain != 0.0);
        prop_assert!(plain.signum() != negated.signum(), "{word}: {plain} vs {negated}");
        prop_assert!(negated.abs() < plain.abs());
    }
}
