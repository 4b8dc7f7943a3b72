//! Whether a Postgres database changed since a moment, told by its transaction snapshot.
//!
//! `pg_current_snapshot()` names which transactions a new statement sees: every transaction
//! id below `xmax` that is not in the in-progress list, where `xmax` is one past the latest
//! transaction to complete. So any transaction that writes (on any node, in any session) and
//! then commits or aborts changes that text: either it was in the list and leaves it, or it
//! moves `xmax` past it. Read-only transactions have no id and change nothing. Two equal
//! snapshots therefore see exactly the same data, and a snapshot never comes back once it
//! changed (`xmax` only grows, and only grows past an id once it completed). Each new snapshot
//! text gets a new version number, as the SQLite watch numbers WAL-index headers.
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
//!
//! A server that holds the database alone (`writer_lock`) needs no query per request: when
//! the latest query was sent after the server became alone, while its own pool was all idle,
//! and the pool has handed out no connection since (`pool_checkouts`), nothing wrote since
//! that query, so its version still stands. Such a version is used for at most `FRESH_FOR`
//! after its query began, which bounds how long a write by a process that does not take the
//! lock (psql, a script) may go unseen.
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, sqlx::PgPool};
use tokio::sync::{mpsc, oneshot};

use super::{pool_checkouts::PoolCheckouts, writer_lock::SoleWriter};

type Answer = oneshot::Sender<Option<i64>>;

/// Queries that may run at once. With one, a request that asks just after a query began
/// waits for it and then for a whole next one; with more, the next one starts at once.
pub const QUERIES_AT_ONCE: u32 = 2;
/// How long a version read while this server held the database alone stands without a new
/// query (see the module's comment).
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// What tells that nothing wrote since a query: this server holding the database alone, and
/// its own pool (`pool`, counted by `checkouts`) handing out no connection.
#[derive(Debug)]
pub struct AloneCheck {
    pub sole: Arc<SoleWriter>,
    pub checkouts: PoolCheckouts,
    pub pool: PgPool,
}

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
    alone: Option<AloneCheck>,
    /// Snapshot queries answered, and versions that stood without one.
    queries: AtomicU64,
    without_query: AtomicU64,
}

/// The latest query to answer.
#[derive(Debug, Clone, Copy)]
struct Latest {
    began: Instant,
    version: i64,
    /// The pool's checkout count before the query began, when the pool was all idle then.
    quiet_mark: Option<u64>,
}

impl Shared {
    /// Whether nothing can have written since `latest`'s query (see the module's comment).
    fn still_stands(&self, latest: &Latest) -> bool {
        let (Some(alone), Some(mark)) = (&self.alone, latest.quiet_mark) else {
            return false;
        };
        alone
            .sole
            .alone_since()
            .is_some_and(|since| latest.began >= since)
            && latest.began.elapsed() < FRESH_FOR
            && alone.checkouts.get() == mark
    }
}

impl SnapshotWatch {
    /// Starts the tasks that read snapshots on `db` (a pool of `QUERIES_AT_ONCE`
    /// connections); they end when the watch is dropped.
    /// `alone`, when given, lets versions stand without a query while it tells so.
    pub fn spawn(db: DatabaseConnection, alone: Option<AloneCheck>) -> Self {
        let (asks, queued) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queued: tokio::sync::Mutex::new(queued),
            versions: Mutex::default(),
            latest: Mutex::default(),
            failing: AtomicBool::new(false),
            alone,
            queries: AtomicU64::new(0),
            without_query: AtomicU64::new(0),
        });
        for _ in 0..QUERIES_AT_ONCE {
            tokio::spawn(answer_rounds(db.clone(), Arc::clone(&shared)));
        }
        Self { asks, shared }
    }

    /// The version of a snapshot read by a query that began at `since` or later (or, while
    /// this server holds the database alone, an earlier one that still stands), or `None`
    /// when the database did not answer.
    pub async fn version_since(&self, since: Instant) -> Option<i64> {
        if let Ok(latest) = self.shared.latest.lock()
            && let Some(latest) = *latest
        {
            if latest.began >= since {
                return Some(latest.version);
            }
            if self.shared.still_stands(&latest) {
                self.shared.without_query.fetch_add(1, Ordering::Relaxed);
                return Some(latest.version);
            }
        }
        let (answer, answered) = oneshot::channel();
        self.asks.send(answer).ok()?;
        answered.await.ok().flatten()
    }

    /// Snapshot queries answered so far, and versions that stood without one.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.shared.queries.load(Ordering::Relaxed),
            self.shared.without_query.load(Ordering::Relaxed),
        )
    }

    /// Whether this server holds the database alone now.
    pub fn alone(&self) -> bool {
        self.shared
            .alone
            .as_ref()
            .is_some_and(|alone| alone.sole.alone_since().is_some())
    }
}

async fn answer_rounds(db: DatabaseConnection, shared: Arc<Shared>) {
    let mut round = Vec::new();
    loop {
        let (began, quiet_mark) = {
            let mut queued = shared.queued.lock().await;
            let Some(first) = queued.recv().await else {
                return;
            };
            round.push(first);
            while let Ok(next) = queued.try_recv() {
                round.push(next);
            }
            // Taken before the query starts: a connection handed out after it moves the count.
            let quiet_mark = shared
                .alone
                .as_ref()
                .and_then(|alone| alone.checkouts.quiet_mark(&alone.pool));
            // Everyone taken above asked before the query below starts.
            (Instant::now(), quiet_mark)
        };
        let version = match snapshot(&db).await {
            Ok(text) => {
                shared.failing.store(false, Ordering::Relaxed);
                shared.queries.fetch_add(1, Ordering::Relaxed);
                // Rounds may finish out of order: an older snapshot coming back after a newer
                // one gets a number of its own again, which costs a miss, never a stale read.
                let version = shared.versions.lock().ok().map(|mut v| v.of(text));
                if let (Some(version), Ok(mut latest)) = (version, shared.latest.lock())
                    && latest.is_none_or(|newest| newest.began < began)
                {
                    *latest = Some(Latest {
                        began,
                        version,
                        quiet_mark,
                    });
                }
                version
            }
            Err(e) => {
                // Once per outage, not once per round: the pool logs the reconnects.
                if !shared.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "cannot read the database snapshot; reads are not cached until it answers");
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
