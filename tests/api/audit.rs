//! The audit log: admin, client and host actions with actor, time, target and source
//! address; paged newest first, filtered by action, exported as CSV; append-only.
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    admins::{PASSWORD, add_admin, sign_in},
    helpers::{TestApp, assert_problem},
};

async fn audit(app: &TestApp, token: &str, query: &str) -> Value {
    let (s, b) = app
        .call(
            token,
            Method::GET,
            &app.org_path(&format!("/audit{query}")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

fn actions(page: &Value) -> Vec<String> {
    page["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn changes_are_logged_with_who_what_and_where() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let call = |method: Method, path: String, body: Option<Value>| {
        let (app, t) = (&app, &t);
        async move {
            let (s, b) = app.call(t, method, &path, body).await;
            assert!(s.is_success(), "{path}: {s} {b}");
            b
        }
    };
    let created = call(
        Method::POST,
        app.org_path("/clients"),
        Some(json!({"name": "ci"})),
    )
    .await;
    let client_id = created["content"]["client"]["clientId"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        Method::DELETE,
        app.org_path(&format!("/clients/{client_id}")),
        None,
    )
    .await;
    app.create_room(
        &t,
        json!({"domain": "localhost", "name": "board", "addHostKey": true}),
    )
    .await;
    let room = app.org_path("/rooms/localhost/board");
    call(
        Method::PUT,
        format!("{room}/lock"),
        Some(json!({"lock": true})),
    )
    .await;
    call(
        Method::PUT,
        format!("{room}/password"),
        Some(json!({"password": "hunter2-secret"})),
    )
    .await;
    call(
        Method::POST,
        format!("{room}/kick"),
        Some(json!({"peerId": "all"})),
    )
    .await;
    let start = (chrono::Utc::now() + chrono::TimeDelta::hours(2)).to_rfc3339();
    let booking = call(
        Method::POST,
        app.org_path("/bookings"),
        Some(
            json!({"domain": "localhost", "roomName": "later", "startTime": start,
                    "meetingOptions": {"duration": 30}}),
        ),
    )
    .await;
    let booking_id = booking["content"]["bookingId"].as_i64().unwrap();
    call(
        Method::DELETE,
        app.org_path(&format!("/bookings/{booking_id}")),
        None,
    )
    .await;
    call(
        Method::POST,
        app.org_path("/link-revocations"),
        Some(json!({"jti": "link-7"})),
    )
    .await;

    let log = audit(&app, &t, "").await;
    assert_eq!(
        actions(&log),
        [
            "link.revoked",
            "booking.cancelled",
            "booking.created",
            "room.kicked",
            "room.password_changed",
            "room.locked",
            "room.created",
            "client.revoked",
            "client.created",
            // The test app's own client, made as `meetplane client create` makes it.
            "client.created",
        ]
    );
    let newest = &log["content"][0];
    assert_eq!(newest["actorType"], "client");
    assert_eq!(newest["actorName"], app.client.api_key.as_str());
    assert_eq!(newest["sourceIp"], "127.0.0.1");
    assert_eq!(newest["detail"]["jti"], "link-7");
    assert_eq!(log["content"][3]["targetId"], "localhost/board");
    assert_eq!(log["content"][4]["detail"], json!({"passwordSet": true}));
    assert!(!log.to_string().contains("hunter2"), "no secret is logged");

    // Filters and paging.
    let rooms = audit(&app, &t, "?action=room.").await;
    assert_eq!(
        actions(&rooms),
        [
            "room.kicked",
            "room.password_changed",
            "room.locked",
            "room.created"
        ]
    );
    let one = audit(&app, &t, "?action=room.locked").await;
    assert_eq!(actions(&one), ["room.locked"]);
    let page = audit(&app, &t, "?count=2").await;
    assert_eq!(actions(&page).len(), 2);
    assert!(
        page["_links"]["next"]["href"]
            .as_str()
            .unwrap()
            .contains("page=1")
    );

    // CSV, oldest first.
    let resp = app
        .request(Method::GET, &app.org_path("/audit.csv"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = resp.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("at,id,actorType,actorId,actorName,action")
    );
    assert!(lines.next().unwrap().contains(",client.created,"));
    assert_eq!(csv.lines().count(), 11);

    // Append-only: there is no way to change or remove entries.
    let (s, _) = app
        .call(&t, Method::DELETE, &app.org_path("/audit"), None)
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    // Other orgs see nothing.
    let other = app.other_org("other", "other.example").await;
    let other_token = app.token_for(&other).await;
    let (s, b) = app
        .call(&other_token, Method::GET, &app.org_path("/audit"), None)
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "organisation_not_found");
}

#[tokio::test]
async fn sign_ins_and_host_entries_are_logged() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    add_admin(&app, "ops@example.org", "admin").await;
    let (s, _, _) = sign_in(&app, "ops@example.org", "wrong password!").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = sign_in(&app, "ops@example.org", PASSWORD).await;
    assert_eq!(s, StatusCode::CREATED);
    let created = app
        .create_room(
            &t,
            json!({"domain": "localhost", "name": "board", "addHostKey": true}),
        )
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap();
    let (s, b) = app
        .join(
            "localhost/board",
            json!({"displayName": "Hana", "hostKey": host_key}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let log = audit(&app, &t, "").await;
    assert_eq!(
        actions(&log),
        [
            "room.host_entered",
            "room.created",
            "admin.signed_in",
            "admin.sign_in_failed",
            "admin.created",
            "client.created"
        ]
    );
    let host = &log["content"][0];
    assert_eq!(
        (host["actorType"].as_str(), host["actorName"].as_str()),
        (Some("host"), Some("Hana"))
    );
    assert_eq!(host["actorId"], b["content"]["peer"]["id"], "{b}");
    let signed_in = &log["content"][2];
    assert_eq!(signed_in["actorType"], "admin");
    assert_eq!(signed_in["actorName"], "ops@example.org");
    assert_eq!(signed_in["sourceIp"], "127.0.0.1");
}

#[tokio::test]
async fn the_csv_export_neutralises_formulas() {
    // A spreadsheet runs a cell beginning with = + - @ (or a tab or CR) as a formula.
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let created = app
        .create_room(
            &t,
            json!({"domain": "localhost", "name": "board", "addHostKey": true}),
        )
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap();
    for name in ["=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(1+1)"] {
        let (s, b) = app
            .join(
                "localhost/board",
                json!({"displayName": name, "hostKey": host_key}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let resp = app
        .request(Method::GET, &app.org_path("/audit.csv"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = resp.text().await.unwrap();
    assert!(
        csv.contains(",host,") && csv.contains(",'@SUM(1+1),"),
        "{csv}"
    );
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","),
        "{csv}"
    );
    for cell in csv.lines().flat_map(|l| l.split(',')) {
        let cell = cell.trim_start_matches('"');
        assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}: {csv}");
    }
}
