//! Revoking session links: one link (by the link, its digest or its `jti`), or every link of
//! a session or subscription issued before a cutoff. Checked at join time from the database,
//! so a revocation holds on every node at once.
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Action, AuditAction, By};

use crate::{
    auth::random,
    error::{Error, Result},
    state::AppState,
    store::{self, Window, entities::link_revocation, revocations::NewRevocation},
};

#[derive(Debug, Clone)]
pub enum Target {
    /// The link itself (only its digest is stored).
    Link(String),
    LinkHash(String),
    Jti(String),
    Session {
        sid: String,
        before: Option<DateTime<Utc>>,
    },
    Subscription {
        id: Uuid,
        before: Option<DateTime<Utc>>,
    },
}

/// A revocation as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub link_hash: Option<String>,
    pub jti: Option<String>,
    pub session_id: Option<String>,
    pub subscription_id: Option<Uuid>,
    pub issued_before: Option<DateTime<Utc>>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl From<link_revocation::Model> for RevocationView {
    fn from(m: link_revocation::Model) -> Self {
        Self {
            id: m.id,
            org_id: m.org_id,
            link_hash: m.link_hash,
            jti: m.jti,
            session_id: m.session_id,
            subscription_id: m.subscription_id,
            issued_before: m.issued_before,
            reason: m.reason,
            created_at: m.created_at,
        }
    }
}

/// A revocation naming nothing yet, made by `org_id` at `now` for `reason`.
fn new_revocation(org_id: Uuid, reason: &str, now: DateTime<Utc>) -> NewRevocation {
    NewRevocation {
        org_id,
        link_hash: None,
        jti: None,
        session_id: None,
        subscription_id: None,
        issued_before: None,
        reason: reason.to_string(),
        created_at: now,
    }
}

pub async fn revoke(state: &AppState, by: &By, target: Target) -> Result<RevocationView> {
    let (org_id, now) = (by.org_id, state.now());
    let mut row = new_revocation(org_id, "revoked", now);
    match target {
        Target::Link(link) => row.link_hash = Some(random::digest(link.trim())),
        Target::LinkHash(hash) => {
            let hash = hash.trim().to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::invalid(
                    "linkHash",
                    "must be the 64-hex SHA-256 of the link",
                ));
            }
            row.link_hash = Some(hash);
        }
        Target::Jti(jti) => row.jti = Some(jti),
        Target::Session { sid, before } => {
            row.session_id = Some(sid);
            row.issued_before = Some(before.unwrap_or(now));
        }
        Target::Subscription { id, before } => {
            store::subscriptions::find_in_org(&state.db, org_id, id)
                .await?
                .ok_or(Error::not_found("subscription"))?;
            row.subscription_id = Some(id);
            row.issued_before = Some(before.unwrap_or(now));
        }
    }
    let txn = store::connect::begin_write(&state.writer).await?;
    let r = store::revocations::insert(&txn, row).await?;
    let action = Action::new(AuditAction::LinkRevoked, r.id).detail(json!({
        "linkHash": r.link_hash, "jti": r.jti, "sessionId": r.session_id,
        "subscriptionId": r.subscription_id, "issuedBefore": r.issued_before,
    }));
    audit::write(&txn, now, by, action).await?;
    txn.commit().await?;
    Ok(r.into())
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    window: Window,
) -> Result<(Vec<RevocationView>, bool)> {
    let rows = store::revocations::list(&state.db, org_id, window).await?;
    let (rows, more) = window.split(rows);
    Ok((rows.into_iter().map(Into::into).collect(), more))
}

/// Refuse the links of kicked peers again, unless the org lets kicked peers rejoin.
pub(super) async fn after_kick(
    db: &impl store::Conn,
    org_id: Uuid,
    link_hashes: Vec<String>,
    now: DateTime<Utc>,
) -> Result<()> {
    if link_hashes.is_empty() {
        return Ok(());
    }
    let org = store::orgs::find(db, org_id)
        .await?
        .ok_or(Error::not_found("organisation"))?;
    if org.allow_rejoin_after_kick {
        return Ok(());
    }
    for hash in link_hashes {
        let row = NewRevocation {
            link_hash: Some(hash),
            ..new_revocation(org_id, "kicked", now)
        };
        store::revocations::insert(db, row).await?;
    }
    Ok(())
}

/// What identifies a presented link for revocation checks.
#[derive(Debug, Clone)]
pub struct LinkFacts<'a> {
    pub org_id: Uuid,
    pub link_hash: &'a str,
    pub jti: Option<&'a str>,
    pub session_id: &'a str,
    pub subscription_id: Uuid,
    /// `iat` (or else `nbf`); a link without either counts as issued before any cutoff.
    pub issued_at: Option<DateTime<Utc>>,
}

/// Whether the revocation `r` refuses the link: it names the link (its digest or `jti`), or
/// its session or subscription with a cutoff after the link was issued.
pub fn refuses(r: &link_revocation::Model, link: &LinkFacts<'_>) -> bool {
    let before_cutoff = || match link.issued_at {
        Some(t) => r.issued_before.is_some_and(|cutoff| cutoff > t),
        None => true,
    };
    r.org_id == link.org_id
        && (r.link_hash.as_deref() == Some(link.link_hash)
            || (link.jti.is_some() && r.jti.as_deref() == link.jti)
            || (r.session_id.as_deref() == Some(link.session_id) && before_cutoff())
            || (r.subscription_id == Some(link.subscription_id) && before_cutoff()))
}
