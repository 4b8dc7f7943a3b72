//! The realtime WebSocket: room, org and robot subscriptions, peer sockets.
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::helpers::TestApp;

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(address: &str, bearer: &str) -> Socket {
    let url = format!("{}/v1/realtime", address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {bearer}")).unwrap(),
    );
    let (socket, _) = connect_async(request).await.expect("the socket opens");
    socket
}

/// The next JSON message (at most 10 s), or None when the server closed the socket.
pub async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s");
        match msg {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

pub async fn send(socket: &mut Socket, v: Value) {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .unwrap();
}

/// Skip messages until one of `kind` arrives.
pub async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let m = next(socket)
            .await
            .unwrap_or_else(|| panic!("closed before a {kind} message"));
        if m["type"] == kind {
            return m;
        }
    }
}

/// Skip events until one that `wanted` accepts arrives. Events reach sockets through the
/// outbox, so a peer's socket may still see its own `clientAdded` after it connected.
pub async fn next_event_where(socket: &mut Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let e = next_of(socket, "event").await;
        if wanted(&e) {
            return e;
        }
    }
}

#[tokio::test]
async fn clients_subscribe_to_rooms_and_to_their_org() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let mut room_socket = connect(&app.address, &t).await;
    let welcome = next(&mut room_socket).await.unwrap();
    assert_eq!(
        (welcome["type"].clone(), welcome["orgId"].clone()),
        (json!("welcome"), json!(app.org_id))
    );
    send(
        &mut room_socket,
        json!({"type": "subscribe", "room": "localhost/watched"}),
    )
    .await;
    assert_eq!(
        next(&mut room_socket).await.unwrap(),
        json!({"type": "subscribed", "room": "localhost/watched"})
    );
    let mut org_socket = connect(&app.address, &t).await;
    next(&mut org_socket).await;
    send(&mut org_socket, json!({"type": "subscribe", "org": true})).await;
    next_of(&mut org_socket, "subscribed").await;

    app.create_room(&t, json!({"domain": "localhost", "name": "other"}))
        .await;
    app.create_room(
        &t,
        json!({"domain": "localhost", "name": "watched", "key": "pw"}),
    )
    .await;
    app.join(
        "localhost/watched",
        json!({"displayName": "Ann", "key": "pw"}),
    )
    .await;

    let e = next_of(&mut room_socket, "event").await;
    assert_eq!(
        (e["event"].clone(), e["room"].clone(), e["seq"].clone()),
        (json!("roomCreated"), json!("watched"), json!(1))
    );
    assert_eq!(
        e["payload"]["room"]["password"], "pw",
        "API clients see the full payload"
    );
    let e = next_of(&mut room_socket, "event").await;
    assert_eq!(
        (e["event"].clone(), e["seq"].clone()),
        (json!("clientAdded"), json!(2))
    );
    assert_eq!(e["payload"]["client"]["displayName"], "Ann");

    let e = next_of(&mut org_socket, "event").await;
    assert_eq!(e["room"], "other", "the org subscription sees every room");

    // Errors are answered on the socket.
    send(
        &mut room_socket,
        json!({"type": "subscribe", "room": "nowhere.example/x"}),
    )
    .await;
    assert_eq!(
        next_of(&mut room_socket, "error").await["code"],
        "domain_not_found"
    );
    send(&mut room_socket, json!({"type": "dance"})).await;
    assert_eq!(
        next_of(&mut room_socket, "error").await["code"],
        "unknown_message"
    );
    room_socket
        .send(Message::Text("not json".into()))
        .await
        .unwrap();
    assert_eq!(
        next_of(&mut room_socket, "error").await["code"],
        "malformed_message"
    );
}

#[tokio::test]
async fn a_peer_sees_its_room_without_secrets_and_is_let_go_when_kicked() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "r", "key": "pw"}))
        .await;
    let (_, me) = app
        .join("localhost/r", json!({"displayName": "Me", "key": "pw"}))
        .await;
    let token = me["content"]["peerToken"].as_str().unwrap();
    let url = format!(
        "{}/v1/realtime?token={token}",
        app.address.replace("http://", "ws://")
    );
    let (mut socket, _) = connect_async(url).await.unwrap();
    let welcome = next(&mut socket).await.unwrap();
    assert_eq!(
        (welcome["as"].clone(), welcome["room"].clone()),
        (json!("peer"), json!("localhost/r"))
    );
    send(&mut socket, json!({"type": "subscribe", "org": true})).await;
    assert_eq!(next_of(&mut socket, "error").await["code"], "forbidden");

    app.join("localhost/r", json!({"displayName": "You", "key": "pw"}))
        .await;
    let e = next_event_where(&mut socket, |e| {
        e["event"] == "clientAdded" && e["payload"]["client"]["displayName"] != "Me"
    })
    .await;
    assert_eq!(e["payload"]["client"]["displayName"], "You");

    app.call(
        &t,
        Method::POST,
        &app.org_path("/rooms/localhost/r/kick"),
        Some(json!({"peerId": me["content"]["peer"]["id"]})),
    )
    .await;
    let e = next_of(&mut socket, "event").await;
    assert_eq!(e["event"], "clientsRemoved");
    let (code, reason) =
        crate::socket_credentials::closed_within(&mut socket, std::time::Duration::from_secs(1))
            .await;
    assert_eq!(
        (code, reason.as_str()),
        (4401, "the peer left the room (kicked)"),
        "the socket closes after the peer was removed"
    );
}

#[tokio::test]
async fn robots_receive_their_webhooks_events() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let (_, hook) = app
        .call(&t, Method::POST, &app.org_path("/webhooks"), Some(json!({"domain": "localhost", "type": "robot", "robotId": 7, "events": ["roomCreated"]})))
        .await;
    let mut socket = connect(&app.address, &t).await;
    next(&mut socket).await;
    send(&mut socket, json!({"type": "subscribe", "robotId": 7})).await;
    next_of(&mut socket, "subscribed").await;
    app.create_room(&t, json!({"domain": "localhost", "name": "bot"}))
        .await;
    app.join("localhost/bot", json!({"displayName": "A"})).await;
    app.create_room(&t, json!({"domain": "localhost", "name": "bot2"}))
        .await;
    let m = next_of(&mut socket, "robot").await;
    assert_eq!(m["robotId"], 7);
    assert_eq!(m["webhookId"], hook["content"]["webhookId"]);
    assert_eq!(
        (
            m["body"]["event"].clone(),
            m["body"]["payload"]["room"]["name"].clone()
        ),
        (json!("roomCreated"), json!("bot"))
    );
    // clientAdded is filtered out by the webhook: the next robot message is bot2's creation.
    let m = next_of(&mut socket, "robot").await;
    assert_eq!(m["body"]["payload"]["room"]["name"], "bot2");
}

#[tokio::test]
async fn sockets_need_a_valid_token() {
    let app = TestApp::spawn().await;
    let url = format!("{}/v1/realtime", app.address.replace("http://", "ws://"));
    for url in [
        url.clone(),
        format!("{url}?token=mppt_nope"),
        format!("{url}?token=a.b.c"),
    ] {
        let err = connect_async(url).await.expect_err("refused");
        match err {
            tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 401),
            other => panic!("expected an HTTP 401, got {other:?}"),
        }
    }
}

/// On Postgres, a node hears events through LISTEN; when that connection drops, events
/// committed before it listens again are replayed to the sockets, once each.
#[tokio::test]
async fn events_committed_while_the_listener_reconnects_still_reach_sockets() {
    let app = TestApp::spawn().await;
    if !app
        .state
        .config
        .database_url
        .expose()
        .starts_with("postgres")
    {
        eprintln!("skipped: the event listener exists on Postgres only (SQLite pass)");
        return;
    }
    let t = app.token().await;
    let mut socket = connect(&app.address, &t).await;
    next_of(&mut socket, "welcome").await;
    send(&mut socket, json!({"type": "subscribe", "org": true})).await;
    next_of(&mut socket, "subscribed").await;

    use sea_orm::ConnectionTrait;
    let killed = app
        .state
        .db
        .execute_unprepared(KILL_LISTENER)
        .await
        .unwrap();
    assert_eq!(
        killed.rows_affected(),
        1,
        "the listener's connection was found"
    );
    // Committed while the listener waits to reconnect (it pauses a second).
    app.create_room(&t, json!({"domain": "localhost", "name": "gap"}))
        .await;
    let event = next_of(&mut socket, "event").await;
    assert_eq!(
        (event["event"].as_str(), event["room"].as_str()),
        (Some("roomCreated"), Some("gap")),
        "{event}"
    );
    // Once, not again when a notification for it also arrives.
    app.create_room(&t, json!({"domain": "localhost", "name": "after"}))
        .await;
    let next_event = next_of(&mut socket, "event").await;
    assert_eq!(next_event["room"], "after", "{next_event}");

    // A second loss is a gap of its own, caught up the same way; once the new listening
    // connection is the only one, so that the one ended first is not counted.
    listeners_until(&app, 1).await;
    let killed = app
        .state
        .db
        .execute_unprepared(KILL_LISTENER)
        .await
        .unwrap();
    assert_eq!(killed.rows_affected(), 1);
    app.create_room(&t, json!({"domain": "localhost", "name": "second-gap"}))
        .await;
    let event = next_of(&mut socket, "event").await;
    assert_eq!(event["room"], "second-gap", "{event}");
}

/// Wait until exactly `wanted` connections of the app's database are listening.
async fn listeners_until(app: &TestApp, wanted: i64) {
    use sea_orm::{ConnectionTrait, Statement};
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let row = app
            .state
            .db
            .query_one_raw(Statement::from_string(
                app.state.db.get_database_backend(),
                COUNT_LISTENERS,
            ))
            .await
            .unwrap()
            .unwrap();
        let listening: i64 = row.try_get("", "n").unwrap();
        if listening == wanted {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{listening} listening connections, not {wanted}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

const COUNT_LISTENERS: &str = "SELECT count(*) AS n FROM pg_stat_activity \
     WHERE datname = current_database() AND query LIKE 'LISTEN%'";

const KILL_LISTENER: &str = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
     WHERE datname = current_database() AND query LIKE 'LISTEN%'";
