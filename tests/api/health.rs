use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, read};

#[tokio::test]
async fn liveness_and_readiness() {
    let app = TestApp::spawn().await;
    let (s, b) = read(app.request(Method::GET, "/healthz").send().await.unwrap()).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"status": "ok"})));
    let (s, b) = read(app.request(Method::GET, "/readyz").send().await.unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["database"], "ok");
    assert_eq!(b["pendingMigrations"], json!([]));
    assert_eq!(b["unknownMigrations"], json!([]));
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.state.db.clone().close().await.unwrap();
    let (s, b) = read(app.request(Method::GET, "/readyz").send().await.unwrap()).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert_eq!(b["status"], "unavailable");
    assert_ne!(b["database"], "ok");
    // Liveness does not depend on the database.
    let (s, _) = read(app.request(Method::GET, "/healthz").send().await.unwrap()).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let id_of = |resp: &reqwest::Response| {
        resp.headers()
            .get("x-request-id")
            .expect("an x-request-id header")
            .to_str()
            .unwrap()
            .to_string()
    };
    // The caller's id is echoed, on success and on errors alike.
    let resp = app
        .request(reqwest::Method::GET, "/healthz")
        .header("x-request-id", "client-42.abc")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&resp), "client-42.abc");
    let resp = app
        .request(reqwest::Method::GET, "/v1/orgs")
        .header("x-request-id", "client-43")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::NOT_FOUND);
    assert_eq!(id_of(&resp), "client-43");
    // Without one, or with one unfit for logs, the server makes its own.
    let made = id_of(
        &app.request(reqwest::Method::GET, "/healthz")
            .send()
            .await
            .unwrap(),
    );
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let resp = app
        .request(reqwest::Method::GET, "/healthz")
        .header("x-request-id", "a".repeat(129))
        .send()
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(&id_of(&resp)).is_ok());
}
