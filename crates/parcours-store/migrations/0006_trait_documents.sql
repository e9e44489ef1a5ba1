-- A person's traits become one row instead of one row per trait, and a change of traits
-- one history row instead of one per trait (docs/adr/0004-trait-documents.md): an
-- identify call wrote two rows and three B-tree entries for every trait it carried, a
-- fifth of an import's work. The rows of the old tables are moved by the Rust step of
-- this migration, which then drops them.
ALTER TABLE person_traits RENAME TO person_traits_v5;
ALTER TABLE trait_history RENAME TO trait_history_v5;

-- Current traits, last write wins by event time, key by key.
CREATE TABLE person_traits (
    workspace_id  INTEGER NOT NULL,
    person_id     INTEGER NOT NULL,
    traits        TEXT NOT NULL,      -- JSON object: trait → current value
    updated_at    TEXT NOT NULL,      -- JSON object: trait → event time (µs) of that value
    PRIMARY KEY (workspace_id, person_id)
) WITHOUT ROWID;

-- Every observed change of traits: the values an event carried that differed from the
-- person's current ones, with the event time they were observed at.
CREATE TABLE trait_history (
    workspace_id  INTEGER NOT NULL,
    person_id     INTEGER NOT NULL,
    observed_at   INTEGER NOT NULL,
    changes       TEXT NOT NULL       -- JSON object: trait → value
);
CREATE INDEX trait_history_observed ON trait_history (workspace_id, person_id, observed_at);
