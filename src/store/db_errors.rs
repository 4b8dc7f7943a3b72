//! What a database error means for the layers above, decided here so that only `store/`
//! looks inside sea-orm's and sqlx's error types.
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlErr, sqlx};

/// A constraint the statement broke: the client's doing (a duplicate name, a vanished parent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    Unique,
    ForeignKey,
}

pub fn violation(err: &DbErr) -> Option<Violation> {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Some(Violation::Unique),
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => Some(Violation::ForeignKey),
        _ => None,
    }
}

/// Whether a database error says the connection (not the statement) failed: the pool timed
/// out or closed, the socket broke, or the server ended the session (Postgres SQLSTATE class
/// 08, and 57P01-57P03: terminated by an administrator, crash, server starting up), or SQLite
/// stayed busy. Nothing is wrong with the request, so the client may retry it (a commit cut
/// before its answer may have been made: the `Idempotency-Key` makes a retried change safe).
pub fn is_connection_lost(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            true
        }
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => is_sqlx_connection_lost(e),
        _ => false,
    }
}

fn is_sqlx_connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08")
                || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
                // SQLite: SQLITE_BUSY with any extended code (the busy timeout ran out).
                || code.parse::<i64>().is_ok_and(|c| c & 0xff == 5)
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn sqlx_err(e: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
    }

    #[test]
    fn connection_failures_are_lost_connections_and_nothing_else_is() {
        for lost in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            sqlx_err(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into())),
            sqlx_err(sqlx::Error::PoolTimedOut),
            sqlx_err(sqlx::Error::WorkerCrashed),
        ] {
            assert!(is_connection_lost(&lost), "{lost}");
        }
        for other in [
            sqlx_err(sqlx::Error::RowNotFound),
            sqlx_err(sqlx::Error::Protocol("bad".into())),
            DbErr::Custom("boom".into()),
            DbErr::RecordNotFound("x".into()),
        ] {
            assert!(!is_connection_lost(&other), "{other}");
            assert_eq!(violation(&other), None, "{other}");
        }
    }
}
