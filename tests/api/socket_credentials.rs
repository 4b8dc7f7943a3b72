//! Sockets end with their credentials: a realtime or widget socket closes (4401, with a
//! reason) within a second of its access token expiring, its client or token family being
//! revoked, its dashboard session ending or its admin being removed or demoted, its peer
//! leaving, its widget user's token expiring or the widget's key being rotated; on every node.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures_util::StreamExt;
use meetplane::{clock::SystemClock, domain::clients};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::{
    admins::{PASSWORD, add_admin, sign_in},
    helpers::{TestApp, TestClient},
    nodes::{Cluster, postgres_url},
    realtime::{Socket, connect, next_of, send},
    widgets::{create_widget, get_jwt},
};

/// How long after a change its sockets must be closed.
const WITHIN: Duration = Duration::from_secs(1);

/// Skip messages until the server's close frame; its code and reason. Fails unless it
/// arrives within `within`.
pub async fn closed_within(socket: &mut Socket, within: Duration) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("the socket was not closed within {within:?}"));
        match msg {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) => panic!("closed without a code"),
            None | Some(Err(_)) => panic!("the connection ended without a close frame"),
            Some(Ok(_)) => {}
        }
    }
}

/// A socket subscribed to every event of its org.
pub async fn org_socket(address: &str, bearer: &str) -> Socket {
    let mut socket = connect(address, bearer).await;
    next_of(&mut socket, "welcome").await;
    send(&mut socket, json!({"type": "subscribe", "org": true})).await;
    next_of(&mut socket, "subscribed").await;
    socket
}

/// The dashboard's socket: the session cookie, from a page of the server itself.
pub async fn dashboard_socket(address: &str, cookie: &str) -> Socket {
    let url = format!("{}/v1/realtime", address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
    headers.insert("origin", HeaderValue::from_str(address).unwrap());
    let (mut socket, _) = connect_async(request).await.expect("the socket opens");
    next_of(&mut socket, "welcome").await;
    send(&mut socket, json!({"type": "subscribe", "org": true})).await;
    next_of(&mut socket, "subscribed").await;
    socket
}

/// Sign in; the cookie pair to send back.
pub async fn signed_in(app: &TestApp, email: &str) -> String {
    let (status, body, set_cookie) = sign_in(app, email, PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    set_cookie.split(';').next().unwrap().to_string()
}

fn assert_ended(closed: (u16, String), about: &str) {
    assert_eq!(closed.0, 4401, "{closed:?}");
    assert!(closed.1.contains(about), "{closed:?}");
}

/// A second API client of the test's org.
async fn second_client(app: &TestApp) -> (TestClient, String) {
    let created = clients::create(
        &app.state,
        &meetplane::domain::audit::By::cli(app.org_id),
        "second",
    )
    .await
    .unwrap();
    let id = created.client.id.to_string();
    let client = TestClient {
        org_id: app.org_id,
        api_key: created.client.api_key,
        secret: created.secret,
    };
    (client, id)
}

async fn room_event(app: &TestApp, token: &str, socket: &mut Socket, name: &str) {
    app.create_room(token, json!({"domain": "localhost", "name": name}))
        .await;
    let e = next_of(socket, "event").await;
    assert_eq!(e["room"], name, "{e}");
}

#[tokio::test]
async fn a_socket_closes_when_its_client_is_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.token().await;
    let (client, id) = second_client(&app).await;
    let mut socket = org_socket(&app.address, &app.token_for(&client).await).await;
    room_event(&app, &admin, &mut socket, "before").await;
    let (s, body) = app
        .call(
            &admin,
            Method::DELETE,
            &app.org_path(&format!("/clients/{id}")),
            None,
        )
        .await;
    assert!(s.is_success(), "{body}");
    assert_ended(closed_within(&mut socket, WITHIN).await, "revoked");
}

#[tokio::test]
async fn a_socket_closes_when_its_token_family_is_revoked_for_a_reused_refresh_token() {
    let app = TestApp::spawn().await;
    let grant = |form: Vec<(&'static str, String)>| {
        app.request(Method::POST, "/v1/auth/token")
            .basic_auth(&app.client.api_key, Some(&app.client.secret))
            .form(&form)
            .send()
    };
    let first: Value = grant(vec![("grant_type", "client_credentials".into())])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = first["refresh_token"].as_str().unwrap().to_string();
    let mut socket = org_socket(&app.address, first["access_token"].as_str().unwrap()).await;
    for expected in [StatusCode::OK, StatusCode::BAD_REQUEST] {
        let resp = grant(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh.clone()),
        ])
        .await
        .unwrap();
        assert_eq!(resp.status(), expected);
    }
    assert_ended(closed_within(&mut socket, WITHIN).await, "revoked");
}

fn exp_of(jwt: &str) -> f64 {
    let payload = jwt.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["exp"].as_f64().unwrap()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Wait for the close frame of a credential expiring at `exp` (Unix seconds): not before it,
/// and within a second of it.
async fn closed_at_expiry(socket: &mut Socket, exp: f64) -> (u16, String) {
    let left = Duration::from_secs_f64((exp - unix_now()).max(0.0)) + WITHIN;
    let closed = closed_within(socket, left).await;
    let now = unix_now();
    assert!(
        now >= exp - 0.05,
        "closed {:.3} s before the expiry",
        exp - now
    );
    closed
}

#[tokio::test]
async fn a_socket_closes_when_its_access_token_expires() {
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        c.access_token_ttl = Duration::from_secs(2);
    })
    .await;
    let token = app.token().await;
    let mut socket = org_socket(&app.address, &token).await;
    room_event(&app, &token, &mut socket, "live").await;
    let exp = exp_of(&token);
    assert_ended(closed_at_expiry(&mut socket, exp).await, "expired");
    // Requests get a few seconds of leeway for clock skew; a socket would close at once.
    let url = format!(
        "{}/v1/realtime?token={token}",
        app.address.replace("http://", "ws://")
    );
    match connect_async(url).await.expect_err("refused") {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 401),
        other => panic!("expected an HTTP 401, got {other:?}"),
    }
}

#[tokio::test]
async fn a_dashboard_socket_closes_when_its_session_ends_or_its_admin_is_removed() {
    let app = TestApp::spawn().await;
    let token = app.token().await;
    add_admin(&app, "ada@example.com", "admin").await;
    let (first, second) = (
        signed_in(&app, "ada@example.com").await,
        signed_in(&app, "ada@example.com").await,
    );
    let mut signed_out = dashboard_socket(&app.address, &first).await;
    let mut kept = dashboard_socket(&app.address, &second).await;
    let resp = app
        .request(Method::DELETE, "/v1/admin/session")
        .header(header::COOKIE, &first)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_ended(closed_within(&mut signed_out, WITHIN).await, "signed out");
    // The admin's other session goes on.
    room_event(&app, &token, &mut kept, "still-here").await;

    let (_, admins) = app
        .call(&token, Method::GET, &app.org_path("/admins"), None)
        .await;
    let id = admins
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ada@example.com")
        .unwrap()["adminId"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, body) = app
        .call(
            &token,
            Method::DELETE,
            &app.org_path(&format!("/admins/{id}")),
            None,
        )
        .await;
    assert!(s.is_success(), "{body}");
    // Disabled, then signed out: a node may hear of either first.
    let (code, reason) = closed_within(&mut kept, WITHIN).await;
    assert_eq!(code, 4401, "{reason}");
    assert!(
        reason.contains("removed") || reason.contains("signed out"),
        "{reason}"
    );
}

/// No API changes a role yet; an operator may, in the database. On Postgres every node hears
/// of it (a trigger), and the socket closes; on SQLite nothing tells a running server.
#[tokio::test]
async fn a_dashboard_socket_closes_when_its_admin_is_demoted_in_postgres() {
    let app = TestApp::spawn().await;
    if !app
        .state
        .config
        .database_url
        .expose()
        .starts_with("postgres")
    {
        eprintln!("skipped: demotion is heard from Postgres triggers (SQLite pass)");
        return;
    }
    add_admin(&app, "ada@example.com", "admin").await;
    let cookie = signed_in(&app, "ada@example.com").await;
    let mut socket = dashboard_socket(&app.address, &cookie).await;
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .execute_unprepared(
            "UPDATE admin_users SET role = 'viewer' WHERE email = 'ada@example.com'",
        )
        .await
        .unwrap();
    assert_ended(closed_within(&mut socket, WITHIN).await, "role changed");
}

#[tokio::test]
async fn a_peer_socket_closes_when_the_peer_leaves() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "r"}))
        .await;
    let (_, me) = app.join("localhost/r", json!({"displayName": "Me"})).await;
    let token = me["content"]["peerToken"].as_str().unwrap();
    let url = format!(
        "{}/v1/realtime?token={token}",
        app.address.replace("http://", "ws://")
    );
    let (mut socket, _) = connect_async(url).await.unwrap();
    next_of(&mut socket, "welcome").await;
    let resp = app
        .request(Method::POST, "/v1/rooms/localhost/r/leave")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_ended(closed_within(&mut socket, WITHIN).await, "left");
}

async fn widget_socket(app: &TestApp, widget: &str, token: &str) -> Socket {
    let url = format!(
        "{}/imbachat/v1/{widget}/socket?token={token}",
        app.address.replace("http://", "ws://")
    );
    let (mut socket, _) = connect_async(url).await.unwrap();
    next_of(&mut socket, "welcome").await;
    socket
}

#[tokio::test]
async fn a_widget_socket_closes_when_its_user_token_expires_or_the_key_is_rotated() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let (id, key) = create_widget(&app, &t, json!({"name": "w"})).await;
    let short = get_jwt("7", &key, 2);
    let mut expiring = widget_socket(&app, &id, &short).await;
    let mut rotated = widget_socket(&app, &id, &get_jwt("8", &key, 3600)).await;
    assert_ended(
        closed_at_expiry(&mut expiring, exp_of(&short)).await,
        "expired",
    );

    let (s, body) = app
        .call(
            &t,
            Method::POST,
            &app.org_path(&format!("/widgets/{id}/secret-key")),
            None,
        )
        .await;
    assert!(s.is_success(), "{body}");
    assert_ended(closed_within(&mut rotated, WITHIN).await, "signature");
}

/// A change made through one node closes the sockets of another.
#[tokio::test]
async fn credentials_ended_through_one_node_close_sockets_on_another() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let cluster = Cluster::new(crate::helpers::TestDb::create_postgres(&admin_url).await);
    let (a, b) = (cluster.start(), cluster.start());
    let (admin, other) = (cluster.client(), cluster.client());
    let org = admin.org_id.to_string();
    let tb = b.token(&admin).await;
    let mut socket = org_socket(&a.address, &a.token(&other).await).await;
    let (_, listed) = b
        .call(
            &tb,
            Method::GET,
            &format!("/v1/orgs/{org}/clients?count=100"),
            None,
        )
        .await;
    let id = listed["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["apiKey"] == other.api_key.as_str())
        .unwrap()["clientId"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, body) = b
        .call(
            &tb,
            Method::DELETE,
            &format!("/v1/orgs/{org}/clients/{id}"),
            None,
        )
        .await;
    assert!(s.is_success(), "{body}");
    assert_ended(closed_within(&mut socket, WITHIN).await, "revoked");
}
