//! Persistence: the sea-orm entities and the queries over them. Domain code calls these
//! functions; no SQL is written anywhere else.
pub mod admins;
pub mod audit;
pub mod bookings;
pub mod bridge_status;
pub mod change_watch;
pub mod chat;
pub mod checksums;
pub mod clients;
pub mod connect;
pub mod db_errors;
pub mod deliveries;
pub mod delivery_nodes;
pub mod dialogs;
pub mod domains;
pub mod entities;
pub mod events;
pub mod idempotency;
pub mod key_pairs;
pub mod leader_lock;
pub mod media;
pub mod media_rooms;
pub mod notifications;
pub mod orgs;
pub mod peers;
pub mod presence;
pub mod read_cache;
pub mod revocations;
pub mod rooms;
pub mod salts;
pub mod session_entries;
pub mod settings;
pub mod snapshot_watch;
pub mod sqlite_tuning;
pub mod subscriptions;
pub mod tokens;
pub mod webhooks;
pub mod widgets;

/// The database handle, connection trait and error as the layers above name them: only
/// `store/` (and the migrations) use sea-orm and sqlx directly (`.ci/run` checks it).
pub use sea_orm::{ConnectionTrait as Conn, DatabaseConnection as Db, DbErr as DbError};

/// A write transaction ([`connect::begin_write`]), as the layers above hold one.
pub type Tx = sea_orm::DatabaseTransaction;

/// One page of a list query: `offset`/`limit` rows, fetched as `limit + 1` so the caller
/// knows whether another page follows without counting.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

impl Window {
    /// Rows `page * count ..` of a list. Databases take a signed 64-bit offset (and the
    /// Postgres driver panics on a larger one), so an offset past `i64::MAX` is clamped to it:
    /// no table has that many rows, so such a page is empty either way.
    pub fn page(page: u64, count: u64) -> Self {
        Self {
            offset: page.saturating_mul(count).min(i64::MAX as u64),
            limit: count,
        }
    }

    /// Trim the extra row and tell whether there was one.
    pub fn split<T>(&self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        (rows, more)
    }
}
