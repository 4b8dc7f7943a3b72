//! The committed OpenAPI document is exactly what the binary generates and serves.
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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

/// Generated clients name their functions after operationIds (without them
/// openapi-python-client made `get_v_1_orgs_org_id_rooms`), so every operation has one:
/// unique, lowerCamelCase.
#[test]
fn every_operation_has_a_unique_camel_case_id() {
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let mut seen = std::collections::HashSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                id.starts_with(|c: char| c.is_ascii_lowercase())
                    && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "{method} {path}: {id} is not lowerCamelCase"
            );
            assert!(seen.insert(id.to_string()), "{id} is used twice");
        }
    }
}

/// Every `null` in `value` must sit where `schema` says `nullable: true`. Generated clients
/// (openapi-python-client, schemathesis' response checks) read a property that is not nullable
/// as "absent or of its type", so a `null` there breaks them.
fn undocumented_nulls(
    doc: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    found: &mut Vec<String>,
) {
    if let Some(name) = schema["$ref"].as_str() {
        let name = name.trim_start_matches("#/components/schemas/");
        return undocumented_nulls(doc, &doc["components"]["schemas"][name], value, at, found);
    }
    if value.is_null() {
        if schema["nullable"] != true {
            found.push(at.to_string());
        }
        return;
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        undocumented_nulls(doc, part, value, at, found);
    }
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let declared = &schema["properties"][key];
                let sub = if declared.is_null() {
                    &schema["additionalProperties"]
                } else {
                    declared
                };
                if sub.is_object() {
                    undocumented_nulls(doc, sub, field, &format!("{at}.{key}"), found);
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, item) in items.iter().enumerate() {
                undocumented_nulls(doc, &schema["items"], item, &format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn answers_send_null_only_where_the_document_allows_it() {
    // Found by schemathesis (ci/fuzz.sh): optional fields were sent as `null` but documented
    // as plain strings, objects or dates.
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let org = app.org_path("");
    let booking_start = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let calls: Vec<(Method, &str, String, Option<Value>, StatusCode)> = vec![
        (
            Method::GET,
            "/readyz",
            "/readyz".into(),
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/chat-bridge",
            "/v1/chat-bridge".into(),
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/orgs/{orgId}/clients",
            format!("{org}/clients"),
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/orgs/{orgId}/link-revocations",
            format!("{org}/link-revocations"),
            Some(json!({"jti": "j-1"})),
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            "/v1/orgs/{orgId}/link-revocations",
            format!("{org}/link-revocations"),
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/orgs/{orgId}/rooms",
            format!("{org}/rooms"),
            Some(json!({"domain": "localhost", "name": "nulls"})),
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            "/v1/orgs/{orgId}/rooms",
            format!("{org}/rooms"),
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/orgs/{orgId}/bookings",
            format!("{org}/bookings"),
            Some(
                json!({"domain": "localhost", "roomName": "later", "startTime": booking_start,
                        "meetingOptions": {"duration": 30}}),
            ),
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            "/v1/orgs/{orgId}/bookings",
            format!("{org}/bookings"),
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/orgs/{orgId}/webhooks",
            format!("{org}/webhooks"),
            Some(json!({"domain": "localhost", "type": "robot", "robotId": 7})),
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            "/v1/orgs/{orgId}/webhooks",
            format!("{org}/webhooks"),
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/orgs/{orgId}/widgets",
            format!("{org}/widgets"),
            Some(json!({"name": "w"})),
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            "/v1/orgs/{orgId}/widgets",
            format!("{org}/widgets"),
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/orgs/{orgId}/domains",
            format!("{org}/domains"),
            None,
            StatusCode::OK,
        ),
    ];
    let mut found = Vec::new();
    for (method, template, path, body, expected) in calls {
        let (status, answer) = app.call(&t, method.clone(), &path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        let op = &doc["paths"][template][method.as_str().to_lowercase()];
        let schema = &op["responses"][status.as_str()]["content"]["application/json; charset=utf-8"]
            ["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} {status} is not documented"
        );
        undocumented_nulls(
            &doc,
            schema,
            &answer,
            &format!("{method} {template}"),
            &mut found,
        );
    }
    assert!(
        found.is_empty(),
        "null where the document does not allow it: {found:?}"
    );
}

#[test]
fn all_of_combines_objects_only() {
    // openapi-python-client (ci/python_client.sh) drops a schema with an allOf over an enum
    // ("Cannot take allOf a non-object"), and with it every operation answering it: a doc
    // comment on an enum-typed field made AdminUser.role such an allOf.
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut wrong = Vec::new();
    for (name, schema) in schemas {
        for (prop, sub) in schema["properties"].as_object().into_iter().flatten() {
            for part in sub["allOf"].as_array().into_iter().flatten() {
                if let Some(target) = part["$ref"].as_str() {
                    let target = target.trim_start_matches("#/components/schemas/");
                    if schemas[target]["type"] != "object" {
                        wrong.push(format!("{name}.{prop} -> {target}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "allOf over a non-object: {wrong:?}");
}
