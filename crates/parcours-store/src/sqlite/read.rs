//! Queries on reader connections: identity resolution, timelines, scans.

use std::collections::{BTreeMap, HashMap};

use parcours_core::time::Micros;
use parcours_core::view::{plain_object, plain_value};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::blocks::{self, Row};
use super::rows::stored_event;
use crate::types::*;
use crate::{Result, StoreError};

pub fn resolve(c: &Connection, ws: WorkspaceId, identifier: &str) -> Result<Option<PersonId>> {
    let mut stmt = c.prepare_cached(
        "SELECT person_id FROM identities WHERE workspace_id = ?1 AND kind = ?2 AND value = ?3",
    )?;
    for kind in [IdentityKind::UserId, IdentityKind::AnonymousId] {
        if let Some(p) = stmt
            .query_row(params![ws, kind.code(), identifier], |r| r.get(0))
            .optional()?
        {
            return Ok(Some(p));
        }
    }
    let email = identifier.trim().to_lowercase();
    Ok(stmt
        .query_row(params![ws, IdentityKind::Email.code(), email], |r| r.get(0))
        .optional()?)
}

fn identities_of(c: &Connection, ws: WorkspaceId, person: PersonId) -> Result<Vec<Identity>> {
    let mut stmt = c.prepare_cached(
        "SELECT kind, value, person_id, first_seen FROM identities WHERE workspace_id = ?1 AND person_id = ?2 ORDER BY first_seen, kind, value",
    )?;
    let rows = stmt.query_map(params![ws, person], identity_from_row)?;
    Ok(rows
        .filter_map(|r| r.transpose())
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

fn identity_from_row(r: &rusqlite::Row) -> rusqlite::Result<Option<Identity>> {
    let Some(kind) = IdentityKind::from_code(r.get(0)?) else {
        return Ok(None);
    };
    Ok(Some(Identity {
        kind,
        value: r.get(1)?,
        person: r.get(2)?,
        first_seen: r.get(3)?,
    }))
}

/// A person's events: those whose actor (userId, else anonymousId) is one of the
/// person's user or anonymous identities. Reads the actor filters of the workspace's
/// blocks, then decodes the blocks that may hold the person.
pub fn person_events(
    c: &Connection,
    ws: WorkspaceId,
    person: PersonId,
) -> Result<Vec<StoredEvent>> {
    let mut events = Vec::new();
    for_each_person_row(c, ws, person, &mut Vec::new(), |id, row| {
        events.push(stored_event(id, row)?);
        Ok(())
    })?;
    events.sort_by_key(|e| (e.event.timestamp, e.seq));
    Ok(events)
}

/// Calls `f` with the block and row of each of a person's events (block by block, in
/// sequence order within one); `raw` is the caller's buffer.
fn for_each_person_row(
    c: &Connection,
    ws: WorkspaceId,
    person: PersonId,
    raw: &mut Vec<u8>,
    mut f: impl FnMut(i64, &Row) -> Result<()>,
) -> Result<()> {
    let actors = blocks::Actors::of(
        identities_of(c, ws, person)?
            .into_iter()
            .map(|i| (i.kind, i.value)),
    );
    for id in blocks::blocks_with_actors(c, ws, &actors)? {
        for_each_row(c, id, raw, |row| match actors.holds(row) {
            true => f(id, row),
            false => Ok(()),
        })?;
    }
    Ok(())
}

/// A page of a person's events: a first pass notes each event's time, sequence number
/// and block (24 bytes an event), the page is chosen among them, and a second pass reads
/// whole only its events, from only their blocks.
pub fn person_timeline(
    c: &Connection,
    ws: WorkspaceId,
    person: PersonId,
    page: TimelinePage,
) -> Result<Timeline> {
    let mut keys: Vec<(i64, i64, i64)> = Vec::new();
    let mut raw = Vec::new();
    for_each_person_row(c, ws, person, &mut raw, |id, row| {
        keys.push((row.ts, row.seq, id));
        Ok(())
    })?;
    keys.sort_unstable();
    let total = keys.len() as u64;
    if page.latest_first {
        keys.reverse();
    }
    let chosen = keys
        .get(page.offset.min(keys.len())..)
        .unwrap_or_default()
        .iter()
        .take(page.limit);
    // The page's blocks, each read once, and the sequence numbers wanted from each.
    let mut wanted: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for &(_, seq, id) in chosen.clone() {
        wanted.entry(id).or_default().push(seq);
    }
    let mut events = HashMap::with_capacity(page.limit.min(keys.len()));
    for (id, mut seqs) in wanted {
        seqs.sort_unstable();
        for_each_row(c, id, &mut raw, |row| {
            if seqs.binary_search(&row.seq).is_ok() {
                events.insert(row.seq, stored_event(id, row)?);
            }
            Ok(())
        })?;
    }
    let events = chosen
        .filter_map(|(_, seq, _)| events.remove(seq))
        .collect();
    Ok(Timeline { total, events })
}

/// Calls `f` with every row of one block, in sequence order; `raw` is the caller's
/// buffer, reused from block to block.
fn for_each_row(
    c: &Connection,
    id: i64,
    raw: &mut Vec<u8>,
    mut f: impl FnMut(&Row) -> Result<()>,
) -> Result<()> {
    c.prepare_cached("SELECT data FROM event_blocks WHERE id = ?1")?
        .query_row([id], |r| {
            let data = r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
            Ok(blocks::decompress_into(id, data, raw))
        })??;
    for row in blocks::rows(id, raw, &[]) {
        f(&row?)?;
    }
    Ok(())
}

pub fn person(c: &Connection, ws: WorkspaceId, person: PersonId) -> Result<Option<PersonRecord>> {
    // A person is one while it has identities: a merged person's row stays, without.
    let exists = c
        .prepare_cached(
            "SELECT 1 FROM identities INDEXED BY identities_person WHERE workspace_id = ?1 AND person_id = ?2 LIMIT 1",
        )?
        .query_row(params![ws, person], |_| Ok(()))
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    let damaged =
        |e: serde_json::Error| StoreError::Corrupt(format!("the traits of person {person}: {e}"));
    let traits: Map<String, Value> = match c
        .prepare_cached(
            "SELECT traits FROM person_traits WHERE workspace_id = ?1 AND person_id = ?2",
        )?
        .query_row(params![ws, person], |r| r.get::<_, String>(0))
        .optional()?
    {
        Some(text) => plain_object(&text).map_err(damaged)?,
        None => Map::new(),
    };
    // The latest changes, read from the latest observation back (each holds one change
    // or more), then put by trait, then time.
    let mut trait_history = Vec::new();
    let mut stmt = c.prepare_cached(
        "SELECT observed_at, changes FROM trait_history INDEXED BY trait_history_observed
         WHERE workspace_id = ?1 AND person_id = ?2 ORDER BY observed_at DESC, rowid DESC LIMIT ?3",
    )?;
    let mut rows = stmt.query(params![ws, person, TRAIT_HISTORY_KEPT as i64])?;
    let mut observations = 0;
    while let Some(r) = rows.next()? {
        if trait_history.len() >= TRAIT_HISTORY_KEPT {
            break;
        }
        observations += 1;
        let observed_at: Micros = r.get(0)?;
        let changes = plain_object(r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?)
            .map_err(damaged)?;
        let room = TRAIT_HISTORY_KEPT - trait_history.len();
        // An observation's changes in the order written, the ones left out its first.
        let skip = changes.len().saturating_sub(room);
        let kept = changes.into_iter().skip(skip).rev();
        trait_history.extend(kept.map(|(key, value)| TraitChange {
            key,
            value,
            observed_at,
        }));
    }
    trait_history.reverse();
    // By trait, then time (the sort is stable: changes at one time keep their order).
    trait_history.sort_by(|a, b| a.key.cmp(&b.key));
    // Fewer observations than asked for and room left: there are no others.
    let whole = observations < TRAIT_HISTORY_KEPT && trait_history.len() < TRAIT_HISTORY_KEPT;
    let trait_history_total = if whole {
        trait_history.len() as u64
    } else {
        c.prepare_cached(
            "SELECT count(*) FROM trait_history t, json_each(t.changes)
             WHERE t.workspace_id = ?1 AND t.person_id = ?2",
        )?
        .query_row(params![ws, person], |r| r.get::<_, i64>(0))? as u64
    };
    let mut stmt = c.prepare_cached(
        "SELECT m.group_id, g.kind, g.parent_id, g.traits, m.since FROM memberships m INDEXED BY memberships_person
         LEFT JOIN groups g ON g.workspace_id = m.workspace_id AND g.group_id = m.group_id
         WHERE m.workspace_id = ?1 AND m.person_id = ?2 ORDER BY m.since",
    )?;
    let groups = stmt
        .query_map(params![ws, person], |r| {
            let traits: Option<String> = r.get(3)?;
            Ok(GroupMembership {
                group_id: r.get(0)?,
                kind: r
                    .get::<_, Option<String>>(1)?
                    .unwrap_or_else(|| "account".into()),
                parent_id: r.get(2)?,
                traits: traits
                    .and_then(|t| plain_object(&t).ok())
                    .unwrap_or_default(),
                since: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut identities = identities_of(c, ws, person)?;
    let identities_total = identities.len() as u64;
    if identities.len() > IDENTITIES_KEPT {
        // Every userId and email, then the anonymousIds seen last; by first sight again.
        identities.sort_by_key(|i| {
            (
                i.kind == IdentityKind::AnonymousId,
                std::cmp::Reverse(i.first_seen),
            )
        });
        identities.truncate(IDENTITIES_KEPT);
        identities.sort_by(|a, b| {
            (a.first_seen, a.kind.code(), &a.value).cmp(&(b.first_seen, b.kind.code(), &b.value))
        });
    }
    Ok(Some(PersonRecord {
        id: person,
        identities,
        identities_total,
        traits,
        trait_history,
        trait_history_total,
        groups,
    }))
}

/// Events with `from <= ts < to`, in (ts, seq) order: the blocks whose time span meets
/// the range are decoded, their events in the range gathered and sorted. The range is
/// held in memory (only tests read whole workspaces this way: exports stream with
/// `scan_events`, analyses read frames).
pub fn scan_time_range(
    c: &Connection,
    ws: WorkspaceId,
    from: Micros,
    to: Micros,
    f: &mut dyn FnMut(StoredEvent),
) -> Result<()> {
    if from >= to {
        return Ok(());
    }
    let ids: Vec<i64> = c
        .prepare_cached(
            "SELECT id FROM event_blocks INDEXED BY event_blocks_workspace WHERE workspace_id = ?1 AND min_ts < ?3 AND max_ts >= ?2 ORDER BY last_seq",
        )?
        .query_map(params![ws, from, to], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut events = Vec::new();
    let mut raw = Vec::new();
    for id in ids {
        for_each_row(c, id, &mut raw, |row| {
            if from <= row.ts && row.ts < to {
                events.push(stored_event(id, row)?);
            }
            Ok(())
        })?;
    }
    events.sort_by_key(|e| (e.event.timestamp, e.seq));
    events.into_iter().for_each(f);
    Ok(())
}

pub fn identity_map(c: &Connection, ws: WorkspaceId, f: &mut dyn FnMut(Identity)) -> Result<()> {
    let mut stmt = c.prepare_cached(
        "SELECT kind, value, person_id, first_seen FROM identities WHERE workspace_id = ?1",
    )?;
    for row in stmt.query_map(params![ws], identity_from_row)? {
        if let Some(identity) = row? {
            f(identity);
        }
    }
    Ok(())
}

/// The workspace's blocks holding events after `after_seq`, in sequence order.
fn blocks_after(c: &Connection, ws: WorkspaceId, after_seq: i64) -> Result<Vec<i64>> {
    Ok(c.prepare_cached(
        "SELECT id FROM event_blocks INDEXED BY event_blocks_workspace WHERE workspace_id = ?1 AND last_seq > ?2 ORDER BY last_seq",
    )?
    .query_map(params![ws, after_seq], |r| r.get(0))?
    .collect::<rusqlite::Result<_>>()?)
}

/// Events after `after_seq`, in sequence order, one block in memory at a time.
pub fn scan_events(
    c: &Connection,
    ws: WorkspaceId,
    after_seq: i64,
    f: &mut dyn FnMut(StoredEvent),
) -> Result<()> {
    let mut raw = Vec::new();
    for id in blocks_after(c, ws, after_seq)? {
        for_each_row(c, id, &mut raw, |r| {
            if r.seq > after_seq {
                f(stored_event(id, r)?);
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Where a frame property is read: a normalised column, or a path into `context`,
/// `traits` or (anything else) the properties; dots go down into objects.
enum Source {
    /// `$source`, `$medium`, `$term`, `$content` (the campaign's UTM fields),
    /// `$currency`: text columns.
    Text(for<'r> fn(&Row<'r>) -> Option<&'r str>),
    /// `$revenue`.
    Revenue,
    /// (0 properties, 1 traits, 2 context; the keys of the path)
    Json(usize, Vec<String>),
}

fn source(key: &str) -> Source {
    match key {
        "$source" => return Source::Text(|r| r.utm_source),
        "$medium" => return Source::Text(|r| r.utm_medium),
        "$term" => return Source::Text(|r| r.utm_term),
        "$content" => return Source::Text(|r| r.utm_content),
        "$currency" => return Source::Text(|r| r.currency),
        "$revenue" => return Source::Revenue,
        _ => {}
    }
    let (column, rest) = match key.split_once('.') {
        Some(("context", rest)) => (2, rest),
        Some(("traits", rest)) => (1, rest),
        _ => (0, key),
    };
    Source::Json(column, rest.split('.').map(str::to_string).collect())
}

/// Events after `after_seq`, in sequence order, with only what analysis frames keep:
/// the workspace's blocks from the first that holds a later event, decoded one by one.
/// A JSON column is parsed once per event, and only when a requested property is in it.
pub fn scan_for_frame(
    c: &Connection,
    ws: WorkspaceId,
    after_seq: i64,
    properties: &[String],
    f: &mut dyn FnMut(&FrameEvent),
) -> Result<()> {
    let sources: Vec<Source> = properties.iter().map(|k| source(k)).collect();
    let mut values = Vec::with_capacity(properties.len());
    let mut raw = Vec::new();
    for id in blocks_after(c, ws, after_seq)? {
        for_each_row(c, id, &mut raw, |r| {
            if r.seq <= after_seq {
                return Ok(());
            }
            let mut parsed: [Option<Value>; 3] = [None, None, None];
            values.clear();
            for source in &sources {
                values.push(match source {
                    Source::Text(column) => {
                        column(r).map_or(Value::Null, |t| Value::String(t.to_string()))
                    }
                    Source::Revenue => r.revenue.map_or(Value::Null, Value::from),
                    Source::Json(column, path) => {
                        let json = parsed[*column].get_or_insert_with(|| {
                            [r.properties, r.traits, r.context][*column]
                                .and_then(|t| plain_value(t).ok())
                                .unwrap_or(Value::Null)
                        });
                        path.iter()
                            .try_fold(&*json, |v, k| v.get(k))
                            .cloned()
                            .unwrap_or(Value::Null)
                    }
                });
            }
            f(&FrameEvent {
                seq: r.seq,
                kind: parcours_core::EventKind::parse(r.kind)
                    .unwrap_or(parcours_core::EventKind::Track),
                name: r.name,
                user_id: r.user_id,
                anonymous_id: r.anonymous_id,
                group_id: r.group_id,
                ts: r.ts,
                channel: r.channel,
                campaign: r.campaign,
                touchpoint: r.touchpoint,
                properties: &values,
            });
            Ok(())
        })?;
    }
    Ok(())
}

pub fn groups(c: &Connection, ws: WorkspaceId) -> Result<Vec<GroupRecord>> {
    let mut stmt = c.prepare_cached(
        "SELECT group_id, kind, parent_id, traits FROM groups WHERE workspace_id = ?1",
    )?;
    let rows = stmt.query_map(params![ws], |r| {
        let traits: String = r.get(3)?;
        Ok(GroupRecord {
            group_id: r.get(0)?,
            kind: r.get(1)?,
            parent_id: r.get(2)?,
            traits: plain_object(&traits).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn memberships(
    c: &Connection,
    ws: WorkspaceId,
    f: &mut dyn FnMut(PersonId, &str, Micros),
) -> Result<()> {
    let mut stmt = c.prepare_cached(
        "SELECT person_id, group_id, since FROM memberships WHERE workspace_id = ?1",
    )?;
    let mut rows = stmt.query(params![ws])?;
    while let Some(r) = rows.next()? {
        f(
            r.get(0)?,
            r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?,
            r.get(2)?,
        );
    }
    Ok(())
}

/// Calls `f` with each person of the workspace that has trait `key`, and its value.
pub fn trait_values(
    c: &Connection,
    ws: WorkspaceId,
    key: &str,
    f: &mut dyn FnMut(PersonId, Value),
) -> Result<()> {
    let mut stmt =
        c.prepare_cached("SELECT person_id, traits FROM person_traits WHERE workspace_id = ?1")?;
    let mut rows = stmt.query(params![ws])?;
    while let Some(r) = rows.next()? {
        let person: PersonId = r.get(0)?;
        let text = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
        let value = parcours_core::view::field(text, key)
            .map_err(|e| StoreError::Corrupt(format!("the traits of person {person}: {e}")))?;
        if let Some(value) = value {
            f(person, value);
        }
    }
    Ok(())
}

const JOURNEY_COLUMNS: &str = "id, name, definition, created_at, updated_at";

fn journey_from_row(r: &rusqlite::Row) -> rusqlite::Result<JourneyRecord> {
    let text: String = r.get(2)?;
    Ok(JourneyRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        definition: serde_json::from_str(&text).unwrap_or(Value::Null),
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

pub fn journeys(c: &Connection, ws: WorkspaceId) -> Result<Vec<JourneyRecord>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {JOURNEY_COLUMNS} FROM journeys INDEXED BY journeys_name WHERE workspace_id = ?1 ORDER BY name"
    ))?;
    let rows = stmt.query_map(params![ws], journey_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn journey(c: &Connection, ws: WorkspaceId, id: i64) -> Result<Option<JourneyRecord>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {JOURNEY_COLUMNS} FROM journeys WHERE id = ?2 AND workspace_id = ?1"
    ))?;
    Ok(stmt
        .query_row(params![ws, id], journey_from_row)
        .optional()?)
}
