//! API clients: an `api_key` (public) and a secret shown once. The secret is kept sealed
//! because meetplane needs it in clear to check HMAC signatures and HS256 session links.
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use serde_json::json;

use super::{
    audit::{self, Action, AuditAction, By},
    validate,
};
use crate::{
    auth::{random, seal::Sealer},
    error::{Error, Result},
    state::AppState,
    store::{self, Window, entities::api_client},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub api_key: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<api_client::Model> for ClientView {
    fn from(m: api_client::Model) -> Self {
        Self {
            id: m.id,
            org_id: m.org_id,
            name: m.name,
            api_key: m.api_key,
            created_at: m.created_at,
            revoked_at: m.revoked_at,
        }
    }
}

/// A new client with its secret, which exists in clear only in this value.
#[derive(Debug)]
pub struct NewClient {
    pub client: ClientView,
    pub secret: String,
}

fn secret_purpose(id: Uuid) -> String {
    format!("api_clients.secret:{id}")
}

pub fn secret_of(sealer: &Sealer, client: &api_client::Model) -> Result<String> {
    sealer
        .open_str(&secret_purpose(client.id), &client.secret_sealed)
        .map_err(|e| Error::Internal(anyhow::anyhow!("api client {}: {e}", client.api_key)))
}

/// Create an API client of `by`'s org; its secret is shown this once.
pub async fn create(state: &AppState, by: &By, name: &str) -> Result<NewClient> {
    let name = validate::display_text("name", name, 128)?;
    let org_id = by.org_id;
    super::orgs::get(state, org_id).await?;
    let id = Uuid::new_v4();
    let secret = random::token("mpsk_");
    let txn = store::connect::begin_write(&state.writer).await?;
    let model = store::clients::insert(
        &txn,
        store::clients::NewClient {
            id,
            org_id,
            name,
            secret_sealed: state.sealer.seal_str(&secret_purpose(id), &secret),
            created_at: state.now(),
        },
    )
    .await
    .map_err(|e| Error::from(e).classify_db())?;
    let action = Action::new(AuditAction::ClientCreated, model.id)
        .detail(json!({"name": model.name, "apiKey": model.api_key}));
    audit::write(&txn, state.now(), by, action).await?;
    txn.commit().await?;
    Ok(NewClient {
        client: model.into(),
        secret,
    })
}

pub async fn find_by_api_key(db: &impl store::Conn, api_key: &str) -> Result<api_client::Model> {
    store::clients::find_by_api_key(db, api_key.trim())
        .await?
        .ok_or(Error::not_found("api client"))
}

/// Revoke a client and every token issued to it; effective at once on every node, since
/// each request checks the client, and sockets opened with its tokens close.
pub async fn revoke(state: &AppState, by: &By, client: &api_client::Model) -> Result<ClientView> {
    let now = state.now();
    let txn = store::connect::begin_write(&state.writer).await?;
    store::clients::revoke(&txn, client.id, now).await?;
    store::tokens::revoke_families_of_client(&txn, client.id, "client revoked", now).await?;
    let action = Action::new(AuditAction::ClientRevoked, client.id)
        .detail(json!({"apiKey": client.api_key}));
    audit::write(&txn, now, by, action).await?;
    txn.commit().await?;
    state
        .bus
        .credentials_changed(super::socket_access::Notice::Client(client.id));
    let model = store::clients::find(&state.db, client.id)
        .await?
        .ok_or(Error::not_found("api client"))?;
    Ok(model.into())
}

pub async fn get(state: &AppState, org_id: Uuid, id: Uuid) -> Result<api_client::Model> {
    store::clients::find(&state.db, id)
        .await?
        .filter(|c| c.org_id == org_id)
        .ok_or(Error::not_found("api client"))
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    window: Window,
) -> Result<(Vec<ClientView>, bool)> {
    let rows = store::clients::list_for_org(&state.db, org_id, window).await?;
    let (rows, more) = window.split(rows);
    Ok((rows.into_iter().map(Into::into).collect(), more))
}

/// The active client with this key and secret, or `None` (unknown key, wrong secret and
/// revoked client are not told apart, per RFC 6749 `invalid_client`).
pub async fn authenticate(
    state: &AppState,
    api_key: &str,
    secret: &str,
) -> Result<Option<api_client::Model>> {
    // Keys are generated ASCII; one with U+0000 is unknown (and PostgreSQL text can't hold it).
    if api_key.contains('\0') {
        return Ok(None);
    }
    let Some(client) = store::clients::find_by_api_key(&state.db, api_key).await? else {
        return Ok(None);
    };
    if client.revoked_at.is_some() {
        return Ok(None);
    }
    let expected = secret_of(&state.sealer, &client)?;
    let matches: bool = expected.as_bytes().ct_eq(secret.as_bytes()).into();
    Ok(matches.then_some(client))
}
