//! Values that cross the store boundary.

use parcours_core::time::Micros;
use parcours_core::Event;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::keys::Scope;

pub type WorkspaceId = i64;
pub type PersonId = i64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    #[serde(serialize_with = "parcours_core::time::rfc3339")]
    pub created_at: Micros,
}

/// A key as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub scope: Scope,
    /// The first characters of the key, enough to recognise it.
    pub prefix: String,
    pub label: Option<String>,
    #[serde(serialize_with = "parcours_core::time::rfc3339")]
    pub created_at: Micros,
    #[serde(serialize_with = "parcours_core::time::rfc3339_or_null")]
    pub revoked_at: Option<Micros>,
}

/// What one append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AppendOutcome {
    /// Events written.
    pub inserted: usize,
    /// Events skipped because their message id was already stored.
    pub duplicates: usize,
    /// Identify calls whose anonymousId already belonged to another identified person
    /// (shared device): recorded, not merged.
    pub shared_device_conflicts: usize,
}

/// An event as stored, with its insertion sequence number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    #[serde(flatten)]
    pub event: Event,
}

/// Which events of a person's timeline to read: `limit` of them from the `offset`-th on,
/// by time then sequence number, the latest first when `latest_first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelinePage {
    pub offset: usize,
    pub limit: usize,
    pub latest_first: bool,
}

/// A page of a person's timeline, and how many events the person has.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub total: u64,
    pub events: Vec<StoredEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    UserId,
    AnonymousId,
    Email,
}

impl IdentityKind {
    pub fn code(self) -> i64 {
        match self {
            IdentityKind::UserId => 1,
            IdentityKind::AnonymousId => 2,
            IdentityKind::Email => 3,
        }
    }

    pub fn from_code(code: i64) -> Option<IdentityKind> {
        match code {
            1 => Some(IdentityKind::UserId),
            2 => Some(IdentityKind::AnonymousId),
            3 => Some(IdentityKind::Email),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub kind: IdentityKind,
    pub value: String,
    pub person: PersonId,
    #[serde(serialize_with = "parcours_core::time::rfc3339")]
    pub first_seen: Micros,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraitChange {
    pub key: String,
    pub value: Value,
    #[serde(serialize_with = "parcours_core::time::rfc3339")]
    pub observed_at: Micros,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMembership {
    pub group_id: String,
    /// `account`, `deal`, or another kind the client named.
    pub kind: String,
    pub parent_id: Option<String>,
    pub traits: Map<String, Value>,
    #[serde(serialize_with = "parcours_core::time::rfc3339")]
    pub since: Micros,
}

/// Everything parcours knows about one person, but their events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonRecord {
    pub id: PersonId,
    /// The person's identities by first sight: every userId and email, and the
    /// anonymousIds seen last, [`IDENTITIES_KEPT`] in all at most.
    pub identities: Vec<Identity>,
    /// How many identities the person has in all.
    pub identities_total: u64,
    pub traits: Map<String, Value>,
    /// The latest [`TRAIT_HISTORY_KEPT`] changes of the person's traits, by trait then
    /// time (all of them when there are no more).
    pub trait_history: Vec<TraitChange>,
    /// How many changes there are in all.
    pub trait_history_total: u64,
    pub groups: Vec<GroupMembership>,
}

/// How many identities a [`PersonRecord`] holds. A server that sends a new anonymousId
/// with each call of a user gives them one identity an event.
pub const IDENTITIES_KEPT: usize = 1_000;

/// How many of a person's latest trait changes a [`PersonRecord`] holds. An app that
/// sends `identify` with a `last_seen` trait on every page adds a change each time: a
/// record holding them all grew without bound (12 MB for 100,000).
pub const TRAIT_HISTORY_KEPT: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    pub erasure_id: i64,
    pub events_deleted: u64,
    pub identities_deleted: u64,
    /// Other persons whose traits declare an email of the erased person (an email ties
    /// to its first person and never merges two: someone who made a second account, or
    /// a shared address), each by its first userId, else anonymousId. Not erased: they
    /// may be other people; an erasure request for that email may have to cover them.
    pub same_email_persons: Vec<String>,
}

/// What deleting a workspace removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspaceDeletion {
    /// The erasure recording the deletion (`erasures`, which keeps counts only).
    pub erasure_id: i64,
    pub events_deleted: u64,
    pub persons_deleted: u64,
    pub identities_deleted: u64,
    pub keys_deleted: u64,
}

/// Spend on one campaign, on one day, through one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdCost {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub campaign: String,
    pub channel: String,
    pub source: String,
    pub cost: f64,
    pub currency: String,
    pub impressions: Option<i64>,
    pub clicks: Option<i64>,
}

/// An event as analysis frames read it: no ids, times or JSON beyond the properties asked
/// for. Borrowed from the backend's row buffer for the duration of the callback.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameEvent<'a> {
    pub seq: i64,
    pub kind: parcours_core::EventKind,
    pub name: &'a str,
    pub user_id: Option<&'a str>,
    pub anonymous_id: Option<&'a str>,
    pub group_id: Option<&'a str>,
    pub ts: Micros,
    pub channel: &'a str,
    pub campaign: Option<&'a str>,
    pub touchpoint: &'a str,
    /// The values of the requested properties, in order (`Null` when absent).
    pub properties: &'a [Value],
}

/// An account, a deal or another group, as last described by `group` calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRecord {
    pub group_id: String,
    pub kind: String,
    pub parent_id: Option<String>,
    pub traits: Map<String, Value>,
}

/// A stored journey definition (its JSON form; the core validates it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JourneyRecord {
    pub id: i64,
    pub name: String,
    pub definition: Value,
    #[serde(serialize_with = "parcours_core::time::rfc3339")]
    pub created_at: Micros,
    #[serde(serialize_with = "parcours_core::time::rfc3339")]
    pub updated_at: Micros,
}

/// See `Store::surveys_stamp`: how many definitions, and the latest and the sum of
/// their update times (a replacement changes the sum even when the clock went back).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SurveysStamp {
    pub count: u64,
    pub latest: i64,
    pub total: f64,
}

/// Markers of the changes an analysis frame depends on: events added (the highest
/// sequence number, of any workspace), persons merged, persons erased. Equal markers
/// mean a frame built earlier is still exact — also across processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChangeCounts {
    pub last_seq: i64,
    pub merges: u64,
    pub erasures: u64,
}
