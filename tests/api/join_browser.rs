//! The meeting page in headless Chromium without camera or microphone: it says so and joins
//! without them; the token leaves the address bar; on Leave it goes to the return URL of the
//! session link that admitted the peer, which the server gives, and never to one in the
//! page's own URL.
use std::sync::Arc;

use meetplane::clock::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use thirtyfour::{Key, WebDriver};

use crate::{
    browser::{self, Driver, wait_for},
    helpers::TestApp,
    sessions::{open, owner_claims, pyjwt, subscribe},
    site::Site,
};

/// The owner's peer token for session `sid` (its link's claims changed by `change` first).
async fn owner_peer_token(app: &TestApp, sid: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut claims = owner_claims(app, sid, "r");
    change(&mut claims);
    let (s, admitted) = open(app, &pyjwt(&claims, &app.client.secret, "HS256")).await;
    assert_eq!(s, StatusCode::OK, "{admitted}");
    admitted["content"]["peerToken"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Whether `html` is the meeting page; a binary built without npm has none (CI: a failure).
fn is_meeting_page(html: &str) -> bool {
    let built = html.contains("id=\"meeting\"");
    if !built {
        assert!(
            std::env::var("CI").is_err(),
            "the meeting page is not built into this binary (needs npm at build time): {html}"
        );
        eprintln!("skipped: the meeting page was not built (npm missing at build time)");
    }
    built
}

async fn wait_in_meeting(b: &WebDriver) {
    wait_for(
        b,
        "the meeting",
        "return document.getElementById('status')?.textContent",
        |v| {
            v.as_str()
                .is_some_and(|s| s.contains("You are in the meeting"))
        },
    )
    .await;
}

#[tokio::test]
async fn leave_goes_to_the_links_return_url_not_the_querys() {
    if !browser::available() {
        return;
    }
    let app = TestApp::spawn_with_clock(Arc::new(SystemClock)).await;
    let t = app.token().await;
    subscribe(&app, &t, "r").await;
    let site = Site::start(Vec::new()).await;
    let vouched = site.page("after-the-call", "<title>after</title>".into());
    let elsewhere = site.page("elsewhere", "<title>elsewhere</title>".into());
    // The owner's link: a guest's would wait in the lobby for a host.
    let token = owner_peer_token(&app, "s1", |c| c["rtn"] = vouched.clone().into()).await;

    // The page's headers: media allowed, no referrer, never framed.
    let page = app
        .http
        .get(app.url("/join/localhost/s1"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("media-src 'self' blob: mediastream:"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    if !is_meeting_page(&page.text().await.unwrap()) {
        return;
    }

    // A crafted join URL: a real peer token, and a return URL of the attacker's choosing. This
    // browser has no camera or microphone: the page says so and joins without them.
    let mut driver = Driver::start().await;
    let b = driver
        .browser_with("800,700", &["--use-fake-ui-for-media-stream"])
        .await;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("rtn", &elsewhere)
        .finish();
    b.goto(format!(
        "{}/join/localhost/s1?{query}#peerToken={token}",
        app.address
    ))
    .await
    .unwrap();
    let device_errors = wait_for(
        &b,
        "the missing devices explained",
        "return [...document.querySelectorAll('.prejoin [role=alert]')].map((e) => e.textContent).join(' ')",
        |v| v.as_str().is_some_and(|s| s.contains("camera") && s.contains("microphone")),
    )
    .await;
    assert!(
        device_errors.as_str().unwrap().contains("join without it"),
        "{device_errors}"
    );
    // The token left the address bar and history at once.
    let href = b.execute("return location.href", Vec::new()).await.unwrap();
    assert!(
        !href.json().as_str().unwrap().contains("mppt_"),
        "{:?}",
        href.json()
    );
    b.execute(
        "document.getElementById('join').click(); return true",
        Vec::new(),
    )
    .await
    .unwrap();
    wait_in_meeting(&b).await;
    browser::screenshot(&b, "join-page-no-devices").await;
    b.execute(
        "document.getElementById('leave').click(); return true",
        Vec::new(),
    )
    .await
    .unwrap();
    let landed = wait_for(
        &b,
        "leaving the page",
        "return location.href",
        |v: &Value| v.as_str().is_some_and(|href| !href.contains("/join/")),
    )
    .await;
    assert_eq!(landed, json!(vouched));
    b.quit().await.unwrap();
}

/// Press Tab until the element with `id` has focus (at most `limit` presses); the ids focused on
/// the way, in order.
async fn tab_to(b: &WebDriver, id: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..limit {
        b.action_chain()
            .send_keys(Key::Tab)
            .perform()
            .await
            .unwrap();
        let focused = b
            .execute("return document.activeElement?.id ?? ''", Vec::new())
            .await
            .unwrap();
        let focused = focused.json().as_str().unwrap_or_default().to_string();
        seen.push(focused.clone());
        if focused == id {
            return seen;
        }
    }
    panic!("Tab never reached #{id}; focus went through {seen:?}");
}

const FITS: &str = "return document.documentElement.scrollWidth <= window.innerWidth \
    && [...document.querySelectorAll('button, input, select')].every((e) => { \
        const r = e.getBoundingClientRect(); return r.width === 0 || r.right <= window.innerWidth + 1; })";

const UNLABELLED: &str = "return [...document.querySelectorAll('button, input, select')]\
    .filter((e) => !(e.getAttribute('aria-label') || e.labels?.length || e.textContent.trim()))\
    .map((e) => e.outerHTML)";

/// At a phone's width, without camera or microphone: nothing overflows sideways, every control
/// has a name, and the meeting is run from the keyboard alone (join, chat, lock). A lock made
/// elsewhere (the org API) reaches the page by its `roomUpdated` event.
#[tokio::test]
async fn the_meeting_fits_a_phone_and_runs_from_the_keyboard() {
    if !browser::available() {
        return;
    }
    let app = TestApp::spawn_with_clock(Arc::new(SystemClock)).await;
    let t = app.token().await;
    subscribe(&app, &t, "r").await;
    let token = owner_peer_token(&app, "phone", |_| {}).await;
    let html = app.http.get(app.url("/join/localhost/phone")).send().await;
    if !is_meeting_page(&html.unwrap().text().await.unwrap()) {
        return;
    }
    let mut driver = Driver::start().await;
    let b = driver
        .browser_with("390,844", &["--use-fake-ui-for-media-stream"])
        .await;
    b.goto(format!(
        "{}/join/localhost/phone#peerToken={token}",
        app.address
    ))
    .await
    .unwrap();
    wait_for(
        &b,
        "the join button, once the missing devices are explained",
        "return !!document.getElementById('join') \
            && document.querySelectorAll('.prejoin [role=alert]').length > 0",
        |v| v.as_bool() == Some(true),
    )
    .await;
    let unlabelled = b.execute(UNLABELLED, Vec::new()).await.unwrap();
    assert_eq!(unlabelled.json(), &json!([]), "controls without a name");
    assert_eq!(
        b.execute(FITS, Vec::new()).await.unwrap().json(),
        &json!(true)
    );

    tab_to(&b, "join", 40).await;
    b.action_chain()
        .send_keys(Key::Enter)
        .perform()
        .await
        .unwrap();
    wait_in_meeting(&b).await;
    // Without devices the page still shows this person a tile of their own.
    let me = wait_for(
        &b,
        "my tile",
        "return document.querySelector('.tile figcaption')?.textContent",
        |v| v.as_str().is_some_and(|s| s.contains("(you)")),
    )
    .await;
    assert!(
        me.as_str().unwrap().contains("no camera or microphone"),
        "{me}"
    );
    assert_eq!(
        b.execute(FITS, Vec::new()).await.unwrap().json(),
        &json!(true)
    );
    let unlabelled = b.execute(UNLABELLED, Vec::new()).await.unwrap();
    assert_eq!(unlabelled.json(), &json!([]), "controls without a name");

    // Chat from the keyboard: open the panel, type, Enter.
    tab_to(&b, "chat-toggle", 40).await;
    b.action_chain()
        .send_keys(Key::Enter)
        .perform()
        .await
        .unwrap();
    wait_for(
        &b,
        "the chat panel",
        "return !!document.getElementById('chat-text')",
        |v| v.as_bool() == Some(true),
    )
    .await;
    tab_to(&b, "chat-text", 40).await;
    b.action_chain()
        .send_keys("hello from a phone")
        .send_keys(Key::Enter)
        .perform()
        .await
        .unwrap();
    wait_for(
        &b,
        "the message in the chat",
        "return document.querySelector('.side')?.textContent",
        |v| v.as_str().is_some_and(|s| s.contains("hello from a phone")),
    )
    .await;
    browser::screenshot(&b, "meeting-phone-width").await;

    // Lock from the keyboard; the page shows it.
    tab_to(&b, "lock", 40).await;
    b.action_chain()
        .send_keys(Key::Enter)
        .perform()
        .await
        .unwrap();
    wait_for(
        &b,
        "locked",
        "return document.getElementById('status')?.textContent",
        |v| v.as_str().is_some_and(|s| s.contains("Locked")),
    )
    .await;
    // Unlocked elsewhere: the roomUpdated event brings it to the page.
    let (s, body) = app
        .call(
            &t,
            reqwest::Method::PUT,
            &app.org_path("/rooms/localhost/phone/lock"),
            Some(json!({"lock": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    wait_for(
        &b,
        "unlocked by the API",
        "return document.getElementById('status')?.textContent",
        |v| v.as_str().is_some_and(|s| !s.contains("Locked")),
    )
    .await;
    b.quit().await.unwrap();
}
