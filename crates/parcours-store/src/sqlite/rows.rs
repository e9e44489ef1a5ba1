//! Encoding events and keys to rows and back.

use parcours_core::{Campaign, Event, EventKind, Touch};
use rusqlite::{params, CachedStatement, Row};
use serde_json::{Map, Value};

use crate::keys::Scope;
use crate::types::{KeyInfo, StoredEvent, WorkspaceId};
use crate::Result;

pub const INSERT_EVENT: &str = "INSERT OR IGNORE INTO events (
    workspace_id, message_id, kind, name, user_id, anonymous_id, group_id, previous_id,
    ts, original_ts, sent_at, received_at, channel, campaign, utm_source, utm_medium,
    utm_term, utm_content, touchpoint, revenue, currency, online, properties, traits, context)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24, ?25)";

/// The columns `event_from_row` reads, in order.
pub const EVENT_COLUMNS: &str =
    "id, message_id, kind, name, user_id, anonymous_id, group_id, previous_id,
    ts, original_ts, sent_at, received_at, channel, campaign, utm_source, utm_medium, utm_term,
    utm_content, touchpoint, revenue, currency, online, properties, traits, context";

/// An event ready for the writer: its JSON columns are serialised and its large maps
/// dropped on the caller's thread, so the single writer only binds and inserts.
pub struct Encoded {
    /// The event, with `properties` and `context` emptied (their text is below); `traits`
    /// is kept for identity stitching.
    pub event: Event,
    /// The lower-cased email the event declares, if any (see `Event::email`).
    pub email: Option<String>,
    properties: Option<String>,
    traits: Option<String>,
    context: Option<String>,
}

impl Encoded {
    pub fn new(mut event: Event) -> Encoded {
        let email = event.email().map(str::to_lowercase);
        let properties = json_text(&event.properties);
        let traits = json_text(&event.traits);
        let context = json_text(&event.context);
        event.properties = Map::new();
        event.context = Map::new();
        Encoded {
            event,
            email,
            properties,
            traits,
            context,
        }
    }
}

/// Inserts one event; `false` when its message id was already stored (a duplicate).
pub fn insert_event(
    stmt: &mut CachedStatement,
    workspace: WorkspaceId,
    row: &Encoded,
) -> Result<bool> {
    let e = &row.event;
    let c = &e.touch.campaign;
    let n = stmt.execute(params![
        workspace,
        e.message_id,
        e.kind.as_str(),
        e.name,
        e.user_id,
        e.anonymous_id,
        e.group_id,
        e.previous_id,
        e.timestamp,
        e.original_timestamp,
        e.sent_at,
        e.received_at,
        e.touch.channel,
        c.name,
        c.source,
        c.medium,
        c.term,
        c.content,
        e.touch.touchpoint,
        e.touch.revenue,
        e.touch.currency,
        e.touch.online,
        row.properties,
        row.traits,
        row.context,
    ])?;
    Ok(n == 1)
}

fn json_text(map: &Map<String, Value>) -> Option<String> {
    // Serialising a map cannot fail: keys are strings and values are JSON.
    (!map.is_empty()).then(|| serde_json::to_string(map).unwrap_or_default())
}

fn json_map(text: Option<String>) -> rusqlite::Result<Map<String, Value>> {
    match text {
        None => Ok(Map::new()),
        Some(t) => match serde_json::from_str(&t) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(rusqlite::Error::InvalidColumnType(
                0,
                "json object".into(),
                rusqlite::types::Type::Text,
            )),
        },
    }
}

pub fn event_from_row(r: &Row) -> rusqlite::Result<StoredEvent> {
    let kind: String = r.get(2)?;
    let kind = EventKind::parse(&kind).ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(2, "event kind".into(), rusqlite::types::Type::Text)
    })?;
    Ok(StoredEvent {
        seq: r.get(0)?,
        event: Event {
            message_id: r.get(1)?,
            kind,
            name: r.get(3)?,
            user_id: r.get(4)?,
            anonymous_id: r.get(5)?,
            group_id: r.get(6)?,
            previous_id: r.get(7)?,
            timestamp: r.get(8)?,
            original_timestamp: r.get(9)?,
            sent_at: r.get(10)?,
            received_at: r.get(11)?,
            touch: Touch {
                channel: r.get(12)?,
                campaign: Campaign {
                    name: r.get(13)?,
                    source: r.get(14)?,
                    medium: r.get(15)?,
                    term: r.get(16)?,
                    content: r.get(17)?,
                },
                touchpoint: r.get(18)?,
                revenue: r.get(19)?,
                currency: r.get(20)?,
                online: r.get(21)?,
            },
            properties: json_map(r.get(22)?)?,
            traits: json_map(r.get(23)?)?,
            context: json_map(r.get(24)?)?,
        },
    })
}

pub const KEY_COLUMNS: &str = "id, workspace_id, scope, prefix, label, created_at, revoked_at";

pub fn key_info(r: &Row) -> rusqlite::Result<KeyInfo> {
    let scope: String = r.get(2)?;
    Ok(KeyInfo {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        scope: Scope::parse(&scope).ok_or_else(|| {
            rusqlite::Error::InvalidColumnType(2, "scope".into(), rusqlite::types::Type::Text)
        })?,
        prefix: r.get(3)?,
        label: r.get(4)?,
        created_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}
