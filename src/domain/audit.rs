//! The audit log: an append-only record of what admins, API clients and room hosts changed,
//! with who, when, what and from where. Nothing updates or deletes entries. The domain writes
//! a change's entry in the change's own transaction ([`write`]), whichever surface asked for
//! it (native API, xroom, dashboard, CLI): both commit or neither does.
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::principal::{Actor, Principal};
use crate::{
    error::{Error, Result},
    state::AppState,
    store::{self, Window, audit::NewAuditEntry, entities::audit_entry},
};

pub use crate::store::audit::AuditFilter;

/// Who acted, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    /// `client`, `admin` or `host`.
    pub kind: &'static str,
    pub id: String,
    /// The API key, the admin's email or the host's name at the time.
    pub name: Option<String>,
    pub source_ip: Option<String>,
}

/// Who makes a change, in which org: the domain records it with the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct By {
    pub org_id: Uuid,
    pub actor: AuditActor,
    /// The dialect the change came through when it is not the native API (`xroom`).
    pub via: Option<&'static str>,
}

impl By {
    /// An operator at the server's command line (`meetplane client create`, …).
    pub fn cli(org_id: Uuid) -> Self {
        let user = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .ok()
            .filter(|u| !u.is_empty());
        Self {
            org_id,
            actor: AuditActor {
                kind: "cli",
                id: "cli".to_string(),
                name: user,
                source_ip: None,
            },
            via: None,
        }
    }
}

impl From<&Principal> for By {
    fn from(p: &Principal) -> Self {
        Self {
            org_id: p.org_id,
            actor: AuditActor::from(p),
            via: p.via,
        }
    }
}

impl From<&Principal> for AuditActor {
    fn from(p: &Principal) -> Self {
        let (kind, id, name) = match &p.actor {
            Actor::Client { client_id, api_key } => ("client", *client_id, api_key.clone()),
            Actor::Admin {
                admin_id, email, ..
            } => ("admin", *admin_id, email.clone()),
        };
        Self {
            kind,
            id: id.to_string(),
            name: Some(name),
            source_ip: p.source_ip.clone(),
        }
    }
}

/// Everything the audit log records. The names are what entries store and what the audit
/// API and its CSV show; the native API and the xroom dialect record the same change under
/// the same action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    AdminCreated,
    AdminRemoved,
    AdminSignedIn,
    ClientCreated,
    ClientRevoked,
    DomainCreated,
    DomainUpdated,
    DomainKeyRotated,
    RoomCreated,
    RoomDestroyed,
    RoomLocked,
    RoomUnlocked,
    RoomPasswordChanged,
    RoomKicked,
    RoomPeerMuted,
    RoomHostEntered,
    BookingCreated,
    BookingUpdated,
    BookingCancelled,
    WebhookCreated,
    WebhookRemoved,
    WebhookValidated,
    LinkRevoked,
}

impl AuditAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::AdminCreated => "admin.created",
            Self::AdminRemoved => "admin.removed",
            Self::AdminSignedIn => "admin.signed_in",
            Self::ClientCreated => "client.created",
            Self::ClientRevoked => "client.revoked",
            Self::DomainCreated => "domain.created",
            Self::DomainUpdated => "domain.updated",
            Self::DomainKeyRotated => "domain.key_rotated",
            Self::RoomCreated => "room.created",
            Self::RoomDestroyed => "room.destroyed",
            Self::RoomLocked => "room.locked",
            Self::RoomUnlocked => "room.unlocked",
            Self::RoomPasswordChanged => "room.password_changed",
            Self::RoomKicked => "room.kicked",
            Self::RoomPeerMuted => "room.peer_muted",
            Self::RoomHostEntered => "room.host_entered",
            Self::BookingCreated => "booking.created",
            Self::BookingUpdated => "booking.updated",
            Self::BookingCancelled => "booking.cancelled",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookRemoved => "webhook.removed",
            Self::WebhookValidated => "webhook.validated",
            Self::LinkRevoked => "link.revoked",
        }
    }

    /// The kind of thing the entry's target id names.
    pub fn target_type(self) -> &'static str {
        match self {
            Self::AdminCreated | Self::AdminRemoved | Self::AdminSignedIn => "admin",
            Self::ClientCreated | Self::ClientRevoked => "client",
            Self::DomainCreated | Self::DomainUpdated | Self::DomainKeyRotated => "domain",
            Self::RoomCreated
            | Self::RoomDestroyed
            | Self::RoomLocked
            | Self::RoomUnlocked
            | Self::RoomPasswordChanged
            | Self::RoomKicked
            | Self::RoomPeerMuted
            | Self::RoomHostEntered => "room",
            Self::BookingCreated | Self::BookingUpdated | Self::BookingCancelled => "booking",
            Self::WebhookCreated | Self::WebhookRemoved | Self::WebhookValidated => "webhook",
            Self::LinkRevoked => "link_revocation",
        }
    }
}

/// What was done to what, e.g. `room.locked` on `room` `localhost/standup`.
#[derive(Debug, Clone)]
pub struct Action {
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    pub detail: Option<Value>,
}

impl Action {
    pub fn new(action: AuditAction, target_id: impl ToString) -> Self {
        Self {
            action: action.name(),
            target_type: action.target_type(),
            target_id: target_id.to_string(),
            detail: None,
        }
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Append the entry for a change inside the change's own transaction `db`.
pub async fn write(
    db: &impl store::Conn,
    at: DateTime<Utc>,
    by: &By,
    action: Action,
) -> Result<()> {
    let mut action = action;
    if let Some(via) = by.via {
        let mut detail = match action.detail.take() {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        detail.insert("via".into(), Value::from(via));
        action.detail = Some(Value::Object(detail));
    }
    store::audit::insert(db, entry(by.org_id, at, &by.actor, &action)).await?;
    Ok(())
}

fn entry(org_id: Uuid, at: DateTime<Utc>, actor: &AuditActor, action: &Action) -> NewAuditEntry {
    NewAuditEntry {
        org_id,
        at,
        actor_type: actor.kind.to_string(),
        actor_id: actor.id.clone(),
        actor_name: actor.name.clone(),
        action: action.action.to_string(),
        target_type: action.target_type.to_string(),
        target_id: action.target_id.clone(),
        detail: action.detail.as_ref().map(Value::to_string),
        source_ip: actor.source_ip.clone(),
    }
}

/// Append one entry for something that is not a change of the org's data (a sign-in, a host
/// entering). Never fails the caller: what it records has happened already.
pub async fn record(state: &AppState, org_id: Uuid, actor: &AuditActor, action: Action) {
    let row = entry(org_id, state.now(), actor, &action);
    if let Err(e) = store::audit::insert(&state.writer, row).await {
        tracing::error!(error = %e, action = action.action, target = %action.target_id,
            "writing an audit log entry failed");
    }
}

/// A peer entered as host with the room's host key (a host's action, without API credentials).
pub async fn record_host_entry(
    state: &AppState,
    admitted: &super::room_model::Admitted,
    source_ip: Option<String>,
) {
    let org = match super::domains::find_global(&state.db, &admitted.room.domain).await {
        Ok(Some(domain)) => domain.org_id,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "writing an audit log entry failed");
            return;
        }
    };
    let actor = AuditActor {
        kind: "host",
        id: admitted.peer.id.to_string(),
        name: Some(admitted.peer.display_name.clone()),
        source_ip,
    };
    let room = format!("{}/{}", admitted.room.domain, admitted.room.name);
    record(
        state,
        org,
        &actor,
        Action::new(AuditAction::RoomHostEntered, room),
    )
    .await;
}

fn check(f: &AuditFilter) -> Result<()> {
    if let (Some(from), Some(to)) = (f.from, f.to)
        && from > to
    {
        return Err(Error::invalid("from", "must not be after `to`"));
    }
    Ok(())
}

/// One entry of the log, as every surface shows it.
#[derive(Debug, Clone)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: String,
    pub actor_name: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub detail: Option<Value>,
    pub source_ip: Option<String>,
}

impl From<audit_entry::Model> for AuditEntryView {
    fn from(e: audit_entry::Model) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
            source_ip: e.source_ip,
        }
    }
}

/// Newest first; `more` when a further page exists.
pub async fn list(
    state: &AppState,
    org_id: Uuid,
    filter: AuditFilter,
    window: Window,
) -> Result<(Vec<AuditEntryView>, bool)> {
    check(&filter)?;
    let rows = store::audit::list(&state.db, org_id, &filter, Some(window)).await?;
    let (rows, more) = window.split(rows);
    Ok((rows.into_iter().map(AuditEntryView::from).collect(), more))
}

/// The whole range as CSV, oldest first.
pub async fn csv(state: &AppState, org_id: Uuid, filter: AuditFilter) -> Result<String> {
    check(&filter)?;
    let mut rows = store::audit::list(&state.db, org_id, &filter, None).await?;
    rows.reverse();
    let header = [
        "at",
        "id",
        "actorType",
        "actorId",
        "actorName",
        "action",
        "targetType",
        "targetId",
        "detail",
        "sourceIp",
    ];
    let rows = rows.into_iter().map(|e| {
        [
            e.at.to_rfc3339(),
            e.id.to_string(),
            e.actor_type,
            e.actor_id,
            e.actor_name.unwrap_or_default(),
            e.action,
            e.target_type,
            e.target_id,
            e.detail.unwrap_or_default(),
            e.source_ip.unwrap_or_default(),
        ]
    });
    super::csv_export::table(&header, rows)
}
