//! The committed OpenAPI document is exactly what the binary generates and serves.
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn committed_openapi_matches_the_code() {
    let generated = meetplane::api::openapi_json();
    assert!(
        generated == COMMITTED,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
}

#[tokio::test]
async fn the_server_serves_the_document_and_docs() {
    let app = TestApp::spawn().await;
    let resp = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let served: Value = resp.json().await.unwrap();
    let committed: Value = serde_json::from_str(COMMITTED).unwrap();
    assert!(
        served == committed,
        "the served document differs from openapi/openapi.json"
    );
    let resp = app.request(Method::GET, "/docs").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("swagger"));
}

#[test]
fn every_operation_documents_security_and_errors() {
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for scheme in ["TokenAuth", "SessionAuth", "ClientBasic", "PeerToken"] {
        assert!(schemes.contains_key(scheme), "{scheme} missing");
    }
    let public = [
        "/healthz",
        "/readyz",
        "/v1/rooms/{domain}/{name}/join",
        "/v1/auth/token",
        "/v1/session/{jwt}",
        // Sign-in and sign-out take no credentials (GET, the current session, does).
        "/v1/admin/session",
    ];
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            if path.starts_with("/v1") && path != "/v1/auth/token" {
                for status in ["400", "401", "404", "422", "500"] {
                    let problem =
                        &responses[status]["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(
                        problem, "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
            if !public.contains(&path.as_str()) {
                assert!(op["security"].is_array(), "{method} {path} has no security");
            }
        }
    }
}
