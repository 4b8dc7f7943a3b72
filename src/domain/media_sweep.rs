//! The Janus pass: after departures and closed rooms commit, Janus is told (the pass is woken
//! by `WriteTx::commit`, and runs every second anyway): publishers leave the allowed list and
//! are kicked, tokens are removed, rooms destroyed; what fails is retried by the next pass.
//! It also reconciles media connections with `listparticipants`, and notices a Janus restart
//! (Janus no longer knows this node's sentinel token): rooms and tokens are provisioned again
//! and Janus's media connections end.
use uuid::Uuid;

use super::media_rooms::{
    JanusRole, PEER_TOKEN, provision_peer, provision_room, sealed_garbage, secrets_of, unavailable,
};
use crate::{
    error::Result,
    media::JanusPlane,
    state::AppState,
    store::{self, entities::media_peer},
};

/// Rows handled per pass.
const PER_PASS: u64 = 200;
/// How often Janus's live handles are compared with the media connections on record.
const HANDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(10);

/// Tell Janus about one peer that left: off the allowed list, kicked, its token removed.
async fn forget_peer(state: &AppState, plane: &JanusPlane, row: &media_peer::Model) -> Result<()> {
    let token = state
        .sealer
        .open_str(PEER_TOKEN, &row.token_sealed)
        .map_err(|_| sealed_garbage())?;
    if let Some(room) = store::media_rooms::find_room(&state.db, row.room_id).await? {
        let (secret, _) = secrets_of(state, &room)?;
        let id = row.peer_id.to_string();
        let kicked = async {
            if row.publisher {
                match plane
                    .client
                    .allowed(&room.janus_room, &secret, false, &[&token])
                    .await
                {
                    Err(e) if e.code() == Some(crate::media::janus::NO_SUCH_ROOM) => {}
                    other => other?,
                }
            }
            plane.client.kick(&room.janus_room, &secret, &id).await
        };
        kicked.await.map_err(unavailable)?;
    }
    plane
        .client
        .remove_token(&token)
        .await
        .map_err(unavailable)?;
    store::media_rooms::delete_peer(&state.writer, row.peer_id).await?;
    Ok(())
}

/// One pass: Janus forgets the peers that left and the rooms that closed (kick, token
/// removal, room destruction); then, if Janus restarted (it no longer knows this node's
/// sentinel token), every room still open is provisioned again. Returns how many rows were
/// handled.
pub async fn run_once(state: &AppState) -> Result<usize> {
    let Some(plane) = &state.janus else {
        return Ok(0);
    };
    let restarted = match plane.client.list_tokens().await {
        Ok(tokens) => !tokens.contains(&plane.sentinel),
        Err(e) => {
            if plane.is_up() {
                tracing::warn!(error = %e, "Janus does not answer");
            }
            plane.set_up(false);
            return Ok(0);
        }
    };
    plane.set_up(true);
    let mut done = 0;
    for row in store::media_rooms::peers_gone(&state.db, PER_PASS).await? {
        match forget_peer(state, plane, &row).await {
            Ok(()) => done += 1,
            Err(e) => {
                tracing::warn!(error = %e, peer = %row.peer_id, "Janus did not forget a peer; retrying later")
            }
        }
    }
    if !restarted {
        done += reconcile(state, plane).await?;
        done += reconcile_handles(state, plane).await?;
    }
    for row in store::media_rooms::rooms_closed(&state.db, PER_PASS).await? {
        if !store::media_rooms::peers_of(&state.db, row.room_id)
            .await?
            .is_empty()
        {
            continue;
        }
        let (secret, _) = secrets_of(state, &row)?;
        match plane.client.destroy_room(&row.janus_room, &secret).await {
            Ok(()) => {
                store::media_rooms::delete_room(&state.writer, row.room_id).await?;
                done += 1;
            }
            Err(e) => {
                tracing::warn!(error = %e, room = %row.room_id, "Janus did not destroy a room; retrying later")
            }
        }
    }
    // Also at this node's first pass: Janus may have restarted while it was down.
    if restarted {
        // Its PeerConnections went with it: their peers are away until their pages reconnect.
        super::presence::janus_lost(state).await?;
        done += provision_again(state, plane).await?;
        if let Err(e) = plane.client.add_token(&plane.sentinel).await {
            tracing::warn!(error = %e, "Janus did not take this node's sentinel token");
        }
    }
    Ok(done)
}

/// Publishers with a media connection that Janus no longer lists in their room lose it
/// (events may be lost; `listparticipants` is what Janus knows). Returns how many.
async fn reconcile(state: &AppState, plane: &JanusPlane) -> Result<usize> {
    let mut lost = 0;
    for row in store::media_rooms::all_rooms(&state.db).await? {
        let publishers: Vec<Uuid> = store::media_rooms::peers_of(&state.db, row.room_id)
            .await?
            .into_iter()
            .filter(|p| p.publisher)
            .map(|p| p.peer_id)
            .collect();
        let connections = store::presence::node_connections_of(
            &state.db,
            super::presence::JANUS_NODE,
            &publishers,
        )
        .await?;
        if connections.is_empty() {
            continue;
        }
        let Ok(listed) = plane.client.participants(&row.janus_room).await else {
            continue;
        };
        for c in connections {
            if !listed.contains(&c.peer_id.to_string()) {
                super::presence::disconnected(state, c.id).await?;
                lost += 1;
            }
        }
    }
    Ok(lost)
}

/// Media connections whose Janus handle is gone lose it: subscribers too, whom
/// `listparticipants` does not list (a lost `hangup` or `detached` would otherwise leave a
/// viewer present for good). The connections are read before Janus is asked, so a handle
/// created meanwhile is not mistaken for a gone one. At most every `HANDLE_CHECK`.
async fn reconcile_handles(state: &AppState, plane: &JanusPlane) -> Result<usize> {
    let node = super::presence::JANUS_NODE;
    let connections = store::presence::connections_of_node(&state.db, node).await?;
    if connections.is_empty() || !plane.handle_check_due(HANDLE_CHECK) {
        return Ok(0);
    }
    let Ok(live) = plane.client.live_handles().await else {
        return Ok(0);
    };
    let mut lost = 0;
    for c in connections {
        let handle = super::janus_presence::handle_of(c.id);
        if handle.is_some_and(|h| !live.contains(&h)) {
            super::presence::disconnected(state, c.id).await?;
            lost += 1;
        }
    }
    Ok(lost)
}

/// After Janus came back (restarted: its rooms and tokens are gone), provision every open
/// room and its peers' tokens again, so pages reconnecting find them.
async fn provision_again(state: &AppState, plane: &JanusPlane) -> Result<usize> {
    let mut done = 0;
    for row in store::media_rooms::all_rooms(&state.db).await? {
        let (secret, pin) = secrets_of(state, &row)?;
        if let Err(e) = provision_room(plane, &row, &secret, pin.as_deref()).await {
            tracing::warn!(error = %e, room = %row.room_id, "provisioning a room again failed");
            continue;
        }
        for p in store::media_rooms::peers_of(&state.db, row.room_id).await? {
            let Ok(token) = state.sealer.open_str(PEER_TOKEN, &p.token_sealed) else {
                continue;
            };
            let role = if p.publisher {
                JanusRole::Publisher
            } else {
                JanusRole::Subscriber
            };
            match provision_peer(plane, &row.janus_room, &secret, &token, role).await {
                Ok(()) => done += 1,
                Err(e) => tracing::warn!(error = %e, "provisioning a peer again failed"),
            }
        }
    }
    if done > 0 {
        tracing::info!(
            peers = done,
            "Janus is back: its rooms and tokens were provisioned again"
        );
    }
    Ok(done)
}

/// How often the pass runs without being woken: it notices a Janus restart within this.
const PASS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The loop around [`run_once`]: woken after commits that removed peers or closed rooms, and
/// every [`PASS_EVERY`]; stops on `cancel`.
pub async fn run(state: AppState, cancel: tokio_util::sync::CancellationToken) {
    let Some(plane) = &state.janus else {
        return;
    };
    while !cancel.is_cancelled() {
        let pass = crate::background::guarded("the Janus pass", run_once(&state));
        if let Some(Err(e)) = pass.await {
            tracing::warn!(error = %e, "the Janus pass failed");
        }
        tokio::select! {
            _ = plane.woken() => {}
            _ = tokio::time::sleep(PASS_EVERY) => {}
            _ = cancel.cancelled() => {}
        }
    }
}
