//! Reading a few fields of a JSON object, from a parsed map or straight from its text.
//!
//! Normalisation reads about ten keys of an event's `properties` and `context`. An
//! imported CSV cell holds those objects as text, stored as is; building a `serde_json`
//! map of each only to read those keys was a tenth of the import's CPU. A [`Shallow`]
//! parse of the text keeps the keys and scalar values (strings borrowed from the text
//! unless escaped) and nested objects, and a [`View`] reads a map and a shallow parse
//! alike, so the rules are written once.
//!
//! [`field`] reads one whole value out of a text (a trait of a stored trait document)
//! without parsing the others.
//!
//! A shallow parse accepts exactly the texts `serde_json` parses into a map (the same
//! parser runs, with the same nesting limit); a repeated key reads its last value, as in
//! a map.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The keys and values of a JSON object's text.
#[derive(Debug, Default)]
pub struct Shallow<'a>(Vec<(Cow<'a, str>, Item<'a>)>);

#[derive(Debug)]
enum Item<'a> {
    Str(Cow<'a, str>),
    Bool(bool),
    Number(f64),
    Object(Shallow<'a>),
    /// Null, or an array (read by nothing that uses a view).
    Other,
}

impl<'a> Shallow<'a> {
    /// Parses `text`, which must be a JSON object.
    pub fn parse(text: &'a str) -> serde_json::Result<Shallow<'a>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let object = (&mut de).deserialize_map(ObjectVisitor)?;
        de.end()?;
        Ok(object)
    }

    /// Checks that `text` is a JSON object with at least one field, as [`Shallow::parse`]
    /// would accept it, without keeping anything. Returns whether it has fields.
    pub fn check(text: &str) -> serde_json::Result<bool> {
        let mut de = serde_json::Deserializer::from_str(text);
        let fields = (&mut de).deserialize_map(Check)?;
        de.end()?;
        Ok(fields > 0)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn view(&self) -> View<'_> {
        View::Text(self)
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

/// Read access to a JSON object: a map, or a shallow parse of its text.
#[derive(Clone, Copy)]
pub enum View<'v> {
    Map(&'v Map<String, Value>),
    Text(&'v Shallow<'v>),
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
            View::Text(s) => {
                s.0.iter()
                    .rev()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| match v {
                        Item::Str(s) => Field::Str(s),
                        Item::Bool(b) => Field::Bool(*b),
                        Item::Number(n) => Field::Number(*n),
                        Item::Object(o) => Field::Object(View::Text(o)),
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

/// Walks a value as [`ItemSeed`] does (the same nesting limit), keeping nothing; counts
/// an object's fields.
struct Check;

impl<'de> DeserializeSeed<'de> for Check {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_str<E>(self, _: &str) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_bool<E>(self, _: bool) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_u64<E>(self, _: u64) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_i64<E>(self, _: i64) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_f64<E>(self, _: f64) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_unit<E>(self) -> Result<usize, E> {
        Ok(0)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut fields = 0;
        while map.next_key_seed(KeyIs(""))?.is_some() {
            map.next_value_seed(Check)?;
            fields += 1;
        }
        Ok(fields)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        while seq.next_element_seed(Check)?.is_some() {}
        Ok(0)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Shallow<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shallow<'de>, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key_seed(StrSeed)? {
            let value = map.next_value_seed(ItemSeed)?;
            out.push((key, value));
        }
        Ok(Shallow(out))
    }
}

/// A string, borrowed from the text when it holds no escape.
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

struct ItemSeed;

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = Item<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = Item<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Item<'de>, E> {
        Ok(Item::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Item<'de>, E> {
        Ok(Item::Str(Cow::Owned(v.to_string())))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Item<'de>, E> {
        Ok(Item::Bool(v))
    }

    // As `serde_json::Number::as_f64` reads them.
    fn visit_u64<E>(self, v: u64) -> Result<Item<'de>, E> {
        Ok(Item::Number(v as f64))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Item<'de>, E> {
        Ok(Item::Number(v as f64))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Item<'de>, E> {
        Ok(Item::Number(v))
    }

    fn visit_unit<E>(self) -> Result<Item<'de>, E> {
        Ok(Item::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item<'de>, A::Error> {
        ObjectVisitor.visit_map(map).map(Item::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item<'de>, A::Error> {
        // Elements are parsed like any value (not skipped), so that nesting is limited
        // exactly as when the text is parsed into a map.
        while seq.next_element_seed(ItemSeed)?.is_some() {}
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
            same_reads(&parsed, shallow.view(), View::Map(&parsed));
        }

        /// It accepts exactly what a parse into a map accepts.
        #[test]
        fn it_accepts_what_serde_json_accepts(
            text in r#"[{}\[\]"a:,1 .e\\-]{0,16}"#
        ) {
            let by_map = serde_json::from_str::<Map<String, Value>>(&text);
            prop_assert_eq!(Shallow::parse(&text).is_ok(), by_map.is_ok(), "{}", text);
            prop_assert_eq!(
                Shallow::check(&text).ok(),
                by_map.ok().map(|m| !m.is_empty()),
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
        same_reads(&map, s.view(), View::Map(&map));
        assert_eq!(s.view().str_at("a"), Some("two"));
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<Map<String, Value>>(&deep).is_err());
        assert!(
            Shallow::parse(&deep).is_err(),
            "nested as deep as a map parse allows"
        );
        assert!(Shallow::check(&deep).is_err());
        assert_eq!(Shallow::check(text).ok(), Some(true));
        assert_eq!(Shallow::check(" { } ").ok(), Some(false));
        assert!(Shallow::parse("[1]").is_err() && Shallow::parse("{} x").is_err());
    }
}
