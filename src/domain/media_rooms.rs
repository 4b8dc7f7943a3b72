//! Media rooms on the Janus SFU. A meetplane room gets a VideoRoom room the first time one of
//! its peers needs media (its ICE servers, its Janus socket), created with a secret of its
//! own (and, in a webinar, a pin for viewers); each peer gets a Janus token of its own, and
//! publishers a place on the room's allowed list. Webinar viewers get no place there: Janus
//! refuses their publisher join (433), and they subscribe with the pin meetplane adds.
//!
//! Janus is told of departures and closed rooms after they commit (`media_sweep`). Janus keeps
//! rooms and tokens in memory only: provisioning checks `exists` and adds the token every time
//! a peer asks, and the sweep provisions again every room after Janus restarts.
use uuid::Uuid;

use serde_json::json;

use super::{
    audit::{self, Action, AuditAction, By},
    peer_access::PeerSession,
    room_model::RoomType,
};
use crate::{
    auth::random,
    error::{Error, Result},
    media::{
        JanusPlane,
        janus::{JanusError, RoomSpec},
    },
    state::AppState,
    store::{
        self,
        entities::{media_peer, media_room, peer, room},
    },
};

const ROOM_SECRET: &str = "janus-room-secret";
const ROOM_PIN: &str = "janus-room-pin";
pub(super) const PEER_TOKEN: &str = "janus-peer-token";
/// Publishers of a webinar: its hosts.
pub const WEBINAR_HOST_SLOTS: i32 = 4;
/// Largest number of publishers in a conference (Janus's own limit is far higher; this keeps
/// one room's fan-out within reason).
const MAX_PUBLISHERS: i32 = 100;

/// How a peer takes part in its room's Janus room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JanusRole {
    Publisher,
    Subscriber,
}

/// What a peer's Janus socket needs: the room, the role, and (never shown to the browser)
/// its token and the viewers' pin.
#[derive(Clone)]
pub struct JanusSeat {
    pub room: String,
    pub role: JanusRole,
    pub peer_id: Uuid,
    pub display: String,
    pub token: String,
    pub pin: Option<String>,
}

/// Without the token and the pin.
impl std::fmt::Debug for JanusSeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JanusSeat")
            .field("room", &self.room)
            .field("role", &self.role)
            .field("peer_id", &self.peer_id)
            .finish_non_exhaustive()
    }
}

pub(super) fn unavailable(e: JanusError) -> Error {
    Error::MediaUnavailable {
        message: e.to_string(),
    }
}

pub(super) fn sealed_garbage() -> Error {
    Error::Internal(anyhow::anyhow!(
        "a sealed Janus secret could not be opened (was the master key changed?)"
    ))
}

/// Publishers and bitrate of a room's Janus room, from its type and capacity.
fn room_options(room: &room::Model) -> (i32, i32) {
    if room.room_type == RoomType::Webinar.code() {
        return (WEBINAR_HOST_SLOTS, 1_000_000);
    }
    let publishers = room.capacity.clamp(1, MAX_PUBLISHERS);
    // Every publisher's stream goes to every other: less each as the room grows.
    let bitrate = match publishers {
        ..=6 => 512_000,
        7..=16 => 256_000,
        _ => 128_000,
    };
    (publishers, bitrate)
}

/// The peer's role: webinar viewers (type 4) subscribe only.
pub fn role_of(peer: &peer::Model) -> JanusRole {
    if peer.peer_type == 4 {
        JanusRole::Subscriber
    } else {
        JanusRole::Publisher
    }
}

/// The room's media room row, made on first need.
async fn room_row(state: &AppState, room: &room::Model) -> Result<media_room::Model> {
    if let Some(row) = store::media_rooms::find_room(&state.db, room.id).await? {
        return Ok(row);
    }
    let (publishers, bitrate) = room_options(room);
    let webinar = room.room_type == RoomType::Webinar.code();
    let row = media_room::Model {
        room_id: room.id,
        janus_room: room.id.to_string(),
        secret_sealed: state.sealer.seal_str(ROOM_SECRET, &random::hex(32)),
        pin_sealed: webinar.then(|| state.sealer.seal_str(ROOM_PIN, &random::hex(16))),
        publishers,
        bitrate,
        created_at: state.now(),
    };
    Ok(store::media_rooms::insert_room(&state.writer, row).await?)
}

/// A media room's secret and pin, opened.
pub(super) fn secrets_of(
    state: &AppState,
    row: &media_room::Model,
) -> Result<(String, Option<String>)> {
    let secret = state
        .sealer
        .open_str(ROOM_SECRET, &row.secret_sealed)
        .map_err(|_| sealed_garbage())?;
    let pin = match &row.pin_sealed {
        Some(p) => Some(
            state
                .sealer
                .open_str(ROOM_PIN, p)
                .map_err(|_| sealed_garbage())?,
        ),
        None => None,
    };
    Ok((secret, pin))
}

/// Create the room in Janus unless it exists there.
pub(super) async fn provision_room(
    plane: &JanusPlane,
    row: &media_room::Model,
    secret: &str,
    pin: Option<&str>,
) -> Result<(), JanusError> {
    if plane.client.exists(&row.janus_room).await? {
        return Ok(());
    }
    let spec = RoomSpec {
        room: row.janus_room.clone(),
        secret: secret.to_string(),
        pin: pin.map(str::to_string),
        publishers: row.publishers.max(1) as u32,
        bitrate: row.bitrate.max(0) as u32,
        description: format!("meetplane room {}", row.room_id),
        require_pvtid: pin.is_none(),
    };
    match plane.client.create_room(&spec).await {
        // Another node created it meanwhile (VideoRoom's "room exists", 427).
        Err(e) if e.code() == Some(427) => Ok(()),
        other => other,
    }
}

/// Give Janus the peer's token (and a publisher its place on the allowed list).
pub(super) async fn provision_peer(
    plane: &JanusPlane,
    room: &str,
    secret: &str,
    token: &str,
    role: JanusRole,
) -> Result<(), JanusError> {
    if let Err(e) = plane.client.add_token(token).await
        && !plane.client.list_tokens().await?.iter().any(|t| t == token)
    {
        return Err(e);
    }
    if role == JanusRole::Publisher {
        plane.client.allowed(room, secret, true, &[token]).await?;
    }
    Ok(())
}

/// The peer's seat in its room's Janus room, provisioned in Janus now (rooms and tokens do not
/// survive a Janus restart, so every need checks). The peer must take part in the room's
/// media (checked by the caller).
pub async fn seat(state: &AppState, room: &room::Model, peer: &peer::Model) -> Result<JanusSeat> {
    let plane = state
        .janus
        .as_ref()
        .ok_or(Error::not_found("media server"))?;
    let row = room_row(state, room).await?;
    let (secret, pin) = secrets_of(state, &row)?;
    let role = role_of(peer);
    let token_row = match store::media_rooms::find_peer(&state.db, peer.id).await? {
        Some(r) => r,
        None => {
            let row = media_peer::Model {
                peer_id: peer.id,
                room_id: room.id,
                token_sealed: state.sealer.seal_str(PEER_TOKEN, &random::token("mpj_")),
                publisher: role == JanusRole::Publisher,
                created_at: state.now(),
            };
            store::media_rooms::insert_peer(&state.writer, row).await?
        }
    };
    let token = state
        .sealer
        .open_str(PEER_TOKEN, &token_row.token_sealed)
        .map_err(|_| sealed_garbage())?;
    let provisioned = async {
        provision_room(plane, &row, &secret, pin.as_deref()).await?;
        provision_peer(plane, &row.janus_room, &secret, &token, role).await
    };
    let result = provisioned.await;
    plane.set_up(!matches!(result, Err(JanusError::Unreachable(_))));
    result.map_err(unavailable)?;
    Ok(JanusSeat {
        room: row.janus_room,
        role,
        peer_id: peer.id,
        display: peer.display_name.clone(),
        token,
        pin,
    })
}

/// For the Janus socket of the peer holding `token`, which must take part in the media of
/// `domain_name/name`: who it is, and its seat (provisioned in Janus now).
pub async fn socket_seat(
    state: &AppState,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<(PeerSession, JanusSeat)> {
    if state.janus.is_none() {
        return Err(Error::not_found("media server"));
    }
    let (domain, room, peer) =
        super::peer_access::present_in(&state.db, domain_name, name, token).await?;
    super::signalling::check_participant(&peer)?;
    let seat = seat(state, &room, &peer).await?;
    let session = PeerSession {
        peer_id: peer.id,
        org_id: domain.org_id,
        domain: domain.name,
        room: room.name,
        state: peer.state,
    };
    Ok((session, seat))
}

/// Mute (`true`) or unmute what a publishing peer sends of `kind` (`audio` or `video`) in
/// its room's Janus room (VideoRoom `moderate`): a host's or the org's decision, checked by
/// the caller. The muted page learns of it from Janus (`moderation` events).
pub async fn moderate(
    state: &AppState,
    by: &By,
    domain_name: &str,
    name: &str,
    peer_id: Uuid,
    kind: &str,
    mute: bool,
) -> Result<()> {
    let plane = state
        .janus
        .as_ref()
        .ok_or(Error::not_found("media server"))?;
    let domain = super::domains::find_model(&state.db, by.org_id, domain_name).await?;
    let room = store::rooms::find_live(&state.db, domain.id, name, false)
        .await?
        .ok_or(Error::not_found("room"))?;
    let peer = store::presence::find_present(&state.db, peer_id)
        .await?
        .filter(|p| p.room_id == room.id)
        .ok_or(Error::not_found("peer"))?;
    let not_publishing = || {
        Error::conflict(
            crate::error::Code::NotPublishing,
            format!("the peer sends no {kind} through the media server"),
        )
    };
    let row = store::media_rooms::find_room(&state.db, room.id)
        .await?
        .ok_or_else(not_publishing)?;
    let (secret, _) = secrets_of(state, &row)?;
    let streams = plane
        .client
        .published_streams(&peer.id.to_string())
        .await
        .map_err(unavailable)?;
    let mids: Vec<&String> = streams
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, mid)| mid)
        .collect();
    if mids.is_empty() {
        return Err(not_publishing());
    }
    for mid in mids {
        plane
            .client
            .moderate(&row.janus_room, &secret, &peer.id.to_string(), mid, mute)
            .await
            .map_err(unavailable)?;
    }
    let action = Action::new(
        AuditAction::RoomPeerMuted,
        format!("{}/{}", domain.name, room.name),
    )
    .detail(json!({"peer": peer.id, "kind": kind, "muted": mute}));
    audit::write(&state.writer, state.now(), by, action).await
}

/// Whether the peer is still present (a database error says yes: the next event decides).
pub async fn still_present(state: &AppState, peer_id: Uuid) -> bool {
    !matches!(
        store::presence::find_present(&state.db, peer_id).await,
        Ok(None)
    )
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn room(room_type: RoomType, capacity: i32) -> room::Model {
        room::Model {
            id: Uuid::new_v4(),
            domain_id: Uuid::new_v4(),
            name: "r".into(),
            room_type: room_type.code(),
            is_locked: false,
            password_sealed: None,
            host_key_sealed: None,
            capacity,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            removed_at: None,
            event_seq: 0,
            kind: "room".into(),
            present_count: 0,
            lobby: false,
        }
    }

    #[test]
    fn publishers_and_bitrate_follow_type_and_capacity() {
        assert_eq!(room_options(&room(RoomType::Webinar, 500)), (4, 1_000_000));
        assert_eq!(room_options(&room(RoomType::Conference, 4)), (4, 512_000));
        assert_eq!(room_options(&room(RoomType::Conference, 12)), (12, 256_000));
        assert_eq!(
            room_options(&room(RoomType::Conference, 256)),
            (100, 128_000)
        );
    }
}
