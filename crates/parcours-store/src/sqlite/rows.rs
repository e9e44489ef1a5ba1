//! Encoding events and keys to rows and back.

use parcours_core::{Campaign, Event, EventKind, JsonObject, Touch};
use rusqlite::Row as SqlRow;
use serde_json::Value;

use crate::keys::Scope;
use crate::types::{KeyInfo, StoredEvent, WorkspaceId};
use crate::{Result, StoreError};

use super::blocks::{self, Row};

/// An event ready for the writer: its JSON columns are serialised, its message hashed and
/// its large maps dropped on the caller's thread, so the single writer only encodes.
pub struct Encoded {
    /// The event, with `properties` and `context` emptied (their text is below); `traits`
    /// is kept for identity stitching.
    pub event: Event,
    /// The lower-cased email the event declares, if any (see `Event::email`).
    pub email: Option<String>,
    /// See [`blocks::message_hash`].
    pub hash: u128,
    pub(super) properties: Option<String>,
    pub(super) traits: Option<String>,
    pub(super) context: Option<String>,
}

impl Encoded {
    pub fn new(workspace: WorkspaceId, mut event: Event) -> Encoded {
        let email = event.email().map(str::to_lowercase);
        let properties = std::mem::take(&mut event.properties).into_text();
        let traits = event.traits.to_text();
        let context = std::mem::take(&mut event.context).into_text();
        Encoded {
            hash: blocks::message_hash(workspace, &event.message_id),
            event,
            email,
            properties,
            traits,
            context,
        }
    }
}

fn json_map(block: i64, text: Option<&str>) -> Result<JsonObject> {
    match text.map(serde_json::from_str) {
        None => Ok(JsonObject::default()),
        Some(Ok(Value::Object(m))) => Ok(m.into()),
        Some(_) => Err(StoreError::Corrupt(format!(
            "event block {block}: a JSON column is not an object"
        ))),
    }
}

/// The stored event of a block's row.
pub fn stored_event(block: i64, r: &Row) -> Result<StoredEvent> {
    let kind = EventKind::parse(r.kind).ok_or_else(|| {
        StoreError::Corrupt(format!("event block {block}: unknown kind `{}`", r.kind))
    })?;
    let text = |s: Option<&str>| s.map(str::to_string);
    Ok(StoredEvent {
        seq: r.seq,
        event: Event {
            message_id: r.message_id.to_string(),
            kind,
            name: r.name.to_string(),
            user_id: text(r.user_id),
            anonymous_id: text(r.anonymous_id),
            group_id: text(r.group_id),
            previous_id: text(r.previous_id),
            timestamp: r.ts,
            original_timestamp: r.original_ts,
            sent_at: r.sent_at,
            received_at: r.received_at,
            touch: Touch {
                channel: r.channel.to_string(),
                campaign: Campaign {
                    name: text(r.campaign),
                    source: text(r.utm_source),
                    medium: text(r.utm_medium),
                    term: text(r.utm_term),
                    content: text(r.utm_content),
                },
                touchpoint: r.touchpoint.to_string(),
                revenue: r.revenue,
                currency: text(r.currency),
                online: r.online,
            },
            properties: json_map(block, r.properties)?,
            traits: json_map(block, r.traits)?,
            context: json_map(block, r.context)?,
        },
    })
}

pub const KEY_COLUMNS: &str = "id, workspace_id, scope, prefix, label, created_at, revoked_at";

pub fn key_info(r: &SqlRow) -> rusqlite::Result<KeyInfo> {
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
