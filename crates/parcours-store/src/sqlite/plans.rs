//! Every statement of this backend must use an index that fits its filter: a statement
//! that walks a whole table (or a whole workspace) is fine on test data and quadratic in
//! production. This test reads the SQL string literals of the backend's source files,
//! asks SQLite for each plan, and fails on full scans and workspace-wide searches.
//!
//! It found a real one: moving memberships during a merge searched the memberships
//! primary key by workspace only, which made a 4-million-event import crawl.

use rusqlite::Connection;

/// Statements that read a whole workspace on purpose.
const WHOLE_WORKSPACE: &[&str] = &[
    // The writer's identity cache is loaded once per workspace, sized by a count first
    // (read from the person index alone).
    "SELECT kind, value, person_id FROM identities WHERE workspace_id = ?1",
    "SELECT count(*) FROM identities WHERE workspace_id = ?1",
    // The identity map handed to analyses.
    "SELECT kind, value, person_id, first_seen FROM identities WHERE workspace_id = ?1",
    // A workspace's event blocks: counted (index only), their actor filters read for a
    // timeline or an erasure, their events summed and message hashes loaded once by the
    // writer, their times or sequence numbers compared for a scan.
    "FROM event_blocks INDEXED BY event_blocks_workspace WHERE workspace_id = ?1",
    // A workspace's last block (one index entry: the plan reads the same as a search).
    "SELECT id, events FROM event_blocks INDEXED BY event_blocks_workspace WHERE workspace_id = ?1 ORDER BY last_seq DESC LIMIT 1",
    "SELECT max(last_seq) FROM event_blocks WHERE workspace_id = ?1",
    // Analysis frames read a workspace's groups, memberships and traits whole.
    "FROM groups WHERE workspace_id = ?1",
    "FROM memberships WHERE workspace_id = ?1",
    "SELECT person_id, traits FROM person_traits WHERE workspace_id = ?1",
    // A workspace's journey definitions, listed by name.
    "FROM journeys INDEXED BY journeys_name WHERE workspace_id = ?1 ORDER BY name",
    // Counting a workspace's merges and erasures (analysis caches compare them).
    "SELECT count(*) FROM person_merges INDEXED BY person_merges_from WHERE workspace_id = ?1",
    "SELECT count(*) FROM erasures WHERE workspace_id = ?1",
    // A workspace's KPI definitions, listed by id (the primary key's order).
    "SELECT definition FROM kpi_definitions WHERE workspace_id = ?1 ORDER BY id",
    // … and its survey definitions, listed, and stamped (count and update times) for the
    // server's parsed copy: a handful of rows.
    "SELECT definition FROM survey_definitions WHERE workspace_id = ?1 ORDER BY id",
    "SELECT count(*), coalesce(max(updated_at), 0), total(updated_at) FROM survey_definitions WHERE workspace_id = ?1",
    // Costs and keys of a workspace are small tables read whole.
    "FROM ad_costs",
    "FROM api_keys WHERE workspace_id = ?1 ORDER BY id",
    // A handful of workspaces.
    "FROM workspaces ORDER BY id",
    // Deleting a workspace counts what it holds first.
    "SELECT coalesce(sum(events), 0) FROM event_blocks WHERE workspace_id = ?1",
    "SELECT count(DISTINCT person_id) FROM identities INDEXED BY identities_person WHERE workspace_id = ?1",
    "SELECT count(*) FROM api_keys WHERE workspace_id = ?1",
    // … finds the tables that hold workspaces' rows in the schema, and deletes the
    // workspace's row last (its foreign key check reads the few keys).
    "FROM sqlite_master m, pragma_table_info(m.name) p",
    "DELETE FROM workspaces WHERE id = ?1",
];

/// The SQL string literals of a source file (those that start with a statement keyword).
fn statements(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let literal = &after[..end];
        let head = literal.trim_start();
        // A table named at run time (deleting a workspace from every table) has no plan
        // to read here; it reads the whole workspace on purpose.
        let dynamic = literal.contains("{table}");
        if !dynamic
            && ["SELECT ", "INSERT ", "UPDATE ", "DELETE "]
                .iter()
                .any(|k| head.starts_with(k))
        {
            out.push(literal.replace("{}", "id").replace("{props}", "").replace(
                "{JOURNEY_COLUMNS}",
                "id, name, definition, created_at, updated_at",
            ));
        }
        rest = &after[end + 1..];
    }
    out
}

#[test]
fn no_statement_scans_a_table_or_a_whole_workspace() {
    let dir = tempfile::tempdir().unwrap();
    drop(super::SqliteStore::open(dir.path(), super::StoreOptions::default()).unwrap());
    let conn = Connection::open(dir.path().join("parcours.db")).unwrap();
    let sources = [
        include_str!("blocks.rs"),
        include_str!("identity.rs"),
        include_str!("read.rs"),
        include_str!("rows.rs"),
        include_str!("mod.rs"),
        include_str!("writer.rs"),
    ];
    let mut checked = 0;
    let mut problems = Vec::new();
    for sql in sources.iter().flat_map(|s| statements(s)) {
        if sql.starts_with("INSERT") && !sql.contains("SELECT") {
            continue; // A plain INSERT … VALUES has no plan to choose.
        }
        let mut stmt = match conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")) {
            Ok(s) => s,
            Err(e) => panic!("cannot plan `{sql}`: {e}"),
        };
        // Parameters stay unbound (NULL): a plan does not depend on their values.
        let mut plan = Vec::new();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().unwrap() {
            plan.push(row.get::<_, String>(3).unwrap());
        }
        checked += 1;
        let allowed = WHOLE_WORKSPACE.iter().any(|w| sql.contains(w));
        for line in &plan {
            // `json_each` walks one row's JSON document, not a table.
            let scan = line.starts_with("SCAN")
                && !line.contains("CONSTANT ROW")
                && !line.starts_with("SCAN json_each VIRTUAL TABLE");
            let workspace_wide = line.ends_with("(workspace_id=?)");
            if (scan || workspace_wide) && !allowed {
                problems.push(format!(
                    "{line}\n    in: {}",
                    sql.split_whitespace().collect::<Vec<_>>().join(" ")
                ));
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} statements found; is the extraction broken?"
    );
    assert!(
        problems.is_empty(),
        "statements without a fitting index:\n{}",
        problems.join("\n")
    );
}
