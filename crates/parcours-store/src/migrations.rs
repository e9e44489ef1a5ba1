//! Numbered schema migrations, embedded in the binary and applied at open.
//!
//! The schema version is SQLite's `user_version`. Migration N brings the schema from N−1
//! to N inside one transaction. A data directory from a newer parcours is refused.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection};
use serde_json::{Map, Value};

use crate::sqlite::blocks::{self, Row, MAX_EVENTS};
use crate::types::WorkspaceId;

use crate::{Result, StoreError};

/// One migration: its SQL and, for migrations that move data, a Rust step run after it
/// in the same transaction.
struct Migration {
    sql: &'static str,
    /// Moves rows into a new shape and drops the old; returns how many it moved. The
    /// dropped rows live on in the new shape, so their pages are not zeroed (that would
    /// write the whole old table to the WAL once more), and the file is compacted after
    /// a move (the old table leaves it mostly free pages).
    moves: Option<fn(&Connection) -> Result<u64>>,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        sql: include_str!("../migrations/0001_initial.sql"),
        moves: None,
    },
    Migration {
        sql: include_str!("../migrations/0002_journeys.sql"),
        moves: None,
    },
    Migration {
        sql: include_str!("../migrations/0003_kpis.sql"),
        moves: None,
    },
    Migration {
        sql: include_str!("../migrations/0004_surveys.sql"),
        moves: None,
    },
    Migration {
        sql: include_str!("../migrations/0005_event_blocks.sql"),
        moves: Some(events_into_blocks),
    },
    Migration {
        sql: include_str!("../migrations/0006_trait_documents.sql"),
        moves: Some(traits_into_documents),
    },
    Migration {
        sql: include_str!("../migrations/0007_ids_never_reused.sql"),
        moves: None,
    },
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn apply(conn: &mut Connection) -> Result<i64> {
    apply_to(conn, LATEST)
}

/// Brings the schema to version `target` (tests stop before the latest to write rows of an
/// older shape).
fn apply_to(conn: &mut Connection, target: i64) -> Result<i64> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: LATEST,
        });
    }
    for (i, m) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(current as usize)
    {
        let version = i as i64 + 1;
        if m.moves.is_some() {
            conn.pragma_update(None, "secure_delete", "OFF")?;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)?;
        let moved = match m.moves {
            Some(step) => step(&tx)?,
            None => 0,
        };
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "applied schema migration");
        if m.moves.is_some() {
            conn.pragma_update(None, "secure_delete", "ON")?;
        }
        if moved > 0 {
            conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
            tracing::info!(
                version,
                rows = moved,
                "compacted the database after the move"
            );
        }
    }
    Ok(target.max(current))
}

/// Migration 5's Rust step: moves the rows of the version-4 `events` table into blocks,
/// in row id order (the id becomes the sequence number), then drops the table. Returns
/// how many events moved.
fn events_into_blocks(c: &Connection) -> Result<u64> {
    /// The text columns, in the order of the query below (message id … context).
    const TEXT: usize = 18;
    struct Owned {
        seq: i64,
        text: [Option<String>; TEXT],
        times: [Option<i64>; 4],
        revenue: Option<f64>,
        online: bool,
    }
    fn flush(c: &Connection, ws: WorkspaceId, batch: &mut Vec<Owned>) -> Result<()> {
        let rows: Vec<Row> = batch
            .iter()
            .map(|o| {
                let t = |i: usize| o.text[i].as_deref();
                Row {
                    seq: o.seq,
                    hash: blocks::message_hash(ws, t(0).unwrap_or("")),
                    message_id: t(0).unwrap_or(""),
                    kind: t(1).unwrap_or("track"),
                    name: t(2).unwrap_or(""),
                    user_id: t(3),
                    anonymous_id: t(4),
                    group_id: t(5),
                    previous_id: t(6),
                    channel: t(7).unwrap_or(""),
                    campaign: t(8),
                    utm_source: t(9),
                    utm_medium: t(10),
                    utm_term: t(11),
                    utm_content: t(12),
                    touchpoint: t(13).unwrap_or(""),
                    currency: t(14),
                    properties: t(15),
                    traits: t(16),
                    context: t(17),
                    ts: o.times[0].unwrap_or(0),
                    original_ts: o.times[1],
                    sent_at: o.times[2],
                    received_at: o.times[3].unwrap_or(0),
                    revenue: o.revenue,
                    online: o.online,
                }
            })
            .collect();
        if !rows.is_empty() {
            blocks::write_block(c, ws, None, &blocks::encode(&rows))?;
        }
        batch.clear();
        Ok(())
    }
    let mut stmt = c.prepare(
        "SELECT workspace_id, id, message_id, kind, name, user_id, anonymous_id, group_id, previous_id,
         channel, campaign, utm_source, utm_medium, utm_term, utm_content, touchpoint, currency,
         properties, traits, context, ts, original_ts, sent_at, received_at, revenue, online
         FROM events ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut batches: HashMap<WorkspaceId, Vec<Owned>> = HashMap::new();
    let mut moved = 0u64;
    while let Some(r) = rows.next()? {
        let ws: WorkspaceId = r.get(0)?;
        let mut text: [Option<String>; TEXT] = Default::default();
        for (i, slot) in text.iter_mut().enumerate() {
            *slot = r.get(2 + i)?;
        }
        let mut times = [None; 4];
        for (i, slot) in times.iter_mut().enumerate() {
            *slot = r.get(2 + TEXT + i)?;
        }
        let batch = batches.entry(ws).or_default();
        batch.push(Owned {
            seq: r.get(1)?,
            text,
            times,
            revenue: r.get(24)?,
            online: r.get(25)?,
        });
        if batch.len() == MAX_EVENTS {
            flush(c, ws, batch)?;
        }
        moved += 1;
    }
    let mut rest: Vec<_> = batches.into_iter().collect();
    rest.sort_by_key(|(ws, _)| *ws);
    for (ws, mut batch) in rest {
        flush(c, ws, &mut batch)?;
    }
    drop(rows);
    drop(stmt);
    c.execute_batch("DROP TABLE events")?;
    if moved > 0 {
        tracing::info!(events = moved, "moved the events into blocks");
    }
    Ok(moved)
}

/// Migration 6's Rust step: gathers the version-5 rows of `person_traits` (one per trait)
/// into one JSON document per person, and those of `trait_history` (one per trait and
/// time) into one change per person and time, then drops the old tables. Returns how many
/// rows moved.
fn traits_into_documents(c: &Connection) -> Result<u64> {
    // Version 5 stored each value as JSON text; a text that is not JSON was read back as a
    // string, and is moved as one.
    let value = |text: String| serde_json::from_str(&text).unwrap_or(Value::String(text));
    let mut moved = 0u64;
    {
        let mut insert = c.prepare(
            "INSERT INTO person_traits (workspace_id, person_id, traits, updated_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut flush = |owner: (WorkspaceId, i64),
                         traits: &mut Map<String, Value>,
                         updated: &mut BTreeMap<String, i64>|
         -> Result<()> {
            insert.execute(params![
                owner.0,
                owner.1,
                Value::Object(std::mem::take(traits)).to_string(),
                serde_json::to_string(&std::mem::take(updated)).unwrap_or_default()
            ])?;
            Ok(())
        };
        let mut stmt = c.prepare(
            "SELECT workspace_id, person_id, key, value, updated_at FROM person_traits_v5
             ORDER BY workspace_id, person_id, key",
        )?;
        let mut rows = stmt.query([])?;
        let mut owner = None;
        let (mut traits, mut updated) = (Map::new(), BTreeMap::new());
        while let Some(r) = rows.next()? {
            let this = (r.get(0)?, r.get(1)?);
            if owner.is_some_and(|o| o != this) {
                flush(owner.unwrap_or(this), &mut traits, &mut updated)?;
            }
            owner = Some(this);
            let key: String = r.get(2)?;
            traits.insert(key.clone(), value(r.get(3)?));
            updated.insert(key, r.get::<_, i64>(4)?);
            moved += 1;
        }
        if let Some(o) = owner {
            flush(o, &mut traits, &mut updated)?;
        }
    }
    {
        let mut insert = c.prepare(
            "INSERT INTO trait_history (workspace_id, person_id, observed_at, changes) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut flush = |owner: (WorkspaceId, i64),
                         changes: &mut BTreeMap<i64, Vec<Map<String, Value>>>|
         -> Result<()> {
            for (at, at_once) in std::mem::take(changes) {
                for change in at_once {
                    insert.execute(params![
                        owner.0,
                        owner.1,
                        at,
                        Value::Object(change).to_string()
                    ])?;
                }
            }
            Ok(())
        };
        // In the old index's order (person, then trait, then time): a person's changes are
        // gathered by time in memory.
        let mut stmt = c.prepare(
            "SELECT workspace_id, person_id, key, value, observed_at FROM trait_history_v5
             INDEXED BY trait_history_person ORDER BY workspace_id, person_id, key, observed_at",
        )?;
        let mut rows = stmt.query([])?;
        let mut owner = None;
        let mut changes: BTreeMap<i64, Vec<Map<String, Value>>> = BTreeMap::new();
        while let Some(r) = rows.next()? {
            let this = (r.get(0)?, r.get(1)?);
            if owner.is_some_and(|o| o != this) {
                flush(owner.unwrap_or(this), &mut changes)?;
            }
            owner = Some(this);
            let key: String = r.get(2)?;
            let at: i64 = r.get(4)?;
            // A trait that changed twice at one time gives two changes at that time.
            let at_once = changes.entry(at).or_default();
            if at_once.last().is_none_or(|c| c.contains_key(&key)) {
                at_once.push(Map::new());
            }
            if let Some(change) = at_once.last_mut() {
                change.insert(key, value(r.get(3)?));
            }
            moved += 1;
        }
        if let Some(o) = owner {
            flush(o, &mut changes)?;
        }
    }
    c.execute_batch("DROP TABLE person_traits_v5; DROP TABLE trait_history_v5;")?;
    if moved > 0 {
        tracing::info!(rows = moved, "gathered traits into one document per person");
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_6_gathers_each_persons_traits_and_changes_and_loses_no_value() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(apply_to(&mut c, 5).unwrap(), 5);
        c.execute_batch(
            r#"INSERT INTO workspaces (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0);
            INSERT INTO person_traits VALUES
                (1, 7, 'plan', '"pro"', 30), (1, 7, 'seats', '12', 20),
                (1, 7, 'address', '{"city":"Lyon"}', 10),
                (1, 8, 'plan', '"free"', 5), (2, 7, 'name', 'not json', 1);
            INSERT INTO trait_history VALUES
                (1, 7, 'plan', '"free"', 10), (1, 7, 'plan', '"pro"', 30),
                (1, 7, 'seats', '12', 20), (1, 7, 'address', '{"city":"Lyon"}', 10),
                (1, 7, 'seats', '10', 20),
                (1, 8, 'plan', '"free"', 5), (2, 7, 'name', 'not json', 1);"#,
        )
        .unwrap();
        assert_eq!(apply(&mut c).unwrap(), LATEST);
        let rows = |sql: &str| -> Vec<(i64, i64, Value, Value)> {
            let mut stmt = c.prepare(sql).unwrap();
            let rows = stmt
                .query_map([], |r| {
                    let t = |i| -> rusqlite::Result<Value> {
                        let v: rusqlite::types::Value = r.get(i)?;
                        Ok(match v {
                            rusqlite::types::Value::Text(t) => serde_json::from_str(&t).unwrap(),
                            rusqlite::types::Value::Integer(n) => json!(n),
                            other => panic!("unexpected {other:?}"),
                        })
                    };
                    Ok((r.get(0)?, r.get(1)?, t(2)?, t(3)?))
                })
                .unwrap();
            rows.collect::<rusqlite::Result<_>>().unwrap()
        };
        assert_eq!(
            rows("SELECT workspace_id, person_id, traits, updated_at FROM person_traits ORDER BY 1, 2"),
            vec![
                (
                    1,
                    7,
                    json!({"address": {"city": "Lyon"}, "plan": "pro", "seats": 12}),
                    json!({"address": 10, "plan": 30, "seats": 20})
                ),
                (1, 8, json!({"plan": "free"}), json!({"plan": 5})),
                (2, 7, json!({"name": "not json"}), json!({"name": 1})),
            ]
        );
        // Two values of `seats` observed at one time stay two changes.
        assert_eq!(
            rows("SELECT workspace_id, person_id, observed_at, changes FROM trait_history ORDER BY 1, 2, 3, rowid"),
            vec![
                (1, 7, json!(10), json!({"address": {"city": "Lyon"}, "plan": "free"})),
                (1, 7, json!(20), json!({"seats": 12})),
                (1, 7, json!(20), json!({"seats": 10})),
                (1, 7, json!(30), json!({"plan": "pro"})),
                (1, 8, json!(5), json!({"plan": "free"})),
                (2, 7, json!(1), json!({"name": "not json"})),
            ]
        );
        let old: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%_v5'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0, "the version-5 tables are dropped");
    }

    /// Version 7 keeps every person, journey and key with its id, and the next row of
    /// each takes an id above all of them, even once the newest is deleted.
    #[test]
    fn version_7_keeps_rows_and_ids_and_never_gives_a_deleted_id_again() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(apply_to(&mut c, 6).unwrap(), 6);
        c.execute_batch(
            "INSERT INTO workspaces (id, name, created_at) VALUES (1, 'a', 0);
            INSERT INTO persons (id, workspace_id, created_at) VALUES (3, 1, 30), (9, 1, 90);
            INSERT INTO journeys (id, workspace_id, name, definition, created_at, updated_at)
                VALUES (4, 1, 'j', '{}', 1, 2);
            INSERT INTO api_keys (id, workspace_id, scope, hash, prefix, label, created_at, revoked_at)
                VALUES (5, 1, 'read', x'00', 'pcr_', 'ops', 7, 8);",
        )
        .unwrap();
        assert_eq!(apply(&mut c).unwrap(), LATEST);
        let all = |sql: &str| -> Vec<String> {
            let mut stmt = c.prepare(sql).unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            rows.collect::<rusqlite::Result<_>>().unwrap()
        };
        assert_eq!(
            all("SELECT id || ',' || workspace_id || ',' || created_at FROM persons ORDER BY id"),
            ["3,1,30", "9,1,90"]
        );
        assert_eq!(
            all("SELECT id || ',' || name || ',' || definition || ',' || created_at || ',' || updated_at FROM journeys"),
            ["4,j,{},1,2"]
        );
        assert_eq!(
            all("SELECT id || ',' || scope || ',' || hex(hash) || ',' || prefix || ',' || label || ',' || created_at || ',' || revoked_at FROM api_keys"),
            ["5,read,00,pcr_,ops,7,8"]
        );
        // The journeys' unique names and the keys' unique hashes hold.
        let again = "INSERT INTO journeys (workspace_id, name, definition, created_at, updated_at) VALUES (1, 'j', '{}', 0, 0)";
        assert!(c.execute(again, []).is_err());
        let key = "INSERT INTO api_keys (workspace_id, scope, hash, prefix, created_at) VALUES (1, 'read', x'00', 'p', 0)";
        assert!(c.execute(key, []).is_err());
        c.execute_batch(
            "DELETE FROM persons WHERE id = 9; DELETE FROM journeys; DELETE FROM api_keys;",
        )
        .unwrap();
        let new_id = |sql: &str| {
            c.execute(sql, []).unwrap();
            c.last_insert_rowid()
        };
        assert_eq!(
            new_id("INSERT INTO persons (workspace_id, created_at) VALUES (1, 100)"),
            10
        );
        assert_eq!(
            new_id("INSERT INTO journeys (workspace_id, name, definition, created_at, updated_at) VALUES (1, 'k', '{}', 0, 0)"),
            5
        );
        assert_eq!(
            new_id("INSERT INTO api_keys (workspace_id, scope, hash, prefix, created_at) VALUES (1, 'write', x'01', 'p', 0)"),
            6
        );
    }
}
