//! The lobby: a knocking peer (a guest's session link where the org's guest lobby is on, or a
//! room link into a room with a lobby or a locked one) waits, holding no seat, until a host
//! of the room or the org's API admits it (capacity is checked then: `clientAdded`) or denies
//! it (`clientsRemoved`, reason `denied`). Hosts may also end the meeting for everyone.
use crate::error::Code;
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::{self, Action, AuditAction, By},
    presence::connect_deadline,
    room_departures::{close_in, end_presence},
    room_model::PeerView,
    rooms::lock_room,
};
use crate::{
    error::{Error, Result},
    events::tx::WriteTx,
    state::AppState,
    store::{
        self,
        entities::{peer, peer::PeerState, room},
    },
};

/// The waiting peer `peer_id` of the locked room.
async fn knocking(tx: &WriteTx, room: &room::Model, peer_id: Uuid) -> Result<peer::Model> {
    let peer = store::presence::find_present(tx.conn(), peer_id)
        .await?
        .filter(|p| p.room_id == room.id)
        .ok_or(Error::not_found("peer"))?;
    if peer.state != PeerState::Waiting {
        return Err(Error::conflict(
            Code::PeerNotWaiting,
            "the peer is not waiting in the lobby",
        ));
    }
    Ok(peer)
}

/// Let a waiting peer in; emits `clientAdded`.
pub async fn admit(
    state: &AppState,
    by: &By,
    domain_name: &str,
    name: &str,
    peer_id: Uuid,
) -> Result<PeerView> {
    let (mut tx, domain, mut room) = lock_room(state, by.org_id, domain_name, name).await?;
    let mut peer = knocking(&tx, &room, peer_id).await?;
    if room.present_count >= room.capacity {
        return Err(Error::conflict(
            Code::RoomFull,
            format!(
                "the room is full ({} of {} places taken)",
                room.present_count, room.capacity
            ),
        ));
    }
    let now = tx.now();
    // A knocker whose page is open is connected from the moment it is let in.
    let (to, connected_at, seat_until) =
        if store::presence::connection_count(tx.conn(), peer_id).await? > 0 {
            (PeerState::Connected, Some(now), None)
        } else {
            (PeerState::Admitted, None, connect_deadline(state, now))
        };
    store::presence::set_state(tx.conn(), peer_id, to, connected_at, seat_until).await?;
    peer.state = to;
    peer.connected_at = connected_at.or(peer.connected_at);
    let view = super::peers::admitted(&mut tx, &domain, &mut room, peer).await?;
    tx.commit().await?;
    Ok(view)
}

/// Turn a waiting peer away; emits `clientsRemoved` with reason `denied`.
pub async fn deny(
    state: &AppState,
    by: &By,
    domain_name: &str,
    name: &str,
    peer_id: Uuid,
) -> Result<PeerView> {
    let (mut tx, domain, mut room) = lock_room(state, by.org_id, domain_name, name).await?;
    let peer = knocking(&tx, &room, peer_id).await?;
    let mut denied = end_presence(&mut tx, &domain, &mut room, vec![peer], "denied").await?;
    tx.commit().await?;
    Ok(denied.remove(0))
}

/// End the meeting for everyone: every peer leaves (reason `ended`), the room closes.
pub async fn end_meeting(
    state: &AppState,
    by: &By,
    domain_name: &str,
    name: &str,
) -> Result<Vec<PeerView>> {
    let (mut tx, domain, room) = lock_room(state, by.org_id, domain_name, name).await?;
    let target = format!("{}/{}", domain.name, room.name);
    let present = store::peers::active_in_rooms(tx.conn(), &[room.id]).await?;
    let removed = close_in(&mut tx, &domain, room, present, "ended").await?;
    let action = Action::new(AuditAction::RoomDestroyed, target)
        .detail(json!({"removedPeers": removed.len(), "ended": true}));
    audit::write(tx.conn(), tx.now(), by, action).await?;
    tx.commit().await?;
    Ok(removed)
}
