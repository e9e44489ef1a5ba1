//! The sentiment lexicons, embedded in the binary and read once.
//!
//! - English: VADER's `vader_lexicon.txt` (MIT, C.J. Hutto), word → mean valence −4…+4;
//!   its emoticons (`:-)`, `:(`) serve both languages.
//! - French: `fr_lexicon.txt` of the PyPI package `vaderSentiment-fr` 1.3.4 (MIT),
//!   word or phrase → valence on the same scale.
//! - Emojis: VADER's `emoji_utf8_lexicon.txt` gives each emoji a description ("smiling
//!   face with heart-eyes"); an emoji's valence is the sum of its description's English
//!   valences, bounded to ±3.
//! - `domain-lexicon.tsv`, written for parcours: customer-service vocabulary the general
//!   lexicons miss or misread ("late", "refund still", "trop cher", "personne ne
//!   répond"), and idioms scored as wholes. Its entries take precedence.
//!
//! Provenance and licences: `crates/parcours-core/text-data/README.md`.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::tokens::{is_emoji, tokenize, Kind};
use super::Lang;

const VADER_EN: &str = include_str!("../../text-data/vader/vader_lexicon.txt");
const VADER_EMOJI: &str = include_str!("../../text-data/vader/emoji_utf8_lexicon.txt");
const VADER_FR: &str = include_str!("../../text-data/vader-fr/fr_lexicon.txt");
const DOMAIN: &str = include_str!("../../text-data/domain-lexicon.tsv");

/// The longest phrase looked up, in tokens.
pub const MAX_PHRASE: usize = 4;

pub struct Lexicon {
    /// Single words, from the general lexicon.
    pub words: HashMap<String, f64>,
    /// Phrases of two to [`MAX_PHRASE`] tokens joined by one space, from the general
    /// lexicon.
    pub phrases: HashMap<String, f64>,
    /// The domain lexicon's words and phrases (one to [`MAX_PHRASE`] tokens).
    pub domain: HashMap<String, f64>,
}

impl Lexicon {
    fn new() -> Lexicon {
        Lexicon {
            words: HashMap::new(),
            phrases: HashMap::new(),
            domain: HashMap::new(),
        }
    }
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("words", &self.words.len())
            .field("phrases", &self.phrases.len())
            .field("domain", &self.domain.len())
            .finish()
    }
}

#[derive(Debug)]
pub struct Lexicons {
    pub en: Lexicon,
    pub fr: Lexicon,
    /// Emoticons (`:-)`, `<3`) of the English lexicon: tokens with no letter inside, or
    /// entries like `:D`.
    pub emoticons: HashMap<String, f64>,
    pub emoji: HashMap<char, f64>,
}

impl Lexicons {
    pub fn get(&self, lang: Lang) -> &Lexicon {
        match lang {
            Lang::En => &self.en,
            Lang::Fr => &self.fr,
        }
    }

    pub fn is_emoticon(&self, s: &str) -> bool {
        self.emoticons.contains_key(s)
    }
}

/// The embedded lexicons, parsed on first use (a few milliseconds).
pub fn lexicons() -> &'static Lexicons {
    static LEX: OnceLock<Lexicons> = OnceLock::new();
    LEX.get_or_init(build)
}

fn build() -> Lexicons {
    let mut lex = Lexicons {
        en: Lexicon::new(),
        fr: Lexicon::new(),
        emoticons: HashMap::new(),
        emoji: HashMap::new(),
    };
    for line in VADER_EN.lines() {
        let mut cols = line.split('\t');
        let (Some(term), Some(value)) = (cols.next(), cols.next()) else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        if term
            .chars()
            .any(|c| !c.is_alphanumeric() && c != '\'' && c != '-')
        {
            lex.emoticons.insert(term.to_lowercase(), value);
        } else {
            insert(&mut lex.en, Lang::En, term, value, false);
        }
    }
    for line in VADER_FR.lines() {
        let Some((term, value)) = line.rsplit_once("->") else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        if term.chars().any(|c| c.is_alphabetic()) {
            insert(&mut lex.fr, Lang::Fr, term, value, false);
        }
    }
    for line in VADER_EMOJI.lines() {
        let Some((emoji, description)) = line.split_once('\t') else {
            continue;
        };
        let mut chars = emoji
            .chars()
            .filter(|c| !matches!(*c as u32, 0xFE0E | 0xFE0F));
        let (Some(c), None) = (chars.next(), chars.next()) else {
            continue; // sequences (flags, families) are left out
        };
        let value: f64 = description
            .split(|c: char| !c.is_alphanumeric())
            .filter_map(|w| lex.en.words.get(&w.to_lowercase()))
            .sum();
        if value != 0.0 {
            lex.emoji.insert(c, value.clamp(-3.0, 3.0));
        }
    }
    for (n, line) in DOMAIN.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let parsed = (cols.len() >= 3)
            .then(|| cols[2].trim().parse::<f64>().ok())
            .flatten();
        let Some(value) = parsed else {
            // The file is ours and checked by a test; a bad line is a bug.
            panic!(
                "domain-lexicon.tsv line {}: expected lang<TAB>term<TAB>valence",
                n + 1
            );
        };
        let mut chars = cols[1].chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if is_emoji(c) {
                lex.emoji.insert(c, value);
                continue;
            }
        }
        for lang in match cols[0] {
            "en" => vec![Lang::En],
            "fr" => vec![Lang::Fr],
            "*" => vec![Lang::En, Lang::Fr],
            other => panic!(
                "domain-lexicon.tsv line {}: unknown language {other:?}",
                n + 1
            ),
        } {
            let target = match lang {
                Lang::En => &mut lex.en,
                Lang::Fr => &mut lex.fr,
            };
            insert(target, lang, cols[1], value, true);
        }
    }
    lex
}

/// Stores `term` under the key its tokens make, so lookups and entries agree on
/// apostrophes, elisions and case.
fn insert(lex: &mut Lexicon, lang: Lang, term: &str, value: f64, domain: bool) {
    let tokens: Vec<String> = tokenize(term, lang, &|_| false)
        .into_iter()
        .filter(|t| t.kind == Kind::Word)
        .map(|t| t.text)
        .collect();
    if tokens.is_empty() || tokens.len() > MAX_PHRASE {
        return;
    }
    let key = tokens.join(" ");
    if domain {
        lex.domain.insert(key, value);
    } else if tokens.len() == 1 {
        lex.words.insert(key, value);
    } else {
        lex.phrases.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicons_load() {
        let lex = lexicons();
        assert!(lex.en.words.len() > 7000, "{}", lex.en.words.len());
        assert!(lex.fr.words.len() > 8000, "{}", lex.fr.words.len());
        assert_eq!(lex.en.words.get("good"), Some(&1.9));
        assert_eq!(lex.fr.words.get("excellent"), Some(&2.7));
        assert!(lex.emoticons.get(":)").is_some_and(|v| *v > 0.0));
        assert!(lex.emoji.get(&'😍').is_some_and(|v| *v > 0.0));
        assert!(lex.emoji.get(&'😡').is_some_and(|v| *v < 0.0));
        assert!(lex.fr.phrases.contains_key("en colère"));
        assert!(!lex.en.domain.is_empty() && !lex.fr.domain.is_empty());
        assert_eq!(
            lex.emoji.get(&'😡'),
            Some(&-2.5),
            "the domain lexicon's emojis"
        );
    }
}
