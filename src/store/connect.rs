//! Opening the database (SQLite or Postgres) and applying migrations.
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::DatabaseUrl;

/// Pooled connections idle at least this long are pinged before they are handed out.
pub const POOL_PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// How long a SQLite writer waits for another process's write (the CLI's, say) by default.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn connect(
    url: &DatabaseUrl,
    max_connections: u32,
    log_sql: bool,
) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, max_connections, log_sql, SQLITE_BUSY_TIMEOUT).await
}

/// The connection write transactions use. On SQLite, a pool of one connection of its own:
/// writers of this process queue for it in the pool (in order, without sleeping), so SQLite's
/// busy handler, which sleeps, only ever waits for other processes. Reads keep the main
/// pool and never wait behind writes (WAL). On Postgres, the main pool: row locks order
/// writers there.
pub async fn connect_writer(
    url: &DatabaseUrl,
    db: &DatabaseConnection,
    log_sql: bool,
    busy_timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    if url.sqlite_path().is_none() {
        return Ok(db.clone());
    }
    connect_with(url, 1, log_sql, busy_timeout).await
}

/// [`connect`] with the SQLite busy timeout given.
pub async fn connect_with(
    url: &DatabaseUrl,
    max_connections: u32,
    log_sql: bool,
    busy_timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = url.sqlite_path()
        && let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
    }
    let mut opts = ConnectOptions::new(url.expose().to_string());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        // A ping on every checkout is one more round trip for each statement outside a
        // transaction and each transaction (three of them on a session-link join). A
        // connection used within the last second has just answered; only those idle longer,
        // where a connection dropped by the server or a proxy is likely, are pinged (and
        // replaced if dead) before a request gets them.
        .test_before_acquire_if_idle_for(POOL_PING_AFTER_IDLE)
        // Statements are logged at INFO under `sqlx::query` when asked (MEETPLANE_LOG_SQL).
        .sqlx_logging(log_sql)
        // WAL lets readers run beside the one writer; the busy timeout makes a writer wait for
        // another process's write instead of failing; write transactions start IMMEDIATE
        // (see `begin_write`) on the process's one writer connection (`connect_writer`).
        .map_sqlx_sqlite_opts(move |o| {
            o.create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
        })
        .map_sqlx_sqlite_pool_opts(|p| {
            p.after_connect(|conn, _| Box::pin(super::sqlite_tuning::on_connect(conn)))
        });
    super::sqlite_tuning::before_first_connection();
    Database::connect(opts).await.map_err(|e| {
        // sqlx errors do not include the URL, but say which database failed, without its password.
        anyhow::anyhow!("cannot connect to database {}: {e}", url.redacted())
    })
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Applied and pending migrations compared with what this binary knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub pending: Vec<String>,
    /// Applied migrations this binary does not know (the database is newer than the binary).
    pub unknown: Vec<String>,
}

pub async fn migration_status(db: &DatabaseConnection) -> Result<MigrationStatus, DbErr> {
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    let applied: Vec<String> = Migrator::get_applied_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    Ok(MigrationStatus {
        pending: known
            .iter()
            .filter(|k| !applied.contains(k))
            .cloned()
            .collect(),
        unknown: applied
            .iter()
            .filter(|a| !known.contains(a))
            .cloned()
            .collect(),
    })
}

pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Begin a transaction that will write, on the writer connection (`AppState::writer`). On
/// SQLite it starts `IMMEDIATE`, taking the write lock up front, so a writer of another
/// process waits on the busy timeout instead of one failing with "database is locked" when
/// it upgrades from reading. On Postgres this is a plain BEGIN;
/// row locks (`FOR UPDATE`) serialise conflicting writers there.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// The pool's open connections, idle ones among them, and its maximum.
pub fn pool_state(db: &DatabaseConnection) -> (i64, i64, i64) {
    fn of<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> (i64, i64, i64) {
        (
            i64::from(pool.size()),
            i64::try_from(pool.num_idle()).unwrap_or(i64::MAX),
            i64::from(pool.options().get_max_connections()),
        )
    }
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => of(db.get_postgres_connection_pool()),
        sea_orm::DbBackend::Sqlite => of(db.get_sqlite_connection_pool()),
        _ => (0, 0, 0),
    }
}

/// Whether the database is Postgres (several nodes may share it) rather than SQLite.
pub fn is_postgres(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == sea_orm::DbBackend::Postgres
}
