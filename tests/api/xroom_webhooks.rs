//! Which events a webhook gets: one added through xroom's `/api/webhook` gets the manual's
//! events only (Appendix C), a native one those it chose (every event by default).
use std::{collections::BTreeSet, sync::Arc};

use chrono::{TimeDelta, Utc};
use meetplane::{
    clock::{Clock, ManualClock},
    domain::delivery_worker as delivery,
    store::entities::webhook,
};
use migration::MigratorTrait;
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::{
    helpers::TestApp,
    receiver::{Receiver, Reply},
    xroom::{Wrapper, failed, ok, xroom},
};

const MANUAL: [&str; 4] = [
    "roomCreated",
    "roomRemoved",
    "clientAdded",
    "clientsRemoved",
];

fn events(receiver: &Receiver) -> BTreeSet<String> {
    receiver
        .received()
        .iter()
        .map(|r| r.json["event"].as_str().unwrap_or_default().to_string())
        .filter(|e| e != "validation")
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn xroom_hook(app: &TestApp, receiver: &Receiver, events: Option<Value>) -> i64 {
    let mut data = json!({"domain": "localhost", "type": "url", "url": receiver.url});
    if let Some(e) = events {
        data["events"] = e;
    }
    let c = &app.client;
    let w = ok(xroom(app, c, Wrapper::Php, "webhook", "add", Some(data)).await);
    let id = w["id"].as_i64().unwrap();
    let v = ok(xroom(
        app,
        c,
        Wrapper::Php,
        "webhook",
        "validate",
        Some(json!({"id": id})),
    )
    .await);
    assert_eq!(v["validated"], true);
    id
}

async fn native_hook(app: &TestApp, t: &str, receiver: &Receiver, events: Option<Value>) -> i64 {
    let mut body = json!({"domain": "localhost", "type": "url", "url": receiver.url});
    if let Some(e) = events {
        body["events"] = e;
    }
    let (s, w) = app
        .call(t, Method::POST, &app.org_path("/webhooks"), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    let id = w["content"]["webhookId"].as_i64().unwrap();
    let path = app.org_path(&format!("/webhooks/{id}/validate"));
    let (s, v) = app.call(t, Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

async fn webhook_events(app: &TestApp, t: &str, id: i64) -> Value {
    let path = app.org_path(&format!("/webhooks/{id}"));
    let (s, w) = app.call(t, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    w["content"]["events"].clone()
}

#[tokio::test]
async fn xroom_webhooks_get_the_manuals_events_native_ones_choose() {
    let clock = ManualClock::new(Utc::now());
    let app =
        TestApp::spawn_configured(Arc::new(clock.clone()), |c| c.background_workers = false).await;
    let c = app.client.clone();
    let t = app.token().await;
    let (_, d) = app
        .call(&t, Method::GET, &app.org_path("/domains/localhost"), None)
        .await;
    let key = d["content"]["webhookKey"].as_str().unwrap().to_string();
    let receivers = [
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    ];
    for r in &receivers {
        r.answer(Reply::Validate(key.clone()));
    }
    let [manual, chosen_x, all, chosen] = &receivers;
    let manual_id = xroom_hook(&app, manual, None).await;
    xroom_hook(&app, chosen_x, Some(json!(["clientAdded"]))).await;
    native_hook(&app, &t, all, None).await;
    native_hook(
        &app,
        &t,
        chosen,
        Some(json!(["bookingCancelled", "roomCreated"])),
    )
    .await;
    // A booking made and removed, a room opened, joined, emptied and destroyed.
    let start = clock.now() + TimeDelta::hours(1);
    let b = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "booking",
        "add",
        Some(json!({
            "domain": "localhost", "roomName": "later", "startTime": start.timestamp_millis(),
            "meetingOptions": {"duration": 30}
        })),
    )
    .await);
    ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "booking",
        "remove",
        Some(json!({"id": b["id"]})),
    )
    .await);
    ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "room",
        "init",
        Some(json!({"id": "localhost/evt"})),
    )
    .await);
    let (s, p) = app
        .join("localhost/evt", json!({"displayName": "Ann"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "room",
        "kickOut",
        Some(json!({"id": "localhost/evt", "peerId": "all"})),
    )
    .await);
    ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "room",
        "destroy",
        Some(json!({"id": "localhost/evt"})),
    )
    .await);
    // Every delivery is attempted before run_once returns.
    while delivery::run_once(&app.state).await.unwrap() > 0 {}

    assert_eq!(events(manual), set(&MANUAL));
    assert_eq!(events(chosen_x), set(&["clientAdded"]));
    let mut everything = set(&MANUAL);
    everything.insert("bookingCancelled".into());
    assert_eq!(
        events(all),
        everything,
        "a native webhook gets every event by default"
    );
    assert_eq!(events(chosen), set(&["bookingCancelled", "roomCreated"]));
    // The xroom API knows the manual's events only.
    let msg = failed(
        xroom(&app, &c, Wrapper::Js, "webhook", "add", Some(json!({
            "domain": "localhost", "type": "url", "url": manual.url, "events": ["bookingCancelled"]
        })))
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(
        msg.contains("roomCreated, roomRemoved, clientAdded, clientsRemoved"),
        "{msg}"
    );
    assert_eq!(webhook_events(&app, &t, manual_id).await, json!(MANUAL));
}

#[tokio::test]
async fn the_upgrade_gives_earlier_xroom_webhooks_the_manuals_events() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    let c = &app.client;
    let data = json!({"domain": "localhost", "type": "url", "url": receiver.url});
    let w = ok(xroom(&app, c, Wrapper::Php, "webhook", "add", Some(data)).await);
    let from_xroom = w["id"].as_i64().unwrap();
    let native = native_hook_unvalidated(&app, &t, &receiver).await;
    // What the previous build stored: no filter at all.
    let row = webhook::Entity::find_by_id(from_xroom)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut row: webhook::ActiveModel = row.into();
    row.events = Set(None);
    row.update(&app.state.db).await.unwrap();
    assert_eq!(webhook_events(&app, &t, from_xroom).await, Value::Null);

    assert!(
        migration::Migrator::migrations()
            .iter()
            .any(|m| m.name() == "m20261201_000012_xroom_webhook_events"),
        "the fix runs as a migration"
    );
    assert_eq!(
        migration::filter_xroom_webhooks(&app.state.db)
            .await
            .unwrap(),
        1
    );
    assert_eq!(webhook_events(&app, &t, from_xroom).await, json!(MANUAL));
    assert_eq!(webhook_events(&app, &t, native).await, Value::Null);
}

async fn native_hook_unvalidated(app: &TestApp, t: &str, receiver: &Receiver) -> i64 {
    let body = json!({"domain": "localhost", "type": "url", "url": receiver.url});
    let (s, w) = app
        .call(t, Method::POST, &app.org_path("/webhooks"), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    w["content"]["webhookId"].as_i64().unwrap()
}
