//! Fuzz target: a shallow parse of a JSON object (`view::Shallow`, whose scanner reads
//! imported JSON cells) accepts exactly what `serde_json` parses into a map (but for
//! texts holding `serde_json`'s private raw-value key, which it refuses), and reads
//! every field as the parsed map holds it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parcours_core::view::{plain_object, Field, Shallow, View};
use serde_json::{Map, Value};

fn same(map: &Map<String, Value>, shallow: View, parsed: View, text: &str) {
    for (key, value) in map {
        assert_eq!(shallow.str_at(key), parsed.str_at(key), "{key} in {text:?}");
        assert_eq!(shallow.bool_at(key), parsed.bool_at(key), "{key} in {text:?}");
        match (shallow.get(key), parsed.get(key)) {
            (Some(Field::Number(a)), Some(Field::Number(b))) => {
                assert_eq!(a.to_bits(), b.to_bits(), "{key} in {text:?}")
            }
            (Some(Field::Number(_)), _) | (_, Some(Field::Number(_))) => {
                panic!("{key} in {text:?}: a number on one side only")
            }
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "{key} in {text:?}"),
        }
        if let Value::Object(inner) = value {
            let (Some(s), Some(p)) = (shallow.object_at(key), parsed.object_at(key)) else {
                panic!("{key} in {text:?}: an object on one side only");
            };
            same(inner, s, p, text);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let shallow = Shallow::parse(text);
    let map = serde_json::from_str::<Map<String, Value>>(text);
    match (shallow, map) {
        (Ok(shallow), Ok(map)) => {
            // (`len` counts a repeated key each time; a map holds it once.)
            assert_eq!(shallow.is_empty(), map.is_empty(), "{text:?}");
            same(&map, shallow.view(text), View::Map(&map), text);
            // The store's reading of a text it kept is serde_json's.
            assert_eq!(plain_object(text).ok().as_ref(), Some(&map), "{text:?}");
        }
        (Err(_), Err(_)) => {}
        // serde_json's private raw-value key is refused by design (see
        // `view::SERDE_RAW_VALUE_KEY`); serde_json reads some such texts, as other values.
        (Err(e), Ok(_)) if e.to_string().contains("is reserved") => {}
        (s, m) => panic!(
            "{text:?}: the shallow parse {} it, serde_json {}",
            if s.is_ok() { "accepts" } else { "rejects" },
            if m.is_ok() { "accepts" } else { "rejects" },
        ),
    }
});
