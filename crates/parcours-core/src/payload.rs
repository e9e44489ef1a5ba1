//! Parsing Segment tracking-spec payloads into validated [`Event`]s.
//!
//! Owns: the shape of single messages and batch envelopes, type checks with field paths,
//! size limits, timestamps and clock skew, and message ids. Does not own: authentication
//! (the `writeKey` is handed back to the caller), decompression, or storage.
//!
//! Parsing is total: any byte string yields either events or errors naming the field,
//! never a panic (the `fuzz/` target checks this).

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{ErrorCode, PayloadError};
use crate::event::{Event, EventKind, JsonObject};
use crate::normalize::normalize;
use crate::time::{corrected_timestamp, parse_rfc3339, Micros};
use crate::view::View;

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest serialised event, in bytes (Segment: 32 KB).
    pub max_event_bytes: usize,
    /// Most events in one batch (Segment: 2,500).
    pub max_batch_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: 32 * 1024,
            max_batch_events: 2500,
        }
    }
}

/// Longest identifier (userId, anonymousId, groupId, previousId) accepted.
pub const MAX_ID_CHARS: usize = 255;
/// Longest messageId accepted (clients such as analytics-node use ~60 characters).
pub const MAX_MESSAGE_ID_CHARS: usize = 100;
/// Longest event name accepted.
pub const MAX_NAME_CHARS: usize = 255;

/// The outcome of parsing one request body.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The accepted events, in body order.
    pub events: Vec<Event>,
    /// The batch index of each accepted event (none outside a batch).
    pub indices: Vec<Option<usize>>,
    /// Each rejected message, with its batch index.
    pub rejected: Vec<PayloadError>,
    /// The `writeKey` found in the body (envelope or first message), if any.
    pub write_key: Option<String>,
    /// How many ids of the messages that parsed were placeholders, taken as absent
    /// ([`is_placeholder_id`]): a client bug the operator should hear of. (A survey
    /// answer refused later, by [`Parsed::reject_failing`], still counts.)
    pub placeholder_ids: usize,
}

impl Parsed {
    /// Moves the accepted events that fail `check` (a check that needs the workspace,
    /// known only once the key is) to the rejected ones, with their batch index; the
    /// rejected stay in body order.
    pub fn reject_failing(
        &mut self,
        mut check: impl FnMut(&mut Event) -> Result<(), PayloadError>,
    ) {
        // Checked in place: the events (large values) move only when one fails.
        let mut failed = Vec::new();
        for (at, (event, index)) in self.events.iter_mut().zip(&self.indices).enumerate() {
            if let Err(e) = check(event) {
                self.rejected.push(match index {
                    Some(i) => e.in_batch(*i),
                    None => e,
                });
                failed.push(at);
            }
        }
        if failed.is_empty() {
            return;
        }
        // Failures are rare: each removed where it is, the last first.
        for &at in failed.iter().rev() {
            self.events.remove(at);
            self.indices.remove(at);
        }
        self.rejected.sort_by_key(|e| e.index);
    }
}

/// Where a body arrived: a single-message endpoint knows its type; `/v1/batch` and
/// `/v1/import` carry a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Single(EventKind),
    Batch,
    /// A batch of messages recorded earlier (a backfill, an archive replayed): their
    /// times are read as a file's are (see `Clock::Recorded`), not as just sent.
    Import,
}

impl Endpoint {
    /// Whether the body is a list of messages (`{"batch": [...]}`).
    pub fn is_batch(self) -> bool {
        matches!(self, Endpoint::Batch | Endpoint::Import)
    }

    /// How its messages' times give their event times.
    fn clock(self) -> Clock {
        match self {
            Endpoint::Import => Clock::Recorded,
            Endpoint::Single(_) | Endpoint::Batch => Clock::Live,
        }
    }
}

/// Parses a request body. A body-level problem (not JSON, not an object, batch not a
/// list) is an `Err`; problems with individual messages are collected in
/// [`Parsed::rejected`] while the valid ones are kept.
///
/// `new_message_id` supplies ids for messages that carry none (UUIDv7 in production, a
/// counter in tests).
pub fn parse_body(
    body: &[u8],
    endpoint: Endpoint,
    received_at: Micros,
    limits: &Limits,
    new_message_id: &mut dyn FnMut() -> String,
) -> Result<Parsed, PayloadError> {
    let not_object =
        || PayloadError::new(ErrorCode::InvalidType, None, "body must be a JSON object");
    let mut parsed = Parsed::default();
    match endpoint {
        Endpoint::Single(kind) => {
            let Read::Object(message) = read_body(body, Seed(MessageReader))? else {
                return Err(not_object());
            };
            parsed.write_key = message.write_key();
            let envelope = Envelope::default();
            match parse_message(
                message,
                Some(kind),
                &envelope,
                received_at,
                endpoint.clock(),
                limits,
                new_message_id,
            ) {
                Ok((event, placeholders)) => {
                    parsed.events.push(event);
                    parsed.indices.push(None);
                    parsed.placeholder_ids += placeholders;
                }
                Err(e) => parsed.rejected.push(e),
            }
        }
        Endpoint::Batch | Endpoint::Import => {
            let Read::Object(root) = read_body(body, Seed(RootReader))? else {
                return Err(not_object());
            };
            parse_batch(
                root,
                &mut parsed,
                received_at,
                endpoint.clock(),
                limits,
                new_message_id,
            )?
        }
    }
    Ok(parsed)
}

/// Reads a whole body with `seed`; any JSON error is the body's.
fn read_body<'de, S: DeserializeSeed<'de>>(
    body: &'de [u8],
    seed: S,
) -> Result<S::Value, PayloadError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    seed.deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value))
        .map_err(|e| {
            PayloadError::new(
                ErrorCode::MalformedJson,
                None,
                format!("body is not valid JSON: {e}"),
            )
        })
}

// Request bodies are read straight into [`Message`]s, not into a `serde_json::Value`
// first: a message's `properties`, `traits` and `context` are kept as the text they were
// sent as (checked by a shallow parse, [`JsonObject::from_text`]), as an imported CSV cell
// is. Building their maps, and serialising them again for the store, was most of the
// server's CPU an event. What a reader gets is the same: the text parses to the map.

/// A JSON value read where an object is expected: the object, or the sign that the value
/// was something else (consumed, for the caller to report).
enum Read<T> {
    Object(T),
    Other,
}

/// A key of an object, borrowed from the body when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_string().into()))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// How one value of a body is read: an object with [`Reader::object`], a list with
/// [`Reader::list`]. A value of any other type, and an object or a list the reader does
/// not take, is consumed and read as [`Read::Other`], for the caller to report.
trait Reader<'de>: Sized {
    type Out;
    /// What the value should be, for `serde`'s messages.
    const EXPECTING: &'static str;

    fn object<A: MapAccess<'de>>(self, mut map: A) -> Result<Read<Self::Out>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Read::Other)
    }

    fn list<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read<Self::Out>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Read::Other)
    }
}

/// A [`Reader`] as a `serde` seed and visitor.
struct Seed<R>(R);

impl<'de, R: Reader<'de>> DeserializeSeed<'de> for Seed<R> {
    type Value = Read<R::Out>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, R: Reader<'de>> Visitor<'de> for Seed<R> {
    type Value = Read<R::Out>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(R::EXPECTING)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Read::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Read::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Read::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Read::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Read::Other)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Read::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.object(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.list(seq)
    }
}

/// One message object, read into a [`Message`].
struct MessageReader;

impl<'de> Reader<'de> for MessageReader {
    type Out = Message;
    const EXPECTING: &'static str = "a message object";

    fn object<A: MapAccess<'de>>(self, mut map: A) -> Result<Read<Message>, A::Error> {
        let mut m = Message::default();
        while let Some(Key(key)) = map.next_key()? {
            match F::of(&key) {
                Some(f @ (F::Properties | F::Traits | F::Context)) => {
                    let raw: &'de RawValue = map.next_value()?;
                    m.set_object_text(f, raw.get())
                        .map_err(serde::de::Error::custom)?;
                }
                Some(f) => {
                    m.set(f, map.next_value()?);
                }
                None => {
                    m.rest.insert(key.into_owned(), map.next_value()?);
                }
            }
        }
        Ok(Read::Object(m))
    }
}

/// A batch body: its `batch` (absent, a list of messages, or something else) and its
/// other fields (the envelope).
struct Root {
    batch: Option<Read<Vec<Read<Message>>>>,
    fields: Map<String, Value>,
}

struct RootReader;

impl<'de> Reader<'de> for RootReader {
    type Out = Root;
    const EXPECTING: &'static str = "a batch object";

    fn object<A: MapAccess<'de>>(self, mut map: A) -> Result<Read<Root>, A::Error> {
        let mut root = Root {
            batch: None,
            fields: Map::new(),
        };
        while let Some(Key(key)) = map.next_key()? {
            if key == "batch" {
                root.batch = Some(map.next_value_seed(Seed(BatchReader))?);
            } else {
                root.fields.insert(key.into_owned(), map.next_value()?);
            }
        }
        Ok(Read::Object(root))
    }
}

/// A batch's list: each item a message, or the sign it was not an object.
struct BatchReader;

impl<'de> Reader<'de> for BatchReader {
    type Out = Vec<Read<Message>>;
    const EXPECTING: &'static str = "a list of messages";

    fn list<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read<Self::Out>, A::Error> {
        // Room for a usual batch up front: a message is a large value, moved again at
        // each doubling.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(128).min(2_500));
        while let Some(item) = seq.next_element_seed(Seed(MessageReader))? {
            items.push(item);
        }
        Ok(Read::Object(items))
    }
}

/// Reads one JSON text (a line of a JSON Lines import) as a request body's message is
/// read: its `properties`, `traits` and `context` kept as the text they are written as.
/// `Ok(None)` when the text is JSON but not an object; `Err` when it is not JSON.
pub fn read_message(text: &str) -> serde_json::Result<Option<Message>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let read = Seed(MessageReader).deserialize(&mut de)?;
    de.end()?;
    Ok(match read {
        Read::Object(m) => Some(m),
        Read::Other => None,
    })
}

/// Parses one message that is already a JSON object (CSV and JSON Lines import, the demo
/// generator): the same checks as a batch item, with no envelope, and its times read as
/// recorded earlier (`Clock::Recorded`), not as just sent.
pub fn parse_message_value(
    message: Map<String, Value>,
    received_at: Micros,
    limits: &Limits,
    new_message_id: &mut dyn FnMut() -> String,
) -> Result<Event, PayloadError> {
    parse_fields(
        Message::from_map(message),
        received_at,
        limits,
        new_message_id,
    )
}

/// A message's `properties`, `traits` and `context` objects given apart from its map, as
/// JSON texts (a CSV cell holding the whole object, [`JsonObject::from_text`]): the event
/// keeps them as text, so that storing them needs no serialisation and normalising them
/// builds no map. An object given here should not also be in the message's map (if it
/// is, the map's fields are added to it).
#[derive(Debug, Default)]
pub struct TextObjects {
    pub properties: Option<JsonObject>,
    pub traits: Option<JsonObject>,
    pub context: Option<JsonObject>,
}

impl TextObjects {
    /// The slot of `properties`, `traits` or `context` by its name; `None` for any
    /// other name.
    pub fn slot(&mut self, key: &str) -> Option<&mut Option<JsonObject>> {
        match key {
            "properties" => Some(&mut self.properties),
            "traits" => Some(&mut self.traits),
            "context" => Some(&mut self.context),
            _ => None,
        }
    }

    /// What the objects add to the size of the event: their texts (or, for an object
    /// given without one, a bound of its serialised size) and keys.
    fn size(&self) -> usize {
        [
            ("properties", &self.properties),
            ("traits", &self.traits),
            ("context", &self.context),
        ]
        .iter()
        .filter_map(|(key, o)| {
            let o = o.as_ref()?;
            Some(key.len() + 4 + o.source_text().map_or_else(|| object_bound(o), str::len))
        })
        .sum()
    }
}

/// [`parse_message_value`] of a message given as [`Message`] (a CSV row's fields, set
/// one by one, with objects given as text).
pub fn parse_fields(
    message: Message,
    received_at: Micros,
    limits: &Limits,
    new_message_id: &mut dyn FnMut() -> String,
) -> Result<Event, PayloadError> {
    parse_message(
        message,
        None,
        &Envelope::default(),
        received_at,
        Clock::Recorded,
        limits,
        new_message_id,
    )
    .map(|(event, _)| event)
}

/// How a message's times give its event time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Clock {
    /// A message as a client sends it (HTTP): its client time corrected for the client's
    /// clock against when parcours received it (the Segment spec's `receivedAt −
    /// (sentAt − originalTimestamp)`).
    Live,
    /// A message recorded earlier (an imported file, another tool's export): its
    /// `timestamp`, when given, is the event time as the tool that recorded it computed
    /// it (Segment's archives hold it already corrected); else its `originalTimestamp`,
    /// corrected only against the `receivedAt` the message itself records. Never against
    /// the time of the import, which would move every event that has a `sentAt` to it.
    Recorded,
}

/// Whether `s` has more than `max` characters; counted only when its bytes are more.
fn longer_than(s: &str, max: usize) -> bool {
    s.len() > max && s.chars().count() > max
}

/// The top-level fields the parser reads: `F::X` names the field `FIELDS[F::X as usize]`,
/// from one list.
macro_rules! fields {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// A field the parser reads, by position in [`FIELDS`].
        #[derive(Clone, Copy)]
        enum F {
            $($variant),*
        }

        const FIELDS: [&str; [$($name),*].len()] = [$($name),*];

        impl F {
            const ALL: [F; FIELDS.len()] = [$(F::$variant),*];
        }
    };
}

fields! {
    Type = "type",
    UserId = "userId",
    AnonymousId = "anonymousId",
    PreviousId = "previousId",
    GroupId = "groupId",
    Event = "event",
    Name = "name",
    Category = "category",
    MessageId = "messageId",
    Timestamp = "timestamp",
    OriginalTimestamp = "originalTimestamp",
    SentAt = "sentAt",
    ReceivedAt = "receivedAt",
    Properties = "properties",
    Traits = "traits",
    Context = "context",
    Integrations = "integrations",
}

impl F {
    fn of(key: &str) -> Option<F> {
        FIELDS.iter().position(|f| *f == key).map(|i| F::ALL[i])
    }

    fn name(self) -> &'static str {
        FIELDS[self as usize]
    }
}

/// One message, as the parser takes it: its top-level fields, each in its own slot
/// (those the parser reads) or in `rest` (the others, which only count in its size),
/// and its objects given as text.
///
/// A JSON object becomes one with [`Message::from_map`]; an import sets a row's fields
/// one by one, which spares it a map with a key allocated per field that the parser
/// would only take apart again.
#[derive(Debug, Default)]
pub struct Message {
    known: [Option<Value>; FIELDS.len()],
    /// A known field's strict RFC 3339 time, once read (see [`Message::time`]); forgotten
    /// when the field changes.
    times: [Option<Micros>; FIELDS.len()],
    rest: Map<String, Value>,
    /// `properties`, `traits` and `context` given as text; a field of the same name set
    /// in the message adds to its object.
    pub texts: TextObjects,
}

impl Message {
    pub fn from_map(map: Map<String, Value>) -> Message {
        let mut m = Message::default();
        for (key, value) in map {
            match F::of(&key) {
                Some(f) => {
                    m.set(f, value);
                }
                None => {
                    m.rest.insert(key, value);
                }
            }
        }
        m
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match F::of(key) {
            Some(f) => self.at(f),
            None => self.rest.get(key),
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match F::of(key) {
            Some(f) => {
                self.times[f as usize] = None;
                self.known[f as usize].as_mut()
            }
            None => self.rest.get_mut(key),
        }
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        match F::of(key) {
            Some(f) => self.take(f),
            None => self.rest.remove(key),
        }
    }

    /// Sets a field, returning its previous value; only a field the parser does not read
    /// allocates its key.
    pub fn insert(&mut self, key: &str, value: Value) -> Option<Value> {
        match F::of(key) {
            Some(f) => self.set(f, value),
            None => self.rest.insert(key.to_string(), value),
        }
    }

    /// Sets a field the parser reads, returning its previous value.
    fn set(&mut self, f: F, value: Value) -> Option<Value> {
        self.times[f as usize] = None;
        self.known[f as usize].replace(value)
    }

    fn at(&self, f: F) -> Option<&Value> {
        self.known[f as usize].as_ref()
    }

    /// The `writeKey` it carries (Segment clients may put it in the body), when not empty.
    fn write_key(&self) -> Option<String> {
        non_empty_string(self.get("writeKey"))
    }

    /// Sets `properties`, `traits` or `context` (`f`) from its JSON text as sent: kept as
    /// text when it is an object (see [`TextObjects`]), else as a value of the message
    /// (`null` is an absent object; any other type is refused by the parser as a map's
    /// would be). It replaces what an earlier key of the same name set, as in a map.
    fn set_object_text(&mut self, f: F, text: &str) -> serde_json::Result<()> {
        self.take(f);
        let slot = self
            .texts
            .slot(f.name())
            .expect("only the three objects are kept as text");
        *slot = None;
        if text.trim_start().starts_with('{') {
            if let Ok(object) = JsonObject::from_text(text.into()) {
                *slot = Some(object);
                return Ok(());
            }
        }
        self.set(f, serde_json::from_str(text)?);
        Ok(())
    }

    fn take(&mut self, f: F) -> Option<Value> {
        self.times[f as usize] = None;
        self.known[f as usize].take()
    }

    /// A field holding a strict RFC 3339 time (as the parser requires it), read once: the
    /// import reads `timestamp` to name a row, and the parser then reads it from here.
    /// `None` when the field is absent, not a string, or not such a time.
    pub fn time(&mut self, key: &str) -> Option<Micros> {
        self.strict_time(F::of(key)?)
    }

    fn strict_time(&mut self, f: F) -> Option<Micros> {
        if self.times[f as usize].is_none() {
            let Some(Value::String(text)) = self.at(f) else {
                return None;
            };
            self.times[f as usize] = parse_rfc3339(text).ok();
        }
        self.times[f as usize]
    }

    /// [`optional_time`] of a known field, read once.
    fn time_field(&mut self, f: F) -> Result<Option<Micros>, PayloadError> {
        match self.strict_time(f) {
            Some(t) => Ok(Some(t)),
            None => optional_time(self.at(f), f.name()),
        }
    }

    fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        FIELDS
            .iter()
            .zip(&self.known)
            .filter_map(|(k, v)| Some((*k, v.as_ref()?)))
            .chain(self.rest.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// [`object_bound`] of the message's fields (its texts not included).
    fn bound(&self) -> usize {
        2 + self
            .fields()
            .map(|(k, v)| text_bound(k) + 1 + value_bound(v) + 1)
            .sum::<usize>()
    }

    /// The length of its fields serialised as a JSON object.
    fn serialized_len(&self) -> usize {
        let fields: Map<String, Value> = self
            .fields()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        serialized_len(&fields)
    }
}

/// What a batch envelope lends to every message in it.
#[derive(Default)]
struct Envelope {
    sent_at: Option<Micros>,
    context: Option<Map<String, Value>>,
    integrations: Option<Value>,
}

fn parse_batch(
    root: Root,
    parsed: &mut Parsed,
    received_at: Micros,
    clock: Clock,
    limits: &Limits,
    new_message_id: &mut dyn FnMut() -> String,
) -> Result<(), PayloadError> {
    let Root { batch, fields } = root;
    parsed.write_key = non_empty_string(fields.get("writeKey"));
    let items = match batch {
        Some(Read::Object(items)) => items,
        Some(Read::Other) => {
            return Err(PayloadError::new(
                ErrorCode::InvalidType,
                "batch".to_string(),
                "`batch` must be an array of messages",
            ))
        }
        None => {
            return Err(PayloadError::new(
                ErrorCode::MissingField,
                "batch".to_string(),
                "`batch` is required",
            ))
        }
    };
    if items.len() > limits.max_batch_events {
        return Err(PayloadError::new(
            ErrorCode::BatchTooLarge,
            "batch".to_string(),
            format!(
                "a batch holds at most {} events, this one has {}",
                limits.max_batch_events,
                items.len()
            ),
        ));
    }
    let envelope = Envelope {
        sent_at: optional_time(fields.get("sentAt"), "sentAt")?,
        context: optional_object(&fields, "context")?.cloned(),
        integrations: fields.get("integrations").cloned(),
    };
    parsed.events.reserve(items.len());
    parsed.indices.reserve(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let result = match item {
            Read::Object(message) => {
                if parsed.write_key.is_none() {
                    parsed.write_key = message.write_key();
                }
                parse_message(
                    message,
                    None,
                    &envelope,
                    received_at,
                    clock,
                    limits,
                    new_message_id,
                )
            }
            Read::Other => Err(PayloadError::new(
                ErrorCode::InvalidType,
                None,
                "each batch item must be a JSON object",
            )),
        };
        match result {
            Ok((event, placeholders)) => {
                parsed.events.push(event);
                parsed.indices.push(Some(index));
                parsed.placeholder_ids += placeholders;
            }
            Err(e) => parsed.rejected.push(e.in_batch(index)),
        }
    }
    Ok(())
}

fn parse_message(
    mut m: Message,
    kind_from_path: Option<EventKind>,
    envelope: &Envelope,
    received_at: Micros,
    clock: Clock,
    limits: &Limits,
    new_message_id: &mut dyn FnMut() -> String,
) -> Result<(Event, usize), PayloadError> {
    // Most events are far under the limit: a bound on their size (no serialisation)
    // settles those; the exact size is computed only near the limit.
    let texts = std::mem::take(&mut m.texts);
    let size = match m.bound() + texts.size() {
        bound if bound <= limits.max_event_bytes => bound,
        _ => m.serialized_len().saturating_add(texts.size()),
    };
    if size > limits.max_event_bytes {
        return Err(PayloadError::new(
            ErrorCode::EventTooLarge,
            None,
            format!(
                "an event may be at most {} bytes, this one is {size}",
                limits.max_event_bytes
            ),
        ));
    }
    let kind = message_kind(&m, kind_from_path)?;
    // A placeholder id is absent; named in the error if no other id is left, and counted.
    let mut given = [None, None];
    let user_id = id_or_none(&mut m, F::UserId, &mut given[0])?;
    let anonymous_id = id_or_none(&mut m, F::AnonymousId, &mut given[1])?;
    let mut group_id = None;
    let mut previous_id = None;
    match kind {
        EventKind::Alias => {
            previous_id = Some(required_id(&mut m, F::PreviousId)?);
            if user_id.is_none() {
                let needed = "an alias needs the `userId` that `previousId` becomes";
                return Err(match &given[0] {
                    Some((f, p)) => names_no_one(*f, p, needed),
                    None => missing("userId", needed),
                });
            }
        }
        EventKind::Group => group_id = Some(required_id(&mut m, F::GroupId)?),
        // Other messages may name their account the Segment way, in `context.groupId`.
        _ => {
            let given = |o: View| o.str_at("groupId").map(str::to_string);
            group_id = match (m.at(F::Context), &texts.context) {
                (Some(Value::Object(c)), _) => given(View::Map(c)),
                // A context kept as text is read through its shallow parse: no map.
                (None, Some(c)) => c.view(given),
                _ => None,
            }
            .map(|s| s.trim().to_string())
            .filter(|s| !is_absent_id(s));
        }
    }
    if user_id.is_none() && anonymous_id.is_none() {
        let needed = "every message needs a `userId` or an `anonymousId`";
        return Err(match given.iter().flatten().next() {
            Some((f, p)) => names_no_one(*f, p, needed),
            None => missing("userId", needed),
        });
    }
    let name = message_name(&mut m, kind)?;
    let message_id = match m.take(F::MessageId) {
        None | Some(Value::Null) => new_message_id(),
        Some(Value::String(s)) if s.trim().is_empty() => new_message_id(),
        Some(Value::String(s)) if longer_than(&s, MAX_MESSAGE_ID_CHARS) => {
            return Err(invalid(
                "messageId",
                format!("`messageId` may be at most {MAX_MESSAGE_ID_CHARS} characters"),
            ))
        }
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(wrong_type("messageId", "a string")),
    };
    let original = m.time_field(F::OriginalTimestamp)?;
    let explicit = m.time_field(F::Timestamp)?;
    let sent_at = m.time_field(F::SentAt)?.or(envelope.sent_at);
    let client_time = original.or(explicit);
    let timestamp = match clock {
        Clock::Live => corrected_timestamp(client_time, sent_at, received_at),
        Clock::Recorded => {
            let recorded = match explicit {
                Some(t) => t,
                None => match m.time_field(F::ReceivedAt)? {
                    Some(then) => corrected_timestamp(client_time, sent_at, then),
                    None => client_time.unwrap_or(received_at),
                },
            };
            recorded.min(received_at)
        }
    };

    let mut properties = owned_object(&mut m, F::Properties, texts.properties)?;
    if matches!(kind, EventKind::Page | EventKind::Screen) {
        if let Some(category) = page_category(&mut m)? {
            properties = properties.with_missing(Map::from_iter([(
                "category".to_string(),
                Value::String(category),
            )]));
        }
    }
    let traits = owned_object(&mut m, F::Traits, texts.traits)?;
    let mut context = owned_object(&mut m, F::Context, texts.context)?;
    if let Some(shared) = &envelope.context {
        for (k, v) in shared {
            context.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    // RudderStack SDKs send identify traits in `context.traits`; Segment at the root.
    // Both are traits of the person; the root wins where they overlap.
    let mut traits = traits;
    // Looked for through the view first: most contexts have no traits, and a context
    // kept as text is not parsed into a map to tell.
    if kind == EventKind::Identify && context.view(|c| c.object_at("traits").is_some()) {
        if let Some(Value::Object(in_context)) = context.get("traits") {
            for (k, v) in in_context {
                traits.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    if let Some(integrations) = m.at(F::Integrations).or(envelope.integrations.as_ref()) {
        if !integrations.is_null() && !integrations.is_object() {
            return Err(wrong_type("integrations", "an object"));
        }
    }
    if kind == EventKind::Track && name == crate::voice::surveys::SURVEY_EVENT {
        crate::voice::surveys::check_answer(&properties)
            .map_err(|message| invalid("properties.score", message))?;
    }
    let touch = properties.view(|p| context.view(|c| normalize(kind, &name, p, c)));
    let placeholders = given.iter().flatten().count();
    let event = Event {
        message_id,
        kind,
        name,
        user_id,
        anonymous_id,
        group_id,
        previous_id,
        timestamp,
        original_timestamp: client_time,
        sent_at,
        received_at,
        properties,
        traits,
        context,
        touch,
    };
    // How many of its ids were placeholders, taken as absent (for the server's metrics).
    Ok((event, placeholders))
}

/// The length of a message serialised as JSON, counted without building the text.
/// An upper bound of the length of `m` serialised as compact JSON, from the lengths of
/// its strings (an escaped byte takes at most 6: `\u001f`) and at most 24 characters a
/// number (`-1.2345678901234567e-308`), without serialising.
fn object_bound(m: &Map<String, Value>) -> usize {
    2 + m
        .iter()
        .map(|(k, v)| text_bound(k) + 1 + value_bound(v) + 1)
        .sum::<usize>()
}

fn text_bound(s: &str) -> usize {
    2 + 6 * s.len()
}

fn value_bound(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 24,
        Value::String(s) => text_bound(s),
        Value::Array(a) => 2 + a.iter().map(|v| value_bound(v) + 1).sum::<usize>(),
        Value::Object(o) => object_bound(o),
    }
}

fn serialized_len(m: &Map<String, Value>) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, m) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

fn message_kind(m: &Message, from_path: Option<EventKind>) -> Result<EventKind, PayloadError> {
    match (m.at(F::Type), from_path) {
        (None | Some(Value::Null), Some(k)) => Ok(k),
        (None | Some(Value::Null), None) => Err(missing("type", "each batch item needs a `type` (track, identify, page, screen, group, alias)")),
        (Some(Value::String(t)), from_path) => match (EventKind::parse(t), from_path) {
            (Some(k), None) => Ok(k),
            // On a single-message endpoint the path decides; a body type that agrees is fine.
            (Some(k), Some(p)) if k == p => Ok(k),
            (Some(_), Some(p)) => Err(invalid("type", format!("`type` is `{t}` but this endpoint takes `{}`", p.as_str()))),
            (None, _) => Err(invalid("type", format!("unknown message type `{t}` (expected track, identify, page, screen, group or alias)"))),
        },
        (Some(_), _) => Err(wrong_type("type", "a string")),
    }
}

fn message_name(m: &mut Message, kind: EventKind) -> Result<String, PayloadError> {
    let field = if kind == EventKind::Track {
        F::Event
    } else {
        F::Name
    };
    let key = field.name();
    let name = match m.take(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(trimmed(s)).filter(|s| !s.is_empty()),
        Some(_) => return Err(wrong_type(key, "a string")),
    };
    match name {
        Some(n) if longer_than(&n, MAX_NAME_CHARS) => Err(invalid(
            key,
            format!("`{key}` may be at most {MAX_NAME_CHARS} characters"),
        )),
        Some(n) => Ok(n),
        None if kind == EventKind::Track => {
            Err(missing("event", "a track call needs an `event` name"))
        }
        None => Ok(kind.default_name().to_string()),
    }
}

/// A page's or screen's `category`, which Segment's libraries send beside its `name`
/// (Python and RudderStack only there, analytics.js and analytics-node also in
/// `properties.category` for a page): kept in `properties.category`, where the
/// properties' own value wins. A number is taken as its text; `null` or `""` is none.
fn page_category(m: &mut Message) -> Result<Option<String>, PayloadError> {
    let category = match m.take(F::Category) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => trimmed(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(wrong_type("category", "a string")),
    };
    Ok(Some(category).filter(|c| !c.is_empty()))
}

/// The values a client sends for an identifier it does not have: JavaScript's nullish
/// values and objects turned into text, zero, the nil UUID, the stand-ins of code written
/// with no user (compared without case, after trimming). Taken as an id, each would merge
/// everyone who sent it into one person; Mixpanel refuses them as ids and PostHog will
/// not merge on them. An id of this list, or a template left unfilled (`{{user.id}}`),
/// means absent. See docs/identity.md.
pub const PLACEHOLDER_IDS: &[&str] = &[
    "undefined",
    "null",
    "nil",
    "<nil>",
    "none",
    "nan",
    "[object object]",
    "{}",
    "[]",
    "true",
    "false",
    "0",
    "-1",
    "00000000-0000-0000-0000-000000000000",
    "anonymous",
    "anon",
    "guest",
    "unknown",
    "not_authenticated",
    "n/a",
];

/// Whether an identifier (trimmed) is a placeholder: see [`PLACEHOLDER_IDS`]. (The
/// comparisons are cheap: each first compares lengths.)
pub fn is_placeholder_id(id: &str) -> bool {
    (id.starts_with("{{") && id.ends_with("}}"))
        || PLACEHOLDER_IDS.iter().any(|p| p.eq_ignore_ascii_case(id))
}

/// Whether an identifier (trimmed) names no one: empty, or a placeholder. The one rule
/// for every place that reads ids (messages, and the import telling rows keyed by
/// email).
pub fn is_absent_id(id: &str) -> bool {
    id.is_empty() || is_placeholder_id(id)
}

/// An identifier field as read: one, none, or a placeholder taken as none (kept for the
/// error that names it, and counted).
enum Id {
    Given(String),
    Absent,
    Placeholder(String),
}

/// Why a message whose only id of `field` is the placeholder `value` names no one.
fn names_no_one(field: F, value: &str, needed: &str) -> PayloadError {
    let key = field.name();
    invalid(
        key,
        format!("{needed}: `{key}` is `{value}`, which clients send when they have no id, and names no one"),
    )
}

/// An identifier: a non-empty string (numbers are accepted and turned into strings, as
/// several clients send numeric user ids); `null` and `""` mean absent, and so do
/// placeholders ([`is_placeholder_id`]), which are told apart. Taken out of the message
/// (each field is read once).
fn optional_id(m: &mut Message, field: F) -> Result<Id, PayloadError> {
    let key = field.name();
    let id = match m.take(field) {
        None | Some(Value::Null) => return Ok(Id::Absent),
        Some(Value::String(s)) => trimmed(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(wrong_type(key, "a string")),
    };
    if id.is_empty() {
        return Ok(Id::Absent);
    }
    if is_placeholder_id(&id) {
        return Ok(Id::Placeholder(id));
    }
    if longer_than(&id, MAX_ID_CHARS) {
        return Err(invalid(
            key,
            format!("`{key}` may be at most {MAX_ID_CHARS} characters"),
        ));
    }
    Ok(Id::Given(id))
}

/// `s` without surrounding white space, reusing its buffer when there is none.
fn trimmed(s: String) -> String {
    match s.trim() {
        t if t.len() == s.len() => s,
        t => t.to_string(),
    }
}

/// An optional identifier; a placeholder is none, and goes to `dropped` with its field.
fn id_or_none(
    m: &mut Message,
    field: F,
    dropped: &mut Option<(F, String)>,
) -> Result<Option<String>, PayloadError> {
    Ok(match optional_id(m, field)? {
        Id::Given(id) => Some(id),
        Id::Absent => None,
        Id::Placeholder(value) => {
            *dropped = Some((field, value));
            None
        }
    })
}

fn required_id(m: &mut Message, field: F) -> Result<String, PayloadError> {
    let key = field.name();
    let needed = format!("`{key}` is required for this message type");
    match optional_id(m, field)? {
        Id::Given(id) => Ok(id),
        Id::Placeholder(value) => Err(names_no_one(field, &value, &needed)),
        Id::Absent => Err(missing(key, needed)),
    }
}

fn optional_time(value: Option<&Value>, key: &str) -> Result<Option<Micros>, PayloadError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_rfc3339(s).map(Some).map_err(|e| {
            PayloadError::new(
                ErrorCode::InvalidTimestamp,
                key.to_string(),
                format!("`{key}`: {e}"),
            )
        }),
        Some(_) => Err(PayloadError::new(
            ErrorCode::InvalidTimestamp,
            key.to_string(),
            format!("`{key}` must be an RFC 3339 string such as 2024-05-01T10:00:00Z"),
        )),
    }
}

fn optional_object<'a>(
    m: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, PayloadError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(wrong_type(key, "an object")),
    }
}

/// The object under `key` (empty when absent or null), or the one given apart (see
/// [`TextObjects`]).
fn owned_object(
    m: &mut Message,
    field: F,
    given: Option<JsonObject>,
) -> Result<JsonObject, PayloadError> {
    match (m.take(field), given) {
        (None | Some(Value::Null), given) => Ok(given.unwrap_or_default()),
        (Some(Value::Object(o)), None) => Ok(o.into()),
        (Some(Value::Object(o)), Some(given)) => {
            let mut merged = given.into_map();
            merged.extend(o);
            Ok(merged.into())
        }
        (Some(_), _) => Err(wrong_type(field.name(), "an object")),
    }
}

/// A copy of a value that is a non-empty string.
fn non_empty_string(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn missing(field: &str, message: impl Into<String>) -> PayloadError {
    PayloadError::new(ErrorCode::MissingField, field.to_string(), message)
}

fn invalid(field: &str, message: impl Into<String>) -> PayloadError {
    PayloadError::new(ErrorCode::InvalidValue, field.to_string(), message)
}

fn wrong_type(field: &str, expected: &str) -> PayloadError {
    PayloadError::new(
        ErrorCode::InvalidType,
        field.to_string(),
        format!("`{field}` must be {expected}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,20}".prop_map(Value::String),
            "[\\x00-\\x1f\"\\\\é]{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map("\\PC{0,8}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_size_bound_is_never_under_the_serialised_size(
            m in proptest::collection::btree_map("\\PC{0,8}", json_value(), 0..10)
        ) {
            let m: Map<String, Value> = m.into_iter().collect();
            prop_assert!(object_bound(&m) >= serialized_len(&m));
            prop_assert_eq!(serialized_len(&m), serde_json::to_vec(&m).unwrap().len());
        }
    }

    proptest! {
        /// A message split into the parser's fields and the rest has the size of its map,
        /// and gives every field back.
        #[test]
        fn a_message_has_the_size_and_fields_of_its_map(
            m in proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
                    "\\PC{0,8}",
                ],
                json_value(),
                0..12,
            )
        ) {
            let m: Map<String, Value> = m.into_iter().collect();
            let message = Message::from_map(m.clone());
            prop_assert_eq!(message.bound(), object_bound(&m));
            prop_assert_eq!(message.serialized_len(), serialized_len(&m));
            for (k, v) in &m {
                prop_assert_eq!(message.get(k), Some(v));
            }
            prop_assert_eq!(message.fields().count(), m.len());
        }
    }

    #[test]
    fn a_time_read_once_is_forgotten_when_its_field_changes() {
        let mut m = Message::default();
        assert_eq!(m.time("timestamp"), None);
        m.insert("timestamp", Value::from("2024-05-01T10:00:00Z"));
        let first = parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(m.time("timestamp"), Some(first));
        m.insert("timestamp", Value::from("2024-05-02T10:00:00Z"));
        assert_eq!(m.time("timestamp"), Some(first + 86_400_000_000));
        if let Some(v) = m.get_mut("timestamp") {
            *v = Value::from("2024-05-01 10:00");
        }
        assert_eq!(m.time("timestamp"), None, "not strict RFC 3339");
        m.insert("timestamp", Value::from("2024-05-01T10:00:00Z"));
        assert_eq!(m.time("timestamp"), Some(first));
        m.remove("timestamp");
        assert_eq!(m.time("timestamp"), None);
        assert_eq!(m.time("plan"), None, "only the parser's fields");
        // The parser reads the time given, and still names a bad one.
        m.insert("timestamp", Value::from("2024-05-01T10:00:00Z"));
        for (k, v) in [("type", "track"), ("event", "E"), ("userId", "u")] {
            m.insert(k, Value::from(v));
        }
        let e = parse_fields(m, first, &Limits::default(), &mut || "id".into()).unwrap();
        assert_eq!(e.timestamp, first);
        let mut bad = Message::default();
        for (k, v) in [
            ("type", "track"),
            ("event", "E"),
            ("userId", "u"),
            ("timestamp", "x"),
        ] {
            bad.insert(k, Value::from(v));
        }
        let err = parse_fields(bad, first, &Limits::default(), &mut || "id".into()).unwrap_err();
        assert_eq!(
            (err.code, err.field.as_deref()),
            (ErrorCode::InvalidTimestamp, Some("timestamp"))
        );
    }

    #[test]
    fn the_size_bound_holds_for_the_worst_strings_and_numbers() {
        for m in [
            serde_json::json!({ "k": "\u{1}".repeat(50) }),
            serde_json::json!({ "\u{1f}\u{1f}": ["\"\\", i64::MIN, u64::MAX] }),
            serde_json::json!({ "n": vec![-1.2345678901234567e-308_f64; 10] }),
        ] {
            let m = m.as_object().unwrap();
            assert!(object_bound(m) >= serialized_len(m), "{m:?}");
        }
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("gen-{n}")
        }
    }

    fn parse(body: &str, endpoint: Endpoint) -> Result<Parsed, PayloadError> {
        let received = parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        parse_body(
            body.as_bytes(),
            endpoint,
            received,
            &Limits::default(),
            &mut ids(),
        )
    }

    /// The one event a body gives on `/v1/track`.
    fn tracked(body: &str) -> Result<Event, PayloadError> {
        let mut parsed = parse(body, Endpoint::Single(EventKind::Track))?;
        match parsed.rejected.pop() {
            Some(e) => Err(e),
            None => Ok(parsed.events.pop().expect("one event")),
        }
    }

    /// Placeholder ids (`"undefined"`, `"null"`, `0`, the nil UUID, an unfilled template…)
    /// are absent: the message keeps its other id, or is refused naming the placeholder;
    /// a required id that is one is refused; ids that only look alike are ids.
    #[test]
    fn placeholder_ids_name_no_one() {
        let one = |message: &str| {
            let mut parsed =
                parse(&format!(r#"{{"batch": [{message}]}}"#), Endpoint::Batch).unwrap();
            match parsed.rejected.pop() {
                Some(e) => Err((e.field.unwrap_or_default(), e.message)),
                None => Ok(parsed.events.pop().unwrap()),
            }
        };
        for placeholder in [
            r#""undefined""#,
            r#"" Undefined ""#,
            r#""NULL""#,
            r#""[object Object]""#,
            "0",
            r#""-1""#,
            r#""00000000-0000-0000-0000-000000000000""#,
            r#""{{user.id}}""#,
            r#""anonymous""#,
        ] {
            let e = one(&format!(
                r#"{{"type": "track", "event": "E", "userId": {placeholder}, "anonymousId": "a-1"}}"#
            ))
            .unwrap();
            assert_eq!(
                (e.user_id, e.anonymous_id.as_deref()),
                (None, Some("a-1")),
                "{placeholder}"
            );
            let (field, message) = one(&format!(
                r#"{{"type": "track", "event": "E", "anonymousId": {placeholder}}}"#
            ))
            .unwrap_err();
            assert_eq!(field, "batch[0].anonymousId", "{placeholder}");
            assert!(message.contains("names no one"), "{message}");
        }
        let (field, _) =
            one(r#"{"type": "alias", "userId": "u-1", "previousId": "null"}"#).unwrap_err();
        assert_eq!(field, "batch[0].previousId");
        let (field, _) =
            one(r#"{"type": "alias", "userId": "undefined", "previousId": "u-1"}"#).unwrap_err();
        assert_eq!(field, "batch[0].userId");
        let (field, _) =
            one(r#"{"type": "group", "userId": "u-1", "groupId": "undefined"}"#).unwrap_err();
        assert_eq!(field, "batch[0].groupId");
        let e = one(
            r#"{"type": "track", "event": "E", "userId": "u-1", "context": {"groupId": "null"}}"#,
        )
        .unwrap();
        assert_eq!(e.group_id, None);
        for id in [
            "0a",
            "anonymous-7",
            "null-pointer",
            "guest42",
            "00000000-0000-0000-0000-000000000001",
            "{{",
        ] {
            let e = one(&format!(
                r#"{{"type": "track", "event": "E", "userId": "{id}"}}"#
            ))
            .unwrap();
            assert_eq!(e.user_id.as_deref(), Some(id));
        }
    }

    /// A page's or screen's top-level `category` (how Segment's Python library and
    /// RudderStack send it) is kept in `properties.category`; a category already in the
    /// properties wins; other calls have no category; a category of another type is
    /// refused by name.
    #[test]
    fn a_page_or_screen_category_is_kept_in_its_properties() {
        let category = |body: &str| {
            let parsed = parse(body, Endpoint::Batch).unwrap();
            assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
            let event = &parsed.events[0];
            event
                .properties
                .view(|p| p.str_at("category").map(str::to_string))
        };
        let page = r#"{"batch": [{"type": "page", "userId": "u", "name": "Shoes", "category": " Shop ", "properties": {"path": "/shoes"}}]}"#;
        assert_eq!(category(page).as_deref(), Some("Shop"));
        let screen = r#"{"batch": [{"type": "screen", "userId": "u", "name": "Cart", "category": "Checkout"}]}"#;
        assert_eq!(category(screen).as_deref(), Some("Checkout"));
        let own = r#"{"batch": [{"type": "page", "userId": "u", "category": "Top", "properties": {"category": "Own"}}]}"#;
        assert_eq!(category(own).as_deref(), Some("Own"));
        for none in [r#""category": null"#, r#""category": """#] {
            let body = format!(r#"{{"batch": [{{"type": "page", "userId": "u", {none}}}]}}"#);
            assert_eq!(category(&body), None, "{body}");
        }
        let track =
            r#"{"batch": [{"type": "track", "event": "E", "userId": "u", "category": "Shop"}]}"#;
        assert_eq!(category(track), None);
        let wrong = r#"{"batch": [{"type": "page", "userId": "u", "category": {"a": 1}}]}"#;
        let parsed = parse(wrong, Endpoint::Batch).unwrap();
        assert_eq!(
            parsed.rejected[0].field.as_deref(),
            Some("batch[0].category")
        );
        assert!(parsed.events.is_empty());
    }

    /// An object holding `serde_json`'s private raw-value key is not kept as its text
    /// (which every later map parse would read otherwise, or refuse): it is read as a
    /// map, as `serde_json` reads it, and checked as such.
    #[test]
    fn an_object_with_serde_json_s_raw_value_key_is_read_as_serde_json_reads_it() {
        let nested = r#"{"a": {"$serde_json::private::RawValue": "[1]"}, "b": 2}"#;
        let body = format!(r#"{{"event": "E", "userId": "u", "properties": {nested}}}"#);
        let event = tracked(&body).unwrap();
        assert_eq!(event.properties.source_text(), None);
        assert_eq!(
            Value::Object((*event.properties).clone()),
            serde_json::json!({"a": [1], "b": 2})
        );
        let top = r#"{"event": "E", "userId": "u", "properties": {"$serde_json::private::RawValue": "5"}}"#;
        let err = tracked(top).expect_err("not an object once read");
        assert_eq!(
            (err.code, err.field.as_deref()),
            (ErrorCode::InvalidType, Some("properties"))
        );
    }

    /// A check after parsing moves the events it fails to the rejected ones, with their
    /// batch index, in body order among those the parse rejected; the others stay, in
    /// order, with their indices.
    #[test]
    fn events_failing_a_later_check_join_the_rejected_in_body_order() {
        let body = r#"{"batch": [
            {"type": "track", "event": "A", "userId": "u"},
            {"type": "track", "event": "B", "userId": "u"},
            {"type": "track", "userId": "u"},
            {"type": "track", "event": "D", "userId": "u"},
            {"type": "track", "event": "E", "userId": "u"}
        ]}"#;
        let mut parsed = parse(body, Endpoint::Batch).unwrap();
        assert_eq!(parsed.rejected.len(), 1);
        parsed.reject_failing(|e| match e.name.as_str() {
            "B" | "E" => Err(PayloadError::new(ErrorCode::InvalidValue, None, "no")),
            _ => Ok(()),
        });
        let names: Vec<&str> = parsed.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["A", "D"]);
        assert_eq!(parsed.indices, [Some(0), Some(3)]);
        let rejected: Vec<_> = parsed.rejected.iter().map(|e| (e.index, e.code)).collect();
        assert_eq!(
            rejected,
            [
                (Some(1), ErrorCode::InvalidValue),
                (Some(2), ErrorCode::MissingField),
                (Some(4), ErrorCode::InvalidValue)
            ]
        );
        // Nothing failing: nothing moves.
        parsed.reject_failing(|_| Ok(()));
        assert_eq!(parsed.events.len(), 2);
    }

    /// `/v1/import` reads its messages as recorded earlier, as a file's: an archived
    /// message's `timestamp` is its time, and its `sentAt` is not taken as sent now.
    /// `/v1/batch` corrects the same messages against the time they arrive.
    #[test]
    fn an_import_keeps_the_times_its_messages_recorded() {
        let body = r#"{"batch": [
            {"type": "track", "event": "A", "userId": "u", "timestamp": "2024-03-01T12:00:00Z",
             "originalTimestamp": "2024-03-01T12:00:05Z", "sentAt": "2024-03-01T12:00:10Z"},
            {"type": "track", "event": "B", "userId": "u", "originalTimestamp": "2024-03-02T08:00:00Z",
             "sentAt": "2024-03-02T08:00:30Z", "receivedAt": "2024-03-02T08:00:20Z"},
            {"type": "track", "event": "C", "userId": "u", "originalTimestamp": "2024-03-03T08:00:00Z"}
        ], "sentAt": "2024-04-30T00:00:00Z"}"#;
        let times = |endpoint| {
            let parsed = parse(body, endpoint).unwrap();
            assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
            parsed
                .events
                .iter()
                .map(|e| crate::time::format_rfc3339(e.timestamp))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            times(Endpoint::Import),
            [
                "2024-03-01T12:00:00.000000Z",
                "2024-03-02T07:59:50.000000Z",
                "2024-03-03T08:00:00.000000Z"
            ]
        );
        // As sent now: 5 s, 30 s and (by the envelope's sentAt) 57 days 16 h before the
        // request arrived, on 2024-05-01 at 10:00.
        assert_eq!(
            times(Endpoint::Batch),
            [
                "2024-05-01T09:59:55.000000Z",
                "2024-05-01T09:59:30.000000Z",
                "2024-03-04T18:00:00.000000Z"
            ]
        );
    }

    #[test]
    fn objects_of_a_body_are_kept_as_the_text_sent() {
        let props = r#"{ "plan" : "pro",  "seats": 3, "tags": ["a", {"b": null}] }"#;
        let context = r#"{"page": {"path": "/pricing"}, "campaign": {"source": "news\u00e9"}}"#;
        let body = format!(
            r#"{{"batch": [{{"type": "track", "event": "Bought", "userId": "u1", "properties": {props}, "context": {context}}}]}}"#
        );
        let event = parse(&body, Endpoint::Batch).unwrap().events.remove(0);
        // Kept as sent, spaces and escapes included: stored with no serialising again.
        assert_eq!(event.properties.source_text(), Some(props));
        assert_eq!(event.context.source_text(), Some(context));
        // And read as the map serde_json reads from it.
        let expected: Map<String, Value> = serde_json::from_str(props).unwrap();
        assert_eq!(*event.properties, expected);
        assert_eq!(
            event.context.view(|c| c
                .object_at("campaign")
                .and_then(|o| o.str_at("source"))
                .map(str::to_string)),
            Some("newsé".to_string())
        );
    }

    #[test]
    fn a_repeated_object_key_is_the_last_one_as_in_a_map() {
        let base = r#""event": "E", "userId": "u""#;
        let event = tracked(&format!(
            r#"{{{base}, "properties": {{"a": 1}}, "properties": {{"b": 2}}}}"#
        ))
        .unwrap();
        assert_eq!(
            Value::Object(event.properties.clone().into_map()),
            serde_json::json!({"b": 2})
        );
        let event = tracked(&format!(
            r#"{{{base}, "properties": {{"a": 1}}, "properties": null}}"#
        ))
        .unwrap();
        assert!(event.properties.is_empty());
        let event = tracked(&format!(
            r#"{{{base}, "properties": [1], "properties": {{"c": 3}}}}"#
        ))
        .unwrap();
        assert_eq!(
            Value::Object(event.properties.clone().into_map()),
            serde_json::json!({"c": 3})
        );
        let e = tracked(&format!(
            r#"{{{base}, "properties": {{"c": 3}}, "properties": "x"}}"#
        ))
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("properties"));
    }

    #[test]
    fn an_object_field_of_another_type_is_refused_by_name() {
        for (field, value) in [
            ("properties", "[1, 2]"),
            ("traits", "\"t\""),
            ("context", "7"),
            ("context", "true"),
        ] {
            let body = format!(r#"{{"event": "E", "userId": "u", "{field}": {value}}}"#);
            let e = tracked(&body).unwrap_err();
            assert_eq!(
                (e.code, e.field.as_deref()),
                (ErrorCode::InvalidType, Some(field)),
                "{body}"
            );
        }
        // Null is an absent object.
        let event =
            tracked(r#"{"event": "E", "userId": "u", "context": null, "traits": {}}"#).unwrap();
        assert!(event.context.is_empty() && event.traits.is_empty());
    }

    proptest! {
        /// Whatever objects a message carries, and however its body is spaced, the event
        /// holds the maps `serde_json` reads from them.
        #[test]
        fn objects_read_from_a_body_are_the_maps_serde_json_reads(
            props in proptest::collection::btree_map("\\PC{0,8}", json_value(), 0..6),
            context in proptest::collection::btree_map("\\PC{0,8}", json_value(), 0..6),
            pretty in any::<bool>(),
        ) {
            let props: Map<String, Value> = props.into_iter().collect();
            let context: Map<String, Value> = context.into_iter().collect();
            let message = serde_json::json!({
                "type": "track", "event": "E", "userId": "u",
                "properties": props, "context": context,
            });
            let body = serde_json::json!({ "batch": [message] });
            let body = if pretty { serde_json::to_string_pretty(&body) } else { serde_json::to_string(&body) }.unwrap();
            let mut parsed = parse(&body, Endpoint::Batch).unwrap();
            prop_assert!(parsed.rejected.is_empty());
            let event = parsed.events.remove(0);
            // What serde_json reads from the body (a float may read a bit off what was
            // written: its default parser does not round-trip every float).
            let read: Value = serde_json::from_str(&body).unwrap();
            let item = &read["batch"][0];
            prop_assert_eq!(Value::Object(event.properties.clone().into_map()), item["properties"].clone());
            prop_assert_eq!(Value::Object(event.context.clone().into_map()), item["context"].clone());
        }
    }

    #[test]
    fn length_limits_count_characters_not_bytes() {
        // "é" is two bytes: a value at the limit in characters is over it in bytes.
        let at = |n: usize| "é".repeat(n);
        for (field, max) in [
            ("userId", MAX_ID_CHARS),
            ("messageId", MAX_MESSAGE_ID_CHARS),
            ("event", MAX_NAME_CHARS),
        ] {
            let body = |value: String| {
                let mut m = serde_json::json!({"type": "track", "event": "E", "userId": "u"});
                m[field] = Value::String(value);
                m.to_string()
            };
            let ok = parse(&body(at(max)), Endpoint::Single(EventKind::Track)).unwrap();
            assert_eq!(
                (ok.events.len(), ok.rejected.len()),
                (1, 0),
                "{field} at {max}"
            );
            let over = parse(&body(at(max + 1)), Endpoint::Single(EventKind::Track)).unwrap();
            let e = &over.rejected[0];
            assert_eq!(e.field.as_deref(), Some(field), "{field} over {max}");
            assert!(e.message.contains("at most"), "{}", e.message);
        }
    }

    #[test]
    fn a_batch_keeps_valid_events_and_reports_each_rejected_one() {
        let body = r#"{"batch":[
            {"type":"track","event":"Signed Up","userId":"u1"},
            {"type":"track","userId":"u1"},
            {"type":"page","anonymousId":null,"userId":"u2","timestamp":"not a time"},
            {"type":"identify","anonymousId":"a1","traits":{"email":"x@y.z"}}
        ]}"#;
        let parsed = parse(body, Endpoint::Batch).unwrap();
        assert_eq!(parsed.events.len(), 2);
        let fields: Vec<_> = parsed
            .rejected
            .iter()
            .map(|e| (e.index, e.field.clone(), e.code))
            .collect();
        assert_eq!(
            fields,
            vec![
                (
                    Some(1),
                    Some("batch[1].event".into()),
                    ErrorCode::MissingField
                ),
                (
                    Some(2),
                    Some("batch[2].timestamp".into()),
                    ErrorCode::InvalidTimestamp
                ),
            ]
        );
        assert_eq!(parsed.events[0].message_id, "gen-1");
    }

    #[test]
    fn envelope_context_and_sent_at_apply_to_items() {
        let body = r#"{"writeKey":"k","sentAt":"2024-05-01T10:01:00Z","context":{"library":{"name":"x"}},
            "batch":[{"type":"track","event":"E","userId":"u","originalTimestamp":"2024-05-01T10:00:50Z"}]}"#;
        let parsed = parse(body, Endpoint::Batch).unwrap();
        let e = &parsed.events[0];
        assert_eq!(parsed.write_key.as_deref(), Some("k"));
        assert_eq!(e.timestamp, parse_rfc3339("2024-05-01T09:59:50Z").unwrap());
        assert_eq!(e.context["library"]["name"], "x");
    }

    #[test]
    fn identify_traits_in_context_count_as_traits() {
        let body = r#"{"userId":"u","traits":{"plan":"pro"},"context":{"traits":{"plan":"free","email":"a@b.c"}}}"#;
        let e = &parse(body, Endpoint::Single(EventKind::Identify))
            .unwrap()
            .events[0];
        assert_eq!(e.traits["plan"], "pro");
        assert_eq!(e.traits["email"], "a@b.c");
        let track = r#"{"userId":"u","event":"E","context":{"traits":{"plan":"free"}}}"#;
        assert!(parse(track, Endpoint::Single(EventKind::Track))
            .unwrap()
            .events[0]
            .traits
            .is_empty());
    }

    #[test]
    fn single_endpoint_takes_type_from_path() {
        let parsed = parse(
            r#"{"userId":"u","name":"Pricing"}"#,
            Endpoint::Single(EventKind::Page),
        )
        .unwrap();
        assert_eq!(parsed.events[0].kind, EventKind::Page);
        let parsed = parse(
            r#"{"type":"track","userId":"u","event":"E"}"#,
            Endpoint::Single(EventKind::Page),
        )
        .unwrap();
        assert_eq!(parsed.rejected[0].field.as_deref(), Some("type"));
    }

    #[test]
    fn body_level_errors() {
        assert_eq!(
            parse("{", Endpoint::Batch).unwrap_err().code,
            ErrorCode::MalformedJson
        );
        assert_eq!(
            parse("[]", Endpoint::Batch).unwrap_err().code,
            ErrorCode::InvalidType
        );
        assert_eq!(
            parse(r#"{"batch":{}}"#, Endpoint::Batch)
                .unwrap_err()
                .field
                .as_deref(),
            Some("batch")
        );
    }

    #[test]
    fn objects_given_as_text_count_in_the_event_size_and_are_read_as_text() {
        let limits = Limits::default();
        let message = |texts: TextObjects| {
            let m: Map<String, Value> = serde_json::from_value(
                serde_json::json!({"type": "track", "event": "E", "userId": "u"}),
            )
            .unwrap();
            let mut m = Message::from_map(m);
            m.texts = texts;
            parse_fields(m, 1_700_000_000_000_000, &limits, &mut || "id".into())
        };
        let text = |t: String| Some(JsonObject::from_text(t.into()).unwrap());
        let big = format!("{{\"b\":\"{}\"}}", "x".repeat(limits.max_event_bytes));
        let err = message(TextObjects {
            properties: text(big.clone()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::EventTooLarge);
        // The same object given as a map, without its text, is counted too.
        let map = text(big).unwrap().into_map();
        let err = message(TextObjects {
            context: Some(map.into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::EventTooLarge);
        // Read without a map: normalisation, the group, and the text kept.
        let e = message(TextObjects {
            properties: text(r#"{"channel": "Call Center", "revenue": "12,5"}"#.into()),
            context: text(r#"{"groupId": " acme ", "campaign": {"source": "google"}}"#.into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (
                e.touch.channel.as_str(),
                e.touch.revenue,
                e.group_id.as_deref()
            ),
            ("phone", Some(12.5), Some("acme"))
        );
        assert_eq!(e.touch.campaign.source.as_deref(), Some("google"));
        assert_eq!(
            e.context.source_text(),
            Some(r#"{"groupId": " acme ", "campaign": {"source": "google"}}"#)
        );
    }

    #[test]
    fn oversize_event_is_rejected_by_index() {
        let big = "x".repeat(40 * 1024);
        let body = format!(
            r#"{{"batch":[{{"type":"track","event":"E","userId":"u","properties":{{"b":"{big}"}}}}]}}"#
        );
        let parsed = parse(&body, Endpoint::Batch).unwrap();
        assert_eq!(parsed.rejected[0].code, ErrorCode::EventTooLarge);
        assert_eq!(parsed.rejected[0].field.as_deref(), Some("batch[0]"));
    }
}
