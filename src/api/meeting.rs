//! A meeting's controls for its hosts, with their peer token (the meeting page): let knocking
//! peers in or turn them away, kick, lock and unlock, end the meeting for everyone. The same
//! rules as the org's API (`room_lobby.rs`, `room_peers.rs`, `rooms.rs`), acting as the host.
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
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
        lobby, peer_access, room_departures,
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

#[OpenApi(tag = "Tag::Join")]
impl MeetingApi {
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
