//! Building analysis frames from the store: the IO edge of the engine.
//!
//! The engine (in `parcours-core`) takes a [`Frame`]; this module fills one from a
//! [`Store`]: it resolves each event's actor through the identity map (person), the
//! groups and memberships (account, deal), reads only the properties the analysis needs,
//! and attaches the traits breakdowns and segments use. It owns no analysis logic.

use std::collections::HashMap;

use std::path::Path;

use parcours_core::frame::{Dict, Frame, FrameBuilder, FrameParts, FxBuild};
use parcours_core::journey::{ActorKind, Breakdown, JourneyDef};
use parcours_store::{IdentityKind, PersonId, Store, WorkspaceId};
use serde_json::Value;

use crate::frame_cache::{self, EventCache, PropCache};

/// What a frame must carry besides the base columns.
#[derive(Debug, Clone, Default)]
pub struct FrameSpec {
    pub actor: ActorKind,
    pub properties: Vec<String>,
    pub traits: Vec<String>,
}

impl FrameSpec {
    /// The properties and traits a journey run reads: filters, held properties, the
    /// breakdown, the segment and the event filter.
    pub fn for_journey(
        def: &JourneyDef,
        breakdown: Option<&Breakdown>,
        extra_properties: &[String],
        extra_traits: &[String],
    ) -> FrameSpec {
        let mut properties = def.properties();
        properties.extend(breakdown.and_then(|b| b.property()).map(String::from));
        properties.extend(extra_properties.iter().cloned());
        if def.actor == ActorKind::Deal {
            properties.push(DEAL_PROPERTY.into());
        }
        properties.sort();
        properties.dedup();
        let mut traits: Vec<String> = extra_traits.to_vec();
        if let Some(parcours_core::journey::BreakdownBy::Trait(t)) = breakdown.map(|b| &b.by) {
            traits.push(t.clone());
        }
        traits.sort();
        traits.dedup();
        FrameSpec {
            actor: def.actor,
            properties,
            traits,
        }
    }
}

/// The property that names a deal on events without a deal `groupId`.
pub const DEAL_PROPERTY: &str = "deal_id";

/// Who each identifier belongs to.
struct Identities {
    users: HashMap<Box<str>, PersonId, FxBuild>,
    anons: HashMap<Box<str>, PersonId, FxBuild>,
}

impl Identities {
    fn load(store: &dyn Store, ws: WorkspaceId) -> anyhow::Result<Identities> {
        let mut ids = Identities {
            users: HashMap::default(),
            anons: HashMap::default(),
        };
        store.identity_map(ws, &mut |identity| {
            let map = match identity.kind {
                IdentityKind::UserId => &mut ids.users,
                IdentityKind::AnonymousId => &mut ids.anons,
                IdentityKind::Email => return,
            };
            map.insert(identity.value.into(), identity.person);
        })?;
        Ok(ids)
    }
}

/// Accounts and deals, for `account` and `deal` actors.
struct Groups {
    /// group id → (is a deal, its parent account).
    kinds: HashMap<String, (bool, Option<String>), FxBuild>,
    /// person → their latest account.
    account_of: HashMap<PersonId, (i64, String), FxBuild>,
    traits: HashMap<String, serde_json::Map<String, Value>>,
}

impl Groups {
    fn load(store: &dyn Store, ws: WorkspaceId) -> anyhow::Result<Groups> {
        let mut kinds = HashMap::default();
        let mut traits = HashMap::new();
        for g in store.groups(ws)? {
            kinds.insert(g.group_id.clone(), (g.kind == "deal", g.parent_id));
            traits.insert(g.group_id, g.traits);
        }
        let mut account_of: HashMap<PersonId, (i64, String), FxBuild> = HashMap::default();
        store.memberships(ws, &mut |person, group, since| {
            if kinds.get(group).is_some_and(|(deal, _)| *deal) {
                return;
            }
            let e = account_of
                .entry(person)
                .or_insert_with(|| (since, group.to_string()));
            if since > e.0 {
                *e = (since, group.to_string());
            }
        })?;
        Ok(Groups {
            kinds,
            account_of,
            traits,
        })
    }

    fn account<'a>(&'a self, group: Option<&'a str>, person: Option<PersonId>) -> Option<&'a str> {
        if let Some(g) = group {
            match self.kinds.get(g) {
                Some((true, parent)) => return parent.as_deref(),
                Some((false, _)) | None => return Some(g),
            }
        }
        person
            .and_then(|p| self.account_of.get(&p))
            .map(|(_, a)| a.as_str())
    }

    fn deal<'a>(&self, group: Option<&'a str>, property: Option<&'a Value>) -> Option<&'a str> {
        if let Some(g) = group {
            if self.kinds.get(g).is_some_and(|(deal, _)| *deal) {
                return Some(g);
            }
        }
        property.and_then(Value::as_str)
    }
}

/// Reads a workspace into a frame, without a cache on disk.
pub fn load_frame(store: &dyn Store, ws: WorkspaceId, spec: &FrameSpec) -> anyhow::Result<Frame> {
    load_frame_with(store, ws, spec, None)
}

/// Reads a workspace into a frame through the event cache in `cache_dir` (see
/// [`crate::frame_cache`]): only the events stored since the cache was written are read
/// from the store, and the cache is brought up to date.
pub fn load_frame_with(
    store: &dyn Store,
    ws: WorkspaceId,
    spec: &FrameSpec,
    cache_dir: Option<&Path>,
) -> anyhow::Result<Frame> {
    load_frame_at(store, ws, spec, cache_dir, store.change_counts(ws)?)
}

/// [`load_frame_with`] for change markers the caller has just read.
fn load_frame_at(
    store: &dyn Store,
    ws: WorkspaceId,
    spec: &FrameSpec,
    cache_dir: Option<&Path>,
    counts: parcours_store::ChangeCounts,
) -> anyhow::Result<Frame> {
    let _span = tracing::info_span!("load_frame", workspace = ws).entered();
    let (mut cache, mut props, mut changed) = read_caches(store, ws, spec, cache_dir, &counts)?;
    let before = cache.len();
    store.scan_for_frame(ws, cache.last_seq, &spec.properties, &mut |e| {
        cache.push(e);
        for (p, v) in props.iter_mut().zip(e.properties) {
            p.push(v);
        }
    })?;
    changed |= cache.len() != before;
    for p in &mut props {
        p.last_seq = cache.last_seq;
    }
    if cache.merges != counts.merges {
        cache.raw_person.fill(frame_cache::UNRESOLVED);
        cache.merges = counts.merges;
        changed = true;
    }
    changed |= resolve_identities(store, ws, &mut cache)?;
    if let (true, Some(dir)) = (changed, cache_dir) {
        let written = cache
            .write(&frame_cache::events_path(dir, ws))
            .and_then(|_| {
                props
                    .iter()
                    .try_for_each(|p| p.write(&frame_cache::prop_path(dir, ws, &p.key)))
            });
        if let Err(error) = written {
            tracing::warn!(%error, dir = %dir.display(), "could not write the frame cache");
        }
    }
    build_frame(store, ws, spec, cache, props)
}

/// The caches on disk that still describe the store, with the properties `spec` needs
/// (read from the store for the cached events when a property is new).
fn read_caches(
    store: &dyn Store,
    ws: WorkspaceId,
    spec: &FrameSpec,
    dir: Option<&Path>,
    counts: &parcours_store::ChangeCounts,
) -> anyhow::Result<(EventCache, Vec<PropCache>, bool)> {
    let erasures = counts.erasures;
    let fresh = || {
        let c = EventCache {
            erasures,
            ..EventCache::default()
        };
        let props = spec.properties.iter().map(|k| PropCache::new(k)).collect();
        (c, props, true)
    };
    let Some(cache) = dir
        .and_then(|d| EventCache::read(&frame_cache::events_path(d, ws)))
        // A cache ahead of the store belongs to other data (a restored backup): drop it.
        .filter(|c| c.erasures == erasures && c.last_seq <= counts.last_seq)
    else {
        return Ok(fresh());
    };
    let dir = dir.expect("read from a directory");
    let mut props: Vec<PropCache> = spec
        .properties
        .iter()
        .map(|k| {
            PropCache::read(&frame_cache::prop_path(dir, ws, k), k)
                .filter(|p| p.last_seq == cache.last_seq && p.col.len() == cache.len())
                .unwrap_or_else(|| PropCache::new(k))
        })
        .collect();
    let missing: Vec<usize> = (0..props.len())
        .filter(|&i| props[i].col.len() != cache.len())
        .collect();
    if missing.is_empty() {
        return Ok((cache, props, false));
    }
    // A property not cached yet: read it for the cached events, in the same order.
    let keys: Vec<String> = missing.iter().map(|&i| props[i].key.clone()).collect();
    let mut seen = 0usize;
    store.scan_for_frame(ws, 0, &keys, &mut |e| {
        if e.seq <= cache.last_seq {
            for (m, &i) in missing.iter().enumerate() {
                props[i].push(&e.properties[m]);
            }
            seen += 1;
        }
    })?;
    if seen != cache.len() {
        tracing::warn!(
            cached = cache.len(),
            stored = seen,
            "the frame cache disagrees with the store; rebuilding it"
        );
        return Ok(fresh());
    }
    Ok((cache, props, true))
}

/// Resolves raw identities not resolved yet; true when some were.
fn resolve_identities(
    store: &dyn Store,
    ws: WorkspaceId,
    cache: &mut EventCache,
) -> anyhow::Result<bool> {
    let pending: Vec<usize> = (0..cache.raw_person.len())
        .filter(|&r| cache.raw_person[r] == frame_cache::UNRESOLVED)
        .collect();
    if pending.is_empty() {
        return Ok(false);
    }
    let split = |raw: &str| -> (IdentityKind, String) {
        match raw.split_at(1) {
            ("u", v) => (IdentityKind::UserId, v.to_string()),
            (_, v) => (IdentityKind::AnonymousId, v.to_string()),
        }
    };
    if pending.len() > 20_000 {
        let ids = Identities::load(store, ws)?;
        for r in pending {
            let (kind, value) = split(cache.raw.name(r as u32));
            let person = match kind {
                IdentityKind::UserId => ids.users.get(value.as_str()),
                _ => ids.anons.get(value.as_str()),
            };
            cache.raw_person[r] = person.copied().unwrap_or(frame_cache::UNKNOWN);
        }
    } else {
        for r in pending {
            let (kind, value) = split(cache.raw.name(r as u32));
            cache.raw_person[r] = store
                .person_of(ws, kind, &value)?
                .unwrap_or(frame_cache::UNKNOWN);
        }
    }
    Ok(true)
}

/// The readable id of each raw identity's actor: per person, its smallest userId, else
/// its smallest anonymousId; an unknown identity is its own actor. Returns the actors,
/// the actor of each raw identity, and (when `with_persons`) the person of each actor.
fn person_actors(
    cache: &EventCache,
    with_persons: bool,
) -> (Dict, Vec<u32>, HashMap<Box<str>, PersonId, FxBuild>) {
    let rank = |r: u32| {
        let raw = cache.raw.name(r);
        (!raw.starts_with('u'), &raw[1..])
    };
    // Person ids are rowids: dense enough to index a vector.
    let persons_len = cache.raw_person.iter().copied().max().unwrap_or(-1) + 1;
    let mut best = vec![u32::MAX; persons_len.max(0) as usize];
    for (r, &p) in cache.raw_person.iter().enumerate() {
        if p >= 0 {
            let b = &mut best[p as usize];
            if *b == u32::MAX || rank(r as u32) < rank(*b) {
                *b = r as u32;
            }
        }
    }
    let mut actor_of_shown = vec![u32::MAX; cache.raw.len()];
    let mut names: Vec<Box<str>> = Vec::new();
    let mut persons = HashMap::default();
    let raw_actor = (0..cache.raw.len())
        .map(|r| {
            let p = cache.raw_person[r];
            let shown = if p >= 0 { best[p as usize] } else { r as u32 } as usize;
            if actor_of_shown[shown] == u32::MAX {
                actor_of_shown[shown] = names.len() as u32;
                let name: Box<str> = cache.raw.name(shown as u32)[1..].into();
                if with_persons && p >= 0 {
                    persons.insert(name.clone(), p);
                }
                names.push(name);
            }
            actor_of_shown[shown]
        })
        .collect();
    (Dict::from_values(names), raw_actor, persons)
}

/// Turns the cached events into a frame for `spec.actor`.
fn build_frame(
    store: &dyn Store,
    ws: WorkspaceId,
    spec: &FrameSpec,
    cache: EventCache,
    props: Vec<PropCache>,
) -> anyhow::Result<Frame> {
    let n = cache.len();
    let (actors, actor, keep, persons, groups) = match spec.actor {
        ActorKind::Person => {
            let (actors, raw_actor, persons) = person_actors(&cache, !spec.traits.is_empty());
            let actor: Vec<u32> = cache
                .ev_raw
                .iter()
                .map(|&r| raw_actor[r as usize])
                .collect();
            (actors, actor, None, persons, None)
        }
        kind => {
            let groups = Groups::load(store, ws)?;
            let deal_col = spec
                .properties
                .iter()
                .position(|p| p == DEAL_PROPERTY)
                .map(|c| &props[c]);
            let mut actors = Dict::default();
            let mut actor = Vec::with_capacity(n);
            let mut keep = Vec::with_capacity(n);
            for i in 0..n {
                let group = match cache.ev_group[i] {
                    0 => None,
                    g => Some(cache.groups.name(g)),
                };
                let person = Some(cache.raw_person[cache.ev_raw[i] as usize]).filter(|&p| p >= 0);
                let found = if kind == ActorKind::Account {
                    groups.account(group, person)
                } else {
                    groups.deal(group, deal_col.map(|p| &p.values[p.col[i] as usize]))
                };
                keep.push(found.is_some());
                actor.push(found.map_or(0, |a| actors.intern(a)));
            }
            (actors, actor, Some(keep), HashMap::default(), Some(groups))
        }
    };
    let mut values = parcours_core::frame::ValueDict::default();
    let mut prop_cols = Vec::with_capacity(props.len());
    for p in &props {
        let remap: Vec<u32> = p.values.iter().map(|v| values.intern(v)).collect();
        prop_cols.push(
            p.col
                .iter()
                .map(|&id| remap[id as usize])
                .collect::<Vec<u32>>(),
        );
    }
    let select = |keep: &Option<Vec<bool>>| -> Vec<usize> {
        match keep {
            None => Vec::new(),
            Some(k) => (0..n).filter(|&i| k[i]).collect(),
        }
    };
    let kept = select(&keep);
    fn pick<T: Copy>(col: Vec<T>, kept: &[usize], all: bool) -> Vec<T> {
        if all {
            col
        } else {
            kept.iter().map(|&i| col[i]).collect()
        }
    }
    let all = keep.is_none();
    let parts = FrameParts {
        actors,
        actor: pick(actor, &kept, all),
        ts: pick(cache.ts, &kept, all),
        names: cache.names,
        name: pick(cache.name, &kept, all),
        touchpoints: cache.touchpoints,
        touchpoint: pick(cache.touchpoint, &kept, all),
        campaigns: cache.campaigns,
        campaign: pick(cache.campaign, &kept, all),
        channels: cache.channels,
        channel: pick(cache.channel, &kept, all),
        kind: pick(cache.kind, &kept, all),
        property_keys: spec.properties.clone(),
        props: prop_cols.into_iter().map(|c| pick(c, &kept, all)).collect(),
        values,
    };
    let mut builder = FrameBuilder::from_parts(parts);
    attach_traits(store, ws, spec, &mut builder, &persons, groups.as_ref())?;
    Ok(builder.finish())
}

fn attach_traits(
    store: &dyn Store,
    ws: WorkspaceId,
    spec: &FrameSpec,
    builder: &mut FrameBuilder,
    persons: &HashMap<Box<str>, PersonId, FxBuild>,
    groups: Option<&Groups>,
) -> anyhow::Result<()> {
    if spec.traits.is_empty() {
        return Ok(());
    }
    match groups {
        None => {
            let mut by_person: HashMap<PersonId, Vec<(String, Value)>, FxBuild> =
                HashMap::default();
            for key in &spec.traits {
                store.trait_values(ws, key, &mut |p, v| {
                    by_person.entry(p).or_default().push((key.clone(), v));
                })?;
            }
            for (actor, p) in persons {
                if let Some(t) = by_person.remove(p) {
                    builder.actor_traits(actor, t);
                }
            }
        }
        Some(g) => {
            for (group, traits) in &g.traits {
                let t: Vec<(String, Value)> = spec
                    .traits
                    .iter()
                    .filter_map(|k| traits.get(k).map(|v| (k.clone(), v.clone())))
                    .collect();
                if !t.is_empty() {
                    builder.actor_traits(group, t);
                }
            }
        }
    }
    Ok(())
}

/// Erases a person (see `Store::erase_person`), then what the analysis caches hold of
/// the workspace, the erased events among it: the cache files beside the store and, given
/// the server's, the frames in memory. The next analysis builds them again.
pub fn erase_person(
    store: &dyn Store,
    ws: WorkspaceId,
    person: parcours_store::PersonId,
    memo: Option<&FrameMemo>,
) -> parcours_store::Result<parcours_store::ErasureReport> {
    let report = store.erase_person(ws, person)?;
    forget_frames(store, ws, memo, "the erased events");
    Ok(report)
}

/// Deletes a workspace (see `Store::delete_workspace`), then its analysis cache files
/// (every event it held, encoded) and, given the server's, its frames in memory.
pub fn delete_workspace(
    store: &dyn Store,
    ws: WorkspaceId,
    memo: Option<&FrameMemo>,
) -> parcours_store::Result<parcours_store::WorkspaceDeletion> {
    let deletion = store.delete_workspace(ws)?;
    forget_frames(store, ws, memo, "the deleted workspace's events");
    Ok(deletion)
}

/// Drops what the analysis caches hold of a workspace whose events were removed: the
/// server's frames (`memo`) and the cache files beside the store. A file that cannot be
/// deleted is logged, naming what it still holds (`what`).
fn forget_frames(store: &dyn Store, ws: WorkspaceId, memo: Option<&FrameMemo>, what: &str) {
    if let Some(memo) = memo {
        memo.forget(ws);
    }
    if let Some(dir) = store.cache_dir() {
        if let Err(error) = crate::frame_cache::forget_workspace(&dir, ws) {
            tracing::error!(
                %error,
                dir = %dir.display(),
                "{what} may remain in the analysis cache: delete its ws{ws}.* files"
            );
        }
    }
}

/// The last few frames built, each with the store's change markers at the time: a
/// request whose data has not changed since reuses the frame instead of reading the
/// cache again, and a change (in this process or another) makes it read again.
pub struct FrameMemo {
    capacity: usize,
    entries: std::sync::Mutex<Vec<MemoEntry>>,
}

struct MemoEntry {
    workspace: WorkspaceId,
    spec: String,
    counts: parcours_store::ChangeCounts,
    frame: std::sync::Arc<Frame>,
}

impl FrameMemo {
    pub fn new(capacity: usize) -> FrameMemo {
        FrameMemo {
            capacity,
            entries: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Drops the frames of a workspace (after an erasure: they hold the erased events).
    pub fn forget(&self, ws: WorkspaceId) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| e.workspace != ws);
    }

    /// The frame for `spec`, built again only when the store changed.
    pub fn get(
        &self,
        store: &dyn Store,
        ws: WorkspaceId,
        spec: &FrameSpec,
    ) -> anyhow::Result<std::sync::Arc<Frame>> {
        let counts = store.change_counts(ws)?;
        let key = format!("{spec:?}");
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = entries
                .iter()
                .find(|e| e.workspace == ws && e.spec == key && e.counts == counts)
            {
                return Ok(e.frame.clone());
            }
        }
        let frame = std::sync::Arc::new(load_frame_at(
            store,
            ws,
            spec,
            store.cache_dir().as_deref(),
            counts,
        )?);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| !(e.workspace == ws && e.spec == key));
        entries.insert(
            0,
            MemoEntry {
                workspace: ws,
                spec: key,
                counts,
                frame: frame.clone(),
            },
        );
        entries.truncate(self.capacity);
        Ok(frame)
    }
}
