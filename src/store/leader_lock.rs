//! A node-wide leadership on Postgres: an advisory lock held on a connection of its own,
//! taken out of the pool for good (closing it is what releases the lock). On SQLite there is
//! one node, which always leads.
use sea_orm::{
    DatabaseConnection, DbBackend, DbErr,
    sqlx::{self, PgConnection},
};

/// Proof of leadership: on Postgres the connection holding the advisory lock.
pub struct Leadership(Option<PgConnection>);

impl Leadership {
    /// Whether the lock is still held (its connection answers).
    pub async fn still_held(&mut self) -> bool {
        match &mut self.0 {
            None => true,
            Some(conn) => sqlx::query("SELECT 1").execute(&mut *conn).await.is_ok(),
        }
    }
}

/// Take the advisory lock `key` if no other session holds it.
pub async fn try_lead(db: &DatabaseConnection, key: i64) -> Result<Option<Leadership>, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Some(Leadership(None)));
    }
    let pool = db.get_postgres_connection_pool();
    let mut conn = pool.acquire().await.map_err(sql_err)?.detach();
    let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut conn)
        .await
        .map_err(sql_err)?;
    if got {
        Ok(Some(Leadership(Some(conn))))
    } else {
        let _ = sqlx::Connection::close(conn).await;
        Ok(None)
    }
}

fn sql_err(e: sqlx::Error) -> DbErr {
    DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into()))
}

impl Drop for Leadership {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            // Closed, so the session ends and Postgres releases the lock.
            tokio::spawn(async move {
                let _ = sqlx::Connection::close(conn).await;
            });
        }
    }
}
