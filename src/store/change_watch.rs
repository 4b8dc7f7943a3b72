//! Whether the database changed since a moment, so that reads may be answered from memory
//! and never be stale.
//!
//! SQLite keeps a data version per connection that moves whenever any *other* connection
//! commits, in this process or another (the CLI writing beside a running server). One
//! read-only connection that never writes therefore sees every commit: it asks
//! `PRAGMA data_version`, which takes and drops a shared lock and reads the WAL index in
//! shared memory (a few microseconds: two `fcntl` calls, no page read, no wait on writers;
//! it is still the largest part of a cached read, see `bench/RESULTS.md`). A cached read is tagged with the version taken
//! *before* it was loaded; it is served while the version is still that one, because then no
//! commit happened since the load began.
//!
//! Postgres has no such counter (and other nodes write there too), so there is no watch and
//! every read goes to the database.
use std::{path::Path, sync::Mutex, time::Duration};

use rusqlite::{Connection, OpenFlags};

#[derive(Debug, Default)]
pub struct ChangeWatch {
    conn: Option<Mutex<Connection>>,
}

impl ChangeWatch {
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
                conn: Some(Mutex::new(conn)),
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the database for changes; reads are not cached");
                Self::none()
            }
        }
    }

    /// A number that differs from any earlier one once a commit happened, or `None` when that
    /// cannot be told (no watch, or SQLite answered with an error such as a busy recovery).
    pub fn version(&self) -> Option<i64> {
        let conn = self.conn.as_ref()?.lock().ok()?;
        conn.prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |row| row.get(0)))
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_of_other_connections_move_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watched.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER);")
            .unwrap();
        let watch = ChangeWatch::sqlite(&path);
        let before = watch.version().expect("a version");
        assert_eq!(watch.version(), Some(before), "nothing committed");
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let after = watch.version().expect("a version");
        assert_ne!(after, before, "a commit moves it");
        // A separate process's writes look the same to SQLite: another connection.
        let other = Connection::open(&path).unwrap();
        other.execute("DELETE FROM t", []).unwrap();
        assert_ne!(watch.version(), Some(after));
    }

    #[test]
    fn no_watch_tells_nothing() {
        assert_eq!(ChangeWatch::none().version(), None);
        let dir = tempfile::tempdir().unwrap();
        let missing = ChangeWatch::sqlite(&dir.path().join("absent").join("x.db"));
        assert_eq!(missing.version(), None);
    }
}
