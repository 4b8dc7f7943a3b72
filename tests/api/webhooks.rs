//! Webhooks: the validation handshake, signed ordered deliveries, retries, 410, Retry-After,
//! redelivery, the delivery log, and the SSRF guard. Receivers are real local HTTP servers.
use std::{sync::Arc, time::Duration};

use chrono::{TimeDelta, Utc};
use meetplane::clock::{Clock, ManualClock, SystemClock};
use poem::http::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_problem},
    receiver::{Received, Receiver, Reply},
};

pub async fn domain_keys(app: &TestApp, token: &str) -> (String, String) {
    let (_, d) = app
        .call(
            token,
            Method::GET,
            &app.org_path("/domains/localhost"),
            None,
        )
        .await;
    (
        d["content"]["webhookKey"].as_str().unwrap().to_string(),
        d["content"]["signingSecret"].as_str().unwrap().to_string(),
    )
}

/// Add a url webhook and validate it against `receiver` (which then answers 200).
pub async fn validated_webhook(
    app: &TestApp,
    token: &str,
    receiver: &Receiver,
    extra: Value,
) -> i64 {
    let (key, _) = domain_keys(app, token).await;
    let mut body = json!({"domain": "localhost", "type": "url", "url": receiver.url});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, created) = app
        .call(token, Method::POST, &app.org_path("/webhooks"), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["content"]["validated"], false);
    let id = created["content"]["webhookId"].as_i64().unwrap();
    receiver.answer_next(Reply::Validate(key));
    let (s, v) = app
        .call(
            token,
            Method::POST,
            &app.org_path(&format!("/webhooks/{id}/validate")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["content"]["validated"], true, "{v}");
    id
}

/// Wait until no delivery of the webhook is pending (results are recorded after the
/// receiver answered, so a receiver seeing a request is not enough).
pub async fn settled(app: &TestApp, token: &str, webhook_id: i64) -> Value {
    let path = app.org_path(&format!("/webhooks/{webhook_id}/deliveries?status=pending"));
    for _ in 0..400 {
        let (_, log) = app.call(token, Method::GET, &path, None).await;
        if log["content"].as_array().is_some_and(|c| c.is_empty()) {
            let all = app.org_path(&format!("/webhooks/{webhook_id}/deliveries"));
            return app.call(token, Method::GET, &all, None).await.1;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("deliveries of webhook {webhook_id} never settled");
}

/// Wait until the oldest delivery of the webhook was attempted `n` times.
pub async fn attempted(app: &TestApp, token: &str, webhook_id: i64, n: i64) -> Value {
    let path = app.org_path(&format!("/webhooks/{webhook_id}/deliveries"));
    for _ in 0..400 {
        let (_, log) = app.call(token, Method::GET, &path, None).await;
        if let Some(oldest) = log["content"].as_array().and_then(|c| c.last())
            && oldest["attempts"] == n
        {
            return oldest.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the first delivery of webhook {webhook_id} never reached {n} attempts");
}

fn verify(secret: &str, r: &Received) {
    let mut headers = HeaderMap::new();
    for (k, v) in &r.headers {
        headers.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(r.body.as_bytes(), &headers)
        .expect("the official Standard Webhooks library verifies the delivery");
}

fn events_of(received: &[Received]) -> Vec<(String, i64)> {
    received
        .iter()
        .filter(|r| r.json["event"] != "validation")
        .map(|r| {
            (
                r.json["event"].as_str().unwrap().to_string(),
                r.json["seq"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_validation_handshake_decides() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    let (key, _) = domain_keys(&app, &t).await;
    let (_, created) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/webhooks"),
            Some(json!({"domain": "localhost", "type": "url", "url": receiver.url})),
        )
        .await;
    let id = created["content"]["webhookId"].as_i64().unwrap();
    let validate_path = app.org_path(&format!("/webhooks/{id}/validate"));
    let validate = || app.call(&t, Method::POST, &validate_path, None);

    // The handshake request itself, and the seed's exact body shape.
    receiver.answer_next(Reply::Body(200, "0".repeat(64)));
    let (s, v) = validate().await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            v["content"]["validated"].clone(),
            v["content"]["reason"].is_string()
        ),
        (json!(false), true),
        "{v}"
    );
    let handshake = &receiver.received()[0].json;
    assert_eq!(handshake["event"], "validation");
    assert_eq!(handshake["signThis"].as_str().unwrap().len(), 32);

    receiver.answer_next(Reply::Status(500));
    let (_, v) = validate().await;
    assert_eq!(v["content"]["validated"], false);
    assert!(
        v["content"]["reason"].as_str().unwrap().contains("500"),
        "{v}"
    );

    receiver.answer_next(Reply::Slow(Duration::from_secs(3)));
    let (_, v) = validate().await;
    assert_eq!(v["content"]["validated"], false);
    assert!(
        v["content"]["reason"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{v}"
    );

    receiver.answer_next(Reply::Validate(key.clone()));
    let (_, v) = validate().await;
    assert_eq!(v["content"]["validated"], true, "{v}");
    assert_eq!(v["content"]["webhook"]["validated"], true);

    // A later failed handshake un-validates.
    receiver.answer_next(Reply::Validate("another key".into()));
    let (_, v) = validate().await;
    assert_eq!(v["content"]["validated"], false);
}

#[tokio::test]
async fn webhooks_are_added_listed_filtered_and_removed() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    let validated = validated_webhook(&app, &t, &receiver, json!({"roomName": "standup"})).await;
    let (s, robot) = app
        .call(&t, Method::POST, &app.org_path("/webhooks"), Some(json!({"domain": "localhost", "type": "robot", "robotId": 7, "events": ["clientAdded"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{robot}");
    assert_eq!(
        robot["content"]["validated"], true,
        "robots are valid from the start"
    );
    let (_, other) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/webhooks"),
            Some(json!({"domain": "localhost", "type": "url", "url": "http://127.0.0.1:9/other"})),
        )
        .await;
    let other_id = other["content"]["webhookId"].as_i64().unwrap();

    let hooks_path = app.org_path("/webhooks");
    let list = |q: &str| {
        let path = format!("{hooks_path}{q}");
        let (app, t) = (&app, &t);
        async move { app.call(t, Method::GET, &path, None).await }
    };
    let ids = |v: &Value| {
        v["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["webhookId"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let (_, all) = list("?domain=localhost").await;
    assert_eq!(ids(&all).len(), 3);
    let (_, unvalidated) = list("?validated=false").await;
    assert_eq!(ids(&unvalidated), [other_id]);
    let (_, found) = list("?token=standup").await;
    assert_eq!(ids(&found), [validated]);
    let (s, b) = list("?domain=nowhere.example").await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "domain_not_found");

    let path = app.org_path(&format!("/webhooks/{other_id}"));
    let (s, got) = app.call(&t, Method::GET, &path, None).await;
    assert_eq!(
        (s, &got["content"]["url"]),
        (StatusCode::OK, &json!("http://127.0.0.1:9/other"))
    );
    let (s, _) = app.call(&t, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app.call(&t, Method::GET, &path, None).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "webhook_not_found");

    for (body, field) in [
        (
            json!({"domain": "localhost", "type": "carrier-pigeon"}),
            "type",
        ),
        (json!({"domain": "localhost", "type": "url"}), "url"),
        (
            json!({"domain": "localhost", "type": "url", "url": "ftp://x.example"}),
            "url",
        ),
        (
            json!({"domain": "localhost", "type": "url", "url": "http://a.example", "robotId": 1}),
            "robotId",
        ),
        (json!({"domain": "localhost", "type": "robot"}), "robotId"),
        (
            json!({"domain": "localhost", "type": "robot", "robotId": 1, "events": ["roomExploded"]}),
            "events",
        ),
        (
            json!({"domain": "localhost", "type": "robot", "robotId": 1, "events": []}),
            "events",
        ),
        (
            json!({"domain": "localhost", "type": "robot", "robotId": 1, "roomName": "a b"}),
            "roomName",
        ),
        (
            json!({"domain": "localhost", "type": "robot", "robotId": "x"}),
            "robotId",
        ),
    ] {
        let (s, b) = app
            .call(
                &t,
                Method::POST,
                &app.org_path("/webhooks"),
                Some(body.clone()),
            )
            .await;
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(b["errors"][0]["field"], field, "{body} -> {b}");
    }
}

#[tokio::test]
async fn room_events_arrive_signed_in_order_with_the_seed_payloads() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    let silent = Receiver::start().await;
    let id = validated_webhook(&app, &t, &receiver, json!({})).await;
    // An unvalidated webhook receives nothing.
    app.call(
        &t,
        Method::POST,
        &app.org_path("/webhooks"),
        Some(json!({"domain": "localhost", "type": "url", "url": silent.url})),
    )
    .await;
    let (_, secret) = domain_keys(&app, &t).await;

    let created = app
        .create_room(&t, json!({"domain": "localhost", "name": "standup", "key": "pw", "addHostKey": true, "capacity": 9}))
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap().to_string();
    let (_, a) = app
        .join(
            "localhost/standup",
            json!({"displayName": "Ann", "key": "pw"}),
        )
        .await;
    let (_, h) = app
        .join(
            "localhost/standup",
            json!({"displayName": "Hal", "hostKey": host_key}),
        )
        .await;
    let ann = a["content"]["peer"]["id"].clone();
    app.call(
        &t,
        Method::POST,
        &app.org_path("/rooms/localhost/standup/kick"),
        Some(json!({"peerId": ann})),
    )
    .await;
    app.call(
        &t,
        Method::DELETE,
        &app.org_path("/rooms/localhost/standup?forceKick=true"),
        None,
    )
    .await;

    let got = receiver.wait_for(1 + 6).await;
    let deliveries: Vec<&Received> = got
        .iter()
        .filter(|r| r.json["event"] != "validation")
        .collect();
    assert_eq!(
        events_of(&got),
        [
            ("roomCreated".into(), 1),
            ("clientAdded".into(), 2),
            ("clientAdded".into(), 3),
            ("clientsRemoved".into(), 4),
            ("clientsRemoved".into(), 5),
            ("roomRemoved".into(), 6)
        ]
    );
    for r in &deliveries {
        verify(&secret, r);
        assert_eq!(r.json["webhookId"], id);
        assert_eq!(r.json["domain"], "localhost");
        assert!(r.header("webhook-id").unwrap().starts_with("msg_"));
    }
    let room = &deliveries[0].json["payload"]["room"];
    assert_eq!(
        room,
        &json!({"name": "standup", "type": 1, "capacity": 9, "isLocked": false, "password": "pw", "hostKey": host_key})
    );
    assert_eq!(
        deliveries[1].json["payload"]["room"],
        json!({"name": "standup"})
    );
    assert_eq!(deliveries[1].json["payload"]["client"]["id"], ann);
    assert_eq!(deliveries[1].json["payload"]["client"]["type"], 2);
    assert_eq!(deliveries[2].json["payload"]["client"]["type"], 1);
    assert_eq!(deliveries[3].json["payload"]["clients"][0]["id"], ann);
    assert_eq!(
        deliveries[4].json["payload"]["clients"][0]["id"],
        h["content"]["peer"]["id"]
    );
    assert_eq!(deliveries[4].json["payload"]["reason"], "room_closed");
    assert_eq!(
        deliveries[5].json["payload"],
        json!({"room": {"name": "standup"}})
    );
    assert!(silent.received().is_empty());

    // The log, and the typed body endpoint, agree with what arrived.
    let log = settled(&app, &t, id).await;
    let newest = &log["content"][0];
    assert_eq!(
        (
            newest["status"].clone(),
            newest["attempts"].clone(),
            newest["lastStatusCode"].clone()
        ),
        (json!("delivered"), json!(1), json!(200))
    );
    assert_eq!(newest["event"], "roomRemoved");
    let delivery_id = log["content"][5]["deliveryId"].as_i64().unwrap();
    let (s, body) = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/webhooks/{id}/deliveries/{delivery_id}/body")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, deliveries[0].json);
}

#[tokio::test]
async fn the_room_snapshot_carries_the_sequence_number() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "snap"}))
        .await;
    app.join("localhost/snap", json!({"displayName": "A"}))
        .await;
    let (_, room) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/snap"),
            None,
        )
        .await;
    assert_eq!(room["content"]["seq"], 2);
    assert_eq!(room["content"]["peers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_event_after_a_retry_in_order() {
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let t = app.token().await;
    let mut receiver = Receiver::start().await;
    let id = validated_webhook(&app, &t, &receiver, json!({})).await;
    let (_, secret) = domain_keys(&app, &t).await;
    let port = receiver.port;
    receiver.stop();
    drop(receiver);

    app.create_room(&t, json!({"domain": "localhost", "name": "r"}))
        .await;
    app.join("localhost/r", json!({"displayName": "A"})).await;
    let log_path = app.org_path(&format!("/webhooks/{id}/deliveries"));
    let first = attempted(&app, &t, id, 1).await;
    assert_eq!(first["status"], "pending");
    assert!(
        first["lastError"].as_str().unwrap().contains("connect"),
        "{first}"
    );
    let (_, log) = app.call(&t, Method::GET, &log_path, None).await;
    assert_eq!(
        log["content"][0]["attempts"], 0,
        "the later event waits behind the failing one"
    );

    let receiver = Receiver::start_on(port).await;
    clock.advance(TimeDelta::seconds(6));
    app.state.bus.wake_delivery();
    let got = receiver.wait_for(2).await;
    assert_eq!(
        events_of(&got),
        [("roomCreated".into(), 1), ("clientAdded".into(), 2)]
    );
    verify(&secret, &got[0]);
    assert_eq!(
        got[0].header("webhook-id").unwrap(),
        first["messageId"].as_str().unwrap()
    );
    let (_, log) = app.call(&t, Method::GET, &log_path, None).await;
    assert_eq!(log["content"][1]["attempts"], 2);
    assert_eq!(log["content"][1]["status"], "delivered");
}

#[tokio::test]
async fn gone_disables_the_webhook_until_revalidated() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    let id = validated_webhook(&app, &t, &receiver, json!({})).await;
    receiver.answer(Reply::Status(410));
    app.create_room(&t, json!({"domain": "localhost", "name": "g"}))
        .await;
    receiver.wait_for(2).await;
    let hook_path = app.org_path(&format!("/webhooks/{id}"));
    let hook = loop {
        let (_, hook) = app.call(&t, Method::GET, &hook_path, None).await;
        if hook["content"]["status"] == "disabled" {
            break hook;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        hook["content"]["disabledReason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{hook}"
    );
    let (_, log) = app
        .call(&t, Method::GET, &format!("{hook_path}/deliveries"), None)
        .await;
    assert_eq!(
        (
            log["content"][0]["status"].clone(),
            log["content"][0]["lastStatusCode"].clone()
        ),
        (json!("failed"), json!(410))
    );

    // Nothing more is sent while disabled: a delivery is queued in the transaction of its
    // event, so once the join is answered the log shows every delivery there will be.
    let logged = log["content"].as_array().unwrap().len();
    app.join("localhost/g", json!({"displayName": "A"})).await;
    let (_, log) = app
        .call(&t, Method::GET, &format!("{hook_path}/deliveries"), None)
        .await;
    assert_eq!(log["content"].as_array().unwrap().len(), logged, "{log}");
    assert_eq!(receiver.received().len(), 2);

    let (key, _) = domain_keys(&app, &t).await;
    receiver.answer(Reply::Status(200));
    receiver.answer_next(Reply::Validate(key));
    let (_, v) = app
        .call(&t, Method::POST, &format!("{hook_path}/validate"), None)
        .await;
    assert_eq!(v["content"]["webhook"]["status"], "active", "{v}");
    app.join("localhost/g", json!({"displayName": "B"})).await;
    let got = receiver.wait_for(4).await;
    assert_eq!(got[3].json["event"], "clientAdded");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    let id = validated_webhook(&app, &t, &receiver, json!({})).await;
    receiver.answer_next(Reply::StatusWithHeader(503, "retry-after", "120".into()));
    app.create_room(&t, json!({"domain": "localhost", "name": "busy"}))
        .await;
    receiver.wait_for(2).await;
    let entry = attempted(&app, &t, id, 1).await;
    assert_eq!(entry["lastStatusCode"], 503);
    let next: chrono::DateTime<Utc> = entry["nextAttemptAt"].as_str().unwrap().parse().unwrap();
    assert_eq!((next - clock.now()).num_seconds(), 120);

    clock.advance(TimeDelta::seconds(60));
    meetplane::domain::delivery_worker::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(receiver.received().len(), 2, "not before Retry-After");
    clock.advance(TimeDelta::seconds(61));
    meetplane::domain::delivery_worker::run_once(&app.state)
        .await
        .unwrap();
    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].json["event"], "roomCreated");
}

#[tokio::test]
async fn deliveries_can_be_sent_again_one_or_a_range() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    let id = validated_webhook(&app, &t, &receiver, json!({})).await;
    app.create_room(&t, json!({"domain": "localhost", "name": "again"}))
        .await;
    app.join("localhost/again", json!({"displayName": "A"}))
        .await;
    let got = receiver.wait_for(3).await;
    let log_path = app.org_path(&format!("/webhooks/{id}/deliveries"));
    let log = settled(&app, &t, id).await;
    let oldest = log["content"][1].clone();
    let (s, again) = app
        .call(
            &t,
            Method::POST,
            &format!("{log_path}/{}/redeliver", oldest["deliveryId"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    let got2 = receiver.wait_for(4).await;
    assert_eq!(got2[3].body, got[1].body);
    assert_eq!(
        got2[3].header("webhook-id"),
        got[1].header("webhook-id"),
        "same message id"
    );
    settled(&app, &t, id).await;

    let since = (Utc::now() - TimeDelta::minutes(5)).to_rfc3339();
    let until = (Utc::now() + TimeDelta::minutes(5)).to_rfc3339();
    let (s, r) = app
        .call(
            &t,
            Method::POST,
            &app.org_path(&format!("/webhooks/{id}/redeliver")),
            Some(json!({"since": since, "until": until})),
        )
        .await;
    assert_eq!(
        (s, r["requeued"].clone()),
        (StatusCode::OK, json!(2)),
        "{r}"
    );
    receiver.wait_for(6).await;
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path(&format!("/webhooks/{id}/redeliver")),
            Some(json!({"since": until, "until": since})),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = app
        .call(&t, Method::GET, &format!("{log_path}/999999"), None)
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "delivery_not_found");
    let (s, b) = app
        .call(&t, Method::GET, &format!("{log_path}?status=lost"), None)
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn a_webhook_failing_for_days_is_disabled() {
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    let id = validated_webhook(&app, &t, &receiver, json!({})).await;
    receiver.answer(Reply::Status(500));
    app.create_room(&t, json!({"domain": "localhost", "name": "down"}))
        .await;
    attempted(&app, &t, id, 1).await;
    let hook_path = app.org_path(&format!("/webhooks/{id}"));
    clock.advance(TimeDelta::days(6));
    // Every retry of the first event fails; the streak began 6 days ago.
    for _ in 0..10 {
        meetplane::domain::delivery_worker::run_once(&app.state)
            .await
            .unwrap();
        clock.advance(TimeDelta::hours(11));
    }
    let t = app.token().await;
    let (_, hook) = app.call(&t, Method::GET, &hook_path, None).await;
    assert_eq!(hook["content"]["status"], "disabled", "{hook}");
    let reason = hook["content"]["disabledReason"].as_str().unwrap();
    assert!(
        reason.contains("failing since") && reason.contains("HTTP 500"),
        "{reason}"
    );
}

#[tokio::test]
async fn internal_targets_are_refused_by_default() {
    let app =
        TestApp::spawn_configured(Arc::new(SystemClock), |c| c.allow_private_targets = false).await;
    let t = app.token().await;
    for url in [
        "http://127.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/",
        "http://[::1]/x",
        "http://localhost:8080/",
        // IPv6 forms that embed an internal IPv4 address.
        "http://[::127.0.0.1]/x",
        "http://[::ffff:0:127.0.0.1]/x",
        "http://[2002:7f00:1::]/x",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x",
    ] {
        let (s, b) = app
            .call(
                &t,
                Method::POST,
                &app.org_path("/webhooks"),
                Some(json!({"domain": "localhost", "type": "url", "url": url})),
            )
            .await;
        assert_problem(s, &b, StatusCode::FORBIDDEN, "target_not_allowed");
    }
}
