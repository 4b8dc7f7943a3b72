//! Entering and leaving a room through its public link: no API credentials, the room's
//! password or host key decides.
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use serde::Deserialize;

use super::{
    Tag,
    body::JsonBody,
    hal::{Hal, links},
    problem::ApiResult,
    room_peers::{PeerAdmitted, admission},
    rooms::Peer,
    security::PeerAuth,
};
use crate::{
    domain::{
        audit, peer_access,
        peers::{self, Entry},
    },
    state::AppState,
};

pub struct JoinApi;

/// A room as its peers see it.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PeerRoom {
    /// `domain/name`.
    pub id: String,
    pub name: String,
    #[oai(rename = "type")]
    pub room_type: i16,
    pub is_locked: bool,
    /// Joins through the room's link knock and wait for a host.
    pub lobby: bool,
    pub capacity: i32,
    pub seq: i64,
    /// Everyone present, knocking peers included (`state` `waiting`).
    pub peers: Vec<Peer>,
    /// Where this peer goes after the call: the `rtn` of the session link that admitted it.
    #[oai(nullable)]
    pub return_url: Option<String>,
    /// The peer asking: its type says its role (1 or 3 host, 2 user, 4 webinar viewer),
    /// its `state` whether it still waits in the lobby.
    pub you: Peer,
    /// Whether a host holds a seat, so a knocking guest knows someone may let it in.
    pub host_present: bool,
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    #[oai(validator(
        pattern = r"^[^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 128
    ))]
    pub display_name: String,
    /// The room password, if the room has one.
    #[oai(nullable)]
    pub key: Option<String>,
    /// A host key (from `addHostKey`): enter as host, also into a locked room.
    #[oai(nullable)]
    pub host_key: Option<String>,
}

#[OpenApi(tag = "Tag::Join")]
impl JoinApi {
    /// Join a room
    ///
    /// With a valid `hostKey` the peer is a host (also in a locked room). Otherwise the room
    /// must be unlocked and `key` must match its password; in a webinar the peer is a viewer.
    /// Capacity is enforced for everyone.
    #[oai(
        path = "/v1/rooms/:domain/:name/join",
        method = "post",
        operation_id = "joinRoom"
    )]
    async fn join(
        &self,
        req: &poem::Request,
        state: Data<&AppState>,
        domain: Path<String>,
        name: Path<String>,
        body: JsonBody<JoinRequest>,
    ) -> ApiResult<PeerAdmitted> {
        let b = body.0;
        let by_host_key = b.host_key.is_some();
        let admitted = peers::join(
            &state,
            &domain.0,
            &name.0,
            &b.display_name,
            Entry::Public {
                password: b.key,
                host_key: b.host_key,
            },
        )
        .await?;
        if by_host_key {
            let ip = super::source_address::source_address(req, &state.config);
            audit::record_host_entry(&state, &admitted, ip.map(|ip| ip.to_string())).await;
        }
        Ok(PeerAdmitted::Created(Json(admission(admitted))))
    }

    /// The room, as one of its peers sees it
    ///
    /// For the join page: the room's settings (no password), who is in it, and where this
    /// peer returns after the call.
    #[oai(
        path = "/v1/rooms/:domain/:name",
        method = "get",
        operation_id = "getRoomAsPeer"
    )]
    async fn room(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
    ) -> ApiResult<Json<Hal<PeerRoom>>> {
        let seen = peer_access::room_for_peer(&state, &domain.0, &name.0, &auth.0.token).await?;
        let v = seen.room;
        let l = links([("leave", format!("/v1/rooms/{}/{}/leave", domain.0, name.0))]);
        Ok(Json(Hal::new(
            PeerRoom {
                id: v.full_id(),
                name: v.name,
                room_type: v.room_type,
                is_locked: v.is_locked,
                lobby: v.lobby,
                capacity: v.capacity,
                seq: v.seq,
                peers: v.peers.into_iter().map(Peer::from).collect(),
                return_url: seen.return_url,
                you: seen.you.into(),
                host_present: seen.host_present,
            },
            l,
        )))
    }

    /// Leave a room
    #[oai(
        path = "/v1/rooms/:domain/:name/leave",
        method = "post",
        operation_id = "leaveRoom"
    )]
    async fn leave(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
    ) -> ApiResult<Json<Hal<Peer>>> {
        let peer = peers::leave(&state, &domain.0, &name.0, &auth.0.token).await?;
        let l = links([("room", format!("/v1/rooms/{}/{}/join", domain.0, name.0))]);
        Ok(Json(Hal::new(peer.into(), l)))
    }
}
