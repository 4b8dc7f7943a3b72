//! Rooms of an organisation: initialise, inspect, lock, password, destroy (their peers:
//! `room_peers`).
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde::Deserialize;
use uuid::Uuid;

use super::room_views::resource;
pub use super::room_views::{Peer, Room, room_links};
use super::{
    Tag,
    body::JsonBody,
    hal::{Hal, HalPage, Paging},
    problem::ApiResult,
    rendered_json::RenderedJson,
    security::ClientAuth,
};
use crate::{
    domain::redaction::{self, Reader},
    domain::rooms::{self, RoomOptions},
    state::AppState,
};

pub struct RoomsApi;

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewRoom {
    /// A domain of the org.
    pub domain: String,
    /// 1-128 characters of ASCII letters (a-z, A-Z), digits, `.`, `_`, `~`, `-`.
    #[oai(validator(pattern = r"^[A-Za-z0-9][A-Za-z0-9._~-]*$", max_length = 128))]
    pub name: String,
    /// 1 conference (default), 2 webinar.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    #[oai(nullable)]
    #[oai(validator(minimum(value = "1"), maximum(value = "2")))]
    pub room_type: Option<i64>,
    /// In a locked room, hosts (host key) enter; everyone else knocks and waits for a host
    /// to let them in. Default false.
    #[oai(nullable)]
    pub lock: Option<bool>,
    /// Room password.
    #[oai(nullable)]
    #[oai(validator(min_length = 1, max_length = 128))]
    pub key: Option<String>,
    /// Generate a host key and return it (once) in the response.
    #[oai(nullable)]
    pub add_host_key: Option<bool>,
    /// Most peers at once; default and maximum are the server's `MEETPLANE_MAX_ROOM_CAPACITY`
    /// (256 unless configured; 100000 at most).
    #[oai(nullable)]
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub capacity: Option<i64>,
    /// Joins through the room's link knock and wait for a host to let them in. Default
    /// false.
    #[oai(nullable)]
    pub lobby: Option<bool>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct CreatedRoom {
    pub room: Room,
    /// The host key, when `addHostKey` was true. Shown only here.
    #[oai(nullable)]
    pub host_key: Option<String>,
}

#[derive(ApiResponse)]
pub enum RoomCreated {
    /// The room is initialised.
    #[oai(status = 201)]
    Created(Json<Hal<CreatedRoom>>),
}

#[derive(Debug, Object, Deserialize)]
pub struct SetLock {
    pub lock: bool,
}

#[derive(Debug, Object, Deserialize)]
pub struct SetPassword {
    /// The new password, or null to remove it.
    #[oai(nullable)]
    #[oai(validator(min_length = 1, max_length = 128))]
    pub password: Option<String>,
}

/// Peers removed from a room.
#[derive(Debug, Object)]
pub struct Removed {
    pub removed: Vec<Peer>,
}

#[OpenApi(tag = "Tag::Rooms")]
impl RoomsApi {
    /// List live rooms with their peers
    #[oai(
        path = "/v1/orgs/:orgId/rooms",
        method = "get",
        operation_id = "listRooms"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        /// Only rooms of this domain.
        domain: Query<Option<String>>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<RenderedJson<HalPage<Room>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let reader = Reader::from(auth.principal());
        let key = (
            org_id.0,
            domain.0.clone(),
            paging.page,
            paging.count,
            redaction::sees_secrets(reader),
        );
        let render = async {
            let (views, more) =
                rooms::list(&state, org_id.0, domain.0.as_deref(), paging.window()).await?;
            RenderedJson::render(&HalPage::new(
                views
                    .into_iter()
                    .map(|v| Room::from(redaction::shown_to(reader, v)))
                    .collect(),
                paging,
                &format!("/v1/orgs/{}/rooms", org_id.0),
                &[("domain", domain.0.clone())],
                more,
            ))
        };
        let body = state.reads.room_page(key, render).await?;
        Ok(RenderedJson::from_rendered(body))
    }

    /// Initialise a room
    #[oai(
        path = "/v1/orgs/:orgId/rooms",
        method = "post",
        operation_id = "createRoom"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: JsonBody<NewRoom>,
    ) -> ApiResult<RoomCreated> {
        auth.principal().require_org(org_id.0)?;
        let b = body.0;
        let created = rooms::init(
            &state,
            &auth.by(),
            auth.principal().origin(),
            &b.domain,
            &b.name,
            RoomOptions {
                room_type: b.room_type,
                lock: b.lock,
                password: b.key,
                add_host_key: b.add_host_key.unwrap_or(false),
                capacity: b.capacity,
                lobby: b.lobby,
            },
        )
        .await?;
        let l = room_links(org_id.0, &created.room.domain, &created.room.name);
        Ok(RoomCreated::Created(Json(Hal::new(
            CreatedRoom {
                room: created.room.into(),
                host_key: created.host_key,
            },
            l,
        ))))
    }

    /// Get a room with its peers
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name",
        method = "get",
        operation_id = "getRoom"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
    ) -> ApiResult<Json<Hal<Room>>> {
        auth.principal().require_org(org_id.0)?;
        let v = rooms::get(&state, org_id.0, &domain.0, &name.0).await?;
        let reader = Reader::from(auth.principal());
        Ok(Json(resource(org_id.0, redaction::shown_to(reader, v))))
    }

    /// Destroy a room
    ///
    /// Refused with 409 `room_not_empty` while peers are in the room, unless `forceKick=true`
    /// removes them first.
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name",
        method = "delete",
        operation_id = "destroyRoom"
    )]
    async fn destroy(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        #[oai(name = "forceKick")] force_kick: Query<Option<bool>>,
    ) -> ApiResult<Json<Removed>> {
        auth.principal().require_org(org_id.0)?;
        let removed = rooms::destroy(
            &state,
            &auth.by(),
            &domain.0,
            &name.0,
            force_kick.0.unwrap_or(false),
        )
        .await?;
        Ok(Json(Removed {
            removed: removed.into_iter().map(Peer::from).collect(),
        }))
    }

    /// Lock or unlock a room
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name/lock",
        method = "put",
        operation_id = "setRoomLock"
    )]
    async fn set_lock(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        body: JsonBody<SetLock>,
    ) -> ApiResult<Json<Hal<Room>>> {
        auth.principal().require_org(org_id.0)?;
        let v = rooms::set_lock(&state, &auth.by(), &domain.0, &name.0, body.0.lock).await?;
        let reader = Reader::from(auth.principal());
        Ok(Json(resource(org_id.0, redaction::shown_to(reader, v))))
    }

    /// Set or remove the room password
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name/password",
        method = "put",
        operation_id = "setRoomPassword"
    )]
    async fn set_password(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        body: JsonBody<SetPassword>,
    ) -> ApiResult<Json<Hal<Room>>> {
        auth.principal().require_org(org_id.0)?;
        let v = rooms::set_password(
            &state,
            &auth.by(),
            &domain.0,
            &name.0,
            body.0.password.as_deref(),
        )
        .await?;
        let reader = Reader::from(auth.principal());
        Ok(Json(resource(org_id.0, redaction::shown_to(reader, v))))
    }
}
