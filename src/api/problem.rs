//! The one error shape of the native API: RFC 9457 `application/problem+json` with a stable
//! machine-readable `code`. The mapping from the domain error to HTTP lives here and only
//! here; errors raised by the framework itself (unknown route, bad content type, malformed
//! parameters) are converted by `render_poem_error` into the same shape.
use std::fmt;

use poem::{
    Response,
    error::ResponseError,
    http::{StatusCode, header},
};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};

use crate::error::Error;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem detail (RFC 9457).
#[derive(Debug, Clone, Object, PartialEq, Eq)]
pub struct Problem {
    /// A URI naming the problem kind: `urn:meetplane:problem:{code}`.
    #[oai(rename = "type")]
    pub kind: String,
    /// Short summary of the problem kind (the HTTP reason phrase).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, for humans.
    pub detail: String,
    /// Stable machine-readable error code, e.g. `room_not_found`, `validation_failed`.
    pub code: String,
    /// For validation failures: each offending field (a JSON path such as `meetingOptions.duration`).
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldError>>,
}

#[derive(Debug, Clone, Object, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An error response of the native API.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Boxed: errors travel through every handler's `Result`, which should stay small.
    pub problem: Box<Problem>,
    /// Seconds for `Retry-After` (429 and 503 answers).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        let code = code.into();
        Self {
            problem: Box::new(Problem {
                kind: format!("urn:meetplane:problem:{code}"),
                title: status.canonical_reason().unwrap_or("Error").to_string(),
                status: status.as_u16(),
                detail: detail.into(),
                code,
                errors: None,
            }),
            retry_after: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{field}: {message}"),
        );
        e.problem.errors = Some(vec![FieldError { field, message }]);
        e
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to handle this request; it has been logged",
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.problem.status, self.problem.code, self.problem.detail
        )
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status_code()
    }

    fn as_response(&self) -> Response {
        let body = self
            .problem
            .to_json()
            .map(|v| v.to_string())
            .unwrap_or_default();
        let mut resp = Response::builder()
            .status(self.status_code())
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .body(body);
        if self.problem.status == 401 {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"meetplane\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        resp
    }
}

/// Every operation may fail with these; documenting them all keeps generated clients and
/// schema checkers honest about what can come back.
const DOCUMENTED: &[(u16, &str)] = &[
    (400, "Malformed request (bad JSON, bad parameter)"),
    (401, "Missing, invalid, expired or revoked credentials"),
    (403, "Not allowed (locked room, wrong password or host key)"),
    (404, "No such resource in this organisation"),
    (409, "Conflicts with the current state"),
    (413, "Request body too large"),
    (415, "Unsupported content type"),
    (
        429,
        "Too many requests (rate limit or sign-in throttling); retry after `Retry-After` seconds",
    ),
    (
        422,
        "Well-formed but invalid input; `errors` names the fields",
    ),
    (500, "Server error (logged; the detail is generic)"),
    (
        503,
        "The database is briefly unreachable; retry after `Retry-After` seconds (with the same `Idempotency-Key`, a change is made once)",
    ),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: CONTENT_TYPE,
                        schema: Problem::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound { resource } => Self::new(
                StatusCode::NOT_FOUND,
                format!("{}_not_found", resource.replace(' ', "_")),
                format!("{resource} not found"),
            ),
            Error::Invalid { field, message } => Self::invalid(field, message),
            Error::BadRequest { code, message } => {
                Self::new(StatusCode::BAD_REQUEST, code.as_str(), message)
            }
            Error::Unauthenticated { code, message } => {
                Self::new(StatusCode::UNAUTHORIZED, code.as_str(), message)
            }
            Error::Forbidden { code, message } => {
                Self::new(StatusCode::FORBIDDEN, code.as_str(), message)
            }
            Error::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code.as_str(), message)
            }
            Error::TooManyRequests {
                code,
                message,
                retry_after,
            } => {
                let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, code.as_str(), message);
                e.retry_after = Some(retry_after);
                e
            }
            Error::Unavailable { retry_after } => {
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database is briefly unavailable; retry after `Retry-After` seconds (with \
                     the same Idempotency-Key, a change is made once)",
                );
                e.retry_after = Some(retry_after);
                e
            }
            Error::MediaUnavailable { message } => {
                tracing::warn!(error = %message, "the media server is unreachable; answering 503");
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "media_unavailable",
                    "the media server is unavailable; retry after `Retry-After` seconds",
                );
                e.retry_after = Some(2);
                e
            }
            Error::Database(e) => match Error::Database(e.clone()).classify_db() {
                Error::Database(_) => {
                    tracing::error!(error = %e, "database error");
                    Self::internal()
                }
                unavailable @ Error::Unavailable { .. } => {
                    tracing::warn!(error = %e, "the database is unreachable; answering 503");
                    unavailable.into()
                }
                classified => classified.into(),
            },
            Error::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                Self::internal()
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Turn any error poem or poem-openapi produced (before or instead of a handler) into a
/// problem response. Errors that already are `ApiError`s keep their response.
pub fn render_poem_error(err: poem::Error) -> Response {
    if err.is::<ApiError>() || err.is_from_response() {
        return err.into_response();
    }
    if let Some(max) = super::limits::is_too_large(&err) {
        return super::limits::too_large(max).as_response();
    }
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(error = %err, "request failed");
        return ApiError::internal().as_response();
    }
    let code = match status {
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        _ if err.is::<poem_openapi::error::ParseParamError>()
            || err.is::<poem_openapi::error::ParsePathError>() =>
        {
            "invalid_parameter"
        }
        _ => "bad_request",
    };
    let detail = match status {
        StatusCode::NOT_FOUND => "no such route".to_string(),
        StatusCode::UNAUTHORIZED => {
            "an Authorization: Bearer <access token> header is required".to_string()
        }
        _ => err.to_string(),
    };
    ApiError::new(status, code, detail).as_response()
}
