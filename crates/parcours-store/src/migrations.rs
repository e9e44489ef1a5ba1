//! Numbered schema migrations, embedded in the binary and applied at open.
//!
//! The schema version is SQLite's `user_version`. Migration N brings the schema from N−1
//! to N inside one transaction. A data directory from a newer parcours is refused.

use std::collections::HashMap;

use rusqlite::Connection;

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
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn apply(conn: &mut Connection) -> Result<i64> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: LATEST,
        });
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(current as usize) {
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
    Ok(LATEST)
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
