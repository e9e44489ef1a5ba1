//! Events stored in blocks (see `docs/adr/0003-event-blocks.md`).
//!
//! A block is one row of `event_blocks`: up to [`MAX_EVENTS`] events of one workspace,
//! in sequence order, encoded one after the other and compressed with LZ4. Beside the
//! data, a block keeps its events' 128-bit message hashes (deduplication) and a Bloom
//! filter of its actors (timelines and erasure skip the blocks that cannot hold a
//! person). The table only grows at its end: an append inserts one row per block instead
//! of one row and three random index entries per event.
//!
//! Encoding of one event, in this order: the sequence number as a signed varint delta
//! from the previous event's (the first from 0); then message id, kind, name, user id,
//! anonymous id, group id, previous id; ts, original ts, sent at, received at; channel,
//! campaign name, source, medium, term, content, touchpoint; revenue, currency, online;
//! properties, traits and context as JSON text. Strings are a varint length then UTF-8
//! bytes; optional strings store length + 1 (0 for none); times are zigzag varints,
//! optional ones behind a presence byte; revenue is a presence byte then 8 bytes.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::rows::EncodedRef;
use crate::types::{IdentityKind, WorkspaceId};
use crate::{Result, StoreError};

/// Most events in one block.
pub const MAX_EVENTS: usize = 4096;
/// A workspace's last block with fewer events than this is extended by the next append
/// (rewritten) rather than followed by a new block, so that small commits (an HTTP batch
/// at a time) do not leave a trail of tiny blocks. Each extension reads, decodes,
/// re-encodes, compresses and writes the whole block again: at 512, under 8 HTTP clients
/// sending 100 events a request (commits of a few hundred events), that was 12% of the
/// server's CPU an event (4.6–4.9 µs against 4.1–4.2 at 128). A block of 128 events
/// (about 50 KB before compression) is not tiny: its filter and hashes are a small part
/// of it, and LZ4 compresses it about as well.
const SMALL: usize = 128;
/// The first byte of every block's decompressed data.
const FORMAT: u8 = 1;
/// Bloom filter: bits per distinct actor and probes per look-up (about 1% false
/// positives).
const BLOOM_BITS: usize = 10;
const BLOOM_PROBES: u64 = 7;

/// One event as a block holds it, borrowed from an [`Encoded`] event or a decoded block.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub seq: i64,
    /// [`message_hash`] of the event's workspace and message id.
    pub hash: u128,
    pub message_id: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub user_id: Option<&'a str>,
    pub anonymous_id: Option<&'a str>,
    pub group_id: Option<&'a str>,
    pub previous_id: Option<&'a str>,
    pub ts: i64,
    pub original_ts: Option<i64>,
    pub sent_at: Option<i64>,
    pub received_at: i64,
    pub channel: &'a str,
    pub campaign: Option<&'a str>,
    pub utm_source: Option<&'a str>,
    pub utm_medium: Option<&'a str>,
    pub utm_term: Option<&'a str>,
    pub utm_content: Option<&'a str>,
    pub touchpoint: &'a str,
    pub revenue: Option<f64>,
    pub currency: Option<&'a str>,
    pub online: bool,
    pub properties: Option<&'a str>,
    pub traits: Option<&'a str>,
    pub context: Option<&'a str>,
}

impl<'a> Row<'a> {
    /// The row of an event, with its JSON columns as text; its sequence number and
    /// message hash are given by the caller (`Encoded::new` encodes its body from it).
    pub fn of_event(
        ev: &'a parcours_core::Event,
        properties: Option<&'a str>,
        traits: Option<&'a str>,
        context: Option<&'a str>,
    ) -> Row<'a> {
        let c = &ev.touch.campaign;
        Row {
            seq: 0,
            hash: 0,
            message_id: &ev.message_id,
            kind: ev.kind.as_str(),
            name: &ev.name,
            user_id: ev.user_id.as_deref(),
            anonymous_id: ev.anonymous_id.as_deref(),
            group_id: ev.group_id.as_deref(),
            previous_id: ev.previous_id.as_deref(),
            ts: ev.timestamp,
            original_ts: ev.original_timestamp,
            sent_at: ev.sent_at,
            received_at: ev.received_at,
            channel: &ev.touch.channel,
            campaign: c.name.as_deref(),
            utm_source: c.source.as_deref(),
            utm_medium: c.medium.as_deref(),
            utm_term: c.term.as_deref(),
            utm_content: c.content.as_deref(),
            touchpoint: &ev.touch.touchpoint,
            revenue: ev.touch.revenue,
            currency: ev.touch.currency.as_deref(),
            online: ev.touch.online,
            properties,
            traits,
            context,
        }
    }

    /// The event's actor: its userId when it has one, else its anonymousId (`true` marks
    /// an anonymous actor).
    pub fn actor(&self) -> Option<(bool, &'a str)> {
        match (self.user_id, self.anonymous_id) {
            (Some(u), _) => Some((false, u)),
            (None, Some(a)) => Some((true, a)),
            (None, None) => None,
        }
    }
}

/// An event as a block is built from: a row of a stored block (decoded), or an event on
/// its way in, whose fields the caller's thread already encoded (`EncodedRef::body`) and
/// which the append gives a sequence number.
#[derive(Clone, Copy)]
pub enum BlockEntry<'a> {
    Row(&'a Row<'a>),
    New { seq: i64, event: EncodedRef<'a> },
}

impl BlockEntry<'_> {
    fn seq(&self) -> i64 {
        match self {
            BlockEntry::Row(r) => r.seq,
            BlockEntry::New { seq, .. } => *seq,
        }
    }
}

/// The deduplication key of a message: the first 128 bits of SHA-256 over the workspace
/// id (8 bytes, little-endian) and the message id.
pub fn message_hash(workspace: WorkspaceId, message_id: &str) -> u128 {
    let mut h = Sha256::new();
    h.update(workspace.to_le_bytes());
    h.update(message_id.as_bytes());
    u128::from_le_bytes(h.finalize()[..16].try_into().expect("16 bytes"))
}

/// The Bloom key of an actor: FNV-1a over a kind byte and the identifier, then the
/// SplitMix64 finaliser. Stored in the data: it must never change.
pub fn actor_hash(anonymous: bool, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in std::iter::once(&(anonymous as u8)).chain(id.as_bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The bits an actor sets in a filter of `bytes` bytes (a power of two).
fn bloom_bits(bytes: usize, h: u64) -> impl Iterator<Item = usize> {
    let mask = (bytes as u64 * 8).wrapping_sub(1);
    let (h1, h2) = (h & 0xffff_ffff, (h >> 32) | 1);
    (0..BLOOM_PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) & mask) as usize)
}

fn bloom(mut actors: Vec<u64>) -> Vec<u8> {
    actors.sort_unstable();
    actors.dedup();
    let bits = (actors.len() * BLOOM_BITS).next_power_of_two().max(64);
    let mut filter = vec![0u8; bits / 8];
    for h in actors {
        for bit in bloom_bits(filter.len(), h) {
            filter[bit / 8] |= 1 << (bit % 8);
        }
    }
    filter
}

/// Whether a block's actor filter may hold an actor of this [`actor_hash`] (false
/// positives about 1%, no false negatives).
pub fn may_contain(filter: &[u8], h: u64) -> bool {
    !filter.is_empty()
        && bloom_bits(filter.len(), h).all(|bit| filter[bit / 8] & (1 << (bit % 8)) != 0)
}

/// The actors of one person — its user ids and anonymous ids (emails key no event) —
/// with their filter keys: what timelines and erasure look blocks up by.
pub struct Actors {
    ids: Vec<(bool, String)>,
    keys: Vec<u64>,
}

impl Actors {
    pub fn of(identities: impl IntoIterator<Item = (IdentityKind, String)>) -> Actors {
        let mut ids: Vec<(bool, String)> = identities
            .into_iter()
            .filter_map(|(kind, value)| match kind {
                IdentityKind::UserId => Some((false, value)),
                IdentityKind::AnonymousId => Some((true, value)),
                IdentityKind::Email => None,
            })
            .collect();
        ids.sort();
        ids.dedup();
        let keys = ids.iter().map(|(a, id)| actor_hash(*a, id)).collect();
        Actors { ids, keys }
    }

    /// Whether the row's actor is one of these: a binary search of the sorted ids,
    /// without allocating. A person usually has a few identities, but a server that
    /// sends a new anonymousId with each call of a user gives them one per event (5,001
    /// made a scan of every candidate row's actor against all of them: 0.33 s for a
    /// timeline page).
    pub fn holds(&self, row: &Row) -> bool {
        row.actor().is_some_and(|(a, v)| {
            self.ids
                .binary_search_by(|(pa, pv)| (*pa, pv.as_str()).cmp(&(a, v)))
                .is_ok()
        })
    }
}

/// A block ready to be written.
pub struct Block {
    pub first_seq: i64,
    pub last_seq: i64,
    pub events: i64,
    pub min_ts: i64,
    pub max_ts: i64,
    pub actors: Vec<u8>,
    pub hashes: Vec<u8>,
    pub data: Vec<u8>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            put_varint(out, s.len() as u64 + 1);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

fn put_opt_i64(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_i64(out, v);
        }
    }
}

thread_local! {
    /// The encoder's buffers (events, compressed), kept between blocks: allocating 2 MB
    /// afresh per block cost page faults on every block.
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Encodes rows (in sequence order) into one block.
pub fn encode(rows: &[Row]) -> Block {
    encode_entries(rows.iter().map(BlockEntry::Row))
}

/// Encodes entries (in sequence order) into one block.
pub fn encode_entries<'a>(entries: impl Iterator<Item = BlockEntry<'a>>) -> Block {
    SCRATCH.with_borrow_mut(|(raw, packed)| encode_with(entries, raw, packed))
}

/// Writes a row's fields after its sequence number (see the module's comment): what a
/// block holds of each event. `Encodeds::push` writes an incoming event's with it too.
/// Returns where in `raw` the user, anonymous, group and previous ids were written.
pub fn put_body(raw: &mut Vec<u8>, r: &Row) -> [Option<(usize, usize)>; 4] {
    put_str(raw, r.message_id);
    put_str(raw, r.kind);
    put_str(raw, r.name);
    let ids = [r.user_id, r.anonymous_id, r.group_id, r.previous_id].map(|s| {
        put_opt_str(raw, s);
        s.map(|s| (raw.len() - s.len(), raw.len()))
    });
    put_i64(raw, r.ts);
    put_opt_i64(raw, r.original_ts);
    put_opt_i64(raw, r.sent_at);
    put_i64(raw, r.received_at);
    put_str(raw, r.channel);
    for s in [
        r.campaign,
        r.utm_source,
        r.utm_medium,
        r.utm_term,
        r.utm_content,
    ] {
        put_opt_str(raw, s);
    }
    put_str(raw, r.touchpoint);
    match r.revenue {
        None => raw.push(0),
        Some(v) => {
            raw.push(1);
            raw.extend_from_slice(&v.to_le_bytes());
        }
    }
    put_opt_str(raw, r.currency);
    raw.push(r.online as u8);
    for s in [r.properties, r.traits, r.context] {
        put_opt_str(raw, s);
    }
    ids
}

fn encode_with<'a>(
    entries: impl Iterator<Item = BlockEntry<'a>>,
    raw: &mut Vec<u8>,
    packed: &mut Vec<u8>,
) -> Block {
    raw.clear();
    raw.push(FORMAT);
    let (lower, _) = entries.size_hint();
    let mut hashes = Vec::with_capacity(lower * 16);
    let mut actors = Vec::with_capacity(lower);
    let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
    let (mut first_seq, mut last_seq, mut events) = (None, 0, 0);
    let mut prev = 0i64;
    for entry in entries {
        let seq = entry.seq();
        put_i64(raw, seq.wrapping_sub(prev));
        prev = seq;
        first_seq.get_or_insert(seq);
        last_seq = seq;
        events += 1;
        let (hash, ts, actor) = match entry {
            BlockEntry::Row(r) => {
                put_body(raw, r);
                (r.hash, r.ts, r.actor().map(|(a, id)| actor_hash(a, id)))
            }
            BlockEntry::New { event, .. } => {
                raw.extend_from_slice(event.body());
                (event.hash, event.timestamp, event.actor_key)
            }
        };
        hashes.extend_from_slice(&hash.to_le_bytes());
        actors.extend(actor);
        min_ts = min_ts.min(ts);
        max_ts = max_ts.max(ts);
    }
    Block {
        first_seq: first_seq.unwrap_or(0),
        last_seq,
        events,
        min_ts,
        max_ts,
        actors: bloom(actors),
        hashes,
        data: {
            // The format of `lz4_flex::compress_prepend_size`: the size, then the block.
            packed.resize(lz4_flex::block::get_maximum_output_size(raw.len()), 0);
            let n = lz4_flex::block::compress_into(raw, packed)
                .expect("the output holds the maximum compressed size");
            let mut data = Vec::with_capacity(4 + n);
            data.extend_from_slice(&(raw.len() as u32).to_le_bytes());
            data.extend_from_slice(&packed[..n]);
            data
        },
    }
}

/// A block's data, decompressed.
pub fn decompress(block: i64, data: &[u8]) -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    decompress_into(block, data, &mut raw)?;
    Ok(raw)
}

/// Decompresses a block's data into `raw`, whose allocation callers keep from block to
/// block (a fresh 2 MB buffer per block costs page faults on every block).
pub fn decompress_into(block: i64, data: &[u8], raw: &mut Vec<u8>) -> Result<()> {
    let Some((size, body)) = data.split_first_chunk::<4>() else {
        return Err(corrupt(block, "no size prefix"));
    };
    let size = u32::from_le_bytes(*size) as usize;
    // LZ4 expands at most 255 times: a damaged size prefix must not allocate more.
    if size > body.len().saturating_mul(255).saturating_add(16) {
        return Err(corrupt(block, "impossible size"));
    }
    raw.clear();
    raw.resize(size, 0);
    let n = lz4_flex::block::decompress_into(body, raw)
        .map_err(|e| corrupt(block, &format!("cannot decompress: {e}")))?;
    if n != size {
        return Err(corrupt(block, "shorter than its size prefix"));
    }
    if raw.first() != Some(&FORMAT) {
        return Err(corrupt(block, "unknown block format"));
    }
    Ok(())
}

fn corrupt(block: i64, what: &str) -> StoreError {
    StoreError::Corrupt(format!("event block {block}: {what}"))
}

/// The rows of a decompressed block, in order. `hashes` is the block's hash column, or
/// empty when the caller does not need the hashes (they then read 0).
pub struct Rows<'a> {
    block: i64,
    raw: &'a [u8],
    hashes: &'a [u8],
    index: usize,
    prev: i64,
}

pub fn rows<'a>(block: i64, raw: &'a [u8], hashes: &'a [u8]) -> Rows<'a> {
    Rows {
        block,
        raw: raw.get(1..).unwrap_or_default(),
        hashes,
        index: 0,
        prev: 0,
    }
}

impl<'a> Rows<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.raw.split_first()?;
            self.raw = rest;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn i64(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.raw.len() < n {
            return None;
        }
        let (b, rest) = self.raw.split_at(n);
        self.raw = rest;
        Some(b)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.varint()? as usize;
        std::str::from_utf8(self.bytes(n)?).ok()
    }

    fn opt_str(&mut self) -> Option<Option<&'a str>> {
        match self.varint()? {
            0 => Some(None),
            n => Some(Some(std::str::from_utf8(self.bytes(n as usize - 1)?).ok()?)),
        }
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }

    fn opt_i64(&mut self) -> Option<Option<i64>> {
        match self.byte()? {
            0 => Some(None),
            _ => Some(Some(self.i64()?)),
        }
    }

    fn row(&mut self) -> Option<Row<'a>> {
        let seq = self.prev.wrapping_add(self.i64()?);
        self.prev = seq;
        let hash = match self.hashes.get(self.index * 16..self.index * 16 + 16) {
            Some(h) => u128::from_le_bytes(h.try_into().ok()?),
            None => 0,
        };
        Some(Row {
            seq,
            hash,
            message_id: self.str()?,
            kind: self.str()?,
            name: self.str()?,
            user_id: self.opt_str()?,
            anonymous_id: self.opt_str()?,
            group_id: self.opt_str()?,
            previous_id: self.opt_str()?,
            ts: self.i64()?,
            original_ts: self.opt_i64()?,
            sent_at: self.opt_i64()?,
            received_at: self.i64()?,
            channel: self.str()?,
            campaign: self.opt_str()?,
            utm_source: self.opt_str()?,
            utm_medium: self.opt_str()?,
            utm_term: self.opt_str()?,
            utm_content: self.opt_str()?,
            touchpoint: self.str()?,
            revenue: match self.byte()? {
                0 => None,
                _ => Some(f64::from_le_bytes(self.bytes(8)?.try_into().ok()?)),
            },
            currency: self.opt_str()?,
            online: self.byte()? != 0,
            properties: self.opt_str()?,
            traits: self.opt_str()?,
            context: self.opt_str()?,
        })
    }
}

impl<'a> Iterator for Rows<'a> {
    type Item = Result<Row<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.raw.is_empty() {
            return None;
        }
        let row = self.row();
        let index = self.index;
        self.index += 1;
        match row {
            Some(r) => Some(Ok(r)),
            None => {
                self.raw = &[];
                Some(Err(corrupt(
                    self.block,
                    &format!("event {index} is truncated or not UTF-8"),
                )))
            }
        }
    }
}

/// For keys that are hashes already (SHA-256 message hashes, keyed-SipHash identity
/// keys) and small integers: a hash's low bits are used as they are, and an integer
/// (a workspace id) is multiplied in, instead of hashing 16 random bytes again (SipHash
/// was 2% of an import's CPU in the identity cache).
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 ^= v as u64;
    }
    fn write_i64(&mut self, v: i64) {
        self.0 ^= (v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type HashSet128 = HashSet<u128, BuildHasherDefault<PassThrough>>;

/// The message hashes of a block's hashes column.
fn hashes_of(column: &[u8]) -> impl Iterator<Item = u128> + '_ {
    column
        .chunks_exact(16)
        .map(|h| u128::from_le_bytes(h.try_into().expect("16 bytes")))
}

/// The writer's state for events: the message hashes of each workspace it has appended
/// to (loaded from the blocks on first use, 16 bytes an event) and the next sequence
/// number. Cleared when a transaction fails, then reloaded.
#[derive(Default)]
pub struct Messages {
    seen: HashMap<WorkspaceId, HashSet128>,
    next_seq: Option<i64>,
}

impl Messages {
    pub fn clear(&mut self) {
        self.seen.clear();
        self.next_seq = None;
    }

    /// Drops the message hashes of a deleted workspace.
    pub fn forget_workspace(&mut self, ws: WorkspaceId) {
        self.seen.remove(&ws);
    }

    fn seen(&mut self, c: &Connection, ws: WorkspaceId) -> Result<&mut HashSet128> {
        match self.seen.entry(ws) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                // Sized for the workspace's events at once: filled as it doubled, the
                // set was rehashed at every doubling and its tables' pages zeroed for
                // each, half a second before a restarted server's first write into a
                // workspace of 1.25 M events.
                let events: i64 = c
                    .prepare_cached("SELECT coalesce(sum(events), 0) FROM event_blocks INDEXED BY event_blocks_workspace WHERE workspace_id = ?1")?
                    .query_row([ws], |r| r.get(0))?;
                let mut set = HashSet128::with_capacity_and_hasher(
                    usize::try_from(events).unwrap_or(0),
                    Default::default(),
                );
                let mut stmt = c.prepare_cached(
                    "SELECT hashes FROM event_blocks INDEXED BY event_blocks_workspace WHERE workspace_id = ?1",
                )?;
                let mut rows = stmt.query([ws])?;
                while let Some(r) = rows.next()? {
                    let hashes = r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
                    set.extend(hashes_of(hashes));
                }
                Ok(e.insert(set))
            }
        }
    }

    /// Makes room for about `events` messages in the set of a workspace that holds none
    /// yet (a first bulk load), so that it is sized once instead of doubling as it fills:
    /// each doubling rehashes every message (3% of the CPU of a 1.25 M-row import). The
    /// set of a workspace that holds events is left as it is, since a load of events it
    /// already holds would double it for nothing; and no more than
    /// [`Messages::MOST_EXPECTED`] are made room for, whatever the estimate.
    pub fn expect(&mut self, c: &Connection, ws: WorkspaceId, events: usize) -> Result<()> {
        let set = self.seen(c, ws)?;
        if set.is_empty() {
            set.reserve(events.min(Self::MOST_EXPECTED));
        }
        Ok(())
    }

    /// 16.8 M messages: a set of 570 MB at most (2^25 buckets of 17 bytes).
    pub const MOST_EXPECTED: usize = 1 << 24;

    /// Records the messages of `events`, adding those the workspace did not hold yet to
    /// `new`; returns how many it held.
    pub fn keep_new<'a>(
        &mut self,
        c: &Connection,
        ws: WorkspaceId,
        events: impl Iterator<Item = EncodedRef<'a>>,
        new: &mut Vec<EncodedRef<'a>>,
    ) -> Result<usize> {
        let set = self.seen(c, ws)?;
        let mut held = 0;
        for event in events {
            if set.insert(event.hash) {
                new.push(event);
            } else {
                held += 1;
            }
        }
        Ok(held)
    }

    /// Adds to the set of `ws`, if loaded, the hashes column of a block another process
    /// wrote.
    pub fn add_hashes(&mut self, ws: WorkspaceId, hashes: &[u8]) {
        if let Some(set) = self.seen.get_mut(&ws) {
            set.extend(hashes_of(hashes));
        }
    }

    /// Forgets the next sequence number: another process gave some; it is read again.
    pub fn forget_next_seq(&mut self) {
        self.next_seq = None;
    }

    fn forget(&mut self, ws: WorkspaceId, hash: u128) {
        if let Some(set) = self.seen.get_mut(&ws) {
            set.remove(&hash);
        }
    }

    fn take_seqs(&mut self, c: &Connection, n: usize) -> Result<i64> {
        let next = match self.next_seq {
            Some(s) => s,
            None => {
                let last: Option<i64> = c
                    .prepare_cached(
                        "SELECT max(last_seq) FROM event_blocks INDEXED BY event_blocks_seq",
                    )?
                    .query_row([], |r| r.get(0))?;
                last.unwrap_or(0) + 1
            }
        };
        self.next_seq = Some(next + n as i64);
        Ok(next)
    }
}

pub fn write_block(c: &Connection, ws: WorkspaceId, id: Option<i64>, b: &Block) -> Result<()> {
    match id {
        Some(id) => c
            .prepare_cached(
                "UPDATE event_blocks SET first_seq = ?2, last_seq = ?3, events = ?4, min_ts = ?5, max_ts = ?6,
                 actors = ?7, hashes = ?8, data = ?9 WHERE id = ?1",
            )?
            .execute(params![
                id, b.first_seq, b.last_seq, b.events, b.min_ts, b.max_ts, b.actors, b.hashes,
                b.data
            ])?,
        None => c
            .prepare_cached(
                "INSERT INTO event_blocks (workspace_id, first_seq, last_seq, events, min_ts, max_ts, actors, hashes, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                ws, b.first_seq, b.last_seq, b.events, b.min_ts, b.max_ts, b.actors, b.hashes,
                b.data
            ])?,
    };
    Ok(())
}

/// Appends rows (already deduplicated) to the workspace, giving them the next sequence
/// numbers: the workspace's last block is extended while it is small, then new blocks of
/// at most [`MAX_EVENTS`] follow.
pub fn append(
    c: &Connection,
    messages: &mut Messages,
    ws: WorkspaceId,
    new: &[EncodedRef],
) -> Result<()> {
    if new.is_empty() {
        return Ok(());
    }
    let first = messages.take_seqs(c, new.len())?;
    let new = new.iter().enumerate().map(|(i, event)| BlockEntry::New {
        seq: first + i as i64,
        event: *event,
    });
    let tail: Option<(i64, i64)> = c
        .prepare_cached(
            "SELECT id, events FROM event_blocks INDEXED BY event_blocks_workspace WHERE workspace_id = ?1 ORDER BY last_seq DESC LIMIT 1",
        )?
        .query_row([ws], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let mut replace = None;
    let mut old = Vec::new();
    let (block, raw);
    if let Some((id, events)) = tail.filter(|&(_, events)| (events as usize) < SMALL) {
        block = stored(c, id)?;
        raw = decompress(id, &block.data)?;
        old.reserve(events as usize);
        for r in rows(id, &raw, &block.hashes) {
            old.push(r?);
        }
        replace = Some(id);
    }
    let all: Vec<BlockEntry> = old.iter().map(BlockEntry::Row).chain(new).collect();
    for chunk in all.chunks(MAX_EVENTS) {
        write_block(
            c,
            ws,
            replace.take(),
            &encode_entries(chunk.iter().copied()),
        )?;
    }
    Ok(())
}

/// A stored block: its compressed data, its hashes and the sequence numbers it was given.
struct Stored {
    data: Vec<u8>,
    hashes: Vec<u8>,
    first_seq: i64,
    last_seq: i64,
}

fn stored(c: &Connection, id: i64) -> Result<Stored> {
    Ok(c.prepare_cached(
        "SELECT data, hashes, first_seq, last_seq FROM event_blocks WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(Stored {
            data: r.get(0)?,
            hashes: r.get(1)?,
            first_seq: r.get(2)?,
            last_seq: r.get(3)?,
        })
    })?)
}

/// Removes the events of these actors from the workspace's blocks, rewriting each block
/// that held some; their message hashes are forgotten, so a resent message is accepted
/// again. Returns how many events were removed.
pub fn erase_actors(
    c: &Connection,
    messages: &mut Messages,
    ws: WorkspaceId,
    actors: &Actors,
) -> Result<u64> {
    let mut removed = 0u64;
    for id in blocks_with_actors(c, ws, actors)? {
        let block = stored(c, id)?;
        let raw = decompress(id, &block.data)?;
        let mut kept = Vec::new();
        let mut gone = Vec::new();
        for r in rows(id, &raw, &block.hashes) {
            let r = r?;
            if actors.holds(&r) {
                gone.push(r.hash);
            } else {
                kept.push(r);
            }
        }
        if gone.is_empty() {
            continue;
        }
        removed += gone.len() as u64;
        for h in gone {
            messages.forget(ws, h);
        }
        let mut rewritten = encode(&kept);
        // The block keeps the range of sequence numbers it was given.
        rewritten.first_seq = block.first_seq;
        rewritten.last_seq = block.last_seq;
        write_block(c, ws, Some(id), &rewritten)?;
    }
    Ok(removed)
}

/// The ids of the workspace's blocks whose actor filter may hold one of these actors, in
/// sequence order.
pub fn blocks_with_actors(c: &Connection, ws: WorkspaceId, actors: &Actors) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    let keys = &actors.keys;
    if keys.is_empty() {
        return Ok(out);
    }
    let mut stmt = c.prepare_cached(
        "SELECT id, actors FROM event_blocks INDEXED BY event_blocks_workspace WHERE workspace_id = ?1 ORDER BY last_seq",
    )?;
    let mut rows = stmt.query([ws])?;
    while let Some(r) = rows.next()? {
        let filter = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        if keys.iter().any(|&k| may_contain(filter, k)) {
            out.push(r.get(0)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The owned fields of a row, to generate and compare.
    #[derive(Debug, Clone, PartialEq)]
    struct Fields {
        seq: i64,
        hash: u128,
        texts: [String; 4],
        opts: [Option<String>; 12],
        times: (i64, Option<i64>, Option<i64>, i64),
        revenue: Option<f64>,
        online: bool,
    }

    fn row(f: &Fields) -> Row<'_> {
        let o = |i: usize| f.opts[i].as_deref();
        Row {
            seq: f.seq,
            hash: f.hash,
            message_id: &f.texts[0],
            kind: "track",
            name: &f.texts[1],
            user_id: o(0),
            anonymous_id: o(1),
            group_id: o(2),
            previous_id: o(3),
            ts: f.times.0,
            original_ts: f.times.1,
            sent_at: f.times.2,
            received_at: f.times.3,
            channel: &f.texts[2],
            campaign: o(4),
            utm_source: o(5),
            utm_medium: o(6),
            utm_term: o(7),
            utm_content: o(8),
            touchpoint: &f.texts[3],
            revenue: f.revenue,
            currency: o(9),
            online: f.online,
            properties: o(10),
            traits: o(11),
            context: None,
        }
    }

    /// A row's actor is held when one of the person's ids is it, of the same kind (a
    /// userId `a-7` is not the anonymousId `a-7`), among thousands of ids; emails key
    /// no event.
    #[test]
    fn actors_hold_exactly_their_ids_of_their_kinds() {
        let mut ids: Vec<(IdentityKind, String)> = (0..5_000)
            .map(|i| (IdentityKind::AnonymousId, format!("a-{i}")))
            .collect();
        ids.push((IdentityKind::UserId, "u-1".into()));
        ids.push((IdentityKind::Email, "e@example.com".into()));
        let actors = Actors::of(ids);
        let fields = |user: Option<&str>, anonymous: Option<&str>| Fields {
            seq: 1,
            hash: 0,
            texts: Default::default(),
            opts: [
                user, anonymous, None, None, None, None, None, None, None, None, None, None,
            ]
            .map(|o| o.map(str::to_string)),
            times: (0, None, None, 0),
            revenue: None,
            online: true,
        };
        let held = |user, anonymous| actors.holds(&row(&fields(user, anonymous)));
        assert!(held(Some("u-1"), None));
        assert!(
            held(Some("u-1"), Some("elsewhere")),
            "the userId is the actor"
        );
        assert!(held(None, Some("a-4999")));
        assert!(held(None, Some("a-0")));
        assert!(!held(Some("a-7"), None), "a userId is not an anonymousId");
        assert!(!held(None, Some("u-1")), "an anonymousId is not a userId");
        assert!(!held(Some("other"), Some("a-7")), "another user's event");
        assert!(!held(Some("e@example.com"), None), "emails key no event");
        assert!(!held(None, None));
    }

    fn back(r: &Row) -> Fields {
        let s = |t: Option<&str>| t.map(str::to_string);
        assert_eq!(r.kind, "track");
        assert_eq!(r.context, None);
        Fields {
            seq: r.seq,
            hash: r.hash,
            texts: [r.message_id, r.name, r.channel, r.touchpoint].map(str::to_string),
            opts: [
                r.user_id,
                r.anonymous_id,
                r.group_id,
                r.previous_id,
                r.campaign,
                r.utm_source,
                r.utm_medium,
                r.utm_term,
                r.utm_content,
                r.currency,
                r.properties,
                r.traits,
            ]
            .map(s),
            times: (r.ts, r.original_ts, r.sent_at, r.received_at),
            revenue: r.revenue,
            online: r.online,
        }
    }

    fn fields() -> impl Strategy<Value = Fields> {
        let text = "\\PC{0,12}";
        (
            any::<i64>(),
            any::<u128>(),
            proptest::array::uniform4(text),
            proptest::array::uniform12(proptest::option::of(text)),
            (
                any::<i64>(),
                any::<Option<i64>>(),
                any::<Option<i64>>(),
                any::<i64>(),
            ),
            proptest::option::of(-1e12f64..1e12),
            any::<bool>(),
        )
            .prop_map(|(seq, hash, texts, opts, times, revenue, online)| Fields {
                seq,
                hash,
                texts,
                opts,
                times,
                revenue,
                online,
            })
    }

    proptest! {
        #[test]
        fn a_block_decodes_to_the_rows_it_was_encoded_from(rows in proptest::collection::vec(fields(), 0..40)) {
            let block = encode(&rows.iter().map(row).collect::<Vec<_>>());
            prop_assert_eq!(block.events as usize, rows.len());
            prop_assert_eq!(block.hashes.len(), 16 * rows.len());
            let raw = decompress(7, &block.data).unwrap();
            let decoded: Vec<Fields> = super::rows(7, &raw, &block.hashes)
                .map(|r| back(&r.unwrap()))
                .collect();
            prop_assert_eq!(&decoded, &rows);
            if let Some(first) = rows.first() {
                prop_assert_eq!(block.min_ts, rows.iter().map(|r| r.times.0).min().unwrap());
                prop_assert_eq!(block.max_ts, rows.iter().map(|r| r.times.0).max().unwrap());
                prop_assert_eq!(block.first_seq, first.seq);
                // Every actor of the block passes its filter.
                for r in &rows {
                    if let Some((a, id)) = row(r).actor() {
                        prop_assert!(may_contain(&block.actors, actor_hash(a, id)));
                    }
                }
            }
        }
    }

    #[test]
    fn incoming_events_encoded_on_their_thread_make_the_same_block_as_their_rows() {
        use parcours_core::payload::{parse_body, Endpoint, Limits};
        let messages = serde_json::json!({"batch": [
            {"type": "track", "event": "Order Completed", "userId": "u1", "anonymousId": "a1",
             "properties": {"revenue": 42.5, "currency": "eur", "items": [{"sku": "x"}]},
             "context": {"campaign": {"source": "google", "medium": "cpc", "name": "spring"}},
             "timestamp": "2024-05-01T10:00:00.123456Z", "sentAt": "2024-05-01T10:00:01Z"},
            {"type": "identify", "userId": "u1", "anonymousId": "a1",
             "traits": {"email": "Ana@Example.com", "plan": "pro"}},
            {"type": "page", "anonymousId": "a2", "name": "Pricing",
             "context": {"page": {"url": "https://shop.example/pricing?gclid=1", "referrer": "https://www.bing.com/"}}},
            {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"type": "account"}},
            {"type": "alias", "userId": "u1", "previousId": "old-1"},
            {"type": "screen", "userId": "u2", "name": "Home"},
            // An id longer than a one-byte length, not ASCII.
            {"type": "track", "event": "E", "anonymousId": format!("a3-{}", "é".repeat(100))}
        ]});
        let received = parcours_core::time::parse_rfc3339("2024-06-01T00:00:00Z").unwrap();
        let mut n = 0;
        let events = parse_body(
            serde_json::to_vec(&messages).unwrap().as_slice(),
            Endpoint::Batch,
            received,
            &Limits::default(),
            &mut || {
                n += 1;
                format!("gen-{n}")
            },
        )
        .unwrap()
        .events;
        assert_eq!(events.len(), 7);
        let ws = 3;
        let mut chunk = crate::sqlite::rows::Encodeds::default();
        for e in &events {
            chunk.push(ws, e.clone());
        }
        let encoded: Vec<EncodedRef> = chunk.iter().collect();
        // The same events as rows, field by field, as blocks encoded them before.
        let texts: Vec<[Option<String>; 3]> = events
            .iter()
            .map(|e| [&e.properties, &e.traits, &e.context].map(|o| o.to_text()))
            .collect();
        let rows: Vec<Row> = events
            .iter()
            .zip(&texts)
            .enumerate()
            .map(|(i, (e, [p, t, c]))| Row {
                seq: 10 + i as i64,
                hash: message_hash(ws, &e.message_id),
                ..Row::of_event(e, p.as_deref(), t.as_deref(), c.as_deref())
            })
            .collect();
        let reference = encode(&rows);
        // A block made of stored rows then incoming events, as an append that extends
        // a workspace's last block makes it.
        let mixed = encode_entries(
            rows[..3]
                .iter()
                .map(BlockEntry::Row)
                .chain(
                    encoded[3..]
                        .iter()
                        .enumerate()
                        .map(|(i, event)| BlockEntry::New {
                            seq: 13 + i as i64,
                            event: *event,
                        }),
                ),
        );
        let incoming =
            encode_entries(
                encoded
                    .iter()
                    .enumerate()
                    .map(|(i, event)| BlockEntry::New {
                        seq: 10 + i as i64,
                        event: *event,
                    }),
            );
        for block in [&mixed, &incoming] {
            assert_eq!(block.data, reference.data);
            assert_eq!(block.hashes, reference.hashes);
            assert_eq!(block.actors, reference.actors);
            assert_eq!(
                (
                    block.first_seq,
                    block.last_seq,
                    block.events,
                    block.min_ts,
                    block.max_ts
                ),
                (10, 16, 7, reference.min_ts, reference.max_ts)
            );
        }
        // And the events come back out as they went in.
        let raw = decompress(1, &incoming.data).unwrap();
        for (r, e) in super::rows(1, &raw, &incoming.hashes).zip(&events) {
            let stored = super::super::rows::stored_event(1, &r.unwrap()).unwrap();
            assert_eq!(&stored.event, e);
        }
        // What stitching reads was kept, the rest dropped with the event.
        let identify = &encoded[1];
        assert_eq!(identify.email.as_deref(), Some("ana@example.com"));
        assert_eq!(identify.traits["plan"], "pro");
        assert!(encoded[0].traits.is_empty());
        // Every event's identifiers are read back from its body as they were.
        for (enc, e) in encoded.iter().zip(&events) {
            let ids = enc.ids();
            fn text<'a>(id: Option<super::super::identity::Id<'a>>) -> Option<&'a str> {
                id.map(|i| i.value().unwrap())
            }
            assert_eq!(
                [
                    text(ids.user),
                    text(ids.anonymous),
                    enc.group_id(),
                    text(ids.previous_as_user)
                ],
                [
                    e.user_id.as_deref(),
                    e.anonymous_id.as_deref(),
                    e.group_id.as_deref(),
                    e.previous_id.as_deref()
                ],
                "{e:?}"
            );
        }
        let ids = encoded[4].ids();
        assert_eq!(
            ids.previous_as_anon.map(|i| i.value().unwrap()),
            Some("old-1")
        );
        assert_eq!(
            ids.user.map(|i| i.key),
            Some(super::super::identity::Id::new(IdentityKind::UserId, "u1").key)
        );
    }

    proptest! {
        #[test]
        fn damaged_data_is_an_error_never_a_panic(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            raw in proptest::collection::vec(any::<u8>(), 0..300),
            hashes in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut out = Vec::new();
            let _ = decompress_into(1, &data, &mut out);
            let mut with_size = (raw.len() as u32).to_le_bytes().to_vec();
            with_size.extend_from_slice(&data);
            let _ = decompress_into(1, &with_size, &mut out);
            // Rows of arbitrary bytes: each is a row or an error, and the walk ends.
            let mut raw = raw;
            raw.insert(0, FORMAT);
            let n = super::rows(1, &raw, &hashes).count();
            prop_assert!(n <= raw.len());
            prop_assert_eq!(super::rows(1, &[], &hashes).count(), 0);
        }
    }

    #[test]
    fn the_actor_filter_lets_about_one_percent_of_strangers_through() {
        let members: Vec<u64> = (0..3000)
            .map(|i| actor_hash(false, &format!("user-{i}")))
            .collect();
        let filter = bloom(members.clone());
        assert!(members.iter().all(|&h| may_contain(&filter, h)));
        let strangers = (0..100_000)
            .filter(|i| may_contain(&filter, actor_hash(true, &format!("user-{i}"))))
            .count();
        assert!(strangers < 2_000, "{strangers} false positives in 100,000");
        assert!(!may_contain(&[], 1));
    }

    #[test]
    fn a_damaged_block_is_an_error_naming_it() {
        let f = Fields {
            seq: 1,
            hash: 2,
            texts: ["m", "n", "web", "web /"].map(str::to_string),
            opts: Default::default(),
            times: (1, None, None, 1),
            revenue: None,
            online: true,
        };
        let block = encode(&[row(&f), row(&f)]);
        let raw = decompress(3, &block.data).unwrap();
        let cut = &raw[..raw.len() - 3];
        let got: Vec<_> = super::rows(3, cut, &[]).collect();
        assert!(got[0].is_ok());
        let err = got[1].as_ref().unwrap_err().to_string();
        assert!(
            err.contains("event block 3") && err.contains("event 1"),
            "{err}"
        );
        assert_eq!(got.len(), 2);
        assert!(decompress(4, &block.data[..10])
            .unwrap_err()
            .to_string()
            .contains("event block 4"));
        assert!(decompress(5, &lz4_flex::compress_prepend_size(&[9, 0])).is_err());
    }

    #[test]
    fn an_expected_load_sizes_the_message_set_of_an_empty_workspace_only() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrations::apply(&mut c).unwrap();
        let mut messages = Messages::default();
        messages.expect(&c, 1, 100_000).unwrap();
        let reserved = messages.seen(&c, 1).unwrap().capacity();
        assert!(reserved >= 100_000, "{reserved}");
        // Filling what was expected does not grow it.
        for h in 0..100_000u128 {
            assert!(messages.seen(&c, 1).unwrap().insert(h << 64 | h));
        }
        assert_eq!(messages.seen(&c, 1).unwrap().capacity(), reserved);
        // A workspace that holds messages is left as it is; estimates are capped.
        messages.expect(&c, 1, 1_000_000).unwrap();
        assert_eq!(messages.seen(&c, 1).unwrap().capacity(), reserved);
        assert!(!messages.seen(&c, 1).unwrap().insert(7 << 64 | 7));
        messages.expect(&c, 2, usize::MAX).unwrap();
        let capped = messages.seen(&c, 2).unwrap().capacity();
        assert!((Messages::MOST_EXPECTED..2 * Messages::MOST_EXPECTED).contains(&capped));
    }
}
