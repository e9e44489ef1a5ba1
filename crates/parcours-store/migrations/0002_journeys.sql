-- parcours schema, version 2: journey definitions, kept as JSON (the API's form).

CREATE TABLE journeys (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    name          TEXT NOT NULL,
    definition    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX journeys_name ON journeys (workspace_id, name);
