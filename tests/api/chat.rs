//! Room chat in the native API: post as client or peer, read newest first with cursors,
//! pushed live, size limits.
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_problem, read},
    realtime::{next, next_event_where},
};

async fn peer_call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.request(method, path).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    read(req.send().await.unwrap()).await
}

#[tokio::test]
async fn clients_and_peers_chat_and_read_newest_first() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "talk"}))
        .await;
    let (_, ann) = app
        .join("localhost/talk", json!({"displayName": "Ann"}))
        .await;
    let token = ann["content"]["peerToken"].as_str().unwrap().to_string();
    let url = format!(
        "{}/v1/realtime?token={token}",
        app.address.replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    next(&mut socket).await;

    let (s, m) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/talk/messages"),
            Some(json!({"displayName": "Moderator", "text": "Welcome!"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    assert_eq!(
        (
            m["content"]["senderKind"].clone(),
            m["content"]["displayName"].clone()
        ),
        (json!("client"), json!("Moderator"))
    );
    // Its own `clientAdded` and `clientUpdated` (connected) may come first.
    let e = next_event_where(&mut socket, |e| {
        !matches!(e["event"].as_str(), Some("clientAdded" | "clientUpdated"))
    })
    .await;
    assert_eq!(
        (e["event"].clone(), e["payload"]["message"]["text"].clone()),
        (json!("chatMessage"), json!("Welcome!"))
    );

    for i in 0..4 {
        let (s, m) = peer_call(
            &app,
            &token,
            Method::POST,
            "/v1/rooms/localhost/talk/messages",
            Some(json!({"text": format!("hello {i} ✓")})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        assert_eq!(
            (
                m["content"]["senderKind"].clone(),
                m["content"]["displayName"].clone()
            ),
            (json!("peer"), json!("Ann"))
        );
    }
    // Newest first, two at a time, following `next`.
    let mut path = app.org_path("/rooms/localhost/talk/messages?count=2");
    let mut texts = Vec::new();
    loop {
        let (s, page) = app.call(&t, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        texts.extend(
            page["content"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["text"].as_str().unwrap().to_string()),
        );
        match page["_links"]["next"]["href"].as_str() {
            Some(n) => path = n.to_string(),
            None => break,
        }
    }
    assert_eq!(
        texts,
        [
            "hello 3 ✓",
            "hello 2 ✓",
            "hello 1 ✓",
            "hello 0 ✓",
            "Welcome!"
        ]
    );
    // A peer reads too; `since` gives only what is newer.
    let (_, page) = peer_call(
        &app,
        &token,
        Method::GET,
        "/v1/rooms/localhost/talk/messages?count=10",
        None,
    )
    .await;
    let second_newest = page["content"][1]["messageId"].as_i64().unwrap();
    let (_, newer) = peer_call(
        &app,
        &token,
        Method::GET,
        &format!("/v1/rooms/localhost/talk/messages?since={second_newest}"),
        None,
    )
    .await;
    assert_eq!(newer["content"].as_array().unwrap().len(), 1);
    assert_eq!(newer["content"][0]["text"], "hello 3 ✓");
}

#[tokio::test]
async fn chat_input_is_checked() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "a"}))
        .await;
    app.create_room(&t, json!({"domain": "localhost", "name": "b"}))
        .await;
    let (_, ann) = app.join("localhost/a", json!({"displayName": "Ann"})).await;
    let token = ann["content"]["peerToken"].as_str().unwrap();
    let path = app.org_path("/rooms/localhost/a/messages");
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &path,
            Some(json!({"displayName": "M", "text": "x".repeat(4001)})),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "text");
    // Characters XML 1.0 cannot carry (a bridged room's chat travels over XMPP): control
    // characters from pasted terminal output, a bell, U+FFFF. Tab and line breaks are fine.
    for text in [
        "a\u{1}b",
        "\u{1b}[31mred\u{1b}[0m",
        "ding\u{7}",
        "x\u{ffff}",
    ] {
        let (s, b) = app
            .call(
                &t,
                Method::POST,
                &path,
                Some(json!({"displayName": "M", "text": text})),
            )
            .await;
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(b["errors"][0]["field"], "text", "{b}");
        let (s, b) = peer_call(
            &app,
            token,
            Method::POST,
            "/v1/rooms/localhost/a/messages",
            Some(json!({ "text": text })),
        )
        .await;
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &path,
            Some(json!({"displayName": "M\u{ffff}", "text": "hi"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "displayName", "{b}");
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &path,
            Some(json!({"displayName": "M", "text": "col1\tcol2\r\nline 2"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["content"]["xmppState"], Value::Null, "not bridged: {b}");
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &path,
            Some(json!({"displayName": "M", "text": "   "})),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &path,
            Some(json!({"displayName": "M", "text": "x".repeat(2 * 1024 * 1024)})),
        )
        .await;
    assert_problem(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let (s, b) = app
        .call(&t, Method::POST, &path, Some(json!({"text": "no name"})))
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = peer_call(
        &app,
        token,
        Method::POST,
        "/v1/rooms/localhost/b/messages",
        Some(json!({"text": "wrong room"})),
    )
    .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "peer_not_in_room");
    let (s, b) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/nope/messages"),
            None,
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "room_not_found");
    let (s, b) = peer_call(
        &app,
        "mppt_forged",
        Method::POST,
        "/v1/rooms/localhost/a/messages",
        Some(json!({"text": "hi"})),
    )
    .await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "invalid_peer_token");
}

#[tokio::test]
async fn messages_reach_webhooks_as_chat_message_events() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let receiver = crate::receiver::Receiver::start().await;
    crate::webhooks::validated_webhook(&app, &t, &receiver, json!({"events": ["chatMessage"]}))
        .await;
    app.create_room(&t, json!({"domain": "localhost", "name": "hooked"}))
        .await;
    let path = app.org_path("/rooms/localhost/hooked/messages");
    let (s, m) = app
        .call(
            &t,
            Method::POST,
            &path,
            Some(json!({"displayName": "Bot", "text": "ping"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    // The validation handshake came first; then the one chatMessage (roomCreated is filtered out).
    let got = receiver.wait_for(2).await;
    let event = &got[1].json;
    assert_eq!(
        (event["event"].clone(), event["room"].clone()),
        (json!("chatMessage"), json!("hooked"))
    );
    assert_eq!(event["payload"]["message"]["text"], "ping");
    assert_eq!(event["payload"]["message"]["sender"]["displayName"], "Bot");
}
