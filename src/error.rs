//! The one error type of meetplane's domain. Every surface maps it to its wire format in one
//! place (`api::problem` for the native API); domain code never knows about HTTP.
pub use crate::error_codes::Code;
use crate::store::{
    DbError,
    db_errors::{self, Violation},
};

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
    Database(#[from] DbError),
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
        let Error::Database(e) = &self else {
            return self;
        };
        if db_errors::is_connection_lost(e) {
            return Error::Unavailable {
                retry_after: UNAVAILABLE_RETRY_AFTER,
            };
        }
        match db_errors::violation(e) {
            Some(Violation::Unique) => Error::conflict(
                Code::AlreadyExists,
                "a resource with these values already exists",
            ),
            Some(Violation::ForeignKey) => {
                Error::invalid("reference", "refers to a resource that does not exist")
            }
            None => self,
        }
    }

    /// True for a unique-constraint violation (used where a duplicate means something specific,
    /// such as a replayed salt).
    pub fn is_unique_violation(err: &DbError) -> bool {
        db_errors::violation(err) == Some(Violation::Unique)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which errors count as a lost connection is tested in `store::db_errors`.
    #[test]
    fn a_database_error_that_is_neither_lost_nor_a_violation_stays_a_database_error() {
        for other in [
            DbError::Custom("boom".into()),
            DbError::RecordNotFound("x".into()),
        ] {
            assert!(matches!(
                Error::Database(other).classify_db(),
                Error::Database(_)
            ));
        }
    }
}
