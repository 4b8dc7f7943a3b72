//! Peers of a room on the org's authority: admit one (role chosen by the org's client),
//! kick one or everyone, mute one on the media server.
use poem::web::Data;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Path, payload::Json};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Tag,
    body::JsonBody,
    hal::{Hal, links},
    meeting::PeerMute,
    problem::ApiResult,
    rooms::{Peer, Removed},
    security::ClientAuth,
};
use crate::{
    domain::{
        media_rooms, peers,
        rooms::{self, KickTarget, Role},
    },
    state::AppState,
};

pub struct RoomPeersApi;

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Kick {
    /// A peer id, or `all`.
    #[oai(validator(
        pattern = r"^(all|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"
    ))]
    pub peer_id: String,
}

#[derive(Debug, Clone, Copy, Enum, Deserialize, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum PeerRole {
    Host,
    User,
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewPeer {
    #[oai(validator(
        pattern = r"^[^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 128
    ))]
    pub display_name: String,
    pub role: PeerRole,
    /// The chat-widget site user this peer is: their widget shows this room's chat while
    /// the peer is in the room.
    #[oai(nullable)]
    #[oai(validator(
        pattern = r"^[^,\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s,\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^,\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 64
    ))]
    pub site_user_id: Option<String>,
}

/// An admitted peer and its token. The token is shown only here.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Admission {
    pub peer: Peer,
    /// Bearer token of this peer (leave, realtime); shown only here.
    pub peer_token: String,
    /// `domain/name`.
    pub room: String,
}

#[derive(ApiResponse)]
pub enum PeerAdmitted {
    /// The peer is in the room.
    #[oai(status = 201)]
    Created(Json<Hal<Admission>>),
}

pub fn admission(admitted: rooms::Admitted) -> Hal<Admission> {
    let room = admitted.room.full_id();
    let l = links([
        ("room", format!("/v1/rooms/{room}/join")),
        ("leave", format!("/v1/rooms/{room}/leave")),
    ]);
    Hal::new(
        Admission {
            peer: admitted.peer.into(),
            peer_token: admitted.peer_token,
            room,
        },
        l,
    )
}

#[OpenApi(tag = "Tag::Rooms")]
impl RoomPeersApi {
    /// Mute or unmute a peer's audio or video
    ///
    /// On the Janus SFU (VideoRoom `moderate`), as a host of the meeting can. `404
    /// media_server_not_found` without Janus, `409 not_publishing` when the peer sends no
    /// such stream.
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name/peers/:peerId/mute",
        method = "post",
        operation_id = "mutePeer"
    )]
    #[allow(clippy::too_many_arguments)] // one per extractor
    async fn mute(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        #[oai(name = "peerId")] peer_id: Path<Uuid>,
        body: JsonBody<PeerMute>,
    ) -> ApiResult<Json<PeerMute>> {
        auth.principal().require_org(org_id.0)?;
        let PeerMute { kind, muted } = body.0;
        media_rooms::moderate(
            &state,
            &auth.by(),
            &domain.0,
            &name.0,
            peer_id.0,
            kind.as_str(),
            muted,
        )
        .await?;
        Ok(Json(PeerMute { kind, muted }))
    }

    /// Kick a peer, or everyone
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name/kick",
        method = "post",
        operation_id = "kickPeers"
    )]
    async fn kick(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        body: JsonBody<Kick>,
    ) -> ApiResult<Json<Removed>> {
        auth.principal().require_org(org_id.0)?;
        let target = KickTarget::parse(&body.0.peer_id)?;
        let removed = rooms::kick(&state, &auth.by(), &domain.0, &name.0, target).await?;
        Ok(Json(Removed {
            removed: removed.into_iter().map(Peer::from).collect(),
        }))
    }

    /// Admit a peer on the org's authority
    ///
    /// The org's client chooses the role; lock and password do not apply, capacity does.
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name/peers",
        method = "post",
        operation_id = "admitPeer"
    )]
    async fn admit(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        body: JsonBody<NewPeer>,
    ) -> ApiResult<PeerAdmitted> {
        auth.principal().require_org(org_id.0)?;
        let role = match body.0.role {
            PeerRole::Host => Role::Host,
            PeerRole::User => Role::User,
        };
        let admitted = peers::admit(
            &state,
            org_id.0,
            &domain.0,
            &name.0,
            &body.0.display_name,
            role,
            body.0.site_user_id,
        )
        .await?;
        Ok(PeerAdmitted::Created(Json(admission(admitted))))
    }
}
