//! `POST /internal/janus/events`: Janus's sample event handler posts its events here (Basic
//! `janus:<MEETPLANE_JANUS_EVENTS_SECRET>`); they become presence (`domain::janus_presence`).
//! Not part of the public API: 404 without Janus configured.
use poem::{
    IntoResponse, Request, Response,
    error::ResponseError,
    handler,
    http::{StatusCode, header},
    web::{Data, Json},
};
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::problem::ApiError;
use crate::{
    domain::janus_presence,
    error::{Code, Error},
    state::AppState,
};

/// Whether `req` carries Basic `janus:<secret>` (compared in constant time).
fn authorised(req: &Request, secret: &str) -> bool {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let expected = STANDARD.encode(format!("janus:{secret}"));
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(expected.as_bytes())))
}

#[handler]
pub async fn janus_events(
    req: &Request,
    Data(state): Data<&AppState>,
    Json(post): Json<Value>,
) -> Response {
    let Some(plane) = &state.janus else {
        return ApiError::from(Error::not_found("media server")).as_response();
    };
    if !authorised(req, plane.events_secret.expose()) {
        let refused = Error::unauthenticated(
            Code::InvalidCredentials,
            "Janus's event handler authenticates with Basic janus:<events secret>",
        );
        return ApiError::from(refused).as_response();
    }
    match janus_presence::apply(state, &post).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::from(e).as_response(),
    }
}
