//! The checks of a batch of session links that need no transaction: each link's issuer,
//! signature and time window, and its issuer's org and default domain, read once for the
//! batch. The writer of batches runs them for the next batch while the last one commits.
use crate::error::Code;
use std::collections::HashMap;

use uuid::Uuid;

use super::{
    clients,
    session_joins::distinct,
    sessions::{Entered, link_error},
};
use crate::{
    auth::session_link::{self, LinkClaims},
    error::{Error, Result},
    state::AppState,
    store::{
        self,
        entities::{api_client, domain, organisation},
    },
};

/// What a batch's checks before its transaction found: who signed each link (their clients
/// and orgs, read once for the batch) and the links refused so far.
pub struct Signed {
    pub(super) out: Vec<Option<Result<Entered>>>,
    pub(super) clients: HashMap<String, api_client::Model>,
    pub(super) orgs: HashMap<Uuid, (organisation::Model, domain::Model)>,
    /// Each link whose signature holds: its index, claims and issuer's API key.
    pub(super) links: Vec<(usize, LinkClaims, String)>,
}

/// The checks of a batch that need no transaction: each link's issuer, signature and time
/// window, and its issuer's org and default domain.
pub async fn check_signatures(state: &AppState, tokens: &[&str]) -> Result<Signed> {
    let now = state.now();
    // Filled in per link below; created lazily because an error captures a backtrace when
    // RUST_BACKTRACE is set (a stack walk per link, seen in the profile).
    let mut out: Vec<Option<Result<Entered>>> = tokens.iter().map(|_| None).collect();
    let issuers: Vec<_> = tokens.iter().map(|t| session_link::issuer(t)).collect();
    let api_keys = distinct(issuers.iter().flatten().map(String::as_str));
    let clients: HashMap<String, api_client::Model> =
        store::clients::find_by_api_keys(&state.db, &api_keys)
            .await?
            .into_iter()
            .filter(|c| c.revoked_at.is_none())
            .map(|c| (c.api_key.clone(), c))
            .collect();
    let mut secrets: HashMap<Uuid, Result<String>> = HashMap::new();
    let mut links = Vec::new();
    for (index, (token, issuer)) in tokens.iter().zip(issuers).enumerate() {
        let checked = issuer.map_err(link_error).and_then(|iss| {
            let client = clients.get(&iss).ok_or_else(|| {
                Error::unauthenticated(Code::UnknownIssuer, "iss names no active API client")
            })?;
            let secret = secrets
                .entry(client.id)
                .or_insert_with(|| clients::secret_of(&state.sealer, client));
            let secret = secret.as_deref().map_err(|_| {
                Error::Internal(anyhow::anyhow!(
                    "api client {}: unreadable secret",
                    client.api_key
                ))
            })?;
            let claims = session_link::verify(token, secret, now).map_err(link_error)?;
            Ok((claims, iss))
        });
        match checked {
            Ok((claims, iss)) => links.push((index, claims, iss)),
            Err(e) => out[index] = Some(Err(e)),
        }
    }
    let org_ids = distinct(
        links
            .iter()
            .filter_map(|(.., k)| clients.get(k).map(|c| c.org_id)),
    );
    let orgs = store::orgs::with_default_domains(&state.db, &org_ids)
        .await?
        .into_iter()
        .map(|(org, domain)| (org.id, (org, domain)))
        .collect();
    Ok(Signed {
        out,
        clients,
        orgs,
        links,
    })
}
