//! The event model: one validated, normalised touchpoint, ready to be stored.
//!
//! An [`Event`] is what every entry point (HTTP, CSV import, the demo generator) produces
//! and what the store keeps. It owns no identity resolution: it only carries the
//! identifiers the client sent. Which person they belong to is the store's identity map.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::time::Micros;

/// The six message types of the Segment tracking spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Track,
    Identify,
    Page,
    Screen,
    Group,
    Alias,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::Track,
        EventKind::Identify,
        EventKind::Page,
        EventKind::Screen,
        EventKind::Group,
        EventKind::Alias,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Track => "track",
            EventKind::Identify => "identify",
            EventKind::Page => "page",
            EventKind::Screen => "screen",
            EventKind::Group => "group",
            EventKind::Alias => "alias",
        }
    }

    /// Accepts the full names and the one-letter paths of analytics.js (`t`, `p`, …).
    pub fn parse(text: &str) -> Option<EventKind> {
        Some(match text {
            "track" | "t" => EventKind::Track,
            "identify" | "i" => EventKind::Identify,
            "page" | "p" => EventKind::Page,
            "screen" | "s" => EventKind::Screen,
            "group" | "g" => EventKind::Group,
            "alias" | "a" => EventKind::Alias,
            _ => return None,
        })
    }

    /// The event name used when a message has none of its own: `$identify`, `$page`, …
    /// (track events always carry their own name).
    pub fn default_name(self) -> &'static str {
        match self {
            EventKind::Track => "$track",
            EventKind::Identify => "$identify",
            EventKind::Page => "$pageview",
            EventKind::Screen => "$screen",
            EventKind::Group => "$group",
            EventKind::Alias => "$alias",
        }
    }
}

/// UTM-style campaign attribution of a touch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

impl Campaign {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.source.is_none()
            && self.medium.is_none()
            && self.term.is_none()
            && self.content.is_none()
    }
}

/// What normalisation derives from a raw message (see `normalize`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Touch {
    /// One of [`crate::normalize::CHANNELS`], or an explicit channel the client named.
    pub channel: String,
    pub campaign: Campaign,
    /// A readable name: `web /pricing`, `email welcome-2`, `phone inbound`.
    pub touchpoint: String,
    pub revenue: Option<f64>,
    pub currency: Option<String>,
    pub online: bool,
}

/// A validated, normalised event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub message_id: String,
    pub kind: EventKind,
    /// The track event name, the page or screen name, or the kind's default name.
    pub name: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// `group`: the account or deal id.
    pub group_id: Option<String>,
    /// `alias`: the identity being merged into `user_id`.
    pub previous_id: Option<String>,
    /// The event time after clock-skew correction; the time all analyses use.
    pub timestamp: Micros,
    /// The client's own event time, as sent (`originalTimestamp`, else `timestamp`).
    pub original_timestamp: Option<Micros>,
    pub sent_at: Option<Micros>,
    pub received_at: Micros,
    pub properties: Map<String, Value>,
    pub traits: Map<String, Value>,
    pub context: Map<String, Value>,
    pub touch: Touch,
}

impl Event {
    /// The email this event declares for its person, if any (`traits.email`, or
    /// `context.traits.email`).
    pub fn email(&self) -> Option<&str> {
        let from_context = self
            .context
            .get("traits")
            .and_then(|t| t.get("email"))
            .and_then(Value::as_str);
        self.traits
            .get("email")
            .and_then(Value::as_str)
            .or(from_context)
            .map(str::trim)
            .filter(|e| e.contains('@'))
    }
}
