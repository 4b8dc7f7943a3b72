//! A meeting's controls for its hosts, with their peer token (the meeting page): let knocking
//! peers in or turn them away, kick, mute on the media server, lock and unlock, end the
//! meeting for everyone. The same
//! rules as the org's API (`room_lobby.rs`, `room_peers.rs`, `rooms.rs`), acting as the host.
use poem::web::Data;
use poem_openapi::{Enum, Object, OpenApi, param::Path, payload::Json};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Tag,
    body::JsonBody,
    problem::ApiResult,
    rooms::{Peer, Removed},
    security::PeerAuth,
};
use crate::{
    domain::{
        lobby, media_rooms, peer_access, room_departures,
        rooms::{self, KickTarget},
    },
    state::AppState,
};

pub struct MeetingApi;

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct RoomLock {
    pub locked: bool,
}

/// Whether the room is locked now.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct RoomLockState {
    pub is_locked: bool,
}

/// What of a peer's media to mute or unmute on the media server.
#[derive(Debug, Clone, Copy, Enum, Deserialize, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

/// Mute or unmute what a peer sends through the Janus SFU.
#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PeerMute {
    pub kind: MediaKind,
    pub muted: bool,
}

#[OpenApi(tag = "Tag::Join")]
impl MeetingApi {
    /// Mute or unmute a peer's audio or video (hosts)
    ///
    /// On the Janus SFU (VideoRoom `moderate`): the peer's stream stops reaching the others
    /// until unmuted; its page hears of it from Janus. `404 media_server_not_found` without
    /// Janus, `409 not_publishing` when the peer sends no such stream.
    #[oai(
        path = "/v1/rooms/:domain/:name/peers/:peerId/mute",
        method = "post",
        operation_id = "hostMutePeer"
    )]
    async fn mute(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
        #[oai(name = "peerId")] peer_id: Path<Uuid>,
        body: JsonBody<PeerMute>,
    ) -> ApiResult<Json<PeerMute>> {
        let by = peer_access::acting_host(&state, &domain.0, &name.0, &auth.0.token).await?;
        let PeerMute { kind, muted } = body.0;
        media_rooms::moderate(
            &state,
            &by,
            &domain.0,
            &name.0,
            peer_id.0,
            kind.as_str(),
            muted,
        )
        .await?;
        Ok(Json(PeerMute { kind, muted }))
    }

    /// Let a knocking peer in (hosts)
    ///
    /// Capacity is checked now; the peer's page enters the meeting on its `clientAdded`.
    #[oai(
        path = "/v1/rooms/:domain/:name/peers/:peerId/admit",
        method = "post",
        operation_id = "hostAdmitPeer"
    )]
    async fn admit(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
        #[oai(name = "peerId")] peer_id: Path<Uuid>,
    ) -> ApiResult<Json<Peer>> {
        let by = peer_access::acting_host(&state, &domain.0, &name.0, &auth.0.token).await?;
        let peer = lobby::admit(&state, &by, &domain.0, &name.0, peer_id.0).await?;
        Ok(Json(peer.into()))
    }

    /// Turn a knocking peer away (hosts)
    #[oai(
        path = "/v1/rooms/:domain/:name/peers/:peerId/deny",
        method = "post",
        operation_id = "hostDenyPeer"
    )]
    async fn deny(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
        #[oai(name = "peerId")] peer_id: Path<Uuid>,
    ) -> ApiResult<Json<Peer>> {
        let by = peer_access::acting_host(&state, &domain.0, &name.0, &auth.0.token).await?;
        let peer = lobby::deny(&state, &by, &domain.0, &name.0, peer_id.0).await?;
        Ok(Json(peer.into()))
    }

    /// Kick a peer (hosts)
    ///
    /// Its session link no longer enters (unless the org allows rejoining after a kick).
    #[oai(
        path = "/v1/rooms/:domain/:name/peers/:peerId/kick",
        method = "post",
        operation_id = "hostKickPeer"
    )]
    async fn kick(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
        #[oai(name = "peerId")] peer_id: Path<Uuid>,
    ) -> ApiResult<Json<Removed>> {
        let by = peer_access::acting_host(&state, &domain.0, &name.0, &auth.0.token).await?;
        let target = KickTarget::Peer(peer_id.0);
        let removed = room_departures::kick(&state, &by, &domain.0, &name.0, target).await?;
        Ok(Json(Removed {
            removed: removed.into_iter().map(Peer::from).collect(),
        }))
    }

    /// Lock or unlock the room (hosts)
    ///
    /// In a locked room, room-link joins without a host key knock instead of entering.
    #[oai(
        path = "/v1/rooms/:domain/:name/lock",
        method = "post",
        operation_id = "hostLockRoom"
    )]
    async fn lock(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
        body: JsonBody<RoomLock>,
    ) -> ApiResult<Json<RoomLockState>> {
        let by = peer_access::acting_host(&state, &domain.0, &name.0, &auth.0.token).await?;
        let room = rooms::set_lock(&state, &by, &domain.0, &name.0, body.0.locked).await?;
        Ok(Json(RoomLockState {
            is_locked: room.is_locked,
        }))
    }

    /// End the meeting for everyone (hosts)
    ///
    /// Every peer leaves (`clientsRemoved`, reason `ended`) and the room closes.
    #[oai(
        path = "/v1/rooms/:domain/:name/end",
        method = "post",
        operation_id = "hostEndMeeting"
    )]
    async fn end(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
    ) -> ApiResult<Json<Removed>> {
        let by = peer_access::acting_host(&state, &domain.0, &name.0, &auth.0.token).await?;
        let removed = lobby::end_meeting(&state, &by, &domain.0, &name.0).await?;
        Ok(Json(Removed {
            removed: removed.into_iter().map(Peer::from).collect(),
        }))
    }
}
