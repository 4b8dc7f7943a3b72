//! Chat messages written together (group commit): many senders in one room each get their own
//! answer, every message is stored once with its own event number, and a message that cannot
//! be stored is refused alone while the rest of its batch is written.
use futures_util::future::join_all;
use meetplane::{
    domain::{chat, chat_batches},
    error::Error,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_senders_in_one_room_each_get_their_own_answer() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "busy"}))
        .await;
    let path = app.org_path("/rooms/localhost/busy/messages");
    let missing = app.org_path("/rooms/localhost/nowhere/messages");
    let sends = (0..45).map(|i| {
        let to = if i % 9 == 8 { &missing } else { &path };
        let body = json!({"displayName": format!("Sender {i}"), "text": format!("message {i}")});
        app.call(&t, Method::POST, to, Some(body))
    });
    let answers: Vec<(StatusCode, Value)> = join_all(sends).await;
    let mut ids = Vec::new();
    for (i, (status, body)) in answers.iter().enumerate() {
        if i % 9 == 8 {
            assert_eq!(*status, StatusCode::NOT_FOUND, "{body}");
            assert_eq!(body["code"], "room_not_found", "{body}");
        } else {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            assert_eq!(body["content"]["text"], format!("message {i}"), "{body}");
            ids.push(body["content"]["messageId"].as_i64().unwrap());
        }
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40, "each stored message has an id of its own");

    let (s, listed) = app
        .call(&t, Method::GET, &format!("{path}?count=100"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    assert_eq!(listed["content"].as_array().unwrap().len(), 40);
    // roomCreated, then one chatMessage per stored message: the room's sequence has no gap.
    let (s, room) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/busy"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{room}");
    assert_eq!(room["content"]["seq"], 41, "{room}");
}

#[tokio::test]
async fn a_batch_stores_the_good_messages_and_refuses_the_bad_alone() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    for name in ["one", "two"] {
        app.create_room(&t, json!({"domain": "localhost", "name": name}))
            .await;
    }
    let post = |room: &str, text: &str| {
        chat::client_post(app.org_id, "localhost", room, "Bot", text).unwrap()
    };
    let posts = vec![
        post("one", "first"),
        post("gone", "lost"),
        post("two", "second"),
        // The same room under another spelling of its domain: locked once, numbered on.
        chat::client_post(app.org_id, "LocalHost.", "one", "Bot", "third").unwrap(),
    ];
    let results = chat_batches::post_all(&app.state, posts).await;
    assert_eq!(results.len(), 4);
    assert!(
        matches!(results[1], Err(Error::NotFound { resource: "room" })),
        "{:?}",
        results[1]
    );
    let stored: Vec<_> = [0, 2, 3]
        .iter()
        .map(|&i| results[i].as_ref().expect("stored").clone())
        .collect();
    assert_eq!(
        stored.iter().map(|m| m.room.as_str()).collect::<Vec<_>>(),
        ["localhost/one", "localhost/two", "localhost/one"]
    );
    assert!(stored[0].id < stored[1].id && stored[1].id < stored[2].id);
    let (_, one) = app
        .call(&t, Method::GET, &app.org_path("/rooms/localhost/one"), None)
        .await;
    assert_eq!(
        one["content"]["seq"], 3,
        "roomCreated and two messages: {one}"
    );
    for (room, texts) in [("one", vec!["third", "first"]), ("two", vec!["second"])] {
        let (_, listed) = app
            .call(
                &t,
                Method::GET,
                &app.org_path(&format!("/rooms/localhost/{room}/messages")),
                None,
            )
            .await;
        let got: Vec<&str> = listed["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert_eq!(got, texts, "{listed}");
    }
}
