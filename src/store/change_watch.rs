//! Whether the database changed since a moment, so that reads may be answered from memory
//! and never be stale.
//!
//! In WAL mode SQLite keeps a header at the start of the shared-memory WAL index (the `-shm`
//! file beside the database). Every commit, by any connection of any process (the CLI writing
//! beside a running server included), rewrites that header before the commit returns, with a
//! counter that moves on every transaction. Reading it from a read-only mapping of the same file
//! costs a few nanoseconds and no lock, where `PRAGMA data_version` costs two `fcntl` lock
//! calls (it was the largest part of a cached read, see `bench/RESULTS.md`). A header that
//! differs from the last one seen gets a new version number. A cached read is tagged with the
//! version taken *before* it was loaded and served while the version is still that one:
//! then no commit finished since the load began.
//!
//! A torn read (the header read while a commit rewrites it) only looks like another change:
//! one cache miss. SQLite's readers take their snapshot from the same header, so a load that
//! began after the header was read sees that commit or a later one, never an earlier state.
//!
//! The watch's own read-only connection keeps the `-shm` file in place (SQLite removes it only
//! when the last connection closes) and is the fallback: when the database is not in WAL mode or
//! the index cannot be mapped, `PRAGMA data_version` on it tells the same thing, slower.
//!
//! Postgres has no such header; its watch asks for the transaction snapshot instead (see
//! `snapshot_watch`), one query shared by the requests waiting for it.
use std::{
    fs::File,
    path::Path,
    sync::{
        Mutex,
        atomic::{Ordering, fence},
    },
    time::{Duration, Instant},
};

use memmap2::{MmapOptions, MmapRaw};
use rusqlite::{Connection, OpenFlags};
use sea_orm::DatabaseConnection;

use super::snapshot_watch::{AloneCheck, QUERIES_AT_ONCE, SnapshotWatch};
use crate::config::DatabaseUrl;

/// One copy of the WAL-index header: `WalIndexHdr` in SQLite's `wal.c`, 48 bytes, read as
/// six aligned words. The file starts with two copies; commits write the second, then the
/// first, so the first is the one that changes last.
const HEADER_WORDS: usize = 6;
/// `isInit` (byte 12 of the header) is 0 until SQLite wrote a header.
const IS_INIT_BYTE: usize = 12;

#[derive(Debug, Default)]
pub struct ChangeWatch {
    /// Kept open for as long as the watch lives: it holds the `-shm` file in place, and is
    /// the fallback.
    conn: Option<Mutex<Connection>>,
    index: Option<SharedIndex>,
    snapshots: Option<SnapshotWatch>,
}

impl ChangeWatch {
    /// The watch that suits the database at `url`: the WAL index for a SQLite file (which the
    /// pool must have opened first), the snapshot for Postgres. An error here only costs the
    /// cache, so it is logged and the watch stays off.
    /// `alone` (Postgres) lets a server that holds the database alone skip the query.
    pub async fn for_database(url: &DatabaseUrl, log_sql: bool, alone: Option<AloneCheck>) -> Self {
        if let Some(path) = url.sqlite_path() {
            return Self::sqlite(&path);
        }
        match super::connect::connect(url, QUERIES_AT_ONCE, log_sql).await {
            Ok(db) => Self::postgres(db, alone),
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
        let conn = match opened {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the database for changes; reads are not cached");
                return Self::none();
            }
        };
        // The first read maps the WAL index into this process and leaves it mapped (and the
        // file in place) for as long as the connection is open.
        let wal = data_version(&conn).is_some()
            && conn
                .query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0))
                .is_ok_and(|mode| mode.eq_ignore_ascii_case("wal"));
        let index = if wal {
            SharedIndex::open(path)
                .inspect_err(|e| {
                    tracing::info!(error = %e, "cannot map the WAL index; watching with PRAGMA data_version")
                })
                .ok()
        } else {
            None
        };
        Self {
            conn: Some(Mutex::new(conn)),
            index,
            snapshots: None,
        }
    }

    /// A watch on a Postgres database through `db`, connections of its own (see
    /// `snapshot_watch`).
    pub fn postgres(db: DatabaseConnection, alone: Option<AloneCheck>) -> Self {
        Self {
            snapshots: Some(SnapshotWatch::spawn(db, alone)),
            ..Self::default()
        }
    }

    /// The Postgres watch's figures: snapshot queries answered, versions that stood without
    /// one, and whether this server holds the database alone now.
    pub fn snapshot_figures(&self) -> Option<(u64, u64, bool)> {
        let snapshots = self.snapshots.as_ref()?;
        let (queries, without_query) = snapshots.counts();
        Some((queries, without_query, snapshots.alone()))
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
        if let Some(snapshots) = &self.snapshots {
            return snapshots.version_since(since).await;
        }
        if let Some(index) = &self.index {
            return index.version();
        }
        data_version(&*self.conn.as_ref()?.lock().ok()?)
    }

    /// Whether changes are told by the shared WAL index (rather than the slower PRAGMA).
    pub fn reads_shared_index(&self) -> bool {
        self.index.is_some()
    }
}

fn data_version(conn: &Connection) -> Option<i64> {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut s| s.query_row([], |row| row.get(0)))
        .ok()
}

/// The WAL index's header, mapped read-only from the `-shm` file.
#[derive(Debug)]
struct SharedIndex {
    map: MmapRaw,
    /// The last header read and the version it was given.
    seen: Mutex<([u64; HEADER_WORDS], i64)>,
}

impl SharedIndex {
    fn open(db: &Path) -> std::io::Result<Self> {
        let mut name = db.as_os_str().to_owned();
        name.push("-shm");
        let file = File::open(name)?;
        // A read past the end of a mapped file faults. SQLite never shrinks the index while a
        // connection of this process (the watch's own) has it open, so checking once suffices.
        let bytes = HEADER_WORDS * 8;
        if file.metadata()?.len() < bytes as u64 {
            return Err(std::io::Error::other("the WAL index is not initialised"));
        }
        let map = MmapOptions::new().len(bytes).map_raw_read_only(&file)?;
        let index = Self {
            map,
            seen: Mutex::new(([0; HEADER_WORDS], 0)),
        };
        let header = index.header();
        if header[IS_INIT_BYTE / 8].to_ne_bytes()[IS_INIT_BYTE % 8] == 0 {
            return Err(std::io::Error::other("the WAL index is not initialised"));
        }
        Ok(index)
    }

    fn header(&self) -> [u64; HEADER_WORDS] {
        let words = self.map.as_ptr().cast::<u64>();
        let mut header = [0; HEADER_WORDS];
        for (i, word) in header.iter_mut().enumerate() {
            // SAFETY: the mapping is page-aligned and at least `HEADER_WORDS` words long (checked
            // in `open`), and stays mapped while `self` lives. Other processes write this memory,
            // so it is read through a raw pointer, volatile, and never borrowed as a reference.
            *word = unsafe { words.add(i).read_volatile() };
        }
        // The loads a caller makes next (its database read) must not move before these.
        fence(Ordering::Acquire);
        header
    }

    fn version(&self) -> Option<i64> {
        let header = self.header();
        let mut seen = self.seen.lock().ok()?;
        if seen.0 != header {
            seen.0 = header;
            seen.1 += 1;
        }
        Some(seen.1)
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
        assert!(
            watch.reads_shared_index(),
            "a WAL database is watched through its index"
        );
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
        assert!(watch.reads_shared_index());
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
    async fn without_wal_the_pragma_tells() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(dir.path(), "DELETE");
        let watch = ChangeWatch::sqlite(&path);
        assert!(!watch.reads_shared_index());
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
