//! Housekeeping prunes what can no longer be used, and nothing else.
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use meetplane::{
    auth::{chat_checksum, xroom_hmac},
    clock::{Clock, ManualClock},
    domain::{chat_bridge_auth, clients, housekeeping, request_auth},
};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn spent_refresh_tokens_and_revoked_clients_salts_are_pruned() {
    let clock = ManualClock::new(Utc::now());
    let app =
        TestApp::spawn_configured(Arc::new(clock.clone()), |c| c.background_workers = false).await;
    let grant = |form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let resp = app
                .request(Method::POST, "/v1/auth/token")
                .basic_auth(&app.client.api_key, Some(&app.client.secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }
    };
    let (_, first) = grant(vec![("grant_type", "client_credentials".into())]).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_string();
    let (_, second) = grant(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", r1.clone()),
    ])
    .await;
    let r2 = second["refresh_token"].as_str().unwrap().to_string();

    // A revoked client's salts go; a live client's stay.
    let doomed = clients::create(
        &app.state,
        &meetplane::domain::audit::By::cli(app.org_id),
        "doomed",
    )
    .await
    .unwrap();
    for (id, secret) in [
        (&doomed.client.api_key, &doomed.secret),
        (&app.client.api_key, &app.client.secret),
    ] {
        let salt = "s".repeat(40);
        let key = xroom_hmac::sign(secret, &salt);
        request_auth::verify_xroom(
            &app.state,
            request_auth::SignedRequest {
                auth_id: Some(id),
                random: Some(&salt),
                auth_key: Some(&key),
            },
        )
        .await
        .unwrap();
    }
    let model = clients::find_by_api_key(&app.state.db, &doomed.client.api_key)
        .await
        .unwrap();
    clients::revoke(
        &app.state,
        &meetplane::domain::audit::By::cli(model.org_id),
        &model,
    )
    .await
    .unwrap();

    let pruned = housekeeping::run_once(&app.state).await.unwrap();
    assert_eq!(
        (pruned.refresh_tokens, pruned.salts),
        (0, 1),
        "a just-spent token is kept a day"
    );
    clock.advance(TimeDelta::days(2));
    let pruned = housekeeping::run_once(&app.state).await.unwrap();
    assert_eq!(pruned.refresh_tokens, 1);

    // The live refresh token still works; the live client's salt is still remembered.
    let (s, _) = grant(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", r2),
    ])
    .await;
    assert_eq!(s, StatusCode::OK);
    let salt = "s".repeat(40);
    let key = xroom_hmac::sign(&app.client.secret, &salt);
    let err = request_auth::verify_xroom(
        &app.state,
        request_auth::SignedRequest {
            auth_id: Some(&app.client.api_key),
            random: Some(&salt),
            auth_key: Some(&key),
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("used before"), "{err}");
}

/// A chat-bridge checksum is remembered for as long as it could be valid, and no longer.
#[tokio::test]
async fn chat_bridge_checksums_are_kept_while_they_could_be_valid() {
    let clock = ManualClock::new(Utc::now());
    let app =
        TestApp::spawn_configured(Arc::new(clock.clone()), |c| c.background_workers = false).await;
    let delta = app.state.config.chat.time_delta.as_secs() as i64;
    let json = r#"{"jid_room": "a@conference.localhost"}"#;
    // Made for the latest second the window accepts now: valid for 2 × delta from now.
    let t = clock.now().timestamp() + delta;
    let sum = chat_checksum::compute("startChatForRoom", json, &app.client.secret, t);
    let verify =
        || chat_bridge_auth::verify(&app.state, "startChatForRoom", json, Some(&sum), None);
    verify().await.unwrap();
    clock.advance(TimeDelta::seconds(2 * delta));
    assert_eq!(
        housekeeping::run_once(&app.state).await.unwrap().checksums,
        0
    );
    let err = verify().await.unwrap_err();
    assert!(err.to_string().contains("used before"), "{err}");
    // Past the window (whole seconds, so a second's margin), it no longer matches, and is
    // forgotten.
    clock.advance(TimeDelta::seconds(2));
    assert_eq!(
        housekeeping::run_once(&app.state).await.unwrap().checksums,
        1
    );
    let err = verify().await.unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}
