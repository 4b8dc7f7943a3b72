//! The Janus socket against a real Janus: the ICE servers name the Janus room, a publisher's
//! join is held to its room and peer id, a webinar viewer's publisher join is refused by Janus
//! (433), foreign requests are refused by meetplane (403), and a kick closes the socket (4401)
//! and removes the peer's Janus token.
use std::{sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use meetplane::{
    clock::SystemClock,
    config::{JanusConfig, SecretString},
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest},
};

use crate::{
    helpers::{TestApp, read},
    janus::{
        ADMIN_KEY, ADMIN_SECRET, API_SECRET, EVENTS_SECRET, JanusPorts, JanusProcess,
        janus_installed,
    },
};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A meetplane driving the Janus on `ports`.
pub async fn app_with_janus(ports: &JanusPorts) -> TestApp {
    let ports = ports.clone();
    TestApp::spawn_configured(Arc::new(SystemClock), move |c| {
        c.janus = Some(JanusConfig {
            ws_url: ports.ws_url().parse().unwrap(),
            admin_url: ports.admin_url().parse().unwrap(),
            api_secret: SecretString::new(API_SECRET),
            admin_secret: SecretString::new(ADMIN_SECRET),
            admin_key: SecretString::new(ADMIN_KEY),
            events_secret: SecretString::new(EVENTS_SECRET),
        });
    })
    .await
}

/// Join `localhost/{room}`; returns (peer id, peer token).
async fn join(app: &TestApp, room: &str, body: Value) -> (String, String) {
    let (status, b) = app.join(&format!("localhost/{room}"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    (
        b["content"]["peer"]["id"].as_str().unwrap().to_string(),
        b["content"]["peerToken"].as_str().unwrap().to_string(),
    )
}

async fn ice(app: &TestApp, room: &str, token: &str) -> Value {
    let (status, body) = read(
        app.request(
            Method::GET,
            &format!("/v1/rooms/localhost/{room}/ice-servers"),
        )
        .bearer_auth(token)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub async fn open(app: &TestApp, path: &str, token: &str) -> Socket {
    let url = format!("{}{path}?token={token}", app.address.replace("http", "ws"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "janus-protocol".parse().unwrap());
    let (socket, response) = connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "janus-protocol"
    );
    socket
}

async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).await.unwrap();
}

/// The next frame that is not an `ack`.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("the socket is open")
            .unwrap();
        match frame {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["janus"] != "ack" {
                    return v;
                }
            }
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

/// create + attach; returns (session id, handle id).
async fn attach(socket: &mut Socket) -> (u64, u64) {
    send(socket, json!({"janus": "create", "transaction": "c"})).await;
    let created = next(socket).await;
    assert_eq!(created["janus"], "success", "{created}");
    let session = created["data"]["id"].as_u64().unwrap();
    send(
        socket,
        json!({"janus": "attach", "session_id": session, "plugin": "janus.plugin.videoroom",
               "opaque_id": "not-mine", "transaction": "a"}),
    )
    .await;
    let attached = next(socket).await;
    assert_eq!(attached["janus"], "success", "{attached}");
    (session, attached["data"]["id"].as_u64().unwrap())
}

async fn join_as_publisher(socket: &mut Socket, session: u64, handle: u64) -> Value {
    send(
        socket,
        json!({"janus": "message", "session_id": session, "handle_id": handle,
               "transaction": "j", "body": {"request": "join", "ptype": "publisher",
               "room": "someone-elses", "id": "chosen-id", "display": "Mallory"}}),
    )
    .await;
    next(socket).await
}

#[tokio::test]
async fn the_janus_socket_holds_peers_to_their_seat() {
    if !janus_installed("the Janus socket test") {
        return;
    }
    let ports = JanusPorts::pick();
    let app = app_with_janus(&ports).await;
    let janus = JanusProcess::start_on(ports, &app.url("/internal/janus/events")).await;
    let t = app.token().await;
    let created = app
        .create_room(
            &t,
            json!({"domain": "localhost", "name": "web", "type": 2, "addHostKey": true}),
        )
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap();
    let (host_id, host) = join(
        &app,
        "web",
        json!({"displayName": "Hana", "hostKey": host_key}),
    )
    .await;
    let (viewer_id, viewer) = join(&app, "web", json!({"displayName": "Vic"})).await;

    let setup = ice(&app, "web", &host).await;
    assert_eq!(setup["mode"], "sfu", "{setup}");
    assert_eq!(setup["sfuUnavailable"], false, "{setup}");
    let room = setup["janus"]["room"].as_str().unwrap().to_string();
    assert_eq!(
        setup["janus"],
        json!({"room": room, "role": "publisher", "socketPath": "/v1/rooms/localhost/web/janus",
               "feedId": host_id})
    );
    let viewer_setup = ice(&app, "web", &viewer).await;
    assert_eq!(
        viewer_setup["janus"]["role"], "subscriber",
        "{viewer_setup}"
    );
    assert_eq!(janus.tokens().await.len(), 2, "a token per peer");

    // The host's join lands in its own room under its peer id and name.
    let mut host_socket = open(&app, "/v1/rooms/localhost/web/janus", &host).await;
    let (session, handle) = attach(&mut host_socket).await;
    let joined = join_as_publisher(&mut host_socket, session, handle).await;
    let data = &joined["plugindata"]["data"];
    assert_eq!(data["videoroom"], "joined", "{joined}");
    assert_eq!(data["room"], room.as_str(), "{joined}");
    assert_eq!(data["id"], host_id.as_str(), "{joined}");

    // A viewer may not publish: Janus refuses (its token is not on the allowed list).
    let mut viewer_socket = open(&app, "/v1/rooms/localhost/web/janus", &viewer).await;
    let (session, handle) = attach(&mut viewer_socket).await;
    let refused = join_as_publisher(&mut viewer_socket, session, handle).await;
    assert_eq!(
        refused["plugindata"]["data"]["error_code"], 433,
        "{refused}"
    );
    // Requests outside a participant's own are refused by meetplane, not forwarded.
    for frame in [
        json!({"janus": "info", "transaction": "i"}),
        json!({"janus": "message", "session_id": session, "handle_id": handle,
               "transaction": "i", "body": {"request": "kick", "room": room, "id": host_id}}),
    ] {
        send(&mut viewer_socket, frame.clone()).await;
        let answer = next(&mut viewer_socket).await;
        assert_eq!(answer["janus"], "error", "{frame} → {answer}");
        assert_eq!(answer["error"]["code"], 403, "{answer}");
        assert_eq!(answer["transaction"], "i", "{answer}");
    }

    // Muting needs a host (or the org) and a stream to mute: the host joined but sends none.
    let mute = |token: &str, peer: &str| {
        app.request(
            Method::POST,
            &format!("/v1/rooms/localhost/web/peers/{peer}/mute"),
        )
        .bearer_auth(token.to_string())
        .json(&json!({"kind": "audio", "muted": true}))
        .send()
    };
    let (status, body) = read(mute(&viewer, &host_id).await.unwrap()).await;
    crate::helpers::assert_problem(status, &body, StatusCode::FORBIDDEN, "host_required");
    let (status, body) = read(mute(&host, &host_id).await.unwrap()).await;
    crate::helpers::assert_problem(status, &body, StatusCode::CONFLICT, "not_publishing");
    let (status, body) = app
        .call(
            &t,
            Method::POST,
            &app.org_path(&format!("/rooms/localhost/web/peers/{host_id}/mute")),
            Some(json!({"kind": "video", "muted": false})),
        )
        .await;
    crate::helpers::assert_problem(status, &body, StatusCode::CONFLICT, "not_publishing");

    // A kick closes the viewer's socket and Janus forgets its token.
    let (status, body) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/web/kick"),
            Some(json!({"peerId": viewer_id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let closed = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), viewer_socket.next())
            .await
            .expect("closed within 10 s");
        match frame {
            Some(Ok(Message::Close(Some(c)))) => break c,
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(u16::from(closed.code), 4401, "{closed:?}");
    meetplane::domain::media_sweep::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(janus.tokens().await.len(), 1, "the viewer's token is gone");
    let participants = janus
        .admin(
            json!({"janus": "message_plugin", "plugin": "janus.plugin.videoroom",
                       "request": {"request": "listparticipants", "room": room}}),
        )
        .await;
    let ids: Vec<&str> = participants["response"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [host_id.as_str()], "{participants}");
    // The kicked link cannot open the socket again.
    let url = format!(
        "{}/v1/rooms/localhost/web/janus?token={viewer}",
        app.address.replace("http", "ws")
    );
    assert!(connect_async(url).await.is_err());

    // Ending the meeting closes the host's socket, and Janus loses the room and the last token.
    let (status, body) = read(
        app.request(Method::POST, "/v1/rooms/localhost/web/end")
            .bearer_auth(&host)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), host_socket.next())
            .await
            .expect("closed within 10 s")
        {
            Some(Ok(Message::Close(Some(c)))) => break c,
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(u16::from(closed.code), 4401, "{closed:?}");
    meetplane::domain::media_sweep::run_once(&app.state)
        .await
        .unwrap();
    assert!(janus.tokens().await.is_empty());
    let exists = janus
        .admin(
            json!({"janus": "message_plugin", "plugin": "janus.plugin.videoroom",
                       "request": {"request": "exists", "room": room}}),
        )
        .await;
    assert_eq!(exists["response"]["exists"], false, "{exists}");
}

#[tokio::test]
async fn after_a_janus_restart_rooms_and_tokens_are_provisioned_again() {
    if !janus_installed("the Janus restart test") {
        return;
    }
    let ports = JanusPorts::pick();
    let app = app_with_janus(&ports).await;
    let mut janus = JanusProcess::start_on(ports, &app.url("/internal/janus/events")).await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "conf"}))
        .await;
    let (_, a) = join(&app, "conf", json!({"displayName": "A"})).await;
    let (_, b) = join(&app, "conf", json!({"displayName": "B"})).await;
    let room = ice(&app, "conf", &a).await["janus"]["room"]
        .as_str()
        .unwrap()
        .to_string();
    ice(&app, "conf", &b).await;
    let mut socket = open(&app, "/v1/rooms/localhost/conf/janus", &a).await;
    attach(&mut socket).await;

    janus.restart().await;
    assert!(janus.tokens().await.is_empty(), "Janus forgot everything");
    // The relay closes the page's socket (not with 4401: the page reconnects).
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("closed within 10 s")
        {
            Some(Ok(Message::Close(c))) => break c.map(|c| u16::from(c.code)),
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => break None,
        }
    };
    assert_ne!(closed, Some(4401));
    meetplane::domain::media_sweep::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(janus.tokens().await.len(), 2, "both peers' tokens are back");
    let exists = janus
        .admin(
            json!({"janus": "message_plugin", "plugin": "janus.plugin.videoroom",
                       "request": {"request": "exists", "room": room}}),
        )
        .await;
    assert_eq!(exists["response"]["exists"], true, "{exists}");
    // And the page's new socket works.
    let mut socket = open(&app, "/v1/rooms/localhost/conf/janus", &a).await;
    attach(&mut socket).await;
}

/// Post `events` as Janus's event handler would, with `password`.
async fn post_events(app: &TestApp, password: &str, events: Value) -> StatusCode {
    app.request(Method::POST, "/internal/janus/events")
        .basic_auth("janus", Some(password))
        .json(&events)
        .send()
        .await
        .unwrap()
        .status()
}

async fn peer_state(app: &TestApp, peer_id: &str) -> String {
    let peer = meetplane::store::presence::find_present(&app.state.db, peer_id.parse().unwrap())
        .await
        .unwrap()
        .expect("the peer is present");
    peer.state.as_str().to_string()
}

async fn metric(app: &TestApp, name: &str) -> String {
    let text = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .to_string()
}

/// Janus's events make a peer's media connection count as presence (no Janus needed: the
/// test posts what Janus's event handler posts).
#[tokio::test]
async fn janus_events_make_media_connections_count_as_presence() {
    let ports = JanusPorts::pick();
    let app = app_with_janus(&ports).await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "ev"}))
        .await;
    let (peer_id, _) = join(&app, "ev", json!({"displayName": "A"})).await;
    assert_eq!(peer_state(&app, &peer_id).await, "admitted");
    let up = json!([
        {"type": 2, "session_id": 1, "handle_id": 77, "opaque_id": peer_id,
         "event": {"name": "attached", "plugin": "janus.plugin.videoroom"}},
        {"type": 16, "subtype": 6, "session_id": 1, "handle_id": 77, "opaque_id": peer_id,
         "event": {"connection": "webrtcup"}},
    ]);
    assert_eq!(
        post_events(&app, "wrong-password", up.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(peer_state(&app, &peer_id).await, "admitted");
    assert_eq!(
        post_events(&app, EVENTS_SECRET, up.clone()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(peer_state(&app, &peer_id).await, "connected");
    // Told twice, still one connection.
    post_events(&app, EVENTS_SECRET, up).await;
    assert_eq!(metric(&app, "meetplane_media_peers_connected").await, "1");
    assert_eq!(
        metric(&app, "meetplane_janus_up").await,
        "0",
        "no Janus runs"
    );
    let hangup = json!({"type": 16, "subtype": 6, "session_id": 1, "handle_id": 77,
                        "opaque_id": peer_id, "event": {"connection": "hangup"}});
    assert_eq!(
        post_events(&app, EVENTS_SECRET, hangup).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(peer_state(&app, &peer_id).await, "away", "its grace runs");
    assert_eq!(metric(&app, "meetplane_media_peers_connected").await, "0");
    let ready = app
        .request(Method::GET, "/readyz")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(ready["janus"], "down", "{ready}");
}

/// One Janus serves several nodes: its event handler posts to one of them, whichever node the
/// peer joined through, and every node sees the peer's media connection (Postgres).
#[tokio::test]
async fn janus_events_posted_to_any_node_count_for_a_peer_of_another() {
    use crate::{
        helpers::TestDb,
        nodes::{Cluster, postgres_url},
        realtime::{connect, next, next_event_where, next_of, send},
    };
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let ports = JanusPorts::pick();
    let (ws, admin) = (ports.ws_url(), ports.admin_url());
    let settings = [
        ("MEETPLANE_JANUS_WS_URL", ws.as_str()),
        ("MEETPLANE_JANUS_ADMIN_URL", admin.as_str()),
        ("MEETPLANE_JANUS_API_SECRET", API_SECRET),
        ("MEETPLANE_JANUS_ADMIN_SECRET", ADMIN_SECRET),
        ("MEETPLANE_JANUS_ADMIN_KEY", ADMIN_KEY),
        ("MEETPLANE_JANUS_EVENTS_SECRET", EVENTS_SECRET),
    ];
    let cluster = Cluster::new(TestDb::create_postgres(&admin_url).await);
    let a = cluster.start_with(&settings);
    let b = cluster.start_with(&settings);
    let client = cluster.client();
    let org = client.org_id.to_string();
    let ta = a.token(&client).await;
    let rooms = format!("/v1/orgs/{org}/rooms");
    let room = json!({"domain": "localhost", "name": "shared-sfu"});
    a.call(&ta, Method::POST, &rooms, Some(room)).await;
    let mut watch = connect(&a.address, &ta).await;
    next(&mut watch).await;
    send(&mut watch, json!({"type": "subscribe", "org": true})).await;
    next_of(&mut watch, "subscribed").await;
    let (s, admitted) = a
        .call(
            &ta,
            Method::POST,
            &format!("{rooms}/localhost/shared-sfu/peers"),
            Some(json!({"displayName": "Far", "role": "user"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{admitted}");
    let id = admitted["content"]["peer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let post = |node: &str, events: Value| {
        reqwest::Client::new()
            .post(format!("{node}/internal/janus/events"))
            .basic_auth("janus", Some(EVENTS_SECRET))
            .json(&events)
            .send()
    };
    let up = json!([
        {"type": 2, "session_id": 5, "handle_id": 9, "opaque_id": id,
         "event": {"name": "attached", "plugin": "janus.plugin.videoroom"}},
        {"type": 16, "subtype": 6, "session_id": 5, "handle_id": 9, "opaque_id": id,
         "event": {"connection": "webrtcup"}},
    ]);
    // Admitted through node A; Janus tells node B.
    assert_eq!(
        post(&b.address, up).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let state_of = |e: &Value| e["payload"]["client"]["state"].as_str().map(str::to_string);
    let updated = |e: &Value| e["event"] == "clientUpdated" && e["payload"]["client"]["id"] == id;
    let e = next_event_where(&mut watch, updated).await;
    assert_eq!(state_of(&e).as_deref(), Some("connected"), "{e}");
    // The hangup reaches node A this time: the same connection ends.
    let hangup = json!({"type": 16, "subtype": 6, "session_id": 5, "handle_id": 9,
                        "opaque_id": id, "event": {"connection": "hangup"}});
    assert_eq!(
        post(&a.address, hangup).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let e = next_event_where(&mut watch, updated).await;
    assert_eq!(state_of(&e).as_deref(), Some("away"), "{e}");
}

/// A media connection whose Janus handle is gone ends even when its `hangup` never arrived
/// (Janus's event post lost): the pass compares the handles Janus holds with the connections
/// on record. A live handle's connection stays.
#[tokio::test]
async fn a_media_connection_whose_handle_janus_no_longer_holds_ends() {
    if !janus_installed("the Janus handle reconcile test") {
        return;
    }
    let ports = JanusPorts::pick();
    let app = app_with_janus(&ports).await;
    let janus = JanusProcess::start_on(ports, &app.url("/internal/janus/events")).await;
    // Until meetplane has met this Janus (its sentinel token placed), it takes Janus for one
    // that restarted, whose media connections are all gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let met = || async {
        let tokens = janus.admin(json!({"janus": "list_tokens"})).await;
        tokens["data"]["tokens"].to_string().contains("mpsentinel_")
    };
    while !met().await {
        assert!(
            std::time::Instant::now() < deadline,
            "meetplane never met Janus"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "gone"}))
        .await;
    let (live_peer, a) = join(&app, "gone", json!({"displayName": "Here"})).await;
    let (lost_peer, b) = join(&app, "gone", json!({"displayName": "Gone"})).await;
    ice(&app, "gone", &a).await;
    ice(&app, "gone", &b).await;
    let mut socket = open(&app, "/v1/rooms/localhost/gone/janus", &a).await;
    let (session, handle) = attach(&mut socket).await;
    let joined = join_as_publisher(&mut socket, session, handle).await;
    assert_eq!(
        joined["plugindata"]["data"]["videoroom"], "joined",
        "{joined}"
    );
    // Both PeerConnections came up; the second's handle is not (or no longer) in Janus.
    let up = |peer: &str, handle: u64| {
        json!({"type": 16, "subtype": 6, "session_id": session, "handle_id": handle,
               "opaque_id": peer, "event": {"connection": "webrtcup"}})
    };
    let events = json!([up(&live_peer, handle), up(&lost_peer, handle + 1_000_000)]);
    assert_eq!(
        post_events(&app, EVENTS_SECRET, events).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(peer_state(&app, &live_peer).await, "connected");
    assert_eq!(peer_state(&app, &lost_peer).await, "connected");
    // The scheduler's pass compares handles at most every 10 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(25);
    while peer_state(&app, &lost_peer).await != "away" {
        assert!(
            std::time::Instant::now() < deadline,
            "the lost handle's connection still counts"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(peer_state(&app, &live_peer).await, "connected");
}
