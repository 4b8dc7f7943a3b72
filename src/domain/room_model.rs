//! The room model as the domain hands it out: room types and peer roles (the xroom codes),
//! room options, and the views of rooms and peers.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    error::{Error, Result},
    store::entities::peer::{self, PeerState},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomType {
    Conference = 1,
    Webinar = 2,
}

impl RoomType {
    pub fn from_code(code: i64) -> Result<Self> {
        match code {
            1 => Ok(RoomType::Conference),
            2 => Ok(RoomType::Webinar),
            _ => Err(Error::invalid(
                "type",
                "must be 1 (conference) or 2 (webinar)",
            )),
        }
    }
    pub fn code(self) -> i16 {
        self as i16
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    User,
}

/// Peer type codes of the xroom manual (Appendix A).
pub fn peer_type(room_type: RoomType, role: Role) -> i16 {
    match (room_type, role) {
        (RoomType::Conference, Role::Host) => 1,
        (RoomType::Conference, Role::User) => 2,
        (RoomType::Webinar, Role::Host) => 3,
        (RoomType::Webinar, Role::User) => 4,
    }
}

#[derive(Debug, Clone, Default)]
pub struct RoomOptions {
    pub room_type: Option<i64>,
    pub lock: Option<bool>,
    pub password: Option<String>,
    pub add_host_key: bool,
    pub capacity: Option<i64>,
    /// Room-link joins knock and wait to be let in.
    pub lobby: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    pub id: Uuid,
    pub peer_type: i16,
    pub display_name: String,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub left_reason: Option<String>,
    pub state: PeerState,
    pub connected_at: Option<DateTime<Utc>>,
}

impl From<peer::Model> for PeerView {
    fn from(p: peer::Model) -> Self {
        Self {
            id: p.id,
            peer_type: p.peer_type,
            display_name: p.display_name,
            joined_at: p.joined_at,
            left_at: p.left_at,
            left_reason: p.left_reason,
            state: p.state,
            connected_at: p.connected_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    pub id: Uuid,
    pub domain: String,
    pub name: String,
    pub room_type: i16,
    pub is_locked: bool,
    pub lobby: bool,
    pub password: Option<String>,
    pub has_host_key: bool,
    pub capacity: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Sequence number of the room's last event (0: none yet); with `peers`, a snapshot a
    /// consumer that saw a gap can resynchronise from.
    pub seq: i64,
    pub peers: Vec<PeerView>,
}

impl RoomView {
    /// The xroom room id, `domain/name`.
    pub fn full_id(&self) -> String {
        format!("{}/{}", self.domain, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct CreatedRoom {
    pub room: RoomView,
    /// Present when a host key was asked for; shown here only.
    pub host_key: Option<String>,
}

/// A peer admitted to a room, with its bearer token (shown once).
#[derive(Debug, Clone)]
pub struct Admitted {
    pub peer: PeerView,
    pub room: RoomView,
    pub peer_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KickTarget {
    All,
    Peer(Uuid),
}

impl KickTarget {
    /// `all`, or a peer's id, as every surface names whom to remove (`peerId`), trimmed. A
    /// malformed target is the caller's mistake (422), never "no such peer".
    pub fn parse(target: &str) -> Result<Self> {
        match target.trim() {
            "all" => Ok(Self::All),
            id => Uuid::parse_str(id)
                .map(Self::Peer)
                .map_err(|_| Error::invalid("peerId", "must be a peer id or \"all\"")),
        }
    }
}

/// Who is initialising a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An API client of the org.
    Client(Uuid),
    /// Someone opening the room's public link (allowed only where the domain permits).
    PublicLink,
    /// The scheduler, activating this booking.
    Booking(i64),
    /// The chat-bridge API under the configured shared secret.
    ChatBridge,
    /// A dashboard user of the org.
    Admin(Uuid),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kick_names_everyone_or_one_peer_the_same_on_every_surface() {
        let id = Uuid::new_v4();
        assert_eq!(KickTarget::parse("all").ok(), Some(KickTarget::All));
        assert_eq!(
            KickTarget::parse(&format!(" {id}\n")).ok(),
            Some(KickTarget::Peer(id))
        );
        for bad in ["ALL", "someone", ""] {
            match KickTarget::parse(bad) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "peerId"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
