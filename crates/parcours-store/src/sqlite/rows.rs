//! Encoding events and keys to rows and back.

use parcours_core::time::Micros;
use parcours_core::view::plain_object;
use parcours_core::{Campaign, Event, EventKind, JsonObject, Touch};
use rusqlite::Row as SqlRow;

use crate::keys::Scope;
use crate::types::{IdentityKind, KeyInfo, StoredEvent, WorkspaceId};
use crate::{Result, StoreError};

use super::blocks::{self, Row};
use super::identity::{key_of, Id};

/// An event ready for the writer, made on the caller's thread: its fields encoded as a
/// block holds them, its message hashed, and of the rest only what identity stitching
/// reads. The event itself is dropped where it was made, so the single writer neither
/// encodes it field by field nor frees its many strings. Its encoded fields are in the
/// buffer of its [`Encodeds`], with those of the other events of its chunk.
pub struct Encoded {
    /// See [`blocks::message_hash`].
    pub hash: u128,
    /// The lower-cased email the event declares, if any (see `Event::email`).
    pub email: Option<String>,
    pub kind: EventKind,
    pub timestamp: Micros,
    /// Where the user, anonymous, group and previous ids are in the bodies, which hold
    /// them already: read there rather than kept as strings of their own, which the
    /// writer would free (allocated on another thread) after the commit.
    ids: [Option<(usize, usize)>; 4],
    /// The traits of an identify or group call (what stitching applies), empty for other
    /// calls. An identify's are kept as their text when they came as one: a person's
    /// first traits are stored as that text, and only a later identify of the same
    /// person reads them as a map (on the writer). A group call's are a map, built here.
    pub traits: JsonObject,
    /// [`blocks::actor_hash`] of the event's actor, for the block's filter.
    pub(super) actor_key: Option<u64>,
    /// The identity cache keys of the identifiers above, in the order of [`Ids`].
    keys: [u128; 5],
    /// Where the event's fields after its sequence number (see [`blocks::put_body`]) are
    /// in the bodies.
    body: (usize, usize),
}

/// Events made ready for the writer, their encoded fields one after the other in one
/// buffer: the writer reads them in order, and frees one allocation per chunk rather than
/// one per event (allocated on another thread, which costs a cache miss or two each).
#[derive(Default)]
pub struct Encodeds {
    bodies: Vec<u8>,
    events: Vec<Encoded>,
}

/// Bytes reserved per event of a chunk, about what a demo event's fields take.
const BODY_BYTES: usize = 384;

impl Encodeds {
    pub fn with_capacity(events: usize) -> Encodeds {
        Encodeds {
            bodies: Vec::with_capacity(events * BODY_BYTES),
            events: Vec::with_capacity(events),
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = EncodedRef<'_>> {
        self.events.iter().map(|event| EncodedRef {
            event,
            bodies: &self.bodies,
        })
    }

    pub fn push(&mut self, workspace: WorkspaceId, mut event: Event) {
        let email = event.email();
        let stitched = matches!(event.kind, EventKind::Identify | EventKind::Group);
        let properties = std::mem::take(&mut event.properties).into_text();
        let context = std::mem::take(&mut event.context).into_text();
        let (traits, traits_text) = if stitched {
            let text = event.traits.to_text();
            let traits = std::mem::take(&mut event.traits);
            if event.kind == EventKind::Group {
                // Every group call reads its traits as a map: built on this thread.
                traits.build_map();
            }
            (traits, text)
        } else {
            (
                JsonObject::default(),
                std::mem::take(&mut event.traits).into_text(),
            )
        };
        let row = Row::of_event(
            &event,
            properties.as_deref(),
            traits_text.as_deref(),
            context.as_deref(),
        );
        let start = self.bodies.len();
        let ids = blocks::put_body(&mut self.bodies, &row);
        let actor_key = row
            .actor()
            .map(|(anonymous, id)| blocks::actor_hash(anonymous, id));
        let key = |kind: IdentityKind, value: Option<&str>| value.map_or(0, |v| key_of(kind, v));
        let previous = event.previous_id.as_deref();
        let keys = [
            key(IdentityKind::UserId, event.user_id.as_deref()),
            key(IdentityKind::AnonymousId, event.anonymous_id.as_deref()),
            key(IdentityKind::Email, email.as_deref()),
            key(IdentityKind::UserId, previous),
            key(IdentityKind::AnonymousId, previous),
        ];
        self.events.push(Encoded {
            hash: blocks::message_hash(workspace, &event.message_id),
            email,
            kind: event.kind,
            timestamp: event.timestamp,
            ids,
            traits,
            actor_key,
            keys,
            body: (start, self.bodies.len()),
        });
    }
}

/// An event of an [`Encodeds`], with the buffer its fields are in.
#[derive(Clone, Copy)]
pub struct EncodedRef<'a> {
    event: &'a Encoded,
    bodies: &'a [u8],
}

impl std::ops::Deref for EncodedRef<'_> {
    type Target = Encoded;

    fn deref(&self) -> &Encoded {
        self.event
    }
}

impl<'a> EncodedRef<'a> {
    /// The event's fields after its sequence number (see [`blocks::put_body`]).
    pub fn body(self) -> &'a [u8] {
        &self.bodies[self.event.body.0..self.event.body.1]
    }

    /// The event's identifiers, with their identity cache keys.
    pub fn ids(self) -> Ids<'a> {
        fn id(kind: IdentityKind, value: Option<&[u8]>, key: u128) -> Option<Id<'_>> {
            value.map(|value| Id::encoded(kind, value, key))
        }
        let (e, previous) = (self.event, self.id_bytes(3));
        Ids {
            user: id(IdentityKind::UserId, self.id_bytes(0), e.keys[0]),
            anonymous: id(IdentityKind::AnonymousId, self.id_bytes(1), e.keys[1]),
            email: id(
                IdentityKind::Email,
                e.email.as_deref().map(str::as_bytes),
                e.keys[2],
            ),
            previous_as_user: id(IdentityKind::UserId, previous, e.keys[3]),
            previous_as_anon: id(IdentityKind::AnonymousId, previous, e.keys[4]),
        }
    }

    fn id_bytes(self, which: usize) -> Option<&'a [u8]> {
        let (start, end) = self.event.ids[which]?;
        self.bodies.get(start..end)
    }

    pub fn group_id(self) -> Option<&'a str> {
        // The body was encoded from the event's strings: always UTF-8.
        std::str::from_utf8(self.id_bytes(2)?).ok()
    }
}

/// What identity stitching looks an event up by.
pub struct Ids<'a> {
    pub user: Option<Id<'a>>,
    pub anonymous: Option<Id<'a>>,
    pub email: Option<Id<'a>>,
    /// An alias's previousId, as a userId and as an anonymousId.
    pub previous_as_user: Option<Id<'a>>,
    pub previous_as_anon: Option<Id<'a>>,
}

fn json_map(block: i64, text: Option<&str>) -> Result<JsonObject> {
    match text.map(plain_object) {
        None => Ok(JsonObject::default()),
        Some(Ok(m)) => Ok(m.into()),
        Some(Err(_)) => Err(StoreError::Corrupt(format!(
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
