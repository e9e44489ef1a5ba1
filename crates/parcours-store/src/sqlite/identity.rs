//! Identity stitching and erasure, run on the writer thread inside its transaction.
//!
//! The rules (written for users in `docs/identity.md`):
//! - every userId and anonymousId seen gets a person; events are tied to a person at read
//!   time through these identities, so stitching is retroactive;
//! - a message carrying both a userId and an anonymousId links them; if the anonymousId
//!   already belongs to an *anonymous* person, that person is merged into the user's;
//! - shared devices: if the anonymousId already belongs to a person identified with a
//!   *different* userId, nothing is merged: the device stays with its first user, the
//!   new user gets their own person, and the conflict is counted;
//! - `alias` is an explicit instruction and merges the two persons whatever they are;
//! - an email (identify traits) is a look-up key for the first person it was seen with,
//!   never a reason to merge;
//! - traits merge with last-write-wins by event time; every change is kept in history.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use parcours_core::event::as_email;
use parcours_core::time::Micros;
use parcours_core::view::plain_object;
use parcours_core::{EventKind, JsonObject};
use rusqlite::{params, CachedStatement, Connection, OptionalExtension, Transaction};
use serde_json::{Map, Value};

use super::blocks::{self, PassThrough};
use super::rows::{EncodedRef, Ids};
use super::writer::Caches;
use crate::types::{AppendOutcome, ErasureReport, IdentityKind, PersonId, WorkspaceId};
use crate::{Result, StoreError};

/// Entries kept before the cache is emptied (and reloaded workspace by workspace).
const CACHE_LIMIT: usize = 20_000_000;

/// The writer's complete copy of `identities` for the workspaces it has touched: loaded
/// once per workspace, then kept in step by the writer (the only one who changes
/// identities), so looking an identifier up never needs a query — even to learn that it
/// is new. Keys are 128 bits of keyed SipHash of (kind, value) (see [`key`]): 48 bytes an
/// entry, and a collision as unlikely as between random 128-bit numbers, even for
/// identifiers crafted to collide, since the hashers' keys are secret.
#[derive(Default)]
pub struct Cache {
    map: HashMap<(WorkspaceId, u128), PersonId, BuildHasherDefault<PassThrough>>,
    /// Asked at every look-up: with SipHash, 1% of the writer's CPU on an import.
    loaded: HashSet<WorkspaceId, BuildHasherDefault<PassThrough>>,
}

impl Cache {
    pub fn clear(&mut self) {
        self.map.clear();
        self.loaded.clear();
    }

    /// Makes room for the identifiers of about `events` events in a cache that holds
    /// none (a first bulk load into an empty store), so that it is sized once instead
    /// of doubling as it fills: the doublings, each moving every entry into a new table,
    /// were 3.5% of the writer's CPU samples on the 12.5 M demo import (the kernel still
    /// zeroes the one table as it is first filled, about two thirds of that). One
    /// identifier for every [`Cache::EVENTS_PER_IDENTITY`] events is made room for, at
    /// most [`CACHE_LIMIT`]; a table reserved and not filled costs address space, not
    /// memory, as its untouched pages are never given any.
    pub fn expect(&mut self, tx: &Transaction, ws: WorkspaceId, events: usize) -> Result<()> {
        ensure_loaded(tx, self, ws)?;
        if self.map.is_empty() {
            self.map
                .reserve((events / Self::EVENTS_PER_IDENTITY).min(CACHE_LIMIT));
        }
        Ok(())
    }

    /// Whether the identities of `ws` are loaded.
    pub fn holds_workspace(&self, ws: WorkspaceId) -> bool {
        self.loaded.contains(&ws)
    }

    /// Drops everything held of a deleted workspace.
    pub fn forget_workspace(&mut self, ws: WorkspaceId) {
        self.loaded.remove(&ws);
        self.map.retain(|(w, _), _| *w != ws);
    }

    /// Forgets the identities of `ws`; its next look-up loads them again.
    pub fn unload(&mut self, ws: WorkspaceId) {
        if self.loaded.remove(&ws) {
            self.map.retain(|(w, _), _| *w != ws);
        }
    }

    /// Reads from the database the persons of identifiers that another process may have
    /// tied (the identifiers of the events it stored) and the cache does not hold yet:
    /// each is remembered with the person it belongs to. One the cache holds keeps its
    /// person: an identity changes person only by a merge (see [`Cache::refresh_person`])
    /// and is removed only by an erasure (after which the whole cache is dropped). One
    /// the database does not hold stays unknown.
    pub fn refresh<'v>(
        &mut self,
        tx: &Transaction,
        ws: WorkspaceId,
        ids: impl IntoIterator<Item = (IdentityKind, &'v str)>,
    ) -> Result<()> {
        if !self.holds_workspace(ws) {
            return Ok(());
        }
        let mut stmt = tx.prepare_cached(
            "SELECT person_id FROM identities WHERE workspace_id = ?1 AND kind = ?2 AND value = ?3",
        )?;
        for (kind, value) in ids {
            let k = key(kind.code(), value);
            if self.map.contains_key(&(ws, k)) {
                continue;
            }
            let person: Option<PersonId> = stmt
                .query_row(params![ws, kind.code(), value], |r| r.get(0))
                .optional()?;
            if let Some(person) = person {
                remember(self, ws, k, person);
            }
        }
        Ok(())
    }

    /// Reads again the identities of a person that another process merged a person
    /// into: those of the merged person are among them now.
    pub fn refresh_person(
        &mut self,
        tx: &Transaction,
        ws: WorkspaceId,
        person: PersonId,
    ) -> Result<()> {
        if !self.holds_workspace(ws) {
            return Ok(());
        }
        for (kind, value) in identities_of(tx, ws, person)? {
            remember(self, ws, key(kind, &value), person);
        }
        Ok(())
    }

    /// Events per identifier that [`Cache::expect`] sizes for: the demo has about five
    /// (0.19 identifiers an event: a user id, an email and two or three devices a
    /// customer).
    pub const EVENTS_PER_IDENTITY: usize = 4;
}

/// An identifier with its cache key, computed on the caller's thread for incoming events
/// (`EncodedRef::ids`) so the writer does not hash.
#[derive(Clone, Copy)]
pub struct Id<'a> {
    pub kind: IdentityKind,
    /// The identifier's text, read only to store it: an incoming event's is in its
    /// encoded fields, which looking it up (by its key) then never touches, and which
    /// another thread wrote (each first read by the writer was a cache miss).
    value: &'a [u8],
    pub key: u128,
}

impl<'a> Id<'a> {
    pub fn new(kind: IdentityKind, value: &'a str) -> Id<'a> {
        Id {
            kind,
            value: value.as_bytes(),
            key: key(kind.code(), value),
        }
    }

    /// An identifier of an encoded event: `value` was written from a `str`, and `key` is
    /// its [`key`].
    pub(super) fn encoded(kind: IdentityKind, value: &'a [u8], key: u128) -> Id<'a> {
        Id { kind, value, key }
    }

    pub fn value(&self) -> Result<&'a str> {
        std::str::from_utf8(self.value)
            .map_err(|_| StoreError::Corrupt("an identifier is not UTF-8".into()))
    }
}

/// The identity cache key of an identifier (see [`key`]).
pub fn key_of(kind: IdentityKind, value: &str) -> u128 {
    key(kind.code(), value)
}

/// The identity cache key of an identifier: 128 bits from two SipHash-1-3 hashers whose
/// keys are drawn at random when the process starts. The cache lives in memory only,
/// so the keys need not be stable across runs, and values chosen to collide cannot be
/// computed without them. Cheaper than the SHA-256 it replaces (1% of an import's CPU),
/// which the parsing threads computed for every identifier of every event.
fn key(kind: i64, value: &str) -> u128 {
    static HASHERS: std::sync::LazyLock<[RandomState; 2]> =
        std::sync::LazyLock::new(|| [RandomState::new(), RandomState::new()]);
    let half = |state: &RandomState| {
        let mut h = state.build_hasher();
        h.write_u8(kind as u8);
        h.write(value.as_bytes());
        h.finish()
    };
    (u128::from(half(&HASHERS[0])) << 64) | u128::from(half(&HASHERS[1]))
}

/// A person's identities: (kind code, value).
fn identities_of(
    tx: &Transaction,
    ws: WorkspaceId,
    person: PersonId,
) -> Result<Vec<(i64, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT kind, value FROM identities INDEXED BY identities_person WHERE workspace_id = ?1 AND person_id = ?2",
    )?;
    let rows = stmt.query_map(params![ws, person], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn ensure_loaded(tx: &Transaction, cache: &mut Cache, ws: WorkspaceId) -> Result<()> {
    if cache.loaded.contains(&ws) {
        return Ok(());
    }
    // Sized for the workspace's identities at once rather than doubling as it fills
    // (see `Messages::seen`).
    let count: i64 = tx
        .prepare_cached("SELECT count(*) FROM identities WHERE workspace_id = ?1")?
        .query_row([ws], |r| r.get(0))?;
    cache
        .map
        .reserve(usize::try_from(count).unwrap_or(0).min(CACHE_LIMIT));
    let mut stmt =
        tx.prepare("SELECT kind, value, person_id FROM identities WHERE workspace_id = ?1")?;
    let rows = stmt.query_map([ws], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, PersonId>(2)?,
        ))
    })?;
    for row in rows {
        let (kind, value, person) = row?;
        cache.map.insert((ws, key(kind, &value)), person);
    }
    cache.loaded.insert(ws);
    Ok(())
}

fn lookup(
    tx: &Transaction,
    cache: &mut Cache,
    ws: WorkspaceId,
    id: Id,
) -> Result<Option<PersonId>> {
    ensure_loaded(tx, cache, ws)?;
    Ok(cache.map.get(&(ws, id.key)).copied())
}

fn remember(cache: &mut Cache, ws: WorkspaceId, key: u128, person: PersonId) {
    if cache.map.len() >= CACHE_LIMIT {
        // Forget everything; the next look-up reloads its workspace from the database,
        // which (inside the same transaction) already holds this identity.
        cache.clear();
        return;
    }
    cache.map.insert((ws, key), person);
}

/// A transaction's stitching: the transaction, with the two statements every new
/// identifier and person run, prepared once for all its events (through rusqlite's
/// statement cache, each use cost a look-up, an allocation and a reinsertion).
pub struct Stitching<'t, 'c> {
    pub tx: &'t Transaction<'c>,
    insert_identity: Option<CachedStatement<'t>>,
    insert_person: Option<CachedStatement<'t>>,
    /// Persons this transaction created that have no traits yet: their first traits are
    /// stored without looking for earlier ones (the look-up was 2.4% of the writer's CPU
    /// on the demo import, where most identifies follow their person's first events).
    traitless: HashSet<PersonId, BuildHasherDefault<PassThrough>>,
}

impl<'t, 'c> Stitching<'t, 'c> {
    pub fn new(tx: &'t Transaction<'c>) -> Stitching<'t, 'c> {
        Stitching {
            tx,
            insert_identity: None,
            insert_person: None,
            traitless: HashSet::default(),
        }
    }
}

/// The statement in `slot`, prepared on first use.
fn prepared<'s, 't>(
    tx: &'t Transaction,
    slot: &'s mut Option<CachedStatement<'t>>,
    sql: &str,
) -> Result<&'s mut CachedStatement<'t>> {
    if slot.is_none() {
        *slot = Some(tx.prepare_cached(sql)?);
    }
    Ok(slot.as_mut().expect("prepared just now"))
}

fn link(
    s: &mut Stitching,
    cache: &mut Cache,
    ws: WorkspaceId,
    id: Id,
    person: PersonId,
    ts: Micros,
) -> Result<()> {
    prepared(s.tx, &mut s.insert_identity, "INSERT INTO identities (workspace_id, kind, value, person_id, first_seen) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![ws, id.kind.code(), id.value()?, person, ts])?;
    remember(cache, ws, id.key, person);
    Ok(())
}

fn new_person(s: &mut Stitching, ws: WorkspaceId, ts: Micros) -> Result<PersonId> {
    prepared(
        s.tx,
        &mut s.insert_person,
        "INSERT INTO persons (workspace_id, created_at) VALUES (?1, ?2)",
    )?
    .execute(params![ws, ts])?;
    let person = s.tx.last_insert_rowid();
    s.traitless.insert(person);
    Ok(person)
}

fn is_identified(tx: &Transaction, ws: WorkspaceId, person: PersonId) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM identities WHERE workspace_id = ?1 AND person_id = ?2 AND kind = 1 LIMIT 1")?
        .query_row(params![ws, person], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Ties the identifiers of a newly stored event to persons, and applies its traits and
/// group membership.
pub fn stitch(
    s: &mut Stitching,
    cache: &mut Cache,
    ws: WorkspaceId,
    row: EncodedRef,
    out: &mut AppendOutcome,
) -> Result<()> {
    let tx = s.tx;
    let ts = row.timestamp;
    let ids = row.ids();
    let person = actor_person(s, cache, ws, &ids, ts, out)?;
    if row.kind == EventKind::Alias {
        if let (Some(as_user), Some(as_anon)) = (ids.previous_as_user, ids.previous_as_anon) {
            let existing = match lookup(tx, cache, ws, as_user)? {
                Some(p) => Some(p),
                None => lookup(tx, cache, ws, as_anon)?,
            };
            match existing {
                None => link(s, cache, ws, as_anon, person, ts)?,
                Some(q) if q != person => merge(s, cache, ws, q, person, "alias", ts)?,
                Some(_) => {}
            }
        }
    }
    if let Some(email) = ids.email {
        if lookup(tx, cache, ws, email)?.is_none() {
            link(s, cache, ws, email, person, ts)?;
        }
    }
    if row.kind == EventKind::Identify && !row.traits.is_empty() {
        let first = s.traitless.remove(&person);
        apply_traits(tx, ws, person, &row.traits, ts, first)?;
    }
    if let (EventKind::Group, Some(group)) = (row.kind, row.group_id()) {
        apply_group(tx, ws, person, group, &row.traits, ts)?;
    }
    Ok(())
}

/// The person an event's actor belongs to, creating and linking identities as needed.
fn actor_person(
    s: &mut Stitching,
    cache: &mut Cache,
    ws: WorkspaceId,
    ids: &Ids,
    ts: Micros,
    out: &mut AppendOutcome,
) -> Result<PersonId> {
    let tx = s.tx;
    let by_user = match ids.user {
        Some(u) => lookup(tx, cache, ws, u)?,
        None => None,
    };
    let by_anon = match ids.anonymous {
        Some(a) => lookup(tx, cache, ws, a)?,
        None => None,
    };
    let Some(user) = ids.user else {
        // Validation guarantees an anonymousId when there is no userId.
        let anon = ids
            .anonymous
            .unwrap_or_else(|| Id::new(IdentityKind::AnonymousId, ""));
        return match by_anon {
            Some(p) => Ok(p),
            None => {
                let p = new_person(s, ws, ts)?;
                link(s, cache, ws, anon, p, ts)?;
                Ok(p)
            }
        };
    };
    let anon = ids.anonymous;
    let person = match (by_user, anon, by_anon) {
        (Some(p), None, _) => p,
        (Some(p), Some(a), None) => {
            link(s, cache, ws, a, p, ts)?;
            p
        }
        (Some(p), Some(_), Some(q)) if p == q => p,
        (Some(p), Some(_), Some(q)) => {
            if is_identified(tx, ws, q)? {
                out.shared_device_conflicts += 1;
            } else {
                merge(s, cache, ws, q, p, "identify", ts)?;
            }
            p
        }
        (None, Some(_), Some(q)) if !is_identified(tx, ws, q)? => {
            link(s, cache, ws, user, q, ts)?;
            q
        }
        (None, anon, by_anon) => {
            if by_anon.is_some() {
                out.shared_device_conflicts += 1;
            }
            let p = new_person(s, ws, ts)?;
            link(s, cache, ws, user, p, ts)?;
            if let (Some(a), None) = (anon, by_anon) {
                link(s, cache, ws, a, p, ts)?;
            }
            p
        }
    };
    Ok(person)
}

/// Moves everything of person `from` to person `into` and deletes `from`.
fn merge(
    s: &mut Stitching,
    cache: &mut Cache,
    ws: WorkspaceId,
    from: PersonId,
    into: PersonId,
    reason: &str,
    ts: Micros,
) -> Result<()> {
    let tx = s.tx;
    // `into` may take traits from `from`: its next traits are looked up again.
    s.traitless.remove(&from);
    s.traitless.remove(&into);
    for (kind, value) in identities_of(tx, ws, from)? {
        remember(cache, ws, key(kind, &value), into);
    }
    let p = params![ws, from, into];
    tx.prepare_cached("UPDATE identities INDEXED BY identities_person SET person_id = ?3 WHERE workspace_id = ?1 AND person_id = ?2")?.execute(p)?;
    if let Some(moved) = Profile::load(tx, ws, from)? {
        // Key by key, the later value wins; a tie keeps the surviving person's.
        let mut profile = Profile::load(tx, ws, into)?.unwrap_or_default();
        for (key, value) in moved.traits {
            let at = moved.updated.get(&key).copied().unwrap_or(Micros::MIN);
            if profile.updated.get(&key).is_none_or(|&mine| at > mine) {
                profile.updated.insert(key.clone(), at);
                profile.traits.insert(key, value);
            }
        }
        profile.save(tx, ws, into)?;
        tx.prepare_cached("DELETE FROM person_traits WHERE workspace_id = ?1 AND person_id = ?2")?
            .execute(params![ws, from])?;
    }
    tx.prepare_cached(
        "UPDATE trait_history SET person_id = ?3 WHERE workspace_id = ?1 AND person_id = ?2",
    )?
    .execute(p)?;
    tx.prepare_cached("INSERT OR IGNORE INTO memberships (workspace_id, group_id, person_id, since)
         SELECT workspace_id, group_id, ?3, since FROM memberships INDEXED BY memberships_person WHERE workspace_id = ?1 AND person_id = ?2")?.execute(p)?;
    tx.prepare_cached("DELETE FROM memberships INDEXED BY memberships_person WHERE workspace_id = ?1 AND person_id = ?2")?.execute(params![ws, from])?;
    // The merged person's row stays (its id and creation time, nothing else): SQLite
    // gives a new row the highest id plus one, so deleting it would give its id to the
    // next person, whom the merge record would then name (and whose erasure would take
    // that record). A person is known by its identities, which all moved.
    tx.prepare_cached("INSERT INTO person_merges (workspace_id, from_person, into_person, reason, merged_at) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(params![ws, from, into, reason, ts])?;
    Ok(())
}

/// A person's current traits: one row of `person_traits`, which holds the values and,
/// trait by trait, the event time each value was set at.
#[derive(Default)]
struct Profile {
    traits: Map<String, Value>,
    updated: BTreeMap<String, Micros>,
}

impl Profile {
    fn load(tx: &Transaction, ws: WorkspaceId, person: PersonId) -> Result<Option<Profile>> {
        let row: Option<(String, String)> = tx
            .prepare_cached("SELECT traits, updated_at FROM person_traits WHERE workspace_id = ?1 AND person_id = ?2")?
            .query_row(params![ws, person], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((traits, updated)) = row else {
            return Ok(None);
        };
        let damaged = |e: serde_json::Error| {
            StoreError::Corrupt(format!("the traits of person {person}: {e}"))
        };
        Ok(Some(Profile {
            traits: plain_object(&traits).map_err(damaged)?,
            updated: serde_json::from_str(&updated).map_err(damaged)?,
        }))
    }

    fn save(&self, tx: &Transaction, ws: WorkspaceId, person: PersonId) -> Result<()> {
        save_profile(
            tx,
            ws,
            person,
            &json_text(&self.traits),
            &json_text(&self.updated),
        )
    }
}

fn save_profile(
    tx: &Transaction,
    ws: WorkspaceId,
    person: PersonId,
    traits: &str,
    updated: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO person_traits (workspace_id, person_id, traits, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (workspace_id, person_id) DO UPDATE SET traits = excluded.traits, updated_at = excluded.updated_at",
    )?
    .execute(params![ws, person, traits, updated])?;
    Ok(())
}

/// A map as JSON text (the traits, their times, a change).
fn json_text(map: &impl serde::Serialize) -> String {
    // Serialising a map with string keys and JSON or integer values cannot fail.
    serde_json::to_string(map).expect("a JSON object serialises")
}

fn record_change(
    tx: &Transaction,
    ws: WorkspaceId,
    person: PersonId,
    ts: Micros,
    changes: &str,
) -> Result<()> {
    tx.prepare_cached("INSERT INTO trait_history (workspace_id, person_id, observed_at, changes) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![ws, person, ts, changes])?;
    Ok(())
}

/// Last write wins by event time, trait by trait; the values that differ from the current
/// ones are kept in `trait_history`, whatever order the events arrived in. A person's first
/// traits are stored as the text they came as, when they came as one. `traitless`: the
/// person is known to have no traits (see [`Stitching`]), so none are looked up.
fn apply_traits(
    tx: &Transaction,
    ws: WorkspaceId,
    person: PersonId,
    traits: &JsonObject,
    ts: Micros,
    traitless: bool,
) -> Result<()> {
    let known = if traitless {
        None
    } else {
        Profile::load(tx, ws, person)?
    };
    let Some(mut profile) = known else {
        // The person's first traits: every value is new, and a change. Stored as sent;
        // their keys are read without building a map.
        let text = traits.text().unwrap_or_default();
        let updated = traits.view(|v| {
            json_text(
                &v.keys()
                    .into_iter()
                    .map(|k| (k, ts))
                    .collect::<BTreeMap<_, _>>(),
            )
        });
        save_profile(tx, ws, person, &text, &updated)?;
        return record_change(tx, ws, person, ts, &text);
    };
    // A later identify: its traits as a map, compared with the profile's.
    let traits: &Map<String, Value> = traits;
    let mut changes = Map::new();
    let mut newer_seen = false;
    for (key, value) in traits {
        let current = profile.traits.get(key);
        if current != Some(value) {
            changes.insert(key.clone(), value.clone());
        }
        let newer = match (current, profile.updated.get(key)) {
            (Some(v), Some(&at)) => ts > at || (ts == at && v != value),
            _ => true,
        };
        if newer {
            profile.traits.insert(key.clone(), value.clone());
            profile.updated.insert(key.clone(), ts);
            newer_seen = true;
        }
    }
    if newer_seen {
        profile.save(tx, ws, person)?;
    }
    if !changes.is_empty() {
        record_change(tx, ws, person, ts, &json_text(&changes))?;
    }
    Ok(())
}

/// Attaches the person to the group and merges the group's traits (last write wins). The
/// kind comes from `traits.type` (or `group_type`, `kind`), `account` by default; a deal
/// names its account with `traits.account_id` (or `parent_id`).
fn apply_group(
    tx: &Transaction,
    ws: WorkspaceId,
    person: PersonId,
    group: &str,
    traits: &Map<String, Value>,
    ts: Micros,
) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO memberships (workspace_id, group_id, person_id, since) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![ws, group, person, ts])?;
    tx.prepare_cached("UPDATE memberships SET since = ?4 WHERE workspace_id = ?1 AND group_id = ?2 AND person_id = ?3 AND since > ?4")?
        .execute(params![ws, group, person, ts])?;
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| traits.get(*k).and_then(Value::as_str))
            .map(|s| s.to_lowercase())
    };
    let existing: Option<(String, Option<String>, String, Micros)> = tx
        .prepare_cached("SELECT kind, parent_id, traits, updated_at FROM groups WHERE workspace_id = ?1 AND group_id = ?2")?
        .query_row(params![ws, group], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let (mut kind, mut parent, mut merged, mut updated) = match existing {
        Some((k, p, t, at)) => (k, p, plain_object(&t).unwrap_or_default(), at),
        None => ("account".to_string(), None, Map::new(), ts),
    };
    if ts >= updated || merged.is_empty() {
        for (k, v) in traits {
            merged.insert(k.clone(), v.clone());
        }
        kind = text(&["type", "group_type", "kind"]).unwrap_or(kind);
        parent = traits
            .get("account_id")
            .or_else(|| traits.get("parent_id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(parent);
        updated = updated.max(ts);
    } else {
        for (k, v) in traits {
            merged.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO groups (workspace_id, group_id, kind, parent_id, traits, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![ws, group, kind, parent, Value::Object(merged).to_string(), updated])?;
    Ok(())
}

/// Deletes a person's events (by the same actor rule as the timeline, rewriting the
/// blocks that held them), identities,
/// traits, history, memberships and merge records, then records the erasure. Returns the
/// report, its `same_email_persons` left to fill, and the emails the person declared
/// (see [`declaring`], run after the commit, off the write lock).
pub fn erase(
    tx: &Transaction,
    caches: &mut Caches,
    ws: WorkspaceId,
    person: PersonId,
    now: Micros,
) -> Result<(ErasureReport, Vec<String>)> {
    let identities = identities_of(tx, ws, person)?;
    for (kind, value) in &identities {
        caches.identities.map.remove(&(ws, key(*kind, value)));
    }
    // The emails the person declared: its email identities, and its traits' email.
    let mut emails: Vec<String> = identities
        .iter()
        .filter(|(kind, _)| *kind == IdentityKind::Email.code())
        .map(|(_, value)| value.clone())
        .collect();
    let traits: Option<String> = tx
        .prepare_cached(
            "SELECT traits FROM person_traits WHERE workspace_id = ?1 AND person_id = ?2",
        )?
        .query_row(params![ws, person], |r| r.get(0))
        .optional()?;
    emails.extend(traits.as_deref().and_then(email_field));
    let actors = blocks::Actors::of(
        identities
            .into_iter()
            .filter_map(|(kind, value)| Some((IdentityKind::from_code(kind)?, value))),
    );
    let events_deleted = blocks::erase_actors(tx, &mut caches.messages, ws, &actors)?;
    let p = params![ws, person];
    let identities_deleted = tx.execute(
        "DELETE FROM identities INDEXED BY identities_person WHERE workspace_id = ?1 AND person_id = ?2",
        p,
    )? as u64;
    tx.execute(
        "DELETE FROM person_traits WHERE workspace_id = ?1 AND person_id = ?2",
        p,
    )?;
    tx.execute(
        "DELETE FROM trait_history WHERE workspace_id = ?1 AND person_id = ?2",
        p,
    )?;
    tx.execute(
        "DELETE FROM memberships INDEXED BY memberships_person WHERE workspace_id = ?1 AND person_id = ?2",
        p,
    )?;
    // The persons merged into this one, directly or through others (their rows stay
    // after a merge, with their ids and creation times), go with it, and the records of
    // those merges.
    let merged: Vec<PersonId> = tx
        .prepare_cached(
            "WITH RECURSIVE merged(id) AS (
                 SELECT from_person FROM person_merges INDEXED BY person_merges_into
                 WHERE workspace_id = ?1 AND into_person = ?2
                 UNION
                 SELECT m.from_person FROM person_merges m INDEXED BY person_merges_into, merged
                 WHERE m.workspace_id = ?1 AND m.into_person = merged.id)
             SELECT id FROM merged",
        )?
        .query_map(p, |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for gone in merged.iter().copied().chain([person]) {
        let g = params![ws, gone];
        tx.execute("DELETE FROM person_merges INDEXED BY person_merges_into WHERE workspace_id = ?1 AND into_person = ?2", g)?;
        tx.execute("DELETE FROM persons WHERE workspace_id = ?1 AND id = ?2", g)?;
    }
    tx.execute("DELETE FROM person_merges INDEXED BY person_merges_from WHERE workspace_id = ?1 AND from_person = ?2", p)?;
    let report = ErasureReport {
        erasure_id: record_erasure(tx, ws, now, events_deleted, identities_deleted)?,
        events_deleted,
        identities_deleted,
        same_email_persons: Vec::new(),
    };
    Ok((report, emails))
}

/// Records that an erasure (of a person or a whole workspace) happened: when, and how
/// much it removed, not what. Returns its id.
pub fn record_erasure(
    tx: &Transaction,
    ws: WorkspaceId,
    now: Micros,
    events_deleted: u64,
    identities_deleted: u64,
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO erasures (workspace_id, erased_at, events_deleted, identities_deleted) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![ws, now, events_deleted as i64, identities_deleted as i64])?;
    Ok(tx.last_insert_rowid())
}

/// The persons whose traits declare one of `emails`, each by its first userId (else
/// anonymousId). Reads every traits document of the workspace (an erasure is rare, and
/// only the first person of an email holds it as an identity): on a reader, so that
/// ingestion does not wait for it.
pub fn declaring(c: &Connection, ws: WorkspaceId, emails: &[String]) -> Result<Vec<String>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let mut persons = Vec::new();
    {
        let mut stmt =
            c.prepare("SELECT person_id, traits FROM person_traits WHERE workspace_id = ?1")?;
        let mut rows = stmt.query([ws])?;
        while let Some(r) = rows.next()? {
            let text: &str = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
            // Only the email is read from each document.
            let declared = email_field(text);
            if declared.is_some_and(|e| emails.contains(&e)) {
                persons.push(r.get::<_, PersonId>(0)?);
            }
        }
    }
    let mut named = Vec::with_capacity(persons.len());
    let mut first = c.prepare_cached(
        "SELECT value FROM identities INDEXED BY identities_person WHERE workspace_id = ?1 AND person_id = ?2 AND kind IN (1, 2) ORDER BY kind, value LIMIT 1",
    )?;
    for person in persons {
        if let Some(id) = first
            .query_row(params![ws, person], |r| r.get::<_, String>(0))
            .optional()?
        {
            named.push(id);
        }
    }
    named.sort();
    Ok(named)
}

/// The `email` trait of a traits document's text, as identities hold emails.
fn email_field(text: &str) -> Option<String> {
    match parcours_core::view::field(text, "email") {
        Ok(Some(Value::String(s))) => as_email(&s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_same_on_every_thread_and_differ_by_kind_and_value() {
        let here = key_of(IdentityKind::UserId, "u-1");
        let there = std::thread::spawn(|| key_of(IdentityKind::UserId, "u-1"))
            .join()
            .unwrap();
        assert_eq!(here, there, "the parsing threads and the writer agree");
        let mut keys: Vec<u128> = [
            (IdentityKind::UserId, "u-1"),
            (IdentityKind::AnonymousId, "u-1"),
            (IdentityKind::Email, "u-1"),
            (IdentityKind::UserId, "u-10"),
            (IdentityKind::UserId, ""),
        ]
        .iter()
        .map(|&(kind, value)| key_of(kind, value))
        .collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 5);
    }

    #[test]
    fn an_unloaded_workspace_is_read_again_on_its_next_look_up() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrations::apply(&mut c).unwrap();
        let tx = c.transaction().unwrap();
        for (ws, person) in [(1, 11), (2, 21)] {
            tx.execute(
                "INSERT INTO identities (workspace_id, kind, value, person_id, first_seen) VALUES (?1, 1, 'u-1', ?2, 0)",
                params![ws, person],
            )
            .unwrap();
        }
        let mut cache = Cache::default();
        let u1 = Id::new(IdentityKind::UserId, "u-1");
        assert_eq!(lookup(&tx, &mut cache, 1, u1).unwrap(), Some(11));
        assert_eq!(lookup(&tx, &mut cache, 2, u1).unwrap(), Some(21));
        // Another process re-points u-1 in both workspaces.
        for ws in [1, 2] {
            tx.execute(
                "UPDATE identities SET person_id = person_id + 1 WHERE workspace_id = ?1 AND kind = 1 AND value = 'u-1'",
                [ws],
            )
            .unwrap();
        }
        assert_eq!(lookup(&tx, &mut cache, 1, u1).unwrap(), Some(11), "cached");
        cache.unload(1);
        assert!(!cache.holds_workspace(1) && cache.holds_workspace(2));
        assert_eq!(
            lookup(&tx, &mut cache, 1, u1).unwrap(),
            Some(12),
            "read again"
        );
        assert_eq!(lookup(&tx, &mut cache, 2, u1).unwrap(), Some(21), "kept");
    }

    #[test]
    fn an_expected_load_sizes_an_empty_cache_only() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrations::apply(&mut c).unwrap();
        let tx = c.transaction().unwrap();
        let mut cache = Cache::default();
        cache.expect(&tx, 1, 400_000).unwrap();
        let reserved = cache.map.capacity();
        assert!(
            reserved >= 400_000 / Cache::EVENTS_PER_IDENTITY,
            "{reserved}"
        );
        // Filling what was expected does not grow it.
        for k in 0..(400_000 / Cache::EVENTS_PER_IDENTITY) as u128 {
            remember(&mut cache, 1, k << 64 | k, 1);
        }
        assert_eq!(cache.map.capacity(), reserved);
        // A cache that holds identities is left as it is.
        cache.expect(&tx, 2, 4_000_000).unwrap();
        assert_eq!(cache.map.capacity(), reserved);

        // Nor is one that loads the workspace's identities from the database.
        tx.execute(
            "INSERT INTO identities (workspace_id, kind, value, person_id, first_seen) VALUES (3, 1, 'u-1', 1, 0)",
            [],
        )
        .unwrap();
        let mut loaded = Cache::default();
        loaded.expect(&tx, 3, 4_000_000).unwrap();
        assert_eq!(loaded.map.len(), 1);
        assert!(loaded.map.capacity() < 1_000, "{}", loaded.map.capacity());
        // Estimates are capped.
        let mut capped = Cache::default();
        capped.expect(&tx, 4, usize::MAX).unwrap();
        assert!((CACHE_LIMIT..2 * CACHE_LIMIT).contains(&capped.map.capacity()));
    }
}
