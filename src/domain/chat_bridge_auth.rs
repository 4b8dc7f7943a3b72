//! Who made a chat-bridge checksum (seed 000, PROTOCOLS.md). Existing clients send only the
//! body, so the server finds the secret: with an `x-auth-id` header only that API client's
//! secret is tried; otherwise the configured shared secret, then every active API client's.
use crate::error::Code;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{chat_bridge::Caller, clients};
use crate::{
    auth::{chat_checksum, python_json, random},
    error::{Error, Result},
    state::AppState,
    store,
};

/// A checksum that matched, not yet remembered as used. `sendChatMessage` remembers it in the
/// message's own transaction (`chat_batches`), so a message and the burning of its checksum
/// commit together; the other calls [`remember`] it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedChecksum {
    /// The same digits in either case are one checksum.
    digest: String,
}

/// Check `checksum` over `call` and the body (`python_json::dumps` of it without the checksum):
/// whose secret made it. Whether it was used before is for [`remember`] to say.
pub async fn identify(
    state: &AppState,
    call: &str,
    body_json: &str,
    checksum: Option<&str>,
    auth_id: Option<&str>,
) -> Result<(Caller, AcceptedChecksum)> {
    let checksum = checksum
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| Error::unauthenticated(Code::MissingChecksum, "the body has no checksum"))?;
    let caller = caller_of(state, call, body_json, checksum, auth_id).await?;
    // Only a matching checksum is recorded, so nobody without the secret can burn one.
    let digest = random::digest(&checksum.trim().to_ascii_lowercase());
    Ok((caller, AcceptedChecksum { digest }))
}

/// [`identify`], then [`remember`] the checksum at once: the calls that store nothing else.
pub async fn verify(
    state: &AppState,
    call: &str,
    body_json: &str,
    checksum: Option<&str>,
    auth_id: Option<&str>,
) -> Result<Caller> {
    let (caller, checksum) = identify(state, call, body_json, checksum, auth_id).await?;
    remember(&state.writer, &checksum, state.now()).await?;
    Ok(caller)
}

/// Record `checksum` as used, in `db`'s transaction; refused if it was used before.
pub async fn remember(
    db: &impl store::Conn,
    checksum: &AcceptedChecksum,
    now: DateTime<Utc>,
) -> Result<()> {
    if !store::checksums::record(db, checksum.digest.clone(), now).await? {
        return Err(Error::unauthenticated(
            Code::ReplayedChecksum,
            "this checksum was used before: every request needs its own (a body sent again needs another second's timestamp)",
        ));
    }
    Ok(())
}

/// How long an accepted checksum is remembered: one made for the latest second of the window
/// (now + delta) is accepted until delta seconds after that second.
pub fn remembered_for(state: &AppState) -> chrono::Duration {
    let delta = state.config.chat.time_delta.as_secs() as i64;
    chrono::Duration::seconds(2 * delta + 1)
}

/// Whose secret made the checksum.
async fn caller_of(
    state: &AppState,
    call: &str,
    body_json: &str,
    checksum: &str,
    auth_id: Option<&str>,
) -> Result<Caller> {
    let now = state.now().timestamp();
    let delta = state.config.chat.time_delta.as_secs() as i64;
    let checksum = chat_checksum::Checksum::new(call, body_json, checksum);
    let matches = |secret: &str| checksum.made_with(secret, now, delta);

    if let Some(api_key) = auth_id {
        let client = store::clients::find_by_api_key(&state.db, api_key.trim())
            .await?
            .filter(|c| c.revoked_at.is_none())
            .ok_or_else(|| {
                Error::unauthenticated(Code::UnknownClient, "x-auth-id names no active API client")
            })?;
        if matches(&clients::secret_of(&state.sealer, &client)?) {
            return Ok(Caller {
                org_id: client.org_id,
                client_id: Some(client.id),
            });
        }
        return Err(bad_checksum(delta));
    }
    if let Some(shared) = &state.config.chat.shared_secret
        && matches(shared.expose())
    {
        return Ok(Caller {
            org_id: shared_secret_org(state).await?,
            client_id: None,
        });
    }
    for client in store::clients::all_active(&state.db).await? {
        if matches(&clients::secret_of(&state.sealer, &client)?) {
            return Ok(Caller {
                org_id: client.org_id,
                client_id: Some(client.id),
            });
        }
    }
    Err(bad_checksum(delta))
}

fn bad_checksum(delta: i64) -> Error {
    Error::unauthenticated(
        Code::BadChecksum,
        format!(
            "the checksum does not match: check the secret, that it covers the call name and the body without the checksum as Python's json.dumps writes it, and that the clock is within {delta} s"
        ),
    )
}

/// The org that owns chats started under the shared secret.
async fn shared_secret_org(state: &AppState) -> Result<Uuid> {
    if let Some(org) = &state.config.chat.org {
        return Ok(super::orgs::resolve(&state.db, org).await?.id);
    }
    match store::orgs::count(&state.db).await? {
        1 => Ok(store::orgs::first(&state.db)
            .await?
            .ok_or(Error::not_found("organisation"))?
            .id),
        _ => Err(Error::forbidden(
            Code::ChatOrgUnset,
            "several organisations exist: set MEETPLANE_CHAT_ORG to the one that owns shared-secret chats",
        )),
    }
}

/// The JSON a checksum covers: the body as Python re-serialises it, without `checksum`.
pub fn covered_json(body: &python_json::PyValue) -> String {
    python_json::dumps(&body.without("checksum"))
}
