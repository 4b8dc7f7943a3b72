//! OAuth2 grants (RFC 6749 §4.4 client credentials, §6 refresh) and access-token checks.
//!
//! Refresh tokens are opaque, stored as digests, and rotate on every use. They belong to a
//! family started by a client_credentials grant; presenting a spent refresh token is treated
//! as theft and revokes the whole family, including its access tokens.
use crate::error::Code;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{
    principal::{Actor, Principal},
    socket_access::Notice,
};
use crate::{
    auth::{
        access_token::{self, Claims, TokenError},
        random,
    },
    error::{Error, Result},
    state::AppState,
    store::{self, entities::api_client, tokens::NewRefreshToken},
};

#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub scope: String,
}

/// Why a grant failed, in RFC 6749 §5.2 terms.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error(transparent)]
    Internal(#[from] Error),
}

impl From<store::DbError> for GrantError {
    fn from(e: store::DbError) -> Self {
        GrantError::Internal(e.into())
    }
}

pub async fn client_credentials(state: &AppState, client: &api_client::Model) -> Result<TokenSet> {
    let now = state.now();
    let txn = store::connect::begin_write(&state.writer).await?;
    let family = store::tokens::insert_family(&txn, client.id, now).await?;
    let set = issue(state, &txn, client, family.id).await?;
    txn.commit().await?;
    Ok(set)
}

pub async fn refresh(
    state: &AppState,
    client: &api_client::Model,
    presented: &str,
) -> Result<TokenSet, GrantError> {
    let now = state.now();
    let txn = store::connect::begin_write(&state.writer).await?;
    let Some((token, family)) =
        store::tokens::find_refresh(&txn, &random::digest(presented)).await?
    else {
        return Err(GrantError::InvalidGrant("the refresh token is unknown"));
    };
    if family.client_id != client.id {
        return Err(GrantError::InvalidGrant(
            "the refresh token was issued to another client",
        ));
    }
    if family.revoked_at.is_some() {
        return Err(GrantError::InvalidGrant(
            "the refresh token has been revoked",
        ));
    }
    // Spending is conditional on the token being unspent, so two concurrent uses cannot both
    // succeed: the loser is treated as a reuse, like a replay.
    if token.used_at.is_some() || !store::tokens::spend_refresh(&txn, token.id, now).await? {
        store::tokens::revoke_family(&txn, family.id, "refresh token reused", now).await?;
        txn.commit().await?;
        state.bus.credentials_changed(Notice::Family(family.id));
        tracing::warn!(client = %client.api_key, family = %family.id,
            "spent refresh token presented again; revoked its token family");
        return Err(GrantError::InvalidGrant(
            "the refresh token was already used; all tokens of this grant are revoked",
        ));
    }
    if token.expires_at <= now {
        return Err(GrantError::InvalidGrant("the refresh token has expired"));
    }
    let set = issue(state, &txn, client, family.id).await?;
    txn.commit().await?;
    Ok(set)
}

async fn issue(
    state: &AppState,
    db: &impl store::Conn,
    client: &api_client::Model,
    family_id: Uuid,
) -> Result<TokenSet> {
    let now = state.now();
    let config = &state.config;
    let refresh = random::token("mprt_");
    store::tokens::insert_refresh(
        db,
        NewRefreshToken {
            family_id,
            token_hash: random::digest(&refresh),
            created_at: now,
            expires_at: now + Duration::from_std(config.refresh_token_ttl).unwrap_or_default(),
        },
    )
    .await?;
    let expires_in = config.access_token_ttl.as_secs();
    let claims = Claims {
        iss: access_token::ISSUER.to_string(),
        sub: client.api_key.clone(),
        org: client.org_id,
        cid: client.id,
        fam: family_id,
        iat: now.timestamp(),
        exp: now.timestamp() + expires_in as i64,
        jti: Uuid::new_v4(),
        scope: access_token::SCOPE.to_string(),
    };
    Ok(TokenSet {
        access_token: state.signing_key.issue(&claims),
        refresh_token: refresh,
        expires_in,
        scope: access_token::SCOPE.to_string(),
    })
}

/// What an access token grants, and until when.
#[derive(Debug, Clone)]
pub struct Grant {
    pub principal: Principal,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// The principal behind an access token. Checks the signature and expiry, then that neither
/// the client nor the token family was revoked since it was issued.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal> {
    Ok(grant(state, token).await?.principal)
}

/// [`authenticate`], with the token's family and expiry (for a socket that outlives the
/// request that opened it).
pub async fn grant(state: &AppState, token: &str) -> Result<Grant> {
    let claims = state
        .signing_key
        .verify(token, state.now())
        .map_err(|e| match e {
            TokenError::Expired => Error::unauthenticated(Code::TokenExpired, e.to_string()),
            TokenError::Invalid => Error::unauthenticated(Code::InvalidToken, e.to_string()),
        })?;
    let found = state
        .reads
        .token_family(claims.fam, async {
            Ok::<_, store::DbError>(Arc::new(
                store::tokens::family_with_client(&state.db, claims.fam).await?,
            ))
        })
        .await?;
    let Some((family, client)) = found.as_ref() else {
        return Err(Error::unauthenticated(
            Code::InvalidToken,
            "the access token is unknown",
        ));
    };
    if client.id != claims.cid || client.org_id != claims.org {
        return Err(Error::unauthenticated(
            Code::InvalidToken,
            "the access token is inconsistent",
        ));
    }
    if client.revoked_at.is_some() {
        return Err(Error::unauthenticated(
            Code::ClientRevoked,
            "the API client has been revoked",
        ));
    }
    if family.revoked_at.is_some() {
        return Err(Error::unauthenticated(
            Code::TokenRevoked,
            "the access token has been revoked",
        ));
    }
    Ok(Grant {
        principal: Principal {
            org_id: client.org_id,
            actor: Actor::Client {
                client_id: client.id,
                api_key: client.api_key.clone(),
            },
            source_ip: None,
            via: None,
        },
        family_id: family.id,
        expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or_default(),
    })
}
