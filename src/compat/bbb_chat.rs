//! The chat-bridge API (seed 000, PROTOCOLS.md): `POST /api/startChatForRoom`,
//! `/api/sendChatMessage/{jid}` and `/api/endChatForRoom`, each with a JSON body carrying a
//! time-based `checksum`. Answers `{"success": bool, "message": str}` with the original's
//! statuses: 400 for a body that is not JSON, a missing or wrong checksum or bad fields; 403 for
//! a missing room JID or half a callback; 404 for a chat never started; 409 (the original sent
//! 304) for a chat started twice; 413 for a message over the size limit; 422 for a message with
//! characters XML cannot carry (`domain::chat_text`). A checksum is accepted once.
use poem::{
    Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Path},
};
use serde_json::{Value, json};

use crate::{
    api::problem::ApiError,
    auth::python_json::{self, PyValue},
    chat_queue,
    domain::{
        chat_bridge::{self, Caller},
        chat_bridge_auth::{self, AcceptedChecksum},
        chat_text::{ChatText, TextError},
    },
    error::Error,
    state::AppState,
};

struct Failure(StatusCode, String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        // The original answers every unusable request with 400.
        let bad_input = matches!(
            e,
            Error::Unauthenticated { .. } | Error::Invalid { .. } | Error::BadRequest { .. }
        );
        // Internal failures keep their generic text (and are logged by the conversion).
        let internal = matches!(
            e,
            Error::Database(_) | Error::Unavailable { .. } | Error::Internal(_)
        );
        let text = e.to_string();
        let api = ApiError::from(e);
        let status = if bad_input {
            StatusCode::BAD_REQUEST
        } else {
            api.status_code()
        };
        let message = if internal {
            api.problem.detail.clone()
        } else {
            text
        };
        Failure(status, message)
    }
}

fn answer(status: StatusCode, success: bool, message: &str, extra: Value) -> Response {
    let mut body = json!({"success": success, "message": message});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    let mut answer = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    // Only an unreachable database answers 503 here: say when to try again, as natively.
    if status == StatusCode::SERVICE_UNAVAILABLE {
        answer = answer.header(header::RETRY_AFTER, crate::error::UNAVAILABLE_RETRY_AFTER);
    }
    answer.body(body.to_string())
}

fn respond(result: Result<(String, Value), Failure>) -> Response {
    match result {
        Ok((message, extra)) => answer(StatusCode::OK, true, &message, extra),
        Err(Failure(status, message)) => answer(status, false, &message, Value::Null),
    }
}

/// Parse the body and check its checksum for `call`, remembering it as used.
async fn authenticate(
    state: &AppState,
    req: &Request,
    call: &str,
    body: &[u8],
) -> Result<(PyValue, Caller), Failure> {
    let (parsed, caller, checksum) = identify(state, req, call, body).await?;
    chat_bridge_auth::remember(&state.writer, &checksum, state.now()).await?;
    Ok((parsed, caller))
}

/// Parse the body and check its checksum for `call`: whose it is; not yet remembered as used.
async fn identify(
    state: &AppState,
    req: &Request,
    call: &str,
    body: &[u8],
) -> Result<(PyValue, Caller, AcceptedChecksum), Failure> {
    let parsed = python_json::loads(body).map_err(|e| {
        Failure(
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {e}"),
        )
    })?;
    if !matches!(parsed, PyValue::Dict(_)) {
        return Err(Failure(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object".into(),
        ));
    }
    if let Some(field) = crate::api::body::nul_field(body) {
        return Err(Failure(
            StatusCode::BAD_REQUEST,
            format!("{field} must not contain the NUL character (U+0000)"),
        ));
    }
    let checksum = match parsed.get("checksum") {
        None => None,
        Some(PyValue::Str(c)) => Some(c.as_str()),
        Some(_) => {
            return Err(Failure(
                StatusCode::BAD_REQUEST,
                "checksum must be a string".into(),
            ));
        }
    };
    let auth_id = req.headers().get("x-auth-id").and_then(|v| v.to_str().ok());
    let covered = chat_bridge_auth::covered_json(&parsed);
    let (caller, checksum) =
        chat_bridge_auth::identify(state, call, &covered, checksum, auth_id).await?;
    Ok((parsed, caller, checksum))
}

/// An optional string field; present but not a string is an error.
fn string_field<'a>(body: &'a PyValue, name: &str) -> Result<Option<&'a str>, Failure> {
    match body.get(name) {
        None | Some(PyValue::Null) => Ok(None),
        Some(PyValue::Str(s)) => Ok(Some(s)),
        Some(_) => Err(Failure(
            StatusCode::BAD_REQUEST,
            format!("{name} must be a string"),
        )),
    }
}

/// The room JID, as `jid_room` (the document) or `room_jid` (later clients).
fn room_jid(body: &PyValue) -> Result<(&str, &'static str), Failure> {
    if let Some(jid) = string_field(body, "jid_room")?.filter(|j| !j.is_empty()) {
        return Ok((jid, "jid_room"));
    }
    if let Some(jid) = string_field(body, "room_jid")?.filter(|j| !j.is_empty()) {
        return Ok((jid, "room_jid"));
    }
    Err(Failure(
        StatusCode::FORBIDDEN,
        "jid_room (or room_jid) is required".into(),
    ))
}

#[handler]
pub async fn start_chat(req: &Request, body: Vec<u8>, Data(state): Data<&AppState>) -> Response {
    respond(start(state, req, &body).await)
}

async fn start(state: &AppState, req: &Request, body: &[u8]) -> Result<(String, Value), Failure> {
    let (body, caller) = authenticate(state, req, "startChatForRoom", body).await?;
    let (jid, field) = room_jid(&body)?;
    let uri = string_field(&body, "callback_uri")?.filter(|v| !v.is_empty());
    let secret = string_field(&body, "callback_secret")?.filter(|v| !v.is_empty());
    let callback = match (uri, secret) {
        (Some(u), Some(s)) => Some((u.to_string(), s.to_string())),
        (None, None) => None,
        _ => {
            return Err(Failure(
                StatusCode::FORBIDDEN,
                "callback_uri and callback_secret go together: give both or neither".into(),
            ));
        }
    };
    let binding = chat_bridge::start(state, caller, jid, field, callback).await?;
    Ok((
        format!("chat started for {}", binding.jid),
        json!({"room": binding.room}),
    ))
}

#[handler]
pub async fn send_message(
    req: &Request,
    Path(jid): Path<String>,
    body: Vec<u8>,
    Data(state): Data<&AppState>,
) -> Response {
    respond(send(state, req, &jid, &body).await)
}

async fn send(
    state: &AppState,
    req: &Request,
    jid: &str,
    body: &[u8],
) -> Result<(String, Value), Failure> {
    // The checksum is remembered with the message, in its transaction.
    let (body, caller, checksum) = identify(state, req, "sendChatMessage", body).await?;
    let required = || {
        Failure(
            StatusCode::BAD_REQUEST,
            "user_name and message are required".into(),
        )
    };
    let user_name = string_field(&body, "user_name")?
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(required)?;
    let message = match string_field(&body, "message")?.map(ChatText::new) {
        Some(Ok(message)) => message,
        None | Some(Err(TextError::Empty)) => return Err(required()),
        Some(Err(e @ TextError::TooLong)) => {
            return Err(Failure(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("message {}", e.describe()),
            ));
        }
        Some(Err(e @ TextError::Unrepresentable { .. })) => {
            return Err(Failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("message {}", e.describe()),
            ));
        }
    };
    let post = chat_bridge::bridge_post(caller, checksum, jid, user_name, message)?;
    let m = chat_queue::post(state, post).await?;
    Ok(("message sent".into(), json!({"messageId": m.id})))
}

#[handler]
pub async fn end_chat(req: &Request, body: Vec<u8>, Data(state): Data<&AppState>) -> Response {
    respond(end(state, req, &body).await)
}

async fn end(state: &AppState, req: &Request, body: &[u8]) -> Result<(String, Value), Failure> {
    let (body, caller) = authenticate(state, req, "endChatForRoom", body).await?;
    let (jid, field) = room_jid(&body)?;
    chat_bridge::end(state, caller, jid, field).await?;
    Ok((format!("chat ended for {jid}"), Value::Null))
}
