//! The xroom surface, called exactly as the public wrappers call it: headers, salts of each
//! wrapper's kind, the envelope, every method with the seed's shapes, and Appendix B.
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use meetplane::{auth::xroom_hmac, clock::ManualClock, scheduler};
use rand::{Rng, distr::Alphanumeric};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, TestClient, read},
    receiver::{Receiver, Reply},
};

#[derive(Clone, Copy)]
pub enum Wrapper {
    /// JS and Python: 32 random bytes as 64 hex characters.
    Js,
    /// PHP: 32 characters from `[a-zA-Z0-9.,!#%=?+-]`.
    Php,
    /// Java and C#: 32 alphanumerics.
    Java,
}

fn salt(w: Wrapper) -> String {
    match w {
        Wrapper::Js => hex::encode(rand::random::<[u8; 32]>()),
        Wrapper::Php => {
            const CHARS: &[u8] =
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!#%=?+-";
            let mut rng = rand::rng();
            (0..32)
                .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
                .collect()
        }
        Wrapper::Java => rand::rng()
            .sample_iter(Alphanumeric)
            .take(32)
            .map(char::from)
            .collect(),
    }
}

/// One signed call, as a wrapper sends it.
pub async fn xroom(
    app: &TestApp,
    client: &TestClient,
    w: Wrapper,
    collection: &str,
    method: &str,
    data: Option<Value>,
) -> (StatusCode, Value) {
    let salt = salt(w);
    let mut body = json!({"method": method});
    if let Some(d) = data {
        body["data"] = d;
    }
    read(
        app.request(Method::POST, &format!("/api/{collection}"))
            .header("x-api-version", "2")
            .header("x-random", &salt)
            .header("x-auth-id", &client.api_key)
            .header("x-auth-key", xroom_hmac::sign(&client.secret, &salt))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub fn ok(r: (StatusCode, Value)) -> Value {
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["isError"], false, "{}", r.1);
    r.1["data"].clone()
}

pub fn failed(r: (StatusCode, Value), status: StatusCode) -> String {
    assert_eq!(r.0, status, "{}", r.1);
    assert_eq!(r.1["isError"], true, "{}", r.1);
    r.1["errMsg"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn room_methods_with_every_wrappers_signature() {
    let app = TestApp::spawn().await;
    let c = app.client.clone();
    for w in [Wrapper::Js, Wrapper::Php, Wrapper::Java] {
        ok(xroom(&app, &c, w, "room", "list", None).await);
    }
    let init = ok(xroom(&app, &c, Wrapper::Php, "room", "init", Some(json!({"id": "localhost/my-room", "type": 2, "lock": false, "key": "pw", "addHostKey": true}))).await);
    assert_eq!(
        (
            init["id"].clone(),
            init["type"].clone(),
            init["isLocked"].clone(),
            init["key"].clone()
        ),
        (
            json!("localhost/my-room"),
            json!(2),
            json!(false),
            json!("pw")
        )
    );
    let host_key = init["hostKey"].as_str().unwrap().to_string();
    let plain = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "room",
        "init",
        Some(json!({"id": "localhost/plain"})),
    )
    .await);
    assert_eq!(
        (
            plain["type"].clone(),
            plain["isLocked"].clone(),
            plain.get("hostKey").is_none()
        ),
        (json!(1), json!(false), true)
    );

    let (_, host) = app
        .join(
            "localhost/my-room",
            json!({"displayName": "Host", "hostKey": host_key}),
        )
        .await;
    let (_, viewer) = app
        .join(
            "localhost/my-room",
            json!({"displayName": "Viewer", "key": "pw"}),
        )
        .await;
    let list = ok(xroom(
        &app,
        &c,
        Wrapper::Java,
        "room",
        "list",
        Some(json!({"domain": "localhost"})),
    )
    .await);
    let room = &list["localhost"]["localhost/my-room"];
    assert_eq!(
        room["options"],
        json!({"type": 2, "isLocked": false, "password": "pw"})
    );
    let types: Vec<i64> = room["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_i64().unwrap())
        .collect();
    assert_eq!(types, [3, 4]);
    assert!(list["localhost"]["localhost/plain"].is_object());

    assert_eq!(
        ok(xroom(
            &app,
            &c,
            Wrapper::Js,
            "room",
            "setLock",
            Some(json!({"id": "localhost/my-room", "lock": true}))
        )
        .await),
        json!(true)
    );
    assert_eq!(
        ok(xroom(
            &app,
            &c,
            Wrapper::Js,
            "room",
            "setPassword",
            Some(json!({"id": "localhost/my-room", "password": null}))
        )
        .await),
        json!(true)
    );
    let list = ok(xroom(&app, &c, Wrapper::Js, "room", "list", None).await);
    assert_eq!(
        list["localhost"]["localhost/my-room"]["options"],
        json!({"type": 2, "isLocked": true, "password": null})
    );

    let viewer_id = viewer["content"]["peer"]["id"].clone();
    assert_eq!(
        ok(xroom(
            &app,
            &c,
            Wrapper::Php,
            "room",
            "kickOut",
            Some(json!({"id": "localhost/my-room", "peerId": viewer_id}))
        )
        .await),
        json!(true)
    );
    let msg = failed(
        xroom(
            &app,
            &c,
            Wrapper::Php,
            "room",
            "destroy",
            Some(json!({"id": "localhost/my-room"})),
        )
        .await,
        StatusCode::CONFLICT,
    );
    assert!(msg.contains("forceKick"), "{msg}");
    assert_eq!(
        ok(xroom(
            &app,
            &c,
            Wrapper::Php,
            "room",
            "destroy",
            Some(json!({"id": "localhost/my-room", "forceKick": true}))
        )
        .await),
        json!(true)
    );
    assert!(host["content"]["peer"]["id"].is_string());
    let msg = failed(
        xroom(
            &app,
            &c,
            Wrapper::Js,
            "room",
            "kickOut",
            Some(json!({"id": "localhost/my-room", "peerId": "all"})),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    assert!(msg.contains("room"), "{msg}");

    // Every change made through xroom is in the audit log; reads and failures are not.
    let token = app.token().await;
    let (_, log) = app
        .call(
            &token,
            Method::GET,
            &app.org_path("/audit?action=room."),
            None,
        )
        .await;
    let seen: Vec<(&str, &str)> = log["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["detail"]["via"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        &seen[..5],
        [
            ("room.destroyed", "xroom"),
            ("room.kicked", "xroom"),
            ("room.password_changed", "xroom"),
            ("room.locked", "xroom"),
            ("room.host_entered", ""),
        ],
        "{log}"
    );
    assert_eq!(log["content"][0]["sourceIp"], "127.0.0.1");
}

#[tokio::test]
async fn bad_calls_get_the_envelope_and_a_fitting_status() {
    let app = TestApp::spawn().await;
    let c = app.client.clone();
    let send = |headers: Vec<(&'static str, String)>, body: &'static str| {
        let mut req = app
            .request(Method::POST, "/api/room")
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { read(req.send().await.unwrap()).await }
    };
    let signed = |salt: String, key: &str| {
        vec![
            ("x-api-version", "2".to_string()),
            ("x-auth-key", xroom_hmac::sign(key, &salt)),
            ("x-random", salt),
            ("x-auth-id", c.api_key.clone()),
        ]
    };
    let good_salt = salt(Wrapper::Js);
    assert_eq!(
        send(signed(good_salt.clone(), &c.secret), r#"{"method":"list"}"#)
            .await
            .0,
        StatusCode::OK
    );
    let msg = failed(
        send(signed(good_salt, &c.secret), r#"{"method":"list"}"#).await,
        StatusCode::UNAUTHORIZED,
    );
    assert!(msg.contains("used before"), "replayed salt: {msg}");
    // U+0000 cannot be stored (Postgres): a clear 422, never a database error.
    let msg = failed(
        send(
            signed(salt(Wrapper::Js), &c.secret),
            r#"{"method":"init","data":{"id":"localhost/n\u0000ul"}}"#,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(msg.contains("data.id"), "{msg}");
    failed(
        send(signed("a".repeat(31), &c.secret), r#"{"method":"list"}"#).await,
        StatusCode::UNAUTHORIZED,
    );
    failed(
        send(
            signed(salt(Wrapper::Java), "wrong secret"),
            r#"{"method":"list"}"#,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    );
    let mut unknown = signed(salt(Wrapper::Java), &c.secret);
    unknown[3].1 = "nobody".into();
    failed(
        send(unknown, r#"{"method":"list"}"#).await,
        StatusCode::UNAUTHORIZED,
    );
    let mut no_version = signed(salt(Wrapper::Php), &c.secret);
    no_version.remove(0);
    let msg = failed(
        send(no_version, r#"{"method":"list"}"#).await,
        StatusCode::BAD_REQUEST,
    );
    assert!(msg.contains("x-api-version"), "{msg}");
    let mut v1 = signed(salt(Wrapper::Php), &c.secret);
    v1[0].1 = "1".into();
    failed(
        send(v1, r#"{"method":"list"}"#).await,
        StatusCode::BAD_REQUEST,
    );
    let msg = failed(
        send(
            signed(salt(Wrapper::Js), &c.secret),
            r#"{"method":"explode"}"#,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert!(
        msg.contains("init, destroy, kickOut, setLock, setPassword, list"),
        "{msg}"
    );
    failed(
        send(signed(salt(Wrapper::Js), &c.secret), "{not json").await,
        StatusCode::BAD_REQUEST,
    );
    failed(
        send(signed(salt(Wrapper::Js), &c.secret), r#"{"data":{}}"#).await,
        StatusCode::BAD_REQUEST,
    );
    let msg = failed(
        send(
            signed(salt(Wrapper::Js), &c.secret),
            r#"{"method":"init","data":{"id":"localhost"}}"#,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(msg.contains("data.id"), "{msg}");
    let msg = failed(
        send(
            signed(salt(Wrapper::Js), &c.secret),
            r#"{"method":"init","data":{"type":1}}"#,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(msg.contains("data.id"), "{msg}");

    // A revoked client, and another org's domain.
    let other = app.other_org("Other", "other.example").await;
    let msg = failed(
        xroom(
            &app,
            &other,
            Wrapper::Js,
            "room",
            "init",
            Some(json!({"id": "localhost/steal"})),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    assert!(msg.contains("domain"), "{msg}");
    let model = meetplane::domain::clients::find_by_api_key(&app.state.db, &other.api_key)
        .await
        .unwrap();
    meetplane::domain::clients::revoke(
        &app.state,
        &meetplane::domain::audit::By::cli(model.org_id),
        &model,
    )
    .await
    .unwrap();
    failed(
        xroom(&app, &other, Wrapper::Js, "room", "list", None).await,
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn booking_and_webhook_methods_with_the_seed_shapes() {
    let clock = ManualClock::new(Utc::now());
    let app =
        TestApp::spawn_configured(Arc::new(clock.clone()), |c| c.background_workers = false).await;
    let c = app.client.clone();
    let start = clock_now(&clock) + TimeDelta::hours(1);
    let added = ok(xroom(&app, &c, Wrapper::Js, "booking", "add", Some(json!({
        "domain": "localhost", "roomName": "board", "startTime": start.timestamp_millis(),
        "meetingOptions": {"duration": 45, "lock": true, "type": 1, "capacity": 8, "key": "pw", "addHostKey": true}
    }))).await);
    let id = added["id"].as_i64().unwrap();
    assert!(added["hostKey"].is_string());
    let got = ok(xroom(
        &app,
        &c,
        Wrapper::Php,
        "booking",
        "get",
        Some(json!({"id": id})),
    )
    .await);
    assert_eq!(got["domainName"], "localhost");
    assert_eq!(got["roomName"], "board");
    assert_eq!(
        got["startTime"],
        start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    assert_eq!(got["meetingOptions"]["duration"], 45);
    assert_eq!(
        (
            got["meetingOptions"]["isLocked"].clone(),
            got["meetingOptions"]["capacity"].clone(),
            got["meetingOptions"]["password"].clone()
        ),
        (json!(true), json!(8), json!("pw"))
    );
    assert_eq!(got["meetingOptions"]["hostKey"], added["hostKey"]);

    let later = (start + TimeDelta::hours(1)).to_rfc3339();
    let updated = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "booking",
        "update",
        Some(json!({"id": id, "startTime": later, "meetingOptions": {"duration": 30}})),
    )
    .await);
    assert_eq!(updated["hostKey"], added["hostKey"]);
    let msg = failed(xroom(&app, &c, Wrapper::Js, "booking", "add", Some(json!({"domain": "localhost", "roomName": "board", "startTime": later, "meetingOptions": {"duration": 10}}))).await, StatusCode::CONFLICT);
    assert!(msg.contains(&format!("booking {id}")), "{msg}");
    failed(xroom(&app, &c, Wrapper::Js, "booking", "add", Some(json!({"domain": "localhost", "roomName": "x", "startTime": "next tuesday", "meetingOptions": {"duration": 10}}))).await, StatusCode::UNPROCESSABLE_ENTITY);
    // Times are RFC 3339 with four-digit years: a booking must end by 9999-12-31T23:59:59Z.
    let last_hour = "9999-12-31T23:00:00Z";
    let msg = failed(xroom(&app, &c, Wrapper::Js, "booking", "add", Some(json!({"domain": "localhost", "roomName": "x", "startTime": last_hour, "meetingOptions": {"duration": 120}}))).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(msg.contains("9999-12-31T23:59:59Z"), "{msg}");
    let msg = failed(
        xroom(
            &app,
            &c,
            Wrapper::Js,
            "booking",
            "update",
            Some(json!({"id": id, "startTime": last_hour, "meetingOptions": {"duration": 120}})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(msg.contains("9999-12-31T23:59:59Z"), "{msg}");
    let list = ok(xroom(
        &app,
        &c,
        Wrapper::Java,
        "booking",
        "list",
        Some(json!({"domain": "localhost"})),
    )
    .await);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        ok(xroom(
            &app,
            &c,
            Wrapper::Java,
            "booking",
            "remove",
            Some(json!({"id": id}))
        )
        .await),
        json!(true)
    );
    assert_booking_gone(&app, id).await;
    // The native API keeps it, with its state.
    let t = app.token().await;
    let (s, native) = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/bookings/{id}")),
            None,
        )
        .await;
    assert_eq!(
        (s, native["content"]["state"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );

    // Webhooks: add (url and robot), list, validate with the seed's handshake, remove.
    let receiver = Receiver::start().await;
    let w = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "webhook",
        "add",
        Some(json!({"domain": "localhost", "type": "url", "url": receiver.url})),
    )
    .await);
    assert_eq!(w["validated"], false);
    let robot = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "webhook",
        "add",
        Some(json!({"domain": "localhost", "type": "robot", "robotId": 9, "roomName": "r"})),
    )
    .await);
    assert_eq!(robot["validated"], true);
    let t = app.token().await;
    let (_, d) = app
        .call(&t, Method::GET, &app.org_path("/domains/localhost"), None)
        .await;
    receiver.answer_next(Reply::Validate(
        d["content"]["webhookKey"].as_str().unwrap().into(),
    ));
    let v = ok(xroom(
        &app,
        &c,
        Wrapper::Php,
        "webhook",
        "validate",
        Some(json!({"id": w["id"]})),
    )
    .await);
    assert_eq!(v, json!({"validated": true}));
    assert_eq!(receiver.received()[0].json["event"], "validation");
    let list = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "webhook",
        "list",
        Some(json!({"domain": "localhost"})),
    )
    .await);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let robots = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "webhook",
        "list",
        Some(json!({"domain": "localhost", "token": "r", "validated": true})),
    )
    .await);
    assert_eq!(robots[0]["robotId"], 9);
    assert_eq!(robots[0]["roomName"], "r");
    assert_eq!(
        ok(xroom(
            &app,
            &c,
            Wrapper::Js,
            "webhook",
            "remove",
            Some(json!({"id": robot["id"]}))
        )
        .await),
        json!(true)
    );
    failed(
        xroom(&app, &c, Wrapper::Js, "webhook", "list", Some(json!({}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );

    // Deliveries to a webhook added here carry the seed's event body.
    ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "room",
        "init",
        Some(json!({"id": "localhost/evented"})),
    )
    .await);
    while meetplane::domain::delivery_worker::run_once(&app.state)
        .await
        .unwrap()
        > 0
    {}
    let got = receiver.wait_for(2).await;
    let body = &got[1].json;
    assert_eq!(
        (
            body["event"].clone(),
            body["domain"].clone(),
            body["webhookId"].clone()
        ),
        (json!("roomCreated"), json!("localhost"), w["id"].clone())
    );
    assert_eq!(body["payload"]["room"]["name"], "evented");
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<Utc> {
    use meetplane::clock::Clock;
    clock.now()
}

#[tokio::test]
async fn appendix_b_booking_a_private_room() {
    let clock = ManualClock::new(Utc::now());
    let app =
        TestApp::spawn_configured(Arc::new(clock.clone()), |c| c.background_workers = false).await;
    let c = app.client.clone();
    // 1. Book the room in advance.
    let start = clock_now(&clock) + TimeDelta::minutes(30);
    ok(xroom(&app, &c, Wrapper::Php, "booking", "add", Some(json!({"domain": "localhost", "roomName": "private", "startTime": start.to_rfc3339(), "meetingOptions": {"duration": 60}}))).await);
    let msg = failed(
        xroom(
            &app,
            &c,
            Wrapper::Php,
            "room",
            "init",
            Some(json!({"id": "localhost/private"})),
        )
        .await,
        StatusCode::CONFLICT,
    );
    assert!(msg.contains("booking"), "{msg}");
    // The scheduler activates it when the time comes.
    clock.advance(TimeDelta::minutes(30));
    assert_eq!(scheduler::run_once(&app.state).await.unwrap(), 1);
    // 2-3. room/init with addHostKey (and a password for participants) returns the host key.
    let init = ok(xroom(
        &app,
        &c,
        Wrapper::Php,
        "room",
        "init",
        Some(json!({"id": "localhost/private", "addHostKey": true, "key": "guests"})),
    )
    .await);
    let host_key = init["hostKey"].as_str().unwrap();
    // 4. The host enters with the host key; everyone else is not a host.
    let (s, host) = app
        .join(
            "localhost/private",
            json!({"displayName": "Host", "hostKey": host_key}),
        )
        .await;
    assert_eq!(
        (s, host["content"]["peer"]["type"].clone()),
        (StatusCode::CREATED, json!(1))
    );
    let (s, guest) = app
        .join(
            "localhost/private",
            json!({"displayName": "Guest", "key": "guests"}),
        )
        .await;
    assert_eq!(
        (s, guest["content"]["peer"]["type"].clone()),
        (StatusCode::CREATED, json!(2))
    );
    let (s, _) = app
        .join("localhost/private", json!({"displayName": "Gatecrasher"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the password guards the others");
}

#[tokio::test]
async fn the_php_wrappers_empty_data_and_a_non_ascii_room_name() {
    let app = TestApp::spawn().await;
    let c = app.client.clone();
    let send = |body: &'static str| {
        let salt = salt(Wrapper::Php);
        let req = app
            .request(Method::POST, "/api/room")
            .header("content-type", "application/json")
            .header("x-api-version", "2")
            .header("x-auth-key", xroom_hmac::sign(&c.secret, &salt))
            .header("x-random", salt)
            .header("x-auth-id", c.api_key.clone())
            .body(body);
        async move { read(req.send().await.unwrap()).await }
    };
    // PHP's json_encode([]) is `[]`: the same as no data.
    ok(send(r#"{"method":"init","data":{"id":"localhost/php"}}"#).await);
    let listed = ok(send(r#"{"method":"list","data":[]}"#).await);
    assert!(listed["localhost"]["localhost/php"].is_object(), "{listed}");
    // Only an empty array: a list with items is still not an object.
    let msg = failed(
        send(r#"{"method":"list","data":[1]}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(msg.contains("object"), "{msg}");
    // Non-ASCII letters are refused, and the message says which letters pass.
    let msg = failed(
        xroom(
            &app,
            &c,
            Wrapper::Js,
            "room",
            "init",
            Some(json!({"id": "localhost/café"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(msg.contains("ASCII letters"), "{msg}");
}

/// Through `/api/booking` a removed or finished booking is gone: `get`, `remove` and `update`
/// answer the not-found envelope and `list` leaves it out.
async fn assert_booking_gone(app: &TestApp, id: i64) {
    let c = &app.client;
    for (method, data) in [
        ("get", json!({"id": id})),
        ("remove", json!({"id": id})),
        (
            "update",
            json!({"id": id, "meetingOptions": {"duration": 20}}),
        ),
    ] {
        let msg = failed(
            xroom(app, c, Wrapper::Php, "booking", method, Some(data)).await,
            StatusCode::NOT_FOUND,
        );
        assert!(msg.contains("booking"), "{method}: {msg}");
    }
    let list = ok(xroom(
        app,
        c,
        Wrapper::Java,
        "booking",
        "list",
        Some(json!({"domain": "localhost"})),
    )
    .await);
    assert!(
        list.as_array().unwrap().iter().all(|b| b["id"] != id),
        "{list}"
    );
}

#[tokio::test]
async fn finished_bookings_are_gone_from_the_xroom_surface_only() {
    let clock = ManualClock::new(Utc::now());
    let app =
        TestApp::spawn_configured(Arc::new(clock.clone()), |c| c.background_workers = false).await;
    let c = app.client.clone();
    let start = clock_now(&clock) + TimeDelta::minutes(10);
    let book = |room: &'static str| {
        xroom(
            &app,
            &c,
            Wrapper::Js,
            "booking",
            "add",
            Some(json!({
                "domain": "localhost", "roomName": room, "startTime": start.timestamp_millis(),
                "meetingOptions": {"duration": 30}
            })),
        )
    };
    let used = ok(book("used").await)["id"].as_i64().unwrap();
    let unused = ok(book("unused").await)["id"].as_i64().unwrap();
    // Active bookings hold their room: still listed, as the manual's BookingObject (no state).
    clock.advance(TimeDelta::minutes(10));
    assert_eq!(scheduler::run_once(&app.state).await.unwrap(), 2);
    let listed = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "booking",
        "list",
        Some(json!({"domain": "localhost"})),
    )
    .await);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let got = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "booking",
        "get",
        Some(json!({"id": used})),
    )
    .await);
    let mut keys: Vec<&str> = got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "domainName",
            "id",
            "meetingOptions",
            "roomName",
            "startTime"
        ]
    );
    // One is used, the other not: after the grace one expires, after its end the other completes.
    let (s, b) = app
        .join("localhost/used", json!({"displayName": "Ann"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    clock.advance(TimeDelta::minutes(31));
    while scheduler::run_once(&app.state).await.unwrap() > 0 {}
    let t = app.token().await;
    for (id, state) in [(used, "completed"), (unused, "expired")] {
        assert_booking_gone(&app, id).await;
        let (_, native) = app
            .call(
                &t,
                Method::GET,
                &app.org_path(&format!("/bookings/{id}")),
                None,
            )
            .await;
        assert_eq!(native["content"]["state"], state, "{native}");
    }
}

/// Whom to kick is read by one rule on every surface: trimmed, and a malformed target is the
/// caller's mistake (422 naming `peerId`), not an unknown peer.
#[tokio::test]
async fn kick_targets_parse_the_same_through_xroom_and_the_native_api() {
    let app = TestApp::spawn().await;
    let c = app.client.clone();
    ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "room",
        "init",
        Some(json!({"id": "localhost/k"})),
    )
    .await);
    let (_, guest) = app
        .join("localhost/k", json!({"displayName": "Guest"}))
        .await;
    let guest_id = guest["content"]["peer"]["id"].as_str().unwrap().to_string();
    for bad in ["nobody", "ALL"] {
        let msg = failed(
            xroom(
                &app,
                &c,
                Wrapper::Js,
                "room",
                "kickOut",
                Some(json!({"id": "localhost/k", "peerId": bad})),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        assert!(msg.contains("peerId"), "{msg}");
        let token = app.token().await;
        let (status, body) = app
            .call(
                &token,
                Method::POST,
                &app.org_path("/rooms/localhost/k/kick"),
                Some(json!({"peerId": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    // A padded id names the peer on xroom as it does natively.
    let padded = format!(" {guest_id} ");
    assert_eq!(
        ok(xroom(
            &app,
            &c,
            Wrapper::Php,
            "room",
            "kickOut",
            Some(json!({"id": "localhost/k", "peerId": padded}))
        )
        .await),
        json!(true)
    );
}

/// A domain name is one name on every surface: case and the DNS root's trailing dot do not
/// make another domain, for the native API, public links and xroom alike.
#[tokio::test]
async fn a_domain_name_with_a_trailing_dot_is_the_same_domain_everywhere() {
    let app = TestApp::spawn().await;
    let c = app.client.clone();
    let token = app.token().await;
    let (status, body) = app
        .call(
            &token,
            Method::POST,
            &app.org_path("/rooms"),
            Some(json!({"domain": "LocalHost.", "name": "dotted"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .join("LOCALHOST./dotted", json!({"displayName": "Guest"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["content"]["room"], "localhost/dotted");
    let listed = ok(xroom(
        &app,
        &c,
        Wrapper::Js,
        "room",
        "list",
        Some(json!({"domain": "LocalHost."})),
    )
    .await);
    assert!(
        listed["localhost"]["localhost/dotted"].is_object(),
        "{listed}"
    );
}
