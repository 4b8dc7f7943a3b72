//! The XMPP bridge's state: the bridging node's, whichever node answers.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{Tag, problem::ApiResult, security::ClientAuth};
use crate::{
    domain::{
        bridge_status::{self, BridgeView},
        chat_bridge,
    },
    state::AppState,
    xmpp::BridgeStatus,
};

pub struct ChatBridgeApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ChatBridge {
    /// `disabled` (no XMPP account configured), `standby` (this node does not bridge and no
    /// other node has reported bridging in the last 30 s), `connecting`, `connected` or
    /// `disconnected`.
    pub state: String,
    /// The bridge's XMPP account.
    #[oai(nullable)]
    pub jid: Option<String>,
    /// The caller's bridged MUCs the bridge is in now.
    pub rooms_joined: Vec<String>,
    /// The caller's bridged MUCs.
    pub rooms_bridged: Vec<String>,
    #[oai(nullable)]
    pub last_error: Option<String>,
    #[oai(nullable)]
    pub last_error_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub connected_since: Option<DateTime<Utc>>,
    /// Whether the node that answered is the one bridging (one node bridges at a time).
    pub bridging_here: bool,
    /// When another node bridges: when it last reported this status (every 5 s while it
    /// bridges).
    #[oai(nullable)]
    pub reported_at: Option<DateTime<Utc>>,
}

#[OpenApi(tag = "Tag::Chat")]
impl ChatBridgeApi {
    /// State of the XMPP chat bridge
    ///
    /// Answered alike by every node: the node that bridges shows its own state, the others
    /// the state it last reported. Rooms are limited to the caller's organisation.
    #[oai(
        path = "/v1/chat-bridge",
        method = "get",
        operation_id = "getChatBridgeStatus"
    )]
    async fn status(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
    ) -> ApiResult<Json<ChatBridge>> {
        let bridged = chat_bridge::jids_of_org(&state, auth.principal().org_id).await?;
        let BridgeView {
            status:
                BridgeStatus {
                    state: bridge_state,
                    jid,
                    rooms_joined,
                    last_error,
                    last_error_at,
                    connected_since,
                    leader: bridging_here,
                },
            reported_at,
        } = bridge_status::view(&state).await?;
        Ok(Json(ChatBridge {
            state: bridge_state,
            jid,
            rooms_joined: rooms_joined
                .into_iter()
                .filter(|r| bridged.contains(r))
                .collect(),
            rooms_bridged: bridged,
            last_error,
            last_error_at,
            connected_since,
            bridging_here,
            reported_at,
        }))
    }
}
