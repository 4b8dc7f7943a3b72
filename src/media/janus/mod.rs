//! A small client of Janus's HTTP Admin API. Every call meetplane makes is there: tokens
//! (`add_token`, `remove_token`, `list_tokens`), sessions (`destroy_session`), health
//! (`ping`), and the VideoRoom plugin's synchronous requests through `message_plugin`
//! (create, exists, destroy, allowed, kick, moderate, listparticipants), so meetplane holds
//! no Janus session of its own. Plain JSON over reqwest; browsers' own sessions go over the
//! WebSocket API through `api::janus_socket`.
pub mod config_files;

use std::{collections::HashSet, time::Duration};

use serde_json::{Value, json};
use url::Url;

use crate::config::{JanusConfig, SecretString};

pub const VIDEOROOM: &str = "janus.plugin.videoroom";

/// VideoRoom's "no such room" (426) and "no such user" (428).
pub const NO_SUCH_ROOM: i64 = 426;
pub const NO_SUCH_USER: i64 = 428;

#[derive(Debug, thiserror::Error)]
pub enum JanusError {
    /// Janus did not answer (down, restarting, wrong address).
    #[error("Janus is unreachable: {0}")]
    Unreachable(String),
    /// Janus answered with an error (`code` from Janus or the plugin).
    #[error("Janus refused {request}: {code} {reason}")]
    Refused {
        request: String,
        code: i64,
        reason: String,
    },
}

impl JanusError {
    pub fn code(&self) -> Option<i64> {
        match self {
            JanusError::Refused { code, .. } => Some(*code),
            JanusError::Unreachable(_) => None,
        }
    }
}

/// A VideoRoom room as meetplane creates it.
#[derive(Clone)]
pub struct RoomSpec {
    pub room: String,
    pub secret: String,
    /// Subscribers need it (webinar viewers get it through meetplane's socket).
    pub pin: Option<String>,
    pub publishers: u32,
    pub bitrate: u32,
    pub description: String,
    /// Subscriber joins must name a publisher's `private_id` (off for webinars: viewers
    /// never publish, so they have none).
    pub require_pvtid: bool,
}

/// Without the secret and the pin.
impl std::fmt::Debug for RoomSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomSpec")
            .field("room", &self.room)
            .field("publishers", &self.publishers)
            .field("bitrate", &self.bitrate)
            .finish_non_exhaustive()
    }
}

/// The Admin API of one Janus.
#[derive(Clone)]
pub struct Janus {
    http: reqwest::Client,
    admin_url: Url,
    admin_secret: SecretString,
    admin_key: SecretString,
}

impl std::fmt::Debug for Janus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Janus")
            .field("admin_url", &self.admin_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Janus {
    pub fn new(config: &JanusConfig) -> Self {
        Self {
            // Janus answers the Admin API at once; a hung Janus must not hold a request long.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .connect_timeout(Duration::from_secs(2))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
            admin_url: config.admin_url.clone(),
            admin_secret: config.admin_secret.clone(),
            admin_key: config.admin_key.clone(),
        }
    }

    /// One Admin API request; `Ok` is the whole answer of a `success`.
    async fn admin(&self, mut body: Value) -> Result<Value, JanusError> {
        let request = body["janus"].as_str().unwrap_or("request").to_string();
        body["transaction"] = json!(crate::auth::random::hex(8));
        body["admin_secret"] = json!(self.admin_secret.expose());
        let answer: Value = self
            .http
            .post(self.admin_url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| JanusError::Unreachable(e.without_url().to_string()))?
            .json()
            .await
            .map_err(|e| JanusError::Unreachable(e.without_url().to_string()))?;
        if answer["janus"] == "success" {
            return Ok(answer);
        }
        Err(JanusError::Refused {
            request,
            code: answer["error"]["code"].as_i64().unwrap_or(0),
            reason: answer["error"]["reason"]
                .as_str()
                .unwrap_or("no reason given")
                .to_string(),
        })
    }

    pub async fn ping(&self) -> Result<(), JanusError> {
        self.admin(json!({"janus": "ping"})).await.map(|_| ())
    }

    /// The server's `server_info`.
    pub async fn info(&self) -> Result<Value, JanusError> {
        self.admin(json!({"janus": "info"})).await
    }

    /// Store `token`, good for the VideoRoom plugin only.
    pub async fn add_token(&self, token: &str) -> Result<(), JanusError> {
        let body = json!({"janus": "add_token", "token": token, "plugins": [VIDEOROOM]});
        self.admin(body).await.map(|_| ())
    }

    /// Forget `token`; one Janus does not know is already gone.
    pub async fn remove_token(&self, token: &str) -> Result<(), JanusError> {
        match self
            .admin(json!({"janus": "remove_token", "token": token}))
            .await
        {
            Err(e) if !self.knows_token(token).await.unwrap_or(true) => {
                tracing::debug!(error = %e, "the Janus token was already gone");
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    async fn knows_token(&self, token: &str) -> Result<bool, JanusError> {
        Ok(self.list_tokens().await?.iter().any(|t| t == token))
    }

    pub async fn list_tokens(&self) -> Result<Vec<String>, JanusError> {
        let answer = self.admin(json!({"janus": "list_tokens"})).await?;
        Ok(answer["data"]["tokens"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t["token"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// End a Janus session (its handles and PeerConnections with it).
    pub async fn destroy_session(&self, session_id: u64) -> Result<(), JanusError> {
        let body = json!({"janus": "destroy_session", "session_id": session_id});
        self.admin(body).await.map(|_| ())
    }

    /// A synchronous VideoRoom request; a plugin-level error (`error_code`) is an error too.
    pub async fn videoroom(&self, request: Value) -> Result<Value, JanusError> {
        let name = format!("videoroom {}", request["request"].as_str().unwrap_or("?"));
        let body = json!({"janus": "message_plugin", "plugin": VIDEOROOM, "request": request});
        let answer = self.admin(body).await?;
        let response = answer["response"].clone();
        if let Some(code) = response["error_code"].as_i64() {
            return Err(JanusError::Refused {
                request: name,
                code,
                reason: response["error"].as_str().unwrap_or("").to_string(),
            });
        }
        Ok(response)
    }

    pub async fn create_room(&self, spec: &RoomSpec) -> Result<(), JanusError> {
        let mut request = json!({
            "request": "create", "room": spec.room, "admin_key": self.admin_key.expose(),
            "secret": spec.secret, "description": spec.description, "is_private": true,
            "publishers": spec.publishers, "bitrate": spec.bitrate, "allowed": [],
            "require_pvtid": spec.require_pvtid, "notify_joining": true,
            "audiocodec": "opus", "videocodec": "vp8",
        });
        if let Some(pin) = &spec.pin {
            request["pin"] = json!(pin);
        }
        self.videoroom(request).await.map(|_| ())
    }

    pub async fn exists(&self, room: &str) -> Result<bool, JanusError> {
        let answer = self
            .videoroom(json!({"request": "exists", "room": room}))
            .await?;
        Ok(answer["exists"] == json!(true))
    }

    /// Destroy a room; one that no longer exists is already destroyed.
    pub async fn destroy_room(&self, room: &str, secret: &str) -> Result<(), JanusError> {
        let request = json!({"request": "destroy", "room": room, "secret": secret});
        match self.videoroom(request).await {
            Err(e) if e.code() == Some(NO_SUCH_ROOM) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Add (`true`) or remove tokens of the room's allowed list (who may join it at all).
    pub async fn allowed(
        &self,
        room: &str,
        secret: &str,
        add: bool,
        tokens: &[&str],
    ) -> Result<(), JanusError> {
        let action = if add { "add" } else { "remove" };
        let request = json!({"request": "allowed", "room": room, "secret": secret,
                             "action": action, "allowed": tokens});
        self.videoroom(request).await.map(|_| ())
    }

    /// Kick participant `id` (a publisher's id, meetplane's peer id); one not there is fine.
    pub async fn kick(&self, room: &str, secret: &str, id: &str) -> Result<(), JanusError> {
        let request = json!({"request": "kick", "room": room, "secret": secret, "id": id});
        match self.videoroom(request).await {
            Err(e) if matches!(e.code(), Some(NO_SUCH_USER | NO_SUCH_ROOM)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Mute (`true`) or unmute the stream `mid` a publisher sends (VideoRoom 1.x moderates
    /// per m-line).
    pub async fn moderate(
        &self,
        room: &str,
        secret: &str,
        id: &str,
        mid: &str,
        mute: bool,
    ) -> Result<(), JanusError> {
        let request = json!({"request": "moderate", "room": room, "secret": secret, "id": id,
                             "mid": mid, "mute": mute});
        self.videoroom(request).await.map(|_| ())
    }

    /// Every session's handles, from the Admin API's listings (a session that ended between
    /// the two listings is left out).
    async fn handles_by_session(&self) -> Result<Vec<(u64, Vec<u64>)>, JanusError> {
        let sessions = self.admin(json!({"janus": "list_sessions"})).await?;
        let mut all = Vec::new();
        for session in ids(&sessions, "sessions") {
            match self
                .admin(json!({"janus": "list_handles", "session_id": session}))
                .await
            {
                Ok(handles) => all.push((session, ids(&handles, "handles"))),
                Err(e) if e.code().is_some() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(all)
    }

    /// The ids of every handle Janus holds now.
    pub async fn live_handles(&self) -> Result<HashSet<u64>, JanusError> {
        let all = self.handles_by_session().await?;
        Ok(all.into_iter().flat_map(|(_, handles)| handles).collect())
    }

    /// The streams (`type`, `mid`) the publisher handles of `opaque_id` send, read from the
    /// Admin API's session and handle listings (moderation needs the mids; mutes are rare).
    pub async fn published_streams(
        &self,
        opaque_id: &str,
    ) -> Result<Vec<(String, String)>, JanusError> {
        let mut streams = Vec::new();
        for (session, handles) in self.handles_by_session().await? {
            for handle in handles {
                let request = json!({"janus": "handle_info", "session_id": session,
                                     "handle_id": handle});
                let Ok(info) = self.admin(request).await else {
                    continue;
                };
                let info = &info["info"];
                let mine = info["opaque_id"] == opaque_id
                    && info["plugin_specific"]["type"] == "publisher";
                for s in info["plugin_specific"]["streams"]
                    .as_array()
                    .filter(|_| mine)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(kind), Some(mid)) = (s["type"].as_str(), s["mid"].as_str()) {
                        streams.push((kind.to_string(), mid.to_string()));
                    }
                }
            }
        }
        Ok(streams)
    }

    /// The publisher ids in the room.
    pub async fn participants(&self, room: &str) -> Result<Vec<String>, JanusError> {
        let answer = self
            .videoroom(json!({"request": "listparticipants", "room": room}))
            .await?;
        Ok(answer["participants"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The ids listed under `key` of an Admin API answer.
fn ids(v: &Value, key: &str) -> Vec<u64> {
    v[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}
