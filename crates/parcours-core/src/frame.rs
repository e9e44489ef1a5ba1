//! The analysis frame: every event of a workspace as compact columns, sorted by (actor,
//! time).
//!
//! Strings (event names, touchpoints, channels, campaigns, property values) are stored
//! once in dictionaries and referred to by small integer ids, so a base event costs 23
//! bytes: time (8), name (4), touchpoint (4), campaign (4), channel (2), kind (1); each
//! actor adds 8 (its offset and a 32-bit summary of its event names, which lets a query
//! skip actors that cannot enter).
//! Property columns are added only for the properties a query needs (4 bytes each).
//! Analyses walk one actor's slice at a time; filters are evaluated once per dictionary
//! entry into masks, never per event.
//!
//! The frame does no IO: [`FrameBuilder`] takes rows from whoever reads the store or a
//! file, and [`FrameBuilder::finish`] sorts them. Dictionaries are sorted too, so the
//! frame — and every result — does not depend on the order the rows arrived in.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::Value;

use crate::event::EventKind;
use crate::time::Micros;

/// A small, fast, non-cryptographic hasher for dictionary look-ups (FxHash's scheme).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    // Integers in one round each (the byte path would take one per byte): slices of ids
    // and pairs of ids are hashed on hot paths.
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(K);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;

/// Distinct strings, each with a dense id. Id 0 is reserved for "none" where a column
/// is optional. The look-up index is built on first use: a dictionary only read by id
/// (the actors of a large frame) never pays for hashing its strings.
#[derive(Debug, Clone, Default)]
pub struct Dict {
    values: Vec<Box<str>>,
    index: std::sync::OnceLock<HashMap<Box<str>, u32, FxBuild>>,
}

impl Dict {
    pub fn with_none() -> Dict {
        let mut d = Dict::default();
        d.intern("");
        d
    }

    /// A dictionary holding these strings, in this order (ids 0, 1, …); duplicates keep
    /// their first id.
    pub fn from_values(values: Vec<Box<str>>) -> Dict {
        Dict {
            values,
            index: std::sync::OnceLock::new(),
        }
    }

    fn index(&self) -> &HashMap<Box<str>, u32, FxBuild> {
        self.index.get_or_init(|| {
            let mut index: HashMap<Box<str>, u32, FxBuild> = HashMap::default();
            index.reserve(self.values.len());
            for (i, v) in self.values.iter().enumerate() {
                index.entry(v.clone()).or_insert(i as u32);
            }
            index
        })
    }

    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.index().get(s) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(s.into());
        self.index();
        self.index
            .get_mut()
            .expect("index built above")
            .insert(s.into(), id);
        id
    }

    pub fn get(&self, s: &str) -> Option<u32> {
        self.index().get(s).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.values[id as usize]
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.values
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u32, &**s))
    }

    /// Sorts the entries (keeping `keep_first` entries in place, e.g. the "none" id) and
    /// returns the old-id → new-id table.
    fn sort(&mut self, keep_first: usize) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.values.len() as u32).collect();
        order[keep_first..].sort_by(|&a, &b| self.values[a as usize].cmp(&self.values[b as usize]));
        let mut remap = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        let mut values: Vec<Box<str>> = Vec::with_capacity(self.values.len());
        for &old in &order {
            values.push(std::mem::take(&mut self.values[old as usize]));
        }
        self.values = values;
        self.index = std::sync::OnceLock::new();
        remap
    }

    fn bytes(&self) -> usize {
        self.values.iter().map(|s| 2 * s.len() + 48).sum()
    }
}

/// Property values of one dictionary, shared by all property columns: the JSON value and
/// its canonical text (the dictionary key). Id 0 means "absent".
#[derive(Debug, Clone)]
pub struct ValueDict {
    text: Dict,
    values: Vec<Value>,
    /// [`ValueDict::number`] of every entry (NaN for none), made on first use.
    numbers: std::sync::OnceLock<Vec<f64>>,
}

impl Default for ValueDict {
    fn default() -> ValueDict {
        ValueDict {
            text: Dict::with_none(),
            values: vec![Value::Null],
            numbers: std::sync::OnceLock::new(),
        }
    }
}

impl ValueDict {
    pub fn intern(&mut self, v: &Value) -> u32 {
        if v.is_null() {
            return 0;
        }
        let key = match v {
            Value::String(s) => format!("s{s}"),
            other => format!("j{other}"),
        };
        let before = self.text.len();
        let id = self.text.intern(&key);
        if self.text.len() > before {
            self.values.push(v.clone());
            self.numbers = std::sync::OnceLock::new();
        }
        id
    }

    /// Sorts the entries by their text (id 0 stays "absent"); returns old → new ids.
    fn sort(&mut self) -> Vec<u32> {
        let remap = self.text.sort(1);
        let mut values = vec![Value::Null; self.values.len()];
        for (old, v) in std::mem::take(&mut self.values).into_iter().enumerate() {
            values[remap[old] as usize] = v;
        }
        self.values = values;
        self.numbers = std::sync::OnceLock::new();
        remap
    }

    pub fn value(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.len() <= 1
    }

    /// A readable label: strings as they are, other values as JSON, absent as `(none)`.
    pub fn label(&self, id: u32) -> String {
        match self.value(id) {
            Value::Null => "(none)".into(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The number a value holds: a JSON number, or a string that parses as one (a CSV
    /// import or a client may send `"42.5"`); infinite and NaN values are none. Read from
    /// [`ValueDict::numbers`]: each entry is parsed once per frame, however many events
    /// ask.
    pub fn number(&self, id: u32) -> Option<f64> {
        let x = self.numbers()[id as usize];
        (!x.is_nan()).then_some(x)
    }

    fn parse_number(&self, id: u32) -> Option<f64> {
        match self.value(id) {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|x: &f64| x.is_finite())
    }

    /// The number of every entry, indexed by value id, NaN where [`ValueDict::number`] is
    /// none: for walks that read a numeric property of many events and test the id
    /// themselves.
    pub fn numbers(&self) -> &[f64] {
        self.numbers.get_or_init(|| {
            (0..self.values.len() as u32)
                .map(|id| self.parse_number(id).unwrap_or(f64::NAN))
                .collect()
        })
    }

    /// `f(value)` for every entry, as a mask indexed by value id (id 0 gets `f(Null)`).
    pub fn mask(&self, f: impl Fn(&Value) -> bool) -> Vec<bool> {
        self.values.iter().map(f).collect()
    }
}

/// The bit of each name id in the per-actor name summaries: the names seen by the most
/// actors get a bit of their own, the others share the bits whose names are seen by the
/// fewest actors so far (longest-processing-time scheduling over 32 bins). An actor is
/// then scanned for a rare name only when it has that name or another rare one, and for a
/// common name only when it has that name: the summary rules out far more actors than
/// bits given by name id, where a common name may share its bit with another common one.
fn summary_bits(name: &[u32], start: &[u32], names: usize) -> Vec<u32> {
    // Actors per name: the last actor counted for each name avoids a set per actor.
    let mut actors = vec![0u64; names];
    let mut last = vec![u32::MAX; names];
    for (a, w) in start.windows(2).enumerate() {
        for &n in &name[w[0] as usize..w[1] as usize] {
            if last[n as usize] != a as u32 {
                last[n as usize] = a as u32;
                actors[n as usize] += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..names).collect();
    order.sort_by(|&x, &y| actors[y].cmp(&actors[x]).then(x.cmp(&y)));
    let mut load = [0u64; 32];
    let mut bits = vec![0u32; names];
    for n in order {
        let bit = (0..32).min_by_key(|&b| (load[b], b)).expect("32 bins");
        load[bit] += actors[n];
        bits[n] = 1 << bit;
    }
    bits
}

/// The byte code of an event kind in frames (its index in [`EventKind::ALL`]).
pub fn kind_code(kind: EventKind) -> u8 {
    EventKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL") as u8
}

/// The kind of an event as one byte; bookkeeping kinds never count as touchpoints.
pub fn is_bookkeeping(kind: u8) -> bool {
    // One bit per kind code: analyses ask this of every event.
    const BOOKKEEPING: u32 = {
        let mut mask = 0;
        let mut code = 0;
        while code < EventKind::ALL.len() {
            if matches!(
                EventKind::ALL[code],
                EventKind::Identify | EventKind::Group | EventKind::Alias
            ) {
                mask |= 1 << code;
            }
            code += 1;
        }
        mask
    };
    (BOOKKEEPING >> (kind & 31)) & 1 != 0
}

/// One event as the builder takes it.
#[derive(Debug, Clone)]
pub struct FrameRow<'a> {
    pub actor: &'a str,
    pub ts: Micros,
    pub kind: EventKind,
    pub name: &'a str,
    pub channel: &'a str,
    pub campaign: Option<&'a str>,
    pub touchpoint: &'a str,
    /// Values of the builder's property keys, in the same order (`Null` when absent).
    pub properties: &'a [Value],
}

/// Events already dictionary-encoded, in any order, for [`FrameBuilder::from_parts`]:
/// what a cache of encoded events hands over without interning a string per event.
/// Every column has one entry per event; ids refer to the dictionaries beside them
/// (`campaigns` keeps id 0 for "none", `values` id 0 for "absent").
#[derive(Debug, Clone, Default)]
pub struct FrameParts {
    pub actors: Dict,
    pub actor: Vec<u32>,
    pub ts: Vec<Micros>,
    pub names: Dict,
    pub name: Vec<u32>,
    pub touchpoints: Dict,
    pub touchpoint: Vec<u32>,
    pub campaigns: Dict,
    pub campaign: Vec<u32>,
    pub channels: Dict,
    pub channel: Vec<u16>,
    pub kind: Vec<u8>,
    pub property_keys: Vec<String>,
    pub props: Vec<Vec<u32>>,
    pub values: ValueDict,
}

/// Collects rows in any order and sorts them into a [`Frame`].
pub struct FrameBuilder {
    actors: Dict,
    property_keys: Vec<String>,
    actor: Vec<u32>,
    ts: Vec<Micros>,
    name: Vec<u32>,
    touchpoint: Vec<u32>,
    campaign: Vec<u32>,
    channel: Vec<u16>,
    kind: Vec<u8>,
    props: Vec<Vec<u32>>,
    names: Dict,
    touchpoints: Dict,
    campaigns: Dict,
    channels: Dict,
    values: ValueDict,
    traits: Vec<(String, Vec<(String, Value)>)>,
}

impl FrameBuilder {
    /// A builder whose rows carry the values of `property_keys`.
    pub fn new(property_keys: Vec<String>) -> FrameBuilder {
        let props = vec![Vec::new(); property_keys.len()];
        FrameBuilder {
            actors: Dict::default(),
            property_keys,
            actor: Vec::new(),
            ts: Vec::new(),
            name: Vec::new(),
            touchpoint: Vec::new(),
            campaign: Vec::new(),
            channel: Vec::new(),
            kind: Vec::new(),
            props,
            names: Dict::default(),
            touchpoints: Dict::default(),
            campaigns: Dict::with_none(),
            channels: Dict::default(),
            values: ValueDict::default(),
            traits: Vec::new(),
        }
    }

    /// A builder holding already-encoded events (see [`FrameParts`]).
    pub fn from_parts(p: FrameParts) -> FrameBuilder {
        FrameBuilder {
            actors: p.actors,
            property_keys: p.property_keys,
            actor: p.actor,
            ts: p.ts,
            name: p.name,
            touchpoint: p.touchpoint,
            campaign: p.campaign,
            channel: p.channel,
            kind: p.kind,
            props: p.props,
            names: p.names,
            touchpoints: p.touchpoints,
            campaigns: p.campaigns,
            channels: p.channels,
            values: p.values,
            traits: Vec::new(),
        }
    }

    pub fn property_keys(&self) -> &[String] {
        &self.property_keys
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub fn reserve(&mut self, n: usize) {
        self.actor.reserve(n);
        self.ts.reserve(n);
        self.name.reserve(n);
        self.touchpoint.reserve(n);
        self.campaign.reserve(n);
        self.channel.reserve(n);
        self.kind.reserve(n);
    }

    pub fn push(&mut self, row: &FrameRow) {
        debug_assert_eq!(row.properties.len(), self.property_keys.len());
        self.actor.push(self.actors.intern(row.actor));
        self.ts.push(row.ts);
        self.name.push(self.names.intern(row.name));
        self.touchpoint
            .push(self.touchpoints.intern(row.touchpoint));
        self.campaign
            .push(row.campaign.map_or(0, |c| self.campaigns.intern(c)));
        let channel = self.channels.intern(row.channel);
        self.channel
            .push(u16::try_from(channel).unwrap_or(u16::MAX));
        self.kind.push(kind_code(row.kind));
        for (col, v) in self.props.iter_mut().zip(row.properties) {
            col.push(self.values.intern(v));
        }
    }

    /// Records an actor's traits (person traits, or the group's for accounts and deals),
    /// used by `trait:` breakdowns and segments. Actors with no event are ignored.
    pub fn actor_traits(&mut self, actor: &str, traits: Vec<(String, Value)>) {
        self.traits.push((actor.to_string(), traits));
    }

    pub fn finish(mut self) -> Frame {
        let traits = std::mem::take(&mut self.traits);
        let names = self.names.sort(0);
        let touchpoints = self.touchpoints.sort(0);
        let campaigns = self.campaigns.sort(1);
        let channels = self.channels.sort(0);
        let values = self.values.sort();
        let n = self.ts.len();
        let actor_count = self.actors.len();
        // Counting sort by actor, then each actor's slice by time (and a canonical order
        // for events at the same time).
        let mut start = vec![0u32; actor_count + 1];
        for &a in &self.actor {
            start[a as usize + 1] += 1;
        }
        for i in 0..actor_count {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut perm = vec![0u32; n];
        for (i, &a) in self.actor.iter().enumerate() {
            perm[fill[a as usize] as usize] = i as u32;
            fill[a as usize] += 1;
        }
        drop(fill);
        let key = |i: u32| {
            let i = i as usize;
            (
                self.ts[i],
                names[self.name[i] as usize],
                touchpoints[self.touchpoint[i] as usize],
                channels[self.channel[i] as usize],
                campaigns[self.campaign[i] as usize],
                self.kind[i],
            )
        };
        let props_cmp = |a: u32, b: u32| {
            let (a, b) = (a as usize, b as usize);
            self.props
                .iter()
                .map(|col| values[col[a] as usize].cmp(&values[col[b] as usize]))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        for a in 0..actor_count {
            let slice = &mut perm[start[a] as usize..start[a + 1] as usize];
            if slice.len() > 1 {
                slice.sort_by(|&x, &y| key(x).cmp(&key(y)).then_with(|| props_cmp(x, y)));
            }
        }
        let gather_u32 = |col: &[u32], remap: Option<&[u32]>| -> Vec<u32> {
            perm.iter()
                .map(|&i| {
                    let v = col[i as usize];
                    remap.map_or(v, |r| r[v as usize])
                })
                .collect()
        };
        let name = gather_u32(&self.name, Some(&names));
        let touchpoint = gather_u32(&self.touchpoint, Some(&touchpoints));
        let campaign = gather_u32(&self.campaign, Some(&campaigns));
        let ts: Vec<Micros> = perm.iter().map(|&i| self.ts[i as usize]).collect();
        let channel = perm
            .iter()
            .map(|&i| {
                let c = self.channel[i as usize];
                channels.get(c as usize).map_or(c, |&r| r as u16)
            })
            .collect();
        let kind = perm.iter().map(|&i| self.kind[i as usize]).collect();
        let props = self
            .props
            .iter()
            .map(|col| gather_u32(col, Some(&values)))
            .collect();
        let name_bits = summary_bits(&name, &start, self.names.len());
        let actor_names = (0..actor_count)
            .map(|a| {
                name[start[a] as usize..start[a + 1] as usize]
                    .iter()
                    .fold(0u32, |bits, &n| bits | name_bits[n as usize])
            })
            .collect();
        let time_bounds = start
            .windows(2)
            .filter(|w| w[0] < w[1])
            .map(|w| (ts[w[0] as usize], ts[w[1] as usize - 1]))
            .reduce(|(a, b), (lo, hi)| (a.min(lo), b.max(hi)));
        let mut frame = Frame {
            actors: self.actors,
            actor_start: start,
            actor_names,
            name_bits,
            time_bounds,
            ts,
            name,
            touchpoint,
            campaign,
            channel,
            kind,
            property_keys: self.property_keys,
            props,
            names: self.names,
            touchpoints: self.touchpoints,
            campaigns: self.campaigns,
            channels: self.channels,
            values: self.values,
            trait_keys: Vec::new(),
            traits: Vec::new(),
        };
        frame.set_traits(traits);
        frame
    }
}

/// Every event, as columns sorted by (actor, time). See the module docs.
#[derive(Debug, Clone)]
pub struct Frame {
    actors: Dict,
    actor_start: Vec<u32>,
    /// Per actor, a 32-bit summary of the names of its events ([`Frame::name_bit`]): an
    /// actor whose summary misses every bit of a query's names has none of them.
    actor_names: Vec<u32>,
    /// Per name id, its bit in the summaries.
    name_bits: Vec<u32>,
    time_bounds: Option<(Micros, Micros)>,
    ts: Vec<Micros>,
    name: Vec<u32>,
    touchpoint: Vec<u32>,
    campaign: Vec<u32>,
    channel: Vec<u16>,
    kind: Vec<u8>,
    property_keys: Vec<String>,
    props: Vec<Vec<u32>>,
    names: Dict,
    touchpoints: Dict,
    campaigns: Dict,
    channels: Dict,
    values: ValueDict,
    trait_keys: Vec<String>,
    /// Per trait key, the value id of each actor (0 = none).
    traits: Vec<Vec<u32>>,
}

impl Frame {
    pub fn empty() -> Frame {
        FrameBuilder::new(Vec::new()).finish()
    }

    fn set_traits(&mut self, traits: Vec<(String, Vec<(String, Value)>)>) {
        for (actor, pairs) in traits {
            let Some(a) = self.actors.get(&actor) else {
                continue;
            };
            for (key, value) in pairs {
                let col = match self.trait_keys.iter().position(|k| *k == key) {
                    Some(c) => c,
                    None => {
                        self.trait_keys.push(key);
                        self.traits.push(vec![0; self.actors.len()]);
                        self.traits.len() - 1
                    }
                };
                self.traits[col][a as usize] = self.values.intern(&value);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub fn actor_count(&self) -> usize {
        self.actors.len()
    }

    /// The event range of actor `a`.
    pub fn actor_range(&self, a: usize) -> std::ops::Range<usize> {
        self.actor_start[a] as usize..self.actor_start[a + 1] as usize
    }

    /// The earliest and latest event times (found once, when the frame is built); `None`
    /// when the frame is empty.
    pub fn time_bounds(&self) -> Option<(Micros, Micros)> {
        self.time_bounds
    }

    pub fn actor_key(&self, a: usize) -> &str {
        self.actors.name(a as u32)
    }

    pub fn ts(&self) -> &[Micros] {
        &self.ts
    }
    pub fn name(&self) -> &[u32] {
        &self.name
    }
    pub fn touchpoint(&self) -> &[u32] {
        &self.touchpoint
    }
    pub fn campaign(&self) -> &[u32] {
        &self.campaign
    }
    pub fn channel(&self) -> &[u16] {
        &self.channel
    }
    pub fn kind(&self) -> &[u8] {
        &self.kind
    }
    pub fn names(&self) -> &Dict {
        &self.names
    }
    pub fn touchpoints(&self) -> &Dict {
        &self.touchpoints
    }
    pub fn campaigns(&self) -> &Dict {
        &self.campaigns
    }
    pub fn channels(&self) -> &Dict {
        &self.channels
    }
    pub fn values(&self) -> &ValueDict {
        &self.values
    }

    /// The column of a property the frame was built with.
    pub fn property(&self, key: &str) -> Option<&[u32]> {
        let i = self.property_keys.iter().position(|k| k == key)?;
        Some(&self.props[i])
    }

    pub fn property_keys(&self) -> &[String] {
        &self.property_keys
    }

    /// The column of the `i`-th property key.
    pub fn property_by_index(&self, i: usize) -> &[u32] {
        &self.props[i]
    }

    /// The value id of a trait for each actor.
    pub fn actor_trait(&self, key: &str) -> Option<&[u32]> {
        let i = self.trait_keys.iter().position(|k| k == key)?;
        Some(&self.traits[i])
    }

    pub fn actor_index(&self, key: &str) -> Option<usize> {
        self.actors.get(key).map(|a| a as usize)
    }

    /// Bytes held per event by the event columns and actor offsets (dictionaries apart).
    pub fn column_bytes(&self) -> usize {
        self.ts.len() * (8 + 4 + 4 + 4 + 2 + 1 + 4 * self.props.len())
            + self.actor_start.len() * 4
            + self.actor_names.len() * 4
    }

    /// The summary of the names of actor `a`'s events (see [`Frame::name_bit`]).
    pub fn actor_names(&self, a: usize) -> u32 {
        self.actor_names[a]
    }

    /// The bit of name id `name` in the per-actor summaries (several names share a bit).
    pub fn name_bit(&self, name: u32) -> u32 {
        self.name_bits[name as usize]
    }

    /// Bytes held by the dictionaries and actor keys.
    pub fn dictionary_bytes(&self) -> usize {
        self.actors.bytes()
            + self.names.bytes()
            + self.touchpoints.bytes()
            + self.campaigns.bytes()
            + self.channels.bytes()
            + self.values.text.bytes()
            + self.values.values.len() * 32
            + self.traits.iter().map(|t| t.len() * 4).sum::<usize>()
    }
}

/// Actor boundaries splitting the events of the kept actors into `parts` near-equal
/// shares.
pub fn split_by_events(frame: &Frame, parts: usize, keep: Option<&[bool]>) -> Vec<usize> {
    let actors = frame.actor_count();
    if keep.is_none() {
        // Every actor kept: the offsets of the actors' first events say where to cut.
        let total = frame.len();
        let mut bounds: Vec<usize> = (0..parts)
            .map(|p| {
                let target = (total * p / parts) as u32;
                frame.actor_start[..actors].partition_point(|&s| s < target)
            })
            .collect();
        bounds.push(actors);
        return bounds;
    }
    let weight = |a: usize| {
        if keep.is_none_or(|k| k[a]) {
            frame.actor_range(a).len()
        } else {
            0
        }
    };
    let total: usize = (0..actors).map(weight).sum::<usize>().max(1);
    let mut bounds = vec![0];
    let mut a = 0;
    let mut seen = 0;
    for p in 1..parts {
        let target = total * p / parts;
        while a < actors && seen < target {
            seen += weight(a);
            a += 1;
        }
        bounds.push(a);
    }
    bounds.push(actors);
    bounds
}

/// Asks the processor to start loading a slice's cache lines, so that the memory reads of
/// the work that follows overlap instead of waiting one after the other.
#[inline]
pub fn prefetch<T>(slice: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = std::mem::size_of_val(slice);
        let base = slice.as_ptr() as *const i8;
        let mut offset = 0;
        while offset < bytes {
            // SAFETY: prefetching is a hint with no effect on memory; the address is
            // inside the slice.
            unsafe {
                std::arch::x86_64::_mm_prefetch(base.add(offset), std::arch::x86_64::_MM_HINT_T0)
            };
            offset += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = slice;
}

/// The actors of a range that pass a filter, in order, with the names and times of the
/// actors a few places ahead prefetched.
///
/// A query that skips most actors (by their name summary, say) jumps through the columns:
/// every actor it keeps starts with a cache miss on its names and another on its times,
/// and a walk over a few events cannot hide them. Asking for the next actors' lines while
/// the current one is processed lets the misses overlap (on the demo's 12.5 M events, a
/// funnel's walk over the 15% of actors that can enter spent over half its time waiting
/// for those two loads).
pub struct Prefetched<'f, F> {
    frame: &'f Frame,
    next: usize,
    end: usize,
    keep: F,
    ring: [u32; AHEAD],
    head: usize,
    tail: usize,
}

/// How many actors ahead a walk prefetches their columns.
pub(crate) const AHEAD: usize = 8;

impl<'f, F: Fn(usize) -> bool> Prefetched<'f, F> {
    pub fn new(frame: &'f Frame, actors: std::ops::Range<usize>, keep: F) -> Self {
        Prefetched {
            frame,
            next: actors.start,
            end: actors.end,
            keep,
            ring: [0; AHEAD],
            head: 0,
            tail: 0,
        }
    }
}

impl<F: Fn(usize) -> bool> Iterator for Prefetched<'_, F> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.tail - self.head < AHEAD && self.next < self.end {
            let a = self.next;
            self.next += 1;
            if (self.keep)(a) {
                let range = self.frame.actor_range(a);
                prefetch(&self.frame.name[range.clone()]);
                prefetch(&self.frame.ts[range]);
                self.ring[self.tail % AHEAD] = a as u32;
                self.tail += 1;
            }
        }
        (self.head < self.tail).then(|| {
            self.head += 1;
            self.ring[(self.head - 1) % AHEAD] as usize
        })
    }
}

/// `work` over contiguous ranges of actors of about equal events, one per thread
/// (`threads` 0: the machine's parallelism), results in actor order.
pub fn par_actors<T: Send>(
    frame: &Frame,
    threads: usize,
    keep: Option<&[bool]>,
    work: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(frame.actor_count().max(1));
    let bounds = split_by_events(frame, threads, keep);
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let (lo, hi) = (w[0], w[1]);
                scope.spawn(move || work(lo..hi))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("analysis worker panicked"))
            .collect()
    })
}
