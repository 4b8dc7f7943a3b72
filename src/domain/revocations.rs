//! Revoking session links: one link (by the link, its digest or its `jti`), or every link of
//! a session or subscription issued before a cutoff. Checked at join time from the database,
//! so a revocation holds on every node at once.
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Action, AuditAction, By};

use crate::{
    auth::random,
    error::{Error, Result},
    state::AppState,
    store::{self, Window, entities::link_revocation},
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

pub type RevocationView = link_revocation::Model;

pub async fn revoke(state: &AppState, by: &By, target: Target) -> Result<RevocationView> {
    let (org_id, now) = (by.org_id, state.now());
    let mut row = link_revocation::ActiveModel {
        id: Set(Uuid::new_v4()),
        org_id: Set(org_id),
        link_hash: Set(None),
        jti: Set(None),
        session_id: Set(None),
        subscription_id: Set(None),
        issued_before: Set(None),
        reason: Set("revoked".to_string()),
        created_at: Set(now),
    };
    match target {
        Target::Link(link) => row.link_hash = Set(Some(random::digest(link.trim()))),
        Target::LinkHash(hash) => {
            let hash = hash.trim().to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::invalid(
                    "linkHash",
                    "must be the 64-hex SHA-256 of the link",
                ));
            }
            row.link_hash = Set(Some(hash));
        }
        Target::Jti(jti) => row.jti = Set(Some(jti)),
        Target::Session { sid, before } => {
            row.session_id = Set(Some(sid));
            row.issued_before = Set(Some(before.unwrap_or(now)));
        }
        Target::Subscription { id, before } => {
            store::subscriptions::find_in_org(&state.db, org_id, id)
                .await?
                .ok_or(Error::not_found("subscription"))?;
            row.subscription_id = Set(Some(id));
            row.issued_before = Set(Some(before.unwrap_or(now)));
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
    Ok(r)
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    window: Window,
) -> Result<(Vec<RevocationView>, bool)> {
    let rows = store::revocations::list(&state.db, org_id, window).await?;
    Ok(window.split(rows))
}

/// Refuse the links of kicked peers again, unless the org lets kicked peers rejoin.
pub(super) async fn after_kick(
    db: &impl sea_orm::ConnectionTrait,
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
        store::revocations::insert(
            db,
            link_revocation::ActiveModel {
                id: Set(Uuid::new_v4()),
                org_id: Set(org_id),
                link_hash: Set(Some(hash)),
                jti: Set(None),
                session_id: Set(None),
                subscription_id: Set(None),
                issued_before: Set(None),
                reason: Set("kicked".to_string()),
                created_at: Set(now),
            },
        )
        .await?;
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
