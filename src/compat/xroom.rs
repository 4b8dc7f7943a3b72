//! xroom compatibility (seed 003, PROTOCOLS.md): `POST /api/{room|booking|webhook}` with
//! `{"method": …, "data": {…}}`, signed with `x-random`/`x-auth-id`/`x-auth-key`, version 2 in
//! `x-api-version`. Answers in the envelope the public wrappers parse:
//! `{"isError": false, "data": …}` or `{"isError": true, "errMsg": "…"}`, with an HTTP status
//! that fits (the same mapping as the native API).
use poem::{
    Request, Response, handler,
    http::{HeaderMap, StatusCode, header},
    web::{Data, Path},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::xroom_methods;
use crate::{
    api::problem::ApiError,
    domain::{
        principal::{Actor, Principal},
        request_auth::{SignedRequest, verify_xroom},
    },
    error::Error,
    state::AppState,
};

/// A failure in the xroom dialect: status and message.
pub struct Failure(pub StatusCode, pub String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let api = ApiError::from(e);
        Failure(api.status_code(), api.problem.detail.clone())
    }
}

pub type Outcome = Result<Value, Failure>;

fn envelope(status: StatusCode, body: Value) -> Response {
    let mut answer = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    // Only an unreachable database answers 503 here: say when to try again, as natively.
    if status == StatusCode::SERVICE_UNAVAILABLE {
        answer = answer.header(header::RETRY_AFTER, crate::error::UNAVAILABLE_RETRY_AFTER);
    }
    answer.body(body.to_string())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[derive(Debug, Deserialize)]
struct Call {
    method: Option<Value>,
    #[serde(default)]
    data: Option<Value>,
}

#[handler]
pub async fn endpoint(
    req: &Request,
    Path(collection): Path<String>,
    body: Vec<u8>,
    Data(state): Data<&AppState>,
) -> Response {
    let source_ip = crate::api::source_address::source_address(req, &state.config);
    match call(state, req.headers(), source_ip, &collection, &body).await {
        Ok(data) => envelope(StatusCode::OK, json!({"isError": false, "data": data})),
        Err(Failure(status, message)) => {
            envelope(status, json!({"isError": true, "errMsg": message}))
        }
    }
}

async fn call(
    state: &AppState,
    headers: &HeaderMap,
    source_ip: Option<std::net::IpAddr>,
    collection: &str,
    body: &[u8],
) -> Outcome {
    check_collection_and_version(collection, headers)?;
    let client = verify_xroom(
        state,
        SignedRequest {
            auth_id: header_str(headers, "x-auth-id"),
            random: header_str(headers, "x-random"),
            auth_key: header_str(headers, "x-auth-key"),
        },
    )
    .await?;
    let (method, data) = parse_call(collection, body)?;
    let principal = Principal {
        org_id: client.org_id,
        actor: Actor::Client {
            client_id: client.id,
            api_key: client.api_key,
        },
        source_ip: source_ip.map(|ip| ip.to_string()),
        via: Some("xroom"),
    };
    xroom_methods::dispatch(state, &principal, collection, &method, data).await
}

/// Refused before the signature is checked: an unknown collection, or an API version other
/// than the one this dialect speaks.
fn check_collection_and_version(collection: &str, headers: &HeaderMap) -> Result<(), Failure> {
    if !xroom_methods::COLLECTIONS.contains(&collection) {
        return Err(Failure(
            StatusCode::NOT_FOUND,
            format!("unknown collection {collection:?}; use room, booking or webhook"),
        ));
    }
    match header_str(headers, "x-api-version").map(str::trim) {
        Some("2") => Ok(()),
        Some(other) => Err(Failure(
            StatusCode::BAD_REQUEST,
            format!("x-api-version {other:?} is not supported; send x-api-version: 2"),
        )),
        None => Err(Failure(
            StatusCode::BAD_REQUEST,
            "the x-api-version header is required (send x-api-version: 2)".into(),
        )),
    }
}

/// The method named by the body and its data (an object).
fn parse_call(collection: &str, body: &[u8]) -> Result<(String, Value), Failure> {
    let call: Call = serde_json::from_slice(body).map_err(|e| {
        Failure(
            StatusCode::BAD_REQUEST,
            format!("the body must be JSON {{\"method\": …, \"data\": {{…}}}}: {e}"),
        )
    })?;
    // Postgres cannot store U+0000; refuse it here rather than fail in the database.
    if let Some(field) = call
        .data
        .as_ref()
        .and_then(|d| crate::api::body::field_with_nul(d, "data"))
    {
        return Err(Failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: must not contain the NUL character (U+0000)"),
        ));
    }
    let Some(Value::String(method)) = call.method else {
        return Err(Failure(
            StatusCode::BAD_REQUEST,
            format!(
                "method is required; {collection} methods: {}",
                xroom_methods::methods(collection).join(", ")
            ),
        ));
    };
    let data = match call.data {
        None | Some(Value::Null) => json!({}),
        // The PHP wrapper encodes an empty PHP array as `[]`.
        Some(Value::Array(a)) if a.is_empty() => json!({}),
        Some(v @ Value::Object(_)) => v,
        Some(_) => {
            return Err(Failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                "data must be an object".into(),
            ));
        }
    };
    Ok((method, data))
}
