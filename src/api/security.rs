//! Security schemes: API clients present OAuth2 access tokens; peers present the peer token
//! they got when admitted.
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::problem::ApiError;
use crate::{
    domain::{principal::Principal, tokens},
    state::AppState,
};

/// `Authorization: Bearer <access token>` from `POST /v1/auth/token`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_client")]
pub struct ClientAuth(pub Principal);

async fn check_client(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req
        .data::<AppState>()
        .expect("the application state is attached to every route");
    tokens::authenticate(state, &bearer.token)
        .await
        .map_err(|e| ApiError::from(e).into())
}

/// `Authorization: Bearer <peer token>` as returned when a peer was admitted.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "PeerToken")]
pub struct PeerAuth(pub Bearer);
