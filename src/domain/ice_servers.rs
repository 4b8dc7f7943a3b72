//! What a peer's browser needs to set up media: the ICE servers (STUN, and TURN with
//! credentials minted for this peer), and whether the room is small enough for the browser
//! mesh. No servers are configured by default: peers then use host candidates only, and no
//! traffic goes to any STUN server unless an operator names one.
use chrono::{DateTime, TimeDelta, Utc};

use super::signalling;
use crate::{auth::turn_credential, config::is_turn_url, error::Result, state::AppState, store};

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
    /// More peers are present than the mesh serves.
    SfuRequired,
}

#[derive(Debug, Clone)]
pub struct MediaSetup {
    pub ice_servers: Vec<IceServer>,
    /// When the TURN credentials stop working (`None`: no TURN servers).
    pub expires_at: Option<DateTime<Utc>>,
    pub mesh_max_peers: u32,
    pub mode: MediaMode,
}

/// The media set-up for the peer holding `token` in the room `domain/name`.
pub async fn for_peer(
    state: &AppState,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<MediaSetup> {
    let (_, room, peer) =
        super::peer_access::present_in(&state.db, domain_name, name, token).await?;
    signalling::check_participant(&peer)?;
    let present = store::media::present_count(&state.db, room.id).await?;
    let media = &state.config.media;
    let (ice_servers, expires_at) = servers(state, &peer.id.to_string());
    Ok(MediaSetup {
        ice_servers,
        expires_at,
        mesh_max_peers: media.mesh_max_peers,
        mode: if present > u64::from(media.mesh_max_peers) {
            MediaMode::SfuRequired
        } else {
            MediaMode::Mesh
        },
    })
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
