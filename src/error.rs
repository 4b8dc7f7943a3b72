//! The one error type of meetplane's domain. Every surface maps it to its wire format in one
//! place (`api::problem` for the native API); domain code never knows about HTTP.
pub use crate::error_codes::Code;
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlErr, sqlx};

/// Seconds a client is asked to wait when the database is unreachable: connections are
/// re-established within about that.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named resource does not exist, or belongs to another organisation.
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    /// Input that is well-formed but breaks a rule about one field.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Input that cannot be understood at all.
    #[error("{message}")]
    BadRequest { code: Code, message: String },
    /// Missing or unusable credentials.
    #[error("{message}")]
    Unauthenticated { code: Code, message: String },
    /// Valid credentials, but the action is not allowed.
    #[error("{message}")]
    Forbidden { code: Code, message: String },
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict { code: Code, message: String },
    /// Too many attempts; the client may retry after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests {
        code: Code,
        message: String,
        retry_after: u64,
    },
    /// The database cannot be reached right now (connections cut, pool exhausted, server
    /// restarting): the same request may succeed in a moment.
    #[error("the database is briefly unavailable")]
    Unavailable { retry_after: u64 },
    /// The media server (Janus) does not answer; the request may succeed once it is back.
    #[error("the media server is unavailable: {message}")]
    MediaUnavailable { message: String },
    #[error("database error")]
    Database(#[from] DbErr),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn not_found(resource: &'static str) -> Self {
        Error::NotFound { resource }
    }
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn bad_request(code: Code, message: impl Into<String>) -> Self {
        Error::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn unauthenticated(code: Code, message: impl Into<String>) -> Self {
        Error::Unauthenticated {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: Code, message: impl Into<String>) -> Self {
        Error::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: Code, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    /// Constraint violations are the client's doing (a duplicate name, a vanished parent),
    /// so they become 409/422 rather than internal errors; a lost or unobtainable connection
    /// is the database's passing state, so it becomes `Unavailable`.
    pub fn classify_db(self) -> Self {
        match &self {
            Error::Database(e) if is_connection_lost(e) => Error::Unavailable {
                retry_after: UNAVAILABLE_RETRY_AFTER,
            },
            Error::Database(e) => match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => Error::conflict(
                    Code::AlreadyExists,
                    "a resource with these values already exists",
                ),
                Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                    Error::invalid("reference", "refers to a resource that does not exist")
                }
                _ => self,
            },
            _ => self,
        }
    }

    /// True for a unique-constraint violation (used where a duplicate means something specific,
    /// such as a replayed salt).
    pub fn is_unique_violation(err: &DbErr) -> bool {
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
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
    fn connection_failures_are_unavailable_and_nothing_else_is() {
        for lost in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            sqlx_err(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into())),
            sqlx_err(sqlx::Error::PoolTimedOut),
            sqlx_err(sqlx::Error::WorkerCrashed),
        ] {
            assert!(
                matches!(
                    Error::Database(lost.clone()).classify_db(),
                    Error::Unavailable { retry_after: 1 }
                ),
                "{lost}"
            );
        }
        for other in [
            sqlx_err(sqlx::Error::RowNotFound),
            sqlx_err(sqlx::Error::Protocol("bad".into())),
            DbErr::Custom("boom".into()),
            DbErr::RecordNotFound("x".into()),
        ] {
            assert!(
                matches!(
                    Error::Database(other.clone()).classify_db(),
                    Error::Database(_)
                ),
                "{other}"
            );
        }
    }
}
