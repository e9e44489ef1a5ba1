//! Identity fixtures: `testdata/identity/*.json` each hold messages and the persons they
//! must produce, as sets of identifiers that resolve to one person.

use std::collections::BTreeSet;

use parcours_store::Store;
use serde_json::Value;

#[test]
fn identity_fixtures() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/identity");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 6, "expected identity fixtures in {dir}");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        check(&name, &case, false);
        // The final partition must not depend on how messages were batched.
        check(&name, &case, true);
    }
}

fn check(name: &str, case: &Value, one_by_one: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::open(tmp.path());
    let ws = store.create_workspace("w").unwrap().id;
    let events = crate::events(&case["messages"]);
    let mut conflicts = 0;
    if one_by_one {
        for e in events {
            conflicts += store.append(ws, vec![e]).unwrap().shared_device_conflicts;
        }
    } else {
        conflicts = store.append(ws, events).unwrap().shared_device_conflicts;
    }
    let mut persons = BTreeSet::new();
    for group in case["expect"]["persons"].as_array().unwrap() {
        let ids: Vec<&str> = group
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let resolved: BTreeSet<_> = ids
            .iter()
            .map(|id| store.resolve(ws, id).unwrap())
            .collect();
        assert_eq!(
            resolved.len(),
            1,
            "{name}: {ids:?} should be one person, got {resolved:?}"
        );
        let person = resolved
            .into_iter()
            .next()
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: {ids:?} unknown"));
        assert!(
            persons.insert(person),
            "{name}: {ids:?} shares a person with another group"
        );
        if let Some(n) = case["expect"]["timeline_counts"].get(ids[0]) {
            let got = store.person_events(ws, person).unwrap().len();
            assert_eq!(
                got as u64,
                n.as_u64().unwrap(),
                "{name}: events of {}",
                ids[0]
            );
        }
        if let Some(traits) = case["expect"]["traits"].get(ids[0]) {
            let record = store.person(ws, person).unwrap().unwrap();
            assert_eq!(
                &Value::Object(record.traits),
                traits,
                "{name}: traits of {}",
                ids[0]
            );
        }
    }
    let expected_conflicts = case["expect"]["shared_device_conflicts"]
        .as_u64()
        .unwrap_or(0) as usize;
    assert_eq!(
        conflicts, expected_conflicts,
        "{name}: shared-device conflicts"
    );
}
