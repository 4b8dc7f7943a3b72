//! Idempotency-Key on native changes: a repeat gets the first answer and changes nothing, a
//! different request under the same key is refused, keys are per caller and kept a day.
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use meetplane::{clock::ManualClock, domain::housekeeping};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, read};

async fn post(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    let resp = app
        .request(Method::POST, path)
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_string());
    let (s, b) = read(resp).await;
    (s, replayed, b)
}

#[tokio::test]
async fn a_repeated_change_gets_the_first_answer_and_happens_once() {
    let app = TestApp::spawn().await;
    let token = app.token().await;
    let rooms = app.org_path("/rooms");
    let body = json!({"domain": "localhost", "name": "standup"});
    let (s, replayed, first) = post(&app, &token, &rooms, "key-1", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(replayed.as_deref(), Some("false"));
    let (s, replayed, again) = post(&app, &token, &rooms, "key-1", body.clone()).await;
    assert_eq!(
        (s, replayed.as_deref()),
        (StatusCode::CREATED, Some("true"))
    );
    assert_eq!(again, first, "the stored answer, byte for byte");
    // Without the key the same request is a new attempt, and the room exists already.
    let (s, b) = app
        .call(&token, Method::POST, &rooms, Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (_, list) = app.call(&token, Method::GET, &rooms, None).await;
    assert_eq!(list["content"].as_array().unwrap().len(), 1, "{list}");

    // The same key with another request is refused.
    let other = json!({"domain": "localhost", "name": "retro"});
    let (s, _, b) = post(&app, &token, &rooms, "key-1", other.clone()).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "Idempotency-Key", "{b}");

    // Client errors are answers too: replayed, not re-evaluated.
    let bad = json!({"domain": "localhost", "name": ""});
    let (s1, _, b1) = post(&app, &token, &rooms, "key-2", bad.clone()).await;
    let (s2, replayed, b2) = post(&app, &token, &rooms, "key-2", bad).await;
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(replayed.as_deref(), Some("true"));

    // Keys are per caller: another client's "key-1" is its own.
    let client = app.other_org("other", "other.example").await;
    let other_token = app.token_for(&client).await;
    let other_rooms = format!("/v1/orgs/{}/rooms", client.org_id);
    let body = json!({"domain": "other.example", "name": "standup"});
    let (s, replayed, b) = post(&app, &other_token, &other_rooms, "key-1", body).await;
    assert_eq!(
        (s, replayed.as_deref()),
        (StatusCode::CREATED, Some("false")),
        "{b}"
    );

    // A malformed key is refused before anything happens.
    let (s, _, b) = post(&app, &token, &rooms, "bad key", other).await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    let (_, list) = app.call(&token, Method::GET, &rooms, None).await;
    assert_eq!(list["content"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn keys_are_forgotten_after_a_day() {
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let token = app.token().await;
    let room = app.org_path("/rooms/localhost/standup");
    app.create_room(&token, json!({"domain": "localhost", "name": "standup"}))
        .await;
    let kick_all = format!("{room}/kick");
    let (s, replayed, _) = post(&app, &token, &kick_all, "kick-1", json!({"peerId": "all"})).await;
    let first = s;
    assert_eq!(replayed.as_deref(), Some("false"));
    let (s, replayed, _) = post(&app, &token, &kick_all, "kick-1", json!({"peerId": "all"})).await;
    assert_eq!((s, replayed.as_deref()), (first, Some("true")));

    clock.advance(TimeDelta::hours(25));
    let token = app.token().await;
    let pruned = housekeeping::run_once(&app.state).await.unwrap();
    assert_eq!(pruned.idempotency_keys, 1);
    let (_, replayed, _) = post(&app, &token, &kick_all, "kick-1", json!({"peerId": "all"})).await;
    assert_eq!(
        replayed.as_deref(),
        Some("false"),
        "a day later the key is new"
    );
}
