//! Fuzz target: the Segment payload parser must never panic on any bytes, on any
//! endpoint, and what it accepts must respect its own rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parcours_core::payload::{parse_body, Endpoint, Limits};
use parcours_core::EventKind;

fuzz_target!(|data: &[u8]| {
    let (selector, body) = match data.split_first() {
        Some((s, rest)) => (*s, rest),
        None => return,
    };
    let endpoint = match selector % 8 {
        6 => Endpoint::Batch,
        7 => Endpoint::Import,
        k => Endpoint::Single(EventKind::ALL[k as usize]),
    };
    let limits = Limits { max_event_bytes: 4096, max_batch_events: 50 };
    let received = 1_714_557_600_000_000;
    let mut n = 0u64;
    let Ok(parsed) = parse_body(body, endpoint, received, &limits, &mut || {
        n += 1;
        format!("gen-{n}")
    }) else {
        return;
    };
    // The objects a message carries are kept as the text sent (not parsed into a
    // `serde_json::Value` first): the event's `properties` must still be the map that
    // serde_json reads from the body.
    let read: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    for (event, index) in parsed.events.iter().zip(&parsed.indices) {
        let Some(read) = &read else { break };
        let item = match index {
            Some(i) => &read["batch"][*i],
            None => read,
        };
        let expected = match &item["properties"] {
            serde_json::Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        assert_eq!(*event.properties, expected, "properties of {item}");
    }
    for event in &parsed.events {
        assert!(event.user_id.is_some() || event.anonymous_id.is_some());
        assert!(event.timestamp <= received, "an event cannot happen after it was received");
        assert!(!event.message_id.is_empty());
        assert!(!event.touch.channel.is_empty() && !event.touch.touchpoint.is_empty());
        if event.kind == EventKind::Track {
            assert!(!event.name.is_empty());
        }
    }
    for rejection in &parsed.rejected {
        assert!(!rejection.message.is_empty());
        if endpoint.is_batch() {
            assert!(rejection.index.is_some());
        }
    }
});
