//! Room passwords and host keys are stored sealed, in events too.
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use meetplane::{
    events::Event,
    store::entities::{event, server_setting},
};

use crate::{
    helpers::{TestApp, TestDb},
    receiver::Receiver,
    webhooks::validated_webhook,
};

/// A room password and host key no other text contains.
fn unique(prefix: &str) -> String {
    format!("{prefix}{}", Uuid::new_v4().simple())
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
