-- parcours schema, version 7: the ids of persons, journeys and keys are never given again.
--
-- These ids are named outside the store: API answers, webhook payloads, actor lists,
-- bookmarks, scripts. SQLite gives a plain INTEGER PRIMARY KEY the highest id plus one,
-- so deleting the newest row (an erased person, a deleted journey or workspace) gave its
-- id to the next row created, which then answered to references meant for the one
-- deleted. With AUTOINCREMENT, SQLite keeps the highest id ever given (in
-- `sqlite_sequence`) and never goes below it. Ids given before this version may already
-- have been given twice; nothing tells.
--
-- Workspaces keep their own rule (the highest of their ids and of the erasures'
-- workspaces, plus one: see `Store::create_workspace`), since keys refer to them.

CREATE TABLE persons_v7 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
INSERT INTO persons_v7 (id, workspace_id, created_at)
    SELECT id, workspace_id, created_at FROM persons ORDER BY id;
DROP TABLE persons;
ALTER TABLE persons_v7 RENAME TO persons;

CREATE TABLE journeys_v7 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL,
    name          TEXT NOT NULL,
    definition    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
INSERT INTO journeys_v7 (id, workspace_id, name, definition, created_at, updated_at)
    SELECT id, workspace_id, name, definition, created_at, updated_at FROM journeys ORDER BY id;
DROP TABLE journeys;
ALTER TABLE journeys_v7 RENAME TO journeys;
CREATE UNIQUE INDEX journeys_name ON journeys (workspace_id, name);

CREATE TABLE api_keys_v7 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    scope         TEXT NOT NULL CHECK (scope IN ('write', 'read', 'admin')),
    hash          BLOB NOT NULL UNIQUE,      -- SHA-256 of the key; the key itself is never stored
    prefix        TEXT NOT NULL,             -- first characters, to recognise a key in listings
    label         TEXT,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
INSERT INTO api_keys_v7 (id, workspace_id, scope, hash, prefix, label, created_at, revoked_at)
    SELECT id, workspace_id, scope, hash, prefix, label, created_at, revoked_at FROM api_keys ORDER BY id;
DROP TABLE api_keys;
ALTER TABLE api_keys_v7 RENAME TO api_keys;
