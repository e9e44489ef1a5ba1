//! Lexicon-based sentiment for French and English customer text.
//!
//! The approach is VADER's (Hutto & Gilbert, ICWSM 2014), written for both languages:
//! each sentiment-bearing word or phrase has a valence on −4…+4, adjusted by the words
//! around it, summed over the sentence and squashed into a compound score on −1…+1 by
//! `s / √(s² + 15)`. The rules, in the order applied to each valence `v`:
//!
//! 1. **Capitals**: a word in capitals in a sentence that is not all capitals: `|v| += 0.733`.
//! 2. **Intensifiers and softeners** among the three words before, in the same clause:
//!    `|v| ± 0.293`, damped by distance (×1, ×0.95, ×0.9).
//! 3. **Negation**: a negator among the three words before, in the same clause ("not",
//!    "never", "no", "without", "n't"; "pas", "jamais", "rien", "aucun", "sans", and
//!    French "ne"/"n'" up to four words before, or "pas"/"jamais" right after the word
//!    as in "ça marche pas"), flips and shrinks it: `v × −0.74`. "at all" / "du tout"
//!    after a negated word adds 0.293 to its magnitude.
//! 4. **Contrast**: with "but" / "mais" (or however, cependant, pourtant, toutefois,
//!    néanmoins) in the sentence, what comes before counts ×0.5 and what comes after
//!    ×1.5.
//! 5. **Punctuation**: on a non-zero sentence, each `!` (up to four) adds 0.292 to the
//!    magnitude, and two or more `?` add 0.18 each (up to three).
//!
//! Emojis and emoticons carry their own valence and are not negated. A text's compound
//! is the squashed sum of its sentences' sums; compound ≥ 0.05 is positive, ≤ −0.05
//! negative, neutral between — VADER's thresholds.

use serde::Serialize;

use super::lexicon::{lexicons, Lexicon, Lexicons, MAX_PHRASE};
use super::tokens::{sentences, Kind, Sentence, Token};
use super::{lang, Lang};

const BOOST: f64 = 0.293;
const CAPS: f64 = 0.733;
const NEGATION: f64 = -0.74;
const EXCLAMATION: f64 = 0.292;
const QUESTION: f64 = 0.18;
const ALPHA: f64 = 15.0;
/// |compound| below this is neutral.
pub const NEUTRAL_BAND: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    Negative,
    Neutral,
    Positive,
}

impl Polarity {
    pub fn of(compound: f64) -> Polarity {
        if compound >= NEUTRAL_BAND {
            Polarity::Positive
        } else if compound <= -NEUTRAL_BAND {
            Polarity::Negative
        } else {
            Polarity::Neutral
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Polarity::Negative => "negative",
            Polarity::Neutral => "neutral",
            Polarity::Positive => "positive",
        }
    }

    pub fn parse(s: &str) -> Option<Polarity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "positive" | "pos" => Some(Polarity::Positive),
            "neutral" | "neu" => Some(Polarity::Neutral),
            "negative" | "neg" => Some(Polarity::Negative),
            _ => None,
        }
    }
}

/// A word or phrase that counted, with its valence after the rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Term {
    pub term: String,
    pub valence: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentenceScore {
    pub text: String,
    pub compound: f64,
    pub polarity: Polarity,
    pub terms: Vec<Term>,
    #[serde(skip)]
    pub sum: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextScore {
    pub language: Lang,
    /// False when the language was not told apart and the default was used.
    pub language_detected: bool,
    pub compound: f64,
    pub polarity: Polarity,
    pub sentences: Vec<SentenceScore>,
}

/// Scores texts. Cheap to create; the lexicons are shared.
#[derive(Debug, Clone, Copy)]
pub struct Scorer {
    lex: &'static Lexicons,
    domain: bool,
    default_lang: Lang,
}

impl Default for Scorer {
    fn default() -> Self {
        Scorer::new()
    }
}

const EN_NEGATORS: &[&str] = &[
    "not", "no", "never", "nobody", "nothing", "none", "neither", "nor", "without", "cannot",
    "nowhere", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "cant", "couldnt",
    "wont", "wouldnt", "shouldnt", "hasnt", "havent", "hadnt", "aint",
];
const FR_NEGATORS: &[&str] = &[
    "pas",
    "jamais",
    "rien",
    "aucun",
    "aucune",
    "personne",
    "sans",
    "ni",
    "nullement",
    "aucunement",
    "guère",
    "ne",
    "n'",
];
const EN_BOOSTERS: &[(&str, f64)] = &[
    ("absolutely", BOOST),
    ("amazingly", BOOST),
    ("awfully", BOOST),
    ("completely", BOOST),
    ("considerably", BOOST),
    ("deeply", BOOST),
    ("enormously", BOOST),
    ("entirely", BOOST),
    ("especially", BOOST),
    ("exceptionally", BOOST),
    ("extremely", BOOST),
    ("far", BOOST),
    ("fully", BOOST),
    ("greatly", BOOST),
    ("highly", BOOST),
    ("hugely", BOOST),
    ("incredibly", BOOST),
    ("most", BOOST),
    ("particularly", BOOST),
    ("really", BOOST),
    ("remarkably", BOOST),
    ("so", BOOST),
    ("such", BOOST),
    ("super", BOOST),
    ("thoroughly", BOOST),
    ("too", BOOST),
    ("totally", BOOST),
    ("truly", BOOST),
    ("utterly", BOOST),
    ("very", BOOST),
    ("way", BOOST),
    ("genuinely", BOOST),
    ("almost", -BOOST),
    ("barely", -BOOST),
    ("hardly", -BOOST),
    ("kind of", -BOOST),
    ("kinda", -BOOST),
    ("a little", -BOOST),
    ("a bit", -BOOST),
    ("marginally", -BOOST),
    ("partly", -BOOST),
    ("slightly", -BOOST),
    ("somewhat", -BOOST),
    ("sort of", -BOOST),
    ("fairly", -BOOST),
    ("rather", -BOOST),
    ("quite", -BOOST),
];
const FR_BOOSTERS: &[(&str, f64)] = &[
    ("absolument", BOOST),
    ("carrément", BOOST),
    ("complètement", BOOST),
    ("entièrement", BOOST),
    ("énormément", BOOST),
    ("extrêmement", BOOST),
    ("franchement", BOOST),
    ("hyper", BOOST),
    ("incroyablement", BOOST),
    ("particulièrement", BOOST),
    ("profondément", BOOST),
    ("si", BOOST),
    ("super", BOOST),
    ("tellement", BOOST),
    ("terriblement", BOOST),
    ("totalement", BOOST),
    ("très", BOOST),
    ("trop", BOOST),
    ("ultra", BOOST),
    ("vachement", BOOST),
    ("vraiment", BOOST),
    ("beaucoup", BOOST),
    ("vivement", BOOST),
    ("bien", BOOST),
    ("assez", -BOOST),
    ("plutôt", -BOOST),
    ("légèrement", -BOOST),
    ("presque", -BOOST),
    ("un peu", -BOOST),
    ("peu", -BOOST),
    ("relativement", -BOOST),
    ("moyennement", -BOOST),
    ("quasiment", -BOOST),
    ("à peine", -BOOST),
];
const EN_CONTRAST: &[&str] = &["but", "however"];
const FR_CONTRAST: &[&str] = &["mais", "cependant", "pourtant", "toutefois", "néanmoins"];
const AT_ALL: &[&str] = &["at all", "du tout", "whatsoever", "de tout"];

struct Rules {
    negators: &'static [&'static str],
    boosters: &'static [(&'static str, f64)],
    contrast: &'static [&'static str],
}

fn rules(lang: Lang) -> Rules {
    match lang {
        Lang::En => Rules {
            negators: EN_NEGATORS,
            boosters: EN_BOOSTERS,
            contrast: EN_CONTRAST,
        },
        Lang::Fr => Rules {
            negators: FR_NEGATORS,
            boosters: FR_BOOSTERS,
            contrast: FR_CONTRAST,
        },
    }
}

impl Scorer {
    pub fn new() -> Scorer {
        Scorer {
            lex: lexicons(),
            domain: true,
            default_lang: Lang::En,
        }
    }

    /// The general lexicons alone, without parcours' customer-service lexicon: the
    /// baseline the evaluation prints beside the full scorer.
    pub fn without_domain(mut self) -> Scorer {
        self.domain = false;
        self
    }

    /// The language assumed when a text does not tell (English by default).
    pub fn default_language(mut self, lang: Lang) -> Scorer {
        self.default_lang = lang;
        self
    }

    /// Scores `text`; `lang` forces the language, otherwise it is detected.
    pub fn score(&self, text: &str, lang: Option<Lang>) -> TextScore {
        let (language, language_detected) = match lang {
            Some(l) => (l, true),
            None => match lang::detect(text) {
                Some(l) => (l, true),
                None => (self.default_lang, false),
            },
        };
        let lex = self.lex;
        let sents = sentences(text, language, &|s| lex.is_emoticon(s));
        let scored: Vec<SentenceScore> = sents.iter().map(|s| self.sentence(s, language)).collect();
        let sum: f64 = scored.iter().map(|s| s.sum).sum();
        let compound = squash(sum);
        TextScore {
            language,
            language_detected,
            compound,
            polarity: Polarity::of(compound),
            sentences: scored,
        }
    }

    fn sentence(&self, s: &Sentence, lang: Lang) -> SentenceScore {
        let lex = self.lex.get(lang);
        let rules = rules(lang);
        let t = &s.tokens;
        let n = t.len();
        let words = t.iter().filter(|t| t.kind == Kind::Word);
        let caps_words = words.clone().filter(|t| t.caps).count();
        let mixed_case = caps_words > 0 && caps_words < words.count();
        let contrast = t
            .iter()
            .position(|t| t.kind == Kind::Word && rules.contrast.contains(&t.text.as_str()));

        // First pass: which tokens carry valence, as words or phrases. Domain entries
        // first, longest first; a phrase consumes its tokens.
        let mut hits: Vec<(usize, usize, f64)> = Vec::new(); // (start, len, valence)
        let mut consumed = vec![false; n];
        let mut i = 0;
        while i < n {
            match t[i].kind {
                Kind::Emoji => {
                    let c = t[i].text.chars().next().unwrap_or(' ');
                    if let Some(&v) = self.lex.emoji.get(&c) {
                        hits.push((i, 1, v));
                    }
                    i += 1;
                }
                Kind::Emoticon => {
                    if let Some(&v) = self.lex.emoticons.get(&t[i].text) {
                        hits.push((i, 1, v));
                    }
                    i += 1;
                }
                Kind::Word => match self.lookup(lex, lang, t, i) {
                    Some((len, v)) => {
                        if len > 1 || v == 0.0 {
                            consumed[i..i + len].iter_mut().for_each(|c| *c = true);
                        }
                        if v != 0.0 {
                            hits.push((i, len, v));
                        }
                        i += len;
                    }
                    None => i += 1,
                },
            }
        }

        // A negator or intensifier has no valence of its own, except an intensifier with
        // nothing to intensify in the next three words ("Super !", "Top.").
        let mut starts = vec![false; n];
        hits.iter().for_each(|h| starts[h.0] = true);
        hits.retain(|&(i, len, _)| {
            if len > 1 || t[i].kind != Kind::Word || consumed[i] {
                return true;
            }
            if is_negator(&rules, t, i) {
                return false;
            }
            if booster(&rules, t, i).is_some() {
                let intensifies = (i + 1..n.min(i + 4))
                    .take_while(|&j| t[j].clause == t[i].clause)
                    .any(|j| starts[j]);
                return !intensifies;
            }
            true
        });

        let mut terms = Vec::new();
        let mut sum = 0.0;
        for &(i, len, base) in &hits {
            let mut v = base;
            let is_word = t[i].kind == Kind::Word;
            if is_word {
                if mixed_case && t[i].caps {
                    v += CAPS * v.signum();
                }
                // A phrase that holds its own negation ("jamais reçu", "no problem") is
                // scored as written and not negated again.
                let mut negated = false;
                let self_negating = (i..i + len).any(|k| is_negator(&rules, t, k));
                for d in 1..=4usize {
                    let Some(j) = i.checked_sub(d) else { break };
                    if t[j].clause != t[i].clause || consumed[j] {
                        break;
                    }
                    if d <= 3 {
                        if let Some(b) = booster(&rules, t, j) {
                            let damp = [1.0, 0.95, 0.9][d - 1];
                            let mut b = b * damp;
                            if mixed_case && t[j].caps {
                                b += CAPS;
                            }
                            v += b * v.signum();
                        }
                        if is_negator(&rules, t, j) {
                            negated = true;
                        }
                    }
                    if lang == Lang::Fr && (t[j].text == "ne" || t[j].text == "n'") {
                        negated = true;
                    }
                }
                let after = i + len;
                if lang == Lang::Fr
                    && after < n
                    && t[after].clause == t[i].clause
                    && matches!(t[after].text.as_str(), "pas" | "jamais")
                {
                    negated = true;
                }
                if negated && !self_negating {
                    v *= NEGATION;
                    let tail: Vec<&str> = t[after..n.min(after + 5)]
                        .iter()
                        .take_while(|x| x.clause == t[i].clause)
                        .map(|x| x.text.as_str())
                        .collect();
                    let tail = tail.join(" ");
                    if AT_ALL.iter().any(|p| tail.contains(p)) {
                        v += BOOST * v.signum();
                    }
                }
            }
            if let Some(k) = contrast {
                if i < k {
                    v *= 0.5;
                } else if i > k {
                    v *= 1.5;
                }
            }
            sum += v;
            let term = t[i..i + len]
                .iter()
                .map(|x| x.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            terms.push(Term { term, valence: v });
        }
        if sum != 0.0 {
            let mut emphasis = s.exclamations.min(4) as f64 * EXCLAMATION;
            if s.questions > 1 {
                emphasis += s.questions.min(3) as f64 * QUESTION;
            }
            sum += emphasis * sum.signum();
        }
        let compound = squash(sum);
        SentenceScore {
            text: s.text.clone(),
            compound,
            polarity: Polarity::of(compound),
            terms,
            sum,
        }
    }

    /// The longest entry starting at token `i`: domain words and phrases first, then
    /// the general lexicon's phrases and words. `(tokens consumed, valence)`.
    fn lookup(&self, lex: &Lexicon, lang: Lang, t: &[Token], i: usize) -> Option<(usize, f64)> {
        let max = MAX_PHRASE.min(t.len() - i);
        let key = |len: usize| -> Option<String> {
            let slice = &t[i..i + len];
            if slice.iter().any(|x| x.kind != Kind::Word) {
                return None;
            }
            Some(
                slice
                    .iter()
                    .map(|x| x.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        };
        if self.domain {
            for len in (1..=max).rev() {
                if let Some(v) = key(len).and_then(|k| lex.domain.get(&k).copied()) {
                    return Some((len, v));
                }
            }
        }
        for len in (2..=max).rev() {
            if let Some(v) = key(len).and_then(|k| lex.phrases.get(&k).copied()) {
                return Some((len, v));
            }
        }
        if let Some(&v) = lex.words.get(&t[i].text) {
            return Some((1, v));
        }
        // Inflections the lexicons do not list: a plural, a feminine, a participle
        // ("arnaqué" finds "arnaquer", "crashes" finds "crash").
        for form in inflections(&t[i].text, lang) {
            if self.domain {
                if let Some(&v) = lex.domain.get(&form) {
                    return Some((1, v));
                }
            }
            if let Some(&v) = lex.words.get(&form) {
                return Some((1, v));
            }
        }
        None
    }
}

/// Base forms to try for a word the lexicons lack, most likely first. Deliberately
/// narrow (plural, feminine, past participle, English -ing): general stemmers conflate
/// unrelated words ("petit" and "pétard", "uses" and "useful") and cost accuracy.
pub fn inflections(word: &str, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    let mut strip = |suffix: &str, add: &[&str]| {
        if let Some(base) = word.strip_suffix(suffix) {
            if base.chars().count() >= 3 {
                out.extend(add.iter().map(|a| format!("{base}{a}")));
            }
        }
    };
    match lang {
        Lang::Fr => {
            strip("ées", &["é", "er", "e"]);
            strip("és", &["é", "er", "e"]);
            strip("ée", &["é", "er", "e"]);
            strip("é", &["er", "e"]);
            strip("euses", &["eux"]);
            strip("euse", &["eux"]);
            strip("ives", &["if"]);
            strip("ive", &["if"]);
            strip("es", &["e", ""]);
            strip("s", &[""]);
            strip("e", &[""]);
        }
        Lang::En => {
            strip("ies", &["y"]);
            strip("es", &["", "e"]);
            strip("s", &[""]);
            strip("ied", &["y"]);
            strip("ed", &["", "e"]);
            strip("ing", &["", "e"]);
        }
    }
    out
}

fn is_negator(rules: &Rules, t: &[Token], i: usize) -> bool {
    let w = t[i].text.as_str();
    // French "personne" is "nobody" before "ne" or at the head of a clause ("Personne
    // pour nous aider"), and "a person" otherwise ("une personne très aimable").
    if w == "personne" {
        let head = i == 0 || t[i - 1].clause != t[i].clause;
        let before_ne = t[i + 1..]
            .iter()
            .take(2)
            .any(|x| x.text == "ne" || x.text == "n'");
        return head || before_ne;
    }
    if rules.negators.contains(&w) || w.ends_with("n't") {
        return true;
    }
    // French "plus" negates only after "ne"/"n'" in the clause ("ne fonctionne plus");
    // alone it is "more" ("plus rapide").
    w == "plus"
        && t[..i]
            .iter()
            .rev()
            .take_while(|x| x.clause == t[i].clause)
            .any(|x| x.text == "ne" || x.text == "n'")
}

/// The intensifier scalar of token `i`, alone or as the end of a two-word intensifier
/// ("a bit", "un peu").
fn booster(rules: &Rules, t: &[Token], i: usize) -> Option<f64> {
    let w = t[i].text.as_str();
    if i > 0 && t[i - 1].clause == t[i].clause {
        let pair = format!("{} {}", t[i - 1].text, w);
        if let Some(&(_, b)) = rules.boosters.iter().find(|(k, _)| *k == pair) {
            return Some(b);
        }
    }
    rules
        .boosters
        .iter()
        .find(|(k, _)| *k == w)
        .map(|&(_, b)| b)
}

fn squash(sum: f64) -> f64 {
    if sum == 0.0 {
        0.0
    } else {
        (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> f64 {
        Scorer::new().score(text, None).compound
    }

    fn p(text: &str) -> Polarity {
        Scorer::new().score(text, None).polarity
    }

    #[test]
    fn negation_flips_and_shrinks() {
        assert!(c("The service was good.") > 0.3);
        assert!(c("The service was not good.") < -0.2);
        assert!(c("The service was not good.").abs() < c("The service was good."));
        assert_eq!(p("Not bad at all."), Polarity::Positive);
        assert_eq!(p("I don't like it."), Polarity::Negative);
        assert_eq!(p("Never had a problem."), Polarity::Positive);
        // French: "ne … pas" around the verb, "pas" alone, "jamais", "sans".
        assert_eq!(p("Le service est bon."), Polarity::Positive);
        assert_eq!(p("Le service n'est pas bon."), Polarity::Negative);
        assert_eq!(p("C'est pas terrible, franchement."), Polarity::Negative);
        assert_eq!(p("Pas mal du tout !"), Polarity::Positive);
        assert_eq!(p("Le lien ne fonctionne pas."), Polarity::Negative);
        assert_eq!(p("Ça marche pas."), Polarity::Negative);
        assert_eq!(p("Jamais eu de problème avec eux."), Polarity::Positive);
        // "personne" is "nobody" only as a subject of a negation.
        assert_eq!(
            p("Une personne très aimable au téléphone."),
            Polarity::Positive
        );
        assert_eq!(
            p("Personne pour nous aider, inadmissible."),
            Polarity::Negative
        );
        // "plus" negates only after "ne".
        assert_eq!(p("Il ne fonctionne plus."), Polarity::Negative);
        assert!(c("Livraison plus rapide que prévu.") > 0.0);
    }

    #[test]
    fn at_all_strengthens_a_negation() {
        assert!(c("Not good at all.") < c("Not good."));
        assert!(c("Pas bien du tout.") < c("Pas bien."));
    }

    #[test]
    fn intensifiers_and_softeners() {
        assert!(c("The staff were very helpful.") > c("The staff were helpful."));
        assert!(c("The staff were slightly helpful.") < c("The staff were helpful."));
        assert!(c("Le personnel était très aimable.") > c("Le personnel était aimable."));
        assert!(c("Le personnel était un peu aimable.") < c("Le personnel était aimable."));
        // An intensifier with nothing to intensify keeps its own valence.
        assert_eq!(p("Super !"), Polarity::Positive);
    }

    #[test]
    fn contrast_weights_the_second_clause() {
        assert_eq!(
            p("The lamp is beautiful but the delivery was a disaster."),
            Polarity::Negative
        );
        assert_eq!(
            p("A bit expensive, but the quality is excellent."),
            Polarity::Positive
        );
        assert_eq!(
            p("Le site est beau mais le paiement échoue."),
            Polarity::Negative
        );
        assert_eq!(
            p("Un peu cher mais la qualité est remarquable."),
            Polarity::Positive
        );
        let s = Scorer::new().score("Nice but slow.", None);
        let terms = &s.sentences[0].terms;
        assert_eq!(terms[0].term, "nice");
        assert!((terms[0].valence - 0.5 * 1.8).abs() < 1e-9, "{terms:?}");
    }

    #[test]
    fn punctuation_and_capitals_add_emphasis() {
        assert!(c("Great service!!!") > c("Great service."));
        assert!(c("The delivery was awful!!") < c("The delivery was awful."));
        assert!(c("The support was GREAT, thanks.") > c("The support was great, thanks."));
        // A sentence with no sentiment stays neutral whatever its punctuation.
        assert_eq!(c("Where is my parcel???"), 0.0);
    }

    #[test]
    fn emojis_and_emoticons() {
        assert_eq!(p("😍"), Polarity::Positive);
        assert_eq!(p("Livraison reçue 😡"), Polarity::Negative);
        assert_eq!(p("Parcel received :)"), Polarity::Positive);
        assert_eq!(p("Parcel received :("), Polarity::Negative);
        // Emojis are not negated.
        assert_eq!(p("Not sure 👍"), Polarity::Positive);
    }

    #[test]
    fn sentences_and_languages() {
        let s = Scorer::new().score("Livraison rapide. Mais le produit est cassé !", None);
        assert_eq!(s.language, Lang::Fr);
        assert_eq!(s.sentences.len(), 2);
        assert_eq!(s.sentences[0].polarity, Polarity::Positive);
        assert_eq!(s.sentences[1].polarity, Polarity::Negative);
        // A forced language wins over detection; undetermined falls back to the default.
        let forced = Scorer::new().score("top", Some(Lang::Fr));
        assert_eq!(
            (forced.language, forced.language_detected),
            (Lang::Fr, true)
        );
        let unknown = Scorer::new()
            .default_language(Lang::Fr)
            .score("OK 12345", None);
        assert_eq!(
            (unknown.language, unknown.language_detected),
            (Lang::Fr, false)
        );
        assert_eq!(Scorer::new().score("", None).polarity, Polarity::Neutral);
    }

    #[test]
    fn customer_service_vocabulary() {
        assert_eq!(p("Delivered two weeks late."), Polarity::Negative);
        assert_eq!(p("Livré avec deux semaines de retard."), Polarity::Negative);
        assert_eq!(p("Still no answer from support."), Polarity::Negative);
        assert_eq!(p("Toujours aucune réponse du support."), Polarity::Negative);
        // Inflections the lexicons do not list.
        assert_eq!(p("Je me sens arnaquée."), Polarity::Negative);
        // Without the domain lexicon, "late" means nothing.
        assert_eq!(
            Scorer::new()
                .without_domain()
                .score("Delivered two weeks late.", None)
                .polarity,
            Polarity::Neutral
        );
    }
}
