//! The error type of the store.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("io on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the data directory was written by a newer parcours (schema {found}, this build knows {known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("workspace `{0}` already exists")]
    WorkspaceExists(String),
    #[error("a journey named `{0}` already exists in this workspace")]
    JourneyExists(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("the stored data is damaged: {0}")]
    Corrupt(String),
    #[error("the commit failed: {0}")]
    CommitFailed(String),
}
