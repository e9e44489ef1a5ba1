-- parcours schema, version 3: a workspace's own KPI definitions, kept as JSON (the API's
-- form), by id; they replace the built-in KPIs of the same id.

CREATE TABLE kpi_definitions (
    workspace_id  INTEGER NOT NULL,
    id            TEXT NOT NULL,
    definition    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;
