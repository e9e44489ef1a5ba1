//! Sentences and tokens, keeping what sentiment needs: capitals, emojis, emoticons,
//! clause boundaries (commas, semicolons, colons) and French elisions split off
//! ("n'est" → "n'", "est"), so "ne … pas" can be seen.

use super::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Word,
    Emoji,
    Emoticon,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Lower-cased, with typographic apostrophes made straight.
    pub text: String,
    /// Written in capitals (two letters or more, all upper case).
    pub caps: bool,
    pub kind: Kind,
    /// Index of the clause inside the sentence: commas, semicolons and colons start a
    /// new one. Negations and intensifiers do not reach across clauses.
    pub clause: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    /// The sentence as written, trimmed.
    pub text: String,
    pub tokens: Vec<Token>,
    pub exclamations: u32,
    pub questions: u32,
}

/// French elided articles and pronouns: "l'", "d'", "j'", "n'", "qu'"…
const ELISIONS: &[&str] = &[
    "l", "d", "j", "n", "m", "t", "s", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu",
];

pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F300..=0x1FAFF | 0x2600..=0x27BF | 0x1F000..=0x1F2FF | 0x2B50 | 0x2B55)
}

fn normalise_apostrophes(s: &str) -> String {
    s.replace(['\u{2019}', '\u{2018}', '`', '\u{02BC}'], "'")
}

/// Cuts `text` into sentences at `.`, `!`, `?`, `…` and line breaks. A full stop ends a
/// sentence only before a space or the end (so "2.5" stays whole); a run of `!`/`?` is
/// counted for emphasis; a piece with no word (a trailing "😍") joins the sentence before.
/// `is_emoticon` says whether a whitespace-separated chunk is an emoticon (`:-)`).
pub fn sentences(text: &str, lang: Lang, is_emoticon: &dyn Fn(&str) -> bool) -> Vec<Sentence> {
    let text = normalise_apostrophes(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Sentence> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let ends = match c {
            '!' | '?' | '…' | '\n' => true,
            '.' => chars
                .get(i + 1)
                .is_none_or(|n| n.is_whitespace() || *n == '.'),
            _ => false,
        };
        if !ends {
            i += 1;
            continue;
        }
        // Swallow the whole run of terminal punctuation ("?!", "...", "!!!").
        let mut j = i;
        while j < chars.len() && matches!(chars[j], '!' | '?' | '.' | '…' | '\n') {
            j += 1;
        }
        push_sentence(&mut out, &chars[start..j], lang, is_emoticon);
        start = j;
        i = j;
    }
    if start < chars.len() {
        push_sentence(&mut out, &chars[start..], lang, is_emoticon);
    }
    out
}

fn push_sentence(
    out: &mut Vec<Sentence>,
    chars: &[char],
    lang: Lang,
    is_emoticon: &dyn Fn(&str) -> bool,
) {
    let raw: String = chars.iter().collect();
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return;
    }
    let exclamations = chars.iter().filter(|&&c| c == '!').count() as u32;
    let questions = chars.iter().filter(|&&c| c == '?').count() as u32;
    let tokens = tokenize_normalised(trimmed, lang, is_emoticon);
    let has_word = tokens.iter().any(|t| t.kind == Kind::Word);
    match out.last_mut() {
        Some(prev) if !has_word => {
            prev.text.push(' ');
            prev.text.push_str(trimmed);
            let clause = prev.tokens.last().map_or(0, |t| t.clause);
            prev.tokens.extend(tokens.into_iter().map(|mut t| {
                t.clause = clause;
                t
            }));
            prev.exclamations += exclamations;
            prev.questions += questions;
        }
        _ => out.push(Sentence {
            text: trimmed.to_string(),
            tokens,
            exclamations,
            questions,
        }),
    }
}

/// The tokens of one sentence.
pub fn tokenize(text: &str, lang: Lang, is_emoticon: &dyn Fn(&str) -> bool) -> Vec<Token> {
    tokenize_normalised(&normalise_apostrophes(text), lang, is_emoticon)
}

/// [`tokenize`] on text whose apostrophes are already straight.
fn tokenize_normalised(text: &str, lang: Lang, is_emoticon: &dyn Fn(&str) -> bool) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut clause: u16 = 0;
    for chunk in text.split_whitespace() {
        let bare = chunk.trim_end_matches([',', ';', '.', '!', '?']);
        if !bare.is_empty() && bare.chars().any(|c| !c.is_alphanumeric()) && is_emoticon(bare) {
            tokens.push(Token {
                text: bare.to_lowercase(),
                caps: false,
                kind: Kind::Emoticon,
                clause,
            });
            if bare.len() < chunk.len() && chunk[bare.len()..].contains([',', ';']) {
                clause = clause.saturating_add(1);
            }
            continue;
        }
        let mut word = String::new();
        for c in chunk.chars() {
            if c.is_alphanumeric() || ((c == '\'' || c == '-') && !word.is_empty()) {
                word.push(c);
                continue;
            }
            flush_word(&mut tokens, &mut word, lang, clause);
            if is_emoji(c) {
                tokens.push(Token {
                    text: c.to_string(),
                    caps: false,
                    kind: Kind::Emoji,
                    clause,
                });
            } else if matches!(c, ',' | ';' | ':' | '(' | ')') {
                clause = clause.saturating_add(1);
            }
        }
        flush_word(&mut tokens, &mut word, lang, clause);
    }
    tokens
}

fn flush_word(tokens: &mut Vec<Token>, word: &mut String, lang: Lang, clause: u16) {
    let w = word.trim_end_matches(['\'', '-']);
    if w.is_empty() {
        word.clear();
        return;
    }
    let letters: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).collect();
    let caps = letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase());
    let lower = w.to_lowercase();
    let mut push = |text: &str| {
        tokens.push(Token {
            text: text.to_string(),
            caps,
            kind: Kind::Word,
            clause,
        })
    };
    match lower.split_once('\'') {
        Some((head, rest)) if lang == Lang::Fr && !rest.is_empty() && ELISIONS.contains(&head) => {
            push(&format!("{head}'"));
            push(rest);
        }
        _ => push(&lower),
    }
    word.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, lang: Lang) -> Vec<String> {
        tokenize(text, lang, &|s| s == ":-)" || s == ":(")
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn french_elisions_and_apostrophes() {
        assert_eq!(
            words("Ce n’est pas l'article qu'il m'a vendu", Lang::Fr),
            ["ce", "n'", "est", "pas", "l'", "article", "qu'", "il", "m'", "a", "vendu"]
        );
        assert_eq!(
            words("I don't like it", Lang::En),
            ["i", "don't", "like", "it"]
        );
    }

    #[test]
    fn emojis_emoticons_caps_and_clauses() {
        let t = tokenize("GREAT lamp😍, thanks :-)", Lang::En, &|s| s == ":-)");
        let kinds: Vec<_> = t
            .iter()
            .map(|t| (t.text.as_str(), t.caps, t.kind, t.clause))
            .collect();
        assert_eq!(
            kinds,
            [
                ("great", true, Kind::Word, 0),
                ("lamp", false, Kind::Word, 0),
                ("😍", false, Kind::Emoji, 0),
                ("thanks", false, Kind::Word, 1),
                (":-)", false, Kind::Emoticon, 1),
            ]
        );
    }

    #[test]
    fn sentence_boundaries() {
        let s = sentences(
            "Livré le 2.5 fois plus vite. Super !!! 😍\nMerci...",
            Lang::Fr,
            &|_| false,
        );
        let texts: Vec<_> = s.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            ["Livré le 2.5 fois plus vite.", "Super !!! 😍", "Merci..."]
        );
        assert_eq!(s[1].exclamations, 3);
        assert_eq!(s[1].tokens.len(), 2);
    }
}
