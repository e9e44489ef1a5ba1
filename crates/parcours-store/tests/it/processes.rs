//! Two stores on one data directory stand for two processes (the server, and a
//! `parcours import` or `parcours erase` run beside it): each has its own connection and
//! writer, as a second process would, and each must see what the other committed before
//! it writes — its caches of message hashes, identities and sequence numbers included.

use parcours_store::{SqliteStore, Store};
use serde_json::json;

fn two_stores() -> (tempfile::TempDir, SqliteStore, SqliteStore, i64) {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::open(dir.path());
    let ws = server.create_workspace("w").unwrap().id;
    let other = crate::open(dir.path());
    (dir, server, other, ws)
}

fn append(store: &SqliteStore, ws: i64, messages: serde_json::Value) -> (usize, usize, usize) {
    let o = store.append(ws, crate::events(&messages)).unwrap();
    (o.inserted, o.duplicates, o.shared_device_conflicts)
}

fn track(id: &str, user: &str) -> serde_json::Value {
    json!({"type": "track", "messageId": id, "userId": user, "event": "E",
           "timestamp": "2024-05-01T00:00:00Z"})
}

/// (seq, message id) of every stored event, in order.
fn stored(store: &SqliteStore, ws: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    store
        .scan_events(ws, 0, &mut |e| {
            out.push((e.seq, e.event.message_id.clone()))
        })
        .unwrap();
    out
}

#[test]
fn messages_and_sequence_numbers_another_process_stored_are_known() {
    let (_dir, server, other, ws) = two_stores();
    assert_eq!(append(&server, ws, json!([track("m-1", "u-1")])), (1, 0, 0));
    assert_eq!(
        append(
            &other,
            ws,
            json!([track("m-2", "u-2"), track("m-3", "u-1")])
        ),
        (2, 0, 0)
    );
    // m-3 is a resend of what the other process stored; u-2 is a person it created.
    let got = append(
        &server,
        ws,
        json!([
            track("m-3", "u-1"),
            {"type": "identify", "messageId": "m-4", "userId": "u-2", "anonymousId": "x",
             "timestamp": "2024-05-01T00:00:00Z"},
            track("m-5", "u-1"),
        ]),
    );
    assert_eq!(got, (2, 1, 0), "m-3 is a duplicate, the identify stored");
    let events = stored(&server, ws);
    let ids: Vec<&str> = events.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, ["m-1", "m-2", "m-3", "m-4", "m-5"]);
    let seqs: Vec<i64> = events.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "no sequence number given twice");
    assert_eq!(
        server.resolve(ws, "x").unwrap(),
        server.resolve(ws, "u-2").unwrap(),
        "the device joined the person the other process created"
    );
    // And the other way round: the other process knows what the server stored since.
    assert_eq!(append(&other, ws, json!([track("m-5", "u-1")])), (0, 1, 0));
}

#[test]
fn a_merge_by_another_process_moves_the_identities_it_knew() {
    let (_dir, server, other, ws) = two_stores();
    let at = "2024-05-01T00:00:00Z";
    let alias = |id: &str, user: &str, previous: &str| {
        json!({"type": "alias", "messageId": id, "userId": user, "previousId": previous,
               "timestamp": at})
    };
    // u-7 with a device a-2, and u-9.
    append(
        &server,
        ws,
        json!([alias("al-1", "u-7", "a-2"), track("t-1", "u-9")]),
    );
    // The other process learns that u-7 is u-9: u-7's person, a-2 with it, is merged
    // into u-9's. Its event names u-7, not a-2.
    assert_eq!(
        append(&other, ws, json!([alias("al-2", "u-9", "u-7")])),
        (1, 0, 0)
    );
    // Another user on a-2: a shared device, as the server must now see it (a-2's person
    // identified as u-9), not a merge of the person that no longer is.
    let identify = json!({"type": "identify", "messageId": "i-1", "userId": "u-10",
                          "anonymousId": "a-2", "timestamp": at});
    assert_eq!(append(&server, ws, json!([identify])), (1, 0, 1));
    let u9 = server.resolve(ws, "u-9").unwrap();
    assert_eq!(server.resolve(ws, "a-2").unwrap(), u9);
    assert_eq!(server.resolve(ws, "u-7").unwrap(), u9);
    assert_ne!(server.resolve(ws, "u-10").unwrap(), u9);
}

#[test]
fn after_an_erasure_by_another_process_its_events_can_come_again() {
    let (_dir, server, other, ws) = two_stores();
    append(
        &server,
        ws,
        json!([track("m-1", "u-5"), track("m-2", "u-6")]),
    );
    let person = other.resolve(ws, "u-5").unwrap().unwrap();
    assert_eq!(other.erase_person(ws, person).unwrap().events_deleted, 1);
    // The person comes back, with the same message: stored again, under a new person
    // whose identity exists.
    assert_eq!(
        append(
            &server,
            ws,
            json!([track("m-1", "u-5"), track("m-2", "u-6")])
        ),
        (1, 1, 0)
    );
    let back = server.resolve(ws, "u-5").unwrap().expect("u-5 known again");
    assert_ne!(back, person);
    let timeline = server.person_events(ws, back).unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0].event.message_id, "m-1");
}

#[test]
fn two_writers_at_once_store_each_message_once() {
    let (_dir, server, other, ws) = two_stores();
    // Both write at the same time: batches of their own messages, each also resending
    // messages the other sends, about the same users. Every append must succeed (the
    // write lock is waited for, and what the other committed is read under it).
    const BATCHES: usize = 60;
    let batch = |me: &str, them: &str, i: usize| {
        let mut messages = Vec::new();
        for j in 0..5 {
            let user = format!("u-{}", (i * 5 + j) % 17);
            messages.push(track(&format!("{me}-{i}-{j}"), &user));
            messages.push(track(&format!("{them}-{i}-{j}"), &user));
        }
        messages.push(
            json!({"type": "identify", "messageId": format!("{me}-id-{i}"),
            "userId": format!("u-{}", i % 17), "anonymousId": format!("d-{}", i % 23),
            "timestamp": "2024-05-01T00:00:00Z"}),
        );
        serde_json::Value::Array(messages)
    };
    std::thread::scope(|s| {
        let writers = [(&server, "a", "b"), (&other, "b", "a")];
        for (store, me, them) in writers {
            s.spawn(move || {
                for i in 0..BATCHES {
                    store
                        .append(ws, crate::events(&batch(me, them, i)))
                        .unwrap();
                }
            });
        }
    });
    let events = stored(&server, ws);
    let mut ids: Vec<&str> = events.iter().map(|(_, id)| id.as_str()).collect();
    ids.sort_unstable();
    let unique = ids.len();
    ids.dedup();
    assert_eq!(unique, ids.len(), "a message stored twice");
    assert_eq!(ids.len(), BATCHES * 12, "every message stored");
    let mut seqs: Vec<i64> = events.iter().map(|(seq, _)| *seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), events.len(), "a sequence number given twice");
}
