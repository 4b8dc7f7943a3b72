//! Media set-up for a room's peers: the ICE servers their browsers use and the media mode.
//! Signalling itself runs over the realtime socket (`realtime_signals`).
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Path, payload::Json};

use super::{Tag, problem::ApiResult, security::PeerAuth};
use crate::{
    domain::{
        ice_servers::{self, MediaMode},
        media_rooms::JanusRole,
    },
    state::AppState,
};

pub struct MediaApi;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct IceServer {
    /// `stun:`/`stuns:` URLs, or `turn:`/`turns:` URLs (which then carry credentials).
    pub urls: Vec<String>,
    /// TURN only: `"<unix expiry>:<peerId>"`, coturn's REST API form.
    #[oai(skip_serializing_if_is_none)]
    pub username: Option<String>,
    /// TURN only: base64 of HMAC-SHA1 of the username under the TURN server's shared secret.
    #[oai(skip_serializing_if_is_none)]
    pub credential: Option<String>,
}

/// How the room's media flows.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Mode {
    /// Browser to browser, each peer sending to every other.
    Mesh,
    /// Through the Janus SFU: see `janus`.
    Sfu,
    /// More peers are present than `meshMaxPeers` and no SFU answers: the room needs one.
    SfuRequired,
}

/// How a peer takes part in its Janus room.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum JanusRoleView {
    /// Publishes its own media and subscribes to the others'.
    Publisher,
    /// Subscribes only (a webinar viewer); Janus refuses its publisher join.
    Subscriber,
}

/// Where the peer's media goes on the Janus SFU.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct JanusSetup {
    /// The VideoRoom room to join (meetplane forces it on every join anyway).
    pub room: String,
    pub role: JanusRoleView,
    /// The WebSocket to speak the Janus API over (subprotocol `janus-protocol`), opened with
    /// `?token=<peer token>`; meetplane adds the secrets and relays to Janus.
    pub socket_path: String,
    /// This peer's publisher id in the room: its peerId.
    pub feed_id: String,
}

/// What a peer's browser needs to set up media.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct MediaSetup {
    /// Pass as `RTCConfiguration.iceServers`. Empty when none are configured: host candidates
    /// only.
    pub ice_servers: Vec<IceServer>,
    /// When the TURN credentials expire; ask again before then. `null` without TURN servers.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The most present peers the browser mesh serves.
    pub mesh_max_peers: u32,
    pub mode: Mode,
    /// With `mode` `sfu`: the Janus room to use; otherwise `null`.
    #[oai(nullable)]
    pub janus: Option<JanusSetup>,
    /// Janus is configured but does not answer: the page uses the mesh (or, for a room too
    /// large for it, says the meeting is too large for now).
    pub sfu_unavailable: bool,
}

#[derive(ApiResponse)]
pub enum MediaSetupResponse {
    /// The set-up; not to be cached (it carries credentials).
    #[oai(status = 200)]
    Ok(Json<MediaSetup>, #[oai(header = "Cache-Control")] String),
}

#[OpenApi(tag = "Tag::Media")]
impl MediaApi {
    /// ICE servers and media mode for a peer
    ///
    /// For the meeting page: STUN and TURN servers (with TURN credentials minted for this
    /// peer, valid until `expiresAt`), and whether the room is small enough for the browser
    /// mesh. Signals (offers, answers, candidates) go over the realtime socket as
    /// `{"type": "signal", "to": peerId, "data": {…}}`.
    #[oai(
        path = "/v1/rooms/:domain/:name/ice-servers",
        method = "get",
        operation_id = "getIceServers"
    )]
    async fn ice_servers(
        &self,
        state: Data<&AppState>,
        auth: PeerAuth,
        domain: Path<String>,
        name: Path<String>,
    ) -> ApiResult<MediaSetupResponse> {
        let setup = ice_servers::for_peer(&state, &domain.0, &name.0, &auth.0.token).await?;
        let body = MediaSetup {
            ice_servers: setup
                .ice_servers
                .into_iter()
                .map(|s| IceServer {
                    urls: s.urls,
                    username: s.credential.as_ref().map(|c| c.username.clone()),
                    credential: s.credential.map(|c| c.credential),
                })
                .collect(),
            expires_at: setup.expires_at,
            mesh_max_peers: setup.mesh_max_peers,
            mode: match setup.mode {
                MediaMode::Mesh => Mode::Mesh,
                MediaMode::Sfu => Mode::Sfu,
                MediaMode::SfuRequired => Mode::SfuRequired,
            },
            janus: setup.janus.map(|j| JanusSetup {
                socket_path: format!("/v1/rooms/{}/{}/janus", j.domain, j.room_name),
                room: j.room,
                role: match j.role {
                    JanusRole::Publisher => JanusRoleView::Publisher,
                    JanusRole::Subscriber => JanusRoleView::Subscriber,
                },
                feed_id: j.feed_id,
            }),
            sfu_unavailable: setup.sfu_unavailable,
        };
        Ok(MediaSetupResponse::Ok(Json(body), "no-store".into()))
    }
}
