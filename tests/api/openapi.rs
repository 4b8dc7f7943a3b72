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

/// A property schema of a component, following nothing.
fn property<'a>(doc: &'a Value, schema: &str, prop: &str) -> &'a Value {
    let found = &doc["components"]["schemas"][schema]["properties"][prop];
    assert!(found.is_object(), "{schema}.{prop} is not documented");
    found
}

fn accepts(schema: &Value, text: &str) -> bool {
    let pattern = schema["pattern"].as_str().expect("a pattern");
    let max = schema["maxLength"].as_u64().unwrap_or(u64::MAX);
    let min = schema["minLength"].as_u64().unwrap_or(0);
    let chars = text.chars().count() as u64;
    regex::Regex::new(pattern).unwrap().is_match(text) && (min..=max).contains(&chars)
}

#[test]
fn request_bodies_document_the_servers_constraints() {
    // Found by schemathesis (ci/fuzz.sh): without them most generated bodies were refused
    // before they reached any logic ("schema constraints don't match API validation").
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let capacity = property(&doc, "NewRoom", "capacity");
    assert_eq!(
        (capacity["minimum"].as_f64(), capacity["maximum"].as_f64()),
        (Some(1.0), Some(100_000.0))
    );
    let room_type = property(&doc, "NewRoom", "type");
    assert_eq!(
        (room_type["minimum"].as_f64(), room_type["maximum"].as_f64()),
        (Some(1.0), Some(2.0))
    );
    let duration = property(&doc, "MeetingOptionsInput", "duration");
    assert_eq!(
        (duration["minimum"].as_f64(), duration["maximum"].as_f64()),
        (Some(1.0), Some(10_080.0))
    );
    assert_eq!(property(&doc, "NewAdmin", "password")["minLength"], 10);
    assert_eq!(
        property(&doc, "NewWidget", "allowedOrigins")["maxItems"],
        50
    );
    let kind = property(&doc, "NewWebhook", "type");
    assert_eq!(kind["enum"], json!(["url", "robot"]));
    let events = &property(&doc, "NewWebhook", "events")["items"]["enum"];
    assert!(
        events.as_array().unwrap().contains(&json!("roomCreated")),
        "{events}"
    );
    // Lists keep their item type (a validator on items would replace it by "any").
    assert_eq!(
        property(&doc, "NewWidget", "allowedOrigins")["items"]["type"],
        "string"
    );

    let room = property(&doc, "NewRoom", "name");
    for (name, ok) in [
        ("my-room", true),
        ("Room_1.a~b", true),
        ("-x", false),
        ("a b", false),
        ("é", false),
    ] {
        assert_eq!(accepts(room, name), ok, "room name {name:?}");
    }
    assert!(!accepts(room, &"x".repeat(129)));
    let display = property(&doc, "NewClient", "name");
    for (name, ok) in [
        ("Ann", true),
        ("Zoë Ødegård", true),
        ("   ", false),
        ("a\u{7}b", false),
        ("a\u{ffff}", false),
        ("", false),
    ] {
        assert_eq!(accepts(display, name), ok, "display name {name:?}");
    }
    let text = property(&doc, "PeerMessage", "text");
    for (t, ok) in [
        ("hi\tthere\r\n", true),
        ("a\u{85}", true),
        (" \n", false),
        ("a\u{1}", false),
    ] {
        assert_eq!(accepts(text, t), ok, "chat text {t:?}");
    }
    let domain = property(&doc, "NewDomain", "name");
    for (name, ok) in [
        ("chat.example.org", true),
        ("a-1.b", true),
        ("-a.org", false),
        ("a..b", false),
        ("a_b.org", false),
    ] {
        assert_eq!(accepts(domain, name), ok, "domain {name:?}");
    }
}

#[tokio::test]
async fn what_the_document_refuses_the_server_refuses_in_the_one_error_shape() {
    // The validators only describe the bodies (they are parsed with serde, and the domain
    // holds the rules): a body breaking them gets the same 422 problem as before, naming the
    // field, never poem-openapi's own 400.
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let cases = [
        (
            "/rooms",
            json!({"domain": "localhost", "name": "-x"}),
            "name",
            property(&doc, "NewRoom", "name"),
        ),
        (
            "/clients",
            json!({"name": "a\u{7}b"}),
            "name",
            property(&doc, "NewClient", "name"),
        ),
        (
            "/domains",
            json!({"name": "a_b.org"}),
            "name",
            property(&doc, "NewDomain", "name"),
        ),
        (
            "/widgets",
            json!({"name": "w", "allowedOrigins": [], "widgetId": "a b"}),
            "widgetId",
            property(&doc, "NewWidget", "widgetId"),
        ),
    ];
    for (path, body, field, schema) in cases {
        let value = body[field].as_str().unwrap();
        assert!(
            !accepts(schema, value),
            "{path}: the document allows {value:?}"
        );
        let (status, answer) = app
            .call(&t, Method::POST, &app.org_path(path), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {answer}");
        assert_eq!(answer["code"], "validation_failed", "{path}: {answer}");
        assert_eq!(answer["errors"][0]["field"], field, "{path}: {answer}");
    }
    for (name, value) in [("capacity", json!(0)), ("type", json!(3))] {
        let body = json!({"domain": "localhost", "name": "r", name: value});
        let (status, answer) = app
            .call(&t, Method::POST, &app.org_path("/rooms"), Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {answer}");
        assert_eq!(answer["errors"][0]["field"], name, "{answer}");
    }
}

/// Path parameters of `path`.
fn path_params(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|p| p.split('}').next())
        .collect()
}

#[test]
fn created_resources_link_to_the_operations_taking_their_id() {
    // Without links, schemathesis' stateful phase never had an id that exists: operations on
    // one resource "repeatedly returned 404 Not Found".
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let mut operations = std::collections::HashMap::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for op in ops.as_object().unwrap().values() {
            operations.insert(
                op["operationId"].as_str().unwrap().to_string(),
                path.clone(),
            );
        }
    }
    let mut linked = std::collections::HashSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                for (name, link) in response["links"].as_object().into_iter().flatten() {
                    let target = link["operationId"].as_str().unwrap();
                    let target_path = operations
                        .get(target)
                        .unwrap_or_else(|| panic!("{method} {path} {status} {name}: no {target}"));
                    let given: Vec<&str> = link["parameters"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .map(String::as_str)
                        .collect();
                    let mut wanted = path_params(target_path);
                    wanted.sort();
                    let mut given_sorted = given.clone();
                    given_sorted.sort();
                    assert_eq!(given_sorted, wanted, "{method} {path} -> {target}");
                    linked.insert(target.to_string());
                }
            }
        }
    }
    for target in [
        "getRoom",
        "destroyRoom",
        "postRoomMessage",
        "getBooking",
        "cancelBooking",
        "getWebhook",
        "listDeliveries",
        "getWidget",
        "deleteWidget",
        "getSubscription",
        "getDomain",
        "revokeClient",
        "removeAdmin",
    ] {
        assert!(linked.contains(target), "nothing links to {target}");
    }
    let room =
        &doc["paths"]["/v1/orgs/{orgId}/rooms"]["post"]["responses"]["201"]["links"]["GetRoom"];
    assert_eq!(
        room["parameters"]["name"], "$response.body#/content/room/name",
        "{room}"
    );
}

#[tokio::test]
async fn link_expressions_point_at_the_created_ids() {
    // Follow two links by hand: the expression must find the id in the real answer.
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let (status, room) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms"),
            Some(json!({"domain": "localhost", "name": "linked"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    let (status, hook) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/webhooks"),
            Some(json!({"domain": "localhost", "type": "robot", "robotId": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let at = |answer: &Value, expression: &Value| -> String {
        let pointer = expression
            .as_str()
            .unwrap()
            .strip_prefix("$response.body#")
            .unwrap();
        match &answer
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer} not in {answer}"))
        {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    };
    let links = &doc["paths"]["/v1/orgs/{orgId}/rooms"]["post"]["responses"]["201"]["links"];
    let params = &links["GetRoom"]["parameters"];
    let path = app.org_path(&format!(
        "/rooms/{}/{}",
        at(&room, &params["domain"]),
        at(&room, &params["name"])
    ));
    let (status, answer) = app.call(&t, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    let links = &doc["paths"]["/v1/orgs/{orgId}/webhooks"]["post"]["responses"]["201"]["links"];
    let id = at(&hook, &links["GetWebhook"]["parameters"]["webhookId"]);
    let (status, answer) = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/webhooks/{id}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{id}: {answer}");
}
