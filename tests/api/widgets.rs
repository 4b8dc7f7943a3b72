//! The chat widget (ImbaChat): settings with a secret shown once, site user tokens, the
//! users-info lookup against a real local site with Basic auth, direct dialogs pushed live.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    helpers::{TestApp, assert_problem, read},
    realtime::{Socket, next, next_of},
    site::{self, Mode, Site},
};

/// The seed's PHP `getJWT($user_id, $secret_key, $time)`.
pub fn get_jwt(user_id: &str, secret: &str, ttl: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"HS256"}"#);
    let exp = chrono::Utc::now().timestamp() + ttl;
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"user_id":{user_id}}}"#));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{sig}")
}

pub fn site_users() -> Vec<Value> {
    vec![
        json!({"user_id": 1, "name": "Alice", "avatar_url": "https://site.example/a.png",
               "profile_url": "https://site.example/members/1/", "badge": "gold",
               "profiles": {"11": {"user_id": "P11-A", "name": "P11-Alice"}}}),
        json!({"user_id": "2", "name": "Bob", "avatar_url": false}),
        json!({"user_id": 3, "name": "Carol"}),
    ]
}

/// Create a widget for `site`; returns its id and secret key.
pub async fn create_widget(app: &TestApp, token: &str, body: Value) -> (String, String) {
    let (s, w) = app
        .call(token, Method::POST, &app.org_path("/widgets"), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    (
        w["content"]["widgetId"].as_str().unwrap().to_string(),
        w["content"]["secretKey"].as_str().unwrap().to_string(),
    )
}

fn site_widget(site: &Site) -> Value {
    json!({"name": "Site chat", "apiLogin": site::LOGIN, "apiPassword": site::PASSWORD,
           "usersInfoUrl": site.users_url(), "allowedOrigins": [site.origin]})
}

async fn widget_call(
    app: &TestApp,
    widget: &str,
    user_token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    app.call(
        user_token,
        method,
        &format!("/imbachat/v1/{widget}{path}"),
        body,
    )
    .await
}

#[tokio::test]
async fn widget_settings_show_the_secret_once_and_check_input() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let site = Site::start(site_users()).await;
    let (s, created) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/widgets"),
            Some(site_widget(&site)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let c = &created["content"];
    let id = c["widgetId"].as_str().unwrap();
    assert_eq!(c["secretKey"].as_str().unwrap().len(), 64);
    assert_eq!(c["apiPasswordSet"], true);
    assert_eq!(c["usersInfo"]["status"], "unchecked");
    assert_eq!(c["scriptPath"], format!("/imbachat/v1/{id}/widget"));
    assert!(!created.to_string().contains(site::PASSWORD), "{created}");

    let (s, got) = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/widgets/{id}")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(got["content"].get("secretKey").is_none(), "{got}");
    assert_eq!(got["content"]["allowedOrigins"], json!([site.origin]));
    let (_, list) = app
        .call(&t, Method::GET, &app.org_path("/widgets"), None)
        .await;
    assert_eq!(list["content"][0]["widgetId"], id);

    // An existing ImbaChat widget keeps its id and key.
    let key = "lPXBFPqNg3f661JcegBY0N0dPXqUBdHXqj2cHf04PZgLHxT6z55e20ozojvMRvB8";
    let (kept, secret) = create_widget(
        &app,
        &t,
        json!({"name": "Old", "widgetId": "1234", "secretKey": key}),
    )
    .await;
    assert_eq!((kept.as_str(), secret.as_str()), ("1234", key));
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/widgets"),
            Some(json!({"name": "Again", "widgetId": "1234"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "widget_exists");
    for (body, field) in [
        (
            json!({"name": "x", "allowedOrigins": ["https://a.example/path"]}),
            "allowedOrigins",
        ),
        (
            json!({"name": "x", "usersInfoUrl": "ftp://a.example"}),
            "usersInfoUrl",
        ),
        (json!({"name": "x", "secretKey": "short"}), "secretKey"),
        (json!({"name": "x", "widgetId": "a/b"}), "widgetId"),
        (json!({"name": ""}), "name"),
    ] {
        let (s, b) = app
            .call(&t, Method::POST, &app.org_path("/widgets"), Some(body))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(b.to_string().contains(field), "{field}: {b}");
    }

    // Rotation: the old key's tokens stop working.
    let (s, _) = widget_call(
        &app,
        "1234",
        &get_jwt("1", key, 60),
        Method::GET,
        "/me",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, rotated) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/widgets/1234/secret-key"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let new_key = rotated["content"]["secretKey"].as_str().unwrap();
    let (s, b) = widget_call(
        &app,
        "1234",
        &get_jwt("1", key, 60),
        Method::GET,
        "/me",
        None,
    )
    .await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "bad_signature");
    let (s, _) = widget_call(
        &app,
        "1234",
        &get_jwt("1", new_key, 60),
        Method::GET,
        "/me",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let (s, p) = app
        .call(
            &t,
            Method::PATCH,
            &app.org_path("/widgets/1234"),
            Some(json!({"allowedOrigins": ["*"], "name": "Renamed"})),
        )
        .await;
    assert_eq!(
        (s, &p["content"]["name"]),
        (StatusCode::OK, &json!("Renamed")),
        "{p}"
    );
    let script = app
        .request(Method::GET, "/imbachat/v1/1234/widget")
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
    assert!(script.text().await.unwrap().contains("window.ImbaChat"));
    let (s, _) = app
        .call(&t, Method::DELETE, &app.org_path("/widgets/1234"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = read(
        app.request(Method::GET, "/imbachat/v1/1234/widget")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "widget_not_found");
}

#[tokio::test]
async fn user_tokens_are_checked() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let (id, key) = create_widget(&app, &t, json!({"name": "w"})).await;
    let (s, me) = widget_call(
        &app,
        &id,
        &get_jwt("7", &key, 3600),
        Method::GET,
        "/me",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{me}");
    // No users-info URL: a stand-in name.
    assert_eq!(
        (&me["user"]["userId"], &me["user"]["name"]),
        (&json!("7"), &json!("User 7"))
    );

    let (s, b) = widget_call(
        &app,
        &id,
        &get_jwt("7", &key, -3600),
        Method::GET,
        "/me",
        None,
    )
    .await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "user_token_expired");
    let wrong = get_jwt("7", "another-key-of-at-least-32-characters!", 3600);
    let (s, b) = widget_call(&app, &id, &wrong, Method::GET, "/me", None).await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "bad_signature");
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(r#"{"exp":9999999999,"user_id":7}"#)
    );
    let (s, b) = widget_call(&app, &id, &none, Method::GET, "/me", None).await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "unsupported_algorithm");
    let (s, b) = widget_call(&app, &id, "garbage", Method::GET, "/me", None).await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "malformed_user_token");
    let (s, b) = read(
        app.request(Method::GET, &format!("/imbachat/v1/{id}/me"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (s, b) = widget_call(
        &app,
        "nope",
        &get_jwt("7", &key, 3600),
        Method::GET,
        "/me",
        None,
    )
    .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "widget_not_found");
}

#[tokio::test]
async fn users_info_is_fetched_with_basic_auth_batched_and_cached() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let site = Site::start(site_users()).await;
    let mut body = site_widget(&site);
    // Sites compare the login case-insensitively.
    body["apiLogin"] = json!("ROOT");
    let (id, key) = create_widget(&app, &t, body).await;
    let alice = get_jwt("1", &key, 3600);
    let (s, me) = widget_call(&app, &id, &alice, Method::GET, "/me", None).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    let u = &me["user"];
    assert_eq!(
        (&u["name"], &u["avatarUrl"], &u["source"]),
        (
            &json!("Alice"),
            &json!("https://site.example/a.png"),
            &json!("site")
        )
    );
    assert_eq!(u["info"]["badge"], "gold");
    assert_eq!(u["info"]["profiles"]["11"]["name"], "P11-Alice");
    // Cached: a second look does not ask the site again.
    let (_, me) = widget_call(&app, &id, &alice, Method::GET, "/me", None).await;
    assert_eq!(me["user"]["source"], "cache");
    assert_eq!(site.queries(), vec!["user_ids=1"]);

    let check = app.org_path(&format!("/widgets/{id}/users-info/check"));
    let (s, r) = app
        .call(
            &t,
            Method::POST,
            &check,
            Some(json!({"userIds": ["2", "3"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["ok"], true, "{r}");
    let names: Vec<&str> = r["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bob", "Carol"]);
    assert_eq!(r["users"][0]["avatarUrl"], Value::Null);
    assert_eq!(site.queries().last().unwrap(), "user_ids=2,3");
    let (_, w) = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/widgets/{id}")),
            None,
        )
        .await;
    assert_eq!(w["content"]["usersInfo"]["status"], "ok", "{w}");
}

#[tokio::test]
async fn new_site_credentials_keep_the_names_cache() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let site = Site::start(site_users()).await;
    let (id, key) = create_widget(&app, &t, site_widget(&site)).await;
    let alice = get_jwt("1", &key, 3600);
    let me = |expected_source: &'static str| {
        let (app, id, alice) = (&app, &id, &alice);
        async move {
            let (s, me) = widget_call(app, id, alice, Method::GET, "/me", None).await;
            assert_eq!(s, StatusCode::OK, "{me}");
            assert_eq!(
                (&me["user"]["name"], &me["user"]["source"]),
                (&json!("Alice"), &json!(expected_source)),
                "{me}"
            );
        }
    };
    let patch = |body: Value| {
        let (app, t, id) = (&app, &t, &id);
        async move {
            let path = app.org_path(&format!("/widgets/{id}"));
            let (s, w) = app.call(t, Method::PATCH, &path, Some(body)).await;
            assert_eq!(s, StatusCode::OK, "{w}");
        }
    };
    me("site").await;
    // The same password again, then another one (which the site would refuse): the names
    // stay, and the site is not asked.
    patch(json!({"apiPassword": site::PASSWORD})).await;
    me("cache").await;
    patch(json!({"apiPassword": "rotated-elsewhere", "apiLogin": "ROOT"})).await;
    me("cache").await;
    assert_eq!(site.queries(), vec!["user_ids=1"]);
    // The same URL is no change either; another site's users are asked afresh.
    patch(json!({"usersInfoUrl": site.users_url(), "apiPassword": site::PASSWORD})).await;
    me("cache").await;
    let moved = Site::start(site_users()).await;
    patch(json!({"usersInfoUrl": moved.users_url()})).await;
    me("site").await;
    assert_eq!(moved.queries(), vec!["user_ids=1"]);
}

async fn check(app: &TestApp, t: &str, id: &str) -> Value {
    let path = app.org_path(&format!("/widgets/{id}/users-info/check"));
    let (s, r) = app
        .call(t, Method::POST, &path, Some(json!({"userIds": ["1", "2"]})))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r
}

#[tokio::test]
async fn users_info_failures_are_reported_and_never_break_chat() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let site = Site::start(site_users()).await;

    // Wrong password.
    let mut body = site_widget(&site);
    body["apiPassword"] = json!("wrong");
    let (id, key) = create_widget(&app, &t, body).await;
    let r = check(&app, &t, &id).await;
    assert_eq!(
        (&r["ok"], &r["errorCode"]),
        (&json!(false), &json!("users_info_unauthorized")),
        "{r}"
    );
    assert!(r["error"].as_str().unwrap().contains("401"), "{r}");
    let (_, w) = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/widgets/{id}")),
            None,
        )
        .await;
    let info = &w["content"]["usersInfo"];
    assert_eq!(
        (&info["status"], &info["errorCode"]),
        (&json!("failing"), &json!("users_info_unauthorized")),
        "{w}"
    );
    // Chat goes on under stand-in names.
    let alice = get_jwt("1", &key, 3600);
    let (s, d) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        "/dialogs",
        Some(json!({"userId": 2})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["dialog"]["with"]["name"], "User 2");
    let path = format!("/dialogs/{}/messages", d["dialog"]["id"]);
    let (s, m) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        &path,
        Some(json!({"text": "still works"})),
    )
    .await;
    assert_eq!(
        (s, &m["message"]["fromName"]),
        (StatusCode::OK, &json!("User 1")),
        "{m}"
    );
    // Fixing the password clears the failure and the next lookup succeeds.
    let (s, _) = app
        .call(
            &t,
            Method::PATCH,
            &app.org_path(&format!("/widgets/{id}")),
            Some(json!({"apiPassword": site::PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, me) = widget_call(&app, &id, &alice, Method::GET, "/me", None).await;
    assert_eq!(me["user"]["name"], "Alice", "{me}");

    // Site down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_url = format!("http://{}/users", closed.local_addr().unwrap());
    drop(closed);
    let mut body = site_widget(&site);
    body["usersInfoUrl"] = json!(down_url);
    let (down, _) = create_widget(&app, &t, body).await;
    let r = check(&app, &t, &down).await;
    assert_eq!(r["errorCode"], "users_info_unreachable", "{r}");

    // Not JSON.
    let (bad, _) = create_widget(&app, &t, site_widget(&site)).await;
    site.answer(Mode::NotJson);
    let r = check(&app, &t, &bad).await;
    assert_eq!(r["errorCode"], "users_info_malformed", "{r}");
    assert!(r["error"].as_str().unwrap().contains("not JSON"), "{r}");

    // An answer that never ends (chunked, no Content-Length): cut off at 1 MiB, not read until
    // the timeout or the memory runs out.
    site.answer(Mode::Endless);
    let r = check(&app, &t, &bad).await;
    assert_eq!(r["errorCode"], "users_info_malformed", "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("larger than 1 MiB"),
        "{r}"
    );

    // Entries without `name`: reported; those users get stand-in names.
    site.answer(Mode::WithoutName);
    let r = check(&app, &t, &bad).await;
    assert_eq!(
        (&r["ok"], &r["errorCode"]),
        (&json!(false), &json!("users_info_malformed")),
        "{r}"
    );
    assert_eq!(r["problems"].as_array().unwrap().len(), 2, "{r}");
}

async fn socket(app: &TestApp, widget: &str, token: &str) -> Socket {
    let url = format!(
        "{}/imbachat/v1/{widget}/socket?token={token}",
        app.address.replace("http://", "ws://")
    );
    let (mut s, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    next_of(&mut s, "welcome").await;
    s
}

#[tokio::test]
async fn direct_dialogs_are_live_with_unread_counts_and_history() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let site = Site::start(site_users()).await;
    let (id, key) = create_widget(&app, &t, site_widget(&site)).await;
    let (alice, bob, carol) = (
        get_jwt("1", &key, 3600),
        get_jwt("2", &key, 3600),
        get_jwt("3", &key, 3600),
    );
    let mut bob_socket = socket(&app, &id, &bob).await;

    let (s, d) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        "/dialogs",
        Some(json!({"userId": 2})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(
        (&d["dialog"]["with"]["name"], &d["dialog"]["unread"]),
        (&json!("Bob"), &json!(0))
    );
    let dialog = d["dialog"]["id"].as_i64().unwrap();
    // The other side opening it gets the same dialog.
    let (_, d2) = widget_call(
        &app,
        &id,
        &bob,
        Method::POST,
        "/dialogs",
        Some(json!({"userId": "1"})),
    )
    .await;
    assert_eq!(d2["dialog"]["id"], dialog);

    let messages = format!("/dialogs/{dialog}/messages");
    let (s, m) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        &messages,
        Some(json!({"text": "Hi Bob"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let pushed = next_of(&mut bob_socket, "message").await;
    assert_eq!(pushed["dialogId"], dialog);
    assert_eq!(
        (
            &pushed["message"]["text"],
            &pushed["message"]["fromName"],
            &pushed["message"]["from"]
        ),
        (&json!("Hi Bob"), &json!("Alice"), &json!("1"))
    );

    for i in 0..3 {
        widget_call(
            &app,
            &id,
            &alice,
            Method::POST,
            &messages,
            Some(json!({"text": format!("more {i}")})),
        )
        .await;
    }
    let (_, list) = widget_call(&app, &id, &bob, Method::GET, "/dialogs", None).await;
    let entry = &list["dialogs"][0];
    assert_eq!(
        (
            &entry["unread"],
            &entry["lastMessage"]["text"],
            &entry["with"]["name"]
        ),
        (&json!(4), &json!("more 2"), &json!("Alice")),
        "{list}"
    );
    let (_, mine) = widget_call(&app, &id, &alice, Method::GET, "/dialogs", None).await;
    assert_eq!(mine["dialogs"][0]["unread"], 0, "{mine}");

    // History: newest first, in pages.
    let (_, page) = widget_call(
        &app,
        &id,
        &bob,
        Method::GET,
        &format!("{messages}?count=3"),
        None,
    )
    .await;
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        (texts, &page["more"]),
        (vec!["more 2", "more 1", "more 0"], &json!(true))
    );
    let oldest = page["messages"][2]["id"].as_i64().unwrap();
    let (_, rest) = widget_call(
        &app,
        &id,
        &bob,
        Method::GET,
        &format!("{messages}?count=3&before={oldest}"),
        None,
    )
    .await;
    assert_eq!(
        (&rest["messages"][0]["text"], &rest["more"]),
        (&json!("Hi Bob"), &json!(false)),
        "{rest}"
    );

    let (s, r) = widget_call(
        &app,
        &id,
        &bob,
        Method::POST,
        &format!("/dialogs/{dialog}/read"),
        Some(json!({})),
    )
    .await;
    assert_eq!((s, &r["unread"]), (StatusCode::OK, &json!(0)), "{r}");

    // Outsiders and bad input.
    let (s, b) = widget_call(&app, &id, &carol, Method::GET, &messages, None).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "dialog_not_found");
    let (s, b) = widget_call(
        &app,
        &id,
        &carol,
        Method::POST,
        &messages,
        Some(json!({"text": "let me in"})),
    )
    .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "dialog_not_found");
    let (s, b) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        "/dialogs",
        Some(json!({"userId": 1})),
    )
    .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        &messages,
        Some(json!({"text": " "})),
    )
    .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        &messages,
        Some(json!({"text": "x".repeat(4001)})),
    )
    .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        &messages,
        Some(json!({"text": "ding\u{7}"})),
    )
    .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(b["detail"].as_str().unwrap().contains("U+0007"), "{b}");

    // Carol's socket never saw the dialog's messages.
    let mut carol_socket = socket(&app, &id, &carol).await;
    widget_call(
        &app,
        &id,
        &bob,
        Method::POST,
        &messages,
        Some(json!({"text": "private"})),
    )
    .await;
    let (_, d3) = widget_call(
        &app,
        &id,
        &carol,
        Method::POST,
        "/dialogs",
        Some(json!({"userId": 1})),
    )
    .await;
    let carol_dialog = d3["dialog"]["id"].as_i64().unwrap();
    widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        &format!("/dialogs/{carol_dialog}/messages"),
        Some(json!({"text": "hi Carol"})),
    )
    .await;
    let first = next_of(&mut carol_socket, "message").await;
    assert_eq!(first["message"]["text"], "hi Carol", "{first}");

    // Several dialogs in one list: each keeps its own unread count and last message (they
    // are read for the whole page at once).
    let (_, d4) = widget_call(
        &app,
        &id,
        &carol,
        Method::POST,
        "/dialogs",
        Some(json!({"userId": 2})),
    )
    .await;
    let carol_bob = format!("/dialogs/{}/messages", d4["dialog"]["id"]);
    for text in ["c0", "c1"] {
        let (s, m) = widget_call(
            &app,
            &id,
            &carol,
            Method::POST,
            &carol_bob,
            Some(json!({"text": text})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{m}");
    }
    let summary = |list: &Value| -> Vec<(String, u64, String, String)> {
        list["dialogs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["with"]["name"].as_str().unwrap().to_string(),
                    d["unread"].as_u64().unwrap(),
                    d["lastMessage"]["text"].as_str().unwrap().to_string(),
                    d["lastMessage"]["fromName"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let row = |with: &str, unread: u64, text: &str, from: &str| {
        (with.to_string(), unread, text.to_string(), from.to_string())
    };
    let (_, list) = widget_call(&app, &id, &bob, Method::GET, "/dialogs", None).await;
    assert_eq!(
        summary(&list),
        vec![
            row("Carol", 2, "c1", "Carol"),
            row("Alice", 0, "private", "Bob")
        ],
        "{list}"
    );
    let (_, list) = widget_call(&app, &id, &alice, Method::GET, "/dialogs", None).await;
    assert_eq!(
        summary(&list),
        vec![
            row("Carol", 0, "hi Carol", "Alice"),
            row("Bob", 1, "private", "Bob")
        ],
        "{list}"
    );
    let (_, list) = widget_call(&app, &id, &carol, Method::GET, "/dialogs", None).await;
    assert_eq!(
        summary(&list),
        vec![
            row("Bob", 0, "c1", "Carol"),
            row("Alice", 1, "hi Carol", "Alice")
        ],
        "{list}"
    );
}

#[tokio::test]
async fn only_allowed_origins_may_call_the_widget() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let site = Site::start(site_users()).await;
    let (id, key) = create_widget(&app, &t, site_widget(&site)).await;
    let preflight = |origin: &str| {
        app.request(Method::OPTIONS, &format!("/imbachat/v1/{id}/dialogs"))
            .header(header::ORIGIN, origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
    };
    let ok = preflight(&site.origin).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        site.origin.as_str()
    );
    assert!(
        ok.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap()
            .contains("Authorization")
    );
    let (s, b) = read(preflight("https://evil.example").send().await.unwrap()).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "origin_not_allowed");

    let me = app
        .request(Method::GET, &format!("/imbachat/v1/{id}/me"))
        .header(header::ORIGIN, &site.origin)
        .bearer_auth(get_jwt("1", &key, 60))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(
        me.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        site.origin.as_str()
    );
    // Errors carry the CORS headers too, so the widget can read them.
    let expired = app
        .request(Method::GET, &format!("/imbachat/v1/{id}/me"))
        .header(header::ORIGIN, &site.origin)
        .bearer_auth(get_jwt("1", &key, -3600))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        expired.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        site.origin.as_str()
    );
    let (s, b) = read(
        app.request(Method::GET, &format!("/imbachat/v1/{id}/me"))
            .header(header::ORIGIN, "https://evil.example")
            .bearer_auth(get_jwt("1", &key, 60))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "origin_not_allowed");
}

#[tokio::test]
async fn a_peer_admitted_for_a_site_user_sees_the_room_chat_in_the_widget() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let site = Site::start(site_users()).await;
    let (id, key) = create_widget(&app, &t, site_widget(&site)).await;
    let (alice, bob) = (get_jwt("1", &key, 3600), get_jwt("2", &key, 3600));
    let mut alice_socket = socket(&app, &id, &alice).await;
    app.create_room(&t, json!({"domain": "localhost", "name": "lobby"}))
        .await;
    let (s, admitted) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/lobby/peers"),
            Some(json!({"displayName": "Alice A.", "role": "user", "siteUserId": "1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{admitted}");
    let peer_token = admitted["content"]["peerToken"]
        .as_str()
        .unwrap()
        .to_string();

    // The same site user id admitted in another org's room is not hers in this widget.
    let other = app.other_org("other", "other.example").await;
    let ot = app.token_for(&other).await;
    let other_rooms = format!("/v1/orgs/{}/rooms", other.org_id);
    let (s, b) = app
        .call(
            &ot,
            Method::POST,
            &other_rooms,
            Some(json!({"domain": "other.example", "name": "elsewhere"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app
        .call(
            &ot,
            Method::POST,
            &format!("{other_rooms}/other.example/elsewhere/peers"),
            Some(json!({"displayName": "Alice", "role": "user", "siteUserId": "1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let (_, rooms) = widget_call(&app, &id, &alice, Method::GET, "/rooms", None).await;
    assert_eq!(rooms["rooms"][0]["room"], "localhost/lobby", "{rooms}");
    assert_eq!(rooms["rooms"].as_array().unwrap().len(), 1, "{rooms}");
    let (_, none) = widget_call(&app, &id, &bob, Method::GET, "/rooms", None).await;
    assert_eq!(none["rooms"], json!([]));

    // Live: a message of the room reaches Alice's widget.
    let (s, _) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/lobby/messages"),
            Some(json!({"displayName": "Host", "text": "Welcome to the lobby"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let pushed = next_of(&mut alice_socket, "roomMessage").await;
    assert_eq!(
        (
            &pushed["room"],
            &pushed["message"]["text"],
            &pushed["message"]["fromName"]
        ),
        (
            &json!("localhost/lobby"),
            &json!("Welcome to the lobby"),
            &json!("Host")
        ),
        "{pushed}"
    );

    let path = "/rooms/localhost/lobby/messages";
    let (s, m) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        path,
        Some(json!({"text": "Hello all"})),
    )
    .await;
    assert_eq!(
        (s, &m["message"]["fromName"]),
        (StatusCode::OK, &json!("Alice A.")),
        "{m}"
    );
    let (_, list) = widget_call(&app, &id, &alice, Method::GET, path, None).await;
    let texts: Vec<&str> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Hello all", "Welcome to the lobby"]);
    // The one chat-text rule: what XML cannot carry is refused here too.
    let (s, b) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        path,
        Some(json!({"text": "a\u{1}b"})),
    )
    .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = widget_call(&app, &id, &bob, Method::GET, path, None).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "room_not_found");

    // Once the peer leaves, the room is no longer Alice's.
    let (s, _) = read(
        app.request(Method::POST, "/v1/rooms/localhost/lobby/leave")
            .bearer_auth(&peer_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(s.is_success(), "{s}");
    let (s, b) = widget_call(
        &app,
        &id,
        &alice,
        Method::POST,
        path,
        Some(json!({"text": "still here?"})),
    )
    .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "room_not_found");
    let (_, rooms) = widget_call(&app, &id, &alice, Method::GET, "/rooms", None).await;
    assert_eq!(rooms["rooms"], json!([]));

    // Nor does her open widget receive the room's messages any more: the next thing it
    // pushes after one is Bob's dialog message.
    let (s, _) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/lobby/messages"),
            Some(json!({"displayName": "Host", "text": "after you left"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, d) = widget_call(
        &app,
        &id,
        &bob,
        Method::POST,
        "/dialogs",
        Some(json!({"userId": 1})),
    )
    .await;
    let (s, _) = widget_call(
        &app,
        &id,
        &bob,
        Method::POST,
        &format!("/dialogs/{}/messages", d["dialog"]["id"]),
        Some(json!({"text": "marker"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let mut room_texts = Vec::new();
    loop {
        let m = next(&mut alice_socket)
            .await
            .expect("the socket stays open");
        if m["type"] == "message" && m["message"]["text"] == "marker" {
            break;
        }
        if m["type"] == "roomMessage" {
            room_texts.push(m["message"]["text"].as_str().unwrap().to_string());
        }
    }
    // Her own message was pushed while she was a peer; nothing after she left.
    assert_eq!(room_texts, ["Hello all"]);
}
