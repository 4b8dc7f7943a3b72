//! Domains: registration, settings, and the webhook key receivers need.
use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn register_read_update_and_rotate_a_domain() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let (s, list) = app
        .call(&t, Method::GET, &app.org_path("/domains"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["content"][0]["name"], "localhost");
    assert_eq!(list["content"][0]["isDefault"], true);

    let (s, created) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/domains"),
            Some(json!({"name": "Chat.Example.ORG."})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let d = &created["content"];
    assert_eq!(d["name"], "chat.example.org");
    assert_eq!(d["isDefault"], false);
    assert_eq!(
        d["forbidNonApiRooms"], true,
        "rooms through the API only, by default"
    );
    let key = d["webhookKey"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 32);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        d["signingSecret"],
        format!("whsec_{}", STANDARD.encode(key.as_bytes()))
    );

    let path = app.org_path("/domains/chat.example.org");
    let (s, got) = app.call(&t, Method::GET, &path, None).await;
    assert_eq!(
        (s, &got["content"]["webhookKey"]),
        (StatusCode::OK, &json!(key))
    );

    let (s, patched) = app
        .call(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"forbidNonApiRooms": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["content"]["forbidNonApiRooms"], true);

    let (s, rotated) = app
        .call(&t, Method::POST, &format!("{path}/rotate-key"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    assert_ne!(rotated["content"]["webhookKey"], json!(key));
    let (_, again) = app.call(&t, Method::GET, &path, None).await;
    assert_eq!(
        again["content"]["webhookKey"],
        rotated["content"]["webhookKey"]
    );

    // Rooms can be created in the new domain.
    app.create_room(&t, json!({"domain": "chat.example.org", "name": "lobby"}))
        .await;
}

#[tokio::test]
async fn domain_names_are_validated_and_unique() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    for bad in ["", "a..b", "-x.org", "a_b.org", "bücher.de"] {
        let (s, b) = app
            .call(
                &t,
                Method::POST,
                &app.org_path("/domains"),
                Some(json!({"name": bad})),
            )
            .await;
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(b["errors"][0]["field"], "name");
    }
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/domains"),
            Some(json!({"name": "localhost"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "domain_exists");
    let (s, b) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/domains/unknown.example"),
            None,
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "domain_not_found");
}
