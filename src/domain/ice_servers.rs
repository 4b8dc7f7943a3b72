//! What a peer's browser needs to set up media: the ICE servers (STUN, and TURN with
//! credentials minted for this peer), and whether the room is small enough for the browser
//! mesh. No servers are configured by default: peers then use host candidates only, and no
//! traffic goes to any STUN server unless an operator names one.
use chrono::{DateTime, TimeDelta, Utc};

use super::{
    media_rooms::{self, JanusRole},
    signalling,
};
use crate::{
    auth::turn_credential,
    config::is_turn_url,
    error::{Error, Result},
    state::AppState,
    store,
};

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    pub urls: Vec<String>,
    /// For TURN servers: `"<unix expiry>:<peerId>"` and the password minted for it.
    pub credential: Option<turn_credential::TurnCredential>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaMode {
    /// Each browser sends to every other (small rooms).
    Mesh,
    /// Through the Janus SFU.
    Sfu,
    /// More peers are present than the mesh serves, and no SFU answers.
    SfuRequired,
}

/// Where the peer's media goes on Janus (the secrets stay on the server).
#[derive(Debug, Clone)]
pub struct JanusView {
    pub domain: String,
    pub room_name: String,
    pub room: String,
    pub role: JanusRole,
    pub feed_id: String,
}

#[derive(Debug, Clone)]
pub struct MediaSetup {
    pub ice_servers: Vec<IceServer>,
    /// When the TURN credentials stop working (`None`: no TURN servers).
    pub expires_at: Option<DateTime<Utc>>,
    pub mesh_max_peers: u32,
    pub mode: MediaMode,
    pub janus: Option<JanusView>,
    /// Janus is configured but does not answer.
    pub sfu_unavailable: bool,
}

/// The media set-up for the peer holding `token` in the room `domain/name`.
pub async fn for_peer(
    state: &AppState,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<MediaSetup> {
    let (domain, room, peer) =
        super::peer_access::present_in(&state.db, domain_name, name, token).await?;
    signalling::check_participant(&peer)?;
    let media = &state.config.media;
    let (ice_servers, expires_at) = servers(state, &peer.id.to_string());
    let mut setup = MediaSetup {
        ice_servers,
        expires_at,
        mesh_max_peers: media.mesh_max_peers,
        mode: MediaMode::Mesh,
        janus: None,
        sfu_unavailable: false,
    };
    if state.janus.is_some() {
        match media_rooms::seat(state, &room, &peer).await {
            Ok(seat) => {
                setup.mode = MediaMode::Sfu;
                setup.janus = Some(JanusView {
                    domain: domain.name,
                    room_name: room.name,
                    room: seat.room,
                    role: seat.role,
                    feed_id: peer.id.to_string(),
                });
                return Ok(setup);
            }
            // Without the SFU a small room still meets browser to browser.
            Err(Error::MediaUnavailable { .. }) => setup.sfu_unavailable = true,
            Err(e) => return Err(e),
        }
    }
    let present = store::media::present_count(&state.db, room.id).await?;
    if present > u64::from(media.mesh_max_peers) {
        setup.mode = MediaMode::SfuRequired;
    }
    Ok(setup)
}

/// The configured servers: the STUN URLs as one entry, the TURN URLs as another with the
/// credential of `peer_id`, and when that credential expires.
fn servers(state: &AppState, peer_id: &str) -> (Vec<IceServer>, Option<DateTime<Utc>>) {
    let media = &state.config.media;
    let (turn, stun): (Vec<String>, Vec<String>) = media
        .ice_servers
        .iter()
        .cloned()
        .partition(|u| is_turn_url(u));
    let mut out = Vec::new();
    if !stun.is_empty() {
        out.push(IceServer {
            urls: stun,
            credential: None,
        });
    }
    let mut expires_at = None;
    if let (false, Some(secret)) = (turn.is_empty(), &media.turn_secret) {
        let ttl = TimeDelta::from_std(media.turn_ttl).unwrap_or(TimeDelta::days(1));
        // Whole seconds, as the username carries them.
        let expiry = (state.now() + ttl).timestamp();
        expires_at = DateTime::from_timestamp(expiry, 0);
        out.push(IceServer {
            urls: turn,
            credential: Some(turn_credential::mint(secret.expose(), expiry, peer_id)),
        });
    }
    (out, expires_at)
}
