//! The SQLite backend: one database file `parcours.db` in the data directory, WAL mode,
//! one writer thread (see `writer`), and a small pool of read-only connections.
//!
//! Durability: with [`Synchronous::Full`] (the default) a commit is on disk before
//! `append` returns, so an acknowledged event survives a power loss; with
//! [`Synchronous::Normal`] it survives a crash of the process but the last commits may be
//! lost on power loss, in exchange for fewer fsyncs.

pub(crate) mod blocks;
mod identity;
#[cfg(test)]
mod plans;
mod read;
mod rows;
mod writer;

pub(crate) mod ceiling {
    //! See [`crate::ceiling`].
    use super::blocks::{self, Messages};
    use super::{rows, Prepared};
    use crate::types::WorkspaceId;
    use crate::Result;
    use parcours_core::Event;

    /// `Store::prepare` without a store.
    pub fn prepare(workspace: WorkspaceId, events: &mut dyn Iterator<Item = Event>) -> Prepared {
        Prepared::new(workspace, events)
    }

    /// Writes prepared events (see `Store::prepare`) in one transaction as the store
    /// writes them, in blocks, without deduplication or identity stitching; they are
    /// dropped before it returns, as the writer drops what it stored.
    pub fn insert_plain(conn: &mut rusqlite::Connection, events: Prepared) -> Result<usize> {
        let workspace = events.workspace;
        let rows: Vec<rows::EncodedRef> = events.events.iter().collect();
        let tx = conn.transaction()?;
        blocks::append(&tx, &mut Messages::default(), workspace, &rows)?;
        tx.commit()?;
        Ok(rows.len())
    }
}

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::thread::JoinHandle;

use parcours_core::time::Micros;
use parcours_core::Event;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::keys::{generate, hash_key, Scope};
use crate::types::*;
use crate::{migrations, Result, Store, StoreError};
use writer::{Job, WriterHandle};

/// Events made ready to append (see `Store::prepare`): their JSON columns as text, their
/// message hashes, the emails they declare. Opaque outside the store.
pub struct Prepared {
    workspace: WorkspaceId,
    events: rows::Encodeds,
}

impl Prepared {
    fn new(workspace: WorkspaceId, events: &mut dyn Iterator<Item = Event>) -> Prepared {
        // Sized up front for the events that may come (an import chunk says how many rows
        // it holds), so the vector is not moved as it grows.
        let mut prepared =
            rows::Encodeds::with_capacity(events.size_hint().1.unwrap_or(0).min(1 << 16));
        for event in events {
            prepared.push(workspace, event);
        }
        Prepared {
            workspace,
            events: prepared,
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Chunks of prepared events an import keeps queued for the writer: with 4 (rather than
/// 2), a 1.25 M-row import commits 184 times instead of 309.
const IN_FLIGHT: usize = 4;

/// How hard SQLite works to make a commit durable (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// fsync the WAL at every commit: survives power loss.
    Full,
    /// fsync only at checkpoints: survives a process crash, may lose the last commits on
    /// power loss.
    Normal,
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub synchronous: Synchronous,
    /// Read-only connections kept open for queries.
    pub readers: usize,
    /// Write jobs that may wait for the writer before `append` blocks.
    pub queue_capacity: usize,
    /// Most events committed in one transaction (several appends are grouped up to this).
    pub max_group_events: usize,
    /// SQLite page cache of the writer connection, in MiB. Index pages of a large store
    /// must fit here for inserts to stay fast.
    pub cache_mb: u64,
    /// Memory-mapped reads, in MiB (0 turns them off): pages are read from the OS page
    /// cache without a system call.
    pub mmap_mb: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            synchronous: Synchronous::Full,
            readers: 4,
            queue_capacity: 1024,
            max_group_events: 20_000,
            cache_mb: 256,
            mmap_mb: 4096,
        }
    }
}

pub struct SqliteStore {
    path: PathBuf,
    writer: RwLock<Option<WriterHandle>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    max_readers: usize,
}

/// Prepared statements each connection keeps (more than any one of them runs).
const STATEMENT_CACHE: usize = 128;

/// The database file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("parcours.db")
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`, applies migrations and starts
    /// the writer thread.
    pub fn open(data_dir: &Path, options: StoreOptions) -> Result<SqliteStore> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.display().to_string(),
            source,
        })?;
        let path = database_path(data_dir);
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            match options.synchronous {
                Synchronous::Full => "FULL",
                Synchronous::Normal => "NORMAL",
            },
        )?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "cache_size", -((options.cache_mb * 1024) as i64))?;
        conn.pragma_update(None, "mmap_size", (options.mmap_mb * 1024 * 1024) as i64)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // The writer runs a few dozen distinct statements (stitching, merges, blocks,
        // keys): rusqlite's default cache of 16 would evict and re-parse them per event.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrations::apply(&mut conn)?;
        let (handle, thread) = writer::spawn(conn, &options)?;
        Ok(SqliteStore {
            path,
            writer: RwLock::new(Some(handle)),
            thread: Mutex::new(Some(thread)),
            readers: Mutex::new(Vec::new()),
            max_readers: options.readers.max(1),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting writes, lets the writer commit everything already queued, and
    /// waits for it. Idempotent; also run on drop.
    pub fn close(&self) {
        self.writer
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
    }

    /// Jobs waiting for the writer.
    pub fn queue_depth(&self) -> usize {
        self.writer
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|w| w.depth())
            .unwrap_or(0)
    }

    fn send(&self, job: Job) -> Result<()> {
        self.send_or_return(job).map_err(|_| StoreError::Closed)
    }

    /// Queues a job for the writer, or gives it back when the store is closed.
    fn send_or_return(&self, job: Job) -> std::result::Result<(), Job> {
        let guard = self.writer.read().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(writer) => writer.send(job),
            None => Err(job),
        }
    }

    /// Runs `f` on the writer thread, inside its own transaction, and waits for it.
    fn on_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction, &mut writer::Caches) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send(Job::Run(Box::new(move |state| {
            let _ = tx.send(state.in_transaction(f));
        })))?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(30))?;
                c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                c
            }
        };
        let result = f(&conn);
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < self.max_readers {
            pool.push(conn);
        }
        result
    }
}

/// The tables of JSON definitions a workspace keeps by id (the API's form).
#[derive(Debug, Clone, Copy)]
enum Definitions {
    Kpi,
    Survey,
}

impl Definitions {
    fn upsert(self) -> &'static str {
        match self {
            Definitions::Kpi => "INSERT INTO kpi_definitions (workspace_id, id, definition, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (workspace_id, id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at",
            Definitions::Survey => "INSERT INTO survey_definitions (workspace_id, id, definition, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (workspace_id, id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Definitions::Kpi => {
                "SELECT definition FROM kpi_definitions WHERE workspace_id = ?1 ORDER BY id"
            }
            Definitions::Survey => {
                "SELECT definition FROM survey_definitions WHERE workspace_id = ?1 ORDER BY id"
            }
        }
    }

    fn delete(self) -> &'static str {
        match self {
            Definitions::Kpi => "DELETE FROM kpi_definitions WHERE workspace_id = ?1 AND id = ?2",
            Definitions::Survey => {
                "DELETE FROM survey_definitions WHERE workspace_id = ?1 AND id = ?2"
            }
        }
    }
}

impl SqliteStore {
    fn save_definition(
        &self,
        table: Definitions,
        workspace: WorkspaceId,
        id: &str,
        definition: &serde_json::Value,
    ) -> Result<()> {
        let id = id.to_string();
        let text = definition.to_string();
        self.on_writer(move |tx, _| {
            tx.execute(
                table.upsert(),
                rusqlite::params![workspace, id, text, now_micros()],
            )?;
            Ok(())
        })
    }

    fn definitions(
        &self,
        table: Definitions,
        workspace: WorkspaceId,
    ) -> Result<Vec<serde_json::Value>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(table.list())?;
            let rows = stmt.query_map(rusqlite::params![workspace], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for text in rows {
                out.push(serde_json::from_str(&text?).unwrap_or(serde_json::Value::Null));
            }
            Ok(out)
        })
    }

    fn delete_definition(
        &self,
        table: Definitions,
        workspace: WorkspaceId,
        id: &str,
    ) -> Result<bool> {
        let id = id.to_string();
        self.on_writer(move |tx, _| {
            Ok(tx.execute(table.delete(), rusqlite::params![workspace, id])? > 0)
        })
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn now_micros() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl Store for SqliteStore {
    fn create_workspace(&self, name: &str) -> Result<Workspace> {
        let name = name.to_string();
        self.on_writer(move |tx, _| {
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM workspaces WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_some() {
                return Err(StoreError::WorkspaceExists(name));
            }
            let created_at = now_micros();
            // Never the id of a deleted workspace (its erasure record keeps it, where
            // SQLite would give the highest id again): the erasure records, logs and
            // anything outside that named the deleted one would name the new one.
            tx.execute(
                "INSERT INTO workspaces (id, name, created_at) VALUES (
                    max((SELECT coalesce(max(id), 0) FROM workspaces),
                        (SELECT coalesce(max(workspace_id), 0) FROM erasures)) + 1,
                    ?1, ?2)",
                rusqlite::params![name, created_at],
            )?;
            Ok(Workspace {
                id: tx.last_insert_rowid(),
                name,
                created_at,
            })
        })
    }

    fn workspace_by_name(&self, name: &str) -> Result<Option<Workspace>> {
        self.with_reader(|c| {
            Ok(c.query_row(
                "SELECT id, name, created_at FROM workspaces WHERE name = ?1",
                [name],
                |r| {
                    Ok(Workspace {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        created_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn workspaces(&self) -> Result<Vec<Workspace>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare("SELECT id, name, created_at FROM workspaces ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(Workspace {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn create_key(
        &self,
        workspace: WorkspaceId,
        scope: Scope,
        label: Option<&str>,
    ) -> Result<(KeyInfo, String)> {
        let label = label.map(str::to_string);
        self.on_writer(move |tx, _| {
            let secret = generate(scope);
            let prefix: String = secret.chars().take(10).collect();
            let created_at = now_micros();
            tx.execute(
                "INSERT INTO api_keys (workspace_id, scope, hash, prefix, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![workspace, scope.as_str(), hash_key(&secret).as_slice(), prefix, label, created_at],
            )?;
            let info = KeyInfo { id: tx.last_insert_rowid(), workspace_id: workspace, scope, prefix, label, created_at, revoked_at: None };
            Ok((info, secret))
        })
    }

    fn authenticate(&self, secret: &str) -> Result<Option<KeyInfo>> {
        let hash = hash_key(secret);
        // Once per request: the statement is kept prepared (parsing it again was 3–4% of
        // the server's CPU under ingestion load).
        self.with_reader(|c| {
            let key = c
                .prepare_cached(&format!(
                    "SELECT {} FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL",
                    rows::KEY_COLUMNS
                ))?
                .query_row([hash.as_slice()], rows::key_info)
                .optional()?;
            Ok(key)
        })
    }

    fn keys(&self, workspace: WorkspaceId) -> Result<Vec<KeyInfo>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {} FROM api_keys WHERE workspace_id = ?1 ORDER BY id",
                rows::KEY_COLUMNS
            ))?;
            let keys = stmt
                .query_map([workspace], rows::key_info)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(keys)
        })
    }

    fn revoke_key(&self, workspace: WorkspaceId, key_id: i64) -> Result<bool> {
        self.on_writer(move |tx, _| {
            let n = tx.execute(
                "UPDATE api_keys SET revoked_at = ?3 WHERE id = ?1 AND workspace_id = ?2 AND revoked_at IS NULL",
                rusqlite::params![key_id, workspace, now_micros()],
            )?;
            Ok(n == 1)
        })
    }

    fn append(&self, workspace: WorkspaceId, events: Vec<Event>) -> Result<AppendOutcome> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.append_then(workspace, events, writer::reply_to(tx));
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    fn append_then(
        &self,
        workspace: WorkspaceId,
        events: Vec<Event>,
        done: Box<dyn FnOnce(Result<AppendOutcome>) + Send>,
    ) {
        if events.is_empty() {
            return done(Ok(AppendOutcome::default()));
        }
        // Encoding happens here, on the caller's thread, not on the single writer.
        let Prepared { workspace, events } = Prepared::new(workspace, &mut events.into_iter());
        // Given back when the store is closed, so that `done` is called all the same.
        if let Err(Job::Append { reply, .. }) = self.send_or_return(Job::Append {
            workspace,
            events,
            reply: done,
        }) {
            reply(Err(StoreError::Closed));
        }
    }

    fn prepare(&self, workspace: WorkspaceId, events: &mut dyn Iterator<Item = Event>) -> Prepared {
        Prepared::new(workspace, events)
    }

    fn append_prepared(
        &self,
        chunks: &mut dyn Iterator<Item = Prepared>,
        done: &mut dyn FnMut(AppendOutcome),
    ) -> Result<()> {
        // Chunks in flight: while the writer commits, the next ones queue, and a writer
        // that fell behind commits the queued ones together (fewer fsyncs). It takes jobs
        // in queue order, so chunks commit in order.
        let mut pending = std::collections::VecDeque::new();
        for Prepared { workspace, events } in chunks {
            if events.is_empty() {
                continue;
            }
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            self.send(Job::Append {
                workspace,
                events,
                reply: writer::reply_to(tx),
            })?;
            pending.push_back(rx);
            if pending.len() >= IN_FLIGHT {
                let rx: std::sync::mpsc::Receiver<Result<AppendOutcome>> =
                    pending.pop_front().expect("chunks pending");
                done(rx.recv().map_err(|_| StoreError::Closed)??);
            }
        }
        for rx in pending {
            done(rx.recv().map_err(|_| StoreError::Closed)??);
        }
        Ok(())
    }

    fn expect_events(&self, workspace: WorkspaceId, events: u64) -> Result<()> {
        let events = usize::try_from(events).unwrap_or(usize::MAX);
        self.on_writer(move |tx, caches| {
            caches.messages.expect(tx, workspace, events)?;
            caches.identities.expect(tx, workspace, events)
        })
    }

    fn scan_time_range(
        &self,
        workspace: WorkspaceId,
        from: Micros,
        to: Micros,
        f: &mut dyn FnMut(StoredEvent),
    ) -> Result<()> {
        self.with_reader(|c| read::scan_time_range(c, workspace, from, to, f))
    }

    fn scan_events(
        &self,
        workspace: WorkspaceId,
        after_seq: i64,
        f: &mut dyn FnMut(StoredEvent),
    ) -> Result<()> {
        self.with_reader(|c| read::scan_events(c, workspace, after_seq, f))
    }

    fn person_events(&self, workspace: WorkspaceId, person: PersonId) -> Result<Vec<StoredEvent>> {
        self.with_reader(|c| read::person_events(c, workspace, person))
    }

    fn person_timeline(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
        page: TimelinePage,
    ) -> Result<Timeline> {
        self.with_reader(|c| read::person_timeline(c, workspace, person, page))
    }

    fn event_count(&self, workspace: WorkspaceId) -> Result<u64> {
        self.with_reader(|c| {
            Ok(c.query_row(
                "SELECT coalesce(sum(events), 0) FROM event_blocks INDEXED BY event_blocks_workspace WHERE workspace_id = ?1",
                [workspace],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    fn resolve(&self, workspace: WorkspaceId, identifier: &str) -> Result<Option<PersonId>> {
        self.with_reader(|c| read::resolve(c, workspace, identifier))
    }

    fn person(&self, workspace: WorkspaceId, person: PersonId) -> Result<Option<PersonRecord>> {
        self.with_reader(|c| read::person(c, workspace, person))
    }

    fn identity_map(&self, workspace: WorkspaceId, f: &mut dyn FnMut(Identity)) -> Result<()> {
        self.with_reader(|c| read::identity_map(c, workspace, f))
    }

    fn scan_for_frame(
        &self,
        workspace: WorkspaceId,
        after_seq: i64,
        properties: &[String],
        f: &mut dyn FnMut(&FrameEvent),
    ) -> Result<()> {
        self.with_reader(|c| read::scan_for_frame(c, workspace, after_seq, properties, f))
    }

    fn cache_dir(&self) -> Option<PathBuf> {
        self.path.parent().map(|d| d.join("frames"))
    }

    fn change_counts(&self, workspace: WorkspaceId) -> Result<ChangeCounts> {
        self.with_reader(|c| {
            let count = |sql: &str| -> Result<u64> {
                Ok(c.prepare_cached(sql)?
                    .query_row([workspace], |r| r.get::<_, i64>(0))? as u64)
            };
            let last_seq: Option<i64> =
                c.prepare_cached("SELECT max(last_seq) FROM event_blocks WHERE workspace_id = ?1")?.query_row([workspace], |r| r.get(0))?;
            Ok(ChangeCounts {
                last_seq: last_seq.unwrap_or(0),
                merges: count("SELECT count(*) FROM person_merges INDEXED BY person_merges_from WHERE workspace_id = ?1")?,
                erasures: count("SELECT count(*) FROM erasures WHERE workspace_id = ?1")?,
            })
        })
    }

    fn person_of(
        &self,
        workspace: WorkspaceId,
        kind: IdentityKind,
        value: &str,
    ) -> Result<Option<PersonId>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached(
                "SELECT person_id FROM identities WHERE workspace_id = ?1 AND kind = ?2 AND value = ?3",
            )?
            .query_row(rusqlite::params![workspace, kind.code(), value], |r| r.get(0))
            .optional()?)
        })
    }

    fn groups(&self, workspace: WorkspaceId) -> Result<Vec<GroupRecord>> {
        self.with_reader(|c| read::groups(c, workspace))
    }

    fn memberships(
        &self,
        workspace: WorkspaceId,
        f: &mut dyn FnMut(PersonId, &str, Micros),
    ) -> Result<()> {
        self.with_reader(|c| read::memberships(c, workspace, f))
    }

    fn trait_values(
        &self,
        workspace: WorkspaceId,
        key: &str,
        f: &mut dyn FnMut(PersonId, serde_json::Value),
    ) -> Result<()> {
        self.with_reader(|c| read::trait_values(c, workspace, key, f))
    }

    fn erase_person(&self, workspace: WorkspaceId, person: PersonId) -> Result<ErasureReport> {
        let (mut report, emails) = self.on_writer(move |tx, cache| {
            identity::erase(tx, cache, workspace, person, now_micros())
        })?;
        report.same_email_persons =
            self.with_reader(|c| identity::declaring(c, workspace, &emails))?;
        Ok(report)
    }

    fn delete_workspace(&self, workspace: WorkspaceId) -> Result<WorkspaceDeletion> {
        self.on_writer(move |tx, caches| {
            let count = |sql: &str| -> Result<u64> {
                let n: i64 = tx.query_row(sql, [workspace], |r| r.get(0))?;
                Ok(n as u64)
            };
            let events_deleted = count(
                "SELECT coalesce(sum(events), 0) FROM event_blocks WHERE workspace_id = ?1",
            )?;
            // Persons with identities: a merged person's row stays, without.
            let persons_deleted = count(
                "SELECT count(DISTINCT person_id) FROM identities INDEXED BY identities_person WHERE workspace_id = ?1",
            )?;
            let identities_deleted =
                count("SELECT count(*) FROM identities WHERE workspace_id = ?1")?;
            let keys_deleted = count("SELECT count(*) FROM api_keys WHERE workspace_id = ?1")?;
            // Every table that holds a workspace's rows has a `workspace_id` column: read
            // from the schema, so that a table added later is not forgotten. The erasure
            // records stay: counts and times, no personal data, and they keep the id from
            // being given to another workspace.
            let tables: Vec<String> = tx
                .prepare(
                    "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
                     WHERE m.type = 'table' AND p.name = 'workspace_id' AND m.name <> 'erasures'
                     ORDER BY m.name",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for table in &tables {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE workspace_id = ?1"),
                    [workspace],
                )?;
            }
            tx.execute("DELETE FROM workspaces WHERE id = ?1", [workspace])?;
            let erasure_id = identity::record_erasure(
                tx,
                workspace,
                now_micros(),
                events_deleted,
                identities_deleted,
            )?;
            caches.identities.forget_workspace(workspace);
            caches.messages.forget_workspace(workspace);
            Ok(WorkspaceDeletion {
                erasure_id,
                events_deleted,
                persons_deleted,
                identities_deleted,
                keys_deleted,
            })
        })
    }

    fn upsert_costs(&self, workspace: WorkspaceId, rows: Vec<AdCost>) -> Result<usize> {
        self.on_writer(move |tx, _| {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO ad_costs (workspace_id, day, campaign, channel, source, cost, currency, impressions, clicks)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for r in &rows {
                stmt.execute(rusqlite::params![workspace, r.day, r.campaign, r.channel, r.source, r.cost, r.currency, r.impressions, r.clicks])?;
            }
            Ok(rows.len())
        })
    }

    fn queue_depth(&self) -> usize {
        SqliteStore::queue_depth(self)
    }

    fn close(&self) {
        SqliteStore::close(self)
    }

    fn save_journey(
        &self,
        workspace: WorkspaceId,
        id: Option<i64>,
        name: &str,
        definition: &serde_json::Value,
    ) -> Result<Option<JourneyRecord>> {
        let name = name.to_string();
        let text = definition.to_string();
        self.on_writer(move |tx, _| {
            let now = now_micros();
            let taken: Option<i64> = tx
                .query_row(
                    "SELECT id FROM journeys WHERE workspace_id = ?1 AND name = ?2",
                    rusqlite::params![workspace, name],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some_and(|t| Some(t) != id) {
                return Err(StoreError::JourneyExists(name));
            }
            let id = match id {
                None => {
                    tx.execute(
                        "INSERT INTO journeys (workspace_id, name, definition, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                        rusqlite::params![workspace, name, text, now],
                    )?;
                    tx.last_insert_rowid()
                }
                Some(id) => {
                    let n = tx.execute(
                        "UPDATE journeys SET name = ?3, definition = ?4, updated_at = ?5 WHERE id = ?2 AND workspace_id = ?1",
                        rusqlite::params![workspace, id, name, text, now],
                    )?;
                    if n == 0 {
                        return Ok(None);
                    }
                    id
                }
            };
            read::journey(tx, workspace, id)
        })
    }

    fn journeys(&self, workspace: WorkspaceId) -> Result<Vec<JourneyRecord>> {
        self.with_reader(|c| read::journeys(c, workspace))
    }

    fn journey(&self, workspace: WorkspaceId, id: i64) -> Result<Option<JourneyRecord>> {
        self.with_reader(|c| read::journey(c, workspace, id))
    }

    fn delete_journey(&self, workspace: WorkspaceId, id: i64) -> Result<bool> {
        self.on_writer(move |tx, _| {
            Ok(tx.execute(
                "DELETE FROM journeys WHERE id = ?2 AND workspace_id = ?1",
                rusqlite::params![workspace, id],
            )? > 0)
        })
    }

    fn save_kpi(
        &self,
        workspace: WorkspaceId,
        id: &str,
        definition: &serde_json::Value,
    ) -> Result<()> {
        self.save_definition(Definitions::Kpi, workspace, id, definition)
    }

    fn kpis(&self, workspace: WorkspaceId) -> Result<Vec<serde_json::Value>> {
        self.definitions(Definitions::Kpi, workspace)
    }

    fn delete_kpi(&self, workspace: WorkspaceId, id: &str) -> Result<bool> {
        self.delete_definition(Definitions::Kpi, workspace, id)
    }

    fn save_survey(
        &self,
        workspace: WorkspaceId,
        id: &str,
        definition: &serde_json::Value,
    ) -> Result<()> {
        self.save_definition(Definitions::Survey, workspace, id, definition)
    }

    fn surveys(&self, workspace: WorkspaceId) -> Result<Vec<serde_json::Value>> {
        self.definitions(Definitions::Survey, workspace)
    }

    fn delete_survey(&self, workspace: WorkspaceId, id: &str) -> Result<bool> {
        self.delete_definition(Definitions::Survey, workspace, id)
    }

    fn surveys_stamp(&self, workspace: WorkspaceId) -> Result<SurveysStamp> {
        self.with_reader(|c| {
            Ok(c.prepare_cached(
                "SELECT count(*), coalesce(max(updated_at), 0), total(updated_at) FROM survey_definitions WHERE workspace_id = ?1",
            )?
            .query_row([workspace], |r| {
                Ok(SurveysStamp {
                    count: r.get::<_, i64>(0)? as u64,
                    latest: r.get(1)?,
                    total: r.get(2)?,
                })
            })?)
        })
    }

    fn secret(&self, name: &str) -> Result<Vec<u8>> {
        let name = name.to_string();
        // Created by the writer, so that two first uses at once agree on one value.
        self.on_writer(move |tx, _| {
            let mut fresh = [0u8; 32];
            getrandom::fill(&mut fresh).expect("the operating system's random source failed");
            tx.execute(
                "INSERT INTO secrets (name, value, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
                rusqlite::params![name, fresh.to_vec(), now_micros()],
            )?;
            Ok(tx.query_row(
                "SELECT value FROM secrets WHERE name = ?1",
                rusqlite::params![name],
                |r| r.get::<_, Vec<u8>>(0),
            )?)
        })
    }

    fn costs(&self, workspace: WorkspaceId) -> Result<Vec<AdCost>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(
                "SELECT day, campaign, channel, source, cost, currency, impressions, clicks FROM ad_costs
                 WHERE workspace_id = ?1 ORDER BY day, campaign, channel, source",
            )?;
            let rows = stmt.query_map([workspace], |r| {
                Ok(AdCost {
                    day: r.get(0)?,
                    campaign: r.get(1)?,
                    channel: r.get(2)?,
                    source: r.get(3)?,
                    cost: r.get(4)?,
                    currency: r.get(5)?,
                    impressions: r.get(6)?,
                    clicks: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
