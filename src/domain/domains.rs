//! Domains: DNS-like names an organisation owns; rooms live in them. Each has a webhook key
//! that signs validation handshakes and deliveries, readable by the org so receivers can
//! verify what meetplane sends.
use crate::error::Code;
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Action, AuditAction, By};

use crate::{
    auth::{random, seal::Sealer},
    error::{Error, Result},
    state::AppState,
    store::{
        self, Window,
        domains::{DomainChanges, NewDomain},
        entities::domain,
    },
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub webhook_key: String,
    pub forbid_non_api_rooms: bool,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn key_purpose(id: Uuid) -> String {
    format!("domains.webhook_key:{id}")
}

/// A webhook key looks like the seed's: 32 lowercase hex characters (128 bits).
fn new_webhook_key() -> String {
    random::hex(32)
}

pub fn view(sealer: &Sealer, m: domain::Model) -> Result<DomainView> {
    let webhook_key = sealer
        .open_str(&key_purpose(m.id), &m.webhook_key_sealed)
        .map_err(|e| anyhow::anyhow!("domain {}: {e}", m.name))?;
    Ok(DomainView {
        id: m.id,
        org_id: m.org_id,
        name: m.name,
        webhook_key,
        forbid_non_api_rooms: m.forbid_non_api_rooms,
        is_default: m.is_default,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The one form a domain name is stored and looked up in, on every surface: trimmed,
/// lower-case, without the DNS root's trailing dot (`Chat.Example.` is `chat.example`).
pub fn canonical_name(raw: &str) -> String {
    raw.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Any org's domain by name: public links and peer tokens name rooms by global domain name.
pub async fn find_global(db: &impl store::Conn, raw: &str) -> Result<Option<domain::Model>> {
    Ok(store::domains::find_by_name(db, &canonical_name(raw)).await?)
}

/// Lower-case, drop a trailing dot, and check the DNS label rules (1–63 characters of
/// `[a-z0-9-]` per label, no leading or trailing `-`, at most 253 characters).
pub fn normalise_name(raw: &str) -> Result<String> {
    let name = canonical_name(raw);
    let labels_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if labels_ok {
        Ok(name)
    } else {
        Err(Error::invalid(
            "name",
            "must be a DNS name such as chat.example.org (ASCII letters a-z, digits, '-' and dots)",
        ))
    }
}

/// Create a domain inside a caller's transaction (org creation makes its first one).
pub async fn create_in(
    db: &impl store::Conn,
    sealer: &Sealer,
    org_id: Uuid,
    name: &str,
    forbid_non_api_rooms: bool,
    is_default: bool,
    now: DateTime<Utc>,
) -> Result<DomainView> {
    let name = normalise_name(name)?;
    if store::domains::find_by_name(db, &name).await?.is_some() {
        return Err(Error::conflict(
            Code::DomainExists,
            format!("the domain {name} is already registered"),
        ));
    }
    let id = Uuid::new_v4();
    let model = store::domains::insert(
        db,
        NewDomain {
            id,
            org_id,
            name,
            webhook_key_sealed: sealer.seal_str(&key_purpose(id), &new_webhook_key()),
            forbid_non_api_rooms,
            is_default,
            created_at: now,
        },
    )
    .await
    .map_err(|e| Error::from(e).classify_db())?;
    view(sealer, model)
}

pub async fn create(
    state: &AppState,
    by: &By,
    name: &str,
    forbid_non_api_rooms: bool,
) -> Result<DomainView> {
    let (org_id, now) = (by.org_id, state.now());
    let txn = store::connect::begin_write(&state.writer).await?;
    let sealer = &state.sealer;
    let view = create_in(&txn, sealer, org_id, name, forbid_non_api_rooms, false, now).await?;
    let action = Action::new(AuditAction::DomainCreated, &view.name);
    audit::write(&txn, now, by, action).await?;
    txn.commit().await?;
    Ok(view)
}

/// The org's domain of that name; another org's domain is reported as not found.
pub async fn find_model(db: &impl store::Conn, org_id: Uuid, name: &str) -> Result<domain::Model> {
    store::domains::find_in_org(db, org_id, &canonical_name(name))
        .await?
        .ok_or(Error::not_found("domain"))
}

pub async fn get(state: &AppState, org_id: Uuid, name: &str) -> Result<DomainView> {
    view(&state.sealer, find_model(&state.db, org_id, name).await?)
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    window: Window,
) -> Result<(Vec<DomainView>, bool)> {
    let rows = store::domains::list_for_org(&state.db, org_id, window).await?;
    let (rows, more) = window.split(rows);
    let views = rows
        .into_iter()
        .map(|m| view(&state.sealer, m))
        .collect::<Result<Vec<_>>>()?;
    Ok((views, more))
}

pub async fn update(
    state: &AppState,
    by: &By,
    name: &str,
    forbid_non_api_rooms: Option<bool>,
) -> Result<DomainView> {
    let txn = store::connect::begin_write(&state.writer).await?;
    let model = find_model(&txn, by.org_id, name).await?;
    let changes = DomainChanges {
        forbid_non_api_rooms,
        ..DomainChanges::default()
    };
    let model = store::domains::update(&txn, model, changes, state.now()).await?;
    let action = Action::new(AuditAction::DomainUpdated, &model.name)
        .detail(json!({"forbidNonApiRooms": forbid_non_api_rooms}));
    audit::write(&txn, state.now(), by, action).await?;
    txn.commit().await?;
    view(&state.sealer, model)
}

/// Replace the webhook key. Receivers must switch to the new key; the old one stops at once.
pub async fn rotate_key(state: &AppState, by: &By, name: &str) -> Result<DomainView> {
    let txn = store::connect::begin_write(&state.writer).await?;
    let model = find_model(&txn, by.org_id, name).await?;
    let changes = DomainChanges {
        webhook_key_sealed: Some(
            state
                .sealer
                .seal_str(&key_purpose(model.id), &new_webhook_key()),
        ),
        ..DomainChanges::default()
    };
    let model = store::domains::update(&txn, model, changes, state.now()).await?;
    let action = Action::new(AuditAction::DomainKeyRotated, &model.name);
    audit::write(&txn, state.now(), by, action).await?;
    txn.commit().await?;
    view(&state.sealer, model)
}

#[cfg(test)]
mod tests {
    use super::{canonical_name, normalise_name};

    #[test]
    fn one_form_for_look_ups() {
        for raw in ["chat.org", "Chat.Org.", " CHAT.ORG ", "chat.org."] {
            assert_eq!(canonical_name(raw), "chat.org", "{raw:?}");
        }
    }

    #[test]
    fn domain_names() {
        assert_eq!(normalise_name("Chat.Org.").unwrap(), "chat.org");
        assert_eq!(normalise_name("localhost").unwrap(), "localhost");
        assert_eq!(
            normalise_name("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        for bad in [
            "",
            ".",
            "a..b",
            "-a.org",
            "a-.org",
            "a_b.org",
            "a b",
            "bücher.de",
        ] {
            assert!(normalise_name(bad).is_err(), "{bad:?}");
        }
        assert!(normalise_name(&format!("{}.org", "a".repeat(64))).is_err());
    }
}
