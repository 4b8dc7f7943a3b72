//! The xroom request signature (PROTOCOLS.md): `x-auth-key` = hex HMAC-SHA256 of the salt
//! `x-random` under the client's secret. The body is not signed and there is no timestamp,
//! so every salt is remembered per client and a replayed one is refused. Salts are kept for
//! as long as the client's secret is valid (a new client, or rotation, starts afresh).
use crate::error::Code;
use crate::{
    auth::{random, xroom_hmac},
    domain::clients,
    error::{Error, Result},
    state::AppState,
    store::{self, entities::api_client},
};

/// The three headers, as received (any may be missing).
#[derive(Debug, Clone, Default)]
pub struct SignedRequest<'a> {
    pub auth_id: Option<&'a str>,
    pub random: Option<&'a str>,
    pub auth_key: Option<&'a str>,
}

fn refuse(code: Code, message: impl Into<String>) -> Error {
    Error::unauthenticated(code, message)
}

pub async fn verify_xroom(state: &AppState, req: SignedRequest<'_>) -> Result<api_client::Model> {
    let auth_id = req
        .auth_id
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| refuse(Code::MissingAuthId, "the x-auth-id header is required"))?;
    let salt = req
        .random
        .filter(|v| !v.is_empty())
        .ok_or_else(|| refuse(Code::MissingSalt, "the x-random header is required"))?;
    let signature = req
        .auth_key
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| refuse(Code::MissingSignature, "the x-auth-key header is required"))?;
    if salt.len() < xroom_hmac::MIN_SALT_BYTES {
        return Err(refuse(
            Code::SaltTooShort,
            format!(
                "x-random must be at least {} bytes",
                xroom_hmac::MIN_SALT_BYTES
            ),
        ));
    }
    if salt.len() > xroom_hmac::MAX_SALT_BYTES {
        return Err(refuse(
            Code::SaltTooLong,
            format!(
                "x-random must be at most {} bytes",
                xroom_hmac::MAX_SALT_BYTES
            ),
        ));
    }
    let client = match clients::find_by_api_key(&state.db, auth_id).await {
        Ok(client) => client,
        Err(Error::NotFound { .. }) => {
            return Err(refuse(Code::UnknownClient, "x-auth-id names no API client"));
        }
        Err(e) => return Err(e),
    };
    if client.revoked_at.is_some() {
        return Err(refuse(
            Code::ClientRevoked,
            "the API client has been revoked",
        ));
    }
    let secret = clients::secret_of(&state.sealer, &client)?;
    if !xroom_hmac::verify(&secret, salt, signature) {
        return Err(refuse(
            Code::InvalidSignature,
            "x-auth-key is not the HMAC-SHA256 of x-random under the client's secret",
        ));
    }
    // Only a correctly signed salt is recorded, so nobody without the secret can burn salts.
    if !store::salts::record(&state.writer, client.id, random::digest(salt), state.now()).await? {
        return Err(refuse(
            Code::ReplayedSalt,
            "this x-random value was used before; send a fresh random salt with every request",
        ));
    }
    Ok(client)
}
