//! Queries on reader connections: identity resolution, timelines, scans.

use parcours_core::time::Micros;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::rows::{event_from_row, EVENT_COLUMNS};
use crate::types::*;
use crate::Result;

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
/// person's user or anonymous identities.
pub fn person_events(
    c: &Connection,
    ws: WorkspaceId,
    person: PersonId,
) -> Result<Vec<StoredEvent>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events
         WHERE workspace_id = ?1 AND (user_id IS NULL) = ?2 AND coalesce(user_id, anonymous_id) = ?3"
    ))?;
    let mut events = Vec::new();
    for identity in identities_of(c, ws, person)? {
        let anonymous = match identity.kind {
            IdentityKind::UserId => false,
            IdentityKind::AnonymousId => true,
            IdentityKind::Email => continue,
        };
        let rows = stmt.query_map(params![ws, anonymous, identity.value], event_from_row)?;
        for row in rows {
            events.push(row?);
        }
    }
    events.sort_by_key(|e| (e.event.timestamp, e.seq));
    Ok(events)
}

pub fn person(c: &Connection, ws: WorkspaceId, person: PersonId) -> Result<Option<PersonRecord>> {
    let exists = c
        .prepare_cached("SELECT 1 FROM persons WHERE workspace_id = ?1 AND id = ?2")?
        .query_row(params![ws, person], |_| Ok(()))
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    let mut traits = Map::new();
    let mut stmt = c.prepare_cached("SELECT key, value FROM person_traits WHERE workspace_id = ?1 AND person_id = ?2 ORDER BY key")?;
    for row in stmt.query_map(params![ws, person], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })? {
        let (k, v) = row?;
        traits.insert(k, serde_json::from_str(&v).unwrap_or(Value::String(v)));
    }
    let mut stmt = c.prepare_cached(
        "SELECT key, value, observed_at FROM trait_history WHERE workspace_id = ?1 AND person_id = ?2 ORDER BY key, observed_at",
    )?;
    let trait_history = stmt
        .query_map(params![ws, person], |r| {
            let v: String = r.get(1)?;
            Ok(TraitChange {
                key: r.get(0)?,
                value: serde_json::from_str(&v).unwrap_or(Value::String(v)),
                observed_at: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
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
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
                since: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(PersonRecord {
        id: person,
        identities: identities_of(c, ws, person)?,
        traits,
        trait_history,
        groups,
    }))
}

/// Width of the time buckets of the `events_week` index, in microseconds.
const WEEK: Micros = 7 * parcours_core::time::MICROS_PER_DAY;

/// Events with `from <= ts < to`, in (ts, id) order: one indexed query per week of the
/// range, each sorted on its own. Event times are never before 1990 nor after their
/// receipt, which bounds the weeks to visit.
pub fn scan_time_range(
    c: &Connection,
    ws: WorkspaceId,
    from: Micros,
    to: Micros,
    f: &mut dyn FnMut(StoredEvent),
) -> Result<()> {
    let latest = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as Micros)
        .unwrap_or(Micros::MAX)
        .saturating_add(WEEK);
    let from = from.max(parcours_core::time::EARLIEST_EVENT);
    let to = to.min(latest);
    if from >= to {
        return Ok(());
    }
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events INDEXED BY events_week
         WHERE workspace_id = ?1 AND ts / 604800000000 = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts, id"
    ))?;
    for week in from / WEEK..=(to - 1) / WEEK {
        for row in stmt.query_map(params![ws, week, from, to], event_from_row)? {
            f(row?);
        }
    }
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

/// The JSON column and path a frame property reads: `context.x` and `traits.x` read
/// those objects, anything else the properties; dots go down into objects.
fn property_path(key: &str) -> (&'static str, String) {
    let (column, rest) = match key.split_once('.') {
        Some(("context", rest)) => ("context", rest),
        Some(("traits", rest)) => ("traits", rest),
        _ => ("properties", key),
    };
    let mut path = String::from("$");
    for part in rest.split('.') {
        path.push_str(".\"");
        path.push_str(&part.replace('"', "\\\""));
        path.push('"');
    }
    (column, path)
}

/// The normalised columns analyses may read as properties: `$source`, `$medium`,
/// `$term`, `$content` (the campaign's UTM fields), `$revenue`, `$currency`.
fn normalised_column(key: &str) -> Option<&'static str> {
    Some(match key {
        "$source" => "utm_source",
        "$medium" => "utm_medium",
        "$term" => "utm_term",
        "$content" => "utm_content",
        "$revenue" => "revenue",
        "$currency" => "currency",
        _ => return None,
    })
}

/// Events after `after_seq`, in insertion order, with only what analysis frames keep.
/// The walk follows the rowid (sequential pages, the fastest read SQLite has) and skips
/// other workspaces' rows as it goes; the week index would add a sort of the whole
/// workspace.
pub fn scan_for_frame(
    c: &Connection,
    ws: WorkspaceId,
    after_seq: i64,
    properties: &[String],
    f: &mut dyn FnMut(&FrameEvent),
) -> Result<()> {
    let mut extra = String::new();
    let mut paths = Vec::new();
    for (i, key) in properties.iter().enumerate() {
        if let Some(column) = normalised_column(key) {
            // json_quote never answers NULL, so the parameter is only there to keep the
            // numbering of the others.
            extra.push_str(&format!(", coalesce(json_quote({column}), ?{})", i + 3));
            paths.push(String::new());
            continue;
        }
        let (column, path) = property_path(key);
        extra.push_str(&format!(", {column} -> ?{}", i + 3));
        paths.push(path);
    }
    let sql = "SELECT id, kind, name, user_id, anonymous_id, group_id, ts, channel, campaign, touchpoint{props} FROM events NOT INDEXED WHERE id > ?2 AND workspace_id = ?1 ORDER BY id";
    let mut stmt = c.prepare(&sql.replace("{props}", &extra))?;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&ws, &after_seq];
    params.extend(paths.iter().map(|p| p as &dyn rusqlite::ToSql));
    let mut rows = stmt.query(params.as_slice())?;
    let mut values = Vec::with_capacity(properties.len());
    while let Some(r) = rows.next()? {
        let text = |i: usize| -> Result<Option<&str>> {
            Ok(r.get_ref(i)?
                .as_str_or_null()
                .map_err(rusqlite::Error::from)?)
        };
        values.clear();
        for i in 0..properties.len() {
            values.push(match text(10 + i)? {
                Some(json) => serde_json::from_str(json).unwrap_or(Value::Null),
                None => Value::Null,
            });
        }
        let kind = text(1)?.and_then(parcours_core::EventKind::parse);
        let event = FrameEvent {
            seq: r.get(0)?,
            kind: kind.unwrap_or(parcours_core::EventKind::Track),
            name: text(2)?.unwrap_or(""),
            user_id: text(3)?,
            anonymous_id: text(4)?,
            group_id: text(5)?,
            ts: r.get(6)?,
            channel: text(7)?.unwrap_or(""),
            campaign: text(8)?,
            touchpoint: text(9)?.unwrap_or(""),
            properties: &values,
        };
        f(&event);
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
            traits: serde_json::from_str(&traits).unwrap_or_default(),
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

pub fn trait_values(
    c: &Connection,
    ws: WorkspaceId,
    key: &str,
    f: &mut dyn FnMut(PersonId, Value),
) -> Result<()> {
    let mut stmt = c.prepare_cached(
        "SELECT person_id, value FROM person_traits WHERE workspace_id = ?1 AND key = ?2",
    )?;
    let mut rows = stmt.query(params![ws, key])?;
    while let Some(r) = rows.next()? {
        let v: String = r.get(1)?;
        f(
            r.get(0)?,
            serde_json::from_str(&v).unwrap_or(Value::String(v)),
        );
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
