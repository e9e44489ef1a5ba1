//! Run requests as the CLI flags and the HTTP API give them — journeys, lifecycle,
//! sessions — validated in one place, so a flag and a query option mean the same thing
//! and fail with the same field name.

use parcours_core::frame::Frame;
use parcours_core::journey::{ActorKind, Breakdown, JourneyDef};
use parcours_core::voice::scores::Scale;
use serde_json::Value;

use crate::analysis::FrameSpec;

/// A journey run as the CLI flags and the HTTP API ask for it, before validation.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunRequest {
    /// Attempts entering at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    pub from: Option<String>,
    /// Attempts entering before this time.
    pub to: Option<String>,
    /// `channel`, `campaign`, `touchpoint`, `property:NAME`, `trait:NAME`, with `@first`,
    /// `@last` or `@step:N`.
    pub breakdown: Option<String>,
    /// `day`, `week` or `month`.
    pub trend: Option<String>,
    /// Only events whose property equals the value.
    #[serde(rename = "where")]
    pub filters: std::collections::BTreeMap<String, Value>,
    /// Only actors whose trait equals the value.
    pub segment: std::collections::BTreeMap<String, Value>,
    /// `converted:STAGE` or `dropped:STAGE`: list actors instead of the report.
    pub actors: Option<String>,
    /// Touchpoints listed per stage (10 when absent).
    pub top: Option<usize>,
}

/// A request that does not make sense, naming the field.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RequestError {
    pub field: &'static str,
    pub message: String,
}

/// An optional time option (RFC 3339, a date, a Unix time), or the error naming it.
fn time(text: &Option<String>, field: &'static str) -> Result<Option<i64>, RequestError> {
    text.as_deref()
        .map(|t| parcours_core::time::parse_lenient(t).map_err(|e| e.to_string()))
        .transpose()
        .map_err(request_error(field))
}

/// `from` and `to` options, `to` after `from` when both are given.
fn range(
    from: &Option<String>,
    to: &Option<String>,
) -> Result<(Option<i64>, Option<i64>), RequestError> {
    let (from, to) = (time(from, "from")?, time(to, "to")?);
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(request_error("to")("must be after `from`".into()));
        }
    }
    Ok((from, to))
}

fn request_error(field: &'static str) -> impl Fn(String) -> RequestError {
    move |message| RequestError { field, message }
}

/// A validated run: the journey, its options and the frame it needs.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub def: JourneyDef,
    pub spec: FrameSpec,
    from: Option<i64>,
    to: Option<i64>,
    filters: Vec<(String, Value)>,
    segments: Vec<(String, Value)>,
    selection: Option<parcours_core::journey::ActorSelection>,
    options: parcours_core::journey::ReportOptions,
}

/// What a run returns: the report, or the actor list asked for.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum RunOutput {
    Report(Box<parcours_core::journey::JourneyReport>),
    Actors(Vec<parcours_core::journey::ActorRow>),
}

/// An actor list as CSV: `actor,entered_at,<one column per stage>`, times in RFC 3339,
/// empty when the stage was not reached.
pub fn actors_csv(def: &JourneyDef, rows: &[parcours_core::journey::ActorRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["actor".to_string(), "entered_at".to_string()];
    header.extend(def.stages.iter().map(|s| s.name.clone()));
    w.write_record(&header)
        .expect("writing CSV to memory cannot fail");
    for r in rows {
        let mut rec = vec![r.actor.clone(), r.entered_at.clone()];
        rec.extend(r.stages.iter().map(|s| s.clone().unwrap_or_default()));
        w.write_record(&rec)
            .expect("writing CSV to memory cannot fail");
    }
    String::from_utf8(w.into_inner().expect("flushing to memory cannot fail"))
        .expect("CSV of UTF-8 strings is UTF-8")
}

impl RunRequest {
    pub fn plan(&self, def: JourneyDef) -> Result<RunPlan, RequestError> {
        use parcours_core::journey::{ActorSelection, Bucket, ReportOptions};
        let (from, to) = range(&self.from, &self.to)?;
        let breakdown = self
            .breakdown
            .as_deref()
            .map(Breakdown::parse)
            .transpose()
            .map_err(request_error("breakdown"))?;
        let trend = self
            .trend
            .as_deref()
            .map(Bucket::parse)
            .transpose()
            .map_err(request_error("trend"))?;
        let selection = self
            .actors
            .as_deref()
            .map(|a| ActorSelection::parse(a, &def))
            .transpose()
            .map_err(request_error("actors"))?;
        let filters: Vec<(String, Value)> = self.filters.clone().into_iter().collect();
        let segments: Vec<(String, Value)> = self.segment.clone().into_iter().collect();
        let filter_keys: Vec<String> = filters.iter().map(|(k, _)| k.clone()).collect();
        let segment_keys: Vec<String> = segments.iter().map(|(k, _)| k.clone()).collect();
        let spec = FrameSpec::for_journey(&def, breakdown.as_ref(), &filter_keys, &segment_keys);
        Ok(RunPlan {
            def,
            spec,
            from,
            to,
            filters,
            segments,
            selection,
            options: ReportOptions {
                top_touchpoints: self.top.unwrap_or(10),
                breakdown,
                trend,
                counts_only: false,
            },
        })
    }
}

impl RunPlan {
    /// Runs the journey on a frame built for [`RunPlan::spec`].
    pub fn execute(&self, frame: &Frame, threads: usize) -> anyhow::Result<RunOutput> {
        use parcours_core::journey::{actor_list, build_report, Engine, RunOptions};
        let engine = Engine::new(&self.def, frame)?;
        let run = RunOptions {
            from: self.from,
            to: self.to,
            event_filter: event_filter(frame, &self.filters)?,
            actors: segment_mask(frame, &self.segments),
            threads,
            ..RunOptions::default()
        };
        let started = std::time::Instant::now();
        let outcomes = engine.run(&run);
        tracing::info!(
            journey = %self.def.name,
            attempts = outcomes.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "journey run"
        );
        Ok(match self.selection {
            Some(s) => RunOutput::Actors(actor_list(&self.def, frame, &outcomes, s)),
            None => RunOutput::Report(Box::new(build_report(
                &self.def,
                frame,
                &outcomes,
                &self.options,
            ))),
        })
    }
}

fn event_filter(
    frame: &Frame,
    filters: &[(String, Value)],
) -> anyhow::Result<Option<parcours_core::journey::Matcher>> {
    use parcours_core::journey::{FilterDef, Matcher, Names, Op};
    if filters.is_empty() {
        return Ok(None);
    }
    let defs: Vec<FilterDef> = filters
        .iter()
        .map(|(k, v)| FilterDef {
            property: k.clone(),
            op: Op::Eq,
            value: Some(v.clone()),
        })
        .collect();
    Ok(Some(Matcher::compile(
        frame,
        &Names::One("*".into()),
        &[],
        &[],
        &defs,
    )?))
}

fn segment_mask(frame: &Frame, segments: &[(String, Value)]) -> Option<Vec<bool>> {
    if segments.is_empty() {
        return None;
    }
    let mut keep = vec![true; frame.actor_count()];
    for (key, want) in segments {
        let col = frame.actor_trait(key);
        for (a, k) in keep.iter_mut().enumerate() {
            let v = col.map_or(&Value::Null, |c| frame.values().value(c[a]));
            *k &= v == want;
        }
    }
    Some(keep)
}

/// A lifecycle run as the CLI and the API ask for it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleRequest {
    /// The date to stand at (RFC 3339 or YYYY-MM-DD); now when absent.
    pub as_of: Option<String>,
    /// A fixed stall threshold (`7d`); each stage's p90 time to the next when absent.
    pub stall_after: Option<String>,
    /// Distribution at the end of each `day`, `week` or `month`.
    pub period: Option<String>,
    /// `stalled` or `all`: list actors instead of the summary.
    pub actors: Option<String>,
}

/// What a lifecycle run returns.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum LifecycleOutput {
    Report(parcours_core::journey::LifecycleReport),
    Actors(Vec<parcours_core::journey::ActorLifecycle>),
}

impl LifecycleRequest {
    /// Validates the request and runs it on a frame built for the journey.
    pub fn run(
        &self,
        def: &JourneyDef,
        frame: &Frame,
        now: i64,
        threads: usize,
    ) -> Result<LifecycleOutput, RequestError> {
        use parcours_core::journey::{
            lifecycle, Bucket, Counting, Engine, LifecycleOptions, RunOptions, Span,
        };
        let as_of = time(&self.as_of, "as_of")?.unwrap_or(now);
        let stall_after = self
            .stall_after
            .as_deref()
            .map(Span::parse)
            .transpose()
            .map_err(request_error("stall_after"))?
            .map(|s| s.micros());
        let period = self
            .period
            .as_deref()
            .map(Bucket::parse)
            .transpose()
            .map_err(request_error("period"))?;
        let only_stalled = match self.actors.as_deref() {
            None => None,
            Some("stalled") => Some(true),
            Some("all") => Some(false),
            Some(other) => {
                return Err(request_error("actors")(format!(
                    "expected stalled or all, not `{other}`"
                )))
            }
        };
        let mut attempts = def.clone();
        attempts.counting = Counting::Attempts;
        let engine =
            Engine::new(&attempts, frame).map_err(|e| request_error("journey")(e.to_string()))?;
        let out = engine.run(&RunOptions {
            threads,
            ..RunOptions::default()
        });
        let options = LifecycleOptions {
            as_of,
            stall_after,
            period,
        };
        let (report, actors) = lifecycle(&attempts, frame, &out, &options);
        Ok(match only_stalled {
            None => LifecycleOutput::Report(report),
            Some(stalled) => LifecycleOutput::Actors(
                actors
                    .into_iter()
                    .filter(|a| !stalled || a.stalled)
                    .collect(),
            ),
        })
    }
}

/// A sessions run as the CLI and the API ask for it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionRequest {
    /// Sessions starting at or after this time (RFC 3339 or YYYY-MM-DD).
    pub from: Option<String>,
    /// Sessions starting before this time.
    pub to: Option<String>,
    /// Inactivity that ends a session (`30m` when absent).
    pub timeout: Option<String>,
    /// Whether a page view with another campaign starts a session (true when absent).
    pub split_on_campaign: Option<bool>,
    /// Rows per table (10 when absent).
    pub top: Option<usize>,
}

impl SessionRequest {
    /// What the frame must carry: persons and the campaign source.
    pub fn spec() -> FrameSpec {
        FrameSpec {
            actor: ActorKind::Person,
            properties: vec!["$source".into()],
            traits: Vec::new(),
        }
    }

    pub fn run(
        &self,
        frame: &Frame,
    ) -> Result<parcours_core::sessions::SessionReport, RequestError> {
        use parcours_core::sessions::{session_report, SessionOptions};
        let defaults = SessionOptions::default();
        let timeout = match &self.timeout {
            Some(t) => parcours_core::journey::Span::parse(t)
                .map_err(request_error("timeout"))?
                .micros(),
            None => defaults.timeout,
        };
        let options = SessionOptions {
            timeout,
            split_on_campaign: self.split_on_campaign.unwrap_or(true),
            from: time(&self.from, "from")?,
            to: time(&self.to, "to")?,
            top: self.top.unwrap_or(defaults.top),
        };
        Ok(session_report(frame, frame.property("$source"), &options))
    }
}

/// A transition graph as the CLI and the API ask for it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransitionRequest {
    /// `name` (default), `touchpoint` or `channel`.
    pub by: Option<String>,
    /// Skip steps to the same node (true when absent).
    pub collapse: Option<bool>,
    /// Transitions whose first event is at or after this time.
    pub from: Option<String>,
    /// Transitions whose first event is before this time.
    pub to: Option<String>,
    /// Edges listed (50 when absent).
    pub top: Option<usize>,
}

impl TransitionRequest {
    pub fn run(
        &self,
        frame: &Frame,
    ) -> Result<parcours_core::transitions::TransitionGraph, RequestError> {
        use parcours_core::transitions::{transition_graph, NodeBy, TransitionOptions};
        let defaults = TransitionOptions::default();
        let options = TransitionOptions {
            by: match &self.by {
                Some(b) => NodeBy::parse(b).map_err(request_error("by"))?,
                None => defaults.by,
            },
            collapse_repeats: self.collapse.unwrap_or(true),
            from: time(&self.from, "from")?,
            to: time(&self.to, "to")?,
            top: self.top.unwrap_or(defaults.top),
        };
        Ok(transition_graph(frame, &options))
    }
}

/// An attribution as the CLI and the API ask for it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributionRequest {
    /// The conversion event names, comma-separated (unless `stage` is given).
    pub conversion: Option<String>,
    /// A stage of the journey (its name or 1-based number): its completions convert.
    pub stage: Option<String>,
    /// HTTP only: the stored journey `stage` belongs to (the CLI takes `--journey FILE`).
    pub journey: Option<i64>,
    /// `channel` (default), `campaign`, `touchpoint` or `property:KEY`.
    pub touch: Option<String>,
    /// Models, comma-separated, or `all` (`first,last,linear,markov` when absent).
    pub models: Option<String>,
    /// How far before a conversion touches count (`30d` when absent).
    pub lookback: Option<String>,
    /// Half-life of the time-decay model (`7d` when absent).
    pub half_life: Option<String>,
    /// Weights of the custom model: `first,middle,last`.
    pub weights: Option<String>,
    /// Order of the Markov chain, 1 to 3 (1 when absent).
    pub order: Option<usize>,
    /// Milestone event names for W-shaped, comma-separated (with `stage`, the stages
    /// between the first and the converting one when absent).
    pub milestones: Option<String>,
    /// Conversions at or after this time.
    pub from: Option<String>,
    /// Conversions before this time.
    pub to: Option<String>,
    /// Keep a run of the same touch as several touches (collapsed when absent).
    pub keep_repeats: Option<bool>,
    /// The property holding a conversion's value (`$revenue` when absent; `none`).
    pub value: Option<String>,
    /// Permutations drawn when Shapley values are sampled (2000 when absent).
    pub permutations: Option<usize>,
    /// Markov transitions listed (500 when absent).
    pub transitions: Option<usize>,
}

/// A validated attribution: what the frame must carry and how to read it.
#[derive(Debug, Clone)]
pub struct AttributionPlan {
    pub spec: FrameSpec,
    def: Option<JourneyDef>,
    conversion: Conversion,
    milestones: Milestones,
    extract: parcours_core::attribution::extract::ExtractOptions,
    pub options: parcours_core::attribution::AttributionOptions,
}

#[derive(Debug, Clone)]
enum Conversion {
    Events(Vec<String>),
    Stage(usize),
}

#[derive(Debug, Clone)]
enum Milestones {
    Events(Vec<String>),
    Stages(Vec<usize>),
}

fn names(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl AttributionRequest {
    /// Validates the request; `def` is the journey `stage` refers to.
    pub fn plan(&self, def: Option<JourneyDef>) -> Result<AttributionPlan, RequestError> {
        use parcours_core::attribution::extract::{ExtractOptions, TouchBy};
        use parcours_core::attribution::{parse_models, parse_positions, AttributionOptions};
        use parcours_core::journey::Span;
        let span = |text: &Option<String>, field: &'static str, default: i64| match text {
            Some(t) => Span::parse(t)
                .map(|s| s.micros())
                .map_err(request_error(field)),
            None => Ok(default),
        };
        let day = 86_400 * parcours_core::time::MICROS_PER_SECOND;
        let lookback = span(&self.lookback, "lookback", 30 * day)?;
        let half_life = span(&self.half_life, "half_life", 7 * day)?;
        let custom = self
            .weights
            .as_deref()
            .map(parse_positions)
            .transpose()
            .map_err(request_error("weights"))?;
        let models = parse_models(
            self.models.as_deref().unwrap_or("first,last,linear,markov"),
            half_life as f64 / parcours_core::time::MICROS_PER_SECOND as f64,
            custom,
        )
        .map_err(request_error("models"))?;
        let order = self.order.unwrap_or(1);
        if !(1..=3).contains(&order) {
            return Err(request_error("order")(format!(
                "must be 1, 2 or 3, got {order}"
            )));
        }
        let touch = TouchBy::parse(self.touch.as_deref().unwrap_or("channel"))
            .map_err(request_error("touch"))?;
        let (from, to) = range(&self.from, &self.to)?;
        let (conversion, milestones) = match (&self.stage, &def, &self.conversion) {
            (Some(_), _, Some(_)) => {
                return Err(request_error("stage")(
                    "give the conversion events or a journey stage, not both".into(),
                ))
            }
            (Some(stage), Some(def), None) => {
                let k = def.stage_ref(stage).map_err(request_error("stage"))?;
                let milestones = match &self.milestones {
                    Some(m) => Milestones::Events(names(m)),
                    None => Milestones::Stages((1..k).collect()),
                };
                (Conversion::Stage(k), milestones)
            }
            (Some(_), None, None) => {
                return Err(request_error("stage")("a stage needs its journey".into()))
            }
            (None, _, Some(c)) if !names(c).is_empty() => (
                Conversion::Events(names(c)),
                Milestones::Events(self.milestones.as_deref().map(names).unwrap_or_default()),
            ),
            (None, _, _) => {
                return Err(request_error("conversion")(
                    "name the conversion event(s), or a journey stage".into(),
                ))
            }
        };
        let value_property = match self.value.as_deref() {
            None => Some("$revenue".to_string()),
            Some("none") | Some("") => None,
            Some(k) => Some(k.to_string()),
        };
        let (actor, mut properties) = match (&conversion, &def) {
            (Conversion::Stage(_), Some(def)) => (def.actor, def.properties()),
            _ => (ActorKind::Person, Vec::new()),
        };
        if let (Conversion::Stage(_), Some(def)) = (&conversion, &def) {
            if def.actor == ActorKind::Deal {
                properties.push(crate::analysis::DEAL_PROPERTY.into());
            }
        }
        properties.extend(value_property.clone());
        properties.extend(touch.property().map(String::from));
        properties.sort();
        properties.dedup();
        Ok(AttributionPlan {
            spec: FrameSpec {
                actor,
                properties,
                traits: Vec::new(),
            },
            def: if matches!(conversion, Conversion::Stage(_)) {
                def
            } else {
                None
            },
            conversion,
            milestones,
            extract: ExtractOptions {
                touch,
                lookback,
                from,
                to,
                collapse_repeats: !self.keep_repeats.unwrap_or(false),
                non_converting: true,
                value_property,
            },
            options: AttributionOptions {
                models,
                markov_order: order,
                shapley_permutations: self.permutations.unwrap_or(2000).max(1),
                transitions_limit: self.transitions.unwrap_or(500),
                costs: None,
            },
        })
    }
}

impl AttributionPlan {
    /// The paths of `frame` (running the journey when conversions are a stage).
    pub fn paths(
        &self,
        frame: &Frame,
    ) -> Result<parcours_core::attribution::PathSet, RequestError> {
        use parcours_core::attribution::extract::{extract, stage_rows};
        let by_name = |list: &[String]| {
            let mut table = vec![false; frame.names().len()];
            for n in list {
                if let Some(id) = frame.names().get(n) {
                    table[id as usize] = true;
                }
            }
            table
        };
        let (conv, milestone): (Vec<bool>, Vec<bool>) = match (&self.conversion, &self.def) {
            (Conversion::Stage(k), Some(def)) => {
                let engine = parcours_core::journey::Engine::new(def, frame)
                    .map_err(|e| request_error("journey")(e.to_string()))?;
                let out = engine.run(&parcours_core::journey::RunOptions::default());
                let mut stages = vec![*k];
                if let Milestones::Stages(s) = &self.milestones {
                    stages.extend(s);
                }
                let mut rows = stage_rows(frame, &out, &stages);
                let conv = rows.remove(0);
                let milestone = match &self.milestones {
                    Milestones::Stages(_) => {
                        rows.into_iter()
                            .fold(vec![false; frame.len()], |mut acc, r| {
                                acc.iter_mut().zip(r).for_each(|(a, b)| *a |= b);
                                acc
                            })
                    }
                    Milestones::Events(m) => {
                        let t = by_name(m);
                        frame.name().iter().map(|&n| t[n as usize]).collect()
                    }
                };
                (conv, milestone)
            }
            (Conversion::Events(c), _) => {
                let t = by_name(c);
                let conv = frame.name().iter().map(|&n| t[n as usize]).collect();
                let m = match &self.milestones {
                    Milestones::Events(m) => by_name(m),
                    Milestones::Stages(_) => vec![false; frame.names().len()],
                };
                let milestone = frame.name().iter().map(|&n| m[n as usize]).collect();
                (conv, milestone)
            }
            (Conversion::Stage(_), None) => unreachable!("plan checks the journey"),
        };
        extract(frame, |i| conv[i], |i| milestone[i], &self.extract).map_err(request_error("touch"))
    }

    /// Whether ad costs apply: touches are channels or campaigns.
    pub fn uses_costs(&self) -> bool {
        use parcours_core::attribution::extract::TouchBy;
        matches!(self.extract.touch, TouchBy::Channel | TouchBy::Campaign)
    }

    /// Spend per touch from imported ad costs, over the days of the range, when touches
    /// are channels or campaigns.
    pub fn costs(
        &self,
        rows: &[parcours_store::AdCost],
    ) -> Option<std::collections::HashMap<String, f64>> {
        use parcours_core::attribution::extract::TouchBy;
        if rows.is_empty() || !self.uses_costs() {
            return None;
        }
        let by_campaign = self.extract.touch == TouchBy::Campaign;
        let mut out = std::collections::HashMap::new();
        for r in rows {
            let Ok(day) = parcours_core::time::parse_lenient(&r.day) else {
                continue;
            };
            if self.extract.from.is_some_and(|f| day < f)
                || self.extract.to.is_some_and(|t| day >= t)
            {
                continue;
            }
            let key = if by_campaign { &r.campaign } else { &r.channel };
            *out.entry(key.clone()).or_insert(0.0) += r.cost;
        }
        Some(out)
    }

    pub fn execute(
        &self,
        frame: &Frame,
        costs: &[parcours_store::AdCost],
    ) -> Result<parcours_core::attribution::AttributionReport, RequestError> {
        let paths = self.paths(frame)?;
        let mut options = self.options.clone();
        options.costs = self.costs(costs);
        parcours_core::attribution::attribute(&paths, &options).map_err(request_error("models"))
    }
}

/// A path analysis as the CLI and the API ask for it (flow, step matrix, variants or
/// loops; each reads the options that concern it).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathsRequest {
    /// Nodes: event `name` (default), `touchpoint` or `channel`.
    pub by: Option<String>,
    /// Keep a run of the same node as several visits (collapsed when absent).
    pub keep_repeats: Option<bool>,
    /// Events at or after this time.
    pub from: Option<String>,
    /// Events before this time.
    pub to: Option<String>,
    /// Flow: forward from this event.
    pub start: Option<String>,
    /// Flow: backward from this event.
    pub end: Option<String>,
    /// Flow: which occurrence anchors (`first` when absent, `last`, or N).
    pub occurrence: Option<String>,
    /// Flow: HTTP only, the stored journey of `stage` / `dropped_after`.
    pub journey: Option<i64>,
    /// Flow: forward from the completion of this stage of the journey.
    pub stage: Option<String>,
    /// Flow: forward from stage K's completion, for the actors who went no further.
    pub dropped_after: Option<String>,
    /// Flow: steps (5); matrix: columns after the start or the centre (10).
    pub steps: Option<usize>,
    /// Flow: nodes per step (5); variants and loops: rows (10).
    pub top: Option<usize>,
    /// Matrix: rows whose largest share is below this are merged.
    pub threshold: Option<f64>,
    /// Matrix: target nodes, comma-separated.
    pub targets: Option<String>,
    /// Matrix: centre on this node.
    pub center: Option<String>,
    /// Matrix: which occurrence of the centre (1 when absent).
    pub center_occurrence: Option<usize>,
    /// Matrix: columns before the centre (0 when absent).
    pub left: Option<usize>,
    /// Only actors whose trait has this value: `KEY=VALUE` (matrix: segment A).
    pub segment: Option<String>,
    /// Matrix: segment B, `KEY=VALUE` (every actor outside A when absent and `compare`
    /// is `rest`).
    pub compare: Option<String>,
    /// Variants: the top variants within each value of this trait.
    pub per: Option<String>,
}

/// Which path analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathsKind {
    Flow,
    Matrix,
    Variants,
    Loops,
}

/// A validated path analysis.
#[derive(Debug, Clone)]
pub struct PathsPlan {
    pub spec: FrameSpec,
    kind: PathsKind,
    request: PathsRequest,
    walk: parcours_core::paths::Walk,
    def: Option<JourneyDef>,
    anchor: Anchor,
    segment: Option<(String, Value)>,
    compare: Option<Compare>,
}

#[derive(Debug, Clone)]
enum Anchor {
    None,
    Event(String, parcours_core::paths::flow::Direction),
    Stage(usize),
    Dropped(usize),
}

/// What a path analysis returns.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum PathsOutput {
    Flow(parcours_core::paths::flow::Flow),
    Matrix(parcours_core::paths::matrix::StepMatrix),
    Variants(parcours_core::paths::variants::Variants),
    VariantsPer(Vec<SegmentVariants>),
    Loops(parcours_core::paths::variants::Loops),
}

/// The variants of one value of a trait.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentVariants {
    pub value: String,
    #[serde(flatten)]
    pub variants: parcours_core::paths::variants::Variants,
}

/// `NAME=VALUE`, the value read as JSON when it is a number or a boolean (as `--where`
/// and `--segment` of journey runs); the error says what was expected.
pub fn name_value(text: &str) -> Result<(String, Value), String> {
    let (k, v) = text
        .split_once('=')
        .filter(|(k, _)| !k.trim().is_empty())
        .ok_or_else(|| format!("`{text}`: expected NAME=VALUE"))?;
    let value = match serde_json::from_str::<Value>(v) {
        Ok(n @ (Value::Number(_) | Value::Bool(_))) => n,
        _ => Value::String(v.to_string()),
    };
    Ok((k.trim().to_string(), value))
}

fn segment_option(
    text: &Option<String>,
    field: &'static str,
) -> Result<Option<(String, Value)>, RequestError> {
    text.as_deref()
        .map(name_value)
        .transpose()
        .map_err(request_error(field))
}

/// The other side of a step-matrix difference.
#[derive(Debug, Clone)]
enum Compare {
    /// Every actor outside the segment.
    Rest,
    Segment((String, Value)),
}

impl PathsRequest {
    pub fn plan(
        &self,
        kind: PathsKind,
        def: Option<JourneyDef>,
    ) -> Result<PathsPlan, RequestError> {
        use parcours_core::paths::flow::{Direction, MAX_STEPS};
        use parcours_core::transitions::NodeBy;
        let by = match &self.by {
            Some(b) => NodeBy::parse(b).map_err(request_error("by"))?,
            None => NodeBy::Name,
        };
        let (from, to) = range(&self.from, &self.to)?;
        let walk = parcours_core::paths::Walk {
            by,
            collapse: !self.keep_repeats.unwrap_or(false),
            from,
            to,
        };
        if let Some(o) = &self.occurrence {
            parcours_core::paths::Occurrence::parse(o).map_err(request_error("occurrence"))?;
        }
        let anchor = match kind {
            PathsKind::Flow => {
                let stage = |text: &str, field| {
                    def.as_ref()
                        .ok_or_else(|| request_error(field)("needs a journey".into()))?
                        .stage_ref(text)
                        .map_err(request_error(field))
                };
                match (&self.start, &self.end, &self.stage, &self.dropped_after) {
                    (Some(s), None, None, None) => Anchor::Event(s.clone(), Direction::Forward),
                    (None, Some(e), None, None) => Anchor::Event(e.clone(), Direction::Backward),
                    (None, None, Some(s), None) => Anchor::Stage(stage(s, "stage")?),
                    (None, None, None, Some(s)) => Anchor::Dropped(stage(s, "dropped_after")?),
                    _ => {
                        return Err(request_error("start")(
                            "give one of start, end, stage or dropped_after".into(),
                        ))
                    }
                }
            }
            _ => Anchor::None,
        };
        let steps = self
            .steps
            .unwrap_or(if kind == PathsKind::Flow { 5 } else { 10 });
        if kind == PathsKind::Flow && !(1..=MAX_STEPS).contains(&steps) {
            return Err(request_error("steps")(format!(
                "must be 1 to {MAX_STEPS}, got {steps}"
            )));
        }
        if kind == PathsKind::Matrix && steps > 100 {
            return Err(request_error("steps")(format!(
                "must be at most 100, got {steps}"
            )));
        }
        if let Some(t) = self.threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(request_error("threshold")(format!(
                    "must be between 0 and 1, got {t}"
                )));
            }
        }
        if self.center_occurrence == Some(0) {
            return Err(request_error("center_occurrence")("counts from 1".into()));
        }
        let segment = segment_option(&self.segment, "segment")?;
        let compare = match self.compare.as_deref() {
            Some("rest") => Some(Compare::Rest),
            _ => segment_option(&self.compare, "compare")?.map(Compare::Segment),
        };
        if compare.is_some() && segment.is_none() {
            return Err(request_error("compare")("compares with a `segment`".into()));
        }
        let mut traits: Vec<String> = segment.iter().map(|(k, _)| k.clone()).collect();
        if let Some(Compare::Segment((k, _))) = &compare {
            traits.push(k.clone());
        }
        traits.extend(self.per.clone());
        traits.sort();
        traits.dedup();
        let (actor, mut properties) = match (&anchor, &def) {
            (Anchor::Stage(_) | Anchor::Dropped(_), Some(def)) => (def.actor, def.properties()),
            _ => (ActorKind::Person, Vec::new()),
        };
        if actor == ActorKind::Deal {
            properties.push(crate::analysis::DEAL_PROPERTY.into());
        }
        properties.sort();
        properties.dedup();
        Ok(PathsPlan {
            spec: FrameSpec {
                actor,
                properties,
                traits,
            },
            kind,
            request: self.clone(),
            walk,
            def: matches!(anchor, Anchor::Stage(_) | Anchor::Dropped(_))
                .then_some(def)
                .flatten(),
            anchor,
            segment,
            compare,
        })
    }
}

impl PathsPlan {
    pub fn execute(&self, frame: &Frame) -> Result<PathsOutput, RequestError> {
        use parcours_core::paths::{flow, matrix, variants};
        let keep = segment_mask(frame, self.segment.as_slice());
        let r = &self.request;
        Ok(match self.kind {
            PathsKind::Flow => {
                let (anchors, direction) = self.anchors(frame)?;
                let anchors: Vec<u32> = match &keep {
                    Some(k) => anchors
                        .iter()
                        .zip(k)
                        .map(|(&a, &k)| {
                            if k {
                                a
                            } else {
                                parcours_core::paths::NO_ANCHOR
                            }
                        })
                        .collect(),
                    None => anchors,
                };
                let options = flow::FlowOptions {
                    walk: self.walk,
                    direction,
                    steps: r.steps.unwrap_or(5),
                    top: r.top.unwrap_or(5),
                };
                PathsOutput::Flow(flow::flow(frame, &anchors, &options))
            }
            PathsKind::Matrix => {
                let options = matrix::MatrixOptions {
                    walk: self.walk,
                    steps: r.steps.unwrap_or(10),
                    threshold: r.threshold.unwrap_or(0.0),
                    targets: r.targets.as_deref().map(names).unwrap_or_default(),
                    center: r.center.as_ref().map(|c| matrix::Center {
                        node: c.clone(),
                        occurrence: r.center_occurrence.unwrap_or(1),
                        left: r.left.unwrap_or(0),
                    }),
                };
                match (&keep, &self.compare) {
                    (Some(a), Some(other)) => {
                        let b: Vec<bool> = match other {
                            Compare::Rest => a.iter().map(|x| !x).collect(),
                            Compare::Segment(s) => {
                                segment_mask(frame, std::slice::from_ref(s)).unwrap_or_default()
                            }
                        };
                        PathsOutput::Matrix(matrix::step_matrix_difference(frame, a, &b, &options))
                    }
                    _ => PathsOutput::Matrix(matrix::step_matrix(frame, keep.as_deref(), &options)),
                }
            }
            PathsKind::Variants => {
                let top = r.top.unwrap_or(10);
                match &r.per {
                    None => PathsOutput::Variants(variants::variants(
                        frame,
                        &self.walk,
                        keep.as_deref(),
                        top,
                    )),
                    Some(key) => {
                        // The ten most common values of the trait, each with its variants.
                        let col = frame.actor_trait(key);
                        let mut counts: std::collections::HashMap<u32, u64> =
                            std::collections::HashMap::new();
                        for a in 0..frame.actor_count() {
                            if keep.as_ref().is_some_and(|k| !k[a]) {
                                continue;
                            }
                            *counts.entry(col.map_or(0, |c| c[a])).or_default() += 1;
                        }
                        let mut values: Vec<(u32, u64)> = counts.into_iter().collect();
                        values.sort_by(|x, y| {
                            y.1.cmp(&x.1).then_with(|| {
                                frame.values().label(x.0).cmp(&frame.values().label(y.0))
                            })
                        });
                        values.truncate(10);
                        let out = values
                            .into_iter()
                            .map(|(id, _)| {
                                let mask: Vec<bool> = (0..frame.actor_count())
                                    .map(|a| {
                                        col.map_or(0, |c| c[a]) == id
                                            && keep.as_ref().is_none_or(|k| k[a])
                                    })
                                    .collect();
                                SegmentVariants {
                                    value: frame.values().label(id),
                                    variants: variants::variants(
                                        frame,
                                        &self.walk,
                                        Some(&mask),
                                        top,
                                    ),
                                }
                            })
                            .collect();
                        PathsOutput::VariantsPer(out)
                    }
                }
            }
            PathsKind::Loops => PathsOutput::Loops(variants::loops(
                frame,
                &self.walk,
                keep.as_deref(),
                r.top.unwrap_or(10),
            )),
        })
    }

    /// Per actor the anchor row, and the direction.
    fn anchors(
        &self,
        frame: &Frame,
    ) -> Result<(Vec<u32>, parcours_core::paths::flow::Direction), RequestError> {
        use parcours_core::paths::flow::Direction;
        use parcours_core::paths::{anchors, Occurrence, NO_ANCHOR};
        let occurrence = Occurrence::parse(self.request.occurrence.as_deref().unwrap_or("first"))
            .map_err(request_error("occurrence"))?;
        match (&self.anchor, &self.def) {
            (Anchor::Event(name, direction), _) => {
                let id = frame.names().get(name);
                let names = frame.name();
                Ok((
                    anchors(frame, |i| Some(names[i]) == id, occurrence),
                    *direction,
                ))
            }
            (Anchor::Stage(k) | Anchor::Dropped(k), Some(def)) => {
                let engine = parcours_core::journey::Engine::new(def, frame)
                    .map_err(|e| request_error("journey")(e.to_string()))?;
                let out = engine.run(&parcours_core::journey::RunOptions::default());
                let mut anchor = vec![NO_ANCHOR; frame.actor_count()];
                // Per actor, the attempt that went furthest (the earliest among equals).
                let mut best: Vec<Option<(i16, usize)>> = vec![None; frame.actor_count()];
                for j in 0..out.len() {
                    let a = out.actor[j] as usize;
                    if best[a].is_none_or(|(r, _)| out.reached[j] > r) {
                        best[a] = Some((out.reached[j], j));
                    }
                }
                let dropped = matches!(self.anchor, Anchor::Dropped(_));
                for (a, b) in best.iter().enumerate() {
                    let Some((reached, j)) = *b else { continue };
                    if dropped && i64::from(reached) != *k as i64 {
                        continue;
                    }
                    if let Some(row) = out.stage_row(j, *k, frame.ts()) {
                        anchor[a] = row;
                    }
                }
                Ok((anchor, Direction::Forward))
            }
            _ => Err(request_error("start")(
                "give one of start, end, stage or dropped_after".into(),
            )),
        }
    }
}

/// Retention as the CLI and the API ask for it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionRequest {
    /// The event that puts an actor in a cohort (any event when absent).
    pub start: Option<String>,
    /// The event that counts as a return, and as activity for the lifecycle (any event
    /// when absent).
    #[serde(rename = "return")]
    pub returns: Option<String>,
    /// `day`, `week` (default) or `month`.
    pub period: Option<String>,
    /// Columns 0 … N (8 when absent).
    pub periods: Option<usize>,
    /// Every period with a start event counts (first-time cohorts when absent).
    pub recurring: Option<bool>,
    /// Retained at N when returning at N or later.
    pub on_or_after: Option<bool>,
    /// Cohort starts (and lifecycle periods) at or after this time.
    pub from: Option<String>,
    /// Cohort starts before this time.
    pub to: Option<String>,
    /// The end of the observed data (the last event's time when absent).
    pub as_of: Option<String>,
    /// Only actors whose trait has this value: `KEY=VALUE`.
    pub segment: Option<String>,
    /// The property holding the value for lifetime value (`$revenue` when absent; `none`).
    pub value: Option<String>,
}

/// A validated retention run.
#[derive(Debug, Clone)]
pub struct RetentionPlan {
    pub spec: FrameSpec,
    request: RetentionRequest,
    options: parcours_core::retention::RetentionOptions,
    segment: Option<(String, Value)>,
    value: Option<String>,
}

impl RetentionRequest {
    pub fn plan(&self) -> Result<RetentionPlan, RequestError> {
        use parcours_core::journey::Bucket;
        let period = period_or(&self.period, Bucket::Week)?;
        let periods = self.periods.unwrap_or(8);
        if periods > 400 {
            return Err(request_error("periods")(format!(
                "must be at most 400, got {periods}"
            )));
        }
        let (from, to) = range(&self.from, &self.to)?;
        let segment = segment_option(&self.segment, "segment")?;
        let value = match self.value.as_deref() {
            None => Some("$revenue".to_string()),
            Some("none") | Some("") => None,
            Some(k) => Some(k.to_string()),
        };
        Ok(RetentionPlan {
            spec: FrameSpec {
                actor: ActorKind::Person,
                properties: value.iter().cloned().collect(),
                traits: segment.iter().map(|(k, _)| k.clone()).collect(),
            },
            request: self.clone(),
            options: parcours_core::retention::RetentionOptions {
                period,
                periods,
                recurring: self.recurring.unwrap_or(false),
                on_or_after: self.on_or_after.unwrap_or(false),
                from,
                to,
                as_of: time(&self.as_of, "as_of")?,
            },
            segment,
            value,
        })
    }
}

impl RetentionPlan {
    pub fn execute(
        &self,
        frame: &Frame,
    ) -> Result<parcours_core::retention::RetentionReport, RequestError> {
        let keep = segment_mask(frame, self.segment.as_slice());
        let names = frame.name();
        // A name absent from the data matches nothing (not everything).
        let id = |n: &Option<String>| n.as_ref().map(|n| frame.names().get(n));
        let (start, back) = (id(&self.request.start), id(&self.request.returns));
        let is = |want: Option<Option<u32>>, i: usize| want.is_none_or(|w| w == Some(names[i]));
        let value = self
            .value
            .as_deref()
            .map(|k| {
                frame
                    .property(k)
                    .ok_or_else(|| request_error("value")(format!("no property `{k}`")))
            })
            .transpose()?;
        Ok(parcours_core::retention::retention(
            frame,
            |i| is(start, i),
            |i| is(back, i),
            value,
            keep.as_deref(),
            &self.options,
        ))
    }
}

/// The built-in KPI catalog (`src/kpis.toml`).
pub fn builtin_kpis() -> parcours_core::kpi::Catalog {
    parcours_core::kpi::Catalog::from_toml(include_str!("kpis.toml"))
        .expect("the built-in catalog is valid (a test checks it)")
}

/// A workspace's own KPI definitions (saved through the API).
pub fn stored_kpis(
    store: &dyn parcours_store::Store,
    ws: parcours_store::WorkspaceId,
) -> anyhow::Result<parcours_core::kpi::Catalog> {
    let kpis = store
        .kpis(ws)?
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<Vec<parcours_core::kpi::KpiDef>, _>>()?;
    Ok(parcours_core::kpi::Catalog { kpis })
}

/// A KPI run as the CLI and the API ask for it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpiRequest {
    /// `day`, `week` (default) or `month`.
    pub period: Option<String>,
    /// Events at or after this time.
    pub from: Option<String>,
    /// Events before this time.
    pub to: Option<String>,
    /// Only the KPIs of this stage.
    pub stage: Option<String>,
    /// Only these KPIs (ids, comma-separated).
    pub only: Option<String>,
}

/// A validated KPI run.
#[derive(Debug, Clone)]
pub struct KpiPlan {
    pub spec: FrameSpec,
    pub catalog: parcours_core::kpi::Catalog,
    options: parcours_core::kpi::KpiOptions,
}

impl KpiRequest {
    /// The KPIs of `catalog` this request selects, and what their frame needs.
    pub fn plan(&self, catalog: parcours_core::kpi::Catalog) -> Result<KpiPlan, RequestError> {
        let period = period_or(&self.period, parcours_core::journey::Bucket::Week)?;
        let (from, to) = range(&self.from, &self.to)?;
        let only = self.only.as_deref().map(names);
        if let Some(ids) = &only {
            if let Some(missing) = ids
                .iter()
                .find(|id| !catalog.kpis.iter().any(|k| &k.id == *id))
            {
                return Err(request_error("only")(format!(
                    "no KPI `{missing}` in the catalog"
                )));
            }
        }
        let kpis: Vec<_> = catalog
            .kpis
            .into_iter()
            .filter(|k| self.stage.as_ref().is_none_or(|s| &k.stage == s))
            .filter(|k| only.as_ref().is_none_or(|ids| ids.contains(&k.id)))
            .collect();
        if kpis.is_empty() {
            return Err(request_error("stage")(
                "no KPI of the catalog matches".into(),
            ));
        }
        let mut properties: Vec<String> = kpis.iter().flat_map(|k| k.properties()).collect();
        properties.sort();
        properties.dedup();
        Ok(KpiPlan {
            spec: FrameSpec {
                actor: ActorKind::Person,
                properties,
                traits: Vec::new(),
            },
            catalog: parcours_core::kpi::Catalog { kpis },
            options: parcours_core::kpi::KpiOptions { period, from, to },
        })
    }
}

impl KpiPlan {
    pub fn execute(
        &self,
        frame: &Frame,
    ) -> Result<Vec<parcours_core::kpi::KpiResult>, RequestError> {
        parcours_core::kpi::evaluate_catalog(frame, &self.catalog, &self.options).map_err(|e| {
            RequestError {
                field: "catalog",
                message: e.to_string(),
            }
        })
    }
}

/// Survey scores: what the CLI and `GET /api/v1/surveys/scores` take.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyScoresRequest {
    /// The survey-response event (`Survey Responded` when absent).
    pub event: Option<String>,
    /// Breakdowns, comma-separated: `touchpoint`, `stage`, `channel`, `trait:KEY`,
    /// `property:KEY`.
    pub by: Option<String>,
    /// Scales of custom surveys, comma-separated `ID=SCALE` (`stars=rating:1-5`).
    pub scales: Option<String>,
    /// Scales of the workspace's survey definitions (set by the server), after `scales`:
    /// a scale given in `scales` wins.
    #[serde(skip)]
    pub defined_scales: SurveyScales,
    /// Only this survey (its id: `nps`, `csat`, …).
    pub survey: Option<String>,
    /// `day`, `week` (default) or `month`, for the trend.
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only actors whose trait has this value: `KEY=VALUE`.
    pub segment: Option<String>,
}

/// A validated survey-score run.
#[derive(Debug, Clone)]
pub struct SurveyScoresPlan {
    pub spec: FrameSpec,
    options: parcours_core::voice::surveys::SurveyOptions,
    survey: Option<String>,
    segment: Option<(String, Value)>,
}

impl SurveyScoresRequest {
    pub fn plan(&self) -> Result<SurveyScoresPlan, RequestError> {
        use parcours_core::journey::Bucket;
        use parcours_core::voice::surveys::{Dimension, SurveyFields, SurveyOptions};
        let by = names(self.by.as_deref().unwrap_or(""))
            .iter()
            .map(|d| Dimension::parse(d))
            .collect::<Result<Vec<_>, _>>()
            .map_err(request_error("by"))?;
        let mut scales = survey_scales(&self.scales)?;
        scales.extend(self.defined_scales.iter().cloned());
        let period = period_or(&self.period, Bucket::Week)?;
        let (from, to) = range(&self.from, &self.to)?;
        let segment = segment_option(&self.segment, "segment")?;
        let mut fields = SurveyFields::default();
        if let Some(e) = self.event.as_deref().filter(|e| !e.trim().is_empty()) {
            fields.event = e.to_string();
        }
        let mut properties = fields.properties();
        let mut traits: Vec<String> = segment.iter().map(|(k, _)| k.clone()).collect();
        for d in &by {
            match d {
                Dimension::Property(k) => properties.push(k.clone()),
                Dimension::Trait(k) => traits.push(k.clone()),
                _ => {}
            }
        }
        properties.sort();
        properties.dedup();
        traits.sort();
        traits.dedup();
        Ok(SurveyScoresPlan {
            spec: FrameSpec {
                actor: ActorKind::Person,
                properties,
                traits,
            },
            options: SurveyOptions {
                fields,
                scales,
                by,
                period,
                from,
                to,
            },
            survey: self.survey.clone().filter(|s| !s.trim().is_empty()),
            segment,
        })
    }
}

impl SurveyScoresPlan {
    pub fn execute(
        &self,
        frame: &Frame,
    ) -> Result<parcours_core::voice::surveys::SurveyReport, RequestError> {
        let keep = segment_mask(frame, self.segment.as_slice());
        let mut report =
            parcours_core::voice::surveys::survey_report(frame, &self.options, keep.as_deref())
                .map_err(request_error("by"))?;
        if let Some(id) = &self.survey {
            report.surveys.retain(|s| &s.survey == id);
            report.skipped.retain(|s| &s.survey == id);
        }
        Ok(report)
    }
}

/// The scales of custom surveys, by survey id.
pub type SurveyScales = Vec<(String, Scale)>;

/// `ID=SCALE,…`: the scales of custom surveys.
fn survey_scales(text: &Option<String>) -> Result<SurveyScales, RequestError> {
    names(text.as_deref().unwrap_or(""))
        .iter()
        .map(|s| {
            let (id, scale) = s
                .split_once('=')
                .ok_or_else(|| format!("`{s}`: expected ID=SCALE, e.g. stars=rating:1-5"))?;
            Ok((
                id.trim().to_string(),
                parcours_core::voice::scores::Scale::parse(scale)?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(request_error("scales"))
}

/// The emotion per stage and touchpoint: what the CLI and `GET /api/v1/emotion` take.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmotionRequest {
    /// The survey-response event (`Survey Responded` when absent).
    pub event: Option<String>,
    /// Scales of custom surveys, comma-separated `ID=SCALE`.
    pub scales: Option<String>,
    /// Scales of the workspace's survey definitions (set by the server), after `scales`:
    /// a scale given in `scales` wins.
    #[serde(skip)]
    pub defined_scales: SurveyScales,
    /// `PROPERTY=SCALE` for ratings on any event (`rating=rating:1-5` when absent), or
    /// `none`.
    pub rating: Option<String>,
    /// Properties holding free text, comma-separated (`comment,text,note` when absent).
    pub text: Option<String>,
    /// Stages of events without a `stage` property, comma-separated `EVENT=STAGE`.
    pub stage_of: Option<String>,
    /// A stored journey whose stages place the events (HTTP).
    pub journey: Option<i64>,
    /// Stages of events from a journey definition (the CLI's `--journey FILE`, the
    /// server's `journey`); `stage_of` comes first.
    #[serde(skip)]
    pub journey_stages: Vec<(String, String)>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only actors whose trait has this value: `KEY=VALUE`.
    pub segment: Option<String>,
}

/// A validated emotion run.
#[derive(Debug, Clone)]
pub struct EmotionPlan {
    pub spec: FrameSpec,
    options: parcours_core::voice::emotion::EmotionOptions,
    segment: Option<(String, Value)>,
}

impl EmotionRequest {
    pub fn plan(&self) -> Result<EmotionPlan, RequestError> {
        let options = feedback_options(FeedbackFields {
            event: &self.event,
            scales: &self.scales,
            defined_scales: &self.defined_scales,
            rating: &self.rating,
            text: &self.text,
            stage_of: &self.stage_of,
            journey_stages: &self.journey_stages,
            from: &self.from,
            to: &self.to,
        })?;
        let segment = segment_option(&self.segment, "segment")?;
        Ok(EmotionPlan {
            spec: feedback_spec(&options, &segment),
            options,
            segment,
        })
    }
}

/// The request fields every voice-of-the-customer report reads feedback with.
struct FeedbackFields<'a> {
    event: &'a Option<String>,
    scales: &'a Option<String>,
    defined_scales: &'a [(String, Scale)],
    rating: &'a Option<String>,
    text: &'a Option<String>,
    stage_of: &'a Option<String>,
    journey_stages: &'a [(String, String)],
    from: &'a Option<String>,
    to: &'a Option<String>,
}

fn feedback_options(
    f: FeedbackFields,
) -> Result<parcours_core::voice::feedback::FeedbackOptions, RequestError> {
    let mut options = parcours_core::voice::feedback::FeedbackOptions {
        scales: {
            let mut scales = survey_scales(f.scales)?;
            scales.extend(f.defined_scales.iter().cloned());
            scales
        },
        ..Default::default()
    };
    if let Some(e) = f.event.as_deref().filter(|e| !e.trim().is_empty()) {
        options.fields.event = e.to_string();
    }
    match f.rating.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("none") => options.rating = None,
        Some(r) => {
            let (k, scale) = r
                .split_once('=')
                .ok_or_else(|| format!("`{r}`: expected PROPERTY=SCALE or none"))
                .and_then(|(k, s)| {
                    Ok((
                        k.trim().to_string(),
                        parcours_core::voice::scores::Scale::parse(s)?,
                    ))
                })
                .map_err(request_error("rating"))?;
            options.rating = Some((k, scale));
        }
    }
    let text = names(f.text.as_deref().unwrap_or(""));
    if !text.is_empty() {
        options.text_fields = text;
    }
    options.stage_of = pairs(f.stage_of, '=', "EVENT=STAGE", "stage_of")?;
    for (e, st) in f.journey_stages {
        if !options.stage_of.iter().any(|(x, _)| x == e) {
            options.stage_of.push((e.clone(), st.clone()));
        }
    }
    (options.from, options.to) = range(f.from, f.to)?;
    Ok(options)
}

/// A comma-separated list of `A<sep>B` pairs (`EVENT=STAGE`, `OPEN>CLOSE`), both sides
/// required.
fn pairs(
    text: &Option<String>,
    sep: char,
    shape: &str,
    field: &'static str,
) -> Result<Vec<(String, String)>, RequestError> {
    names(text.as_deref().unwrap_or(""))
        .iter()
        .map(|x| {
            x.split_once(sep)
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                .ok_or_else(|| format!("`{x}`: expected {shape}"))
        })
        .collect::<Result<_, _>>()
        .map_err(request_error(field))
}

/// A count option, `default` when absent, refused above `max`.
fn bounded(
    v: Option<usize>,
    default: usize,
    max: usize,
    field: &'static str,
) -> Result<usize, RequestError> {
    let v = v.unwrap_or(default);
    if v > max {
        return Err(request_error(field)(format!("{v} is more than {max}")));
    }
    Ok(v)
}

/// A `day` / `week` / `month` option, `default` when absent or empty.
fn period_or(
    text: &Option<String>,
    default: parcours_core::journey::Bucket,
) -> Result<parcours_core::journey::Bucket, RequestError> {
    match text.as_deref() {
        None | Some("") => Ok(default),
        Some(p) => parcours_core::journey::Bucket::parse(p).map_err(request_error("period")),
    }
}

fn feedback_spec(
    options: &parcours_core::voice::feedback::FeedbackOptions,
    segment: &Option<(String, Value)>,
) -> FrameSpec {
    FrameSpec {
        actor: ActorKind::Person,
        properties: options.properties(),
        traits: segment.iter().map(|(k, _)| k.clone()).collect(),
    }
}

impl EmotionPlan {
    pub fn execute(
        &self,
        frame: &Frame,
    ) -> Result<parcours_core::voice::emotion::EmotionReport, RequestError> {
        let keep = segment_mask(frame, self.segment.as_slice());
        parcours_core::voice::emotion::emotion_report(frame, &self.options, keep.as_deref())
            .map_err(request_error("text"))
    }
}

/// The themes of the feedback texts: what the CLI and `GET /api/v1/themes` take.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemesRequest {
    /// The survey-response event (`Survey Responded` when absent).
    pub event: Option<String>,
    /// Properties holding free text, comma-separated (`comment,text,note` when absent).
    pub text: Option<String>,
    /// Stages of events without a `stage` property, comma-separated `EVENT=STAGE`.
    pub stage_of: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only actors whose trait has this value: `KEY=VALUE`.
    pub segment: Option<String>,
    /// `day`, `week` or `month` (the default), for the trend.
    pub period: Option<String>,
    /// Texts a key word needs to count (5 when absent).
    pub min_mentions: Option<u64>,
    /// Themes reported (20 when absent, at most 200).
    pub limit: Option<usize>,
    /// Share of a key word's texts that must mention a theme for it to join (0.6).
    pub merge: Option<f64>,
    /// Example quotes per theme (3 when absent, at most 50).
    pub quotes: Option<usize>,
    /// Actor keys listed per theme (none when absent, at most 10000).
    pub actors: Option<usize>,
    /// Only this theme: its id or one of its words.
    pub theme: Option<String>,
    /// A stored journey whose stages place the events (HTTP).
    pub journey: Option<i64>,
    /// Stages of events from a journey definition; `stage_of` comes first.
    #[serde(skip)]
    pub journey_stages: Vec<(String, String)>,
}

/// A validated themes run.
#[derive(Debug, Clone)]
pub struct ThemesPlan {
    pub spec: FrameSpec,
    options: parcours_core::voice::themes::ThemeOptions,
    segment: Option<(String, Value)>,
}

impl ThemesRequest {
    pub fn plan(&self) -> Result<ThemesPlan, RequestError> {
        use parcours_core::voice::themes::ThemeOptions;
        let feedback = feedback_options(FeedbackFields {
            event: &self.event,
            scales: &None,
            defined_scales: &[],
            rating: &Some("none".into()),
            text: &self.text,
            stage_of: &self.stage_of,
            journey_stages: &self.journey_stages,
            from: &self.from,
            to: &self.to,
        })?;
        let defaults = ThemeOptions::default();
        let merge = self.merge.unwrap_or(defaults.merge);
        if !(merge > 0.0 && merge <= 1.0) {
            return Err(request_error("merge")(format!(
                "{merge} is not a share in (0, 1]"
            )));
        }
        let period = period_or(&self.period, defaults.period)?;
        let options = ThemeOptions {
            period,
            min_mentions: self.min_mentions.unwrap_or(defaults.min_mentions).max(1),
            limit: bounded(self.limit, defaults.limit, 200, "limit")?,
            merge,
            quotes: bounded(self.quotes, defaults.quotes, 50, "quotes")?,
            actors: bounded(self.actors, 0, 10_000, "actors")?,
            theme: self.theme.clone().filter(|t| !t.trim().is_empty()),
            feedback,
        };
        let segment = segment_option(&self.segment, "segment")?;
        Ok(ThemesPlan {
            spec: feedback_spec(&options.feedback, &segment),
            options,
            segment,
        })
    }
}

/// The frictions, ranked: what the CLI and `GET /api/v1/frictions` take.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrictionsRequest {
    /// The survey-response event (`Survey Responded` when absent).
    pub event: Option<String>,
    /// Scales of custom surveys, comma-separated `ID=SCALE`.
    pub scales: Option<String>,
    /// Scales of the workspace's survey definitions (set by the server), after `scales`:
    /// a scale given in `scales` wins.
    #[serde(skip)]
    pub defined_scales: SurveyScales,
    /// Properties holding free text, comma-separated (`comment,text,note` when absent).
    pub text: Option<String>,
    /// Stages of events, comma-separated `EVENT=STAGE`.
    pub stage_of: Option<String>,
    /// A stored journey whose stages place the events (HTTP).
    pub journey: Option<i64>,
    /// The journey (the CLI's `--journey FILE`, the server's `journey`): its stages place
    /// events after `stage_of`, its ways between stages are checked for drop-off and
    /// dwell, and its actor (person, account, deal) is the one counted.
    #[serde(skip)]
    pub journey_def: Option<parcours_core::journey::JourneyDef>,
    /// The event that is a conversion, for loops (`Order Completed`).
    pub conversion: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only actors whose trait has this value: `KEY=VALUE`.
    pub segment: Option<String>,
    /// The property splitting abandonment into segments (`context.device.type`).
    pub segment_by: Option<String>,
    /// Abandonment rates above which checkouts (carts) are a friction as a whole.
    pub checkout_target: Option<f64>,
    pub cart_target: Option<f64>,
    /// Events that are support contacts, comma-separated (`Ticket Opened,Call
    /// Completed,Chat Started`).
    pub contact_events: Option<String>,
    /// Repeat contacts: this many (2) within this span (`7d`).
    pub min_contacts: Option<usize>,
    pub contact_window: Option<String>,
    /// Cases, comma-separated `OPEN>CLOSE` (`Ticket Opened>Ticket Resolved,Return
    /// Requested>Refund Issued`), and the target time to resolve (`3d`).
    pub resolutions: Option<String>,
    pub resolution_target: Option<String>,
    /// Share of hard CES / dissatisfied CSAT answers from which a touchpoint is a
    /// friction (0.4).
    pub low_score_share: Option<f64>,
    /// A theme is a friction from this mean sentiment down (−0.2) or this negative share
    /// up (0.5).
    pub negative_sentiment: Option<f64>,
    pub negative_share: Option<f64>,
    /// Event properties that label evidence, comma-separated (`reason,category,carrier`).
    pub evidence: Option<String>,
    /// Frictions affecting fewer actors are left out (5).
    pub min_actors: Option<u64>,
    /// `day`, `week` or `month` (the default), for the trend.
    pub period: Option<String>,
    /// Actor keys listed per friction (20, at most 10000) and quotes (3, at most 50).
    pub actors: Option<usize>,
    pub quotes: Option<usize>,
    /// Frictions listed, highest revenue at stake first (all when absent).
    pub limit: Option<usize>,
}

/// A validated frictions run.
#[derive(Debug, Clone)]
pub struct FrictionsPlan {
    pub spec: FrameSpec,
    options: parcours_core::voice::frictions::FrictionOptions,
    segment: Option<(String, Value)>,
    limit: Option<usize>,
}

impl FrictionsRequest {
    pub fn plan(&self) -> Result<FrictionsPlan, RequestError> {
        use parcours_core::journey::Span;
        use parcours_core::voice::frictions::FrictionOptions;
        let journey_stages = self
            .journey_def
            .as_ref()
            .map(|d| d.stage_of_events())
            .unwrap_or_default();
        let feedback = feedback_options(FeedbackFields {
            event: &self.event,
            scales: &self.scales,
            defined_scales: &self.defined_scales,
            rating: &None,
            text: &self.text,
            stage_of: &self.stage_of,
            journey_stages: &journey_stages,
            from: &self.from,
            to: &self.to,
        })?;
        let mut o = FrictionOptions {
            feedback,
            ..FrictionOptions::default()
        };
        let share = |v: Option<f64>, default: f64, field: &'static str| match v {
            None => Ok(default),
            Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
            Some(x) => Err(request_error(field)(format!(
                "{x} is not a share in [0, 1]"
            ))),
        };
        let span = |v: &Option<String>, default: i64, field: &'static str| match v.as_deref() {
            None | Some("") => Ok(default),
            Some(t) => Span::parse(t)
                .map(|s| s.micros())
                .map_err(request_error(field)),
        };
        if let Some(k) = self.segment_by.as_deref().filter(|k| !k.trim().is_empty()) {
            o.segment_by = k.trim().to_string();
        }
        for rule in &mut o.abandonment {
            let (target, field) = if rule.name == "checkout" {
                (self.checkout_target, "checkout_target")
            } else {
                (self.cart_target, "cart_target")
            };
            rule.target = target.map(|t| share(Some(t), 0.0, field)).transpose()?;
        }
        let contacts = names(self.contact_events.as_deref().unwrap_or(""));
        if !contacts.is_empty() {
            o.contact_events = contacts;
        }
        o.min_contacts = self.min_contacts.unwrap_or(o.min_contacts);
        if o.min_contacts < 2 {
            return Err(request_error("min_contacts")(
                "a repeat contact needs at least 2 contacts".into(),
            ));
        }
        o.contact_window = span(&self.contact_window, o.contact_window, "contact_window")?;
        let resolutions = pairs(&self.resolutions, '>', "OPEN>CLOSE", "resolutions")?;
        if !resolutions.is_empty() {
            o.resolutions = resolutions;
        }
        o.resolution_target = span(
            &self.resolution_target,
            o.resolution_target,
            "resolution_target",
        )?;
        o.low_score_share = share(self.low_score_share, o.low_score_share, "low_score_share")?;
        o.negative_share = share(self.negative_share, o.negative_share, "negative_share")?;
        o.negative_sentiment = match self.negative_sentiment {
            None => o.negative_sentiment,
            Some(x) if (-1.0..=1.0).contains(&x) => x,
            Some(x) => {
                return Err(request_error("negative_sentiment")(format!(
                    "{x} is not a sentiment in [-1, 1]"
                )))
            }
        };
        let evidence = names(self.evidence.as_deref().unwrap_or(""));
        if !evidence.is_empty() {
            o.evidence_properties = evidence;
        }
        o.min_actors = self.min_actors.unwrap_or(o.min_actors);
        o.period = period_or(&self.period, o.period)?;
        o.actors = bounded(self.actors, o.actors, 10_000, "actors")?;
        o.quotes = bounded(self.quotes, o.quotes, 50, "quotes")?;
        if let Some(c) = self.conversion.as_deref().filter(|c| !c.trim().is_empty()) {
            o.conversion = c.trim().to_string();
        }
        o.journey = self.journey_def.clone();
        let segment = segment_option(&self.segment, "segment")?;
        // The journey's actor and properties when there is one.
        let base = feedback_spec(&o.feedback, &segment);
        let spec = match &o.journey {
            Some(def) => FrameSpec::for_journey(def, None, &o.properties(), &base.traits),
            None => FrameSpec {
                properties: o.properties(),
                ..base
            },
        };
        Ok(FrictionsPlan {
            spec,
            options: o,
            segment,
            limit: self.limit,
        })
    }
}

impl FrictionsPlan {
    pub fn execute(&self, frame: &Frame) -> parcours_core::voice::frictions::FrictionReport {
        let keep = segment_mask(frame, self.segment.as_slice());
        let mut report =
            parcours_core::voice::frictions::friction_report(frame, &self.options, keep.as_deref());
        if let Some(n) = self.limit {
            report.frictions.truncate(n);
        }
        report
    }
}

impl ThemesPlan {
    pub fn execute(&self, frame: &Frame) -> parcours_core::voice::themes::ThemeReport {
        let keep = segment_mask(frame, self.segment.as_slice());
        parcours_core::voice::themes::theme_report(frame, &self.options, keep.as_deref())
    }
}
