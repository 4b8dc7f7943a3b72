//! The Idempotency-Key header on the native API's changes (POST, PUT, PATCH, DELETE under
//! /v1). The rules are in `domain::idempotency`; this reads the caller, the key and the body,
//! and stores or replays the answer.
use poem::{
    Body, Endpoint, IntoResponse, Request, Response,
    error::ResponseError,
    http::{HeaderValue, Method, header},
};

use super::{problem::ApiError, security::session_cookie};
use crate::{
    auth::random,
    domain::{
        admin_sessions,
        idempotency::{self, Begin, HEADER, REPLAYED_HEADER, StoredAnswer},
        tokens,
    },
    state::AppState,
};

/// Credentials are never replayed: token and sign-in answers carry fresh secrets.
fn excluded(path: &str) -> bool {
    path.starts_with("/v1/auth/") || path == "/v1/admin/session"
}

/// Whose key space a request is in: the API client or dashboard user it authenticates as,
/// or for other bearer tokens (peers) the token itself. `None`: not authenticated, so the
/// handler will refuse it anyway.
async fn scope_of(state: &AppState, req: &Request) -> Option<String> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        return Some(match tokens::authenticate(state, token).await {
            Ok(principal) => principal.actor_id().to_string(),
            Err(_) => format!("token:{}", random::digest(token)),
        });
    }
    let cookie = session_cookie(req)?;
    // Only with the CSRF header a change would need, so a forged request replays nothing.
    let csrf = req
        .headers()
        .get(admin_sessions::CSRF_HEADER)?
        .to_str()
        .ok()?;
    if csrf != admin_sessions::csrf_of(&cookie) {
        return None;
    }
    let admin = admin_sessions::authenticate(state, &cookie).await.ok()?;
    Some(admin.id.to_string())
}

fn replay(answer: StoredAnswer) -> Response {
    let mut resp = Response::builder()
        .status(poem::http::StatusCode::from_u16(answer.status).unwrap_or_default())
        .header(REPLAYED_HEADER, "true");
    if let Some(kind) = &answer.content_type {
        resp = resp.header(header::CONTENT_TYPE, kind.as_str());
    }
    if let Some(location) = &answer.location {
        resp = resp.header(header::LOCATION, location.as_str());
    }
    resp.body(answer.body)
}

fn text_header(resp: &Response, name: header::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub async fn around<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let changes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let key = req
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().unwrap_or("\u{0}").to_string());
    let (Some(key), true) = (key, changes && !excluded(req.uri().path())) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    if let Err(e) = idempotency::check_key(&key) {
        return Ok(ApiError::from(e).as_response());
    }
    let state = req
        .data::<AppState>()
        .expect("the application state is attached to every route")
        .clone();
    let Some(scope) = scope_of(&state, &req).await else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let body = req.take_body().into_bytes().await?;
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let hash = idempotency::request_hash(req.method().as_str(), &path, &body);
    let claim = match idempotency::begin(&state, &scope, &key, &hash).await {
        Ok(Begin::Fresh(claim)) => claim,
        Ok(Begin::Replay(answer)) => return Ok(replay(answer)),
        Err(e) => return Ok(ApiError::from(e).as_response()),
    };
    req.set_body(Body::from(body));
    let resp = match next.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    let (status, content_type, location) = (
        resp.status().as_u16(),
        text_header(&resp, header::CONTENT_TYPE),
        text_header(&resp, header::LOCATION),
    );
    let (parts, body) = resp.into_parts();
    let bytes = match body.into_bytes().await {
        Ok(bytes) => bytes,
        Err(e) => {
            let _ = idempotency::release(&state, claim).await;
            return Err(e.into());
        }
    };
    let answer = StoredAnswer {
        status,
        content_type,
        location,
        body: bytes.to_vec(),
    };
    if let Err(e) = idempotency::finish(&state, claim, &answer).await {
        // The change was made; failing to remember it only costs a repeat's idempotency.
        tracing::error!(error = ?e, "storing an idempotent answer failed");
    }
    let mut resp = Response::from_parts(parts, Body::from(bytes));
    resp.headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static("false"));
    Ok(resp)
}
