//! Event conditions compiled against a frame: every filter is evaluated once per
//! dictionary entry into a mask, so matching an event is a few table look-ups.

use serde_json::Value;

use super::definition::{FilterDef, Names, Op};
use crate::frame::Frame;

/// A compiled condition on one event: name, channel, campaign and property masks.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Indexed by name id; `None` means any name.
    names: Option<Vec<bool>>,
    channels: Option<Vec<bool>>,
    campaigns: Option<Vec<bool>>,
    /// (property column index in the frame, mask by value id).
    props: Vec<(usize, Vec<bool>)>,
}

/// A property the condition reads is not among the frame's columns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the frame was built without property `{0}`")]
pub struct MissingProperty(pub String);

impl Matcher {
    pub fn compile(
        frame: &Frame,
        event: &Names,
        channel: &[String],
        campaign: &[String],
        filters: &[FilterDef],
    ) -> Result<Matcher, MissingProperty> {
        let names = if event.as_slice().iter().any(|n| n == "*") {
            None
        } else {
            Some(dict_mask(frame.names().iter(), event.as_slice()))
        };
        let channels = (!channel.is_empty()).then(|| dict_mask(frame.channels().iter(), channel));
        let campaigns =
            (!campaign.is_empty()).then(|| dict_mask(frame.campaigns().iter(), campaign));
        let mut props = Vec::new();
        for f in filters {
            let col = frame
                .property_keys()
                .iter()
                .position(|k| *k == f.property)
                .ok_or_else(|| MissingProperty(f.property.clone()))?;
            let predicate = Predicate::new(f);
            props.push((col, frame.values().mask(|v| predicate.holds(v))));
        }
        Ok(Matcher {
            names,
            channels,
            campaigns,
            props,
        })
    }

    /// Whether the name alone can match (the rest needs [`Matcher::matches`]).
    pub fn name_matches(&self, name: u32) -> bool {
        self.names.as_ref().is_none_or(|m| m[name as usize])
    }

    /// Whether anything beyond the name must be checked.
    pub fn has_conditions(&self) -> bool {
        self.channels.is_some() || self.campaigns.is_some() || !self.props.is_empty()
    }

    pub fn matches(&self, frame: &Frame, i: usize) -> bool {
        self.name_matches(frame.name()[i])
            && self
                .channels
                .as_ref()
                .is_none_or(|m| m.get(frame.channel()[i] as usize) == Some(&true))
            && self
                .campaigns
                .as_ref()
                .is_none_or(|m| m[frame.campaign()[i] as usize])
            && self
                .props
                .iter()
                .all(|(col, mask)| mask[frame.property_by_index(*col)[i] as usize])
    }
}

fn dict_mask<'a>(entries: impl Iterator<Item = (u32, &'a str)>, wanted: &[String]) -> Vec<bool> {
    entries
        .map(|(_, s)| wanted.iter().any(|w| w == s))
        .collect()
}

/// One property condition, ready to test values.
pub struct Predicate {
    op: Op,
    value: Option<Value>,
    regex: Option<regex::Regex>,
}

impl Predicate {
    pub fn new(f: &FilterDef) -> Predicate {
        let regex = match (&f.op, &f.value) {
            (Op::Regex, Some(Value::String(re))) => regex::Regex::new(re).ok(),
            _ => None,
        };
        Predicate {
            op: f.op,
            value: f.value.clone(),
            regex,
        }
    }

    pub fn holds(&self, v: &Value) -> bool {
        let present = !v.is_null();
        let target = self.value.as_ref();
        match self.op {
            Op::Exists => present,
            Op::NotExists => !present,
            Op::Eq => present && target.is_some_and(|t| same(v, t)),
            Op::Ne => !(present && target.is_some_and(|t| same(v, t))),
            Op::In => present && list(target).iter().any(|t| same(v, t)),
            Op::NotIn => !(present && list(target).iter().any(|t| same(v, t))),
            Op::Contains => match (v, target) {
                (Value::String(s), Some(Value::String(t))) => s.contains(t.as_str()),
                _ => false,
            },
            Op::Regex => match (v, &self.regex) {
                (Value::String(s), Some(re)) => re.is_match(s),
                _ => false,
            },
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                let (Some(a), Some(b)) = (number(v), target.and_then(number)) else {
                    return false;
                };
                match self.op {
                    Op::Gt => a > b,
                    Op::Gte => a >= b,
                    Op::Lt => a < b,
                    _ => a <= b,
                }
            }
        }
    }
}

fn list(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

/// A number, or a string holding one.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Equality where numbers compare numerically and a string equals the number it spells
/// only when both are numbers.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
