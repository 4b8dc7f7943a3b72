//! The widget's live channel: a WebSocket that pushes `dialogMessage` events of the user's
//! dialogs as `{"type":"message","dialogId","users","message":{…}}`, and `chatMessage` events
//! of rooms where the user is a peer as `{"type":"roomMessage","room","message":{…}}` (the set
//! of rooms is reloaded when peers come and go in the org). Events come from the
//! node's bus, which carries every node's commits, so both users see a message wherever their
//! sockets are connected. It closes (4401) when the user token expires or the widget's key is
//! rotated or the widget deleted.
use futures_util::{SinkExt, StreamExt};
use poem::web::websocket::{Message, WebSocketStream};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::imbachat::WidgetUser;
use crate::{
    domain::{dialogs, socket_access::Watch, widget_rooms},
    events::{Event, EventKind},
    state::AppState,
};

#[derive(Debug, Deserialize)]
pub struct SocketQuery {
    pub token: Option<String>,
}

pub async fn run(state: AppState, user: WidgetUser, mut watch: Watch, socket: WebSocketStream) {
    let _open = state.metrics.realtime_connection();
    let (mut sink, mut stream) = socket.split();
    let mut events = state.bus.subscribe();
    let welcome = json!({"type": "welcome", "userId": user.user_id, "widgetId": user.widget.id});
    if sink.send(Message::Text(welcome.to_string())).await.is_err() {
        return;
    }
    let mut rooms = widget_rooms::LiveRooms::load(&state, &user.widget, &user.user_id)
        .await
        .unwrap_or_default();
    loop {
        let out = tokio::select! {
            incoming = stream.next() => match incoming {
                // The widget only listens; pings are answered by the server.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
            ended = watch.ended(&state) => {
                let _ = sink.send(Message::close_with(ended.code, ended.reason)).await;
                break;
            }
            received = events.recv() => match received {
                Ok(event) => on_event(&state, &user, &mut rooms, &event).await,
                Err(RecvError::Lagged(missed)) => {
                    Some(on_lagged(&state, &user, &mut rooms, missed).await)
                }
                Err(RecvError::Closed) => break,
            },
        };
        if let Some(out) = out
            && sink.send(Message::Text(out.to_string())).await.is_err()
        {
            break;
        }
    }
}

/// What the widget is sent for an event: a message of a room it is in, or of its dialogs.
async fn on_event(
    state: &AppState,
    user: &WidgetUser,
    rooms: &mut widget_rooms::LiveRooms,
    event: &Event,
) -> Option<Value> {
    if event.org_id != user.widget.org_id {
        return None;
    }
    if let Err(e) = rooms
        .follow(state, &user.widget, &user.user_id, event)
        .await
    {
        tracing::warn!(error = %e, "widget socket could not update its rooms");
    }
    let kind = event.kind.as_str();
    if kind == EventKind::ChatMessage.as_str() && rooms.contains(&event.order_key()) {
        let m = &event.payload["message"];
        return Some(json!({
            "type": "roomMessage",
            "room": event.order_key(),
            "message": {
                "id": m["id"],
                "room": event.order_key(),
                "peerId": m["sender"]["peerId"],
                "fromName": m["sender"]["displayName"],
                "text": m["text"],
                "createdAt": m["createdAt"],
            },
        }));
    }
    if kind != EventKind::DialogMessage.as_str()
        || !dialogs::event_is_for(&event.payload, &user.widget.id, &user.user_id)
    {
        return None;
    }
    Some(json!({
        "type": "message",
        "dialogId": event.payload["dialogId"],
        "users": event.payload["users"],
        "message": event.payload["message"],
    }))
}

/// Missed events may have added or removed the user's rooms: reload them. The widget is
/// told, and reloads its dialogs to catch up.
async fn on_lagged(
    state: &AppState,
    user: &WidgetUser,
    rooms: &mut widget_rooms::LiveRooms,
    missed: u64,
) -> Value {
    let fresh = widget_rooms::LiveRooms::load(state, &user.widget, &user.user_id);
    if let Ok(fresh) = fresh.await {
        *rooms = fresh;
    }
    json!({"type": "lagged", "missed": missed})
}
