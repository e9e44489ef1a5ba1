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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction};

use super::blocks::{self, Messages};
use super::identity::{self, Cache};
use super::rows::{EncodedRef, Encodeds};
use super::StoreOptions;
use crate::types::{AppendOutcome, WorkspaceId};
use crate::{Result, StoreError};

type Reply = SyncSender<Result<AppendOutcome>>;

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
    pub(super) fn send(&self, job: Job) -> Result<()> {
        self.depth.fetch_add(1, Ordering::Relaxed);
        self.tx.send(job).map_err(|_| {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            StoreError::Closed
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
}

impl WriterState {
    pub(super) fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&Transaction, &mut Caches) -> Result<T>,
    ) -> Result<T> {
        let tx = self.conn.transaction()?;
        let result = f(&tx, &mut self.caches).and_then(|value| Ok(tx.commit().map(|()| value)?));
        if result.is_err() {
            // The caches may hold identities, messages and sequence numbers of the
            // rolled-back transaction: they are reloaded from the database.
            self.caches.identities.clear();
            self.caches.messages.clear();
        }
        result
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
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(error) => {
            tracing::error!(%error, events, "group commit failed");
            for (_, _, reply) in group {
                let _ = reply.send(Err(StoreError::CommitFailed(error.to_string())));
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
