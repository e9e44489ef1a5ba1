-- parcours schema, version 1.
-- Times are microseconds since the Unix epoch, UTC. JSON columns hold objects as text.

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    scope         TEXT NOT NULL CHECK (scope IN ('write', 'read', 'admin')),
    hash          BLOB NOT NULL UNIQUE,      -- SHA-256 of the key; the key itself is never stored
    prefix        TEXT NOT NULL,             -- first characters, to recognise a key in listings
    label         TEXT,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

-- Every event as received, validated and normalised. Events carry the identifiers the
-- client sent; the person they belong to is resolved through `identities` at read time,
-- which is what makes stitching retroactive.
CREATE TABLE events (
    id                  INTEGER PRIMARY KEY,
    workspace_id        INTEGER NOT NULL,
    message_id          TEXT NOT NULL,
    kind                TEXT NOT NULL,
    name                TEXT NOT NULL,
    user_id             TEXT,
    anonymous_id        TEXT,
    group_id            TEXT,
    previous_id         TEXT,
    ts                  INTEGER NOT NULL,
    original_ts         INTEGER,
    sent_at             INTEGER,
    received_at         INTEGER NOT NULL,
    channel             TEXT NOT NULL,
    campaign            TEXT,
    utm_source          TEXT,
    utm_medium          TEXT,
    utm_term            TEXT,
    utm_content         TEXT,
    touchpoint          TEXT NOT NULL,
    revenue             REAL,
    currency            TEXT,
    online              INTEGER NOT NULL,
    properties          TEXT,
    traits              TEXT,
    context             TEXT
);
-- Deduplication: a message id is accepted once per workspace.
CREATE UNIQUE INDEX events_message ON events (workspace_id, message_id);
-- Time-range scans go week by week. Indexing the week rather than the exact time keeps
-- historical imports fast: rows of one week are appended in rowid order, so inserts touch
-- a few hot pages instead of random ones (see docs/adr/0002-week-time-index.md).
CREATE INDEX events_week ON events (workspace_id, ts / 604800000000);
-- The actor of an event: its userId when it has one, else its anonymousId.
CREATE INDEX events_actor ON events (workspace_id, (user_id IS NULL), coalesce(user_id, anonymous_id), ts);

CREATE TABLE persons (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);

-- kind: 1 = userId, 2 = anonymousId, 3 = email (look-up only).
CREATE TABLE identities (
    workspace_id  INTEGER NOT NULL,
    kind          INTEGER NOT NULL,
    value         TEXT NOT NULL,
    person_id     INTEGER NOT NULL,
    first_seen    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX identities_person ON identities (workspace_id, person_id);

CREATE TABLE person_merges (
    workspace_id  INTEGER NOT NULL,
    from_person   INTEGER NOT NULL,
    into_person   INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    merged_at     INTEGER NOT NULL
);
CREATE INDEX person_merges_from ON person_merges (workspace_id, from_person);
CREATE INDEX person_merges_into ON person_merges (workspace_id, into_person);

-- Current traits, last write wins by event time.
CREATE TABLE person_traits (
    workspace_id  INTEGER NOT NULL,
    person_id     INTEGER NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, person_id, key)
) WITHOUT ROWID;

-- Every observed change of a trait value, with the event time it was observed at.
CREATE TABLE trait_history (
    workspace_id  INTEGER NOT NULL,
    person_id     INTEGER NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    observed_at   INTEGER NOT NULL
);
CREATE INDEX trait_history_person ON trait_history (workspace_id, person_id, key, observed_at);

-- Accounts, deals and other groups, with their traits.
CREATE TABLE groups (
    workspace_id  INTEGER NOT NULL,
    group_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    parent_id     TEXT,
    traits        TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, group_id)
) WITHOUT ROWID;

CREATE TABLE memberships (
    workspace_id  INTEGER NOT NULL,
    group_id      TEXT NOT NULL,
    person_id     INTEGER NOT NULL,
    since         INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, group_id, person_id)
) WITHOUT ROWID;
CREATE INDEX memberships_person ON memberships (workspace_id, person_id);

-- Ad spend per campaign and day, for ROI and cost per acquisition.
CREATE TABLE ad_costs (
    workspace_id  INTEGER NOT NULL,
    day           TEXT NOT NULL,            -- YYYY-MM-DD
    campaign      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    source        TEXT NOT NULL DEFAULT '',
    cost          REAL NOT NULL,
    currency      TEXT NOT NULL,
    impressions   INTEGER,
    clicks        INTEGER,
    PRIMARY KEY (workspace_id, day, campaign, channel, source)
) WITHOUT ROWID;

-- That an erasure happened, and how much it removed; never whom.
CREATE TABLE erasures (
    id                  INTEGER PRIMARY KEY,
    workspace_id        INTEGER NOT NULL,
    erased_at           INTEGER NOT NULL,
    events_deleted      INTEGER NOT NULL,
    identities_deleted  INTEGER NOT NULL
);
