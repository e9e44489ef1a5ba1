//! Key words and key phrases of a sentence, for themes.
//!
//! A sentence's **key words** are its content words — what is left once function words,
//! time units, figures and one-letter tokens are set aside — each reduced to a
//! **concept**: the glossary's concept when the word (or a phrase of consecutive content
//! words) is in `text-data/theme-glossary.tsv`, otherwise the word's Snowball stem in its
//! language ("remboursements" and "remboursement" are one key word, "fr:rembours").
//! Its **key phrases** are the pairs of key words at most [`PAIR_GAP`] tokens apart in
//! the same clause, unordered ("livraison en retard" and "retard de livraison" are one
//! phrase). A key word is **topical** unless it is a feeling word (a single word with a
//! valence of [`FEELING`] or more in the sentiment lexicons, "great", "nul"), outside the glossary:
//! feeling words qualify themes ("fast delivery") but do not head them. Rules:
//! `docs/semantics.md` ("Themes").

use std::collections::HashMap;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use super::lexicon::lexicons;
use super::tokens::{tokenize, Kind, Sentence};
use super::Lang;

const GLOSSARY: &str = include_str!("../../text-data/theme-glossary.tsv");

/// Two key words form a phrase when at most this many tokens separate them
/// ("retard de livraison", "delivery was late": one).
pub const PAIR_GAP: usize = 1;

/// A word with a valence of at least this much (on VADER's −4…+4 scale) is a feeling
/// word: it qualifies themes but does not head one.
pub const FEELING: f64 = 0.5;

/// The longest glossary phrase, in content words.
const MAX_TERM: usize = 3;

#[rustfmt::skip]
const EN_STOP: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "almost", "already", "also",
    "although", "always", "am", "an", "and", "another", "any", "anyone", "anything", "are",
    "around", "as", "at", "back", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "can't", "cannot", "could", "couldn't", "did",
    "didn't", "do", "does", "doesn't", "doing", "don't", "done", "down", "during", "each",
    "either", "else", "enough", "even", "ever", "every", "everything", "few", "for", "from",
    "get", "gets", "getting", "got", "had", "hadn't", "has", "hasn't", "have", "haven't",
    "having", "he", "her", "here", "hers", "him", "his", "how", "however", "i", "i'd",
    "i'll", "i'm", "i've", "if", "in", "into", "is", "isn't", "it", "it's", "its", "itself",
    "just", "last", "least", "less", "let", "like", "made", "make", "many", "may", "me",
    "might", "more", "most", "much", "must", "my", "myself", "neither", "never", "next",
    "no", "nobody", "none", "nor", "not", "nothing", "now", "of", "off", "often", "on",
    "once", "one", "only", "or", "other", "our", "ours", "out", "over", "own", "per",
    "quite", "rather", "really", "same", "she", "should", "shouldn't", "since", "so",
    "some", "someone", "something", "still", "such", "than", "that", "that's", "the",
    "their", "theirs", "them", "then", "there", "there's", "these", "they", "they're",
    "thing", "things", "this", "those", "though", "through", "to", "too", "under", "until",
    "up", "upon", "us", "very", "via", "was", "wasn't", "we", "we're", "were", "weren't",
    "what", "when", "where", "whether", "which", "while", "who", "whom", "whose", "why",
    "will", "with", "within", "without", "won't", "would", "wouldn't", "yet", "you",
    "you're", "your", "yours", "yourself", "two", "three", "four", "five", "six", "seven",
    "eight", "nine", "ten", "first", "second", "third", "once", "twice", "day", "days",
    "week", "weeks", "month", "months", "year", "years", "hour", "hours", "minute",
    "minutes", "time", "times", "today", "yesterday", "tomorrow", "ago", "lot", "lots",
    "bit", "way", "absolutely", "completely", "totally", "extremely", "highly", "so",
    "pretty", "somewhat", "slightly", "definitely", "exactly", "especially", "simply",
    "actually", "again", "thanks", "thank", "please", "hi", "hello", "ok", "okay", "yes",
    "etc", "look", "looks", "looked", "send", "sent", "keep", "kept", "take", "took",
    "taken", "give", "gave", "given", "come", "came", "go", "goes", "went", "gone", "want",
    "wanted", "need", "needed", "say", "said", "tell", "told", "know", "knew", "think",
    "thought", "see", "saw", "seen", "seem", "seems", "use", "used", "try", "tried", "put",
    "find", "found", "feel", "felt", "able", "new", "old",
];

#[rustfmt::skip]
const FR_STOP: &[&str] = &[
    "a", "à", "afin", "ai", "aie", "aient", "ainsi", "alors", "as", "au", "aucun", "aucune",
    "aujourd'hui", "auprès", "aussi", "autre", "autres", "aux", "avais", "avait", "avant",
    "avec", "avez", "avoir", "avons", "ayant", "beaucoup", "bien", "c'", "ça", "car", "ce",
    "ceci", "cela", "celle", "celui", "ces", "cet", "cette", "chez", "comme", "comment",
    "d'", "dans", "de", "depuis", "des", "déjà", "donc", "dont", "du", "elle", "elles",
    "en", "encore", "entre", "es", "est", "et", "étaient", "était", "été", "être", "eu",
    "eux", "fait", "faire", "fais", "faut", "fois", "hier", "il", "ils", "j'", "je",
    "jusqu'", "l'", "la", "le", "les", "leur", "leurs", "lors", "lorsqu'", "lui", "m'",
    "ma", "mais", "me", "même", "mes", "moi", "moins", "mon", "n'", "ne", "ni", "non",
    "nos", "notre", "nous", "on", "ont", "ou", "où", "par", "parce", "pas", "pendant",
    "peu", "peut", "peux", "plus", "pour", "pourquoi", "quand", "que", "quel", "quelle",
    "quelque", "quelques", "qu'", "qui", "quoi", "rien", "s'", "sa", "sans", "se", "ses",
    "si", "sois", "son", "sont", "sous", "suis", "sur", "t'", "ta", "te", "tes", "toi",
    "ton", "toujours", "tous", "tout", "toute", "toutes", "très", "trop", "tu", "un", "une",
    "unes", "uns", "vers", "via", "voici", "voilà", "vos", "votre", "vous", "vraiment", "y",
    "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "premier",
    "première", "jour", "jours", "semaine", "semaines", "mois", "an", "ans", "année",
    "années", "heure", "heures", "minute", "minutes", "temps", "demain", "complètement",
    "totalement", "extrêmement", "assez", "plutôt", "juste", "merci", "bonjour", "svp",
    "oui", "etc", "dû", "dois", "doit", "avais", "aurait", "sera", "serait", "fut", "ai",
    "jamais", "personne", "cas", "chose", "choses", "cause", "vrai", "vraie", "cesse",
    "dit", "dire", "mis", "mettre", "pris", "prendre", "vu", "voir", "donné", "donner",
    "venir", "venu", "aller", "allé", "vais", "va", "veux", "voulais", "voulu", "falloir",
    "fallu", "sais", "savoir", "su", "pense", "penser", "trouvé", "trouver", "semble",
    "sembler", "nouveau", "nouvelle", "ancien",
];

fn stopwords(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => EN_STOP,
        Lang::Fr => FR_STOP,
    }
}

/// A key word as it appears in a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyWord {
    /// The glossary concept, or `LANG:STEM`.
    pub concept: String,
    /// The words as written (lower case): "livraisons", "service client".
    pub surface: String,
    pub topical: bool,
    /// Token positions of its first and last word in the sentence.
    pub start: usize,
    pub end: usize,
    pub clause: u16,
}

/// A key phrase: two key words of one clause at most [`PAIR_GAP`] tokens apart.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPhrase {
    /// The two concepts, in sorted order.
    pub concepts: (String, String),
    /// The words from the first to the last as written: "retard de livraison".
    pub surface: String,
}

pub struct Extractor {
    en: Stemmer,
    fr: Stemmer,
    /// (language, stems joined by a space) → concept.
    glossary: HashMap<(Lang, String), &'static str>,
}

impl std::fmt::Debug for Extractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extractor")
            .field("glossary", &self.glossary.len())
            .finish()
    }
}

/// The shared extractor, built on first use.
pub fn extractor() -> &'static Extractor {
    static EX: OnceLock<Extractor> = OnceLock::new();
    EX.get_or_init(Extractor::new)
}

impl Extractor {
    fn new() -> Extractor {
        let mut ex = Extractor {
            en: Stemmer::create(Algorithm::English),
            fr: Stemmer::create(Algorithm::French),
            glossary: HashMap::new(),
        };
        for (n, line) in GLOSSARY.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(concept), Some(lang), Some(term)) = (cols.next(), cols.next(), cols.next())
            else {
                panic!("theme-glossary.tsv line {}: expected three columns", n + 1);
            };
            let lang = Lang::parse(lang)
                .unwrap_or_else(|| panic!("theme-glossary.tsv line {}: language", n + 1));
            let stems: Vec<String> = tokenize(term, lang, &|_| false)
                .iter()
                .filter(|t| t.kind == Kind::Word && !is_stop(&t.text, lang))
                .map(|t| ex.stem(&t.text, lang))
                .collect();
            assert!(
                (1..=MAX_TERM).contains(&stems.len()),
                "theme-glossary.tsv line {}: one to {MAX_TERM} content words",
                n + 1
            );
            if let Some(other) = ex.glossary.insert((lang, stems.join(" ")), concept) {
                assert_eq!(
                    other,
                    concept,
                    "theme-glossary.tsv line {}: `{term}` is already in another concept",
                    n + 1
                );
            }
        }
        ex
    }

    pub fn stem(&self, word: &str, lang: Lang) -> String {
        match lang {
            Lang::En => self.en.stem(word).into_owned(),
            Lang::Fr => self.fr.stem(word).into_owned(),
        }
    }

    /// The key words of a sentence, in order.
    pub fn key_words(&self, sentence: &Sentence, lang: Lang) -> Vec<KeyWord> {
        let lex = lexicons().get(lang);
        // Content words: (position, stem, text, clause).
        let content: Vec<(usize, String, &str, u16)> = sentence
            .tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == Kind::Word && is_content(&t.text, lang))
            .map(|(i, t)| (i, self.stem(&t.text, lang), t.text.as_str(), t.clause))
            .collect();
        let mut out = Vec::new();
        let mut k = 0;
        while k < content.len() {
            // The longest glossary term starting here: consecutive content words of one
            // clause, with at most PAIR_GAP tokens between neighbours.
            let mut matched = None;
            for len in (2..=MAX_TERM).rev() {
                let Some(run) = content.get(k..k + len) else {
                    continue;
                };
                let joined = run
                    .windows(2)
                    .all(|w| w[0].3 == w[1].3 && w[1].0 - w[0].0 <= PAIR_GAP + 1);
                if !joined {
                    continue;
                }
                let key: Vec<&str> = run.iter().map(|c| c.1.as_str()).collect();
                if let Some(c) = self.glossary.get(&(lang, key.join(" "))) {
                    matched = Some((len, *c));
                    break;
                }
            }
            let (len, concept, topical) = match matched {
                Some((len, c)) => (len, c.to_string(), true),
                None => {
                    let (_, stem, text, _) = &content[k];
                    match self.glossary.get(&(lang, stem.clone())) {
                        Some(c) => (1, c.to_string(), true),
                        None => {
                            let feeling = lex
                                .domain
                                .get(*text)
                                .or_else(|| lex.words.get(*text))
                                .is_some_and(|v| v.abs() >= FEELING);
                            (1, format!("{}:{stem}", lang.code()), !feeling)
                        }
                    }
                }
            };
            let (first, last) = (&content[k], &content[k + len - 1]);
            out.push(KeyWord {
                concept,
                surface: span(sentence, first.0, last.0),
                topical,
                start: first.0,
                end: last.0,
                clause: first.3,
            });
            k += len;
        }
        out
    }

    /// The key phrases among a sentence's key words.
    pub fn key_phrases(&self, sentence: &Sentence, words: &[KeyWord]) -> Vec<KeyPhrase> {
        let mut out = Vec::new();
        for (i, a) in words.iter().enumerate() {
            for b in &words[i + 1..] {
                if b.clause != a.clause || b.start - a.end > PAIR_GAP + 1 {
                    break;
                }
                if a.concept == b.concept {
                    continue;
                }
                let concepts = if a.concept < b.concept {
                    (a.concept.clone(), b.concept.clone())
                } else {
                    (b.concept.clone(), a.concept.clone())
                };
                out.push(KeyPhrase {
                    concepts,
                    surface: span(sentence, a.start, b.end),
                });
            }
        }
        out
    }
}

fn is_stop(word: &str, lang: Lang) -> bool {
    stopwords(lang).contains(&word)
}

/// A word that can be a key word: not a function word, not a figure, two letters or
/// more, not an elided article ("l'").
fn is_content(word: &str, lang: Lang) -> bool {
    word.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && !word.ends_with('\'')
        && !word.chars().any(|c| c.is_ascii_digit())
        && !is_stop(word, lang)
}

/// Tokens `from..=to` of a sentence joined as written (lower case, elisions rejoined).
fn span(sentence: &Sentence, from: usize, to: usize) -> String {
    let mut s = String::new();
    for t in &sentence.tokens[from..=to] {
        if !s.is_empty() && !s.ends_with('\'') {
            s.push(' ');
        }
        s.push_str(&t.text);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokens::sentences;

    type Keys = (Vec<(String, bool)>, Vec<(String, String, String)>);

    fn keys(text: &str, lang: Lang) -> Keys {
        let ex = extractor();
        let s = &sentences(text, lang, &|_| false)[0];
        let words = ex.key_words(s, lang);
        let phrases = ex.key_phrases(s, &words);
        (
            words
                .iter()
                .map(|w| (w.concept.clone(), w.topical))
                .collect(),
            phrases
                .into_iter()
                .map(|p| (p.concepts.0, p.concepts.1, p.surface))
                .collect(),
        )
    }

    #[test]
    fn word_order_and_language_do_not_split_a_phrase() {
        let (_, a) = keys("Retard de livraison inadmissible.", Lang::Fr);
        let (_, b) = keys("La livraison en retard, encore.", Lang::Fr);
        let (_, c) = keys("Late delivery again.", Lang::En);
        let pair = |p: &Vec<(String, String, String)>| (p[0].0.clone(), p[0].1.clone());
        assert_eq!(pair(&a), ("delivery".into(), "late".into()));
        assert_eq!(pair(&a), pair(&b));
        assert_eq!(pair(&a), pair(&c));
        assert_eq!(a[0].2, "retard de livraison");
        assert_eq!(b[0].2, "livraison en retard");
    }

    #[test]
    fn stems_glossary_phrases_and_feeling_words() {
        let (w, p) = keys(
            "Remboursements très lents, frais de port exorbitants",
            Lang::Fr,
        );
        assert_eq!(w[0], ("refund".into(), true));
        assert_eq!(w[1].0, "fr:lent");
        assert_eq!(w[2], ("shipping costs".into(), true));
        // Clauses bound phrases: "lents" and "frais de port" are not a pair.
        assert!(p
            .iter()
            .all(|(a, b, _)| !(a == "fr:lent" && b == "shipping costs")));
        let (w, _) = keys("Great customer service, awful parcels", Lang::En);
        assert_eq!(
            w,
            [
                ("en:great".into(), false),
                ("customer service".into(), true),
                ("en:aw".into(), false),
                ("parcel".into(), true),
            ]
        );
    }

    #[test]
    fn function_words_figures_and_time_units_are_not_key_words() {
        let (w, p) = keys("I waited 3 days for the 2nd parcel of the order", Lang::En);
        let concepts: Vec<&str> = w.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(concepts, ["wait", "parcel", "order"]);
        // Two tokens between "parcel" and "order" ("of the"): too far for a phrase.
        assert!(p.is_empty(), "{p:?}");
        let (_, p) = keys("The parcel of my order was late", Lang::En);
        let pairs: Vec<(&str, &str)> = p.iter().map(|x| (x.0.as_str(), x.1.as_str())).collect();
        assert_eq!(pairs, [("late", "order")], "{p:?}");
    }

    #[test]
    fn glossary_loads() {
        assert!(
            extractor().glossary.len() > 90,
            "{}",
            extractor().glossary.len()
        );
    }
}
