//! What a peer token grants: the peer's own room as it may see it, its socket, and, for a
//! host, the room's controls (admitting knocks, kicking, locking, ending the meeting). A
//! waiting peer (in the lobby) sees the room and holds a socket, nothing more.
use crate::error::Code;
use uuid::Uuid;

use super::{
    audit::{AuditActor, By},
    domains,
    redaction::{self, Reader},
    room_model::{PeerView, RoomView},
    rooms::view_with_peers,
};
use crate::{
    auth::random,
    error::{Error, Result},
    state::AppState,
    store::{
        self,
        entities::{domain, peer, peer::PeerState, room},
    },
};

fn unknown() -> Error {
    Error::unauthenticated(
        Code::InvalidPeerToken,
        "the peer token is unknown or has left",
    )
}

fn elsewhere() -> Error {
    Error::forbidden(
        Code::PeerNotInRoom,
        "the peer token belongs to another room",
    )
}

/// Whether a peer type is a host's (conference host 1, webinar host 3).
pub fn is_host(peer_type: i16) -> bool {
    matches!(peer_type, 1 | 3)
}

/// A present peer, identified by its token (for the realtime socket).
#[derive(Debug, Clone)]
pub struct PeerSession {
    pub peer_id: Uuid,
    pub org_id: Uuid,
    pub domain: String,
    pub room: String,
    pub state: PeerState,
}

pub async fn authenticate(state: &AppState, token: &str) -> Result<PeerSession> {
    let (peer, room) = store::peers::find_active_by_token(&state.db, &random::digest(token))
        .await?
        .ok_or_else(unknown)?;
    let domain = store::domains::find_by_id(&state.db, room.domain_id)
        .await?
        .ok_or_else(unknown)?;
    Ok(PeerSession {
        peer_id: peer.id,
        org_id: domain.org_id,
        domain: domain.name,
        room: room.name,
        state: peer.state,
    })
}

/// The present peer holding `token`, which must be in the room `domain_name/name`, with its
/// domain and room (not locked).
pub(super) async fn present_in(
    db: &impl store::Conn,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<(domain::Model, room::Model, peer::Model)> {
    let (peer, room) = store::peers::find_active_by_token(db, &random::digest(token))
        .await?
        .ok_or_else(unknown)?;
    let domain = store::domains::find_by_id(db, room.domain_id)
        .await?
        .filter(|d| d.name == domains::canonical_name(domain_name) && room.name == name)
        .ok_or_else(elsewhere)?;
    Ok((domain, room, peer))
}

/// Refuse a peer still waiting in the lobby.
pub(super) fn admitted_only(peer: &peer::Model) -> Result<()> {
    if peer.state == PeerState::Waiting {
        return Err(Error::forbidden(
            Code::PeerWaiting,
            "the peer is waiting in the lobby until a host lets it in",
        ));
    }
    Ok(())
}

/// The room as one of its peers sees it.
#[derive(Debug, Clone)]
pub struct PeerRoom {
    /// Without password or host key.
    pub room: RoomView,
    /// Where this peer goes after the call (its session link's `rtn`).
    pub return_url: Option<String>,
    /// The peer itself.
    pub you: PeerView,
    /// Whether a host holds a seat (so a waiting guest knows someone may let it in).
    pub host_present: bool,
}

/// The room as the peer holding `token` sees it.
pub async fn room_for_peer(
    state: &AppState,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<PeerRoom> {
    let (domain, room, peer) = present_in(&state.db, domain_name, name, token).await?;
    let view = view_with_peers(&state.db, &state.sealer, &domain.name, room).await?;
    let host_present = view
        .peers
        .iter()
        .any(|p| is_host(p.peer_type) && p.state.holds_seat());
    Ok(PeerRoom {
        room: redaction::shown_to(Reader::Peer, view),
        return_url: peer.return_url.clone(),
        you: PeerView::from(peer),
        host_present,
    })
}

/// The host peer holding `token` in `domain_name/name`, as the one who acts (for the audit
/// log and the room's controls). Refused for guests, viewers and waiting peers.
pub async fn acting_host(
    state: &AppState,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<By> {
    let (domain, _, peer) = present_in(&state.db, domain_name, name, token).await?;
    admitted_only(&peer)?;
    if !is_host(peer.peer_type) {
        return Err(Error::forbidden(
            Code::HostRequired,
            "only a host of the room may do this",
        ));
    }
    Ok(By {
        org_id: domain.org_id,
        actor: AuditActor {
            kind: "host",
            id: peer.id.to_string(),
            name: Some(peer.display_name),
            source_ip: None,
        },
        via: None,
    })
}
