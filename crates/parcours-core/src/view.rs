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
//! A shallow parse accepts exactly the texts `serde_json` parses into a map (the same
//! parser runs, with the same nesting limit); a repeated key reads its last value, as in
//! a map.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The keys and values of a JSON object's text, kept apart from the text: strings are
/// positions in it (unless escaped), so the parse can be stored beside the text it reads
/// (as [`crate::JsonObject`] does) and read with it ([`Shallow::view`]).
#[derive(Debug, Default, Clone)]
pub struct Shallow(Vec<(Text, Item)>);

/// A key or string value: where it is in the text, or its unescaped copy.
#[derive(Debug, Clone)]
enum Text {
    At(usize, usize),
    Owned(Box<str>),
}

impl Text {
    /// Whether this is `key` (bytes compared, lengths first).
    fn is(&self, source: &str, key: &str) -> bool {
        match self {
            Text::At(start, end) => {
                end - start == key.len()
                    && source.as_bytes().get(*start..*end) == Some(key.as_bytes())
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
    Object(Shallow),
    /// Null, or an array (read by nothing that uses a view).
    Other,
}

impl Shallow {
    /// Parses `text`, which must be a JSON object.
    pub fn parse(text: &str) -> serde_json::Result<Shallow> {
        let mut de = serde_json::Deserializer::from_str(text);
        let object = (&mut de).deserialize_map(ObjectVisitor(Base::of(text)))?;
        de.end()?;
        Ok(object)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads the fields of `text`, which must be the text this was parsed from.
    pub fn view<'v>(&'v self, text: &'v str) -> View<'v> {
        View::Text(self, text)
    }
}

/// A field's value as a view reads it.
pub enum Field<'v> {
    Str(&'v str),
    Bool(bool),
    Number(f64),
    Object(View<'v>),
    Other,
}

/// Read access to a JSON object: a map, or a shallow parse with its text.
#[derive(Clone, Copy)]
pub enum View<'v> {
    Map(&'v Map<String, Value>),
    Text(&'v Shallow, &'v str),
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
            View::Text(s, text) => {
                s.0.iter()
                    .rev()
                    .find(|(k, _)| k.is(text, key))
                    .map(|(_, v)| match v {
                        Item::Str(s) => Field::Str(s.read(text)),
                        Item::Bool(b) => Field::Bool(*b),
                        Item::Number(n) => Field::Number(*n),
                        Item::Object(o) => Field::Object(View::Text(o, text)),
                        Item::Other => Field::Other,
                    })
            }
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
                    found = Some(map.next_value()?);
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

/// Where the parsed text starts in memory: a string borrowed from it is placed by its
/// address.
#[derive(Clone, Copy)]
struct Base(usize);

impl Base {
    fn of(text: &str) -> Base {
        Base(text.as_ptr() as usize)
    }

    fn place(self, s: &str) -> Text {
        let start = s.as_ptr() as usize - self.0;
        Text::At(start, start + s.len())
    }
}

struct ObjectVisitor(Base);

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Shallow;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shallow, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key_seed(TextSeed(self.0))? {
            let value = map.next_value_seed(ItemSeed(self.0))?;
            out.push((key, value));
        }
        Ok(Shallow(out))
    }
}

/// A string: its place in the text when it holds no escape, else its copy.
struct TextSeed(Base);

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Text;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text, E> {
        Ok(self.0.place(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Text, E> {
        Ok(Text::Owned(v.into()))
    }
}

struct ItemSeed(Base);

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = Item;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Item, E> {
        TextSeed(self.0).visit_borrowed_str(v).map(Item::Str)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Item, E> {
        TextSeed(self.0).visit_str(v).map(Item::Str)
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
        ObjectVisitor(self.0).visit_map(map).map(Item::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
        // Elements are parsed like any value (not skipped), so that nesting is limited
        // exactly as when the text is parsed into a map.
        while seq.next_element_seed(ItemSeed(self.0))?.is_some() {}
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

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e300f64..1e300).prop_map(Value::from),
            "[a-z\u{e9}\"\\\\/\n\u{1f600}]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]{1,2}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn a_shallow_parse_reads_what_the_parsed_map_holds(
            map in prop::collection::btree_map("[a-d\u{e9}]{1,3}", json(), 0..8),
            pretty in any::<bool>(),
        ) {
            let map: Map<String, Value> = map.into_iter().collect();
            let text = if pretty {
                serde_json::to_string_pretty(&map).unwrap()
            } else {
                serde_json::to_string(&map).unwrap()
            };
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
