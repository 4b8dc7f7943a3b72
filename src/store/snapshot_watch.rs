//! Whether the database changed since a moment, asked in shared rounds: a task takes every
//! request queued so far, asks the database once and answers them all.
//!
//! SQLite: `PRAGMA data_version` on a read-only connection of the watch's own (see
//! `change_watch`). Postgres: the transaction snapshot, as follows.
//!
//! `pg_current_snapshot()` names which transactions a new statement sees: every transaction
//! id below `xmax` that is not in the in-progress list, where `xmax` is one past the latest
//! transaction to complete. So any transaction that writes (on any node, in any session) and
//! then commits or aborts changes that text: either it was in the list and leaves it, or it
//! moves `xmax` past it. Read-only transactions have no id and change nothing. Two equal
//! snapshots therefore see exactly the same data, and a snapshot never comes back once it
//! changed (`xmax` only grows, and only grows past an id once it completed). Each new snapshot
//! text gets a new version number.
//!
//! Commits are visible before Postgres acknowledges them, so a request that arrives after a
//! write returned (here or on another node) must read the snapshot with a query that starts
//! after it arrived. Asking the database once per request would cost a round trip each, so
//! requests queue for the next query: a task takes every request queued so far, runs one
//! query and answers them all. The database answers one small query per round however many
//! requests share it.
//!
//! A query that began after a request arrived answers for all of that request: its second
//! cached read (the token check's is the first) takes the version of the latest query when
//! that query began after the request arrived, without waiting again.
//!
//! Two such queries may run at once (`QUERIES_AT_ONCE`), so a request that asks just after
//! one began need not wait for it to finish before the next begins. The watch has its own
//! connections, so a busy pool never holds the check up.
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Instant,
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use tokio::sync::{mpsc, oneshot};

/// What a round asks: a text that changes (and never comes back) once a commit happened.
#[derive(Debug, Clone)]
pub enum Source {
    /// `pg_current_snapshot()` on a pool of `QUERIES_AT_ONCE` connections.
    Postgres(DatabaseConnection),
    /// `PRAGMA data_version` on one connection that never writes. Its answers are comparable
    /// only on that connection, so the rounds share it.
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
}

impl Source {
    async fn read(&self) -> anyhow::Result<String> {
        match self {
            Source::Postgres(db) => Ok(snapshot(db).await?),
            Source::Sqlite(conn) => {
                let conn = conn
                    .lock()
                    .map_err(|_| anyhow::anyhow!("the watch's connection was poisoned"))?;
                let version: i64 = conn
                    .prepare_cached("PRAGMA data_version")
                    .and_then(|mut s| s.query_row([], |row| row.get(0)))?;
                Ok(version.to_string())
            }
        }
    }
}

type Answer = oneshot::Sender<Option<i64>>;

/// Queries that may run at once. With one, a request that asks just after a query began
/// waits for it and then for a whole next one; with more, the next one starts at once.
pub const QUERIES_AT_ONCE: u32 = 2;

#[derive(Debug)]
pub struct SnapshotWatch {
    asks: mpsc::UnboundedSender<Answer>,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queued: tokio::sync::Mutex<mpsc::UnboundedReceiver<Answer>>,
    versions: Mutex<Versions>,
    latest: Mutex<Option<Latest>>,
    failing: AtomicBool,
    /// Snapshot queries answered.
    queries: AtomicU64,
}

/// The latest query to answer.
#[derive(Debug, Clone, Copy)]
struct Latest {
    began: Instant,
    version: i64,
}

impl SnapshotWatch {
    /// Starts the tasks that ask `source`; they end when the watch is dropped.
    pub fn spawn(source: Source) -> Self {
        let (asks, queued) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queued: tokio::sync::Mutex::new(queued),
            versions: Mutex::default(),
            latest: Mutex::default(),
            failing: AtomicBool::new(false),
            queries: AtomicU64::new(0),
        });
        for _ in 0..QUERIES_AT_ONCE {
            tokio::spawn(answer_rounds(source.clone(), Arc::clone(&shared)));
        }
        Self { asks, shared }
    }

    /// The version of a snapshot read by a query that began at `since` or later, or `None`
    /// when the database did not answer.
    pub async fn version_since(&self, since: Instant) -> Option<i64> {
        if let Ok(latest) = self.shared.latest.lock()
            && let Some(latest) = *latest
            && latest.began >= since
        {
            return Some(latest.version);
        }
        let (answer, answered) = oneshot::channel();
        self.asks.send(answer).ok()?;
        answered.await.ok().flatten()
    }

    /// Snapshot queries answered so far.
    pub fn queries(&self) -> u64 {
        self.shared.queries.load(Ordering::Relaxed)
    }
}

async fn answer_rounds(source: Source, shared: Arc<Shared>) {
    let mut round = Vec::new();
    loop {
        let began = {
            let mut queued = shared.queued.lock().await;
            let Some(first) = queued.recv().await else {
                return;
            };
            round.push(first);
            while let Ok(next) = queued.try_recv() {
                round.push(next);
            }
            // Everyone taken above asked before the query below starts.
            Instant::now()
        };
        let version = match source.read().await {
            Ok(text) => {
                shared.failing.store(false, Ordering::Relaxed);
                shared.queries.fetch_add(1, Ordering::Relaxed);
                // Rounds may finish out of order: an older snapshot coming back after a newer
                // one gets a number of its own again, which costs a miss, never a stale read.
                let version = shared.versions.lock().ok().map(|mut v| v.of(text));
                if let (Some(version), Ok(mut latest)) = (version, shared.latest.lock())
                    && latest.is_none_or(|newest| newest.began < began)
                {
                    *latest = Some(Latest { began, version });
                }
                version
            }
            Err(e) => {
                // Once per outage, not once per round: the pool logs the reconnects.
                if !shared.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "cannot ask the database whether it changed; reads are not cached until it answers");
                }
                None
            }
        };
        for answer in round.drain(..) {
            // A request that went away meanwhile no longer listens.
            let _ = answer.send(version);
        }
    }
}

async fn snapshot(db: &DatabaseConnection) -> Result<String, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT pg_current_snapshot()::text AS snapshot",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("no snapshot row".into()))?;
    row.try_get("", "snapshot")
}

/// Numbers snapshot texts: the same text the same number, a new one the next.
#[derive(Debug, Default)]
struct Versions {
    last: String,
    version: i64,
}

impl Versions {
    fn of(&mut self, text: String) -> i64 {
        if text != self.last {
            self.last = text;
            self.version += 1;
        }
        self.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_snapshot_gets_a_new_version() {
        let mut v = Versions::default();
        let first = v.of("10:12:10,11".into());
        assert_eq!(v.of("10:12:10,11".into()), first);
        let second = v.of("11:12:11".into());
        assert!(second > first);
        assert_eq!(v.of("11:12:11".into()), second);
    }
}
