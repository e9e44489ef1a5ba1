//! Journey definitions: the TOML / JSON form, and its validation.
//!
//! A [`JourneyDef`] is plain data that round-trips through TOML and JSON unchanged. It
//! owns no matching logic: [`JourneyDef::validate`] checks it and the engine compiles it
//! against a frame. The rules are in `docs/semantics.md`; the file reference in
//! `docs/journeys.md`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::span::Span;

/// The most steps (over all stages and branches) and exclusions one journey may have.
pub const MAX_STEPS: usize = 64;
pub const MAX_STAGES: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneyDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub actor: ActorKind,
    #[serde(default)]
    pub ordering: Ordering,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Span>,
    #[serde(default)]
    pub ties: Ties,
    #[serde(default)]
    pub entry: Entry,
    #[serde(default)]
    pub counting: Counting,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hold_constant: Vec<String>,
    pub stages: Vec<StageDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusions: Vec<ExclusionDef>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    #[default]
    Person,
    Account,
    Deal,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ordering {
    #[default]
    Ordered,
    Strict,
    Any,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ties {
    #[default]
    Strict,
    Allow,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    #[default]
    Closed,
    Open,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counting {
    #[default]
    Unique,
    Attempts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
    /// The designed intent, against which frictions are found: the share of actors of
    /// the previous required stage expected to reach this one (0–1]…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_conversion: Option<f64>,
    /// …and the longest expected time from the previous required stage to this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_time: Option<Span>,
    /// A stage with a single branch may list its steps directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<BranchDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchDef {
    pub name: String,
    pub steps: Vec<StepDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One event name or several; `"*"` matches any.
    pub event: Names,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub campaign: Vec<String>,
    #[serde(default, rename = "where", skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Span>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionDef {
    pub event: Names,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub campaign: Vec<String>,
    #[serde(default, rename = "where", skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterDef>,
    /// Stage name; the first stage when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Stage name; the last stage when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

/// One event name, or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    pub fn as_slice(&self) -> &[String] {
        match self {
            Names::One(n) => std::slice::from_ref(n),
            Names::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterDef {
    pub property: String,
    pub op: Op,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    Regex,
    Gt,
    Gte,
    Lt,
    Lte,
    Exists,
    NotExists,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A definition that does not make sense, with the path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DefinitionError {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> DefinitionError {
    DefinitionError {
        field: field.into(),
        message: message.into(),
    }
}

impl JourneyDef {
    /// The stage of each event name its steps match (branches included; `*` apart), the
    /// first stage winning: how feedback and frictions place events that carry no
    /// `stage` property.
    pub fn stage_of_events(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for stage in &self.stages {
            let steps = stage
                .steps
                .iter()
                .chain(stage.branches.iter().flat_map(|b| b.steps.iter()));
            for step in steps {
                for name in step.event.as_slice() {
                    if name != "*" && !out.iter().any(|(e, _)| e == name) {
                        out.push((name.clone(), stage.name.clone()));
                    }
                }
            }
        }
        out
    }

    /// Parses a TOML journey file; syntax errors name the line.
    pub fn from_toml(text: &str) -> Result<JourneyDef, DefinitionError> {
        let def: JourneyDef = toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            let at = e
                .span()
                .map(|s| format!("line {}", text[..s.start].lines().count().max(1)))
                .unwrap_or_else(|| "file".into());
            invalid(at, message)
        })?;
        def.validate()?;
        Ok(def)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a journey definition always serialises to TOML")
    }

    pub fn from_json(value: Value) -> Result<JourneyDef, DefinitionError> {
        let def: JourneyDef =
            serde_json::from_value(value).map_err(|e| invalid("body", e.to_string()))?;
        def.validate()?;
        Ok(def)
    }

    /// The branches of a stage, with a stage written with `steps` seen as one branch.
    pub fn branches(stage: &StageDef) -> Vec<(String, &[StepDef])> {
        if stage.branches.is_empty() {
            vec![(stage.name.clone(), stage.steps.as_slice())]
        } else {
            stage
                .branches
                .iter()
                .map(|b| (b.name.clone(), b.steps.as_slice()))
                .collect()
        }
    }

    /// Every property the journey reads (held properties, step and exclusion filters),
    /// sorted, once each: what a frame must carry to run it.
    pub fn properties(&self) -> Vec<String> {
        let mut keys = self.hold_constant.clone();
        for stage in &self.stages {
            for (_, steps) in Self::branches(stage) {
                keys.extend(
                    steps
                        .iter()
                        .flat_map(|s| s.filters.iter().map(|f| f.property.clone())),
                );
            }
        }
        keys.extend(
            self.exclusions
                .iter()
                .flat_map(|x| x.filters.iter().map(|f| f.property.clone())),
        );
        keys.sort();
        keys.dedup();
        keys
    }

    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }

    /// A stage named or numbered (1-based) by the user, as its 0-based index.
    pub fn stage_ref(&self, text: &str) -> Result<usize, String> {
        match text.parse::<usize>() {
            Ok(n) if n >= 1 && n <= self.stages.len() => Ok(n - 1),
            Ok(_) => Err(format!(
                "stage {text} is out of range (1 to {})",
                self.stages.len()
            )),
            Err(_) => self
                .stage_index(text)
                .ok_or_else(|| format!("no stage is named `{text}`")),
        }
    }

    /// Checks what serde cannot: counts, names, filters, references between fields.
    pub fn validate(&self) -> Result<(), DefinitionError> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        if self.stages.is_empty() {
            return Err(invalid("stages", "a journey needs at least one stage"));
        }
        if self.stages.len() > MAX_STAGES {
            return Err(invalid(
                "stages",
                format!("at most {MAX_STAGES} stages are supported"),
            ));
        }
        if self.stages.iter().all(|s| s.optional) {
            return Err(invalid("stages", "at least one stage must be required"));
        }
        let mut steps = 0;
        for (i, stage) in self.stages.iter().enumerate() {
            let at = format!("stages[{i}]");
            if stage.name.trim().is_empty() {
                return Err(invalid(format!("{at}.name"), "must not be empty"));
            }
            if self.stages[..i].iter().any(|s| s.name == stage.name) {
                return Err(invalid(
                    format!("{at}.name"),
                    format!("stage `{}` is defined twice", stage.name),
                ));
            }
            if let Some(t) = stage.target_conversion {
                if !(t > 0.0 && t <= 1.0) {
                    return Err(invalid(
                        format!("{at}.target_conversion"),
                        format!("{t} is not a share in (0, 1]"),
                    ));
                }
            }
            if (stage.target_conversion.is_some() || stage.target_time.is_some())
                && (stage.optional || (0..i).all(|p| self.stages[p].optional))
            {
                let which = if stage.target_conversion.is_some() {
                    "target_conversion"
                } else {
                    "target_time"
                };
                return Err(invalid(
                    format!("{at}.{which}"),
                    "targets go on a required stage after the first required one: they measure the way from the previous required stage",
                ));
            }
            match (stage.steps.is_empty(), stage.branches.is_empty()) {
                (true, true) => {
                    return Err(invalid(at, "a stage needs `steps` or `branches`"));
                }
                (false, false) => {
                    return Err(invalid(at, "give either `steps` or `branches`, not both"));
                }
                _ => {}
            }
            for (b, branch) in stage.branches.iter().enumerate() {
                if branch.steps.is_empty() {
                    return Err(invalid(
                        format!("{at}.branches[{b}].steps"),
                        "a branch needs at least one step",
                    ));
                }
            }
            for (b, (_, branch_steps)) in Self::branches(stage).iter().enumerate() {
                let path = if stage.branches.is_empty() {
                    format!("{at}.steps")
                } else {
                    format!("{at}.branches[{b}].steps")
                };
                if branch_steps.iter().all(|s| s.optional) {
                    return Err(invalid(path, "at least one step must be required"));
                }
                for (s, step) in branch_steps.iter().enumerate() {
                    steps += 1;
                    let path = format!("{path}[{s}]");
                    check_names(&step.event, &format!("{path}.event"))?;
                    check_filters(&step.filters, &format!("{path}.where"))?;
                }
            }
        }
        if steps > MAX_STEPS {
            return Err(invalid(
                "stages",
                format!("at most {MAX_STEPS} steps in all are supported, found {steps}"),
            ));
        }
        if self.exclusions.len() > MAX_STEPS {
            return Err(invalid(
                "exclusions",
                format!("at most {MAX_STEPS} exclusions are supported"),
            ));
        }
        for (i, ex) in self.exclusions.iter().enumerate() {
            let at = format!("exclusions[{i}]");
            check_names(&ex.event, &format!("{at}.event"))?;
            check_filters(&ex.filters, &format!("{at}.where"))?;
            let after = self.exclusion_bound(ex.after.as_deref(), 0, &format!("{at}.after"))?;
            let last = self.stages.len() - 1;
            let before =
                self.exclusion_bound(ex.before.as_deref(), last, &format!("{at}.before"))?;
            if after >= before {
                return Err(invalid(
                    at,
                    "`after` must name a stage before `before` (an exclusion needs a gap between two stages)",
                ));
            }
        }
        for (i, p) in self.hold_constant.iter().enumerate() {
            if p.trim().is_empty() {
                return Err(invalid(format!("hold_constant[{i}]"), "must not be empty"));
            }
        }
        Ok(())
    }

    fn exclusion_bound(
        &self,
        name: Option<&str>,
        default: usize,
        field: &str,
    ) -> Result<usize, DefinitionError> {
        match name {
            None => Ok(default),
            Some(n) => self
                .stage_index(n)
                .ok_or_else(|| invalid(field, format!("no stage is named `{n}`"))),
        }
    }
}

fn check_names(names: &Names, field: &str) -> Result<(), DefinitionError> {
    let list = names.as_slice();
    if list.is_empty() || list.iter().any(|n| n.is_empty()) {
        return Err(invalid(field, "name at least one event (or \"*\")"));
    }
    Ok(())
}

fn check_filters(filters: &[FilterDef], field: &str) -> Result<(), DefinitionError> {
    for (i, f) in filters.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if f.property.trim().is_empty() {
            return Err(invalid(format!("{at}.property"), "must not be empty"));
        }
        let value = f.value.as_ref();
        let problem = match f.op {
            Op::Exists | Op::NotExists => value.map(|_| "takes no `value`"),
            Op::In | Op::NotIn => match value {
                Some(Value::Array(_)) => None,
                _ => Some("needs a list `value`"),
            },
            Op::Contains => match value {
                Some(Value::String(_)) => None,
                _ => Some("needs a string `value`"),
            },
            Op::Regex => match value {
                Some(Value::String(re)) => {
                    if let Err(e) = regex::Regex::new(re) {
                        return Err(invalid(
                            format!("{at}.value"),
                            format!("invalid regular expression: {e}"),
                        ));
                    }
                    None
                }
                _ => Some("needs a string `value` (a regular expression)"),
            },
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => match value {
                Some(Value::Number(_)) => None,
                _ => Some("needs a number `value`"),
            },
            Op::Eq | Op::Ne => match value {
                None | Some(Value::Array(_)) | Some(Value::Object(_)) => {
                    Some("needs a scalar `value`")
                }
                _ => None,
            },
        };
        if let Some(p) = problem {
            return Err(invalid(at, format!("`{:?}` {p}", f.op).to_lowercase()));
        }
    }
    Ok(())
}
