//! A live room's settings (lock, password), changed inside the room's lock with an audit
//! entry and a `roomUpdated` event.
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::{self, Action, AuditAction, By},
    rooms::{RoomView, lock_room, password_purpose, view_with_peers},
    validate,
};
use crate::{
    domain::event_payloads,
    error::Result,
    events::EventKind,
    state::AppState,
    store::{self, rooms::RoomSettings},
};

/// Change a room's settings inside the room's lock; `audited` is the audit entry's action and
/// detail, `change` the settings given the room's id. Emits `roomUpdated` (not an xroom
/// event: xroom webhooks never see it).
async fn update_settings(
    state: &AppState,
    by: &By,
    domain_name: &str,
    name: &str,
    audited: (AuditAction, Option<serde_json::Value>),
    change: impl FnOnce(Uuid) -> RoomSettings,
) -> Result<RoomView> {
    let (mut tx, domain, room) = lock_room(state, by.org_id, domain_name, name).await?;
    let mut action = Action::new(audited.0, format!("{}/{}", domain.name, room.name));
    action.detail = audited.1;
    let changes = change(room.id);
    let mut room = store::rooms::update_settings(tx.conn(), room, changes, state.now()).await?;
    audit::write(tx.conn(), tx.now(), by, action).await?;
    let view = view_with_peers(tx.conn(), &state.sealer, &domain.name, room.clone()).await?;
    let payload = event_payloads::room_updated(&view);
    tx.emit_room(&domain, &mut room, EventKind::RoomUpdated, payload)
        .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn set_lock(
    state: &AppState,
    by: &By,
    domain_name: &str,
    name: &str,
    lock: bool,
) -> Result<RoomView> {
    let action = if lock {
        AuditAction::RoomLocked
    } else {
        AuditAction::RoomUnlocked
    };
    update_settings(state, by, domain_name, name, (action, None), |_| {
        RoomSettings {
            is_locked: Some(lock),
            ..RoomSettings::default()
        }
    })
    .await
}

/// Set the room password, or remove it with `None`.
pub async fn set_password(
    state: &AppState,
    by: &By,
    domain_name: &str,
    name: &str,
    password: Option<&str>,
) -> Result<RoomView> {
    let password = password
        .map(|p| validate::password("password", p))
        .transpose()?;
    let sealer = state.sealer.clone();
    let detail = json!({"passwordSet": password.as_deref().is_some_and(|p| !p.is_empty())});
    let audited = (AuditAction::RoomPasswordChanged, Some(detail));
    update_settings(state, by, domain_name, name, audited, move |id| {
        RoomSettings {
            password_sealed: Some(password.map(|p| sealer.seal_str(&password_purpose(id), &p))),
            ..RoomSettings::default()
        }
    })
    .await
}
