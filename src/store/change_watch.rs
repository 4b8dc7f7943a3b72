//! Whether the database changed since a moment, so that reads may be answered from memory
//! and never be stale. Both databases say so themselves; nothing here depends on which
//! process writes or on which connections a pool hands out.
//!
//! SQLite: `PRAGMA data_version` on a connection of the watch's own moves whenever another
//! connection (of this process or another, the CLI included) committed since it was last
//! asked; the watch's connection never writes, so it moves on every commit. Postgres: the
//! transaction snapshot. Either is asked in shared rounds (`snapshot_watch`): one statement
//! answers every request queued for it, and a version asked for after a request arrived
//! answers for all of that request, so its second cached read (the token check's is the
//! first) usually waits for nothing. A cached read is tagged with the version taken *before*
//! it was loaded and served while the version is still that one.
use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rusqlite::{Connection, OpenFlags};
use sea_orm::DatabaseConnection;

use super::snapshot_watch::{QUERIES_AT_ONCE, SnapshotWatch, Source};
use crate::config::DatabaseUrl;

#[derive(Debug, Default)]
pub struct ChangeWatch {
    rounds: Option<SnapshotWatch>,
}

impl ChangeWatch {
    /// The watch that suits the database at `url`: `PRAGMA data_version` for a SQLite file
    /// (which the pool must have opened first), the snapshot for Postgres. An error here only
    /// costs the cache, so it is logged and the watch stays off.
    pub async fn for_database(url: &DatabaseUrl, log_sql: bool) -> Self {
        if let Some(path) = url.sqlite_path() {
            return Self::sqlite(&path);
        }
        match super::connect::connect(url, QUERIES_AT_ONCE, log_sql).await {
            Ok(db) => Self::postgres(db),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the database for changes; reads are not cached");
                Self::none()
            }
        }
    }

    /// No watch: `version` is always `None` and nothing is cached.
    pub fn none() -> Self {
        Self::default()
    }

    /// A watch on the SQLite file at `path`, which must exist (the pool opened it first). An
    /// error here only costs the cache, so it is logged and the watch stays off.
    pub fn sqlite(path: &Path) -> Self {
        super::sqlite_tuning::before_first_connection();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // No busy wait: this runs on the async executor, and a busy answer (a reader can
        // only get one during WAL recovery) just means this read is not cached.
        let opened = Connection::open_with_flags(path, flags)
            .and_then(|conn| conn.busy_timeout(Duration::ZERO).map(|()| conn));
        match opened {
            Ok(conn) => Self {
                rounds: Some(SnapshotWatch::spawn(Source::Sqlite(Arc::new(Mutex::new(
                    conn,
                ))))),
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the database for changes; reads are not cached");
                Self::none()
            }
        }
    }

    /// A watch on a Postgres database through `db`, connections of its own (see
    /// `snapshot_watch`).
    pub fn postgres(db: DatabaseConnection) -> Self {
        Self {
            rounds: Some(SnapshotWatch::spawn(Source::Postgres(db))),
        }
    }

    /// The rounds answered so far (one statement each).
    pub fn snapshot_queries(&self) -> Option<u64> {
        self.rounds.as_ref().map(SnapshotWatch::queries)
    }

    /// A number that differs from any earlier one once a commit happened, or `None` when that
    /// cannot be told (no watch, or the database answered with an error such as a busy
    /// SQLite recovery).
    pub async fn version(&self) -> Option<i64> {
        self.version_since(Instant::now()).await
    }

    /// The version as seen at `since` or later: it tells every commit that finished before
    /// `since`, and may (on Postgres) have been read after `since` for someone else.
    pub async fn version_since(&self, since: Instant) -> Option<i64> {
        self.rounds.as_ref()?.version_since(since).await
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A database in `dir` with one table, in the given journal mode, and a connection to it.
    fn database(dir: &Path, journal_mode: &str) -> (PathBuf, Connection) {
        let path = dir.join("watched.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(&format!(
                "PRAGMA journal_mode={journal_mode}; CREATE TABLE t (x INTEGER);"
            ))
            .unwrap();
        (path, writer)
    }

    #[tokio::test]
    async fn commits_of_other_connections_move_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(dir.path(), "WAL");
        let watch = ChangeWatch::sqlite(&path);
        let before = watch.version().await.expect("a version");
        assert_eq!(watch.version().await, Some(before), "nothing committed");
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let after = watch.version().await.expect("a version");
        assert_ne!(after, before, "a commit moves it");
        // A separate process's writes look the same to SQLite: another connection.
        let other = Connection::open(&path).unwrap();
        other.execute("DELETE FROM t", []).unwrap();
        assert_ne!(watch.version().await, Some(after));
    }

    #[tokio::test]
    async fn every_commit_moves_the_version_across_wal_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(dir.path(), "WAL");
        let watch = ChangeWatch::sqlite(&path);
        let mut last = watch.version().await.unwrap();
        for i in 0..50 {
            writer.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
            if i % 10 == 0 {
                // A truncating checkpoint lets the next writer start the WAL over (new
                // salts, frame count back to 0): a commit must still show.
                writer
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .unwrap();
            }
            let now = watch.version().await.unwrap();
            assert_ne!(now, last, "commit {i} not seen");
            assert_eq!(watch.version().await, Some(now), "nothing else committed");
            last = now;
        }
    }

    #[tokio::test]
    async fn without_wal_too() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(dir.path(), "DELETE");
        let watch = ChangeWatch::sqlite(&path);
        let before = watch.version().await.expect("a version");
        assert_eq!(watch.version().await, Some(before));
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_ne!(watch.version().await, Some(before));
    }

    #[tokio::test]
    async fn no_watch_tells_nothing() {
        assert_eq!(ChangeWatch::none().version().await, None);
        let dir = tempfile::tempdir().unwrap();
        let missing = ChangeWatch::sqlite(&dir.path().join("absent").join("x.db"));
        assert_eq!(missing.version().await, None);
    }
}
