//! The single writer: one thread owns the only read-write connection and commits in
//! groups.
//!
//! Appends queue up in a bounded channel. The writer takes the first waiting append,
//! gathers every other append already queued (up to `max_group_events` events), commits
//! them in one transaction, then answers each caller. One fsync is thus shared by many
//! requests (group commit), and an answer always means "committed". Other writes (keys,
//! erasure, costs) run alone in their own transaction, in queue order.
//!
//! When every sender is gone the loop ends after draining the queue: closing the store
//! never loses a job that was accepted.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use parcours_core::event::declared_email;
use parcours_core::{EventKind, JsonObject};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::blocks::{self, Messages};
use super::identity::{self, Cache};
use super::rows::{EncodedRef, Encodeds};
use super::StoreOptions;
use crate::types::{AppendOutcome, IdentityKind, PersonId, WorkspaceId};
use crate::{Result, StoreError};

/// What the writer calls with an append's outcome once it is committed (or failed), on
/// its own thread: it must not block.
pub(super) type Reply = Box<dyn FnOnce(Result<AppendOutcome>) + Send>;

/// A reply that hands the outcome to a receiver the caller waits on.
pub(super) fn reply_to(tx: SyncSender<Result<AppendOutcome>>) -> Reply {
    Box::new(move |outcome| {
        let _ = tx.send(outcome);
    })
}

pub(super) enum Job {
    Append {
        workspace: WorkspaceId,
        events: Encodeds,
        reply: Reply,
    },
    Run(Box<dyn FnOnce(&mut WriterState) + Send>),
}

pub(super) struct WriterHandle {
    tx: SyncSender<Job>,
    depth: Arc<AtomicUsize>,
}

impl WriterHandle {
    /// Queues a job, waiting while the queue is full; gives it back when the writer has
    /// stopped (so that an append's reply can still be called).
    pub(super) fn send(&self, job: Job) -> std::result::Result<(), Job> {
        self.depth.fetch_add(1, Ordering::Relaxed);
        self.tx.send(job).map_err(|returned| {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            returned.0
        })
    }

    pub(super) fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }
}

pub(super) struct WriterState {
    conn: Connection,
    caches: Caches,
}

/// What the writer keeps in memory between transactions.
#[derive(Default)]
pub(super) struct Caches {
    pub identities: Cache,
    pub messages: Messages,
    /// The database as the writer left it after its last transaction; `None` when the
    /// caches are empty.
    marks: Option<Marks>,
}

/// What the writer last saw of the database, so that it notices what other processes
/// committed since (a `parcours import` or `parcours erase` while the server runs, a
/// second server on the same data directory): its caches would not hold their events'
/// messages and identities, nor the sequence numbers they took, and it would store a
/// message twice, reuse sequence numbers and fail on identities it believed new.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Marks {
    /// `PRAGMA data_version`, which changes when another connection commits (and not
    /// when this one does).
    version: i64,
    /// The highest sequence number given, in every workspace.
    last_seq: i64,
    /// The last erasure recorded.
    erasure: i64,
    /// The last person merge recorded.
    merge: i64,
}

/// Events stored by another process in a workspace beyond which the writer reloads the
/// workspace's identities (on their next look-up) rather than read again those of each
/// event.
const CATCH_UP_EVENTS: i64 = 100_000;

impl WriterState {
    pub(super) fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&Transaction, &mut Caches) -> Result<T>,
    ) -> Result<T> {
        // Immediate: the write lock is taken (or waited for) first, so nothing another
        // process commits can fall between what `follow` reads and this transaction's
        // writes.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let caches = &mut self.caches;
        let result = follow(&tx, caches).and_then(|version| {
            let value = f(&tx, caches)?;
            caches.marks = Some(marks(&tx, version)?);
            tx.commit()?;
            Ok(value)
        });
        if result.is_err() {
            // The caches may hold identities, messages and sequence numbers of the
            // rolled-back transaction: they are reloaded from the database.
            self.caches.identities.clear();
            self.caches.messages.clear();
            self.caches.marks = None;
        }
        result
    }
}

fn data_version(tx: &Transaction) -> Result<i64> {
    Ok(tx
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}

fn marks(tx: &Transaction, version: i64) -> Result<Marks> {
    Ok(tx
        .prepare_cached(
            "SELECT (SELECT coalesce(max(last_seq), 0) FROM event_blocks INDEXED BY event_blocks_seq),
                    (SELECT coalesce(max(id), 0) FROM erasures),
                    (SELECT coalesce(max(rowid), 0) FROM person_merges)",
        )?
        .query_row([], |r| {
            Ok(Marks {
                version,
                last_seq: r.get(0)?,
                erasure: r.get(1)?,
                merge: r.get(2)?,
            })
        })?)
}

/// Brings the caches up to date with what other processes committed since the writer's
/// last transaction, read inside this one (which holds the write lock: nothing else
/// commits meanwhile). Returns the data version to mark the transaction with.
///
/// Their events' message hashes join the sets; the identifiers of their events, and the
/// identities of the persons they merged others into, are read again; the next sequence
/// number is read again. After an erasure by another process (which removes events and
/// identities), both caches are dropped and reload on their next use.
fn follow(tx: &Transaction, caches: &mut Caches) -> Result<i64> {
    let version = data_version(tx)?;
    let Some(seen) = caches.marks else {
        return Ok(version);
    };
    if seen.version == version {
        return Ok(version);
    }
    let now = marks(tx, version)?;
    if now.erasure != seen.erasure {
        tracing::info!(
            "another process erased a person or a workspace: the writer's caches are reloaded"
        );
        caches.identities.clear();
        caches.messages.clear();
        return Ok(version);
    }
    if now.merge != seen.merge {
        let merges: Vec<(WorkspaceId, PersonId)> = tx
            .prepare_cached(
                "SELECT workspace_id, into_person FROM person_merges WHERE rowid > ?1 ORDER BY rowid",
            )?
            .query_map([seen.merge], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (ws, into) in merges {
            caches.identities.refresh_person(tx, ws, into)?;
        }
    }
    if now.last_seq != seen.last_seq {
        caches.messages.forget_next_seq();
        catch_up_events(tx, caches, seen.last_seq)?;
    }
    Ok(version)
}

/// Reads what the caches need of the events other processes stored after sequence
/// number `since`: their message hashes, and the persons their identifiers belong to now.
fn catch_up_events(tx: &Transaction, caches: &mut Caches, since: i64) -> Result<()> {
    let counts: Vec<(WorkspaceId, i64)> = tx
        .prepare_cached(
            "SELECT workspace_id, sum(events) FROM event_blocks INDEXED BY event_blocks_seq WHERE last_seq > ?1 GROUP BY workspace_id",
        )?
        .query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for &(ws, events) in &counts {
        if events > CATCH_UP_EVENTS {
            caches.identities.unload(ws);
        }
        tracing::debug!(workspace = ws, events, "events another process stored");
    }
    let mut stmt = tx.prepare_cached(
        "SELECT id, workspace_id, hashes, data FROM event_blocks INDEXED BY event_blocks_seq WHERE last_seq > ?1 ORDER BY last_seq",
    )?;
    let mut blocks = stmt.query([since])?;
    let mut raw = Vec::new();
    while let Some(r) = blocks.next()? {
        let (id, ws): (i64, WorkspaceId) = (r.get(0)?, r.get(1)?);
        let hashes = r.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
        caches.messages.add_hashes(ws, hashes);
        if !caches.identities.holds_workspace(ws) {
            continue;
        }
        let data = r.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?;
        blocks::decompress_into(id, data, &mut raw)?;
        let mut ids = Vec::new();
        for row in blocks::rows(id, &raw, &[]) {
            let row = row?;
            if row.seq > since {
                identifiers(&row, &mut ids);
            }
        }
        caches
            .identities
            .refresh(tx, ws, ids.iter().map(|(k, v)| (*k, v.as_ref())))?;
    }
    Ok(())
}

/// Adds to `ids` the identifiers stitching ties to a person for a stored event (see
/// `identity::stitch`): its userId, anonymousId, declared email, and an alias's
/// previousId (as either kind). Borrowed from the decoded block, but the email.
fn identifiers<'r>(row: &blocks::Row<'r>, ids: &mut Vec<(IdentityKind, Cow<'r, str>)>) {
    let mut add =
        |kind, value: Option<&'r str>| ids.extend(value.map(|v| (kind, Cow::Borrowed(v))));
    add(IdentityKind::UserId, row.user_id);
    add(IdentityKind::AnonymousId, row.anonymous_id);
    if EventKind::parse(row.kind) == Some(EventKind::Alias) {
        add(IdentityKind::UserId, row.previous_id);
        add(IdentityKind::AnonymousId, row.previous_id);
    }
    let object = |text: Option<&str>| {
        text.and_then(|t| JsonObject::from_text(t.into()).ok())
            .unwrap_or_default()
    };
    if let Some(email) = declared_email(&object(row.traits), &object(row.context)) {
        ids.push((IdentityKind::Email, Cow::Owned(email)));
    }
}

pub(super) fn spawn(
    conn: Connection,
    options: &StoreOptions,
) -> Result<(WriterHandle, JoinHandle<()>)> {
    let (tx, rx) = sync_channel(options.queue_capacity.max(1));
    let depth = Arc::new(AtomicUsize::new(0));
    let max_group = options.max_group_events.max(1);
    let state = WriterState {
        conn,
        caches: Caches::default(),
    };
    let thread_depth = depth.clone();
    let thread = std::thread::Builder::new()
        .name("parcours-writer".into())
        .spawn(move || run(state, rx, thread_depth, max_group))
        .map_err(|source| StoreError::Io {
            path: "writer thread".into(),
            source,
        })?;
    Ok((WriterHandle { tx, depth }, thread))
}

fn run(mut state: WriterState, rx: Receiver<Job>, depth: Arc<AtomicUsize>, max_group: usize) {
    let mut next = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
        };
        match job {
            Job::Run(f) => {
                depth.fetch_sub(1, Ordering::Relaxed);
                f(&mut state);
            }
            Job::Append {
                workspace,
                events,
                reply,
            } => {
                depth.fetch_sub(1, Ordering::Relaxed);
                let mut count = events.len();
                let mut group = vec![(workspace, events, reply)];
                while count < max_group {
                    match rx.try_recv() {
                        Ok(Job::Append {
                            workspace,
                            events,
                            reply,
                        }) => {
                            depth.fetch_sub(1, Ordering::Relaxed);
                            count += events.len();
                            group.push((workspace, events, reply));
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                    }
                }
                commit_group(&mut state, group);
            }
        }
    }
    tracing::debug!("writer drained and stopped");
}

fn commit_group(state: &mut WriterState, group: Vec<(WorkspaceId, Encodeds, Reply)>) {
    let started = std::time::Instant::now();
    let result = state.in_transaction(|tx, caches| {
        let mut stitching = identity::Stitching::new(tx);
        let mut outcomes = Vec::with_capacity(group.len());
        // The group's new events, by workspace, in queue order: one append each.
        let mut rows: Vec<(WorkspaceId, Vec<EncodedRef>)> = Vec::new();
        for (workspace, events, _) in &group {
            let at = match rows.iter().position(|(w, _)| w == workspace) {
                Some(at) => at,
                None => {
                    rows.push((*workspace, Vec::with_capacity(events.len())));
                    rows.len() - 1
                }
            };
            outcomes.push(accept(
                &mut stitching,
                caches,
                *workspace,
                events,
                &mut rows[at].1,
            )?);
        }
        for (workspace, rows) in rows {
            blocks::append(tx, &mut caches.messages, workspace, &rows)?;
        }
        Ok(outcomes)
    });
    let events: usize = group.iter().map(|(_, e, _)| e.len()).sum();
    match result {
        Ok(outcomes) => {
            tracing::trace!(
                events,
                requests = group.len(),
                elapsed_us = started.elapsed().as_micros() as u64,
                "group committed"
            );
            for ((_, _, reply), outcome) in group.into_iter().zip(outcomes) {
                reply(Ok(outcome));
            }
        }
        Err(error) => {
            tracing::error!(%error, events, "group commit failed");
            for (_, _, reply) in group {
                reply(Err(error.for_callers()));
            }
        }
    }
}

/// Deduplicates and stitches one request's events, adding the new ones to `rows`.
fn accept<'a>(
    stitching: &mut identity::Stitching,
    caches: &mut Caches,
    workspace: WorkspaceId,
    events: &'a Encodeds,
    rows: &mut Vec<EncodedRef<'a>>,
) -> Result<AppendOutcome> {
    let mut outcome = AppendOutcome::default();
    // All of them deduplicated first, then the new ones stitched: the same outcome as
    // event by event (stitching does not read the messages), and the set's look-ups,
    // cache misses in a set of millions, run back to back and overlap.
    let first = rows.len();
    outcome.duplicates = caches
        .messages
        .keep_new(stitching.tx, workspace, events.iter(), rows)?;
    for &row in &rows[first..] {
        outcome.inserted += 1;
        identity::stitch(
            stitching,
            &mut caches.identities,
            workspace,
            row,
            &mut outcome,
        )?;
    }
    Ok(outcome)
}
