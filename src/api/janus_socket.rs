//! `GET /v1/rooms/{domain}/{room}/janus?token=<peer token>`: the meeting page's WebSocket to
//! the Janus SFU (subprotocol `janus-protocol`), so browsers have one origin and never see a
//! Janus secret. meetplane dials Janus's WebSocket API and relays text frames both ways;
//! browser frames pass `domain::janus_frames` first (secrets added, requests held to the
//! peer's seat, others answered with a Janus error frame). The socket closes with 4401 when
//! the peer leaves (left, kicked, denied, the meeting ended) and with 1011 when Janus closes
//! its side (a restart: the page reconnects).
use futures_util::{SinkExt, StreamExt};
use poem::{
    IntoResponse, handler,
    web::{
        Data, Path, Query,
        websocket::{Message, WebSocket, WebSocketStream},
    },
};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream as Upstream, connect_async,
    tungstenite::{self, client::IntoClientRequest},
};

use super::problem::ApiError;
use crate::{
    domain::{
        janus_frames,
        media_rooms::{self, JanusSeat},
        peer_access::PeerSession,
        socket_access::{CLOSED_UNAUTHENTICATED, Holder},
    },
    error::{Code, Error},
    state::AppState,
};

const PROTOCOL: &str = "janus-protocol";
/// Close code when Janus ended its side (WebSocket's "internal error": reconnect).
const CLOSED_UPSTREAM: u16 = 1011;

type JanusStream = Upstream<MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Debug, Deserialize)]
pub struct JanusQuery {
    token: Option<String>,
}

#[handler]
pub async fn janus_socket(
    ws: WebSocket,
    Data(state): Data<&AppState>,
    Path((domain, room)): Path<(String, String)>,
    Query(query): Query<JanusQuery>,
) -> poem::Result<impl IntoResponse> {
    let token = query.token.ok_or_else(|| {
        ApiError::from(Error::unauthenticated(
            Code::InvalidPeerToken,
            "pass the peer token as ?token=",
        ))
    })?;
    let (session, seat) = media_rooms::socket_seat(state, &domain, &room, &token)
        .await
        .map_err(ApiError::from)?;
    let upstream = dial(state).await.map_err(ApiError::from)?;
    let state = state.clone();
    Ok(ws
        .protocols([PROTOCOL])
        .config(super::realtime::socket_config().max_message_size(Some(256 * 1024)))
        .on_upgrade(move |socket| relay(state, session, seat, socket, upstream)))
}

/// Open a WebSocket to Janus with its subprotocol.
async fn dial(state: &AppState) -> Result<JanusStream, Error> {
    let plane = state
        .janus
        .as_ref()
        .ok_or(Error::not_found("media server"))?;
    let unavailable = |e: tungstenite::Error| Error::MediaUnavailable {
        message: format!("cannot reach Janus's WebSocket API: {e}"),
    };
    let mut request = plane
        .ws_url
        .as_str()
        .into_client_request()
        .map_err(unavailable)?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        PROTOCOL.parse().expect("a valid header value"),
    );
    let (stream, _) = connect_async(request).await.map_err(unavailable)?;
    Ok(stream)
}

async fn relay(
    state: AppState,
    session: PeerSession,
    seat: JanusSeat,
    socket: WebSocketStream,
    upstream: JanusStream,
) {
    let (mut sink, mut stream) = socket.split();
    let (mut up_sink, mut up_stream) = upstream.split();
    let mut events = state.bus.subscribe();
    let holder = Holder::Peer(session.clone());
    let room_key = format!("{}/{}", session.domain, session.room);
    let api_secret = match &state.janus {
        Some(plane) => plane.api_secret.expose().to_string(),
        None => return,
    };
    let budget = janus_frames::budget();
    let (code, reason) = loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => match janus_frames::over_budget(&budget, &text)
                    .map_or_else(|| janus_frames::admit(&seat, &api_secret, &text), Err)
                {
                    Ok(frame) => {
                        if up_sink.send(tungstenite::Message::text(frame)).await.is_err() {
                            break (CLOSED_UPSTREAM, "the media server closed the connection".to_string());
                        }
                    }
                    Err(refusal) => {
                        if sink.send(Message::Text(refusal)).await.is_err() {
                            break (1000, String::new());
                        }
                    }
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break (1000, String::new()),
                Some(Ok(_)) => {}
            },
            from_janus = up_stream.next() => match from_janus {
                Some(Ok(tungstenite::Message::Text(text))) => {
                    if sink.send(Message::Text(text.as_str().to_string())).await.is_err() {
                        break (1000, String::new());
                    }
                }
                Some(Ok(tungstenite::Message::Close(_))) | None | Some(Err(_)) => {
                    break (CLOSED_UPSTREAM, "the media server closed the connection".to_string());
                }
                Some(Ok(_)) => {}
            },
            received = events.recv() => match received {
                Ok(event) => {
                    if let Some(ended) = super::realtime::peer_left(&holder, &room_key, &event) {
                        break (ended.code, ended.reason);
                    }
                }
                // Missed events: whether the peer is still here is asked directly.
                Err(RecvError::Lagged(_)) => {
                    if !media_rooms::still_present(&state, session.peer_id).await {
                        break (CLOSED_UNAUTHENTICATED, "the peer left the room".to_string());
                    }
                }
                Err(RecvError::Closed) => break (1001, String::new()),
            },
        }
    };
    // Closing Janus's side ends the peer's Janus session (its handles, its PeerConnections).
    let _ = up_sink.close().await;
    let _ = sink.send(Message::close_with(code, reason)).await;
}
