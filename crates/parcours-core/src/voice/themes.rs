//! Themes: the recurring topics of what customers write, in French and English.
//!
//! Every feedback text is cut into sentences, scored for sentiment, and reduced to its
//! key words and key phrases ([`crate::text::keyphrases`]). Topical key words mentioned
//! by at least `min_mentions` texts are candidate themes, most mentioned first; a
//! candidate whose texts mostly (`merge`, 60% by default) also mention an existing theme's
//! head joins that theme as a keyword ("late" joins "delivery"), otherwise it heads a new
//! theme. Key phrases go to the theme of their words ("late delivery" under
//! "delivery"). Each theme has its mentions, actors, sentiment (of the sentences that
//! mention it), example quotes, trend, and the stages, touchpoints and languages where it
//! occurs. Rules: `docs/semantics.md` ("Themes").

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::feedback::{Feedback, FeedbackOptions, Walker};
use super::scores::Moments;
use crate::frame::Frame;
use crate::journey::Bucket;
use crate::text::keyphrases::extractor;
use crate::text::lexicon::lexicons;
use crate::text::tokens::sentences;
use crate::text::{Lang, Polarity, Scorer};
use crate::time::Micros;

#[derive(Debug, Clone)]
pub struct ThemeOptions {
    pub feedback: FeedbackOptions,
    pub period: Bucket,
    /// Texts a key word (or phrase) needs to count.
    pub min_mentions: u64,
    /// Themes reported, most mentioned first.
    pub limit: usize,
    /// The share of a candidate's texts that must mention a theme's head for the
    /// candidate to join it.
    pub merge: f64,
    /// Example quotes per theme.
    pub quotes: usize,
    /// Actor keys listed per theme (none by default).
    pub actors: usize,
    /// Only the theme with this id, or with a keyword written this way.
    pub theme: Option<String>,
}

impl Default for ThemeOptions {
    fn default() -> Self {
        ThemeOptions {
            feedback: FeedbackOptions::default(),
            period: Bucket::Month,
            min_mentions: 5,
            limit: 20,
            merge: 0.6,
            quotes: 3,
            actors: 0,
            theme: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    pub value: String,
    pub mentions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sentiment {
    /// Mean compound of the sentences that mention the theme, −1…+1.
    pub mean: f64,
    pub polarity: Polarity,
    /// Half-width of the 95% interval; none with a single mention.
    pub margin: Option<f64>,
    /// Shares of mentions whose sentences are positive, negative.
    pub positive_share: f64,
    pub negative_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keyword {
    pub concept: String,
    /// The words customers used, most frequent first, one per language.
    pub label: String,
    pub mentions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phrase {
    pub label: String,
    pub concepts: [String; 2],
    pub mentions: u64,
    pub sentiment: Sentiment,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    /// The sentence as written.
    pub text: String,
    pub language: Lang,
    pub compound: f64,
    /// Feedback texts with this sentence.
    pub count: u64,
    /// The first of them: its actor and time.
    pub actor: String,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub time: Micros,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemePeriod {
    pub period: String,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub start: Micros,
    pub mentions: u64,
    /// Feedback texts of the period.
    pub texts: u64,
    /// `mentions / texts`.
    pub share: f64,
    pub sentiment: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Theme {
    /// The concept heading the theme: a glossary concept, or `LANG:STEM`.
    pub id: String,
    pub label: String,
    /// The head first, then the key words that joined it.
    pub keywords: Vec<Keyword>,
    /// Feedback texts that mention it.
    pub mentions: u64,
    pub actors: u64,
    /// `mentions` over all feedback texts.
    pub share: f64,
    pub sentiment: Sentiment,
    /// Its key phrases, most mentioned first.
    pub phrases: Vec<Phrase>,
    pub quotes: Vec<Quote>,
    /// Every period from the first feedback text to the last.
    pub trend: Vec<ThemePeriod>,
    pub stages: Vec<Count>,
    pub touchpoints: Vec<Count>,
    pub languages: Vec<Count>,
    /// Keys of the actors who mention it (when asked, up to the limit asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_keys: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeReport {
    /// Feedback events with a text.
    pub texts: u64,
    /// Of which mention at least one of the themes reported.
    pub covered: u64,
    pub languages: Vec<Count>,
    pub themes: Vec<Theme>,
}

/// One distinct text (with its language) and what it says.
struct TextInfo {
    lang: Lang,
    /// Sentences: as written, compound.
    sentences: Vec<(String, f64)>,
    /// Concept id → the sentences mentioning it.
    concepts: Vec<(u32, Vec<u16>)>,
    /// Pair id → the sentences mentioning it.
    pairs: Vec<(u32, Vec<u16>)>,
    /// Feedback events with this text.
    events: Vec<u32>,
}

struct Event {
    actor: usize,
    ts: Micros,
    stage: u32,
    touchpoint: u32,
}

#[derive(Default)]
struct Concept {
    name: String,
    topical: bool,
    /// (language, surface) → occurrences.
    surfaces: HashMap<(Lang, String), u64>,
    /// Distinct texts mentioning it, in order.
    texts: Vec<u32>,
    mentions: u64,
}

/// A key phrase: its two concepts, its surfaces, its texts and mentions.
struct Pair {
    concepts: (u32, u32),
    surfaces: HashMap<(Lang, String), u64>,
    texts: Vec<u32>,
    mentions: u64,
}

#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(s.to_string(), id);
        self.names.push(s.to_string());
        id
    }
}

/// Sentiments of mentions: their mean and margin, and how many were positive, negative.
#[derive(Default, Clone)]
struct Tone {
    moments: Moments,
    positive: u64,
    negative: u64,
}

impl Tone {
    fn add(&mut self, v: f64) {
        self.moments.add(v);
        match Polarity::of(v) {
            Polarity::Positive => self.positive += 1,
            Polarity::Negative => self.negative += 1,
            Polarity::Neutral => {}
        }
    }

    fn sentiment(&self) -> Sentiment {
        let n = self.moments.n.max(1) as f64;
        let mean = self.moments.mean();
        Sentiment {
            mean,
            polarity: Polarity::of(mean),
            margin: self.moments.margin(),
            positive_share: self.positive as f64 / n,
            negative_share: self.negative as f64 / n,
        }
    }
}

/// The words customers used for a concept: the most frequent surface per language,
/// the most frequent language first ("livraison / delivery").
fn label(surfaces: &HashMap<(Lang, String), u64>) -> String {
    let mut best: HashMap<Lang, (&str, u64, u64)> = HashMap::new();
    for ((lang, s), &n) in surfaces {
        let e = best.entry(*lang).or_insert((s, 0, 0));
        e.2 += n;
        if n > e.1 || (n == e.1 && s.as_str() < e.0) {
            (e.0, e.1) = (s, n);
        }
    }
    let mut langs: Vec<(Lang, (&str, u64, u64))> = best.into_iter().collect();
    langs.sort_by(|a, b| b.1 .2.cmp(&a.1 .2).then(a.0.cmp(&b.0)));
    let mut words: Vec<&str> = Vec::new();
    for (_, (s, _, _)) in langs {
        if !words.contains(&s) {
            words.push(s);
        }
    }
    words.join(" / ")
}

fn sorted_counts(m: HashMap<u32, u64>, names: &[String]) -> Vec<Count> {
    let mut v: Vec<Count> = m
        .into_iter()
        .map(|(k, n)| Count {
            value: names[k as usize].clone(),
            mentions: n,
        })
        .collect();
    v.sort_by(|a, b| b.mentions.cmp(&a.mentions).then(a.value.cmp(&b.value)));
    v
}

/// Weighted size of the intersection of two sorted lists of texts.
fn overlap(a: &[u32], b: &[u32], weight: &[u64]) -> u64 {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += weight[a[i] as usize];
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// The themes of the feedback texts of the actors `keep`s.
pub fn theme_report(frame: &Frame, opts: &ThemeOptions, keep: Option<&[bool]>) -> ThemeReport {
    let values = frame.values();
    let walker = Walker::new(frame, &opts.feedback);
    let (mut stages, mut touchpoints) = (Interner::default(), Interner::default());
    let mut events: Vec<Event> = Vec::new();
    let mut text_index: HashMap<(u32, Option<Lang>), u32> = HashMap::new();
    let mut raw: Vec<(u32, Option<Lang>)> = Vec::new();
    let mut text_events: Vec<Vec<u32>> = Vec::new();
    walker.walk(keep, |fb: &Feedback| {
        let Some(id) = fb.text else { return };
        let t = *text_index.entry((id, fb.lang)).or_insert_with(|| {
            raw.push((id, fb.lang));
            text_events.push(Vec::new());
            (raw.len() - 1) as u32
        });
        text_events[t as usize].push(events.len() as u32);
        events.push(Event {
            actor: fb.actor,
            ts: frame.ts()[fb.row],
            stage: stages.id(&walker.stage(fb)),
            touchpoint: touchpoints.id(&walker.touchpoint(fb)),
        });
    });

    // Analyse each distinct text once.
    let scorer = Scorer::new();
    let ex = extractor();
    let lex = lexicons();
    let mut concepts: Vec<Concept> = Vec::new();
    let mut concept_ids: HashMap<String, u32> = HashMap::new();
    let mut pairs: Vec<Pair> = Vec::new();
    let mut pair_ids: HashMap<(u32, u32), u32> = HashMap::new();
    let mut texts: Vec<TextInfo> = Vec::with_capacity(raw.len());
    for (t, ((id, lang), evs)) in raw.iter().zip(text_events).enumerate() {
        let text = match values.value(*id) {
            serde_json::Value::String(s) => s.as_str(),
            _ => "",
        };
        let weight = evs.len() as u64;
        let score = scorer.score(text, *lang);
        let language = score.language;
        let sents = sentences(text, language, &|s| lex.is_emoticon(s));
        let mut info = TextInfo {
            lang: language,
            sentences: score
                .sentences
                .iter()
                .map(|s| (s.text.clone(), s.compound))
                .collect(),
            concepts: Vec::new(),
            pairs: Vec::new(),
            events: evs,
        };
        for (si, sentence) in sents.iter().enumerate().take(u16::MAX as usize) {
            let words = ex.key_words(sentence, language);
            for w in &words {
                let cid = *concept_ids.entry(w.concept.clone()).or_insert_with(|| {
                    concepts.push(Concept {
                        name: w.concept.clone(),
                        ..Concept::default()
                    });
                    (concepts.len() - 1) as u32
                });
                let c = &mut concepts[cid as usize];
                c.topical |= w.topical;
                *c.surfaces.entry((language, w.surface.clone())).or_default() += weight;
                match info.concepts.iter_mut().find(|(k, _)| *k == cid) {
                    Some((_, s)) => {
                        if s.last() != Some(&(si as u16)) {
                            s.push(si as u16)
                        }
                    }
                    None => info.concepts.push((cid, vec![si as u16])),
                }
            }
            for p in ex.key_phrases(sentence, &words) {
                let key = (concept_ids[&p.concepts.0], concept_ids[&p.concepts.1]);
                let pid = *pair_ids.entry(key).or_insert_with(|| {
                    pairs.push(Pair {
                        concepts: key,
                        surfaces: HashMap::new(),
                        texts: Vec::new(),
                        mentions: 0,
                    });
                    (pairs.len() - 1) as u32
                });
                *pairs[pid as usize]
                    .surfaces
                    .entry((language, p.surface))
                    .or_default() += weight;
                match info.pairs.iter_mut().find(|(k, _)| *k == pid) {
                    Some((_, s)) => {
                        if s.last() != Some(&(si as u16)) {
                            s.push(si as u16)
                        }
                    }
                    None => info.pairs.push((pid, vec![si as u16])),
                }
            }
        }
        for (cid, _) in &info.concepts {
            let c = &mut concepts[*cid as usize];
            c.texts.push(t as u32);
            c.mentions += weight;
        }
        for (pid, _) in &info.pairs {
            let p = &mut pairs[*pid as usize];
            p.texts.push(t as u32);
            p.mentions += weight;
        }
        texts.push(info);
    }
    let weight: Vec<u64> = texts.iter().map(|t| t.events.len() as u64).collect();

    // Candidates, most mentioned first; each joins a theme or heads a new one.
    let mut candidates: Vec<u32> = (0..concepts.len() as u32)
        .filter(|&c| {
            let c = &concepts[c as usize];
            c.topical && c.mentions >= opts.min_mentions.max(1)
        })
        .collect();
    candidates.sort_by(|&a, &b| {
        let (a, b) = (&concepts[a as usize], &concepts[b as usize]);
        b.mentions.cmp(&a.mentions).then(a.name.cmp(&b.name))
    });
    let mut heads: Vec<Vec<u32>> = Vec::new(); // theme → its concepts, head first
    let mut theme_of: HashMap<u32, usize> = HashMap::new();
    for c in candidates {
        let cc = &concepts[c as usize];
        let joins = heads.iter().position(|members| {
            let head = &concepts[members[0] as usize];
            overlap(&cc.texts, &head.texts, &weight) as f64 >= opts.merge * cc.mentions as f64
        });
        match joins {
            Some(t) => {
                heads[t].push(c);
                theme_of.insert(c, t);
            }
            None => {
                theme_of.insert(c, heads.len());
                heads.push(vec![c]);
            }
        }
    }

    // Per theme: mentions, sentiment, where, when, who, quotes.
    struct Acc {
        tone: Tone,
        actors: HashSet<usize>,
        stages: HashMap<u32, u64>,
        touchpoints: HashMap<u32, u64>,
        languages: HashMap<Lang, u64>,
        periods: HashMap<i64, Moments>,
        /// Sentence → (count, compound, language, first event).
        quotes: HashMap<String, (u64, f64, Lang, u32)>,
    }
    let mut accs: Vec<Acc> = (0..heads.len())
        .map(|_| Acc {
            tone: Tone::default(),
            actors: HashSet::new(),
            stages: HashMap::new(),
            touchpoints: HashMap::new(),
            languages: HashMap::new(),
            periods: HashMap::new(),
            quotes: HashMap::new(),
        })
        .collect();
    let mut texts_by_period: HashMap<i64, u64> = HashMap::new();
    let mut languages: HashMap<Lang, u64> = HashMap::new();
    let mut mentioning: Vec<Vec<usize>> = Vec::with_capacity(texts.len());
    for info in &texts {
        for &e in &info.events {
            *texts_by_period
                .entry(opts.period.index(events[e as usize].ts))
                .or_default() += 1;
        }
        *languages.entry(info.lang).or_default() += info.events.len() as u64;
        // The sentences of this text mentioning each theme.
        let mut by_theme: HashMap<usize, Vec<u16>> = HashMap::new();
        for (cid, sents) in &info.concepts {
            if let Some(&t) = theme_of.get(cid) {
                let s = by_theme.entry(t).or_default();
                s.extend(sents);
            }
        }
        let mut themes_here: Vec<usize> = by_theme.keys().copied().collect();
        themes_here.sort_unstable();
        for (t, mut sents) in by_theme {
            sents.sort_unstable();
            sents.dedup();
            let v = sents
                .iter()
                .map(|&s| info.sentences[s as usize].1)
                .sum::<f64>()
                / sents.len() as f64;
            let acc = &mut accs[t];
            for &e in &info.events {
                let ev = &events[e as usize];
                acc.tone.add(v);
                acc.actors.insert(ev.actor);
                *acc.stages.entry(ev.stage).or_default() += 1;
                *acc.touchpoints.entry(ev.touchpoint).or_default() += 1;
                acc.periods
                    .entry(opts.period.index(ev.ts))
                    .or_default()
                    .add(v);
            }
            *acc.languages.entry(info.lang).or_default() += info.events.len() as u64;
            let first = info
                .events
                .iter()
                .copied()
                .min_by_key(|&e| (events[e as usize].ts, e))
                .expect("a text comes from an event");
            for &s in &sents {
                let (text, compound) = &info.sentences[s as usize];
                let q = acc
                    .quotes
                    .entry(text.clone())
                    .or_insert((0, *compound, info.lang, first));
                q.0 += info.events.len() as u64;
                if events[first as usize].ts < events[q.3 as usize].ts {
                    q.3 = first;
                }
            }
        }
        mentioning.push(themes_here);
    }
    let total: u64 = weight.iter().sum();
    let span = (!texts_by_period.is_empty()).then(|| {
        let lo = *texts_by_period.keys().min().unwrap_or(&0);
        let hi = *texts_by_period.keys().max().unwrap_or(&0);
        lo..=hi
    });

    let mut themes: Vec<(usize, Theme)> = accs
        .into_iter()
        .enumerate()
        .map(|(t, acc)| {
            let members = &heads[t];
            let keywords: Vec<Keyword> = members
                .iter()
                .map(|&c| {
                    let c = &concepts[c as usize];
                    Keyword {
                        concept: c.name.clone(),
                        label: label(&c.surfaces),
                        mentions: c.mentions,
                    }
                })
                .collect();
            let sentiment = acc.tone.sentiment();
            let mut phrases: Vec<(Phrase, &Vec<u32>)> = pairs
                .iter()
                .enumerate()
                .filter(|(_, p)| p.mentions >= opts.min_mentions.max(1))
                .filter(|(_, p)| {
                    // A phrase belongs to the first theme (by mentions) of its words.
                    let (a, b) = (theme_of.get(&p.concepts.0), theme_of.get(&p.concepts.1));
                    let owner = match (a, b) {
                        (Some(&x), Some(&y)) => Some(x.min(y)),
                        (Some(&x), None) | (None, Some(&x)) => Some(x),
                        (None, None) => None,
                    };
                    owner == Some(t)
                })
                .map(|(pid, p)| {
                    let mut m = Tone::default();
                    for &ti in &p.texts {
                        let info = &texts[ti as usize];
                        let (_, sents) = info
                            .pairs
                            .iter()
                            .find(|(k, _)| *k == pid as u32)
                            .expect("the text lists the pair");
                        let v = sents
                            .iter()
                            .map(|&s| info.sentences[s as usize].1)
                            .sum::<f64>()
                            / sents.len() as f64;
                        for _ in 0..info.events.len() {
                            m.add(v);
                        }
                    }
                    let phrase = Phrase {
                        label: label(&p.surfaces),
                        concepts: [
                            concepts[p.concepts.0 as usize].name.clone(),
                            concepts[p.concepts.1 as usize].name.clone(),
                        ],
                        mentions: p.mentions,
                        sentiment: m.sentiment(),
                    };
                    (phrase, &p.texts)
                })
                .collect();
            // Most mentioned first, those with a keyword of the theme first among equals;
            // a phrase found in exactly the same texts as one before it adds nothing
            // ("accueil chaleureux", "chaleureux en boutique").
            let in_theme = |p: &Phrase| {
                p.concepts
                    .iter()
                    .filter(|c| keywords.iter().any(|k| &k.concept == *c))
                    .count()
            };
            phrases.sort_by(|(a, _), (b, _)| {
                b.mentions
                    .cmp(&a.mentions)
                    .then(in_theme(b).cmp(&in_theme(a)))
                    .then(a.label.cmp(&b.label))
            });
            let mut seen: Vec<&Vec<u32>> = Vec::new();
            let mut phrases: Vec<Phrase> = phrases
                .into_iter()
                .filter(|(_, texts)| {
                    let new = !seen.contains(texts);
                    seen.push(texts);
                    new
                })
                .map(|(p, _)| p)
                .collect();
            phrases.truncate(10);
            // Quotes in the theme's tone first, then the most repeated.
            let tone = sentiment.polarity;
            let mut quotes: Vec<Quote> = acc
                .quotes
                .into_iter()
                .map(|(text, (count, compound, language, first))| {
                    let ev = &events[first as usize];
                    Quote {
                        text,
                        language,
                        compound,
                        count,
                        actor: frame.actor_key(ev.actor).to_string(),
                        time: ev.ts,
                    }
                })
                .collect();
            quotes.sort_by(|a, b| {
                let fits = |q: &Quote| Polarity::of(q.compound) == tone;
                fits(b)
                    .cmp(&fits(a))
                    .then(b.count.cmp(&a.count))
                    .then(b.compound.abs().total_cmp(&a.compound.abs()))
                    .then(a.text.cmp(&b.text))
            });
            quotes.truncate(opts.quotes);
            let trend = span
                .clone()
                .into_iter()
                .flatten()
                .map(|p| {
                    let m = acc.periods.get(&p);
                    let n = texts_by_period.get(&p).copied().unwrap_or(0);
                    let mentions = m.map_or(0, |m| m.n);
                    ThemePeriod {
                        period: opts.period.label_of(p),
                        start: opts.period.start(p),
                        mentions,
                        texts: n,
                        share: if n == 0 {
                            0.0
                        } else {
                            mentions as f64 / n as f64
                        },
                        sentiment: m.map(Moments::mean),
                    }
                })
                .collect();
            let actor_keys = (opts.actors > 0).then(|| {
                let mut keys: Vec<String> = acc
                    .actors
                    .iter()
                    .map(|&a| frame.actor_key(a).to_string())
                    .collect();
                keys.sort();
                keys.truncate(opts.actors);
                keys
            });
            let mentions = acc.tone.moments.n;
            let theme = Theme {
                id: keywords[0].concept.clone(),
                label: keywords[0].label.clone(),
                keywords,
                mentions,
                actors: acc.actors.len() as u64,
                share: if total == 0 {
                    0.0
                } else {
                    mentions as f64 / total as f64
                },
                sentiment,
                phrases,
                quotes,
                trend,
                stages: sorted_counts(acc.stages, &stages.names),
                touchpoints: sorted_counts(acc.touchpoints, &touchpoints.names),
                languages: lang_counts(acc.languages),
                actor_keys,
            };
            (t, theme)
        })
        .collect();
    themes.sort_by(|a, b| b.1.mentions.cmp(&a.1.mentions).then(a.1.id.cmp(&b.1.id)));
    themes.truncate(opts.limit);
    if let Some(wanted) = opts.theme.as_deref().map(str::to_lowercase) {
        themes.retain(|(_, th)| {
            th.id.to_lowercase() == wanted
                || th
                    .keywords
                    .iter()
                    .any(|k| k.label.split(" / ").any(|w| w.to_lowercase() == wanted))
        });
    }
    let reported: HashSet<usize> = themes.iter().map(|(t, _)| *t).collect();
    let covered = texts
        .iter()
        .zip(&mentioning)
        .filter(|(_, m)| m.iter().any(|t| reported.contains(t)))
        .map(|(info, _)| info.events.len() as u64)
        .sum();
    ThemeReport {
        texts: total,
        covered,
        languages: lang_counts(languages),
        themes: themes.into_iter().map(|(_, th)| th).collect(),
    }
}

fn lang_counts(m: HashMap<Lang, u64>) -> Vec<Count> {
    let mut v: Vec<Count> = m
        .into_iter()
        .map(|(l, n)| Count {
            value: l.code().to_string(),
            mentions: n,
        })
        .collect();
    v.sort_by(|a, b| b.mentions.cmp(&a.mentions).then(a.value.cmp(&b.value)));
    v
}
