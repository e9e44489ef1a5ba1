-- Events move into append-only blocks (docs/adr/0003-event-blocks.md): one row per block
-- of up to 4096 events of one workspace instead of one row and three index entries per
-- event. The rows of `events` are moved by the Rust step of this migration, which then
-- drops the table.
CREATE TABLE event_blocks (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    first_seq     INTEGER NOT NULL,   -- sequence numbers given to the block's events
    last_seq      INTEGER NOT NULL,
    events        INTEGER NOT NULL,   -- events it holds (fewer than the range after erasures)
    min_ts        INTEGER NOT NULL,   -- event times it holds (an empty block: max, min)
    max_ts        INTEGER NOT NULL,
    actors        BLOB NOT NULL,      -- Bloom filter of its actors; read without the data
    hashes        BLOB NOT NULL,      -- 16 bytes per event: message hashes, for deduplication
    data          BLOB NOT NULL       -- the events, encoded then LZ4-compressed
);
-- A workspace's blocks in sequence order; the event count makes counting index-only.
CREATE INDEX event_blocks_workspace ON event_blocks (workspace_id, last_seq, events);
-- The highest sequence number given, read when the writer starts.
CREATE INDEX event_blocks_seq ON event_blocks (last_seq);
