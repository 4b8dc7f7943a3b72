//! The lobby on the org's authority: let a knocking peer in, or turn it away.
use poem::web::Data;
use poem_openapi::{OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::{Tag, problem::ApiResult, rooms::Peer, security::ClientAuth};
use crate::{domain::lobby, state::AppState};

pub struct RoomLobbyApi;

#[OpenApi(tag = "Tag::Rooms")]
impl RoomLobbyApi {
    /// Let a knocking peer in
    ///
    /// Capacity is checked now (`room_full` when no seat is free); emits `clientAdded`.
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name/peers/:peerId/admit",
        method = "post",
        operation_id = "admitWaitingPeer"
    )]
    async fn admit(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        #[oai(name = "peerId")] peer_id: Path<Uuid>,
    ) -> ApiResult<Json<Peer>> {
        auth.principal().require_org(org_id.0)?;
        let peer = lobby::admit(&state, &auth.by(), &domain.0, &name.0, peer_id.0).await?;
        Ok(Json(peer.into()))
    }

    /// Turn a knocking peer away
    ///
    /// Emits `clientsRemoved` with reason `denied`.
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name/peers/:peerId/deny",
        method = "post",
        operation_id = "denyWaitingPeer"
    )]
    async fn deny(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        #[oai(name = "peerId")] peer_id: Path<Uuid>,
    ) -> ApiResult<Json<Peer>> {
        auth.principal().require_org(org_id.0)?;
        let peer = lobby::deny(&state, &auth.by(), &domain.0, &name.0, peer_id.0).await?;
        Ok(Json(peer.into()))
    }
}
