//! Nothing is lost on restart; the generated master key file is reused; a wrong master key
//! refuses to start instead of corrupting sealed data.
use std::sync::Arc;

use meetplane::{
    app::Application,
    auth::seal::{MasterKey, key_file_path},
    clock::SystemClock,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, TestDb, config_for};

#[tokio::test]
async fn orgs_clients_rooms_and_peers_survive_a_restart() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(
        &t,
        json!({"domain": "localhost", "name": "kept", "key": "pw", "addHostKey": true}),
    )
    .await;
    let (_, joined) = app
        .join("localhost/kept", json!({"displayName": "Ann", "key": "pw"}))
        .await;
    let peer_token = joined["content"]["peerToken"].as_str().unwrap().to_string();
    let org_id = app.org_id;

    let (db, key, client) = app.stop().await;
    let app = TestApp::start(db, key, Arc::new(SystemClock), Some(client)).await;
    assert_eq!(app.org_id, org_id);
    // The client's sealed secret still opens: a token is issued.
    let t = app.token().await;
    let (s, room) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/kept"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{room}");
    assert_eq!(room["content"]["key"], "pw");
    assert_eq!(room["content"]["peers"][0]["displayName"], "Ann");
    // The peer's token from before the restart still works.
    let resp = app
        .request(Method::POST, "/v1/rooms/localhost/kept/leave")
        .bearer_auth(&peer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_generated_master_key_file_is_reused_and_a_wrong_key_refused() {
    meetplane::install_crypto_provider();
    let db = TestDb::create().await;
    let mut config = config_for(&db, &MasterKey::generate());
    config.master_key = None;

    let app = Application::build(config.clone()).await.unwrap();
    let key_file = key_file_path(db.dir());
    let first_key = std::fs::read_to_string(&key_file).unwrap();
    let org = meetplane::domain::orgs::resolve(&app.state().db, "Default")
        .await
        .unwrap();
    let created = meetplane::domain::clients::create(
        app.state(),
        &meetplane::domain::audit::By::cli(org.id),
        "c",
    )
    .await
    .unwrap();
    app.state().db.clone().close().await.unwrap();
    drop(app);

    let app = Application::build(config.clone()).await.unwrap();
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), first_key);
    assert!(
        app.bootstrapped.is_none(),
        "the default org is created once"
    );
    let client = meetplane::domain::clients::authenticate(
        app.state(),
        &created.client.api_key,
        &created.secret,
    )
    .await
    .unwrap();
    assert!(
        client.is_some(),
        "the secret sealed before the restart opens"
    );
    app.state().db.clone().close().await.unwrap();
    drop(app);

    let mut wrong = config;
    wrong.master_key = Some(MasterKey::generate());
    let err = Application::build(wrong)
        .await
        .err()
        .expect("a wrong key is refused");
    assert!(err.to_string().contains("master key"), "{err}");
}
