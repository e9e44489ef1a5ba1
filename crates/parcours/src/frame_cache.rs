//! A cache of encoded events beside the store, so analysis frames are not rebuilt from
//! the events table on every run.
//!
//! `<data_dir>/frames/ws<ID>.events` holds every event of a workspace in arrival order,
//! dictionary-encoded (raw identity, group, time, name, touchpoint, campaign, channel,
//! kind), the person of each raw identity, and the position it reached (`last_seq`).
//! `ws<ID>.prop-<hex>` holds one property's values for the same events. A run reads the
//! files, appends the events stored since, re-resolves identities only when persons were
//! merged, and starts over when something was erased; the files are rewritten when they
//! changed. Files are written to a temporary name and renamed, so a reader never sees a
//! half-written cache; a cache that fails to read is ignored and rebuilt.
//!
//! The cache holds no analysis logic: [`crate::analysis`] turns it into a frame.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use parcours_core::frame::{kind_code, Dict, FxBuild};
use parcours_store::FrameEvent;
use serde_json::Value;

const MAGIC: &[u8; 8] = b"PCFRAME1";
const PROP_MAGIC: &[u8; 8] = b"PCPROP01";

/// A raw identity not resolved to a person yet.
pub const UNRESOLVED: i64 = -2;
/// A raw identity the identity map does not know.
pub const UNKNOWN: i64 = -1;

/// Every event of a workspace, encoded, in arrival order.
#[derive(Debug, Clone)]
pub struct EventCache {
    pub last_seq: i64,
    pub merges: u64,
    pub erasures: u64,
    /// Raw identities: `u` + userId, or `a` + anonymousId when there is no userId.
    pub raw: Dict,
    /// The person of each raw identity ([`UNKNOWN`], [`UNRESOLVED`]).
    pub raw_person: Vec<i64>,
    /// Group ids (`groupId` of the event); id 0 is none.
    pub groups: Dict,
    pub names: Dict,
    pub touchpoints: Dict,
    /// Id 0 is "no campaign".
    pub campaigns: Dict,
    pub channels: Dict,
    pub ev_raw: Vec<u32>,
    pub ev_group: Vec<u32>,
    pub ts: Vec<i64>,
    pub name: Vec<u32>,
    pub touchpoint: Vec<u32>,
    pub campaign: Vec<u32>,
    pub channel: Vec<u16>,
    pub kind: Vec<u8>,
}

impl Default for EventCache {
    fn default() -> EventCache {
        EventCache {
            last_seq: 0,
            merges: 0,
            erasures: 0,
            raw: Dict::default(),
            raw_person: Vec::new(),
            groups: Dict::with_none(),
            names: Dict::default(),
            touchpoints: Dict::default(),
            campaigns: Dict::with_none(),
            channels: Dict::default(),
            ev_raw: Vec::new(),
            ev_group: Vec::new(),
            ts: Vec::new(),
            name: Vec::new(),
            touchpoint: Vec::new(),
            campaign: Vec::new(),
            channel: Vec::new(),
            kind: Vec::new(),
        }
    }
}

/// One property's values for the events of an [`EventCache`], in the same order.
#[derive(Debug, Clone)]
pub struct PropCache {
    pub key: String,
    pub last_seq: i64,
    /// Distinct values; id 0 is absent (`Null`).
    pub values: Vec<Value>,
    index: HashMap<String, u32, FxBuild>,
    pub col: Vec<u32>,
}

impl PropCache {
    pub fn new(key: &str) -> PropCache {
        PropCache {
            key: key.to_string(),
            last_seq: 0,
            values: vec![Value::Null],
            index: HashMap::default(),
            col: Vec::new(),
        }
    }

    pub fn push(&mut self, v: &Value) {
        let id = if v.is_null() {
            0
        } else {
            let text = v.to_string();
            match self.index.get(&text) {
                Some(&id) => id,
                None => {
                    let id = self.values.len() as u32;
                    self.values.push(v.clone());
                    self.index.insert(text, id);
                    id
                }
            }
        };
        self.col.push(id);
    }
}

impl EventCache {
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub fn push(&mut self, e: &FrameEvent) {
        let raw = match (e.user_id, e.anonymous_id) {
            (Some(u), _) => self.raw.intern(&format!("u{u}")),
            (None, Some(a)) => self.raw.intern(&format!("a{a}")),
            (None, None) => self.raw.intern("a"),
        };
        if raw as usize == self.raw_person.len() {
            self.raw_person.push(UNRESOLVED);
        }
        self.ev_raw.push(raw);
        self.ev_group
            .push(e.group_id.map_or(0, |g| self.groups.intern(g)));
        self.ts.push(e.ts);
        self.name.push(self.names.intern(e.name));
        self.touchpoint.push(self.touchpoints.intern(e.touchpoint));
        self.campaign
            .push(e.campaign.map_or(0, |c| self.campaigns.intern(c)));
        let channel = self.channels.intern(e.channel);
        self.channel
            .push(u16::try_from(channel).unwrap_or(u16::MAX));
        self.kind.push(kind_code(e.kind));
        self.last_seq = e.seq;
    }
}

/// Where a workspace's cache files live.
pub fn events_path(dir: &Path, ws: i64) -> PathBuf {
    dir.join(format!("ws{ws}.events"))
}

/// Removes every cache file of a workspace (its events, its properties, and any a run
/// was writing), so that an erased person's events do not outlive the erasure in the
/// cache until the next run starts it over. Returns how many files were removed.
pub fn forget_workspace(dir: &Path, ws: i64) -> std::io::Result<usize> {
    let prefix = format!("ws{ws}.");
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                // Renamed or removed meanwhile by a run of another process.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

pub fn prop_path(dir: &Path, ws: i64, key: &str) -> PathBuf {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("ws{ws}.prop-{hex}"))
}

// Encoding: little-endian integers, strings and arrays prefixed by their length.

struct Writer(Vec<u8>);

impl Writer {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn dict(&mut self, d: &Dict) {
        self.u64(d.len() as u64);
        for (_, s) in d.iter() {
            self.bytes(s.as_bytes());
        }
    }
    fn array<T: Plain>(&mut self, v: &[T]) {
        self.u64(v.len() as u64);
        self.0.reserve(std::mem::size_of_val(v));
        for &x in v {
            x.put(&mut self.0);
        }
    }
}

/// Reads the encoding back, straight into the vectors (no copy of the whole file).
/// `left` is what remains of the file: a length that does not fit in it is a damaged
/// file, refused before anything is allocated for it.
struct Reader<R: Read> {
    inner: R,
    left: u64,
}

/// Integer types stored little-endian; reading them into a vector's bytes is sound
/// because every bit pattern is a valid value.
trait Plain: Copy + Default {
    /// From the little-endian value read to the native one.
    fn to_native(self) -> Self;
    /// Appends the little-endian bytes.
    fn put(self, out: &mut Vec<u8>);
}
impl Plain for u16 {
    fn to_native(self) -> Self {
        u16::from_le(self)
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}
impl Plain for u32 {
    fn to_native(self) -> Self {
        u32::from_le(self)
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}
impl Plain for i64 {
    fn to_native(self) -> Self {
        i64::from_le(self)
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Reader<std::io::BufReader<std::fs::File>> {
    /// Opens a file and checks its magic bytes.
    fn open(path: &Path, magic: &[u8; 8]) -> Option<Self> {
        let file = std::fs::File::open(path).ok()?;
        let left = file.metadata().ok()?.len();
        let mut r = Reader {
            inner: std::io::BufReader::with_capacity(1 << 20, file),
            left,
        };
        let mut head = [0u8; 8];
        r.read(&mut head)?;
        (&head == magic).then_some(r)
    }
}

impl<R: Read> Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> Option<()> {
        self.left = self.left.checked_sub(buf.len() as u64)?;
        self.inner.read_exact(buf).ok()
    }
    fn u64(&mut self) -> Option<u64> {
        let mut b = [0u8; 8];
        self.read(&mut b)?;
        Some(u64::from_le_bytes(b))
    }
    /// A length of items of `width` bytes each, when the file can hold them.
    fn len(&mut self, width: u64) -> Option<usize> {
        let n = self.u64()?;
        (n.checked_mul(width)? <= self.left).then_some(n as usize)
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.len(1)?;
        let mut v = vec![0u8; n];
        self.read(&mut v)?;
        Some(v)
    }
    fn dict(&mut self) -> Option<Dict> {
        // Each entry takes at least its 8-byte length.
        let n = self.len(8)?;
        let mut values = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            values.push(String::from_utf8(self.bytes()?).ok()?.into_boxed_str());
        }
        Some(Dict::from_values(values))
    }
    fn array<T: Plain>(&mut self) -> Option<Vec<T>> {
        let n = self.len(std::mem::size_of::<T>() as u64)?;
        let mut v = vec![T::default(); n];
        // SAFETY: `T` is a plain integer (see `Plain`): its bytes may hold any pattern,
        // and the byte view covers exactly the vector's initialised elements.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, n * std::mem::size_of::<T>())
        };
        self.read(bytes)?;
        if cfg!(target_endian = "big") {
            for x in v.iter_mut() {
                *x = x.to_native();
            }
        }
        Some(v)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Unique per process and per write, so concurrent writers never share a file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

impl EventCache {
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut w = Writer(Vec::with_capacity(self.len() * 32 + 1024));
        w.0.extend_from_slice(MAGIC);
        w.u64(self.last_seq as u64);
        w.u64(self.merges);
        w.u64(self.erasures);
        for d in [
            &self.raw,
            &self.groups,
            &self.names,
            &self.touchpoints,
            &self.campaigns,
            &self.channels,
        ] {
            w.dict(d);
        }
        w.array(&self.raw_person);
        w.array(&self.ev_raw);
        w.array(&self.ev_group);
        w.array(&self.ts);
        w.array(&self.name);
        w.array(&self.touchpoint);
        w.array(&self.campaign);
        w.array(&self.channel);
        w.bytes(&self.kind);
        write_atomically(path, &w.0)
    }

    /// The cache in `path`, or `None` when it is missing or unreadable.
    pub fn read(path: &Path) -> Option<EventCache> {
        let mut r = Reader::open(path, MAGIC)?;
        let mut c = EventCache {
            last_seq: r.u64()? as i64,
            merges: r.u64()?,
            erasures: r.u64()?,
            raw: r.dict()?,
            groups: r.dict()?,
            names: r.dict()?,
            touchpoints: r.dict()?,
            campaigns: r.dict()?,
            channels: r.dict()?,
            ..EventCache::default()
        };
        c.raw_person = r.array()?;
        c.ev_raw = r.array()?;
        c.ev_group = r.array()?;
        c.ts = r.array()?;
        c.name = r.array()?;
        c.touchpoint = r.array()?;
        c.campaign = r.array()?;
        c.channel = r.array()?;
        c.kind = r.bytes()?;
        let n = c.ts.len();
        let consistent = [
            c.ev_raw.len(),
            c.ev_group.len(),
            c.name.len(),
            c.touchpoint.len(),
            c.campaign.len(),
            c.channel.len(),
            c.kind.len(),
        ]
        .iter()
        .all(|&l| l == n)
            && c.raw_person.len() == c.raw.len();
        consistent.then_some(c)
    }
}

impl PropCache {
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut w = Writer(Vec::with_capacity(self.col.len() * 4 + 1024));
        w.0.extend_from_slice(PROP_MAGIC);
        w.bytes(self.key.as_bytes());
        w.u64(self.last_seq as u64);
        w.u64(self.values.len() as u64);
        for v in &self.values {
            w.bytes(v.to_string().as_bytes());
        }
        w.array(&self.col);
        write_atomically(path, &w.0)
    }

    pub fn read(path: &Path, key: &str) -> Option<PropCache> {
        let mut r = Reader::open(path, PROP_MAGIC)?;
        if r.bytes()? != key.as_bytes() {
            return None;
        }
        let last_seq = r.u64()? as i64;
        let n = r.len(8)?;
        let mut p = PropCache::new(key);
        p.last_seq = last_seq;
        p.values.clear();
        for i in 0..n {
            let text = String::from_utf8(r.bytes()?).ok()?;
            let v: Value = serde_json::from_str(&text).ok()?;
            if i > 0 {
                p.index.insert(text, i as u32);
            }
            p.values.push(v);
        }
        p.col = r.array()?;
        (p.col.iter().all(|&id| (id as usize) < p.values.len())).then_some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_the_file_cannot_hold_is_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws1.events");
        let mut bytes = MAGIC.to_vec();
        for v in [7u64, 0, 0, 1 << 40] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::write(&path, &bytes).unwrap();
        assert!(EventCache::read(&path).is_none());
    }

    #[test]
    fn a_cache_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws1.events");
        let mut c = EventCache::default();
        let props = [Value::from(3)];
        c.push(&FrameEvent {
            seq: 5,
            kind: parcours_core::EventKind::Page,
            name: "home",
            user_id: Some("u1"),
            anonymous_id: Some("a1"),
            group_id: Some("acct-1"),
            ts: 1_767_571_200_000_000,
            channel: "web",
            campaign: Some("spring"),
            touchpoint: "web /",
            properties: &props,
        });
        c.raw_person[0] = 42;
        c.write(&path).unwrap();
        let back = EventCache::read(&path).unwrap();
        assert_eq!(back.last_seq, 5);
        assert_eq!(back.raw.name(back.ev_raw[0]), "uu1");
        assert_eq!(back.raw_person, [42]);
        assert_eq!(back.groups.name(back.ev_group[0]), "acct-1");
        assert_eq!(back.campaigns.name(back.campaign[0]), "spring");
        assert_eq!(back.ts, c.ts);
        assert_eq!(back.kind, c.kind);
        let mut p = PropCache::new("n");
        p.push(&props[0]);
        p.push(&Value::Null);
        let prop_path = dir.path().join("ws1.prop-6e");
        p.write(&prop_path).unwrap();
        let back = PropCache::read(&prop_path, "n").unwrap();
        assert_eq!(back.col, [1, 0]);
        assert_eq!(back.values[1], Value::from(3));
        assert!(PropCache::read(&prop_path, "other").is_none());
    }
}
