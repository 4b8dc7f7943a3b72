//! The widget's live channel: a WebSocket that pushes `dialogMessage` events of the user's
//! dialogs as `{"type":"message","dialogId","users","message":{…}}`. Events come from the
//! node's bus, which carries every node's commits, so both users see a message wherever their
//! sockets are connected.
use futures_util::{SinkExt, StreamExt};
use poem::web::websocket::{Message, WebSocketStream};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::imbachat::WidgetUser;
use crate::{domain::dialogs, events::EventKind, state::AppState};

#[derive(Debug, Deserialize)]
pub struct SocketQuery {
    pub token: Option<String>,
}

pub async fn run(state: AppState, user: WidgetUser, socket: WebSocketStream) {
    let (mut sink, mut stream) = socket.split();
    let mut events = state.bus.subscribe();
    let welcome = json!({"type": "welcome", "userId": user.user_id, "widgetId": user.widget.id});
    if sink.send(Message::Text(welcome.to_string())).await.is_err() {
        return;
    }
    let kind = EventKind::DialogMessage.as_str();
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                // The widget only listens; pings are answered by the server.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            received = events.recv() => match received {
                Ok(event) => {
                    if event.kind != kind
                        || event.org_id != user.widget.org_id
                        || !dialogs::event_is_for(&event.payload, &user.widget.id, &user.user_id)
                    {
                        continue;
                    }
                    let m = json!({
                        "type": "message",
                        "dialogId": event.payload["dialogId"],
                        "users": event.payload["users"],
                        "message": event.payload["message"],
                    });
                    if sink.send(Message::Text(m.to_string())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    // The widget reloads its dialogs to catch up.
                    let m = json!({"type": "lagged", "missed": missed});
                    if sink.send(Message::Text(m.to_string())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            },
        }
    }
}
