//! Presence from Janus's events. Janus's sample event handler posts batches of events; a
//! handle's `opaque_id` is the peer's id (the Janus socket forces it on attach). A handle's
//! PeerConnection coming up (`webrtcup`) is a live connection of the peer, recorded under
//! [`presence::JANUS_NODE`]; its `hangup`, or the handle's `detached` (also when its session
//! ends), closes it, and the presence rules (grace, seat lapse) take it from there.
use serde_json::Value;
use uuid::Uuid;

use super::presence::{self, JANUS_NODE};
use crate::{error::Result, state::AppState};

/// Janus event types: handle (attached, detached) and WebRTC state.
const HANDLE: u64 = 2;
const WEBRTC: u64 = 16;
/// The WebRTC subtype of PeerConnection state (`webrtcup`, `hangup`).
const CONNECTION: u64 = 6;

/// Marks the connection ids made from Janus handles.
const HANDLE_PREFIX: u64 = 0x6a61_6e75_7300_0000;

/// The connection id of a Janus handle's PeerConnection: the same for every event of it.
pub fn connection_id(handle_id: u64) -> Uuid {
    Uuid::from_u64_pair(HANDLE_PREFIX, handle_id)
}

/// The Janus handle a connection id was made from, if it was.
pub fn handle_of(connection_id: Uuid) -> Option<u64> {
    let (prefix, handle_id) = connection_id.as_u64_pair();
    (prefix == HANDLE_PREFIX).then_some(handle_id)
}

#[derive(Debug, PartialEq, Eq)]
enum Change {
    Up { peer_id: Uuid, handle_id: u64 },
    Down { handle_id: u64 },
}

fn change_of(event: &Value) -> Option<Change> {
    let handle_id = event["handle_id"].as_u64()?;
    let body = &event["event"];
    match event["type"].as_u64()? {
        WEBRTC => {
            let subtype = event["subtype"].as_u64().or(body["subtype"].as_u64());
            if subtype != Some(CONNECTION) {
                return None;
            }
            match body["connection"].as_str()? {
                "webrtcup" => {
                    let opaque = event["opaque_id"].as_str().or(body["opaque_id"].as_str())?;
                    let peer_id = Uuid::parse_str(opaque).ok()?;
                    Some(Change::Up { peer_id, handle_id })
                }
                "hangup" => Some(Change::Down { handle_id }),
                _ => None,
            }
        }
        HANDLE if body["name"] == "detached" => Some(Change::Down { handle_id }),
        _ => None,
    }
}

/// Apply a post of Janus's event handler (one event or a batch). Returns how many events
/// changed a peer's connections. Events of peers that left are ignored.
pub async fn apply(state: &AppState, post: &Value) -> Result<usize> {
    let events: Vec<&Value> = match post {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let mut applied = 0;
    for change in events.into_iter().filter_map(change_of) {
        match change {
            Change::Up { peer_id, handle_id } => {
                let id = connection_id(handle_id);
                match presence::connected_as(state, peer_id, id, JANUS_NODE).await {
                    Ok(_) => applied += 1,
                    Err(crate::error::Error::Unauthenticated { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Change::Down { handle_id } => {
                presence::disconnected(state, connection_id(handle_id)).await?;
                applied += 1;
            }
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn webrtcup_names_the_peer_and_hangup_or_detach_ends_it() {
        let peer = Uuid::new_v4();
        let up = json!({"type": 16, "subtype": 6, "handle_id": 7, "opaque_id": peer.to_string(),
                        "event": {"connection": "webrtcup"}});
        assert_eq!(
            change_of(&up),
            Some(Change::Up {
                peer_id: peer,
                handle_id: 7
            })
        );
        let hangup = json!({"type": 16, "subtype": 6, "handle_id": 7,
                            "event": {"connection": "hangup", "reason": "DTLS alert"}});
        assert_eq!(change_of(&hangup), Some(Change::Down { handle_id: 7 }));
        let detached = json!({"type": 2, "handle_id": 7, "event": {"name": "detached"}});
        assert_eq!(change_of(&detached), Some(Change::Down { handle_id: 7 }));
        for other in [
            json!({"type": 16, "subtype": 1, "handle_id": 7, "event": {"ice": "connected"}}),
            json!({"type": 2, "handle_id": 7, "event": {"name": "attached"}}),
            json!({"type": 1, "session_id": 3, "event": {"name": "created"}}),
            json!({"type": 16, "subtype": 6, "handle_id": 7, "opaque_id": "not-a-peer",
                   "event": {"connection": "webrtcup"}}),
        ] {
            assert_eq!(change_of(&other), None, "{other}");
        }
        assert_ne!(connection_id(7), connection_id(8));
        assert_eq!(handle_of(connection_id(7)), Some(7));
        assert_eq!(handle_of(Uuid::new_v4()), None);
    }
}
