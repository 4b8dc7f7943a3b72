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
