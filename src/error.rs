//! The one error type of meetplane's domain. Every surface maps it to its wire format in one
//! place (`api::problem` for the native API); domain code never knows about HTTP.
use sea_orm::{DbErr, SqlErr};

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
    BadRequest { code: &'static str, message: String },
    /// Missing or unusable credentials.
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// Valid credentials, but the action is not allowed.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too many attempts; the client may retry after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        message: String,
        retry_after: u64,
    },
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
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Error::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Error::Unauthenticated {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Error::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    /// Constraint violations are the client's doing (a duplicate name, a vanished parent),
    /// so they become 409/422 rather than internal errors.
    pub fn classify_db(self) -> Self {
        match &self {
            Error::Database(e) => match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => Error::conflict(
                    "already_exists",
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
