//! Room chat: post and read messages, as the org's API client or as a peer of the room.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Tag,
    body::JsonBody,
    hal::{Hal, HalPage, Links, link, links},
    problem::ApiResult,
    security::{ClientAuth, PeerAuth},
};
use crate::{
    chat_queue,
    domain::chat::{self, MessageView},
    state::AppState,
};

pub struct ChatApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Message {
    pub message_id: i64,
    /// `domain/name`.
    pub room: String,
    /// `peer`, `client` (an API client) or `xmpp` (from the bridged XMPP room).
    pub sender_kind: String,
    #[oai(nullable)]
    pub peer_id: Option<Uuid>,
    pub display_name: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// In a room bridged to XMPP (chat bridge), the message's way into the XMPP room:
    /// `pending` (waiting to be sent), `sent` (the room has it) or `failed` (given up on,
    /// see `xmppError`). Null for messages that came from XMPP or outside bridged rooms.
    #[oai(nullable)]
    pub xmpp_state: Option<String>,
    /// Why a `failed` message could not be sent to the XMPP room.
    #[oai(nullable)]
    pub xmpp_error: Option<String>,
}

impl From<MessageView> for Message {
    fn from(m: MessageView) -> Self {
        Self {
            message_id: m.id,
            room: m.room,
            sender_kind: m.sender_kind,
            peer_id: m.peer_id,
            display_name: m.display_name,
            text: m.text,
            created_at: m.created_at,
            xmpp_state: m.xmpp_state,
            xmpp_error: m.xmpp_error,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ClientMessage {
    /// The name the message appears under.
    #[oai(validator(
        pattern = r"^[^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 128
    ))]
    pub display_name: String,
    /// At most 4,000 characters, none of them a control character other than tab, CR and LF
    /// (or U+FFFE, U+FFFF): XML, which carries bridged rooms' chat, cannot hold them.
    #[oai(validator(
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF]*[^\s\x00-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF][^\x00-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF]*$",
        max_length = 4000
    ))]
    pub text: String,
}

#[derive(Debug, Object, Deserialize)]
pub struct PeerMessage {
    /// At most 4,000 characters, none of them a control character other than tab, CR and LF
    /// (or U+FFFE, U+FFFF): XML, which carries bridged rooms' chat, cannot hold them.
    #[oai(validator(
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF]*[^\s\x00-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF][^\x00-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF]*$",
        max_length = 4000
    ))]
    pub text: String,
}

#[derive(ApiResponse)]
pub enum Posted {
    /// The message is in the room's chat.
    #[oai(status = 201)]
    Created(Json<Hal<Message>>),
}

const DEFAULT_COUNT: u64 = 50;

fn page(path: &str, messages: Vec<MessageView>, more: bool, count: u64) -> HalPage<Message> {
    let mut l = Links::new();
    l.insert("self".into(), link(format!("{path}?count={count}")));
    if more && let Some(oldest) = messages.last() {
        l.insert(
            "next".into(),
            link(format!("{path}?before={}&count={count}", oldest.id)),
        );
    }
    if let Some(newest) = messages.first() {
        l.insert(
            "newer".into(),
            link(format!("{path}?since={}&count={count}", newest.id)),
        );
    }
    HalPage {
        content: messages.into_iter().map(Message::from).collect(),
        links: l,
    }
}

fn posted(path: &str, m: MessageView) -> Posted {
    Posted::Created(Json(Hal::new(
        m.into(),
        links([("messages", path.to_string())]),
    )))
}

#[OpenApi(tag = "Tag::Chat")]
impl ChatApi {
    /// Read a room's messages, newest first
    ///
    /// `before` pages to older messages (the `next` link), `since` returns only newer ones
    /// (the `newer` link).
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name/messages",
        method = "get",
        operation_id = "listRoomMessages"
    )]
    #[allow(clippy::too_many_arguments)] // one per extractor
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        before: Query<Option<i64>>,
        since: Query<Option<i64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Message>>> {
        auth.principal().require_org(org_id.0)?;
        let (room_id, domain_name) = chat::org_room(&state, org_id.0, &domain.0, &name.0).await?;
        let count = count.0.unwrap_or(DEFAULT_COUNT);
        let (messages, more) = chat::list(
            &state,
            room_id,
            &domain_name,
            &name.0,
            before.0,
            since.0,
            count,
        )
        .await?;
        let path = format!(
            "/v1/orgs/{}/rooms/{domain_name}/{}/messages",
            org_id.0, name.0
        );
        Ok(Json(page(&path, messages, more, count)))
    }

    /// Post a message as the org's client, under a display name
    #[oai(
        path = "/v1/orgs/:orgId/rooms/:domain/:name/messages",
        method = "post",
        operation_id = "postRoomMessage"
    )]
    async fn post(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        name: Path<String>,
        body: JsonBody<ClientMessage>,
    ) -> ApiResult<Posted> {
        auth.principal().require_org(org_id.0)?;
        let post = chat::client_post(
            org_id.0,
            &domain.0,
            &name.0,
            &body.0.display_name,
            &body.0.text,
        )?;
        let m = chat_queue::post(&state, post).await?;
        let path = format!("/v1/orgs/{}/rooms/{}/messages", org_id.0, m.room);
        Ok(posted(&path, m))
    }

    /// Read the chat of the peer's room, newest first
    #[oai(
        path = "/v1/rooms/:domain/:name/messages",
        method = "get",
        operation_id = "listMessagesAsPeer"
    )]
    #[allow(clippy::too_many_arguments)] // one per extractor
    async fn peer_list(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
        before: Query<Option<i64>>,
        since: Query<Option<i64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Message>>> {
        let (room_id, domain_name) =
            chat::peer_room_id(&state, &domain.0, &name.0, &auth.0.token).await?;
        let count = count.0.unwrap_or(DEFAULT_COUNT);
        let (messages, more) = chat::list(
            &state,
            room_id,
            &domain_name,
            &name.0,
            before.0,
            since.0,
            count,
        )
        .await?;
        let path = format!("/v1/rooms/{domain_name}/{}/messages", name.0);
        Ok(Json(page(&path, messages, more, count)))
    }

    /// Post a message as a peer of the room
    #[oai(
        path = "/v1/rooms/:domain/:name/messages",
        method = "post",
        operation_id = "postMessageAsPeer"
    )]
    async fn peer_post(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
        body: JsonBody<PeerMessage>,
    ) -> ApiResult<Posted> {
        let m = chat::post_as_peer(&state, &domain.0, &name.0, &auth.0.token, &body.0.text).await?;
        let path = format!("/v1/rooms/{}/messages", m.room);
        Ok(posted(&path, m))
    }
}
