//! Frictions: what gets in customers' way, detected from the events and ranked by the
//! revenue at stake.
//!
//! Rules, each documented in `docs/semantics.md` ("Frictions"):
//!
//! - **abandonment** — checkouts (and carts) not followed by a purchase, in a segment
//!   (by default the device type) that abandons far more than the others, or above a
//!   target rate;
//! - **repeat contact** — two or more support contacts within a few days;
//! - **high effort / low satisfaction** — touchpoints whose CES (or CSAT) answers are
//!   mostly hard (dissatisfied);
//! - **slow resolution** — a ticket (a return) resolved later than the target;
//! - **negative theme** — a theme of customers' texts that is mostly negative;
//! - **drop-off** and **long dwell** between two stages of a journey, against the
//!   journey's own history or its targets ([`stages`]);
//! - **loop** — going back and forth between two touchpoints, when those who do it
//!   convert less than those who visit both without ([`loops`]).
//!
//! Each friction names its stage and touchpoint, the actors affected, the revenue at
//! stake with the method used, a trend, and its evidence: the actors, the quotes, and
//! the figures that make it abnormal.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::feedback::{FeedbackOptions, Walker};
use super::scores::Scale;
use super::surveys::ScaleLookup;
use super::themes::{theme_report, ThemeOptions};
use crate::frame::{is_bookkeeping, Frame};
use crate::journey::{Bucket, JourneyDef};
use crate::stats::{human, quantile};
use crate::text::{Lang, Scorer};
use crate::time::{Micros, MICROS_PER_DAY, MICROS_PER_SECOND};

mod loops;
mod stages;

/// "Start, then a success within the window": a checkout or a cart.
#[derive(Debug, Clone)]
pub struct Abandonment {
    /// `checkout` or `cart`.
    pub name: String,
    pub start: String,
    pub success: String,
    pub window: Micros,
    /// A rate above which the whole rule is a friction (none: segments only).
    pub target: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct FrictionOptions {
    pub feedback: FeedbackOptions,
    /// The property holding an order's revenue (normalised at ingestion).
    pub revenue: String,
    pub abandonment: Vec<Abandonment>,
    /// The property (or `context.` path) splitting abandonment into segments.
    pub segment_by: String,
    /// Events that are a customer contacting support (outbound ones excepted: a
    /// `direction` property of `outbound`). Closing events ("Ticket Resolved", "Chat
    /// Ended") are not contacts.
    pub contact_events: Vec<String>,
    pub contact_window: Micros,
    pub min_contacts: usize,
    /// Opening and closing events of a case, and the target time between them.
    pub resolutions: Vec<(String, String)>,
    pub resolution_target: Micros,
    /// Share of hard CES answers (1–3) or dissatisfied CSAT answers (1–2) at a
    /// touchpoint above which it is a friction.
    pub low_score_share: f64,
    /// A theme is a friction from this mean sentiment down, or from this share of
    /// negative mentions up.
    pub negative_sentiment: f64,
    pub negative_share: f64,
    /// Event properties that label evidence ("Order Shipped · carrier=ColisExpress").
    pub evidence_properties: Vec<String>,
    /// The journey whose stages are checked for abnormal drop-off and long dwell.
    pub journey: Option<JourneyDef>,
    /// The event that is a conversion, for loops (those who loop convert less).
    pub conversion: String,
    /// Frictions affecting fewer actors are left out.
    pub min_actors: u64,
    pub period: Bucket,
    /// Actor keys listed per friction.
    pub actors: usize,
    pub quotes: usize,
}

impl Default for FrictionOptions {
    fn default() -> Self {
        FrictionOptions {
            feedback: FeedbackOptions::default(),
            revenue: "$revenue".into(),
            abandonment: vec![
                Abandonment {
                    name: "checkout".into(),
                    start: "Checkout Started".into(),
                    success: "Order Completed".into(),
                    window: MICROS_PER_DAY,
                    target: None,
                },
                Abandonment {
                    name: "cart".into(),
                    start: "Product Added".into(),
                    success: "Order Completed".into(),
                    window: 7 * MICROS_PER_DAY,
                    target: None,
                },
            ],
            segment_by: "context.device.type".into(),
            contact_events: vec![
                "Ticket Opened".into(),
                "Call Completed".into(),
                "Chat Started".into(),
            ],
            contact_window: 7 * MICROS_PER_DAY,
            min_contacts: 2,
            resolutions: vec![
                ("Ticket Opened".into(), "Ticket Resolved".into()),
                ("Return Requested".into(), "Refund Issued".into()),
            ],
            resolution_target: 3 * MICROS_PER_DAY,
            low_score_share: 0.4,
            negative_sentiment: -0.2,
            negative_share: 0.5,
            evidence_properties: vec!["reason".into(), "category".into(), "carrier".into()],
            journey: None,
            conversion: "Order Completed".into(),
            min_actors: 5,
            period: Bucket::Month,
            actors: 20,
            quotes: 3,
        }
    }
}

impl FrictionOptions {
    /// The event properties the report reads.
    pub fn properties(&self) -> Vec<String> {
        let mut p = self.feedback.properties();
        p.extend([
            self.revenue.clone(),
            self.segment_by.clone(),
            "direction".into(),
            "value".into(),
        ]);
        p.extend(self.evidence_properties.iter().cloned());
        if let Some(def) = &self.journey {
            p.extend(def.properties());
        }
        p.sort();
        p.dedup();
        p
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    /// What is measured: "abandonment rate", "hard CES answers", "p90 time to resolve".
    pub name: String,
    pub value: f64,
    /// The same measure elsewhere (other segments, other touchpoints), when compared.
    pub baseline: Option<f64>,
    pub target: Option<f64>,
    /// `share`, `seconds`, `sentiment` or `contacts`.
    pub unit: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detail {
    pub label: String,
    pub count: u64,
    /// Of the friction's cases.
    pub share: f64,
    /// How much more often than among all actors (where it applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lift: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    pub text: String,
    pub compound: f64,
    pub actor: String,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub time: Micros,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrictionPeriod {
    pub period: String,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub start: Micros,
    /// Cases of the friction in the period.
    pub cases: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Friction {
    pub rank: usize,
    /// `abandonment`, `repeat_contact`, `high_effort`, `low_satisfaction`,
    /// `slow_resolution`, `negative_theme`, `drop_off`, `long_dwell`, `loop`.
    pub kind: &'static str,
    pub title: String,
    pub stage: String,
    pub touchpoint: String,
    /// Occurrences: abandoned attempts, contact bursts, answers, cases, mentions.
    pub cases: u64,
    pub actors: u64,
    pub revenue_at_stake: f64,
    /// How `revenue_at_stake` was estimated.
    pub method: String,
    pub measure: Measure,
    pub trend: Vec<FrictionPeriod>,
    /// The figures behind it: last events before abandoning, what preceded contacts…
    pub details: Vec<Detail>,
    pub quotes: Vec<Quote>,
    /// Up to `actors` affected actors (all of them are counted in `actors`).
    pub actor_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrictionReport {
    /// Revenue of all actors in the period, for scale.
    pub revenue: f64,
    /// Mean revenue of an order, used where a lost order has no value of its own.
    pub mean_order_value: Option<f64>,
    pub frictions: Vec<Friction>,
    /// What could not be checked, and why (a journey that does not fit the data…).
    pub warnings: Vec<String>,
}

/// A friction before ranking: its cases as (actor, row) pairs.
struct Found {
    kind: &'static str,
    title: String,
    stage: String,
    touchpoint: String,
    cases: Vec<(usize, usize)>,
    revenue_at_stake: Option<f64>,
    method: String,
    measure: Measure,
    details: Vec<Detail>,
    quotes: Vec<Quote>,
}

struct Ctx<'a> {
    frame: &'a Frame,
    opts: &'a FrictionOptions,
    keep: Option<&'a [bool]>,
    /// Event name id → stage.
    stage_of: HashMap<u32, &'a str>,
    /// Revenue per actor in the period.
    revenue: Vec<f64>,
    orders: (u64, f64),
    /// The evidence properties the frame carries, with their columns.
    evidence: Vec<(&'a str, &'a [u32])>,
    /// The negative sentences (text, compound) of each distinct text scored so far:
    /// frictions share the actors, so quotes score a text once for all of them.
    negative_sentences: RefCell<HashMap<(u32, Option<Lang>), NegativeSentences>>,
}

type NegativeSentences = Vec<(String, f64)>;

impl<'a> Ctx<'a> {
    fn kept(&self, a: usize) -> bool {
        self.keep.is_none_or(|k| k[a])
    }

    fn in_range(&self, ts: Micros) -> bool {
        let f = &self.opts.feedback;
        !(f.from.is_some_and(|x| ts < x) || f.to.is_some_and(|x| ts >= x))
    }

    fn rows(&self, a: usize) -> impl Iterator<Item = usize> + '_ {
        let kinds = self.frame.kind();
        self.frame
            .actor_range(a)
            .filter(move |&i| !is_bookkeeping(kinds[i]))
    }

    /// The stage of row `i`: its event's stage, else that of the actor's latest event
    /// before it with a stage.
    fn stage_at(&self, a: usize, i: usize) -> String {
        let names = self.frame.name();
        let start = self.frame.actor_range(a).start;
        (start..=i)
            .rev()
            .find_map(|j| self.stage_of.get(&names[j]))
            .map_or_else(|| "(none)".to_string(), |s| s.to_string())
    }

    fn name(&self, i: usize) -> &str {
        self.frame.names().name(self.frame.name()[i])
    }

    fn touchpoint(&self, i: usize) -> &str {
        self.frame.touchpoints().name(self.frame.touchpoint()[i])
    }

    /// The event at row `i` with its evidence properties: "Payment Failed ·
    /// reason=3ds_timeout".
    fn evidence_label(&self, i: usize) -> String {
        let values = self.frame.values();
        let mut s = self.name(i).to_string();
        for (k, col) in &self.evidence {
            if !values.value(col[i]).is_null() {
                s.push_str(&format!(" · {k}={}", values.label(col[i])));
            }
        }
        s
    }

    /// Where an actor left after row `at`: the last of the rows `after` (in order) in the
    /// session `at` is in (events at most 30 minutes apart) — not a reminder sent later.
    /// Answering a survey is not where one leaves: survey answers are skipped.
    fn left_at(&self, at: usize, after: impl IntoIterator<Item = usize>) -> usize {
        let (names, ts) = (self.frame.name(), self.frame.ts());
        let survey = self.frame.names().get(&self.opts.feedback.fields.event);
        let mut last = at;
        for j in after {
            if Some(names[j]) == survey {
                continue;
            }
            if ts[j] - ts[last] > SESSION_GAP {
                break;
            }
            last = j;
        }
        last
    }

    /// Each actor's revenue in the period, and the orders (count, sum) it comes from.
    fn revenue_by_actor(&self) -> (Vec<f64>, (u64, f64)) {
        let frame = self.frame;
        let mut revenue = vec![0.0; frame.actor_count()];
        let mut orders = (0, 0.0);
        let Some(col) = frame.property(&self.opts.revenue) else {
            return (revenue, orders);
        };
        let (values, ts) = (frame.values(), frame.ts());
        for (a, r) in revenue.iter_mut().enumerate() {
            if !self.kept(a) {
                continue;
            }
            for i in self.rows(a).filter(|&i| self.in_range(ts[i])) {
                if let Some(x) = values.number(col[i]) {
                    *r += x;
                    orders.0 += 1;
                    orders.1 += x;
                }
            }
        }
        (revenue, orders)
    }

    fn mean_order_value(&self) -> Option<f64> {
        (self.orders.0 > 0).then(|| self.orders.1 / self.orders.0 as f64)
    }

    /// Summed in actor order, so that equal sets give bit-equal sums (ties rank the
    /// same way on every run).
    fn exposed(&self, actors: &BTreeSet<usize>) -> f64 {
        actors.iter().map(|&a| self.revenue[a]).sum()
    }
}

/// Inactivity that ends a session (GA's default), for where an attempt was left.
const SESSION_GAP: Micros = 30 * 60 * MICROS_PER_SECOND;

/// How long after a case what an affected actor writes is quoted as evidence.
const QUOTE_HORIZON: Micros = 30 * MICROS_PER_DAY;

/// Cases slower than their target are a friction from this share of them up.
const SLOW_SHARE: f64 = 0.1;

const EXPOSED: &str =
    "revenue of the affected actors over the period: what is exposed if they leave";

/// What sets a group apart: each label counted in at least a fifth of the group's `n`
/// cases, with its share and its lift over the share among `base_n` others (`None` when
/// the others never had it: the most telling, ranked first); then by count and label.
/// The five first, each label prefixed (`before: …`, `on the way: …`).
fn lifted(
    prefix: &str,
    counts: impl IntoIterator<Item = (String, u64)>,
    n: u64,
    base: &HashMap<String, u64>,
    base_n: u64,
) -> Vec<Detail> {
    let mut out: Vec<Detail> = counts
        .into_iter()
        .map(|(label, count)| {
            let share = count as f64 / n.max(1) as f64;
            let others = base.get(&label).copied().unwrap_or(0) as f64 / base_n.max(1) as f64;
            Detail {
                label: format!("{prefix}: {label}"),
                count,
                share,
                lift: (others > 0.0).then(|| share / others),
            }
        })
        .filter(|d| d.share >= 0.2)
        .collect();
    out.sort_by(|a, b| {
        b.lift
            .unwrap_or(f64::INFINITY)
            .total_cmp(&a.lift.unwrap_or(f64::INFINITY))
            .then(b.count.cmp(&a.count))
            .then(a.label.cmp(&b.label))
    });
    out.truncate(5);
    out
}

/// The most frequent of counted values (ties: the first by name), `(none)` for none.
fn most_frequent<K: AsRef<str>>(counts: HashMap<K, u64>) -> String {
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.as_ref().cmp(a.0.as_ref())))
        .map_or_else(|| "(none)".to_string(), |(k, _)| k.as_ref().to_string())
}

/// How many standard errors the first proportion (`x1` of `n1`) lies above the second,
/// by the pooled two-proportion z-test; `None` when either group is empty or nothing
/// varies.
fn z_above(x1: f64, n1: f64, x2: f64, n2: f64) -> Option<f64> {
    if n1 < 1.0 || n2 < 1.0 {
        return None;
    }
    let p = (x1 + x2) / (n1 + n2);
    let se = (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
    (se > 0.0).then(|| (x1 / n1 - x2 / n2) / se)
}

/// A difference from this many standard errors up is abnormal (p < 0.0015, one-sided):
/// strict, because many comparisons are made.
const Z_ABNORMAL: f64 = 3.0;

/// …and only when it matters: a rate at least 20% above (or below) the other, relative
/// to it. On large data the z-test alone finds differences too small to act on.
const MIN_EFFECT: f64 = 0.2;

/// `x1` of `n1` is abnormally above `x2` of `n2`: z ≥ [`Z_ABNORMAL`] and the rate at
/// least [`MIN_EFFECT`] higher.
fn abnormally_above(x1: f64, n1: f64, x2: f64, n2: f64) -> bool {
    z_above(x1, n1, x2, n2).is_some_and(|z| z >= Z_ABNORMAL)
        && x1 / n1 >= (1.0 + MIN_EFFECT) * (x2 / n2)
}

/// `x1` of `n1` is abnormally below `x2` of `n2`: z ≥ [`Z_ABNORMAL`] and the rate at
/// least [`MIN_EFFECT`] lower.
fn abnormally_below(x1: f64, n1: f64, x2: f64, n2: f64) -> bool {
    z_above(x2, n2, x1, n1).is_some_and(|z| z >= Z_ABNORMAL)
        && x1 / n1 <= (1.0 - MIN_EFFECT) * (x2 / n2)
}

/// Counts of labels, most frequent first, as details of `total` cases.
fn details(counts: HashMap<String, u64>, total: u64, top: usize) -> Vec<Detail> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(top);
    v.into_iter()
        .map(|(label, count)| Detail {
            label,
            count,
            share: count as f64 / total.max(1) as f64,
            lift: None,
        })
        .collect()
}

/// Every friction the rules find, ranked by revenue at stake.
pub fn friction_report(
    frame: &Frame,
    opts: &FrictionOptions,
    keep: Option<&[bool]>,
) -> FrictionReport {
    let stage_of = opts
        .feedback
        .stage_of
        .iter()
        .filter_map(|(e, s)| frame.names().get(e).map(|id| (id, s.as_str())))
        .collect();
    let mut ctx = Ctx {
        frame,
        opts,
        keep,
        stage_of,
        revenue: Vec::new(),
        orders: (0, 0.0),
        negative_sentences: RefCell::new(HashMap::new()),
        evidence: opts
            .evidence_properties
            .iter()
            .filter_map(|k| frame.property(k).map(|c| (k.as_str(), c)))
            .collect(),
    };
    (ctx.revenue, ctx.orders) = ctx.revenue_by_actor();
    let mut found = Vec::new();
    for rule in &opts.abandonment {
        abandonment(&ctx, rule, &mut found);
    }
    repeat_contacts(&ctx, &mut found);
    low_scores(&ctx, &mut found);
    slow_resolution(&ctx, &mut found);
    negative_themes(&ctx, &mut found);
    let mut warnings = Vec::new();
    if let Some(def) = &opts.journey {
        stages::journey_frictions(&ctx, def, &mut found, &mut warnings);
    }
    loops::loops(&ctx, &mut found);

    let mut frictions: Vec<Friction> = found.into_iter().filter_map(|f| finish(&ctx, f)).collect();
    frictions.sort_by(|a, b| {
        b.revenue_at_stake
            .total_cmp(&a.revenue_at_stake)
            .then(b.actors.cmp(&a.actors))
            .then(a.title.cmp(&b.title))
    });
    for (i, f) in frictions.iter_mut().enumerate() {
        f.rank = i + 1;
    }
    FrictionReport {
        revenue: ctx.revenue.iter().sum(),
        mean_order_value: ctx.mean_order_value(),
        frictions,
        warnings,
    }
}

/// Actors, trend, revenue and quotes of a friction found.
fn finish(ctx: &Ctx, f: Found) -> Option<Friction> {
    let frame = ctx.frame;
    let actors: BTreeSet<usize> = f.cases.iter().map(|&(a, _)| a).collect();
    if (actors.len() as u64) < ctx.opts.min_actors.max(1) {
        return None;
    }
    let ts = frame.ts();
    let mut periods: HashMap<i64, u64> = HashMap::new();
    for &(_, i) in &f.cases {
        *periods.entry(ctx.opts.period.index(ts[i])).or_default() += 1;
    }
    let lo = *periods.keys().min()?;
    let hi = *periods.keys().max()?;
    let trend = (lo..=hi)
        .map(|p| FrictionPeriod {
            period: ctx.opts.period.label_of(p),
            start: ctx.opts.period.start(p),
            cases: periods.get(&p).copied().unwrap_or(0),
        })
        .collect();
    let mut keys: Vec<String> = actors
        .iter()
        .map(|&a| frame.actor_key(a).to_string())
        .collect();
    keys.sort();
    keys.truncate(ctx.opts.actors);
    let quotes = if f.quotes.is_empty() {
        quotes_of(ctx, &f.cases, ctx.opts.quotes)
    } else {
        f.quotes
    };
    let (revenue_at_stake, method) = match f.revenue_at_stake {
        Some(r) => (r, f.method),
        None => (ctx.exposed(&actors), EXPOSED.to_string()),
    };
    Some(Friction {
        rank: 0,
        kind: f.kind,
        title: f.title,
        stage: f.stage,
        touchpoint: f.touchpoint,
        cases: f.cases.len() as u64,
        actors: actors.len() as u64,
        revenue_at_stake,
        method,
        measure: f.measure,
        trend,
        details: f.details,
        quotes,
        actor_keys: keys,
    })
}

/// Negative sentences the affected actors wrote from each case to [`QUOTE_HORIZON`]
/// after it: those written at a case itself first (a low score's own comment), then the
/// most negative.
fn quotes_of(ctx: &Ctx, cases: &[(usize, usize)], n: usize) -> Vec<Quote> {
    if n == 0 {
        return Vec::new();
    }
    let frame = ctx.frame;
    let values = frame.values();
    let ts = frame.ts();
    let mut since: HashMap<usize, Vec<Micros>> = HashMap::new();
    for &(a, i) in cases {
        since.entry(a).or_default().push(ts[i]);
    }
    let rows: HashSet<usize> = cases.iter().map(|&(_, i)| i).collect();
    let keep: Vec<bool> = (0..frame.actor_count())
        .map(|a| since.contains_key(&a))
        .collect();
    let scorer = Scorer::new();
    let mut scored = ctx.negative_sentences.borrow_mut();
    // Sentence → (written at a case itself, quote).
    let mut best: HashMap<String, (bool, Quote)> = HashMap::new();
    Walker::new(frame, &ctx.opts.feedback).walk(Some(&keep), |fb| {
        let Some(id) = fb.text else { return };
        let t = ts[fb.row];
        let near = since[&fb.actor]
            .iter()
            .any(|&c| t >= c && t - c <= QUOTE_HORIZON);
        if !near {
            return;
        }
        let sentences = scored.entry((id, fb.lang)).or_insert_with(|| {
            let text = match values.value(id) {
                serde_json::Value::String(t) => t.as_str(),
                _ => "",
            };
            scorer
                .score(text, fb.lang)
                .sentences
                .into_iter()
                .filter(|s| s.compound <= -0.05)
                .map(|s| (s.text, s.compound))
                .collect()
        });
        let own = rows.contains(&fb.row);
        for (text, compound) in sentences.iter() {
            let e = best.entry(text.clone()).or_insert_with(|| {
                (
                    own,
                    Quote {
                        text: text.clone(),
                        compound: *compound,
                        actor: frame.actor_key(fb.actor).to_string(),
                        time: t,
                    },
                )
            });
            e.0 |= own;
        }
    });
    // The comments of the cases themselves first (a low score's own comment), then the
    // most negative.
    let mut v: Vec<(bool, Quote)> = best.into_values().collect();
    v.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.compound.total_cmp(&b.1.compound))
            .then(a.1.text.cmp(&b.1.text))
    });
    v.into_iter().take(n).map(|(_, q)| q).collect()
}

/// Checkouts or carts not followed by a success within the window, before the next
/// start: by segment, against the other segments.
fn abandonment(ctx: &Ctx, rule: &Abandonment, out: &mut Vec<Found>) {
    let frame = ctx.frame;
    let (Some(start), Some(success)) = (
        frame.names().get(&rule.start),
        frame.names().get(&rule.success),
    ) else {
        return;
    };
    let values = frame.values();
    let seg_col = frame.property(&ctx.opts.segment_by);
    let value_col = frame.property("value");
    let revenue_col = frame.property(&ctx.opts.revenue);
    let (names, ts) = (frame.name(), frame.ts());
    // Per segment value id: attempts, abandoned cases (actor, start row, last row), value
    // of the abandoned attempts (sum, count).
    #[derive(Default)]
    struct Seg {
        attempts: u64,
        abandoned: Vec<(usize, usize, usize)>,
        value: (f64, u64),
    }
    // Ordered, so that sums over segments are the same on every run.
    let mut segs: BTreeMap<u32, Seg> = BTreeMap::new();
    for a in 0..frame.actor_count() {
        if !ctx.kept(a) {
            continue;
        }
        let rows: Vec<usize> = ctx.rows(a).collect();
        for (k, &i) in rows.iter().enumerate() {
            if names[i] != start || !ctx.in_range(ts[i]) {
                continue;
            }
            let seg = seg_col.map_or(0, |c| c[i]);
            let s = segs.entry(seg).or_default();
            s.attempts += 1;
            // The attempt ends at the next start, the window's end, or a success.
            let rest = &rows[k + 1..];
            let within = |j: usize| ts[j] <= ts[i] + rule.window;
            let end = rest
                .iter()
                .position(|&j| names[j] == start || names[j] == success || !within(j))
                .unwrap_or(rest.len());
            let converted = rest
                .get(end)
                .is_some_and(|&j| names[j] == success && within(j));
            if !converted {
                let last = ctx.left_at(i, rest[..end].iter().copied());
                s.abandoned.push((a, i, last));
                let v = value_col
                    .and_then(|c| values.number(c[i]))
                    .or_else(|| revenue_col.and_then(|c| values.number(c[i])));
                if let Some(v) = v {
                    s.value.0 += v;
                    s.value.1 += 1;
                }
            }
        }
    }
    let total: u64 = segs.values().map(|s| s.attempts).sum();
    let abandoned: u64 = segs.values().map(|s| s.abandoned.len() as u64).sum();
    if total == 0 {
        return;
    }
    let mov = ctx.mean_order_value();
    let value_of = |s: &Seg| {
        if s.value.1 > 0 {
            Some(s.value.0 / s.value.1 as f64)
        } else {
            mov
        }
    };
    let stage = frame
        .names()
        .get(&rule.success)
        .and_then(|id| ctx.stage_of.get(&id))
        .map_or_else(|| "(none)".to_string(), |s| s.to_string());
    let last_events = |cases: &[(usize, usize, usize)]| {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for &(_, _, last) in cases {
            *counts.entry(ctx.evidence_label(last)).or_default() += 1;
        }
        details(counts, cases.len() as u64, 5)
    };
    let touchpoint_of = |cases: &[(usize, usize, usize)]| {
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for &(_, _, last) in cases {
            *counts.entry(ctx.touchpoint(last)).or_default() += 1;
        }
        most_frequent(counts)
    };
    let rate = abandoned as f64 / total as f64;
    // The whole rule against its target.
    if let Some(target) = rule.target.filter(|&t| rate > t) {
        let all: Vec<(usize, usize, usize)> =
            segs.values().flat_map(|s| s.abandoned.clone()).collect();
        let excess = (rate - target) * total as f64;
        let (sum, n) = segs
            .values()
            .fold((0.0, 0), |acc, s| (acc.0 + s.value.0, acc.1 + s.value.1));
        let value = if n > 0 { Some(sum / n as f64) } else { mov };
        out.push(Found {
            kind: "abandonment",
            title: format!(
                "{:.0}% of {}s abandoned ({}), target {:.0}%",
                100.0 * rate,
                rule.name,
                rule.start,
                100.0 * target
            ),
            stage: stage.clone(),
            touchpoint: touchpoint_of(&all),
            cases: all.iter().map(|&(a, i, _)| (a, i)).collect(),
            revenue_at_stake: value.map(|v| excess * v),
            method: format!(
                "abandoned {}s above the target ({excess:.0}) × mean {} value",
                rule.name, rule.name
            ),
            measure: Measure {
                name: format!("{} abandonment rate", rule.name),
                value: rate,
                baseline: None,
                target: Some(target),
                unit: "share",
            },
            details: last_events(&all),
            quotes: Vec::new(),
        });
    }
    // Segments that abandon far more than the others (two-proportion z ≥ 3).
    if seg_col.is_none() {
        return;
    }
    for (&seg, s) in &segs {
        let (n1, x1) = (s.attempts as f64, s.abandoned.len() as f64);
        let (n2, x2) = ((total - s.attempts) as f64, (abandoned as f64) - x1);
        if !abnormally_above(x1, n1, x2, n2) {
            continue;
        }
        let (p1, p2) = (x1 / n1, x2 / n2);
        let excess = x1 - n1 * p2;
        let label = values.label(seg);
        out.push(Found {
            kind: "abandonment",
            title: format!(
                "{} abandoned {:.0}% of the time on {}={label}, {:.0}% elsewhere",
                rule.name,
                100.0 * p1,
                ctx.opts.segment_by,
                100.0 * p2
            ),
            stage: stage.clone(),
            touchpoint: touchpoint_of(&s.abandoned),
            cases: s.abandoned.iter().map(|&(a, i, _)| (a, i)).collect(),
            revenue_at_stake: value_of(s).map(|v| excess * v),
            method: format!(
                "abandoned {}s in excess of the other segments' rate ({excess:.0}) × mean value of an abandoned {}",
                rule.name, rule.name
            ),
            measure: Measure {
                name: format!("{} abandonment rate", rule.name),
                value: p1,
                baseline: Some(p2),
                target: rule.target,
                unit: "share",
            },
            details: last_events(&s.abandoned),
            quotes: Vec::new(),
        });
    }
}

/// Two or more support contacts within the window: one case per burst, grouped by the
/// touchpoint of the burst's first contact.
fn repeat_contacts(ctx: &Ctx, out: &mut Vec<Found>) {
    let frame = ctx.frame;
    let opts = ctx.opts;
    let values = frame.values();
    let contact: HashSet<u32> = opts
        .contact_events
        .iter()
        .filter_map(|e| frame.names().get(e))
        .collect();
    if contact.is_empty() || opts.min_contacts < 2 {
        return;
    }
    let direction = frame.property("direction");
    let (names, ts) = (frame.name(), frame.ts());
    let is_contact = |i: usize| {
        contact.contains(&names[i]) && direction.is_none_or(|c| values.label(c[i]) != "outbound")
    };
    // Per first touchpoint: bursts (actor, first row, contacts).
    let mut groups: HashMap<u32, Vec<(usize, usize, usize)>> = HashMap::new();
    // What preceded bursts (within 14 days before the first contact), and how many actors
    // had each label at all, for the lift.
    let lookback = 14 * MICROS_PER_DAY;
    let mut everyone: HashMap<String, u64> = HashMap::new();
    let mut actors_seen = 0u64;
    let mut preceded: HashMap<u32, HashMap<String, u64>> = HashMap::new();
    for a in 0..frame.actor_count() {
        if !ctx.kept(a) {
            continue;
        }
        let rows: Vec<usize> = ctx.rows(a).filter(|&i| ctx.in_range(ts[i])).collect();
        if rows.is_empty() {
            continue;
        }
        actors_seen += 1;
        let mut labels: HashSet<String> = HashSet::new();
        for &i in &rows {
            if !is_contact(i) {
                labels.insert(ctx.evidence_label(i));
            }
        }
        for l in labels {
            *everyone.entry(l).or_default() += 1;
        }
        let contacts: Vec<usize> = rows.iter().copied().filter(|&i| is_contact(i)).collect();
        let mut k = 0;
        while k < contacts.len() {
            let first = contacts[k];
            let n = contacts[k..]
                .iter()
                .take_while(|&&j| ts[j] - ts[first] <= opts.contact_window)
                .count();
            if n >= opts.min_contacts {
                let tp = frame.touchpoint()[first];
                groups.entry(tp).or_default().push((a, first, n));
                let before: HashSet<String> = rows
                    .iter()
                    .copied()
                    .filter(|&j| j < first && ts[first] - ts[j] <= lookback && !is_contact(j))
                    .map(|j| ctx.evidence_label(j))
                    .collect();
                let p = preceded.entry(tp).or_default();
                for l in before {
                    *p.entry(l).or_default() += 1;
                }
                k += n;
            } else {
                k += 1;
            }
        }
    }
    for (tp, bursts) in groups {
        let total = bursts.len() as u64;
        let contacts: u64 = bursts.iter().map(|b| b.2 as u64).sum();
        let before = lifted(
            "before",
            preceded.remove(&tp).unwrap_or_default(),
            total,
            &everyone,
            actors_seen,
        );
        let touchpoint = frame.touchpoints().name(tp).to_string();
        let mut stages: HashMap<String, u64> = HashMap::new();
        for &(a, i, _) in &bursts {
            *stages.entry(ctx.stage_at(a, i)).or_default() += 1;
        }
        let stage = most_frequent(stages);
        out.push(Found {
            kind: "repeat_contact",
            title: format!(
                "{total} times {}+ contacts within {} starting at {touchpoint}",
                opts.min_contacts,
                human((opts.contact_window / MICROS_PER_SECOND) as f64)
            ),
            stage,
            touchpoint,
            cases: bursts.iter().map(|&(a, i, _)| (a, i)).collect(),
            revenue_at_stake: None,
            method: String::new(),
            measure: Measure {
                name: "contacts per burst".into(),
                value: contacts as f64 / total as f64,
                baseline: None,
                target: Some(1.0),
                unit: "contacts",
            },
            details: before,
            quotes: Vec::new(),
        });
    }
}

/// Touchpoints whose CES answers are mostly hard, or CSAT answers mostly dissatisfied.
fn low_scores(ctx: &Ctx, out: &mut Vec<Found>) {
    let frame = ctx.frame;
    let fb_opts = &ctx.opts.feedback;
    let values = frame.values();
    let (Some(survey_col), Some(score_col)) = (
        frame.property(&fb_opts.fields.survey),
        frame.property(&fb_opts.fields.score),
    ) else {
        return;
    };
    let walker = Walker::new(frame, fb_opts);
    let mut lookup = ScaleLookup::new(&fb_opts.scales);
    // (kind, touchpoint) → (answers, low cases, stage counts).
    type Acc = (u64, Vec<(usize, usize)>, HashMap<String, u64>);
    let mut accs: HashMap<(&'static str, String), Acc> = HashMap::new();
    let mut totals: HashMap<&'static str, (u64, u64)> = HashMap::new();
    walker.walk(ctx.keep, |fb| {
        if !fb.is_survey {
            return;
        }
        let i = fb.row;
        let Some(x) = values.number(score_col[i]) else {
            return;
        };
        let (kind, low) = match lookup.get(values, survey_col[i]) {
            Some(Scale::Ces) if Scale::Ces.accepts(x) => ("high_effort", x <= 3.0),
            Some(Scale::Csat) if Scale::Csat.accepts(x) => ("low_satisfaction", x <= 2.0),
            _ => return,
        };
        let e = accs
            .entry((kind, walker.touchpoint(fb)))
            .or_insert_with(|| (0, Vec::new(), HashMap::new()));
        e.0 += 1;
        let t = totals.entry(kind).or_default();
        t.0 += 1;
        if low {
            e.1.push((fb.actor, i));
            *e.2.entry(walker.stage(fb)).or_default() += 1;
            t.1 += 1;
        }
    });
    for ((kind, touchpoint), (n, cases, stages)) in accs {
        let share = cases.len() as f64 / n as f64;
        if share < ctx.opts.low_score_share || cases.is_empty() {
            continue;
        }
        let (tn, tl) = totals[kind];
        let baseline = (tn > n).then(|| (tl - cases.len() as u64) as f64 / (tn - n) as f64);
        let stage = most_frequent(stages);
        let (what, answers) = if kind == "high_effort" {
            ("hard CES answers (1–3 of 7)", "CES")
        } else {
            ("dissatisfied CSAT answers (1–2 of 5)", "CSAT")
        };
        out.push(Found {
            kind,
            title: format!(
                "{:.0}% {what} at {touchpoint} ({n} {answers} answers)",
                100.0 * share
            ),
            stage,
            touchpoint,
            cases,
            revenue_at_stake: None,
            method: String::new(),
            measure: Measure {
                name: format!("share of {what}"),
                value: share,
                baseline,
                target: Some(ctx.opts.low_score_share),
                unit: "share",
            },
            details: Vec::new(),
            quotes: Vec::new(),
        });
    }
}

/// Cases (an opening event, then the next closing one) resolved later than the target.
fn slow_resolution(ctx: &Ctx, out: &mut Vec<Found>) {
    let frame = ctx.frame;
    let target = ctx.opts.resolution_target;
    let (names, ts) = (frame.name(), frame.ts());
    for (open, close) in &ctx.opts.resolutions {
        let (Some(o), Some(c)) = (frame.names().get(open), frame.names().get(close)) else {
            continue;
        };
        let mut durations: Vec<Micros> = Vec::new();
        let mut slow: Vec<(usize, usize)> = Vec::new();
        let mut labels: HashMap<String, u64> = HashMap::new();
        let mut stages: HashMap<String, u64> = HashMap::new();
        let mut touchpoints: HashMap<String, u64> = HashMap::new();
        for a in 0..frame.actor_count() {
            if !ctx.kept(a) {
                continue;
            }
            let rows: Vec<usize> = ctx.rows(a).collect();
            for (k, &i) in rows.iter().enumerate() {
                if names[i] != o || !ctx.in_range(ts[i]) {
                    continue;
                }
                let Some(&j) = rows[k + 1..].iter().find(|&&j| names[j] == c) else {
                    continue;
                };
                let d = ts[j] - ts[i];
                durations.push(d);
                if d > target {
                    slow.push((a, i));
                    *labels.entry(ctx.evidence_label(i)).or_default() += 1;
                    *stages.entry(ctx.stage_at(a, i)).or_default() += 1;
                    *touchpoints
                        .entry(ctx.touchpoint(i).to_string())
                        .or_default() += 1;
                }
            }
        }
        if slow.is_empty() {
            continue;
        }
        durations.sort_unstable();
        let p90 = quantile(&durations, 0.9) / MICROS_PER_SECOND as f64;
        let median = quantile(&durations, 0.5) / MICROS_PER_SECOND as f64;
        let share = slow.len() as f64 / durations.len() as f64;
        if share < SLOW_SHARE {
            continue;
        }
        let target_s = (target / MICROS_PER_SECOND) as f64;
        let d = details(labels, slow.len() as u64, 5);
        out.push(Found {
            kind: "slow_resolution",
            title: format!(
                "{open} → {close}: {:.0}% of {} take longer than {} (median {}, p90 {})",
                100.0 * share,
                durations.len(),
                human(target_s),
                human(median),
                human(p90)
            ),
            stage: most_frequent(stages),
            touchpoint: most_frequent(touchpoints),
            cases: slow,
            revenue_at_stake: None,
            method: String::new(),
            measure: Measure {
                name: format!("p90 time from {open} to {close}"),
                value: p90,
                baseline: None,
                target: Some(target_s),
                unit: "seconds",
            },
            details: d,
            quotes: Vec::new(),
        });
    }
}

/// Themes of customers' texts that are mostly negative.
fn negative_themes(ctx: &Ctx, out: &mut Vec<Found>) {
    let frame = ctx.frame;
    let opts = ctx.opts;
    let themes = theme_report(
        frame,
        &ThemeOptions {
            feedback: opts.feedback.clone(),
            actors: usize::MAX,
            quotes: opts.quotes,
            ..ThemeOptions::default()
        },
        ctx.keep,
    );
    for t in themes.themes {
        let s = &t.sentiment;
        if !(s.mean <= opts.negative_sentiment || s.negative_share >= opts.negative_share) {
            continue;
        }
        // Cases: the actors' rows are not kept by the theme report; each actor counts once
        // at the time of their first quote-worthy mention (their first event is used when
        // unknown).
        let cases: Vec<(usize, usize)> = t
            .actor_keys
            .iter()
            .flatten()
            .filter_map(|k| frame.actor_index(k))
            .map(|a| (a, mention_row(ctx, a)))
            .collect();
        let phrase = t
            .phrases
            .iter()
            .find(|p| p.sentiment.mean < 0.0)
            .map(|p| format!(" — “{}” {:+.2}", p.label, p.sentiment.mean))
            .unwrap_or_default();
        let details = t
            .phrases
            .iter()
            .take(5)
            .map(|p| Detail {
                label: format!("{} ({:+.2})", p.label, p.sentiment.mean),
                count: p.mentions,
                share: p.mentions as f64 / t.mentions.max(1) as f64,
                lift: None,
            })
            .collect();
        out.push(Found {
            kind: "negative_theme",
            title: format!(
                "“{}”: {} mentions, {:.0}% negative{phrase}",
                t.label,
                t.mentions,
                100.0 * s.negative_share
            ),
            stage: t
                .stages
                .first()
                .map_or_else(|| "(none)".into(), |c| c.value.clone()),
            touchpoint: t
                .touchpoints
                .first()
                .map_or_else(|| "(none)".into(), |c| c.value.clone()),
            cases,
            revenue_at_stake: None,
            method: String::new(),
            measure: Measure {
                name: "mean sentiment of the mentions".into(),
                value: s.mean,
                baseline: None,
                target: Some(opts.negative_sentiment),
                unit: "sentiment",
            },
            details,
            quotes: t
                .quotes
                .into_iter()
                .filter(|q| q.compound < 0.0)
                .map(|q| Quote {
                    text: q.text,
                    compound: q.compound,
                    actor: q.actor,
                    time: q.time,
                })
                .collect(),
        });
    }
}

/// The row of an actor's first feedback text in range (for a theme's trend).
fn mention_row(ctx: &Ctx, a: usize) -> usize {
    let frame = ctx.frame;
    let values = frame.values();
    let texts: Vec<&[u32]> = ctx
        .opts
        .feedback
        .text_fields
        .iter()
        .filter_map(|k| frame.property(k))
        .collect();
    let ts = frame.ts();
    ctx.rows(a)
        .find(|&i| {
            ctx.in_range(ts[i])
                && texts
                    .iter()
                    .any(|c| matches!(values.value(c[i]), serde_json::Value::String(s) if !s.trim().is_empty()))
        })
        .unwrap_or(frame.actor_range(a).start)
}
