//! Store behaviour: dedupe, isolation, keys, groups, erasure, reopening.

use parcours_store::{AdCost, IdentityKind, Scope, Store};
use serde_json::{json, Value};

#[test]
fn resent_batches_are_deduplicated_per_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let a = store.create_workspace("a").unwrap().id;
    let b = store.create_workspace("b").unwrap().id;
    let batch = json!([
        {"type": "track", "event": "E", "userId": "u", "messageId": "m1"},
        {"type": "track", "event": "E", "userId": "u", "messageId": "m2"}
    ]);
    let first = store.append(a, crate::events(&batch)).unwrap();
    let again = store.append(a, crate::events(&batch)).unwrap();
    let other = store.append(b, crate::events(&batch)).unwrap();
    assert_eq!((first.inserted, first.duplicates), (2, 0));
    assert_eq!((again.inserted, again.duplicates), (0, 2));
    assert_eq!((other.inserted, other.duplicates), (2, 0));
    assert_eq!(store.event_count(a).unwrap(), 2);
    // Workspaces are isolated: b's person is not a's.
    let pa = store.resolve(a, "u").unwrap().unwrap();
    let pb = store.resolve(b, "u").unwrap().unwrap();
    assert_ne!(pa, pb);
    assert!(
        store.person(b, pa).unwrap().is_none(),
        "a's person is visible from b"
    );
    assert!(store.person_events(b, pa).unwrap().is_empty());
    assert_eq!(store.person_events(b, pb).unwrap().len(), 2);
    assert!(store.resolve(b, "nobody").unwrap().is_none());
}

#[test]
fn keys_authenticate_until_revoked_and_are_stored_hashed() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let ws = store.create_workspace("acme").unwrap();
    assert!(store.create_workspace("acme").is_err());
    let (info, secret) = store
        .create_key(ws.id, Scope::Read, Some("dashboard"))
        .unwrap();
    assert_eq!(
        store.authenticate(&secret).unwrap().unwrap().scope,
        Scope::Read
    );
    assert!(store.authenticate("pcr_not-a-key").unwrap().is_none());
    assert!(store.revoke_key(ws.id, info.id).unwrap());
    assert!(!store.revoke_key(ws.id, info.id).unwrap());
    assert!(store.authenticate(&secret).unwrap().is_none());
    let listed = store.keys(ws.id).unwrap();
    assert!(listed[0].revoked_at.is_some() && secret.starts_with(&listed[0].prefix));
    drop(store);
    let raw = std::fs::read(tmp.path().join("parcours.db")).unwrap();
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the clear key must not be stored"
    );
}

#[test]
fn groups_attach_people_to_accounts_and_deals() {
    let (_dir, store, ws) = crate::store_with(json!([
        {"type": "group", "userId": "cto", "groupId": "acme", "traits": {"name": "Acme", "industry": "retail"}, "timestamp": "2024-05-01T00:00:00Z"},
        {"type": "group", "userId": "cfo", "groupId": "acme", "timestamp": "2024-05-02T00:00:00Z"},
        {"type": "group", "userId": "cfo", "groupId": "deal-9", "traits": {"type": "deal", "account_id": "acme", "amount": 50000}, "timestamp": "2024-05-03T00:00:00Z"}
    ]));
    let cfo = store.resolve(ws, "cfo").unwrap().unwrap();
    let record = store.person(ws, cfo).unwrap().unwrap();
    let groups: Vec<_> = record
        .groups
        .iter()
        .map(|g| (g.group_id.as_str(), g.kind.as_str(), g.parent_id.as_deref()))
        .collect();
    assert_eq!(
        groups,
        vec![("acme", "account", None), ("deal-9", "deal", Some("acme"))]
    );
    assert_eq!(record.groups[0].traits["industry"], "retail");
}

#[test]
fn traits_win_by_event_time_keep_every_change_and_follow_a_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let ws = store.create_workspace("w").unwrap().id;
    let at = |day: u32| format!("2024-05-{day:02}T00:00:00Z");
    let messages = json!([
        {"type": "identify", "userId": "u1", "traits": {"plan": "free", "seats": 1}, "timestamp": at(10)},
        {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}, "timestamp": at(30)},
        // Late: `trial` is older than `pro` and does not replace it, but it was observed.
        {"type": "identify", "userId": "u1", "traits": {"plan": "trial", "seats": 1}, "timestamp": at(20)},
        // A second, anonymous person with traits of their own ...
        {"type": "identify", "anonymousId": "a2", "traits": {"company": "Acme", "plan": "old"}, "timestamp": at(5)},
        {"type": "identify", "anonymousId": "a2", "traits": {"seats": 3}, "timestamp": at(25)},
        // ... merged into u1: each trait keeps its latest value.
        {"type": "alias", "userId": "u1", "previousId": "a2", "timestamp": at(28)}
    ]);
    // Appended one message at a time, so that each sees what the previous ones stored.
    for e in crate::events(&messages) {
        store.append(ws, vec![e]).unwrap();
    }
    let person = store.resolve(ws, "u1").unwrap().unwrap();
    assert_eq!(store.resolve(ws, "a2").unwrap(), Some(person));
    let record = store.person(ws, person).unwrap().unwrap();
    assert_eq!(
        Value::Object(record.traits),
        json!({"company": "Acme", "plan": "pro", "seats": 3})
    );
    let day = |d: u32| parcours_core::time::parse_rfc3339(&at(d)).unwrap();
    let history: Vec<(String, Value, i64)> = record
        .trait_history
        .into_iter()
        .map(|c| (c.key, c.value, c.observed_at))
        .collect();
    assert_eq!(
        history,
        vec![
            ("company".into(), json!("Acme"), day(5)),
            ("plan".into(), json!("old"), day(5)),
            ("plan".into(), json!("free"), day(10)),
            ("plan".into(), json!("trial"), day(20)),
            ("plan".into(), json!("pro"), day(30)),
            ("seats".into(), json!(1), day(10)),
            ("seats".into(), json!(3), day(25)),
        ]
    );
    let values = |key: &str| {
        let mut out = Vec::new();
        store
            .trait_values(ws, key, &mut |p, v| out.push((p, v)))
            .unwrap();
        out
    };
    assert_eq!(values("plan"), vec![(person, json!("pro"))]);
    assert_eq!(values("seats"), vec![(person, json!(3))]);
    assert!(values("missing").is_empty());
    store.erase_person(ws, person).unwrap();
    assert!(values("plan").is_empty());
}

#[test]
fn erasure_removes_everything_of_the_person_and_records_only_that_it_happened() {
    let (tmp, store, ws) = crate::store_with(json!([
        {"type": "page", "anonymousId": "a1"},
        {"type": "identify", "userId": "u1", "anonymousId": "a1", "traits": {"email": "gone@example.com", "name": "Zoé Secret"}},
        {"type": "track", "event": "Order Completed", "userId": "u1"},
        {"type": "group", "userId": "u1", "groupId": "acme"},
        {"type": "track", "event": "E", "userId": "u2"}
    ]));
    let person = store.resolve(ws, "gone@example.com").unwrap().unwrap();
    let report = store.erase_person(ws, person).unwrap();
    assert_eq!((report.events_deleted, report.identities_deleted), (4, 3));
    for id in ["u1", "a1", "gone@example.com"] {
        assert!(
            store.resolve(ws, id).unwrap().is_none(),
            "{id} survived erasure"
        );
    }
    assert!(store.person(ws, person).unwrap().is_none());
    assert_eq!(store.event_count(ws).unwrap(), 1);
    let mut ids = Vec::new();
    store
        .identity_map(ws, &mut |i| ids.push((i.kind, i.value)))
        .unwrap();
    assert_eq!(ids, vec![(IdentityKind::UserId, "u2".to_string())]);
    drop(store);
    // secure_delete zeroes freed pages: the erased name is not left in the file.
    let mut raw = std::fs::read(tmp.path().join("parcours.db")).unwrap();
    raw.extend(std::fs::read(tmp.path().join("parcours.db-wal")).unwrap_or_default());
    let needle = "Zoé Secret".as_bytes();
    let leftovers = raw.windows(needle.len()).filter(|w| *w == needle).count();
    // The WAL may keep old page images until a checkpoint; the main file must not.
    let main = std::fs::read(tmp.path().join("parcours.db")).unwrap();
    assert!(
        !main.windows(needle.len()).any(|w| w == needle),
        "erased data left in the database file ({leftovers} copies in db+wal)"
    );
}

/// An email ties to its first person and never merges two: erasing that person leaves
/// others who declared the same email, which the report names (by their first userId,
/// else anonymousId) so that the operator can erase them too.
#[test]
fn erasure_names_the_other_persons_who_declared_the_same_email() {
    let (_dir, store, ws) = crate::store_with(json!([
        {"type": "identify", "userId": "u1", "traits": {"email": "Ana@Example.com"}},
        {"type": "identify", "userId": "u2", "traits": {"email": " ana@example.com "}},
        {"type": "identify", "anonymousId": "a3", "traits": {"email": "ANA@example.com"}},
        {"type": "identify", "userId": "u4", "traits": {"email": "other@example.com"}},
        {"type": "track", "event": "E", "userId": "u5"}
    ]));
    let first = store.resolve(ws, "ana@example.com").unwrap().unwrap();
    assert_eq!(store.resolve(ws, "u1").unwrap(), Some(first));
    let report = store.erase_person(ws, first).unwrap();
    assert_eq!(report.same_email_persons, ["a3", "u2"]);
    // Erasing by userId names them as well; a person without an email names nobody.
    let u2 = store.resolve(ws, "u2").unwrap().unwrap();
    assert_eq!(
        store.erase_person(ws, u2).unwrap().same_email_persons,
        ["a3"]
    );
    let u5 = store.resolve(ws, "u5").unwrap().unwrap();
    assert!(store
        .erase_person(ws, u5)
        .unwrap()
        .same_email_persons
        .is_empty());
}

#[test]
fn data_survives_reopen_and_migrations_are_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = crate::open(tmp.path());
        let ws = store.create_workspace("w").unwrap().id;
        store
            .append(
                ws,
                crate::events(
                    &json!([{"type": "track", "event": "E", "userId": "u", "messageId": "m"}]),
                ),
            )
            .unwrap();
        store
            .upsert_costs(
                ws,
                vec![AdCost {
                    day: "2024-05-01".into(),
                    campaign: "spring".into(),
                    channel: "paid_search".into(),
                    source: "google".into(),
                    cost: 120.5,
                    currency: "EUR".into(),
                    impressions: Some(1000),
                    clicks: Some(40),
                }],
            )
            .unwrap();
    }
    let store = crate::open(tmp.path());
    let ws = store.workspace_by_name("w").unwrap().unwrap().id;
    assert_eq!(store.event_count(ws).unwrap(), 1);
    assert_eq!(store.costs(ws).unwrap()[0].cost, 120.5);
    let again = store
        .append(
            ws,
            crate::events(
                &json!([{"type": "track", "event": "E", "userId": "u", "messageId": "m"}]),
            ),
        )
        .unwrap();
    assert_eq!(again.duplicates, 1);
}

#[test]
fn concurrent_appends_are_grouped_and_all_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(crate::open(tmp.path()));
    let ws = store.create_workspace("w").unwrap().id;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut inserted = 0;
                for b in 0..20 {
                    let batch: Vec<_> = (0..25)
                        .map(|i| json!({"type": "track", "event": "E", "userId": format!("u{t}-{i}"), "messageId": format!("{t}-{b}-{i}")}))
                        .collect();
                    inserted += store.append(ws, crate::events(&json!(batch))).unwrap().inserted;
                }
                inserted
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 8 * 20 * 25);
    assert_eq!(store.event_count(ws).unwrap(), 4000);
}

#[test]
fn time_range_scans_are_half_open_ordered_and_cross_weeks() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let ws = store.create_workspace("w").unwrap().id;
    let other = store.create_workspace("o").unwrap().id;
    // Inserted out of order, over several weeks, with a tie at one timestamp.
    let times = [
        "2024-03-20T00:00:00Z",
        "2024-01-01T00:00:00Z",
        "2024-02-10T12:00:00Z",
        "2024-01-01T00:00:00Z",
        "2024-01-08T00:00:00Z",
    ];
    let messages: Vec<_> = times
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"type": "track", "event": format!("E{i}"), "userId": "u", "messageId": format!("m{i}"), "timestamp": t}))
        .collect();
    store.append(ws, crate::events(&json!(messages))).unwrap();
    store.append(other, crate::events(&json!([{"type": "track", "event": "X", "userId": "u", "timestamp": "2024-01-02T00:00:00Z"}]))).unwrap();
    let scan = |from: &str, to: &str| {
        let mut names = Vec::new();
        let (f, t) = (
            parcours_core::time::parse_rfc3339(from).unwrap(),
            parcours_core::time::parse_rfc3339(to).unwrap(),
        );
        store
            .scan_time_range(ws, f, t, &mut |e| names.push(e.event.name))
            .unwrap();
        names
    };
    assert_eq!(
        scan("2023-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ["E1", "E3", "E4", "E2", "E0"]
    );
    // `from` is inclusive, `to` exclusive.
    assert_eq!(
        scan("2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z"),
        ["E1", "E3"]
    );
    assert_eq!(
        scan("2024-01-08T00:00:00Z", "2024-03-20T00:00:00Z"),
        ["E4", "E2"]
    );
    assert!(scan("2024-03-21T00:00:00Z", "2024-03-20T00:00:00Z").is_empty());
    let mut all = 0;
    store
        .scan_time_range(ws, i64::MIN, i64::MAX, &mut |_| all += 1)
        .unwrap();
    assert_eq!(all, 5, "the other workspace's event is not visible");
}

#[test]
fn journeys_are_stored_per_workspace_with_unique_names() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let a = store.create_workspace("a").unwrap().id;
    let b = store.create_workspace("b").unwrap().id;
    let def = json!({"name": "shop", "stages": [{"name": "visit", "steps": [{"event": "home"}]}]});
    let made = store.save_journey(a, None, "shop", &def).unwrap().unwrap();
    assert_eq!(made.definition, def);
    assert!(matches!(
        store.save_journey(a, None, "shop", &def),
        Err(parcours_store::StoreError::JourneyExists(_))
    ));
    // Another workspace may use the name, and cannot see or touch a's journey.
    store.save_journey(b, None, "shop", &def).unwrap().unwrap();
    assert!(store.journey(b, made.id).unwrap().is_none());
    assert!(store
        .save_journey(b, Some(made.id), "x", &def)
        .unwrap()
        .is_none());
    assert!(!store.delete_journey(b, made.id).unwrap());
    // Replacing keeps the id; renaming onto a taken name fails.
    let renamed = store
        .save_journey(a, Some(made.id), "shop v2", &def)
        .unwrap()
        .unwrap();
    assert_eq!(renamed.id, made.id);
    store.save_journey(a, None, "other", &def).unwrap().unwrap();
    assert!(store.save_journey(a, Some(made.id), "other", &def).is_err());
    let names: Vec<String> = store
        .journeys(a)
        .unwrap()
        .into_iter()
        .map(|j| j.name)
        .collect();
    assert_eq!(names, ["other", "shop v2"]);
    assert!(store.delete_journey(a, made.id).unwrap());
    assert!(store.journey(a, made.id).unwrap().is_none());
}

#[test]
fn a_version_1_data_directory_upgrades_and_keeps_its_data() {
    // testdata/datadir-v1 was written by parcours at schema version 1 (before journeys):
    // 11 events of workspace `shop`, their identities, one read key.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/datadir-v1");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(fixture.join("parcours.db"), tmp.path().join("parcours.db")).unwrap();
    let version = |dir: &std::path::Path| -> i64 {
        rusqlite::Connection::open(dir.join("parcours.db"))
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(version(tmp.path()), 1);
    // What the version-1 rows hold, read with SQL before the upgrade.
    /// id, message id, name, ts, properties, context
    type Row = (i64, String, String, i64, Option<String>, Option<String>);
    let before: Vec<Row> = {
        let c = rusqlite::Connection::open(tmp.path().join("parcours.db")).unwrap();
        let mut stmt = c
            .prepare(
                "SELECT id, message_id, name, ts, properties, context FROM events ORDER BY ts, id",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    };
    assert_eq!(before.len(), 11);
    /// person, key, value, time: of the current traits, then of their history
    type Traits = Vec<(i64, String, String, i64)>;
    let traits_before = |table: &str, time: &str| -> Traits {
        let c = rusqlite::Connection::open(tmp.path().join("parcours.db")).unwrap();
        let mut stmt = c
            .prepare(&format!(
                "SELECT person_id, key, value, {time} FROM {table} ORDER BY person_id, key, {time}"
            ))
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    };
    let current = traits_before("person_traits", "updated_at");
    let history = traits_before("trait_history", "observed_at");
    assert_eq!(current.len(), 2);
    let store = crate::open(tmp.path());
    let ws = store.workspace_by_name("shop").unwrap().unwrap().id;
    assert_eq!(store.event_count(ws).unwrap(), 11);
    // Version 5: the rows moved into blocks, every column kept, the row id as sequence
    // number; their message ids still deduplicate.
    let mut after = Vec::new();
    store
        .scan_time_range(ws, i64::MIN, i64::MAX, &mut |e| after.push(e))
        .unwrap();
    let text = |m: &serde_json::Map<String, serde_json::Value>| {
        (!m.is_empty()).then(|| serde_json::Value::Object(m.clone()))
    };
    let json = |t: &Option<String>| {
        t.as_ref()
            .map(|t| serde_json::from_str::<serde_json::Value>(t).unwrap())
    };
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (b.0, &b.1, &b.2, b.3),
            (a.seq, &a.event.message_id, &a.event.name, a.event.timestamp)
        );
        assert_eq!(json(&b.4), text(&a.event.properties));
        assert_eq!(json(&b.5), text(&a.event.context));
    }
    let again = after[0].event.clone();
    assert_eq!(store.append(ws, vec![again]).unwrap().duplicates, 1);
    assert_eq!(
        store.change_counts(ws).unwrap().last_seq,
        before.iter().map(|b| b.0).max().unwrap()
    );
    assert_eq!(store.keys(ws).unwrap().len(), 1);
    let person = store.resolve(ws, "a1").unwrap().unwrap();
    assert_eq!(store.resolve(ws, "u1").unwrap(), Some(person));
    let def = json!({"name": "shop", "stages": [{"name": "visit", "steps": [{"event": "home"}]}]});
    assert!(store
        .save_journey(ws, None, "shop", &def)
        .unwrap()
        .is_some());
    // Version 3: KPI definitions.
    let kpi = json!({"id": "orders", "name": "Orders", "stage": "purchase",
                     "measure": {"kind": "count", "event": "Order Completed"}});
    store.save_kpi(ws, "orders", &kpi).unwrap();
    assert_eq!(store.kpis(ws).unwrap(), vec![kpi]);
    // Version 4: survey definitions and secrets.
    let survey = json!({"id": "nps", "kind": "nps", "question": "Would you recommend us?"});
    store.save_survey(ws, "nps", &survey).unwrap();
    assert_eq!(store.surveys(ws).unwrap(), vec![survey]);
    // Version 6: a person's traits and their changes are one document each; a person's
    // record reads as it did.
    let mut after_current = Vec::new();
    let mut after_history = Vec::new();
    for person in current.iter().map(|t| t.0) {
        let record = store.person(ws, person).unwrap().unwrap();
        for (key, value) in record.traits {
            let at = current
                .iter()
                .find(|t| t.0 == person && t.1 == key)
                .unwrap()
                .3;
            after_current.push((person, key, value.to_string(), at));
        }
        for change in record.trait_history {
            after_history.push((
                person,
                change.key,
                change.value.to_string(),
                change.observed_at,
            ));
        }
    }
    assert_eq!(after_current, current);
    assert_eq!(after_history, history);
    store.close();
    drop(store);
    assert_eq!(version(tmp.path()), 7, "upgraded to the latest version");
}

#[test]
fn survey_definitions_are_kept_per_workspace_and_secrets_are_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let a = store.create_workspace("a").unwrap().id;
    let b = store.create_workspace("b").unwrap().id;
    store
        .save_survey(a, "x", &json!({"id": "x", "question": "one"}))
        .unwrap();
    store
        .save_survey(a, "x", &json!({"id": "x", "question": "two"}))
        .unwrap();
    assert_eq!(
        store.surveys(a).unwrap(),
        vec![json!({"id": "x", "question": "two"})]
    );
    assert!(store.surveys(b).unwrap().is_empty());
    assert!(!store.delete_survey(b, "x").unwrap());
    assert!(store.delete_survey(a, "x").unwrap());
    assert!(store.surveys(a).unwrap().is_empty());
    let s = store.secret("survey-links").unwrap();
    assert_eq!(s.len(), 32);
    assert_ne!(store.secret("other").unwrap(), s);
    store.close();
    drop(store);
    let store = crate::open(tmp.path());
    assert_eq!(
        store.secret("survey-links").unwrap(),
        s,
        "kept across a restart"
    );
}

#[test]
fn kpi_definitions_are_replaced_by_id_and_kept_per_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let a = store.create_workspace("a").unwrap().id;
    let b = store.create_workspace("b").unwrap().id;
    let v1 = json!({"id": "x", "name": "one"});
    let v2 = json!({"id": "x", "name": "two"});
    store.save_kpi(a, "x", &v1).unwrap();
    store.save_kpi(a, "x", &v2).unwrap();
    store.save_kpi(a, "w", &json!({"id": "w"})).unwrap();
    assert_eq!(store.kpis(a).unwrap(), vec![json!({"id": "w"}), v2]);
    assert!(store.kpis(b).unwrap().is_empty());
    assert!(!store.delete_kpi(b, "x").unwrap());
    assert!(store.delete_kpi(a, "x").unwrap());
    assert_eq!(store.kpis(a).unwrap().len(), 1);
}

#[test]
fn blocks_grow_split_and_are_rewritten_by_erasure() {
    // 5,000 events in one append (split at 4,096), then 5,000 in appends of 100 (like
    // HTTP batches: the last block grows while it holds fewer than 128); erasing a
    // person whose events are in every block rewrites them all and leaves the others'
    // events as they were.
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let ws = store.create_workspace("w").unwrap().id;
    let other = store.create_workspace("other").unwrap().id;
    let message = |i: usize| {
        let user = if i.is_multiple_of(10) {
            "gone".to_string()
        } else {
            format!("u{}", i % 7)
        };
        json!({"type": "track", "event": format!("E{}", i % 5), "userId": user,
               "messageId": format!("m{i}"), "timestamp": "2024-05-01T00:00:00Z",
               "properties": {"i": i}})
    };
    // (Parsed in two halves: a batch body holds at most 2,500 events.)
    let half =
        |r: std::ops::Range<usize>| crate::events(&json!(r.map(message).collect::<Vec<_>>()));
    let mut first = half(0..2_500);
    first.extend(half(2_500..5_000));
    assert_eq!(store.append(ws, first).unwrap().inserted, 5_000);
    for start in (5_000..10_000).step_by(100) {
        let batch: Vec<_> = (start..start + 100).map(message).collect();
        let outcome = store.append(ws, crate::events(&json!(batch))).unwrap();
        assert_eq!(outcome.inserted, 100);
        // Another workspace writes between them: its blocks are its own.
        store
            .append(other, crate::events(&json!([message(start)])))
            .unwrap();
    }
    let sizes: Vec<i64> = {
        let c = rusqlite::Connection::open(tmp.path().join("parcours.db")).unwrap();
        let mut stmt = c
            .prepare("SELECT events FROM event_blocks WHERE workspace_id = ?1 ORDER BY last_seq")
            .unwrap();
        let rows = stmt.query_map([ws], |r| r.get(0)).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    };
    // Appends of 100: the last block is extended while it holds fewer than 128.
    let mut expected = vec![4096, 904];
    expected.extend([200; 25]);
    assert_eq!(sizes, expected);
    assert_eq!(store.event_count(other).unwrap(), 50);
    // Resending everything adds nothing.
    let again: Vec<_> = (0..100).map(message).collect();
    assert_eq!(
        store
            .append(ws, crate::events(&json!(again)))
            .unwrap()
            .duplicates,
        100
    );

    let before: Vec<u64> = {
        let mut v = Vec::new();
        store
            .scan_events(ws, 0, &mut |e| {
                v.push(e.event.properties["i"].as_u64().unwrap())
            })
            .unwrap();
        v
    };
    assert_eq!(before, (0..10_000).collect::<Vec<u64>>());
    let gone = store.resolve(ws, "gone").unwrap().unwrap();
    assert_eq!(store.person_events(ws, gone).unwrap().len(), 1_000);
    let report = store.erase_person(ws, gone).unwrap();
    assert_eq!(report.events_deleted, 1_000);
    let mut after = Vec::new();
    store
        .scan_events(ws, 0, &mut |e| {
            assert_ne!(e.event.user_id.as_deref(), Some("gone"));
            after.push((e.seq, e.event.properties["i"].as_u64().unwrap()));
        })
        .unwrap();
    let kept: Vec<u64> = (0..10_000).filter(|i| i % 10 != 0).collect();
    assert_eq!(after.iter().map(|a| a.1).collect::<Vec<_>>(), kept);
    // Sequence numbers stay those the events were given.
    assert!(after.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(store.event_count(ws).unwrap(), 9_000);
    // The erased person's message ids are forgotten: a resent one is stored again.
    let resent = store
        .append(ws, crate::events(&json!([message(0)])))
        .unwrap();
    assert_eq!((resent.inserted, resent.duplicates), (1, 0));
    // Time-range scans see the same events.
    let mut in_range = 0;
    store
        .scan_time_range(ws, i64::MIN, i64::MAX, &mut |_| in_range += 1)
        .unwrap();
    assert_eq!(in_range, 9_001);
}

/// Deleting a workspace removes its rows from every table that holds a workspace's rows
/// (found from the schema, so that a table added later is covered by this test too), and
/// nothing of another workspace; it is recorded as an erasure; a workspace created after
/// it never takes its id, and stores the same messages again (the writer forgot them).
#[test]
fn deleting_a_workspace_removes_everything_it_holds_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let messages = json!([
        {"type": "identify", "userId": "u-1", "anonymousId": "a-1", "messageId": "m-1",
         "traits": {"email": "ana@example.com", "plan": "pro"}, "timestamp": "2024-05-01T10:00:00Z"},
        {"type": "identify", "userId": "u-2", "anonymousId": "a-2", "messageId": "m-2",
         "timestamp": "2024-05-01T10:01:00Z"},
        {"type": "alias", "userId": "u-1", "previousId": "u-2", "messageId": "m-3",
         "timestamp": "2024-05-01T10:02:00Z"},
        {"type": "group", "userId": "u-1", "groupId": "acme", "traits": {"name": "Acme"},
         "messageId": "m-4", "timestamp": "2024-05-01T10:03:00Z"},
    ]);
    let erased = json!([
        {"type": "identify", "userId": "u-9", "traits": {"plan": "free"}, "messageId": "m-5",
         "timestamp": "2024-05-01T10:04:00Z"},
    ]);
    let fill = |name: &str| {
        let ws = store.create_workspace(name).unwrap().id;
        store.append(ws, crate::events(&erased)).unwrap();
        store.append(ws, crate::events(&messages)).unwrap();
        store.create_key(ws, Scope::Read, None).unwrap();
        store
            .save_journey(ws, None, "j", &json!({"stages": []}))
            .unwrap();
        store.save_kpi(ws, "k", &json!({"id": "k"})).unwrap();
        store.save_survey(ws, "s", &json!({"id": "s"})).unwrap();
        let cost = AdCost {
            day: "2024-05-01".into(),
            campaign: "spring".into(),
            channel: "paid_search".into(),
            source: "google".into(),
            cost: 12.5,
            currency: "EUR".into(),
            impressions: None,
            clicks: None,
        };
        store.upsert_costs(ws, vec![cost]).unwrap();
        let u9 = store.resolve(ws, "u-9").unwrap().unwrap();
        store.erase_person(ws, u9).unwrap();
        ws
    };
    let (a, b) = (fill("a"), fill("b"));
    let db = rusqlite::Connection::open(tmp.path().join("parcours.db")).unwrap();
    let tables: Vec<String> = db
        .prepare(
            "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND p.name = 'workspace_id' ORDER BY m.name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let rows = |ws: i64| -> Vec<(String, i64)> {
        let mut rows: Vec<(String, i64)> = tables
            .iter()
            .map(|t| {
                let sql = format!("SELECT count(*) FROM \"{t}\" WHERE workspace_id = ?1");
                (t.clone(), db.query_row(&sql, [ws], |r| r.get(0)).unwrap())
            })
            .collect();
        rows.push((
            "workspaces".into(),
            db.query_row("SELECT count(*) FROM workspaces WHERE id = ?1", [ws], |r| {
                r.get(0)
            })
            .unwrap(),
        ));
        rows
    };
    let (a_before, b_before) = (rows(a), rows(b));
    for (table, n) in &a_before {
        assert!(*n > 0, "the fixture leaves {table} empty: {a_before:?}");
    }
    let deletion = store.delete_workspace(a).unwrap();
    assert_eq!(
        (
            deletion.events_deleted,
            deletion.persons_deleted,
            deletion.keys_deleted
        ),
        (4, 1, 1),
        "{deletion:?}"
    );
    for (table, n) in rows(a) {
        let kept = if table == "erasures" { 2 } else { 0 };
        assert_eq!(n, kept, "{table} after the deletion");
    }
    assert_eq!(rows(b), b_before, "the other workspace is untouched");
    assert!(store.workspace_by_name("a").unwrap().is_none());
    // The name is free again, under a new id; the same messages are new to it.
    let again = store.create_workspace("a").unwrap().id;
    assert!(again > b, "{again} must not be a deleted workspace's id");
    let outcome = store.append(again, crate::events(&messages)).unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (4, 0));
    // Not even the id of the latest workspace, which SQLite would give again.
    let latest = store.create_workspace("c").unwrap().id;
    store.delete_workspace(latest).unwrap();
    assert!(store.create_workspace("d").unwrap().id > latest);
    // And the other workspace still deduplicates its own.
    let outcome = store.append(b, crate::events(&messages)).unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (0, 4));
}

/// A person id is never given to another person after a merge: the merge record names
/// the merged person by it, and an erasure of the next person created must not take that
/// record (SQLite gives the highest id plus one, and the merged person had the highest).
#[test]
fn a_merged_person_s_id_is_not_given_again() {
    let (dir, store, ws) = crate::store_with(json!([
        {"type": "identify", "userId": "u-1", "messageId": "m-1", "timestamp": "2024-05-01T10:00:00Z"},
        {"type": "identify", "userId": "u-2", "messageId": "m-2", "timestamp": "2024-05-01T10:01:00Z"},
    ]));
    let merged = store.resolve(ws, "u-2").unwrap().unwrap();
    let alias = json!([{"type": "alias", "userId": "u-1", "previousId": "u-2", "messageId": "m-3",
        "timestamp": "2024-05-01T10:02:00Z"}]);
    store.append(ws, crate::events(&alias)).unwrap();
    assert_eq!(store.change_counts(ws).unwrap().merges, 1);
    assert!(
        store.person(ws, merged).unwrap().is_none(),
        "no person by a merged id"
    );
    let later = json!([{"type": "identify", "userId": "u-9", "messageId": "m-4",
        "timestamp": "2024-05-01T10:03:00Z"}]);
    store.append(ws, crate::events(&later)).unwrap();
    let new = store.resolve(ws, "u-9").unwrap().unwrap();
    assert_ne!(new, merged);
    store.erase_person(ws, new).unwrap();
    assert_eq!(
        store.change_counts(ws).unwrap().merges,
        1,
        "the merge of u-2 is still recorded"
    );
    // Erasing the person u-2 was merged into takes u-2's former person and the merge's
    // record with it: nothing of either remains.
    let db = rusqlite::Connection::open(dir.path().join("parcours.db")).unwrap();
    let persons = || -> i64 {
        db.query_row("SELECT count(*) FROM persons", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(persons(), 2, "u-1's and u-2's former one");
    let u1 = store.resolve(ws, "u-1").unwrap().unwrap();
    store.erase_person(ws, u1).unwrap();
    assert_eq!(persons(), 0);
    assert_eq!(store.change_counts(ws).unwrap().merges, 0);
}

/// The newest person erased, the newest journey deleted and the keys of a deleted
/// workspace keep their ids: the next ones created take higher ids (SQLite gives a plain
/// integer key the highest id plus one, which gave a deleted row's id to the next one).
#[test]
fn an_erased_person_s_a_deleted_journey_s_and_a_deleted_key_s_ids_are_not_given_again() {
    let (_dir, store, ws) = crate::store_with(json!([
        {"type": "identify", "userId": "u-1", "messageId": "m-1", "timestamp": "2024-05-01T10:00:00Z"},
        {"type": "identify", "userId": "u-2", "messageId": "m-2", "timestamp": "2024-05-01T10:01:00Z"},
    ]));
    let newest = store.resolve(ws, "u-2").unwrap().unwrap();
    store.erase_person(ws, newest).unwrap();
    let later = json!([{"type": "identify", "userId": "u-3", "messageId": "m-3",
        "timestamp": "2024-05-01T10:03:00Z"}]);
    store.append(ws, crate::events(&later)).unwrap();
    let next = store.resolve(ws, "u-3").unwrap().unwrap();
    assert!(
        next > newest,
        "person {next} must not reuse the erased {newest}"
    );

    let def = json!({"name": "shop", "stages": [{"name": "visit", "steps": [{"event": "home"}]}]});
    let journey = store
        .save_journey(ws, None, "shop", &def)
        .unwrap()
        .unwrap()
        .id;
    assert!(store.delete_journey(ws, journey).unwrap());
    let again = store
        .save_journey(ws, None, "shop", &def)
        .unwrap()
        .unwrap()
        .id;
    assert!(
        again > journey,
        "journey {again} must not reuse the deleted {journey}"
    );

    let other = store.create_workspace("other").unwrap().id;
    let (key, _) = store.create_key(other, Scope::Read, None).unwrap();
    store.delete_workspace(other).unwrap();
    let (next_key, _) = store.create_key(ws, Scope::Read, None).unwrap();
    assert!(
        next_key.id > key.id,
        "key {} must not reuse the deleted {}",
        next_key.id,
        key.id
    );
}

/// Two users whose client sends `"undefined"` as their anonymous id stay two persons (as
/// that id, their events would merge them, and everyone else who sent it).
#[test]
fn a_placeholder_anonymous_id_does_not_merge_people() {
    let (_dir, store, ws) = crate::store_with(json!([
        {"type": "identify", "userId": "alice", "anonymousId": "undefined", "messageId": "m-1", "timestamp": "2024-05-01T10:00:00Z"},
        {"type": "identify", "userId": "bob", "anonymousId": "undefined", "messageId": "m-2", "timestamp": "2024-05-01T10:01:00Z"},
        {"type": "track", "event": "E", "userId": "carol", "anonymousId": "null", "messageId": "m-3", "timestamp": "2024-05-01T10:02:00Z"},
    ]));
    let alice = store.resolve(ws, "alice").unwrap().unwrap();
    let bob = store.resolve(ws, "bob").unwrap().unwrap();
    assert_ne!(alice, bob);
    assert_eq!(store.resolve(ws, "undefined").unwrap(), None);
    assert_eq!(store.resolve(ws, "null").unwrap(), None);
    assert_eq!(store.change_counts(ws).unwrap().merges, 0);
}

/// A timeline page is the slice of the whole timeline (by time, then sequence number;
/// reversed for the latest first) at its offset, whatever the blocks the events are in
/// and however they tie, and counts all the person's events.
#[test]
fn a_timeline_page_is_the_slice_of_the_whole_timeline() {
    let (dir, store, ws) = crate::store_with(json!([]));
    // Three commits of more events than a block is extended by (three blocks), times out
    // of order and tied, another person between.
    for commit in 0..3 {
        let messages: Vec<Value> = (0..150)
            .map(|i| {
                let user = if i % 5 == 0 { "other" } else { "u-1" };
                json!({"type": "track", "event": format!("E{commit}-{i}"), "userId": user,
                    "messageId": format!("m-{commit}-{i}"),
                    "timestamp": format!("2024-05-01T10:{:02}:00Z", (i * 7 + commit * 3) % 20)})
            })
            .collect();
        store
            .append(ws, crate::events(&Value::Array(messages)))
            .unwrap();
    }
    let db = rusqlite::Connection::open(dir.path().join("parcours.db")).unwrap();
    let blocks: i64 = db
        .query_row("SELECT count(*) FROM event_blocks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(blocks, 3);
    let person = store.resolve(ws, "u-1").unwrap().unwrap();
    let all = store.person_events(ws, person).unwrap();
    assert_eq!(all.len(), 360);
    let keys: Vec<(i64, i64)> = all.iter().map(|e| (e.event.timestamp, e.seq)).collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "by time, then sequence number"
    );
    for latest_first in [false, true] {
        let mut whole = all.clone();
        if latest_first {
            whole.reverse();
        }
        for (offset, limit) in [
            (0, 10),
            (5, 7),
            (145, 10),
            (355, 10),
            (360, 5),
            (900, 5),
            (0, 0),
            (0, usize::MAX),
        ] {
            let page = parcours_store::TimelinePage {
                offset,
                limit,
                latest_first,
            };
            let got = store.person_timeline(ws, person, page).unwrap();
            assert_eq!(got.total, 360);
            let expected: Vec<_> = whole.iter().skip(offset).take(limit).cloned().collect();
            assert_eq!(got.events, expected, "{page:?}");
        }
    }
}

/// A person whose traits changed more than the record holds: the latest changes, by
/// trait then time, and how many there are in all.
#[test]
fn a_person_record_holds_the_latest_trait_changes_and_counts_all() {
    let (_dir, store, ws) = crate::store_with(json!([
        {"type": "identify", "userId": "u-1", "messageId": "m-plan", "traits": {"plan": "free", "score": -1},
            "timestamp": "2024-01-01T00:00:00Z"}
    ]));
    let kept = parcours_store::TRAIT_HISTORY_KEPT;
    let messages: Vec<Value> = (0..kept + 200)
        .map(|i| {
            json!({"type": "identify", "userId": "u-1", "messageId": format!("m-{i}"),
                "traits": {"score": i},
                "timestamp": format!("2024-02-01T00:00:00.{i:06}Z")})
        })
        .collect();
    store
        .append(ws, crate::events(&Value::Array(messages)))
        .unwrap();
    let person = store.resolve(ws, "u-1").unwrap().unwrap();
    let record = store.person(ws, person).unwrap().unwrap();
    assert_eq!(record.trait_history_total, (kept + 200 + 2) as u64);
    assert_eq!(record.trait_history.len(), kept);
    let scores: Vec<i64> = (record.trait_history.iter())
        .map(|c| {
            assert_eq!(c.key, "score", "the oldest changes are left out");
            c.value.as_i64().unwrap()
        })
        .collect();
    assert_eq!(scores, (200..kept as i64 + 200).collect::<Vec<_>>());
    assert_eq!(record.traits["plan"], "free");
    // A person with fewer changes has them all.
    let few = json!([{"type": "identify", "userId": "u-2", "messageId": "m-u2",
        "traits": {"plan": "pro"}, "timestamp": "2024-01-01T00:00:00Z"}]);
    store.append(ws, crate::events(&few)).unwrap();
    let other = store.resolve(ws, "u-2").unwrap().unwrap();
    let record = store.person(ws, other).unwrap().unwrap();
    assert_eq!(
        (record.trait_history.len(), record.trait_history_total),
        (1, 1)
    );
}

/// A user given a new anonymousId with each server call: the record holds every userId
/// and email and the anonymousIds seen last, and counts them all; the timeline still
/// finds every event.
#[test]
fn a_person_record_holds_its_ids_and_the_latest_anonymous_ones() {
    let (_dir, store, ws) = crate::store_with(json!([
        {"type": "identify", "userId": "u-s", "messageId": "m-id", "traits": {"email": "s@example.com"},
            "timestamp": "2024-01-01T00:00:00Z"}
    ]));
    let kept = parcours_store::IDENTITIES_KEPT;
    let calls = kept + 200;
    let messages: Vec<Value> = (0..calls)
        .map(|i| {
            json!({"type": "track", "event": "Server Call", "userId": "u-s",
                "anonymousId": format!("anon-{i:05}"), "messageId": format!("m-{i}"),
                "timestamp": format!("2024-02-01T00:00:00.{i:06}Z")})
        })
        .collect();
    store
        .append(ws, crate::events(&Value::Array(messages)))
        .unwrap();
    let person = store.resolve(ws, "u-s").unwrap().unwrap();
    let record = store.person(ws, person).unwrap().unwrap();
    assert_eq!(record.identities_total, (calls + 2) as u64);
    assert_eq!(record.identities.len(), kept);
    let values: Vec<&str> = record.identities.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(&values[..2], ["u-s", "s@example.com"], "by first sight");
    assert_eq!(values[2], format!("anon-{:05}", calls - (kept - 2)));
    assert_eq!(values[kept - 1], format!("anon-{:05}", calls - 1));
    let timeline = store.person_events(ws, person).unwrap();
    assert_eq!(timeline.len(), calls + 1);
}

/// `append_then` calls back once the events are committed (visible to a reader then),
/// with the same outcome `append` gives; on a closed store, with `Closed`, still once.
#[test]
fn append_then_calls_back_once_committed() {
    let (_dir, store, ws) = crate::store_with(json!([]));
    let messages = json!([
        {"type": "track", "userId": "u-1", "event": "A", "messageId": "m-1", "timestamp": "2024-05-01T10:00:00Z"},
        {"type": "track", "userId": "u-1", "event": "A", "messageId": "m-1", "timestamp": "2024-05-01T10:00:00Z"},
    ]);
    let (tx, rx) = std::sync::mpsc::channel();
    store.append_then(
        ws,
        crate::events(&messages),
        Box::new(move |outcome| tx.send(outcome).unwrap()),
    );
    let outcome = rx.recv().unwrap().unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (1, 1));
    assert_eq!(
        store.event_count(ws).unwrap(),
        1,
        "committed before the call"
    );
    assert!(rx.try_recv().is_err(), "called once");
    store.close();
    let (tx, rx) = std::sync::mpsc::channel();
    store.append_then(
        ws,
        crate::events(&messages),
        Box::new(move |outcome| tx.send(outcome).unwrap()),
    );
    assert!(matches!(
        rx.recv().unwrap(),
        Err(parcours_store::StoreError::Closed)
    ));
}
