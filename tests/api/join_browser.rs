//! The join page in headless Chromium: on Leave it goes to the return URL of the session link
//! that admitted the peer, which the server gives, and never to one in the page's own URL.
use std::sync::Arc;

use meetplane::clock::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    browser::{self, Driver, wait_for},
    helpers::TestApp,
    sessions::{guest_claims, open, pyjwt, subscribe},
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
    let mut claims = guest_claims(&app, "s1", "r");
    claims["rtn"] = vouched.clone().into();
    let (s, admitted) = open(&app, &pyjwt(&claims, &app.client.secret, "HS256")).await;
    assert_eq!(s, StatusCode::OK, "{admitted}");
    let token = admitted["content"]["peerToken"].as_str().unwrap();

    // A crafted join URL: a real peer token, and a return URL of the attacker's choosing.
    let mut driver = Driver::start().await;
    let b = driver.browser().await;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("rtn", &elsewhere)
        .finish();
    b.goto(format!(
        "{}/join/localhost/s1?{query}#peerToken={token}",
        app.address
    ))
    .await
    .unwrap();
    wait_for(
        &b,
        "the room",
        "return document.getElementById('status').textContent",
        |v| {
            v.as_str()
                .is_some_and(|s| s.contains("You are in the room"))
        },
    )
    .await;
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
}
