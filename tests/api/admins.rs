//! Dashboard sign-in: session cookie, CSRF token on changes, viewers read only, sign-out,
//! brute-force limit, admin users managed through the API.
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, read};

pub const PASSWORD: &str = "correct horse battery";

/// Add an admin user through the API (as the test's API client).
pub async fn add_admin(app: &TestApp, email: &str, role: &str) {
    let token = app.token().await;
    let (status, body) = app
        .call(
            &token,
            Method::POST,
            &app.org_path("/admins"),
            Some(json!({"email": email, "password": PASSWORD, "role": role})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Sign in; returns the cookie header value (`name=value`) and the CSRF token.
pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value, String) {
    let resp = app
        .request(Method::POST, "/v1/admin/session")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let (status, body) = read(resp).await;
    (status, body, cookie)
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn sign_in_cookie_csrf_and_sign_out() {
    let app = TestApp::spawn().await;
    add_admin(&app, "Ada@Example.com", "admin").await;

    let (status, body, _) = sign_in(&app, "ada@example.com", "wrong password").await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    let (status, body, _) = sign_in(&app, "nobody@example.com", PASSWORD).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );

    let (status, body, set_cookie) = sign_in(&app, " ADA@example.com ", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["admin"]["email"], "ada@example.com");
    assert_eq!(body["admin"]["role"], "admin");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http test server: {set_cookie}"
    );
    assert!(
        set_cookie.contains("Max-Age=43200"),
        "12 hours: {set_cookie}"
    );
    // Behind a TLS-terminating proxy the cookie is Secure.
    let resp = app
        .request(Method::POST, "/v1/admin/session")
        .header("x-forwarded-proto", "https")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert!(
        resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    let cookie = cookie_pair(&set_cookie);
    let csrf = body["csrfToken"].as_str().unwrap().to_string();

    // Reads work with the cookie alone.
    let resp = app
        .request(Method::GET, &app.org_path("/rooms"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, me) = read(
        app.request(Method::GET, "/v1/admin/session")
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["csrfToken"], csrf.as_str());

    // Changes need the CSRF token as well.
    let create = |csrf: Option<&str>| {
        let mut req = app
            .request(Method::POST, &app.org_path("/rooms"))
            .header(header::COOKIE, &cookie)
            .json(&json!({"domain": "localhost", "name": "standup"}));
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        req.send()
    };
    let (status, body) = read(create(None).await.unwrap()).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "csrf_token_mismatch");
    let (status, body) = read(create(Some("0000")).await.unwrap()).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "csrf_token_mismatch");
    let (status, body) = read(create(Some(&csrf)).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Signing out ends the session on the server, not only in the browser.
    let resp = app
        .request(Method::DELETE, "/v1/admin/session")
        .header(header::COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(
        resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let resp = app
        .request(Method::GET, &app.org_path("/rooms"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn viewers_read_only_and_admin_users_managed() {
    let app = TestApp::spawn().await;
    add_admin(&app, "owner@example.com", "owner").await;
    add_admin(&app, "viewer@example.com", "viewer").await;
    let (_, body, set_cookie) = sign_in(&app, "viewer@example.com", PASSWORD).await;
    let cookie = cookie_pair(&set_cookie);
    let csrf = body["csrfToken"].as_str().unwrap();
    let (status, list) = read(
        app.request(Method::GET, &app.org_path("/admins"))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (status, body) = read(
        app.request(Method::POST, &app.org_path("/rooms"))
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", csrf)
            .json(&json!({"domain": "localhost", "name": "nope"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "read_only");
    // Viewers read settings, not the secrets in them.
    let token = app.token().await;
    app.create_room(
        &token,
        json!({"domain": "localhost", "name": "secret-room", "key": "letmein"}),
    )
    .await;
    // The client sees the password, and a page kept for it must not reach the viewer. Read
    // back to back a few times: the room's event being published in between is a write, which
    // empties the read cache.
    for _ in 0..3 {
        let (_, rooms) = app
            .call(&token, Method::GET, &app.org_path("/rooms"), None)
            .await;
        assert_eq!(rooms["content"][0]["key"], "letmein");
        let (_, rooms) = read(
            app.request(Method::GET, &app.org_path("/rooms"))
                .header(header::COOKIE, &cookie)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(rooms["content"][0]["name"], "secret-room");
        assert!(rooms["content"][0]["key"].is_null(), "{rooms}");
    }
    for path in [
        "/domains",
        "/domains/localhost",
        "/rooms",
        "/rooms/localhost/secret-room",
    ] {
        let (status, body) = read(
            app.request(Method::GET, &app.org_path(path))
                .header(header::COOKIE, &cookie)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let text = body.to_string();
        assert!(!text.contains("letmein"), "{path}: {text}");
        assert!(
            !text.contains("webhookKey") && !text.contains("whsec_"),
            "{path}: {text}"
        );
    }
    let (_, as_client) = app
        .call(
            &token,
            Method::GET,
            &app.org_path("/domains/localhost"),
            None,
        )
        .await;
    assert!(
        as_client["content"]["webhookKey"].is_string(),
        "{as_client}"
    );

    // Signing out is not a change a viewer is barred from.
    let resp = app
        .request(Method::DELETE, "/v1/admin/session")
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (_, body, set_cookie) = sign_in(&app, "viewer@example.com", PASSWORD).await;
    let cookie = cookie_pair(&set_cookie);
    assert!(body["csrfToken"].is_string());

    // An admin may not make owners; the last owner stays.
    add_admin(&app, "admin@example.com", "admin").await;
    let (_, body, set_cookie) = sign_in(&app, "admin@example.com", PASSWORD).await;
    let admin_cookie = cookie_pair(&set_cookie);
    let admin_csrf = body["csrfToken"].as_str().unwrap().to_string();
    let (status, body) = read(
        app.request(Method::POST, &app.org_path("/admins"))
            .header(header::COOKIE, &admin_cookie)
            .header("x-csrf-token", &admin_csrf)
            .json(&json!({"email": "boss@example.com", "password": PASSWORD, "role": "owner"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "owner_required");
    let owner_id = list.as_array().unwrap()[0]["adminId"]
        .as_str()
        .unwrap()
        .to_string();
    let token = app.token().await;
    let (status, body) = app
        .call(
            &token,
            Method::DELETE,
            &app.org_path(&format!("/admins/{owner_id}")),
            None,
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "last_owner");

    // Removing a user signs it out everywhere.
    let viewer_id = list.as_array().unwrap()[1]["adminId"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app
        .call(
            &token,
            Method::DELETE,
            &app.org_path(&format!("/admins/{viewer_id}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let resp = app
        .request(Method::GET, &app.org_path("/rooms"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, body, _) = sign_in(&app, "viewer@example.com", PASSWORD).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled() {
    let app = TestApp::spawn().await;
    add_admin(&app, "ada@example.com", "admin").await;
    for _ in 0..5 {
        let (status, body, _) = sign_in(&app, "ada@example.com", "guess guess guess").await;
        assert_problem(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        );
    }
    // Even the right password is refused while the window is full.
    let resp = app
        .request(Method::POST, "/v1/admin/session")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let retry_after: u64 = resp.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    let (status, body) = read(resp).await;
    assert_problem(
        status,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_sign_in_attempts",
    );
}

async fn admin_ids(app: &TestApp, token: &str, role: &str) -> Vec<String> {
    let (_, list) = app
        .call(token, Method::GET, &app.org_path("/admins"), None)
        .await;
    list.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["role"] == role)
        .map(|a| a["adminId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn only_owners_remove_owners() {
    let app = TestApp::spawn().await;
    let token = app.token().await;
    add_admin(&app, "first@example.com", "owner").await;
    add_admin(&app, "second@example.com", "owner").await;
    add_admin(&app, "admin@example.com", "admin").await;
    let owners = admin_ids(&app, &token, "owner").await;
    let remove_as = |who: &'static str, id: String| {
        let app = &app;
        async move {
            let (_, body, set_cookie) = sign_in(app, who, PASSWORD).await;
            let csrf = body["csrfToken"].as_str().unwrap().to_string();
            read(
                app.request(Method::DELETE, &app.org_path(&format!("/admins/{id}")))
                    .header(header::COOKIE, cookie_pair(&set_cookie))
                    .header("x-csrf-token", csrf)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    // An admin may not unseat an owner, though another owner would remain.
    let (status, body) = remove_as("admin@example.com", owners[0].clone()).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "owner_required");
    assert_eq!(admin_ids(&app, &token, "owner").await, owners);
    // An owner may.
    let (status, body) = remove_as("second@example.com", owners[0].clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(admin_ids(&app, &token, "owner").await, owners[1..]);
}

#[tokio::test]
async fn concurrent_removals_leave_an_owner() {
    // The last-owner check and the removal are one transaction holding the owners locked:
    // two removals at once of the only two owners leave one, every time.
    let app = TestApp::spawn().await;
    let token = app.token().await;
    add_admin(&app, "owner0@example.com", "owner").await;
    for round in 1..=5 {
        add_admin(&app, &format!("owner{round}@example.com"), "owner").await;
        let owners = admin_ids(&app, &token, "owner").await;
        assert_eq!(owners.len(), 2, "round {round}");
        let remove = |id: String| {
            let (app, token) = (&app, &token);
            async move {
                let path = app.org_path(&format!("/admins/{id}"));
                app.call(token, Method::DELETE, &path, None).await
            }
        };
        let (a, b) = tokio::join!(remove(owners[0].clone()), remove(owners[1].clone()));
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::NO_CONTENT, StatusCode::CONFLICT],
            "round {round}: {} {}",
            a.1,
            b.1
        );
        for (status, body) in [a, b] {
            if status == StatusCode::CONFLICT {
                assert_eq!(body["code"], "last_owner", "{body}");
            }
        }
        assert_eq!(admin_ids(&app, &token, "owner").await.len(), 1);
    }
}
