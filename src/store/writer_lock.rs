//! Whether this process may take it that no other process writes its Postgres database, so
//! that reads kept in memory stay exact without asking the database on every request.
//!
//! Every meetplane process that writes a Postgres database holds a session-level advisory
//! lock (`LOCK_KEY`) on a connection of its own for as long as it runs: shared by default,
//! exclusive by a server that found no other writer. A process that wants to write while a
//! server holds the lock exclusively notifies `CHANNEL` and waits for the shared lock; the
//! server stops relying on being alone, takes the shared lock beside its exclusive one and
//! releases the exclusive one, so the newcomer's first write comes after the server's last
//! read that relied on being alone. A server holding the shared lock tries for the exclusive
//! one every `TICK` and gets it once every other writer is gone (Postgres releases a process's
//! locks when its connection closes, crashed or not).
//!
//! The lock is only as good as its connection. A server stops relying on it as soon as that
//! connection fails, and when no ping on it has come back for `LEASE`. The connection asks
//! Postgres to probe it (TCP keepalives after 2 s of silence, 2 probes 1 s apart), so Postgres
//! releases the lock of a server cut off from it no sooner than 4 s after the last ping it
//! answered, by which time that server stopped relying on it.
//!
//! Processes that write without taking part (psql, scripts) are not seen here; the reads
//! that rely on this also bound how old the snapshot behind them may be (see
//! `snapshot_watch`), so such a change shows within that bound. The same bound covers the two
//! ways a taking part writer can slip past: a process whose lock connection alone fails keeps
//! writing through its pool while it takes the lock again (a server may hold the database
//! alone meanwhile), and a commit sent by a process killed while Postgres is closing its lock
//! connection may be applied after the lock was released.
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sea_orm::sqlx::{self, Connection, PgConnection, postgres::PgListener};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::DatabaseUrl;

/// The advisory lock every writing process holds ("meetplan" in ASCII).
pub const LOCK_KEY: i64 = 0x6d65_6574_706c_616e;
/// Where a process that waits for the shared lock asks the exclusive holder to let go.
pub const CHANNEL: &str = "meetplane_writers";
/// How often the lock's holder pings its connection, or tries for the exclusive lock.
const TICK: Duration = Duration::from_secs(1);
/// How long after the last ping that came back the exclusive lock is still relied on.
const LEASE: Duration = Duration::from_secs(2);
/// How long a waiting process waits for the shared lock before it says so (a server) or
/// gives up (the CLI).
const WAIT: Duration = Duration::from_secs(30);
/// `WAIT` as the statement timeout of the wait.
const WAIT_TIMEOUT: &str = "SET statement_timeout = 30000";
/// Postgres probes the lock's connection after 2 s of silence, then twice a second apart: it
/// releases a cut-off server's lock no sooner than 4 s after its last ping.
const KEEPALIVES: &str = "SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; \
     SET tcp_keepalives_count = 2";

/// What this process knows of holding the database alone.
#[derive(Debug, Default)]
pub struct SoleWriter {
    held: Mutex<Option<Held>>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    /// When the exclusive lock was granted.
    since: Instant,
    /// When the last ping that came back was sent.
    confirmed: Instant,
}

impl SoleWriter {
    /// Since when this process has held the database alone, if it does now: every write by
    /// another process committed before that moment (see the module's comment).
    pub fn alone_since(&self) -> Option<Instant> {
        let held = (*self.held.lock().ok()?)?;
        (held.confirmed.elapsed() < LEASE).then_some(held.since)
    }

    fn enter(&self, since: Instant, confirmed: Instant) {
        if let Ok(mut held) = self.held.lock() {
            *held = Some(Held { since, confirmed });
        }
    }

    fn confirm(&self, sent: Instant) {
        if let Ok(mut held) = self.held.lock()
            && let Some(held) = held.as_mut()
        {
            held.confirmed = sent;
        }
    }

    fn leave(&self) {
        if let Ok(mut held) = self.held.lock() {
            *held = None;
        }
    }
}

/// Holds the lock for a server until `cancel`: exclusively while no other writer is there.
/// Resolves once the lock is held in either mode (the server may write from then on).
pub async fn hold_for_server(
    url: DatabaseUrl,
    cancel: CancellationToken,
) -> anyhow::Result<Arc<SoleWriter>> {
    let sole = Arc::new(SoleWriter::default());
    let (held_tx, held) = oneshot::channel();
    tokio::spawn(serve_lock(url, Arc::clone(&sole), cancel, held_tx));
    held.await
        .map_err(|_| anyhow::anyhow!("the database's writer lock was not taken"))??;
    Ok(sole)
}

/// The shared lock for a process that writes but never holds the database alone (the CLI).
/// Kept for as long as the returned connection is open.
pub async fn hold_shared(url: &DatabaseUrl) -> anyhow::Result<PgConnection> {
    let mut conn = PgConnection::connect(url.expose())
        .await
        .map_err(|e| anyhow::anyhow!("cannot take the database's writer lock: {e}"))?;
    if !try_shared(&mut conn).await? {
        tracing::info!("a server holds the database alone; asking it to share");
        notify(&mut conn).await?;
        if !wait_shared(&mut conn).await? {
            anyhow::bail!(
                "a meetplane server holds the database alone and did not share it within {} s; \
                 is it stopped (SIGSTOP) or cut off from the database?",
                WAIT.as_secs()
            );
        }
    }
    Ok(conn)
}

async fn serve_lock(
    url: DatabaseUrl,
    sole: Arc<SoleWriter>,
    cancel: CancellationToken,
    held_tx: oneshot::Sender<anyhow::Result<()>>,
) {
    let mut held_tx = Some(held_tx);
    while !cancel.is_cancelled() {
        let result = hold_once(&url, &sole, &cancel, &mut held_tx).await;
        sole.leave();
        match result {
            Ok(()) => return,
            Err(e) => {
                if let Some(tx) = held_tx.take() {
                    // Start-up fails rather than write without the lock.
                    let _ = tx.send(Err(e));
                    return;
                }
                tracing::warn!(error = %e, "lost the database's writer lock; taking it again");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(TICK) => {}
                }
            }
        }
    }
}

/// One connection's life: take the lock, then keep it (and hand the exclusive one over when
/// asked) until the connection fails or `cancel`.
async fn hold_once(
    url: &DatabaseUrl,
    sole: &SoleWriter,
    cancel: &CancellationToken,
    held_tx: &mut Option<oneshot::Sender<anyhow::Result<()>>>,
) -> anyhow::Result<()> {
    let mut conn = PgListener::connect(url.expose()).await?;
    // A lost connection is the lost lock: said at once, and the next one is ours to open.
    conn.eager_reconnect(false);
    sqlx::raw_sql(KEEPALIVES).execute(&mut conn).await?;
    let own_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await?;
    // Listening before trying: whoever finds the lock held from now on can reach us.
    conn.listen(CHANNEL).await?;
    let sent = Instant::now();
    let mut alone = try_exclusive(&mut conn).await?;
    if alone {
        sole.enter(Instant::now(), sent);
    } else {
        let mut notified = false;
        while !try_shared(&mut conn).await? {
            if !notified {
                notify(&mut conn).await?;
                notified = true;
            }
            if wait_shared(&mut conn).await? {
                break;
            }
            tracing::warn!(
                "waiting for the server that holds the database alone to share it; \
                 is it stopped or cut off from the database?"
            );
        }
    }
    if let Some(tx) = held_tx.take() {
        let _ = tx.send(Ok(()));
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            notification = conn.try_recv() => {
                let Some(notification) = notification? else {
                    anyhow::bail!("the lock's connection was lost");
                };
                // Our own ask (sent while waiting for the shared lock) comes back to us too.
                let own = i64::from(notification.process_id()) == i64::from(own_pid);
                if alone && !own {
                    // Nothing read from here on relies on being alone; then let the newcomer in.
                    sole.leave();
                    alone = false;
                    sqlx::query("SELECT pg_advisory_lock_shared($1)")
                        .bind(LOCK_KEY)
                        .execute(&mut conn)
                        .await?;
                    sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(LOCK_KEY)
                        .execute(&mut conn)
                        .await?;
                    tracing::info!("another process writes the database; reads ask it again");
                }
            }
            _ = tick.tick() => {
                let sent = Instant::now();
                if alone {
                    sqlx::query("SELECT 1").execute(&mut conn).await?;
                    sole.confirm(sent);
                } else if try_exclusive(&mut conn).await? {
                    sqlx::query("SELECT pg_advisory_unlock_shared($1)")
                        .bind(LOCK_KEY)
                        .execute(&mut conn)
                        .await?;
                    sole.enter(Instant::now(), sent);
                    alone = true;
                    tracing::info!("no other process writes the database; reads rely on that");
                }
            }
        }
    }
}

async fn try_exclusive<'c, E: sqlx::PgExecutor<'c>>(conn: E) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(conn)
        .await
}

async fn try_shared<'c, E: sqlx::PgExecutor<'c>>(conn: E) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock_shared($1)")
        .bind(LOCK_KEY)
        .fetch_one(conn)
        .await
}

async fn notify<'c, E: sqlx::PgExecutor<'c>>(conn: E) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Waits up to `WAIT` for the shared lock: false when that ran out.
async fn wait_shared<C>(conn: &mut C) -> sqlx::Result<bool>
where
    for<'c> &'c mut C: sqlx::PgExecutor<'c>,
{
    sqlx::query(WAIT_TIMEOUT).execute(&mut *conn).await?;
    let got = sqlx::query("SELECT pg_advisory_lock_shared($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await;
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    match got {
        Ok(_) => Ok(true),
        // query_canceled: the statement timeout ran out.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("57014") => Ok(false),
        Err(e) => Err(e),
    }
}

/// How a process takes part in the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterRole {
    /// Holds the database alone while no other writer is there.
    Server,
    /// Writes beside servers, never alone (the CLI).
    Member,
}

/// This process's hold on the lock, kept for as long as it may write.
#[derive(Debug)]
pub enum WriterHold {
    /// SQLite: one file, whose changes are watched without a lock (see `change_watch`).
    NotNeeded,
    Server {
        sole: Arc<SoleWriter>,
        /// Ends the lock's task (and so releases the lock) on `release`...
        stop: CancellationToken,
        /// ...or when the hold is dropped.
        _guard: tokio_util::sync::DropGuard,
    },
    Member(Mutex<PgConnection>),
}

impl WriterHold {
    /// Takes the lock for `role` on the database at `url`; resolves once this process may write.
    pub async fn take(url: &DatabaseUrl, role: WriterRole) -> anyhow::Result<Self> {
        if url.sqlite_path().is_some() {
            return Ok(Self::NotNeeded);
        }
        Ok(match role {
            WriterRole::Server => {
                let stop = CancellationToken::new();
                let sole = hold_for_server(url.clone(), stop.clone()).await?;
                Self::Server {
                    sole,
                    _guard: stop.clone().drop_guard(),
                    stop,
                }
            }
            WriterRole::Member => Self::Member(Mutex::new(hold_shared(url).await?)),
        })
    }

    /// Lets go of the lock once this server has stopped writing (after its shutdown), so
    /// that the servers left may hold the database alone.
    pub fn release(&self) {
        if let Self::Server { stop, .. } = self {
            stop.cancel();
        }
    }

    /// What this server knows of holding the database alone (servers on Postgres only).
    pub fn sole(&self) -> Option<&Arc<SoleWriter>> {
        match self {
            Self::Server { sole, .. } => Some(sole),
            _ => None,
        }
    }
}
