//! The meeting page in headless Chromium without camera or microphone: it says so and joins
//! without them; the token leaves the address bar; on Leave it goes to the return URL of the
//! session link that admitted the peer, which the server gives, and never to one in the
//! page's own URL.
use std::sync::Arc;

use meetplane::clock::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    browser::{self, Driver, wait_for},
    helpers::TestApp,
    sessions::{open, owner_claims, pyjwt, subscribe},
    site::Site,
};

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
    let mut claims = owner_claims(&app, "s1", "r");
    claims["rtn"] = vouched.clone().into();
    let (s, admitted) = open(&app, &pyjwt(&claims, &app.client.secret, "HS256")).await;
    assert_eq!(s, StatusCode::OK, "{admitted}");
    let token = admitted["content"]["peerToken"].as_str().unwrap();

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
    let html = page.text().await.unwrap();
    if !html.contains("id=\"meeting\"") {
        assert!(
            std::env::var("CI").is_err(),
            "the meeting page is not built into this binary (needs npm at build time): {html}"
        );
        eprintln!("skipped: the meeting page was not built (npm missing at build time)");
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
    wait_for(
        &b,
        "the meeting",
        "return document.getElementById('status')?.textContent",
        |v| {
            v.as_str()
                .is_some_and(|s| s.contains("You are in the meeting"))
        },
    )
    .await;
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
