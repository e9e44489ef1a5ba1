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
    /// The disk (or the database's size limit) is full: nothing of the transaction was
    /// stored; it may succeed once space is freed.
    #[error("the disk is full: {0}")]
    Full(String),
    /// Another process held the database's write lock for longer than the wait allowed.
    #[error("the database stayed locked by another process: {0}")]
    Busy(String),
}

impl StoreError {
    /// The error a failed commit reports to each of its callers (an error is not
    /// `Clone`): its kind kept where callers answer differently (a full disk, a lock held
    /// elsewhere), its text otherwise.
    pub fn for_callers(&self) -> StoreError {
        use rusqlite::ErrorCode;
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => match e.code {
                ErrorCode::DiskFull => StoreError::Full(self.to_string()),
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    StoreError::Busy(self.to_string())
                }
                _ => StoreError::CommitFailed(self.to_string()),
            },
            _ => StoreError::CommitFailed(self.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StoreError;

    fn failure(code: std::ffi::c_int) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn callers_learn_a_full_disk_and_a_lock_held_elsewhere() {
        assert!(matches!(
            failure(rusqlite::ffi::SQLITE_FULL).for_callers(),
            StoreError::Full(_)
        ));
        assert!(matches!(
            failure(rusqlite::ffi::SQLITE_BUSY).for_callers(),
            StoreError::Busy(_)
        ));
        assert!(matches!(
            failure(rusqlite::ffi::SQLITE_CONSTRAINT).for_callers(),
            StoreError::CommitFailed(_)
        ));
        assert!(matches!(
            StoreError::Corrupt("x".into()).for_callers(),
            StoreError::CommitFailed(_)
        ));
    }
}
