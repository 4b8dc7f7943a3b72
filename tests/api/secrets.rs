//! Room passwords and host keys: shown to the org's clients, owners and admins only (never to
//! a dashboard viewer, in answers or pushed events), and stored sealed, in events too.
use reqwest::{Method, StatusCode, header};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use meetplane::{
    events::Event,
    store::entities::{event, server_setting},
};

use crate::{
    admins::add_admin,
    helpers::{TestApp, TestDb, read},
    realtime::{Socket, next_of, send},
    receiver::Receiver,
    socket_credentials::{dashboard_socket, signed_in},
    webhooks::{settled, validated_webhook},
};

/// A room password and host key no other text contains.
fn unique(prefix: &str) -> String {
    format!("{prefix}{}", Uuid::new_v4().simple())
}

async fn get_as(app: &TestApp, cookie: &str, path: &str) -> Value {
    let (status, body) = read(
        app.request(Method::GET, path)
            .header(header::COOKIE, cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn room_created(socket: &mut Socket) -> (Value, Value) {
    let event = next_of(socket, "event").await;
    assert_eq!(event["event"], "roomCreated", "{event}");
    let robot = next_of(socket, "robot").await;
    (event["payload"].clone(), robot["body"]["payload"].clone())
}

#[tokio::test]
async fn viewers_see_no_room_passwords_or_host_keys_in_answers_or_events() {
    let app = TestApp::spawn().await;
    let token = app.token().await;
    add_admin(&app, "viewer@example.com", "viewer").await;
    add_admin(&app, "admin@example.com", "admin").await;
    let viewer = signed_in(&app, "viewer@example.com").await;
    let admin = signed_in(&app, "admin@example.com").await;
    let receiver = Receiver::start().await;
    let hook = validated_webhook(&app, &token, &receiver, json!({})).await;
    let (s, body) = app
        .call(
            &token,
            Method::POST,
            &app.org_path("/webhooks"),
            Some(json!(
            {"domain": "localhost", "type": "robot", "robotId": 7, "events": ["roomCreated"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mut sockets = Vec::new();
    for cookie in [&viewer, &admin] {
        let mut socket = dashboard_socket(&app.address, cookie).await;
        send(&mut socket, json!({"type": "subscribe", "robotId": 7})).await;
        next_of(&mut socket, "subscribed").await;
        sockets.push(socket);
    }

    let key = unique("room-key-");
    let created = app
        .create_room(
            &token,
            json!({"domain": "localhost", "name": "r", "key": key, "addHostKey": true}),
        )
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap().to_string();
    let (event, robot) = room_created(&mut sockets[0]).await;
    for payload in [&event, &robot] {
        assert_eq!(payload["room"]["name"], "r", "{payload}");
        let text = payload.to_string();
        assert!(!text.contains(&key) && !text.contains(&host_key), "{text}");
        assert!(
            !text.contains("password") && !text.contains("hostKey"),
            "{text}"
        );
    }
    let (event, robot) = room_created(&mut sockets[1]).await;
    for payload in [&event, &robot] {
        assert_eq!(
            (&payload["room"]["password"], &payload["room"]["hostKey"]),
            (&json!(key), &json!(host_key)),
            "an admin sees them: {payload}"
        );
    }

    let booking_key = unique("booking-key-");
    let start = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let (s, booked) = app
        .call(
            &token,
            Method::POST,
            &app.org_path("/bookings"),
            Some(json!({
            "domain": "localhost", "roomName": "booked", "startTime": start,
            "meetingOptions": {"duration": 30, "key": booking_key, "addHostKey": true}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{booked}");
    let booking_host_key = booked["content"]["meetingOptions"]["hostKey"]
        .as_str()
        .unwrap()
        .to_string();
    let id = booked["content"]["bookingId"].as_i64().unwrap();

    let delivered = settled(&app, &token, hook).await;
    let delivery = delivered["content"][0]["deliveryId"].as_i64().unwrap();
    let paths = [
        app.org_path("/bookings"),
        app.org_path(&format!("/bookings/{id}")),
        app.org_path("/rooms"),
        app.org_path("/rooms/localhost/r"),
        app.org_path(&format!("/webhooks/{hook}/deliveries/{delivery}/body")),
    ];
    let secrets = [&key, &host_key, &booking_key, &booking_host_key];
    for path in &paths {
        let text = get_as(&app, &viewer, path).await.to_string();
        for secret in secrets {
            assert!(!text.contains(secret.as_str()), "{path}: {text}");
        }
    }
    let as_admin: String =
        futures_util::future::join_all(paths.iter().map(|p| get_as(&app, &admin, p)))
            .await
            .iter()
            .map(Value::to_string)
            .collect();
    for secret in secrets {
        assert!(as_admin.contains(secret.as_str()), "an admin sees {secret}");
    }
}

/// Every file of the test's SQLite database (the database, its WAL), or a `pg_dump` of its
/// Postgres database, as bytes.
fn stored_bytes(db: &TestDb) -> Vec<u8> {
    match db {
        TestDb::Sqlite(dir) => {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    all.extend(std::fs::read(&path).unwrap());
                }
            }
            assert!(!all.is_empty());
            all
        }
        TestDb::Postgres { .. } => {
            let out = std::process::Command::new("pg_dump")
                .arg("--dbname")
                .arg(db.url())
                .output()
                .expect("pg_dump runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(String::from_utf8_lossy(&out.stdout).contains("CREATE TABLE public.events"));
            out.stdout
        }
    }
}

fn assert_not_stored(db: &TestDb, secrets: &[&str]) {
    let bytes = stored_bytes(db);
    for secret in secrets {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "{secret} is stored in clear");
    }
}

/// Create a room with a known password and host key; a validated webhook receives them.
async fn room_with_secrets(app: &TestApp, token: &str) -> (String, String, Receiver) {
    let receiver = Receiver::start().await;
    validated_webhook(app, token, &receiver, json!({})).await;
    let key = unique("room-key-");
    let created = app
        .create_room(
            token,
            json!({"domain": "localhost", "name": "sealed", "key": key, "addHostKey": true}),
        )
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap().to_string();
    let got = receiver.wait_for(2).await;
    let payload = &got[1].json["payload"]["room"];
    assert_eq!(
        (&payload["password"], &payload["hostKey"]),
        (&json!(key), &json!(host_key)),
        "the webhook receives them"
    );
    (key, host_key, receiver)
}

#[tokio::test]
async fn room_passwords_and_host_keys_are_sealed_in_stored_events() {
    let app = TestApp::spawn().await;
    let token = app.token().await;
    let (key, host_key, _receiver) = room_with_secrets(&app, &token).await;
    assert_not_stored(&app.db, &[&key, &host_key]);
}

/// Rows written by a build that stored them in clear are sealed when the server starts.
#[tokio::test]
async fn events_an_older_version_stored_in_clear_are_sealed_at_start() {
    let app = TestApp::spawn().await;
    let token = app.token().await;
    let (key, host_key, _receiver) = room_with_secrets(&app, &token).await;
    let row = event::Entity::find()
        .filter(event::Column::Kind.eq("roomCreated"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let id = row.id;
    let clear = Event::from_model(row.clone(), &app.state.sealer).payload;
    let mut legacy: event::ActiveModel = row.into();
    legacy.payload = Set(clear.to_string());
    legacy.secrets = Set(None);
    legacy.update(&app.state.db).await.unwrap();
    server_setting::Entity::delete_by_id("events.secrets_sealed")
        .exec(&app.state.db)
        .await
        .unwrap();

    let (db, master_key, client) = app.stop().await;
    let clock = std::sync::Arc::new(meetplane::clock::SystemClock);
    let app = TestApp::start(db, master_key, clock, Some(client)).await;
    let row = event::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.secrets.is_some(), "{row:?}");
    assert!(!row.payload.contains(&key) && !row.payload.contains(&host_key));
    assert_eq!(
        Event::from_model(row, &app.state.sealer).payload,
        clear,
        "deliveries and sockets still get them"
    );
    assert_not_stored(&app.db, &[&key, &host_key]);
}
