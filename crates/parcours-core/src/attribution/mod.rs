//! Attribution: which touches deserve the credit for conversions and their value. Paths
//! come from a frame ([`extract`]) or from a file of paths; every model turns them into
//! credits per touch. The rules and formulas are in `docs/semantics.md` ("Attribution").

pub mod extract;
pub mod heuristic;
pub mod markov;
pub mod pathset;
pub mod shapley;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use heuristic::{Positions, Rule, INVERSE_J, J_SHAPED, POSITION_BASED};
use markov::{Chain, Solve, Transition};
pub use pathset::{MergedPath, PathSet, PathTouch, PathView};
use shapley::ShapleyInfo;

/// An attribution model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    Rule { name: &'static str, rule: Rule },
    Markov,
    Shapley,
}

impl Model {
    pub fn name(&self) -> &'static str {
        match self {
            Model::Rule { name, .. } => name,
            Model::Markov => "markov",
            Model::Shapley => "shapley",
        }
    }
}

/// The names [`parse_models`] accepts, in the order reports list them.
pub const MODEL_NAMES: &[&str] = &[
    "first",
    "last",
    "last_non_direct",
    "linear",
    "time_decay",
    "position",
    "j_shaped",
    "inverse_j",
    "w_shaped",
    "custom",
    "markov",
    "shapley",
];

/// Parses a comma-separated model list (`all` for every model; `custom` needs
/// `custom` weights).
pub fn parse_models(
    text: &str,
    half_life_s: f64,
    custom: Option<Positions>,
) -> Result<Vec<Model>, String> {
    let names: Vec<&str> = if text.trim() == "all" {
        MODEL_NAMES
            .iter()
            .copied()
            .filter(|&n| n != "custom" || custom.is_some())
            .collect()
    } else {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    };
    if names.is_empty() {
        return Err("no model named".into());
    }
    if !(half_life_s > 0.0 && half_life_s.is_finite()) {
        return Err(format!("half-life must be positive, got {half_life_s} s"));
    }
    let mut models = Vec::new();
    for name in names {
        let rule = |name, rule| Model::Rule { name, rule };
        let model = match name {
            "first" => rule("first", Rule::First),
            "last" => rule("last", Rule::Last),
            "last_non_direct" => rule("last_non_direct", Rule::LastNonDirect),
            "linear" => rule("linear", Rule::Linear),
            "time_decay" => rule("time_decay", Rule::TimeDecay { half_life_s }),
            "position" | "position_based" | "u_shaped" => {
                rule("position", Rule::Positions(POSITION_BASED))
            }
            "j_shaped" => rule("j_shaped", Rule::Positions(J_SHAPED)),
            "inverse_j" => rule("inverse_j", Rule::Positions(INVERSE_J)),
            "w_shaped" => rule("w_shaped", Rule::WShaped),
            "custom" => match custom {
                Some(p) => rule("custom", Rule::Positions(p)),
                None => return Err("the custom model needs weights (first,middle,last)".into()),
            },
            "markov" => Model::Markov,
            "shapley" => Model::Shapley,
            other => {
                return Err(format!(
                    "unknown model `{other}` (expected {} or all)",
                    MODEL_NAMES.join(", ")
                ))
            }
        };
        if !models.contains(&model) {
            models.push(model);
        }
    }
    Ok(models)
}

/// Custom position weights `first,middle,last`, summing to 1.
pub fn parse_positions(text: &str) -> Result<Positions, String> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`{text}`: expected three numbers first,middle,last"))?;
    let [first, middle, last] = parts[..] else {
        return Err(format!(
            "`{text}`: expected three numbers first,middle,last"
        ));
    };
    if [first, middle, last].iter().any(|w| w.is_nan() || *w < 0.0) {
        return Err(format!("`{text}`: weights must be zero or more"));
    }
    if ((first + middle + last) - 1.0).abs() > 1e-9 || first + last <= 0.0 {
        return Err(format!(
            "`{text}`: weights must sum to 1 with first + last above 0"
        ));
    }
    Ok(Positions {
        first,
        middle,
        last,
    })
}

#[derive(Debug, Clone)]
pub struct AttributionOptions {
    pub models: Vec<Model>,
    /// Order of the Markov chain (1 to 3).
    pub markov_order: usize,
    /// Permutations drawn when Shapley values are sampled (above 15 touches).
    pub shapley_permutations: usize,
    /// Transitions listed in the Markov output, the most probable first per state.
    pub transitions_limit: usize,
    /// Spend per touch label (channel or campaign), when costs were imported.
    pub costs: Option<HashMap<String, f64>>,
}

impl Default for AttributionOptions {
    fn default() -> AttributionOptions {
        AttributionOptions {
            models: parse_models("first,last,linear,markov", 7.0 * 86_400.0, None)
                .expect("valid defaults"),
            markov_order: 1,
            shapley_permutations: 2000,
            transitions_limit: 500,
            costs: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributionReport {
    /// Conversions and their value, over every converting path.
    pub conversions: f64,
    pub value: f64,
    /// Conversions (and value) whose path holds no touch: no model can credit them.
    pub unattributed_conversions: f64,
    pub unattributed_value: f64,
    pub paths: PathSummary,
    pub models: Vec<&'static str>,
    /// One row per touch, the most credited by the first model first.
    pub rows: Vec<Row>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markov: Option<MarkovOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shapley: Option<ShapleyInfo>,
    /// Total spend over the touches listed, when costs were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathSummary {
    /// Paths that ended in a conversion, and journeys that did not.
    pub converting: f64,
    pub non_converting: f64,
    pub distinct: usize,
    /// Mean touches per converting path.
    pub mean_length: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub touch: String,
    /// Times the touch occurs in converting paths.
    pub occurrences: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Credits per model name.
    pub credits: BTreeMap<&'static str, Credit>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Credit {
    pub conversions: f64,
    pub value: f64,
    /// Share of the attributed conversions.
    pub share: f64,
    /// Cost per acquisition: cost / credited conversions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpa: Option<f64>,
    /// Return on investment: (credited value − cost) / cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roi: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkovOutput {
    pub order: usize,
    pub states: usize,
    /// Probability that a path from `(start)` converts.
    pub conversion_probability: f64,
    pub removal_effects: Vec<RemovalEffect>,
    /// Transitions listed (the first `transitions_limit`); `transitions_total` in all.
    pub transitions: Vec<Transition>,
    pub transitions_total: usize,
    pub solver: Solve,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemovalEffect {
    pub touch: String,
    /// 1 − P(conversion without the touch) / P(conversion).
    pub conversion: f64,
    /// The same for the expected value.
    pub value: f64,
}

/// Conversions and value credited to each touch by each rule, over every converting path
/// (one walk over the paths for all the rules).
fn per_path_rules(paths: &PathSet, rules: &[Rule], n: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut credits = vec![(vec![0.0; n], vec![0.0; n]); rules.len()];
    if rules.is_empty() {
        return credits;
    }
    let mut w = Vec::new();
    for p in paths.iter() {
        if p.conversions == 0.0 && p.value == 0.0 {
            continue;
        }
        for (&rule, (c, v)) in rules.iter().zip(credits.iter_mut()) {
            heuristic::weights(rule, &p, &mut w);
            credit(c, v, p.touches, &w, p.conversions, p.value);
        }
    }
    credits
}

/// Conversions and value credited to each touch by a rule that reads only the sequence,
/// once per distinct sequence (with its conversions and value added up).
fn sequence_rule(merged: &[MergedPath], rule: Rule, n: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut c, mut v) = (vec![0.0; n], vec![0.0; n]);
    let mut w = Vec::new();
    for (touches, conversions, value, _) in merged {
        if touches.is_empty() || *conversions == 0.0 && *value == 0.0 {
            continue;
        }
        w.clear();
        w.resize(touches.len(), 0.0);
        heuristic::sequence(rule, &mut w);
        credit(&mut c, &mut v, touches, &w, *conversions, *value);
    }
    (c, v)
}

/// Adds a path's conversions and value to its touches' credits, `weights` apart.
fn credit(c: &mut [f64], v: &mut [f64], touches: &[u32], weights: &[f64], conv: f64, value: f64) {
    for (&t, &wt) in touches.iter().zip(weights) {
        c[t as usize] += wt * conv;
        v[t as usize] += wt * value;
    }
}

/// The Markov model's credits (conversions, value) and its output: removal effects over
/// the chain of `merged` (the paths merged by sequence), shared out over `attributed`.
fn markov_model(
    paths: &PathSet,
    merged: &[MergedPath],
    options: &AttributionOptions,
    attributed: (f64, f64),
) -> ((Vec<f64>, Vec<f64>), MarkovOutput) {
    let n = paths.labels.len();
    let label = |s: &[u32]| {
        s.iter()
            .map(|&t| paths.labels[t as usize].as_str())
            .collect::<Vec<_>>()
            .join(" > ")
    };
    let chain = Chain::build(merged, options.markov_order);
    let full = chain.absorb(&vec![true; chain.states.len()]);
    let mut solver = full.solve;
    let mut effects = Vec::with_capacity(n);
    for t in 0..n as u32 {
        let alive: Vec<bool> = chain.states.iter().map(|s| !s.contains(&t)).collect();
        let without = chain.absorb(&alive);
        if without.solve.residual > solver.residual {
            solver = without.solve;
        }
        let effect = |with: f64, without: f64| {
            if with > 0.0 {
                (1.0 - without / with).max(0.0)
            } else {
                0.0
            }
        };
        effects.push(RemovalEffect {
            touch: paths.labels[t as usize].clone(),
            conversion: effect(full.conversion, without.conversion),
            value: effect(full.value, without.value),
        });
    }
    let (sum_c, sum_v): (f64, f64) = effects
        .iter()
        .fold((0.0, 0.0), |(a, b), e| (a + e.conversion, b + e.value));
    let share = |x: f64, sum: f64| if sum > 0.0 { x / sum } else { 0.0 };
    let c = effects
        .iter()
        .map(|e| attributed.0 * share(e.conversion, sum_c))
        .collect();
    let v = effects
        .iter()
        .map(|e| attributed.1 * share(e.value, sum_v))
        .collect();
    let mut transitions = chain.transitions(label);
    let transitions_total = transitions.len();
    transitions.truncate(options.transitions_limit);
    let output = MarkovOutput {
        order: options.markov_order,
        states: chain.states.len(),
        conversion_probability: full.conversion,
        removal_effects: effects,
        transitions,
        transitions_total,
        solver,
    };
    ((c, v), output)
}

/// Credits of every model over `paths`.
pub fn attribute(
    paths: &PathSet,
    options: &AttributionOptions,
) -> Result<AttributionReport, String> {
    if !(1..=3).contains(&options.markov_order) {
        return Err(format!(
            "markov order must be 1, 2 or 3, got {}",
            options.markov_order
        ));
    }
    let n = paths.labels.len();
    let (mut conversions, mut value, mut un_c, mut un_v) = (0.0, 0.0, 0.0, 0.0);
    let (mut converting, mut non_converting, mut length) = (0.0, 0.0, 0.0);
    let mut occurrences = vec![0.0; n];
    for p in paths.iter() {
        conversions += p.conversions;
        value += p.value;
        non_converting += p.nulls;
        if p.conversions > 0.0 {
            converting += p.conversions;
            length += p.conversions * p.touches.len() as f64;
            if p.touches.is_empty() {
                un_c += p.conversions;
                un_v += p.value;
            }
            for &t in p.touches {
                occurrences[t as usize] += p.conversions;
            }
        }
    }
    let mut credits: Vec<(&'static str, Vec<f64>, Vec<f64>)> = Vec::new();
    let attributed = (conversions - un_c, value - un_v);
    // Two threads. This one walks the paths for the rules that read ages, channels or
    // milestones (all in one walk); meanwhile the other merges the paths by sequence (what
    // the other models read, and the summary counts), hands them over, and computes the
    // Shapley values; this one then runs the Markov model and the sequence-only rules.
    let per_path: Vec<Rule> = options
        .models
        .iter()
        .filter_map(|m| match m {
            Model::Rule { rule, .. } if !rule.sequence_only() => Some(*rule),
            _ => None,
        })
        .collect();
    let wants = |want: fn(&Model) -> bool| options.models.iter().any(want);
    let wants_shapley = wants(|m| matches!(m, Model::Shapley));
    let (per_path_credits, merged, sequence_credits, mut markov_result, mut shapley_result) =
        std::thread::scope(|s| {
            let (hand_over, merged_paths) = std::sync::mpsc::channel();
            let other = s.spawn(move || {
                let merged = std::sync::Arc::new(paths.merged_sequences());
                // The receiver only goes away by a panic, which the join reports.
                let _ = hand_over.send(std::sync::Arc::clone(&merged));
                wants_shapley.then(|| {
                    let chain = Chain::build(&merged, 1);
                    shapley::shares(&chain, n, options.shapley_permutations)
                })
            });
            let walked = per_path_rules(paths, &per_path, n);
            let merged = merged_paths.recv().expect("the paths merged by sequence");
            let markov = wants(|m| matches!(m, Model::Markov))
                .then(|| markov_model(paths, &merged, options, attributed));
            let sequence: Vec<_> = options
                .models
                .iter()
                .filter_map(|m| match m {
                    Model::Rule { rule, .. } if rule.sequence_only() => {
                        Some(sequence_rule(&merged, *rule, n))
                    }
                    _ => None,
                })
                .collect();
            let shapley = other.join().expect("Shapley values");
            (walked, merged, sequence, markov, shapley)
        });
    let mut per_path_credits = per_path_credits.into_iter();
    let mut sequence_credits = sequence_credits.into_iter();
    let mut markov = None;
    let mut shapley = None;
    for model in &options.models {
        match *model {
            Model::Rule { name, rule } => {
                let (c, v) = if rule.sequence_only() {
                    sequence_credits.next()
                } else {
                    per_path_credits.next()
                }
                .expect("one result per rule");
                credits.push((name, c, v));
            }
            Model::Markov => {
                let ((c, v), output) = markov_result.take().expect("the Markov model ran");
                credits.push(("markov", c, v));
                markov = Some(output);
            }
            Model::Shapley => {
                let s = shapley_result.take().expect("the Shapley values ran")?;
                let c = s.conversion.iter().map(|x| attributed.0 * x).collect();
                let v = s.value.iter().map(|x| attributed.1 * x).collect();
                credits.push(("shapley", c, v));
                shapley = Some(s.info);
            }
        }
    }
    let cost_of = |t: usize| {
        options
            .costs
            .as_ref()
            .map(|c| c.get(&paths.labels[t]).copied().unwrap_or(0.0))
    };
    let mut rows: Vec<Row> = (0..n)
        .map(|t| {
            let cost = cost_of(t);
            let credits = credits
                .iter()
                .map(|(name, c, v)| {
                    let share = if attributed.0 > 0.0 {
                        c[t] / attributed.0
                    } else {
                        0.0
                    };
                    let per = cost.filter(|&k| k > 0.0);
                    (
                        *name,
                        Credit {
                            conversions: c[t],
                            value: v[t],
                            share,
                            cpa: per.and_then(|k| (c[t] > 0.0).then(|| k / c[t])),
                            roi: per.map(|k| (v[t] - k) / k),
                        },
                    )
                })
                .collect();
            Row {
                touch: paths.labels[t].clone(),
                occurrences: occurrences[t],
                cost,
                credits,
            }
        })
        .collect();
    let first = options.models.first().map(Model::name);
    let key = |r: &Row| {
        first
            .and_then(|m| r.credits.get(m))
            .map_or(0.0, |c| c.conversions)
    };
    rows.sort_by(|a, b| {
        key(b)
            .total_cmp(&key(a))
            .then_with(|| b.occurrences.total_cmp(&a.occurrences))
            .then_with(|| a.touch.cmp(&b.touch))
    });
    let cost = options
        .costs
        .as_ref()
        .map(|_| rows.iter().filter_map(|r| r.cost).sum());
    Ok(AttributionReport {
        conversions,
        value,
        unattributed_conversions: un_c,
        unattributed_value: un_v,
        paths: PathSummary {
            converting,
            non_converting,
            distinct: merged.len(),
            mean_length: if converting > 0.0 {
                length / converting
            } else {
                0.0
            },
        },
        models: options.models.iter().map(Model::name).collect(),
        rows,
        markov,
        shapley,
        cost,
    })
}
