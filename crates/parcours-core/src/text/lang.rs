//! French or English: a vote of function words, with accents as a tie-breaker.
//!
//! Customer texts are short ("Livré en retard.", "Great service!"), where character
//! n-gram detectors are unsure; the function words of each language ("le", "est",
//! "pas"; "the", "is", "not") settle most of them, and French accents settle most of the
//! rest. A text with neither is reported as undetermined, and callers fall back to a
//! default (the workspace's language, or English).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// Reads `en`, `fr`, and the usual longer spellings (`english`, `fr-FR`, …).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        let primary = s.split(['-', '_']).next().unwrap_or("");
        match primary {
            "en" | "eng" | "english" | "anglais" => Some(Lang::En),
            "fr" | "fra" | "fre" | "french" | "français" | "francais" => Some(Lang::Fr),
            _ => None,
        }
    }
}

const FRENCH: &[&str] = &[
    "le", "la", "les", "un", "une", "des", "du", "de", "et", "est", "sont", "pas", "ne", "je", "j",
    "il", "elle", "nous", "vous", "ils", "on", "ce", "c", "ça", "cette", "mon", "ma", "mes",
    "votre", "vos", "notre", "nos", "pour", "avec", "sans", "dans", "sur", "au", "aux", "mais",
    "très", "trop", "que", "qui", "qu", "l", "d", "n", "m", "s", "été", "était", "ai", "avez",
    "avons", "jamais", "rien", "tout", "toujours", "encore", "merci", "aucun", "aucune",
    "personne", "chez", "depuis", "après", "où", "y", "en", "par", "plus", "moins", "bien",
    "aussi", "être", "avoir", "fait", "suis",
];

const ENGLISH: &[&str] = &[
    "the", "a", "an", "and", "is", "are", "was", "were", "not", "no", "i", "it", "we", "you",
    "they", "he", "she", "this", "that", "my", "our", "your", "their", "for", "with", "without",
    "in", "on", "at", "of", "to", "but", "very", "too", "so", "what", "who", "which", "have",
    "has", "had", "be", "been", "never", "nothing", "always", "still", "again", "thanks", "thank",
    "nobody", "from", "after", "where", "by", "more", "less", "well", "also", "do", "does", "did",
    "don't", "can't", "it's", "i'm", "am", "all", "any", "there", "about", "would", "will", "can",
    "could",
];

/// Counts of evidence for each language, for a text's tokens.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Votes {
    pub french: f64,
    pub english: f64,
}

/// Weighs the evidence: a function word is one vote; each accented letter typical of
/// French is half a vote (capped at two), so one accent does not outvote a sentence.
pub fn votes(text: &str) -> Votes {
    let mut v = Votes::default();
    for word in text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
    {
        let lower = word.to_lowercase();
        // French elisions ("l'article", "n'est") vote with their first part.
        let head = match lower.split_once('\'') {
            Some((h, _)) if !h.is_empty() && h.len() <= 6 => h.to_string(),
            _ => lower.clone(),
        };
        if FRENCH.contains(&head.as_str()) || FRENCH.contains(&lower.as_str()) {
            v.french += 1.0;
        }
        if ENGLISH.contains(&lower.as_str()) {
            v.english += 1.0;
        }
    }
    let accents = text
        .chars()
        .filter(|c| "éèêëàâçîïôûùœÉÈÊÀÇ".contains(*c))
        .count()
        .min(4);
    v.french += accents as f64 * 0.5;
    v
}

/// The language of `text`, or `None` when nothing tells them apart.
pub fn detect(text: &str) -> Option<Lang> {
    let v = votes(text);
    if v.french > v.english {
        Some(Lang::Fr)
    } else if v.english > v.french {
        Some(Lang::En)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts() {
        assert_eq!(detect("Livré en retard, très déçu."), Some(Lang::Fr));
        assert_eq!(detect("Not bad at all"), Some(Lang::En));
        assert_eq!(detect("Pas mal du tout"), Some(Lang::Fr));
        assert_eq!(detect("C'est une lampe."), Some(Lang::Fr));
        assert_eq!(detect("It is a lamp."), Some(Lang::En));
        assert_eq!(detect("Génial !"), Some(Lang::Fr));
        assert_eq!(detect("OK"), None);
        assert_eq!(detect(""), None);
    }

    #[test]
    fn parse_codes() {
        assert_eq!(Lang::parse("fr-FR"), Some(Lang::Fr));
        assert_eq!(Lang::parse("EN_gb"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
    }
}
