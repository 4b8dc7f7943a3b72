//! Driving the meeting page: browsers with fake camera and microphone, session links, the
//! join button, the lobby, and media proven by `getStats()` (window.__meetplane.stats()).
use std::time::Duration;

use meetplane::auth::session_link;
use reqwest::Method;
use serde_json::{Value, json};
use thirtyfour::WebDriver;

use crate::{
    browser::{Driver, screenshot, wait_for, wait_up_to},
    helpers::TestApp,
};

/// Chromium flags of ../shared/MEDIA.md: fake devices, no prompts, loopback ICE.
const MEDIA_FLAGS: &[&str] = &[
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
];

/// A small browser (two cores carry three or four of them).
pub async fn media_browser(driver: &mut Driver) -> WebDriver {
    driver.browser_with("480,640", MEDIA_FLAGS).await
}

/// Whether this binary carries the meeting page (built by build.rs when npm is present);
/// without it the test is skipped, saying so (in CI it fails).
pub async fn meeting_built(app: &TestApp) -> bool {
    let html = app
        .request(Method::GET, "/join/localhost/any")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let built = html.contains("id=\"meeting\"");
    if !built {
        assert!(
            std::env::var("CI").is_err(),
            "the meeting page is not built into this binary (needs npm at build time)"
        );
        eprintln!("skipped: the meeting page was not built (npm missing at build time)");
    }
    built
}

/// A subscription `reference` for the test client, so links with that `ref` hold.
pub async fn subscribe(app: &TestApp, reference: &str) {
    let t = app.token().await;
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/subscriptions"),
            Some(json!({"ref": reference, "email": "owner@example.com", "name": "Owner"})),
        )
        .await;
    assert!(s.is_success(), "{b}");
}

/// A session link (`/v1/session/…`) signed with the test client's secret.
pub fn link(app: &TestApp, sid: &str, reference: &str, role: &str, name: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"iss": app.client.api_key, "un": name, "ref": reference, "sid": sid,
        "rle": role, "nbf": now, "iat": now, "exp": now + 3600});
    if role == "owner" {
        claims["email"] = "owner@example.com".into();
    }
    format!(
        "{}/v1/session/{}",
        app.address,
        session_link::sign(&claims, &app.client.secret)
    )
}

/// Open `url` (a session link, or a page) and press "Join the meeting" once it is enabled
/// (the preview has opened the devices).
pub async fn open_and_join(b: &WebDriver, url: &str) {
    b.goto(url).await.unwrap();
    press_join(b).await;
}

/// Open a room link (or a `#hostKey=` link), enter `name` in the entry form and join.
pub async fn join_by_name(b: &WebDriver, url: &str, name: &str) {
    b.goto(url).await.unwrap();
    let fill = format!(
        "const i = document.getElementById('display-name'); if (!i) return false; \
         i.value = {name:?}; i.dispatchEvent(new Event('input', {{bubbles: true}})); return true"
    );
    wait_for(b, "the name field", &fill, |v| v == &json!(true)).await;
    press_join(b).await;
}

pub async fn press_join(b: &WebDriver) {
    wait_for(
        b,
        "the join button",
        "const j = document.getElementById('join'); if (j && !j.disabled) { j.click(); return true } return false",
        |v| v == &json!(true),
    )
    .await;
}

/// Text of the page's status line.
pub const STATUS: &str =
    "const s = document.querySelector('#status, #lobby-status'); return s ? s.textContent : null";

pub fn contains(text: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v.as_str().is_some_and(|s| s.contains(text))
}

pub async fn wait_in_meeting(b: &WebDriver) {
    wait_for(b, "the meeting", STATUS, contains("in the meeting")).await;
}

/// This page's peer id.
pub async fn peer_id(b: &WebDriver) -> String {
    wait_for(
        b,
        "the peer id",
        "return window.__meetplane && window.__meetplane.peerId()",
        Value::is_string,
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

/// Wait until this page decodes video and receives audio from each of `from`; returns the stats.
pub async fn wait_media_from(b: &WebDriver, what: &str, from: &[&str]) -> Vec<Value> {
    let from: Vec<String> = from.iter().map(|s| s.to_string()).collect();
    let v = wait_up_to(
        b,
        Duration::from_secs(30),
        what,
        // The socket's error frames ride along, so a timeout says why signals were refused.
        "return window.__meetplane.stats().then((s) => s.concat([{errors: window.__meetplane.errors(), state: window.__meetplane.state(), notice: document.getElementById('notice')?.textContent, status: document.getElementById('status')?.textContent}]))",
        |v| {
            let stats = v.as_array().cloned().unwrap_or_default();
            from.iter().all(|peer| {
                stats.iter().any(|s| {
                    s["peerId"] == json!(peer)
                        && s["framesDecoded"].as_u64().unwrap_or(0) > 0
                        && s["audioBytesReceived"].as_u64().unwrap_or(0) > 0
                })
            })
        },
    )
    .await;
    v.as_array().unwrap().clone()
}

/// The stats this page has for `peer`, if it has a connection to it.
pub async fn stats_for(b: &WebDriver, peer: &str) -> Option<Value> {
    let v = b
        .execute("return window.__meetplane.stats()", Vec::new())
        .await
        .unwrap()
        .json()
        .clone();
    v.as_array()?
        .iter()
        .find(|s| s["peerId"] == json!(peer))
        .cloned()
}

/// If the guest knocks (the lobby is on), the owner's page admits it with its Admit button.
/// Returns whether the guest had to be let in.
pub async fn admit_if_knocking(owner: &WebDriver, guest: &WebDriver, guest_name: &str) -> bool {
    let state = wait_for(
        guest,
        "the guest in the meeting or the lobby",
        "return document.getElementById('lobby-status') ? 'lobby' : (document.getElementById('status')?.textContent || '')",
        |v| v == &json!("lobby") || v.as_str().is_some_and(|s| s.contains("in the meeting")),
    )
    .await;
    if state != json!("lobby") {
        return false;
    }
    let button = format!("document.querySelector('button[aria-label=\"Admit {guest_name}\"]')");
    wait_for(
        owner,
        "the knock on the owner's page",
        &format!("return !!{button}"),
        |v| v == &json!(true),
    )
    .await;
    // What both see while the guest waits: the lobby, and the knock with Admit and Deny.
    screenshot(guest, "media-lobby-guest").await;
    screenshot(owner, "media-lobby-owner").await;
    owner
        .execute(&format!("{button}.click()"), Vec::new())
        .await
        .unwrap();
    true
}

/// Open a session link as an API client would: the room (`domain/name`) and the peer token.
pub async fn open_json(app: &TestApp, link: &str) -> (String, String) {
    let (s, body) = crate::helpers::read(
        app.request(Method::GET, link.trim_start_matches(&app.address))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(s.is_success(), "{body}");
    let c = &body["content"];
    (
        c["room"].as_str().unwrap().to_string(),
        c["peerToken"].as_str().unwrap().to_string(),
    )
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The org's events, as an API client hears them on /v1/realtime.
pub async fn org_events(app: &TestApp) -> Socket {
    use futures_util::SinkExt;
    let token = app.token().await;
    let url = format!(
        "{}/v1/realtime?token={token}",
        app.address.replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(
            json!({"type": "subscribe", "org": true}).to_string(),
        ))
        .await
        .unwrap();
    socket
}

/// The reason of the next `clientsRemoved` naming `peer` (waits up to `limit`).
pub async fn removal_of(socket: &mut Socket, peer: &str, limit: Duration) -> String {
    use futures_util::StreamExt;
    let found = tokio::time::timeout(limit, async {
        while let Some(Ok(m)) = socket.next().await {
            let Ok(v) = serde_json::from_str::<Value>(m.to_text().unwrap_or_default()) else {
                continue;
            };
            let names_peer = v["payload"]["clients"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["id"] == json!(peer)));
            if v["event"] == "clientsRemoved" && names_peer {
                return v["payload"]["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
            }
        }
        panic!("the realtime socket closed");
    })
    .await;
    found.unwrap_or_else(|_| panic!("no clientsRemoved for {peer} within {limit:?}"))
}

/// A browser per name, each joined under its name at `url` and in the meeting.
pub async fn join_all(driver: &mut Driver, url: &str, names: &[&str]) -> Vec<WebDriver> {
    let mut pages = Vec::new();
    for name in names {
        let b = media_browser(driver).await;
        join_by_name(&b, url, name).await;
        wait_in_meeting(&b).await;
        pages.push(b);
    }
    pages
}
