//! The payloads of the events the domain records, shaped as in the xroom manual's Appendix C
//! and built from the domain's own views (`events::payloads` seals their secrets).
use serde_json::{Value, json};

use super::{
    bookings::BookingView,
    chat::MessageView,
    rooms::{PeerView, RoomView},
};

/// `roomCreated`: the room's options, with its password and host key when it has them
/// (webhook receivers are the org's own systems; see `events::payloads::SECRET_FIELDS` for who
/// else sees them).
pub fn room_created(room: &RoomView, host_key: Option<&str>) -> Value {
    let mut r = json!({
        "name": room.name,
        "type": room.room_type,
        "capacity": room.capacity,
        "isLocked": room.is_locked,
    });
    if let Some(password) = &room.password {
        r["password"] = json!(password);
    }
    if let Some(key) = host_key {
        r["hostKey"] = json!(key);
    }
    json!({ "room": r })
}

/// `roomUpdated`: the room's settings as they are now (never its password or host key), so
/// meeting pages learn of a lock without asking.
pub fn room_updated(room: &RoomView) -> Value {
    json!({ "room": {
        "name": room.name,
        "type": room.room_type,
        "capacity": room.capacity,
        "isLocked": room.is_locked,
        "lobby": room.lobby,
        "hasPassword": room.password.is_some(),
    } })
}

pub fn room_removed(name: &str) -> Value {
    json!({ "room": { "name": name } })
}

fn client(peer: &PeerView) -> Value {
    json!({ "id": peer.id, "type": peer.peer_type, "displayName": peer.display_name })
}

pub fn client_added(room: &str, peer: &PeerView) -> Value {
    json!({ "room": { "name": room }, "client": client(peer) })
}

/// `clientWaiting` (a knock in the lobby) and `clientUpdated` (a peer's presence changed):
/// the peer with its state, which the xroom-shaped `client` of `clientAdded` does not carry.
pub fn client_presence(room: &str, peer: &PeerView) -> Value {
    let mut client = client(peer);
    client["state"] = json!(peer.state.as_str());
    client["connectedAt"] = json!(peer.connected_at);
    json!({ "room": { "name": room }, "client": client })
}

pub fn clients_removed(room: &str, peers: &[PeerView], reason: &str) -> Value {
    json!({
        "room": { "name": room },
        "clients": peers.iter().map(client).collect::<Vec<_>>(),
        "reason": reason,
    })
}

/// Booking events: the booking as it is after the change.
pub fn booking(b: &BookingView) -> Value {
    json!({
        "booking": {
            "id": b.id,
            "domain": b.domain,
            "roomName": b.room_name,
            "startTime": b.start_time.to_rfc3339(),
            "endTime": b.end_time.to_rfc3339(),
            "state": b.state,
        }
    })
}

/// Session events: the session id of its links and the room it lives in.
pub fn session(session_id: &str, room: &str) -> Value {
    json!({ "room": { "name": room }, "session": { "id": session_id } })
}

/// `chatMessage`: the message as the chat API shows it.
pub fn chat_message(room: &str, m: &MessageView) -> Value {
    json!({
        "room": { "name": room },
        "message": {
            "id": m.id,
            "sender": { "kind": m.sender_kind, "peerId": m.peer_id, "displayName": m.display_name },
            "text": m.text,
            "createdAt": m.created_at.to_rfc3339(),
        }
    })
}
