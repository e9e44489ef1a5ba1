//! The event model: one validated, normalised touchpoint, ready to be stored.
//!
//! An [`Event`] is what every entry point (HTTP, CSV import, the demo generator) produces
//! and what the store keeps. It owns no identity resolution: it only carries the
//! identifiers the client sent. Which person they belong to is the store's identity map.

use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::time::Micros;
use crate::view::{Shallow, View};

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
    pub properties: JsonObject,
    pub traits: JsonObject,
    pub context: JsonObject,
    pub touch: Touch,
}

impl Event {
    /// The email this event declares for its person, if any (`traits.email`, or
    /// `context.traits.email`), lower-cased. Read without building the maps of objects
    /// kept as text.
    pub fn email(&self) -> Option<String> {
        declared_email(&self.traits, &self.context)
    }
}

/// The email an event with these `traits` and `context` declares (see [`Event::email`]).
pub fn declared_email(traits: &JsonObject, context: &JsonObject) -> Option<String> {
    // `traits.email` when it is a string, else `context.traits.email`; then checked.
    let declared = traits
        .view(|t| t.str_at("email").map(str::to_string))
        .or_else(|| {
            context.view(|c| {
                c.object_at("traits")
                    .and_then(|t| t.str_at("email"))
                    .map(str::to_string)
            })
        })?;
    as_email(&declared)
}

/// A declared email as identities hold it: trimmed and lower-cased; `None` without an @.
pub fn as_email(declared: &str) -> Option<String> {
    Some(declared.trim())
        .filter(|e| e.contains('@'))
        .map(str::to_lowercase)
}

/// A JSON object of an event (`properties`, `traits`, `context`): a map, or the JSON text
/// it was given as (an imported cell, [`JsonObject::from_text`]) for as long as that text
/// still says the same thing.
///
/// An object given as text builds its map only when something reads it as a map
/// (`Deref`); [`JsonObject::view`] reads fields without building it. Any mutable access
/// (`DerefMut`) forgets the text, so a stale text cannot outlive a change. The store asks
/// for [`JsonObject::into_text`]: the kept text when there is one, so an imported cell is
/// not serialised again, else the map serialised. The kept text need not be compact or in
/// key order; it parses to the same map, which is all a reader sees.
#[derive(Clone, Default)]
pub struct JsonObject {
    map: OnceLock<Map<String, Value>>,
    /// The text it was given as, with the shallow parse that checked it (which `view`
    /// reads): kept and forgotten together.
    text: Option<(Box<str>, Shallow)>,
}

impl JsonObject {
    /// The object a JSON text holds, without building its map; an error when the text is
    /// not a JSON object (the text is checked whole, as a parse into a map would). The
    /// check is a shallow parse, kept for [`JsonObject::view`].
    pub fn from_text(text: Box<str>) -> serde_json::Result<JsonObject> {
        let shallow = Shallow::parse(&text)?;
        if shallow.is_empty() {
            return Ok(JsonObject::default());
        }
        Ok(JsonObject {
            map: OnceLock::new(),
            text: Some((text, shallow)),
        })
    }

    fn map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| {
            // Only a text checked by `from_text` is left unparsed: it parses.
            self.source_text()
                .and_then(|t| crate::view::plain_object(t).ok())
                .unwrap_or_default()
        })
    }

    /// Builds the map now, on this thread, if it is not built yet; the text is kept.
    pub fn build_map(&self) {
        self.map();
    }

    /// Reads fields without building the map when it is not built yet: see
    /// [`crate::view`]. `with` gets the view.
    pub fn view<R>(&self, with: impl FnOnce(View) -> R) -> R {
        // An empty object (the usual `traits` of an event) is read as a shared empty map:
        // initialising its own would cost more than the read.
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        match (self.map.get(), &self.text) {
            (None, Some((text, shallow))) => with(shallow.view(text)),
            (None, None) => with(View::Map(&EMPTY)),
            (Some(map), _) => with(View::Map(map)),
        }
    }

    /// Whether the object has no field (an object made from a text has some).
    pub fn is_empty(&self) -> bool {
        match self.map.get() {
            Some(map) => map.is_empty(),
            None => self.text.is_none(),
        }
    }

    /// The text this object was parsed from, if it is still known.
    pub fn source_text(&self) -> Option<&str> {
        self.text.as_ref().map(|(text, _)| &**text)
    }

    /// This object with the top-level fields of `extra` it lacks (its own fields win, as
    /// in `extra.extend(self)`). An object kept as text stays text: the added fields are
    /// written before its closing brace, so no map is built.
    pub fn with_missing(self, extra: Map<String, Value>) -> JsonObject {
        if let (None, Some((text, shallow))) = (self.map.get(), &self.text) {
            let view = shallow.view(text);
            let mut added = Vec::new();
            for (key, value) in extra.iter().filter(|(k, _)| !view.has(k)) {
                // A text kept here holds at least one field: the comma always follows one.
                added.push(b',');
                // Writing a string key and a JSON value into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut added, key);
                added.push(b':');
                let _ = serde_json::to_writer(&mut added, value);
            }
            if added.is_empty() {
                return self;
            }
            if let (Some(close), Ok(added)) = (text.rfind('}'), std::str::from_utf8(&added)) {
                let joined = [&text[..close], added, &text[close..]].concat();
                if let Ok(object) = JsonObject::from_text(joined.into()) {
                    return object;
                }
            }
        }
        let mut map = extra;
        map.extend(self.into_map());
        map.into()
    }

    /// The map, without its text.
    pub fn into_map(mut self) -> Map<String, Value> {
        self.map();
        self.map.take().unwrap_or_default()
    }

    /// The object as JSON text, `None` when it is empty: its source text if known
    /// (borrowed), else the map serialised (compact, keys in order).
    pub fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self.source_text() {
            _ if self.is_empty() => None,
            Some(text) => Some(std::borrow::Cow::Borrowed(text)),
            None => serialize(self.map()).map(std::borrow::Cow::Owned),
        }
    }

    /// [`JsonObject::text`], owned.
    pub fn to_text(&self) -> Option<String> {
        self.text().map(std::borrow::Cow::into_owned)
    }

    /// [`JsonObject::to_text`], moving the source text out instead of copying it.
    pub fn into_text(self) -> Option<String> {
        let empty = self.is_empty();
        match self.text {
            Some((text, _)) if !empty => Some(text.into()),
            _ => self.to_text(),
        }
    }
}

fn serialize(map: &Map<String, Value>) -> Option<String> {
    // Sized for a typical object up front (growing from empty reallocates 5 or 6 times).
    let mut text = Vec::with_capacity(256);
    // Serialising a map cannot fail (string keys, JSON values), and its text is UTF-8.
    serde_json::to_writer(&mut text, map).ok()?;
    String::from_utf8(text).ok()
}

impl From<Map<String, Value>> for JsonObject {
    fn from(map: Map<String, Value>) -> JsonObject {
        JsonObject {
            map: OnceLock::from(map),
            text: None,
        }
    }
}

impl Deref for JsonObject {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        self.map()
    }
}

impl DerefMut for JsonObject {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.map();
        self.text = None;
        self.map.get_mut().expect("the map was just built")
    }
}

/// Equal when the maps are: the text is a cache of the map, not part of the value.
impl PartialEq for JsonObject {
    fn eq(&self, other: &JsonObject) -> bool {
        self.map() == other.map()
    }
}

impl std::fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.map().fmt(f)
    }
}

impl Serialize for JsonObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsonObject, D::Error> {
        Map::deserialize(deserializer).map(JsonObject::from)
    }
}

impl<'a> IntoIterator for &'a JsonObject {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.map().iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> JsonObject {
        JsonObject::from_text(text.into()).unwrap()
    }

    #[test]
    fn an_object_made_from_its_text_builds_its_map_only_when_read_as_one() {
        let text = r#"{"page": {"url": "/x"}, "n": 2}"#;
        let o = JsonObject::from_text(text.into()).unwrap();
        assert!(!o.is_empty());
        assert_eq!(
            o.view(|v| v
                .object_at("page")
                .and_then(|p| p.str_at("url"))
                .map(str::to_string)),
            Some("/x".into())
        );
        assert!(o.map.get().is_none(), "a view builds no map");
        assert!(o.view(|v| v.has("page") && !v.has("groupId")));
        assert!(
            object(r#"{"gr\u006fupId": 1}"#).view(|v| v.has("groupId")),
            "escaped keys are read unescaped"
        );
        assert!(o.map.get().is_none(), "looking keys up builds no map");
        assert_eq!(o.clone().into_text().as_deref(), Some(text));
        assert_eq!(o["n"], 2);
        assert!(o.map.get().is_some());
        assert_eq!(o.source_text(), Some(text), "reading keeps the text");
        let mut changed = o.clone();
        changed.insert("m".into(), Value::Null);
        assert_eq!(changed.source_text(), None);
        assert_eq!(changed.len(), 3);
        // Not an object, not JSON, or empty.
        for bad in ["[1]", "{\"a\":}", "{} {}", ""] {
            assert!(JsonObject::from_text(bad.into()).is_err(), "{bad}");
        }
        let empty = JsonObject::from_text(" {} ".into()).unwrap();
        assert!(empty.is_empty() && empty.into_text().is_none());
    }

    #[test]
    fn the_source_text_is_stored_until_the_object_changes() {
        let text = r#"{ "b": [1, 2.50], "a": "é" }"#;
        let kept = object(text);
        assert_eq!(kept.source_text(), Some(text));
        assert_eq!(kept.clone().into_text().as_deref(), Some(text));
        assert_eq!(kept.to_text().as_deref(), Some(text));

        let mut changed = kept.clone();
        changed.insert("c".into(), Value::Bool(true));
        assert_eq!(changed.source_text(), None);
        assert_eq!(
            changed.into_text().as_deref(),
            Some(r#"{"a":"é","b":[1,2.5],"c":true}"#)
        );
        // Even a mutable access that changes nothing forgets the text.
        let mut touched = kept.clone();
        touched.entry("a");
        assert_eq!(touched.source_text(), None);
        assert_eq!(touched, kept, "equality is the maps'");
    }

    #[test]
    fn empty_objects_have_no_text() {
        assert_eq!(object("{ }").into_text(), None);
        assert_eq!(JsonObject::default().to_text(), None);
        let map: Map<String, Value> = serde_json::from_str(r#"{"k":null}"#).unwrap();
        assert_eq!(
            JsonObject::from(map).to_text().as_deref(),
            Some(r#"{"k":null}"#)
        );
    }

    #[test]
    fn missing_fields_are_written_into_the_text_and_the_objects_own_win() {
        let map = |text: &str| -> Map<String, Value> { serde_json::from_str(text).unwrap() };
        let cases = [
            // (object text, extra fields, the merged map)
            (r#"{"a": 1}"#, r#"{"g": "x"}"#, r#"{"a": 1, "g": "x"}"#),
            (
                r#"{"g": "own", "a": [1]}"#,
                r#"{"g": "x", "h": {"k": null}}"#,
                r#"{"g": "own", "a": [1], "h": {"k": null}}"#,
            ),
            // An escaped key is the same key; a nested key of the same name is not.
            (
                r#"{"\u0067": 2, "p": {"h": 0}}"#,
                r#"{"g": 1, "h": "q\"uote"}"#,
                r#"{"g": 2, "p": {"h": 0}, "h": "q\"uote"}"#,
            ),
            // Whitespace after the brace, a repeated key (the last wins, as parsed).
            (
                " {\"a\":1,\"a\":2} \n",
                r#"{"b": true}"#,
                r#"{"a": 2, "b": true}"#,
            ),
            (r#"{"a": 1}"#, r#"{}"#, r#"{"a": 1}"#),
        ];
        for (text, extra, merged) in cases {
            let joined = object(text).with_missing(map(extra));
            assert!(
                joined.map.get().is_none(),
                "{text}: still text, no map built"
            );
            assert_eq!(*joined, map(merged), "{text} with {extra}");
            // The text it now keeps parses to that map too.
            assert_eq!(map(joined.source_text().unwrap()), map(merged));
        }
        // An object that is a map already gets the fields as a map.
        let joined = JsonObject::from(map(r#"{"a": 1}"#)).with_missing(map(r#"{"a": 0, "b": 2}"#));
        assert_eq!(*joined, map(r#"{"a": 1, "b": 2}"#));
    }

    proptest::proptest! {
        /// Whatever the two objects, an object kept as text with the fields of another
        /// that it lacks is, as a map, the other extended by it (its own fields win).
        #[test]
        fn with_missing_is_the_other_object_extended_by_this_one(
            own in proptest::collection::vec((0usize..5, 0usize..7), 1..6),
            extra in proptest::collection::vec((0usize..5, 0usize..7), 0..6),
            pretty in proptest::bool::ANY,
        ) {
            const KEYS: [&str; 5] = ["a", "g", "groupId", "é", "q\"k"];
            let values = [
                Value::Null,
                Value::Bool(true),
                serde_json::json!(-3),
                serde_json::json!(0.5),
                serde_json::json!("s \"quoted\" \\ \u{1}"),
                serde_json::json!({"g": [1, {"a": null}]}),
                serde_json::json!([]),
            ];
            let map = |pairs: &[(usize, usize)]| -> Map<String, Value> {
                pairs.iter().map(|&(k, v)| (KEYS[k].to_string(), values[v].clone())).collect()
            };
            let (own, extra) = (map(&own), map(&extra));
            let text = if pretty {
                serde_json::to_string_pretty(&own).unwrap()
            } else {
                serde_json::to_string(&own).unwrap()
            };
            let joined = object(&text).with_missing(extra.clone());
            proptest::prop_assert!(joined.map.get().is_none(), "kept as text");
            let mut expected = extra;
            expected.extend(own);
            proptest::prop_assert_eq!(&*joined, &expected);
        }
    }
}
