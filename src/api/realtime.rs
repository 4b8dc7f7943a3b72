//! `GET /v1/realtime`: a WebSocket carrying events as they happen.
//!
//! Authenticate with `Authorization: Bearer <access token or peer token>` or, where a browser
//! cannot set headers, `?token=`. An API client subscribes with text messages:
//! `{"type":"subscribe","room":"domain/name"}`, `{"type":"subscribe","org":true}` (every event
//! of its org) or `{"type":"subscribe","robotId":7}` (the events of its robot webhooks with id
//! 7, in the webhook body format); `"unsubscribe"` undoes each. A peer is subscribed to its own
//! room, sees no passwords or host keys, and is disconnected after it leaves or is removed.
//! What a socket shows follows `domain::redaction` (a dashboard viewer sees no secrets), and
//! it closes with code 4401 and a reason when its credential ends (`domain::socket_access`).
//!
//! The server sends `{"type":"welcome",…}`, `{"type":"subscribed",…}`,
//! `{"type":"event","eventId","event","domain","room","seq","payload","occurredAt"}`,
//! `{"type":"robot","robotId","webhookId","body":{…}}`, `{"type":"error","code","message"}`, and
//! `{"type":"lagged","missed":n}` when it had to drop events for a slow reader (resynchronise
//! from `GET` of the room, which carries `seq`). Peers also signal each other over it
//! (`realtime_signals`).
use crate::error::Code;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use poem::{
    IntoResponse, Request, handler,
    http::header,
    web::{
        Data, Query,
        websocket::{Message, WebSocket, WebSocketConfig, WebSocketStream},
    },
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::problem::ApiError;
use super::realtime_commands::{Subscriptions, command, error};
use super::realtime_signals::{self as signals, Budget};
use crate::{
    domain::{
        presence,
        redaction::{self, Reader},
        socket_access::{CLOSED_UNAUTHENTICATED, Credential, Ended, Holder, Watch},
    },
    error::Error,
    events::Event,
    state::AppState,
};

#[derive(Debug, Deserialize)]
pub struct RealtimeQuery {
    token: Option<String>,
}

#[handler]
pub async fn realtime(
    req: &Request,
    ws: WebSocket,
    Data(state): Data<&AppState>,
    Query(query): Query<RealtimeQuery>,
) -> poem::Result<impl IntoResponse> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let credential = match bearer.or(query.token) {
        None => Credential::AdminSession(dashboard_cookie(req)?),
        Some(token) if token.starts_with("mppt_") => Credential::PeerToken(token),
        Some(token) => Credential::AccessToken(token),
    };
    let watch = Watch::open(state, credential)
        .await
        .map_err(ApiError::from)?;
    let state = state.clone();
    Ok(ws
        .config(socket_config())
        .on_upgrade(move |socket| run(state, watch, socket)))
}

/// Sockets mostly push; what clients send are short commands. tungstenite's defaults reserve
/// a 128 KiB read buffer per socket (1.3 GB for 10,000 idle sockets) and accept 64 MiB
/// messages; a small buffer (it grows for a rare larger frame) and 64 KiB messages suffice.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

/// A signed-in dashboard user's session cookie. Browsers send cookies with cross-site
/// WebSocket handshakes too, so the page must come from this server (`Origin` names the
/// `Host`).
fn dashboard_cookie(req: &Request) -> poem::Result<String> {
    let refuse = || {
        ApiError::from(Error::unauthenticated(
            Code::Unauthenticated,
            "pass an access token or peer token as Bearer or ?token=, or sign in to the dashboard",
        ))
    };
    let cookie = super::security::session_cookie(req).ok_or_else(refuse)?;
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let same_origin = match (header(header::ORIGIN), header(header::HOST)) {
        (Some(origin), Some(host)) => url::Url::parse(origin)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| (h.to_string(), u.port_or_known_default()))
            })
            .is_some_and(|(h, port)| {
                let expected = match port {
                    Some(p) if p != 80 && p != 443 => format!("{h}:{p}"),
                    _ => h,
                };
                expected.eq_ignore_ascii_case(host)
            }),
        _ => false,
    };
    if !same_origin {
        return Err(ApiError::from(Error::forbidden(
            Code::CrossOriginSocket,
            "a dashboard socket must be opened from a page of this server",
        ))
        .into());
    }
    Ok(cookie)
}

async fn run(state: AppState, mut watch: Watch, socket: WebSocketStream) {
    let _open = state.metrics.realtime_connection();
    let (mut sink, mut stream) = socket.split();
    let mut events = state.bus.subscribe();
    // Signals for a peer are heard from before its welcome, so none sent after it is missed.
    let mut relayed = signals::subscribe(&state, &watch.access().holder);
    let budget = Budget::default();
    let mut subs = Subscriptions::default();
    let access = watch.access().clone();
    // A peer's socket is its presence: recorded now, forgotten when this task ends however
    // it ends (the guard's drop), so the peer is away from then on.
    let (welcome, _presence) = match welcome(&state, &access.holder, access.org_id, &mut subs).await
    {
        Ok(welcomed) => welcomed,
        Err(ended) => {
            let _ = sink
                .send(Message::close_with(ended.code, ended.reason))
                .await;
            return;
        }
    };
    if sink.send(Message::Text(welcome.to_string())).await.is_err() {
        return;
    }
    let ended = loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let reply = command(&state, &access.holder, access.org_id, &budget, &mut subs, &text).await;
                    if let Some(reply) = reply
                        && sink.send(Message::Text(reply.to_string())).await.is_err()
                    {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            received = events.recv() => match received {
                Ok(event) => {
                    let (messages, left) = outgoing(&access.holder, access.org_id, access.reader(), &subs, &event);
                    for m in messages {
                        if sink.send(Message::Text(m.to_string())).await.is_err() {
                            return;
                        }
                    }
                    if let Some(ended) = left {
                        break ended;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    let m = json!({"type": "lagged", "missed": missed});
                    if sink.send(Message::Text(m.to_string())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            signal = signals::next(&mut relayed) => {
                let shown = match signal {
                    Ok(signal) => signals::shown(&access.holder, access.org_id, &signal),
                    Err(RecvError::Lagged(missed)) => Some(error("signals_lost", signals::lost(missed))),
                    Err(RecvError::Closed) => return,
                };
                if let Some(m) = shown
                    && sink.send(Message::Text(m.to_string())).await.is_err()
                {
                    return;
                }
            },
            ended = watch.ended(&state) => break ended,
        }
    };
    let _ = sink
        .send(Message::close_with(ended.code, ended.reason))
        .await;
}

/// The socket's first message; for a peer, also its presence (subscribed to its own room).
async fn welcome(
    state: &AppState,
    holder: &Holder,
    org_id: Uuid,
    subs: &mut Subscriptions,
) -> Result<(Value, Option<Connection>), Ended> {
    let Holder::Peer(p) = holder else {
        return Ok((
            json!({"type": "welcome", "orgId": org_id, "as": "client"}),
            None,
        ));
    };
    subs.rooms.insert(format!("{}/{}", p.domain, p.room));
    let (connection, peer_state) = presence::connected(state, p.peer_id)
        .await
        .map_err(|e| Ended::new(CLOSED_UNAUTHENTICATED, &e.to_string()))?;
    let welcome = json!({"type": "welcome", "orgId": p.org_id, "as": "peer", "peerId": p.peer_id,
           "room": format!("{}/{}", p.domain, p.room), "state": peer_state.as_str()});
    let connection = Connection {
        state: state.clone(),
        id: connection,
    };
    Ok((welcome, Some(connection)))
}

/// A peer's live connection; dropping it records that the socket closed.
struct Connection {
    state: AppState,
    id: Uuid,
}

impl Drop for Connection {
    fn drop(&mut self) {
        let (state, id) = (self.state.clone(), self.id);
        // Outside a runtime (shutting down) the row stays; the node's silence frees it.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            if let Err(e) = presence::disconnected(&state, id).await {
                // The sweeper finds the connection once this node stops beating, or the
                // grace of a later disconnect covers it; log and go on.
                tracing::warn!(error = ?e, "recording a closed peer socket failed");
            }
        });
    }
}

/// Messages for this socket about one event, and why it closes after them, if it does.
fn outgoing(
    holder: &Holder,
    org_id: Uuid,
    reader: Reader,
    subs: &Subscriptions,
    event: &Arc<Event>,
) -> (Vec<Value>, Option<Ended>) {
    if event.org_id != org_id {
        return (Vec::new(), None);
    }
    let mut out = Vec::new();
    let key = event.order_key();
    if subs.org || subs.rooms.contains(&key) {
        out.push(json!({
            "type": "event",
            "eventId": event.id,
            "event": event.kind,
            "domain": event.domain,
            "room": event.room,
            "seq": event.seq,
            "payload": redaction::shown_to(reader, event.payload.clone()),
            "occurredAt": event.created_at,
        }));
    }
    for robot in event
        .robots
        .iter()
        .filter(|r| subs.robots.contains(&r.robot_id))
    {
        out.push(json!({
            "type": "robot",
            "robotId": robot.robot_id,
            "webhookId": robot.webhook_id,
            "body": redaction::webhook_body_shown_to(reader, event.webhook_body(robot.webhook_id)),
        }));
    }
    (out, peer_left(holder, &key, event))
}

/// Whether `event` ends the presence of the peer holding this socket (its peer token then
/// stops working too).
pub(super) fn peer_left(holder: &Holder, key: &str, event: &Event) -> Option<Ended> {
    let Holder::Peer(p) = holder else {
        return None;
    };
    if key != format!("{}/{}", p.domain, p.room) {
        return None;
    }
    if event.kind == "roomRemoved" {
        return Some(Ended::new(CLOSED_UNAUTHENTICATED, "the room was closed"));
    }
    let removed = event.payload["clients"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["id"] == json!(p.peer_id)));
    removed.then(|| {
        let reason = event.payload["reason"].as_str().unwrap_or("removed");
        Ended::new(
            CLOSED_UNAUTHENTICATED,
            &format!("the peer left the room ({reason})"),
        )
    })
}
