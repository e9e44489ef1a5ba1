//! parcours-store: where events, identities and keys live.
//!
//! The [`Store`] trait is the one boundary between parcours and its storage: batch
//! append, scans by time range and by actor, the identity map, keys and erasure. Today it
//! has one backend, [`SqliteStore`]: SQLite in WAL mode in one data directory, with one
//! writer thread that batches and readers on their own connections. A ClickHouse backend
//! is planned behind the same trait; nothing outside this crate knows which one runs.
//!
//! ```
//! use parcours_store::{SqliteStore, Store, StoreOptions, Scope};
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
//! let ws = store.create_workspace("acme").unwrap();
//! let (info, secret) = store.create_key(ws.id, Scope::Write, None).unwrap();
//! assert_eq!(store.authenticate(&secret).unwrap().unwrap().id, info.id);
//! ```

mod error;
mod keys;
mod migrations;
mod sqlite;
mod types;

pub use error::StoreError;
pub use keys::{hash_key, Scope};
pub use sqlite::{database_path, Prepared, SqliteStore, StoreOptions, Synchronous};
pub use types::*;

use parcours_core::time::Micros;
use parcours_core::Event;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The storage boundary. Every method is blocking; async callers wrap calls in
/// `spawn_blocking`. Implementations are shared between threads.
pub trait Store: Send + Sync {
    // Workspaces and keys.
    fn create_workspace(&self, name: &str) -> Result<Workspace>;
    fn workspace_by_name(&self, name: &str) -> Result<Option<Workspace>>;
    fn workspaces(&self) -> Result<Vec<Workspace>>;
    /// Creates a key and returns it in clear text, the only time it is ever visible.
    fn create_key(
        &self,
        workspace: WorkspaceId,
        scope: Scope,
        label: Option<&str>,
    ) -> Result<(KeyInfo, String)>;
    /// The live (not revoked) key matching this secret.
    fn authenticate(&self, secret: &str) -> Result<Option<KeyInfo>>;
    fn keys(&self, workspace: WorkspaceId) -> Result<Vec<KeyInfo>>;
    /// Revokes a key of this workspace; `false` when no such live key exists.
    fn revoke_key(&self, workspace: WorkspaceId, key_id: i64) -> Result<bool>;

    // Events.
    /// Appends events durably, deduplicating by message id within the workspace and
    /// stitching identities. Returns once the batch is committed.
    fn append(&self, workspace: WorkspaceId, events: Vec<Event>) -> Result<AppendOutcome>;
    /// [`Store::append`] without waiting for the commit: `done` is called with the
    /// outcome once the events are committed (or could not be), on the store's own
    /// thread, where it must not block. For callers that wait asynchronously (the HTTP
    /// server hands the outcome to its request's task).
    fn append_then(
        &self,
        workspace: WorkspaceId,
        events: Vec<Event>,
        done: Box<dyn FnOnce(Result<AppendOutcome>) + Send>,
    ) {
        done(self.append(workspace, events))
    }
    /// Makes events ready to append to `workspace`: the work that needs no database
    /// (serialising, hashing), done on the caller's thread as `events` yields them. Bulk
    /// loaders that parse on several threads prepare each event there as soon as it is
    /// parsed: the memory of its parsed objects is then released by the thread that
    /// allocated it while still in cache, which costs far less than on another thread.
    fn prepare(&self, workspace: WorkspaceId, events: &mut dyn Iterator<Item = Event>) -> Prepared;
    /// Appends a stream of prepared chunks, in order, calling `done` with each chunk's
    /// outcome once it is committed. Backends may keep several chunks in flight so that
    /// the next is received while the previous commits; stops at the first error (chunks
    /// already reported to `done` stay committed).
    fn append_prepared(
        &self,
        chunks: &mut dyn Iterator<Item = Prepared>,
        done: &mut dyn FnMut(AppendOutcome),
    ) -> Result<()>;
    /// A bulk loader's estimate of how many events it is about to append to `workspace`.
    /// A backend may size its in-memory structures for them once rather than grow them
    /// as they fill; appends work the same without it, and the estimate bounds nothing.
    fn expect_events(&self, workspace: WorkspaceId, events: u64) -> Result<()> {
        let _ = (workspace, events);
        Ok(())
    }
    /// Calls `f` for every event with `from <= timestamp < to`, in (timestamp, id) order.
    fn scan_time_range(
        &self,
        workspace: WorkspaceId,
        from: Micros,
        to: Micros,
        f: &mut dyn FnMut(StoredEvent),
    ) -> Result<()>;
    /// Calls `f` for every event stored after `after_seq`, in sequence (storage) order, in
    /// bounded memory: what exports read.
    fn scan_events(
        &self,
        workspace: WorkspaceId,
        after_seq: i64,
        f: &mut dyn FnMut(StoredEvent),
    ) -> Result<()>;
    /// The events of one person across all their identities, ordered by (timestamp, id).
    fn person_events(&self, workspace: WorkspaceId, person: PersonId) -> Result<Vec<StoredEvent>>;
    /// One page of a person's events in that order (or its reverse), and how many they
    /// have: only the page's events are read whole, so a person with millions of events
    /// costs a few bytes each, not their events.
    fn person_timeline(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
        page: TimelinePage,
    ) -> Result<Timeline>;
    fn event_count(&self, workspace: WorkspaceId) -> Result<u64>;
    /// Calls `f` for every event stored after `after_seq`, in insertion order, with the
    /// values of `properties` (paths as in journey filters: `a.b`, `context.x`,
    /// `traits.x`). What analysis frames are built and refreshed from.
    fn scan_for_frame(
        &self,
        workspace: WorkspaceId,
        after_seq: i64,
        properties: &[String],
        f: &mut dyn FnMut(&FrameEvent),
    ) -> Result<()>;

    // Identity.
    /// The person behind a userId, an anonymousId or an email (tried in that order).
    fn resolve(&self, workspace: WorkspaceId, identifier: &str) -> Result<Option<PersonId>>;
    fn person(&self, workspace: WorkspaceId, person: PersonId) -> Result<Option<PersonRecord>>;
    /// Every identity of the workspace with its person: the identity map analyses join on.
    fn identity_map(&self, workspace: WorkspaceId, f: &mut dyn FnMut(Identity)) -> Result<()>;
    /// The highest event sequence number and how many person merges and erasures the
    /// workspace has seen: analysis caches compare them to know whether they still hold.
    fn change_counts(&self, workspace: WorkspaceId) -> Result<ChangeCounts>;
    /// The person behind one identity of a known kind.
    fn person_of(
        &self,
        workspace: WorkspaceId,
        kind: IdentityKind,
        value: &str,
    ) -> Result<Option<PersonId>>;
    /// Every account, deal or other group of the workspace.
    fn groups(&self, workspace: WorkspaceId) -> Result<Vec<GroupRecord>>;
    /// Every (person, group id, since) membership of the workspace.
    fn memberships(
        &self,
        workspace: WorkspaceId,
        f: &mut dyn FnMut(PersonId, &str, Micros),
    ) -> Result<()>;
    /// The current value of one trait for every person that has it.
    fn trait_values(
        &self,
        workspace: WorkspaceId,
        key: &str,
        f: &mut dyn FnMut(PersonId, serde_json::Value),
    ) -> Result<()>;
    /// Removes a person's events, identities, traits and memberships, and records that an
    /// erasure happened.
    fn erase_person(&self, workspace: WorkspaceId, person: PersonId) -> Result<ErasureReport>;

    /// Deletes a workspace and everything it holds (events, persons, identities, traits,
    /// groups, keys, definitions, ad costs), and records the deletion as an erasure (its
    /// counts, not its content). Its id is never given to another workspace.
    fn delete_workspace(&self, workspace: WorkspaceId) -> Result<WorkspaceDeletion>;

    // Journey definitions.
    /// Creates a journey (`id` None) or replaces one; `Ok(None)` when `id` names no journey
    /// of the workspace. Fails with [`StoreError::Conflict`] when the name is taken.
    fn save_journey(
        &self,
        workspace: WorkspaceId,
        id: Option<i64>,
        name: &str,
        definition: &serde_json::Value,
    ) -> Result<Option<JourneyRecord>>;
    fn journeys(&self, workspace: WorkspaceId) -> Result<Vec<JourneyRecord>>;
    fn journey(&self, workspace: WorkspaceId, id: i64) -> Result<Option<JourneyRecord>>;
    /// `false` when no such journey exists.
    fn delete_journey(&self, workspace: WorkspaceId, id: i64) -> Result<bool>;
    /// Creates or replaces the workspace's KPI definition `id` (JSON).
    fn save_kpi(
        &self,
        workspace: WorkspaceId,
        id: &str,
        definition: &serde_json::Value,
    ) -> Result<()>;
    /// The workspace's KPI definitions, by id.
    fn kpis(&self, workspace: WorkspaceId) -> Result<Vec<serde_json::Value>>;
    /// `false` when no such KPI definition exists.
    fn delete_kpi(&self, workspace: WorkspaceId, id: &str) -> Result<bool>;

    // Survey definitions.
    /// Creates or replaces the workspace's survey definition `id` (JSON).
    fn save_survey(
        &self,
        workspace: WorkspaceId,
        id: &str,
        definition: &serde_json::Value,
    ) -> Result<()>;
    /// The workspace's survey definitions, by id.
    fn surveys(&self, workspace: WorkspaceId) -> Result<Vec<serde_json::Value>>;
    /// `false` when no such survey definition exists.
    fn delete_survey(&self, workspace: WorkspaceId, id: &str) -> Result<bool>;
    /// A stamp of the workspace's survey definitions, different after any of them is
    /// created, replaced or deleted, by this process or another: what a caller derived
    /// from the definitions holds while the stamp does.
    fn surveys_stamp(&self, workspace: WorkspaceId) -> Result<SurveysStamp>;

    /// The server secret called `name` (32 random bytes), created on first use and kept
    /// with the data.
    fn secret(&self, name: &str) -> Result<Vec<u8>>;

    // Costs.
    /// Inserts or replaces ad costs (keyed by day, campaign, channel, source).
    fn upsert_costs(&self, workspace: WorkspaceId, rows: Vec<AdCost>) -> Result<usize>;
    fn costs(&self, workspace: WorkspaceId) -> Result<Vec<AdCost>>;

    /// A directory beside the data where analysis caches may be kept; `None` when the
    /// backend has no local directory.
    fn cache_dir(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// Write jobs waiting to be committed (for `/metrics`); 0 where not meaningful.
    fn queue_depth(&self) -> usize {
        0
    }

    /// Stops accepting writes and commits everything already accepted. Idempotent.
    fn close(&self) {}
}

/// Plain batched inserts with the store's own statement and row encoding, without
/// deduplication checks, identity stitching or the writer: the ceiling the benchmarks
/// compare the real append path against. Not for production use.
pub mod ceiling {
    pub use crate::sqlite::ceiling::{insert_plain, prepare};
}
