//! What a realtime socket's client may send: subscriptions to rooms, the org or robot
//! webhooks' events, and (from a peer) signals, each answered on the socket.
use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::realtime_signals::{self as signals, Budget};
use crate::{
    domain::{domains, socket_access::Holder},
    state::AppState,
};

/// What a socket has subscribed to.
#[derive(Default)]
pub(super) struct Subscriptions {
    pub(super) org: bool,
    pub(super) rooms: HashSet<String>,
    pub(super) robots: HashSet<i64>,
}

/// The socket's error message.
pub(super) fn error(code: &str, message: impl Into<String>) -> Value {
    json!({"type": "error", "code": code, "message": message.into()})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Command {
    #[serde(rename = "type")]
    kind: String,
    room: Option<String>,
    #[serde(default)]
    org: bool,
    robot_id: Option<i64>,
    /// A signal's recipient and payload.
    to: Option<String>,
    data: Option<Value>,
}

/// The answer to one message from the socket, if it gets one.
pub(super) async fn command(
    state: &AppState,
    holder: &Holder,
    org_id: Uuid,
    budget: &Budget,
    subs: &mut Subscriptions,
    text: &str,
) -> Option<Value> {
    let Ok(cmd) = serde_json::from_str::<Command>(text) else {
        return Some(error(
            "malformed_message",
            "expected {\"type\": \"subscribe\", …} as JSON",
        ));
    };
    if let Some(field) = super::body::nul_field(text.as_bytes()) {
        return Some(error(
            "invalid_message",
            format!("{field} must not contain the NUL character (U+0000)"),
        ));
    }
    let subscribe = match cmd.kind.as_str() {
        "subscribe" => true,
        "unsubscribe" => false,
        "signal" => {
            let refused = signals::relay(state, holder, budget, cmd.to, cmd.data).await;
            return refused.map(|(code, message)| error(&code, message));
        }
        other => return Some(error("unknown_message", format!("unknown type {other:?}"))),
    };
    Some(subscription(state, holder, org_id, subs, cmd, subscribe).await)
}

async fn subscription(
    state: &AppState,
    holder: &Holder,
    org_id: Uuid,
    subs: &mut Subscriptions,
    cmd: Command,
    subscribe: bool,
) -> Value {
    if matches!(holder, Holder::Peer(_) | Holder::WidgetUser { .. }) {
        return error("forbidden", "a peer is subscribed to its own room only");
    }
    if let Some(room) = cmd.room {
        let Some((domain, name)) = room.split_once('/') else {
            return error("invalid_room", "room must be domain/name");
        };
        let domain = match domains::find_model(&state.db, org_id, domain).await {
            Ok(d) => d.name,
            Err(_) => return error("domain_not_found", "no such domain in this organisation"),
        };
        let key = format!("{domain}/{name}");
        if subscribe {
            subs.rooms.insert(key.clone());
        } else {
            subs.rooms.remove(&key);
        }
        return json!({"type": if subscribe {"subscribed"} else {"unsubscribed"}, "room": key});
    }
    if let Some(robot) = cmd.robot_id {
        if subscribe {
            subs.robots.insert(robot);
        } else {
            subs.robots.remove(&robot);
        }
        return json!({"type": if subscribe {"subscribed"} else {"unsubscribed"}, "robotId": robot});
    }
    if cmd.org {
        subs.org = subscribe;
        return json!({"type": if subscribe {"subscribed"} else {"unsubscribed"}, "org": true});
    }
    error(
        "invalid_subscription",
        "name a room, org: true or a robotId",
    )
}
