//! Numbered schema migrations, embedded in the binary and applied at open.
//!
//! The schema version is SQLite's `user_version`. Migration N brings the schema from N−1
//! to N inside one transaction. A data directory from a newer parcours is refused.

use std::collections::HashMap;

use rusqlite::Connection;

use crate::sqlite::blocks::{self, Row, MAX_EVENTS};
use crate::types::WorkspaceId;

use crate::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_journeys.sql"),
    include_str!("../migrations/0003_kpis.sql"),
    include_str!("../migrations/0004_surveys.sql"),
    include_str!("../migrations/0005_event_blocks.sql"),
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
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        if version == 5 {
            // The rows dropped by this migration live on in the blocks, and the file is
            // compacted after it: zeroing their pages (`secure_delete`, on for erasures)
            // would only write the whole old table to the WAL once more.
            conn.pragma_update(None, "secure_delete", "OFF")?;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        let moved = if version == 5 {
            events_into_blocks(&tx)?
        } else {
            0
        };
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "applied schema migration");
        if version == 5 {
            conn.pragma_update(None, "secure_delete", "ON")?;
        }
        if moved > 0 {
            // The old rows left the file mostly free pages (546 bytes an event against
            // about 70 in blocks): give them back, and empty the WAL the move filled.
            conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
            tracing::info!("compacted the database after moving the events");
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
