//! Peers leaving rooms and rooms closing: kicks, closing a room on request, and the
//! `clientsRemoved` / `roomRemoved` events every such path emits.
use crate::error::Code;
use uuid::Uuid;

use serde_json::json;

use super::{
    audit::{self, Action, AuditAction, By},
    event_payloads,
    rooms::{KickTarget, PeerView, lock_room},
};
use crate::{
    error::{Error, Result},
    events::{EventKind, tx::WriteTx},
    state::AppState,
    store::{
        self,
        entities::{domain, peer, room},
    },
};

/// Remove one peer or everyone; emits `clientsRemoved`. Returns the peers removed.
pub async fn kick(
    state: &AppState,
    by: &By,
    domain_name: &str,
    name: &str,
    target: KickTarget,
) -> Result<Vec<PeerView>> {
    let (mut tx, domain, mut room) = lock_room(state, by.org_id, domain_name, name).await?;
    let present = store::peers::active_in_rooms(tx.conn(), &[room.id]).await?;
    let targets: Vec<peer::Model> = match target {
        KickTarget::All => present,
        KickTarget::Peer(id) => vec![
            present
                .into_iter()
                .find(|p| p.id == id)
                .ok_or(Error::not_found("peer"))?,
        ],
    };
    let links: Vec<String> = targets.iter().filter_map(|p| p.link_hash.clone()).collect();
    let kicked = end_presence(&mut tx, &domain, &mut room, targets, "kicked").await?;
    let now = tx.now();
    super::revocations::after_kick(tx.conn(), domain.org_id, links, now).await?;
    let peer = match target {
        KickTarget::All => "all".to_string(),
        KickTarget::Peer(id) => id.to_string(),
    };
    let removed: Vec<String> = kicked.iter().map(|p| p.id.to_string()).collect();
    let action = Action::new(
        AuditAction::RoomKicked,
        format!("{}/{}", domain.name, room.name),
    )
    .detail(json!({"peer": peer, "removed": removed}));
    audit::write(tx.conn(), now, by, action).await?;
    super::sessions::after_departure(&mut tx, &domain, room).await?;
    tx.commit().await?;
    Ok(kicked)
}

/// End the given peers' presence and emit `clientsRemoved` for them (nothing when none).
pub(super) async fn end_presence(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: &mut room::Model,
    peers: Vec<peer::Model>,
    reason: &str,
) -> Result<Vec<PeerView>> {
    if peers.is_empty() {
        return Ok(Vec::new());
    }
    let now = tx.now();
    let ids: Vec<Uuid> = peers.iter().map(|p| p.id).collect();
    store::peers::mark_left(tx.conn(), &ids, reason, now).await?;
    // A knock that ended without getting in is recorded on its session entries.
    if matches!(reason, "denied" | "withdrawn") {
        store::session_entries::record_outcome(tx.conn(), &ids, reason).await?;
    }
    // Waiting peers held no seat. The peers were read under the room's lock, so their states
    // are the ones the headcount knows.
    let seats = peers.iter().filter(|p| p.state.holds_seat()).count() as i32;
    room.present_count = (room.present_count - seats).max(0);
    let removed: Vec<PeerView> = peers
        .into_iter()
        .map(|p| PeerView {
            left_at: Some(now),
            left_reason: Some(reason.to_string()),
            ..PeerView::from(p)
        })
        .collect();
    let payload = event_payloads::clients_removed(&room.name, &removed, reason);
    tx.emit_room(domain, room, EventKind::ClientsRemoved, payload)
        .await?;
    Ok(removed)
}

/// Close a room. Refused while peers are in it unless `force_kick`, which removes them first
/// (`clientsRemoved`); then `roomRemoved`. Returns the peers that were removed.
pub async fn destroy(
    state: &AppState,
    by: &By,
    domain_name: &str,
    name: &str,
    force_kick: bool,
) -> Result<Vec<PeerView>> {
    let (mut tx, domain, room) = lock_room(state, by.org_id, domain_name, name).await?;
    let target = format!("{}/{}", domain.name, room.name);
    let present = store::peers::active_in_rooms(tx.conn(), &[room.id]).await?;
    if !present.is_empty() && !force_kick {
        return Err(Error::conflict(
            Code::RoomNotEmpty,
            format!(
                "the room has {} peer(s); remove them first or pass forceKick",
                present.len()
            ),
        ));
    }
    let removed = close_in(&mut tx, &domain, room, present, "room_closed").await?;
    let action = Action::new(AuditAction::RoomDestroyed, target)
        .detail(json!({"removedPeers": removed.len()}));
    audit::write(tx.conn(), tx.now(), by, action).await?;
    tx.commit().await?;
    Ok(removed)
}

/// Close a live room inside the caller's transaction: remove `present` peers
/// (`clientsRemoved` with `reason`), then `roomRemoved`.
pub(super) async fn close_in(
    tx: &mut WriteTx,
    domain: &domain::Model,
    mut room: room::Model,
    present: Vec<peer::Model>,
    reason: &str,
) -> Result<Vec<PeerView>> {
    let removed = end_presence(tx, domain, &mut room, present, reason).await?;
    let payload = event_payloads::room_removed(&room.name);
    tx.emit_room(domain, &mut room, EventKind::RoomRemoved, payload)
        .await?;
    super::sessions::on_close(tx, domain, &mut room).await?;
    super::chat_bridge::on_close(tx, &room).await?;
    let now = tx.now();
    store::rooms::mark_removed(tx.conn(), room, now).await?;
    Ok(removed)
}
