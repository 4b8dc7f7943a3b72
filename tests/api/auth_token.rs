//! The OAuth2 token endpoint: every grant and every RFC 6749 §5.2 error.
use std::sync::Arc;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{TimeDelta, Utc};
use meetplane::clock::ManualClock;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;

use crate::helpers::{TestApp, TestClient, assert_problem, read};

async fn grant(app: &TestApp, client: &TestClient, form: &[(&str, &str)]) -> (StatusCode, Value) {
    read(
        app.request(Method::POST, "/v1/auth/token")
            .basic_auth(&client.api_key, Some(&client.secret))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn root_status(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.call(token, Method::GET, "/v1", None).await
}

#[tokio::test]
async fn client_credentials_issue_a_jwt_usable_at_the_root() {
    let app = TestApp::spawn().await;
    let resp = app
        .request(Method::POST, "/v1/auth/token")
        .basic_auth(&app.client.api_key, Some(&app.client.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "meetplane-api");
    let access = body["access_token"].as_str().unwrap();
    // A JWT whose payload names the org (another public SDK decodes it).
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["org"], app.org_id.to_string());
    assert!(body["refresh_token"].as_str().unwrap().starts_with("mprt_"));

    let (status, root) = root_status(&app, access).await;
    assert_eq!(status, StatusCode::OK, "{root}");
    assert_eq!(root["content"]["orgId"], app.org_id.to_string());
    assert_eq!(root["content"]["active"], true);
    assert_eq!(root["_links"]["self"]["href"], "/v1");
    assert_eq!(
        root["_links"]["org"]["href"],
        format!("/v1/orgs/{}", app.org_id)
    );
    // The trailing-slash form of the root works too.
    let (status, _) = app.call(access, Method::GET, "/v1/", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn credentials_in_the_body_are_accepted() {
    let app = TestApp::spawn().await;
    let (status, body) = read(
        app.request(Method::POST, "/v1/auth/token")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &app.client.api_key),
                ("client_secret", &app.client.secret),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn assert_oauth_error(status: StatusCode, body: &Value, expected: StatusCode, error: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

#[tokio::test]
async fn bad_client_credentials_are_invalid_client_with_www_authenticate() {
    let app = TestApp::spawn().await;
    let wrong_secret = TestClient {
        secret: "mpsk_wrong".into(),
        ..app.client.clone()
    };
    let unknown = TestClient {
        api_key: "no-such-key".into(),
        ..app.client.clone()
    };
    for client in [&wrong_secret, &unknown] {
        let resp = app
            .request(Method::POST, "/v1/auth/token")
            .basic_auth(&client.api_key, Some(&client.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(
            resp.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    // Malformed Basic headers: not base64, no colon, wrong scheme, none at all.
    let no_colon = format!("Basic {}", STANDARD.encode("justakey"));
    for header_value in [
        "Basic !!!not-base64!!!",
        no_colon.as_str(),
        "Digest abc",
        "",
    ] {
        let mut req = app
            .request(Method::POST, "/v1/auth/token")
            .form(&[("grant_type", "client_credentials")]);
        if !header_value.is_empty() {
            req = req.header(header::AUTHORIZATION, header_value);
        }
        let (status, body) = read(req.send().await.unwrap()).await;
        assert_oauth_error(status, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    }
}

#[tokio::test]
async fn malformed_and_unsupported_grants() {
    let app = TestApp::spawn().await;
    let c = app.client.clone();
    let (s, b) = grant(&app, &c, &[("grant_type", "password")]).await;
    assert_oauth_error(s, &b, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let (s, b) = grant(&app, &c, &[("scope", "x")]).await;
    assert_oauth_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    let (s, b) = grant(&app, &c, &[("grant_type", "refresh_token")]).await;
    assert_oauth_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
    let (s, b) = grant(
        &app,
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "mprt_nope"),
        ],
    )
    .await;
    assert_oauth_error(s, &b, StatusCode::BAD_REQUEST, "invalid_grant");
    // A JSON body instead of a form.
    let (s, b) = read(
        app.request(Method::POST, "/v1/auth/token")
            .basic_auth(&c.api_key, Some(&c.secret))
            .json(&serde_json::json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_oauth_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_chain() {
    let app = TestApp::spawn().await;
    let c = app.client.clone();
    let (_, first) = grant(&app, &c, &[("grant_type", "client_credentials")]).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_string();

    // Refreshing right after issuing works and rotates the refresh token.
    let (s, second) = grant(
        &app,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    let a2 = second["access_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    assert_eq!(root_status(&app, &a2).await.0, StatusCode::OK);

    // An unrelated grant of the same client is a separate chain.
    let other = app.token().await;

    // Presenting the spent r1 again: refused, and everything of this chain dies.
    let (s, b) = grant(
        &app,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_oauth_error(s, &b, StatusCode::BAD_REQUEST, "invalid_grant");
    let (s, b) = root_status(&app, &a2).await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "token_revoked");
    let (s, b) = grant(
        &app,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_oauth_error(s, &b, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(root_status(&app, &other).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_refresh_token_only_works_for_its_own_client() {
    let app = TestApp::spawn().await;
    let (_, first) = grant(&app, &app.client, &[("grant_type", "client_credentials")]).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let created = meetplane::domain::clients::create(
        &app.state,
        &meetplane::domain::audit::By::cli(app.org_id),
        "second",
    )
    .await
    .unwrap();
    let second = TestClient {
        org_id: app.org_id,
        api_key: created.client.api_key,
        secret: created.secret,
    };
    let (s, b) = grant(
        &app,
        &second,
        &[("grant_type", "refresh_token"), ("refresh_token", r1)],
    )
    .await;
    assert_oauth_error(s, &b, StatusCode::BAD_REQUEST, "invalid_grant");
    // The rightful owner can still use it.
    let (s, _) = grant(
        &app,
        &app.client,
        &[("grant_type", "refresh_token"), ("refresh_token", r1)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_client_stops_at_once() {
    let app = TestApp::spawn().await;
    let c = app.client.clone();
    let (_, issued) = grant(&app, &c, &[("grant_type", "client_credentials")]).await;
    let access = issued["access_token"].as_str().unwrap();
    let refresh = issued["refresh_token"].as_str().unwrap();
    assert_eq!(root_status(&app, access).await.0, StatusCode::OK);

    // Revoke through the API, using another client's token of the same org.
    let created = meetplane::domain::clients::create(
        &app.state,
        &meetplane::domain::audit::By::cli(app.org_id),
        "admin",
    )
    .await
    .unwrap();
    let admin = TestClient {
        org_id: app.org_id,
        api_key: created.client.api_key,
        secret: created.secret,
    };
    let admin_token = app.token_for(&admin).await;
    let client_id = meetplane::domain::clients::find_by_api_key(&app.state.db, &c.api_key)
        .await
        .unwrap()
        .id;
    let (s, b) = app
        .call(
            &admin_token,
            Method::DELETE,
            &app.org_path(&format!("/clients/{client_id}")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["content"]["active"], false);
    assert!(b["content"]["revokedAt"].is_string());

    let (s, b) = root_status(&app, access).await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "client_revoked");
    let (s, b) = grant(&app, &c, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_client");
    let (s, b) = grant(
        &app,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_oauth_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn expired_and_forged_access_tokens_are_refused() {
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_with_clock(Arc::new(clock.clone())).await;
    let token = app.token().await;
    assert_eq!(root_status(&app, &token).await.0, StatusCode::OK);
    clock.advance(TimeDelta::hours(2));
    let (s, b) = root_status(&app, &token).await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "token_expired");

    let (s, b) = root_status(&app, "not.a.jwt").await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    // A token signed by another server (another signing key) is refused.
    let other = TestApp::spawn().await;
    let foreign = other.token().await;
    let (s, b) = root_status(&app, &foreign).await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    // No header at all.
    let (s, b) = read(app.request(Method::GET, "/v1").send().await.unwrap()).await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");
}
