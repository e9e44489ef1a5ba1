-- parcours schema, version 4: a workspace's survey definitions, kept as JSON (the API's
-- form) by id, and the server's secrets (the key that signs survey links), created on
-- first use and kept with the data so that links survive a restart or a move.

CREATE TABLE survey_definitions (
    workspace_id  INTEGER NOT NULL,
    id            TEXT NOT NULL,
    definition    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
