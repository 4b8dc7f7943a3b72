//! What the rooms API answers: a room with its peers, and its links.
use chrono::{DateTime, Utc};
use poem_openapi::Object;
use uuid::Uuid;

use super::hal::{Hal, Links, links};
use crate::domain::rooms::{PeerView, RoomView};

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Peer {
    pub id: Uuid,
    /// 1 conference host, 2 conference user, 3 webinar host, 4 webinar viewer.
    #[oai(rename = "type")]
    pub peer_type: i16,
    pub display_name: String,
    pub joined_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub left_at: Option<DateTime<Utc>>,
    /// Why it left: `left`, `kicked`, `room_closed`, `session_ended`, `ended`, `disconnected`,
    /// `never_connected`, `denied` or `withdrawn`.
    #[oai(skip_serializing_if_is_none)]
    pub left_reason: Option<String>,
    /// `waiting` (knocked; in the lobby, holding no seat), `admitted` (let in, not connected
    /// yet), `connected` (its meeting page is open) or `away` (its connection dropped; its
    /// seat is held for the reconnect grace).
    pub state: String,
    /// When it last connected.
    #[oai(nullable)]
    pub connected_at: Option<DateTime<Utc>>,
}

impl From<PeerView> for Peer {
    fn from(p: PeerView) -> Self {
        Self {
            id: p.id,
            peer_type: p.peer_type,
            display_name: p.display_name,
            joined_at: p.joined_at,
            left_at: p.left_at,
            left_reason: p.left_reason,
            state: p.state.as_str().to_string(),
            connected_at: p.connected_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Room {
    /// `domain/name`.
    pub id: String,
    pub domain: String,
    pub name: String,
    /// 1 conference, 2 webinar.
    #[oai(rename = "type")]
    pub room_type: i16,
    pub is_locked: bool,
    /// Joins through the room's link knock and wait for a host.
    pub lobby: bool,
    /// The room password, if one is set (null for dashboard viewers).
    #[oai(nullable)]
    pub key: Option<String>,
    /// Whether a host key exists (it is shown only when created).
    pub has_host_key: bool,
    pub capacity: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Sequence number of the room's last event; with `peers`, the snapshot to resynchronise
    /// from after a gap in the event stream.
    pub seq: i64,
    /// Peers in the room now, oldest first.
    pub peers: Vec<Peer>,
}

impl From<RoomView> for Room {
    fn from(v: RoomView) -> Self {
        Self {
            id: v.full_id(),
            domain: v.domain,
            name: v.name,
            room_type: v.room_type,
            is_locked: v.is_locked,
            lobby: v.lobby,
            key: v.password,
            has_host_key: v.has_host_key,
            capacity: v.capacity,
            created_at: v.created_at,
            updated_at: v.updated_at,
            seq: v.seq,
            peers: v.peers.into_iter().map(Peer::from).collect(),
        }
    }
}

pub fn room_links(org_id: Uuid, domain: &str, name: &str) -> Links {
    let this = format!("/v1/orgs/{org_id}/rooms/{domain}/{name}");
    links([
        ("self", this.clone()),
        ("org", format!("/v1/orgs/{org_id}")),
        ("domain", format!("/v1/orgs/{org_id}/domains/{domain}")),
        ("lock", format!("{this}/lock")),
        ("password", format!("{this}/password")),
        ("kick", format!("{this}/kick")),
        ("peers", format!("{this}/peers")),
        ("join", format!("/v1/rooms/{domain}/{name}/join")),
    ])
}

pub(super) fn resource(org_id: Uuid, v: RoomView) -> Hal<Room> {
    let l = room_links(org_id, &v.domain, &v.name);
    Hal::new(v.into(), l)
}
