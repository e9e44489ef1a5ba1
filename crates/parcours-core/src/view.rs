//! Reading a few fields of a JSON object, from a parsed map or straight from its text.
//!
//! Normalisation reads about ten keys of an event's `properties` and `context`. An
//! imported CSV cell holds those objects as text, stored as is; building a `serde_json`
//! map of each only to read those keys was a tenth of the import's CPU. A [`Shallow`]
//! parse of the text keeps the keys and scalar values (strings as their place in the
//! text unless escaped) and nested objects, and a [`View`] reads a map and a shallow
//! parse alike, so the rules are written once. An object made from a text is parsed
//! once, which also checks it: the parse is kept beside the text.
//!
//! [`field`] reads one whole value out of a text (a trait of a stored trait document)
//! without parsing the others.
//!
//! A shallow parse accepts exactly the texts `serde_json` parses into a map; a repeated
//! key reads its last value, as in a map. A scanner of our own reads the common texts
//! (through `serde_json`'s visitors, these parses took 12% of a CSV import's CPU; 8% with
//! the scanner) and leaves to `serde_json` every text it does not read exactly alike, and
//! every error, so that error messages are `serde_json`'s.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The keys and values of a JSON object's text, kept apart from the text: strings are
/// positions in it (unless escaped), so the parse can be stored beside the text it reads
/// (as [`crate::JsonObject`] does) and read with it ([`Shallow::view`]).
///
/// The members of the outer object and of every object nested in it are in one vector,
/// in the order the text gives them, each linked to the next member of its object; the
/// outer object's first member is the first. One allocation a text, not one an object:
/// an event's `context` nests four or five.
#[derive(Debug, Default, Clone)]
pub struct Shallow(Vec<Member>);

/// A member of one of the objects of a [`Shallow`] parse.
#[derive(Debug, Clone)]
struct Member {
    key: Text,
    item: Item,
    /// The next member of the same object, or [`NONE`].
    next: u32,
}

/// No member: after an object's last, or the first of an empty object.
const NONE: u32 = u32::MAX;

/// The key by which `serde_json` (built with its `raw_value` feature, which the HTTP
/// reader uses) reads an object whose first key it is as the JSON text of its value,
/// not as an object: a map parse of `{"a": {"$serde_json::private::RawValue": "[1]"}}`
/// gives `{"a": [1]}`, and of `{"$serde_json::private::RawValue": "5"}` the number 5.
/// A shallow parse refuses a text holding this key anywhere, so that no text kept as an
/// object (and stored as it is) reads back as something else, or not as an object: the
/// text is then read as a map, as `serde_json` reads it, and checked as such.
pub const SERDE_RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// A key or string value: where it is in the text, or its unescaped copy.
#[derive(Debug, Clone)]
enum Text {
    At(usize, usize),
    Owned(Box<str>),
}

impl Text {
    /// Whether this is `key` (bytes compared, lengths first), `source` being the bytes
    /// of the text it was read from.
    fn is(&self, source: &[u8], key: &str) -> bool {
        match self {
            Text::At(start, end) => {
                end - start == key.len() && source.get(*start..*end) == Some(key.as_bytes())
            }
            Text::Owned(s) => **s == *key,
        }
    }

    fn read<'v>(&'v self, source: &'v str) -> &'v str {
        match self {
            // Positions of a string of this text, taken by its parse: in bounds and on
            // character boundaries (another text reads as empty strings, never panics).
            Text::At(start, end) => source.get(*start..*end).unwrap_or_default(),
            Text::Owned(s) => s,
        }
    }
}

#[derive(Debug, Clone)]
enum Item {
    Str(Text),
    Bool(bool),
    Number(f64),
    /// A nested object: its first member (see [`Shallow`]), or [`NONE`] when empty.
    Object(u32),
    /// Null, or an array (read by nothing that uses a view).
    Other,
}

impl Shallow {
    /// Parses `text`, which must be a JSON object.
    ///
    /// A scanner of ours (`Scan`) reads the common texts; whatever it does not read
    /// exactly as `serde_json` would (and every error) is parsed again by `serde_json`,
    /// so that what is accepted, the values read and the error messages are
    /// `serde_json`'s.
    pub fn parse(text: &str) -> serde_json::Result<Shallow> {
        match Scan::text(text) {
            Some(shallow) => Ok(shallow),
            None => Shallow::parse_with_serde(text),
        }
    }

    fn parse_with_serde(text: &str) -> serde_json::Result<Shallow> {
        let mut de = serde_json::Deserializer::from_str(text);
        let mut members = Vec::new();
        (&mut de).deserialize_map(ObjectVisitor(Base::of(text), &mut members))?;
        de.end()?;
        Ok(Shallow(members))
    }

    /// The outer object's members as read: a repeated key counts each time (a map holds
    /// it once).
    pub fn len(&self) -> usize {
        self.members(self.first()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads the fields of `text`, which must be the text this was parsed from.
    pub fn view<'v>(&'v self, text: &'v str) -> View<'v> {
        View::Text(self, self.first(), text)
    }

    /// The outer object's first member.
    fn first(&self) -> u32 {
        if self.0.is_empty() {
            NONE
        } else {
            0
        }
    }

    /// The members of the object whose first member is `first`, in order.
    fn members(&self, first: u32) -> impl Iterator<Item = &Member> {
        let mut at = first;
        std::iter::from_fn(move || {
            let member = self.0.get(at as usize)?;
            at = member.next;
            Some(member)
        })
    }
}

/// Adds a member to `members` after `last` (the object's first when `last` is [`NONE`],
/// then `first` is set), its value to be set once read; `None` past [`NONE`] members.
fn push_member(
    members: &mut Vec<Member>,
    key: Text,
    first: &mut u32,
    last: &mut u32,
) -> Option<u32> {
    let index = u32::try_from(members.len()).ok().filter(|&i| i != NONE)?;
    members.push(Member {
        key,
        item: Item::Other,
        next: NONE,
    });
    match members.get_mut(*last as usize) {
        Some(previous) => previous.next = index,
        None => *first = index,
    }
    *last = index;
    Some(index)
}

/// A field's value as a view reads it.
pub enum Field<'v> {
    Str(&'v str),
    Bool(bool),
    Number(f64),
    Object(View<'v>),
    Other,
}

/// Read access to a JSON object: a map, or an object of a shallow parse (by its first
/// member) with its text.
#[derive(Clone, Copy)]
pub enum View<'v> {
    Map(&'v Map<String, Value>),
    Text(&'v Shallow, u32, &'v str),
}

impl<'v> View<'v> {
    pub fn get(self, key: &str) -> Option<Field<'v>> {
        match self {
            View::Map(m) => m.get(key).map(|v| match v {
                Value::String(s) => Field::Str(s),
                Value::Bool(b) => Field::Bool(*b),
                Value::Number(n) => n.as_f64().map_or(Field::Other, Field::Number),
                Value::Object(o) => Field::Object(View::Map(o)),
                Value::Null | Value::Array(_) => Field::Other,
            }),
            View::Text(s, first, text) => {
                // The last of a repeated key, as in a map.
                s.members(first)
                    .filter(|m| m.key.is(text.as_bytes(), key))
                    .last()
                    .map(|m| match &m.item {
                        Item::Str(v) => Field::Str(v.read(text)),
                        Item::Bool(b) => Field::Bool(*b),
                        Item::Number(n) => Field::Number(*n),
                        Item::Object(o) => Field::Object(View::Text(s, *o, text)),
                        Item::Other => Field::Other,
                    })
            }
        }
    }

    /// The object's keys (a key given twice in a text, twice), in no particular order.
    pub fn keys(self) -> Vec<&'v str> {
        match self {
            View::Map(m) => m.keys().map(String::as_str).collect(),
            View::Text(s, first, text) => s.members(first).map(|m| m.key.read(text)).collect(),
        }
    }

    pub fn has(self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn str_at(self, key: &str) -> Option<&'v str> {
        match self.get(key)? {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn bool_at(self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Field::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn object_at(self, key: &str) -> Option<View<'v>> {
        match self.get(key)? {
            Field::Object(o) => Some(o),
            _ => None,
        }
    }
}

/// The JSON object a text holds, read as JSON says whatever `serde_json`'s features: an
/// object whose first key is [`SERDE_RAW_VALUE_KEY`] is an object here, where
/// `serde_json::from_str` into a `Value` reads it as the JSON text of its value (and
/// fails when that is not JSON). The store reads its JSON columns so: a text written
/// before the shallow parse refused the key reads as the object it is, and cannot make
/// its whole block unreadable.
pub fn plain_object(text: &str) -> serde_json::Result<Map<String, Value>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let map = (&mut de).deserialize_map(PlainObject)?;
    de.end()?;
    Ok(map)
}

/// A JSON text as a `Value`, read as [`plain_object`] reads objects.
pub fn plain_value(text: &str) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = PlainValue.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Any JSON value, read into a `Value` by this visitor rather than by `Value`'s own
/// (see [`plain_object`]).
struct PlainValue;

impl<'de> DeserializeSeed<'de> for PlainValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PlainValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(PlainValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        PlainObject.visit_map(map).map(Value::Object)
    }
}

/// A JSON object, its values read by [`PlainValue`].
struct PlainObject;

impl<'de> Visitor<'de> for PlainObject {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            out.insert(key, map.next_value_seed(PlainValue)?);
        }
        Ok(out)
    }
}

/// The whole value of `key` in the JSON object `text` (a stored trait document read for
/// one trait across a workspace), parsing only that value: the other values are skipped
/// and no key is copied. A repeated key gives its last value, as in a parsed map.
pub fn field(text: &str, key: &str) -> serde_json::Result<Option<Value>> {
    struct Field<'k>(&'k str);

    impl<'de> Visitor<'de> for Field<'_> {
        type Value = Option<Value>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
            let mut found = None;
            while let Some(wanted) = map.next_key_seed(KeyIs(self.0))? {
                if wanted {
                    // Read as the store reads its JSON (see `plain_object`).
                    found = Some(map.next_value_seed(PlainValue)?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    let value = (&mut de).deserialize_map(Field(key))?;
    de.end()?;
    Ok(value)
}

/// A key, read without being copied: whether it is the one sought.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

/// The fast path of [`Shallow::parse`]: a scanner of JSON objects that gives up (`None`)
/// on whatever it does not read exactly as `serde_json` does, and on any error, leaving
/// those texts to `serde_json`.
///
/// It gives up on numbers with an exponent, integers beyond `u64`, fractions whose
/// digits make more than 2^53 or that have more than 22 decimals, `\u` escapes of
/// surrogates, and nesting deeper than [`Scan::DEPTH`] (`serde_json` allows 127). Below
/// those bounds a fraction is one division of two exactly represented numbers, which
/// rounds correctly: `serde_json` reads it so with or without its `float_roundtrip`
/// feature, and the scan does the same division.
struct Scan<'t> {
    b: &'t [u8],
    at: usize,
    depth: u32,
    /// The members read so far (see [`Shallow`]).
    members: Vec<Member>,
}

impl<'t> Scan<'t> {
    const DEPTH: u32 = 64;

    fn text(text: &'t str) -> Option<Shallow> {
        let mut scan = Scan {
            b: text.as_bytes(),
            at: 0,
            depth: 0,
            // About a member for every 16 bytes of a typical event's objects.
            members: Vec::with_capacity(text.len() / 16 + 1),
        };
        scan.space();
        if scan.peek()? != b'{' {
            return None;
        }
        scan.object()?;
        scan.space();
        (scan.at == scan.b.len()).then_some(Shallow(scan.members))
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    /// Skips JSON whitespace.
    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// An object, from its `{`: its first member.
    fn object(&mut self) -> Option<u32> {
        let (mut first, mut last) = (NONE, NONE);
        self.container(b'}', |scan| {
            if scan.peek()? != b'"' {
                return None;
            }
            let key = scan.string()?;
            let reserved = key.is(scan.b, SERDE_RAW_VALUE_KEY);
            scan.space();
            if reserved || scan.peek()? != b':' {
                return None;
            }
            scan.at += 1;
            scan.space();
            let index = push_member(&mut scan.members, key, &mut first, &mut last)?;
            let item = scan.value()?;
            scan.members[index as usize].item = item;
            Some(())
        })?;
        Some(first)
    }

    /// An object or array, from its opening bracket to `close`, within the nesting
    /// allowed: `item` reads each member or element, whitespace before it skipped.
    fn container(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.at += 1;
        self.depth += 1;
        if self.depth > Self::DEPTH {
            return None;
        }
        self.space();
        if self.peek()? == close {
            self.at += 1;
        } else {
            loop {
                item(self)?;
                self.space();
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        self.space();
                    }
                    c if c == close => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn value(&mut self) -> Option<Item> {
        Some(match self.peek()? {
            b'"' => Item::Str(self.string()?),
            b'{' => Item::Object(self.object()?),
            b'[' => {
                // The objects of an array are read by nothing: their members are dropped.
                let mark = self.members.len();
                self.container(b']', |scan| scan.value().map(drop))?;
                self.members.truncate(mark);
                Item::Other
            }
            b't' => self.literal(b"true", Item::Bool(true))?,
            b'f' => self.literal(b"false", Item::Bool(false))?,
            b'n' => self.literal(b"null", Item::Other)?,
            b'-' | b'0'..=b'9' => Item::Number(self.number()?),
            _ => return None,
        })
    }

    fn literal(&mut self, word: &[u8], item: Item) -> Option<Item> {
        self.b[self.at..].starts_with(word).then(|| {
            self.at += word.len();
            item
        })
    }

    /// A number, read as `serde_json` reads it into an `f64` (see the type's comment).
    fn number(&mut self) -> Option<f64> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let first = self.at;
        let mut significand: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            significand = significand
                .checked_mul(10)?
                .checked_add(u64::from(c - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - first;
        // One digit at least, and no leading zero.
        if digits == 0 || (digits > 1 && self.b[first] == b'0') {
            return None;
        }
        let mut decimals = 0;
        if self.peek() == Some(b'.') {
            self.at += 1;
            while let Some(c @ b'0'..=b'9') = self.peek() {
                significand = significand
                    .checked_mul(10)?
                    .checked_add(u64::from(c - b'0'))?;
                self.at += 1;
                decimals += 1;
            }
            if decimals == 0 || decimals > 22 || significand >= 1 << 53 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            return None;
        }
        // An integer: `u64` or `i64` converted (rounded alike either side of zero); `-0`
        // is -0.0 in `serde_json` too. A fraction: one exact division.
        let f = significand as f64 / POW10[decimals];
        Some(if negative { -f } else { f })
    }

    /// A string, from its opening quote: its place in the text, or its unescaped copy.
    fn string(&mut self) -> Option<Text> {
        self.at += 1;
        let start = self.at;
        let plain = self.b[start..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        self.at += plain;
        match self.b[self.at] {
            b'"' => {
                self.at += 1;
                Some(Text::At(start, self.at - 1))
            }
            b'\\' => self.escaped(start),
            _ => None,
        }
    }

    /// The rest of a string from its first backslash, unescaped.
    fn escaped(&mut self, start: usize) -> Option<Text> {
        let mut out = self.b[start..self.at].to_vec();
        loop {
            match *self.b.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(Text::Owned(String::from_utf8(out).ok()?.into()));
                }
                b'\\' => {
                    let c = match *self.b.get(self.at + 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex =
                                std::str::from_utf8(self.b.get(self.at + 2..self.at + 6)?).ok()?;
                            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                                return None;
                            }
                            // Surrogates (paired or not) are left to serde_json.
                            self.at += 4;
                            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                        }
                        _ => return None,
                    };
                    self.at += 2;
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                0..=0x1f => return None,
                c => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }
}

/// Powers of ten exact in an `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Where the parsed text starts in memory: a string borrowed from it is placed by its
/// address.
#[derive(Clone, Copy)]
struct Base(usize);

impl Base {
    fn of(text: &str) -> Base {
        Base(text.as_ptr() as usize)
    }

    /// A string read by `serde_json`: placed in the text when borrowed from it.
    fn place(self, s: &str) -> Text {
        let start = s.as_ptr() as usize - self.0;
        Text::At(start, start + s.len())
    }
}

/// An object read into the members of a [`Shallow`] parse: its first member.
struct ObjectVisitor<'m>(Base, &'m mut Vec<Member>);

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u32, A::Error> {
        let (mut first, mut last) = (NONE, NONE);
        while let Some(key) = map.next_key_seed(KeySeed(self.0))? {
            let index = push_member(self.1, key, &mut first, &mut last)
                .ok_or_else(|| serde::de::Error::custom("too many members"))?;
            let item = map.next_value_seed(ItemSeed(self.0, &mut *self.1))?;
            self.1[index as usize].item = item;
        }
        Ok(first)
    }
}

/// A key: its place in the text when it holds no escape, else its copy;
/// [`SERDE_RAW_VALUE_KEY`] is an error.
struct KeySeed(Base);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Text;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text, E> {
        reserved(v)?;
        Ok(self.0.place(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
        reserved(v)?;
        Ok(Text::Owned(v.into()))
    }
}

fn reserved<E: serde::de::Error>(key: &str) -> Result<(), E> {
    if key == SERDE_RAW_VALUE_KEY {
        return Err(E::custom(format_args!(
            "the key `{SERDE_RAW_VALUE_KEY}` is reserved"
        )));
    }
    Ok(())
}

struct ItemSeed<'m>(Base, &'m mut Vec<Member>);

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = Item;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Item, E> {
        Ok(Item::Str(self.0.place(v)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Item, E> {
        Ok(Item::Str(Text::Owned(v.into())))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Item, E> {
        Ok(Item::Bool(v))
    }

    // As `serde_json::Number::as_f64` reads them.
    fn visit_u64<E>(self, v: u64) -> Result<Item, E> {
        Ok(Item::Number(v as f64))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Item, E> {
        Ok(Item::Number(v as f64))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Item, E> {
        Ok(Item::Number(v))
    }

    fn visit_unit<E>(self) -> Result<Item, E> {
        Ok(Item::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item, A::Error> {
        ObjectVisitor(self.0, self.1)
            .visit_map(map)
            .map(Item::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
        // Elements are parsed like any value (not skipped), so that nesting is limited
        // exactly as when the text is parsed into a map; the members of their objects
        // are read by nothing, and dropped.
        let mark = self.1.len();
        while seq
            .next_element_seed(ItemSeed(self.0, &mut *self.1))?
            .is_some()
        {}
        self.1.truncate(mark);
        Ok(Item::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every field of the map, read through both views.
    fn same_reads(map: &Map<String, Value>, shallow: View, parsed: View) {
        for (key, value) in map {
            assert_eq!(shallow.str_at(key), parsed.str_at(key), "{key}");
            assert_eq!(shallow.bool_at(key), parsed.bool_at(key), "{key}");
            assert_eq!(shallow.has(key), parsed.has(key), "{key}");
            match (shallow.get(key), parsed.get(key)) {
                (Some(Field::Number(a)), Some(Field::Number(b))) => assert_eq!(a, b),
                (Some(Field::Number(_)), _) | (_, Some(Field::Number(_))) => {
                    panic!("{key}: a number on one side only")
                }
                _ => {}
            }
            if let Value::Object(inner) = value {
                same_reads(
                    inner,
                    shallow.object_at(key).unwrap(),
                    parsed.object_at(key).unwrap(),
                );
            }
        }
        assert!(!shallow.has("\u{0}absent"));
    }

    /// JSON values: null, booleans, integers, `floats`, strings of `strings`, and arrays
    /// and objects (keys of `keys`) of them.
    fn json_of(
        floats: BoxedStrategy<f64>,
        strings: &'static str,
        keys: &'static str,
    ) -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            floats.prop_map(Value::from),
            strings.prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(keys, inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn json() -> impl Strategy<Value = Value> {
        json_of(
            (-1e300f64..1e300).boxed(),
            "[a-z\u{e9}\"\\\\/\n\u{1f600}]{0,6}",
            "[a-c]{1,2}",
        )
    }

    /// An object of `values` and its text, compact or pretty.
    fn object_text(
        values: impl Strategy<Value = Value>,
    ) -> impl Strategy<Value = (Map<String, Value>, String)> {
        (
            prop::collection::btree_map("[a-d\u{e9}]{1,3}", values, 0..8),
            any::<bool>(),
        )
            .prop_map(|(map, pretty)| {
                let map: Map<String, Value> = map.into_iter().collect();
                let text = if pretty {
                    serde_json::to_string_pretty(&map)
                } else {
                    serde_json::to_string(&map)
                };
                (map, text.unwrap())
            })
    }

    proptest! {
        #[test]
        fn a_shallow_parse_reads_what_the_parsed_map_holds((map, text) in object_text(json())) {
            // Compared with the map parsed from the same text (serde_json's float parse
            // does not always give back the float it printed).
            let parsed: Map<String, Value> = serde_json::from_str(&text).unwrap();
            let shallow = Shallow::parse(&text).unwrap();
            prop_assert_eq!(shallow.len(), map.len());
            same_reads(&parsed, shallow.view(&text), View::Map(&parsed));
        }

        /// It accepts exactly what a parse into a map accepts.
        #[test]
        fn it_accepts_what_serde_json_accepts(
            text in r#"[{}\[\]"a:,1 .e\\-]{0,16}"#
        ) {
            let by_map = serde_json::from_str::<Map<String, Value>>(&text);
            prop_assert_eq!(
                Shallow::parse(&text).ok().map(|s| s.len()),
                by_map.ok().map(|m| m.len()),
                "{}", text
            );
        }
    }

    /// `serde_json`'s private raw-value key is refused wherever it is (escaped too), by
    /// the scan and by the `serde_json` path alike, with an error naming it; as a value
    /// it is any string.
    #[test]
    fn serde_json_s_raw_value_key_is_refused() {
        for text in [
            r#"{"$serde_json::private::RawValue":"5"}"#,
            r#"{"a":{"$serde_json::private::RawValue":"[1]"}}"#,
            r#"{"a":1,"b":[{"$serde_json::private::RawValue":"1"}]}"#,
            r#"{"a":{"b":1,"$serde_json::private::RawValu\u0065":"2"}}"#,
            // Past what the scan reads (an exponent): left to the serde_json path.
            r#"{"x":1e3,"a":{"$serde_json::private::RawValue":"[1]"}}"#,
        ] {
            assert!(Scan::text(text).is_none(), "{text}");
            let err = Shallow::parse(text).expect_err(text).to_string();
            assert!(
                err.contains("`$serde_json::private::RawValue` is reserved"),
                "{err}"
            );
        }
        let text = r#"{"k":"$serde_json::private::RawValue"}"#;
        let parse = Shallow::parse(text).unwrap();
        assert_eq!(parse.view(text).str_at("k"), Some(SERDE_RAW_VALUE_KEY));
    }

    /// What the store reads its JSON columns with: `serde_json`'s raw-value key is a key
    /// like any other there, and every other text reads as `serde_json` reads it.
    #[test]
    fn plain_reads_are_json_s_and_serde_json_s_alike() {
        let text =
            r#"{"$serde_json::private::RawValue":"5","a":{"$serde_json::private::RawValue":"/x"}}"#;
        assert!(serde_json::from_str::<Value>(text).is_err());
        let map = plain_object(text).unwrap();
        assert_eq!(map["a"]["$serde_json::private::RawValue"], "/x");
        assert_eq!(map[SERDE_RAW_VALUE_KEY], "5");
        assert!(plain_object("[1]").is_err() && plain_object("{} x").is_err());
        let text = r#"{"n":[1,-2,3.5,1e300,18446744073709551615,null,true,"\u00e9"],"o":{}}"#;
        assert_eq!(
            plain_value(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    proptest! {
        #[test]
        fn plain_reads_match_serde_json((_, text) in object_text(json())) {
            let expected: Map<String, Value> = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(plain_object(&text).unwrap(), expected);
        }
    }

    /// Everything a parse holds, in order, with numbers by their bits.
    fn dump(s: &Shallow, text: &str) -> String {
        dump_object(s, s.first(), text)
    }

    fn dump_object(s: &Shallow, first: u32, text: &str) -> String {
        let mut out = String::from("{");
        for m in s.members(first) {
            out += &format!("{:?}:", m.key.read(text));
            out += &match &m.item {
                Item::Str(t) => format!("{:?}", t.read(text)),
                Item::Bool(b) => b.to_string(),
                Item::Number(n) => format!("#{:x}", n.to_bits()),
                Item::Object(o) => dump_object(s, *o, text),
                Item::Other => "_".into(),
            };
            out += ",";
        }
        out + "}"
    }

    /// Where the scan reads a text, serde_json reads it too, and alike.
    fn scan_agrees(text: &str) -> Option<()> {
        let scanned = Scan::text(text)?;
        let parsed = Shallow::parse_with_serde(text)
            .unwrap_or_else(|e| panic!("the scan accepted {text:?}, serde_json did not: {e}"));
        assert_eq!(dump(&scanned, text), dump(&parsed, text), "{text:?}");
        Some(())
    }

    /// Values the scan reads itself (no exponent, no surrogate escape).
    fn plain_json() -> impl Strategy<Value = Value> {
        json_of(
            (-1_000_000_000i64..1_000_000_000, 0..7u32)
                .prop_map(|(n, k)| n as f64 / 10f64.powi(k as i32))
                .boxed(),
            "[a-z\u{e9}\"\\\\/\n\t\u{1}\u{1f600}]{0,6}",
            "[a-c\"]{1,2}",
        )
    }

    proptest! {
        /// The scan reads the texts of plain values itself (it does not give up on
        /// them), exactly as serde_json reads them.
        #[test]
        fn the_scan_reads_plain_json_as_serde_json_does((_, text) in object_text(plain_json())) {
            prop_assert!(scan_agrees(&text).is_some(), "the scan gave up on {}", text);
        }

        /// A text with a byte changed, removed or added: the scan accepts it only if
        /// serde_json does, and then reads it alike.
        #[test]
        fn the_scan_never_accepts_what_serde_json_rejects(
            map in prop::collection::btree_map("[a-d]{1,3}", json(), 0..6),
            at in any::<prop::sample::Index>(),
            edit in 0..3u8,
            byte in prop::sample::select(br#"{}[]",:.-+eE0123456789 \/utnfalsr"#.to_vec()),
        ) {
            let map: Map<String, Value> = map.into_iter().collect();
            let mut bytes = serde_json::to_string(&map).unwrap().into_bytes();
            let at = at.index(bytes.len() + 1);
            match edit {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, byte),
            }
            if let Ok(text) = String::from_utf8(bytes) {
                scan_agrees(&text);
            }
        }

        #[test]
        fn the_scan_accepts_no_text_serde_json_rejects(
            text in r#"[{}\[\]"a:,01 .eE\\/u+\-tn\t\u{1}]{0,16}"#
        ) {
            scan_agrees(&text);
        }
    }

    #[test]
    fn the_scan_gives_up_where_it_would_differ() {
        for text in [
            r#"{"a": 1e3}"#,
            r#"{"a": 18446744073709551616}"#,
            r#"{"a": 9007199254740993.5}"#,
            r#"{"a": 0.12345678901234567890123}"#,
            r#"{"a": "\ud83d\ude00"}"#,
            r#"{"a": "\ud83d"}"#,
            "{\"a\": \"\u{1}\"}",
            r#"{"a": 1,}"#,
            r#"{"a": 01}"#,
            r#"{"a": -}"#,
            r#"{"a": 1.}"#,
            r#"{"a": tru}"#,
            r#"{"a": 1} x"#,
            r#"[1]"#,
        ] {
            assert!(Scan::text(text).is_none(), "{text}");
        }
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(64), "]".repeat(64));
        assert!(Scan::text(&deep).is_none() && Shallow::parse(&deep).is_ok());
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(63), "]".repeat(63));
        assert!(scan_agrees(&deep).is_some());
        // A demo context cell, escapes, -0 and the largest integers.
        for text in [
            r#"{"campaign":{"medium":"cpc","name":"pro-linkedin","source":"linkedin"},"device":{"type":"desktop"},"library":{"name":"analytics.js"},"locale":"fr-FR","page":{"path":"/pro","referrer":"https://www.linkedin.com/","url":"https://www.maison-lumiere.example/pro"}}"#,
            r#" {"a\"b": "c\/d\u00e9\n", "n": -0, "m": 18446744073709551615, "i": -9223372036854775808, "j": -9223372036854775809, "p": 49.90, "l": [true, false, null, {"x": []}]} "#,
        ] {
            assert!(scan_agrees(text).is_some(), "{text}");
        }
    }

    #[test]
    fn one_field_is_read_whole_the_others_skipped() {
        let text = r#"{"a": [1, {"b": 2}], "pl\u0061n": "pro", "a": {"c": null}}"#;
        assert_eq!(
            field(text, "a").unwrap(),
            Some(serde_json::json!({"c": null}))
        );
        assert_eq!(field(text, "plan").unwrap(), Some(Value::from("pro")));
        assert_eq!(field(text, "x").unwrap(), None);
        assert!(field("[1]", "a").is_err() && field(r#"{"a": 1} ["#, "a").is_err());
        // A stored trait whose object holds serde_json's raw-value key reads as it is.
        let text = r#"{"t": {"$serde_json::private::RawValue": "/x"}}"#;
        assert_eq!(
            field(text, "t").unwrap(),
            Some(serde_json::json!({"$serde_json::private::RawValue": "/x"}))
        );
    }

    #[test]
    fn repeated_keys_escapes_and_nesting() {
        let text = r#"{"a": 1, "a": "two", "e\u0301": "caf\u00e9", "deep": [[[[1]]]], "n": null}"#;
        let s = Shallow::parse(text).unwrap();
        let map: Map<String, Value> = serde_json::from_str(text).unwrap();
        same_reads(&map, s.view(text), View::Map(&map));
        assert_eq!(s.view(text).str_at("a"), Some("two"));
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<Map<String, Value>>(&deep).is_err());
        assert!(
            Shallow::parse(&deep).is_err(),
            "nested as deep as a map parse allows"
        );
        assert!(Shallow::parse(" { } ").unwrap().is_empty());
        assert!(Shallow::parse("[1]").is_err() && Shallow::parse("{} x").is_err());
    }
}
