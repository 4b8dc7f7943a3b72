//! The widget in a real browser: a site on another origin embeds it for Alice (user 1) and for
//! Bob (user 2); Alice opens a dialog with Bob and writes; Bob sees it live, under the name the
//! site's users-info URL gives.
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thirtyfour::{By, WebDriver};

use crate::{
    browser::{self, Driver, screenshot, wait_for},
    helpers::TestApp,
    site::Site,
    widgets::{create_widget, get_jwt, site_users},
};

/// A page of the site, loading the widget as the seed shows (the loader polls for
/// `window.ImbaChat`), with a "write to" button calling `imbaApi.openDialog`.
fn page(app: &TestApp, widget: &str, user: &str, token: &str, write_to: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Site page of user {user}</title>
<style>body {{ font-family: serif; background: #fafaf0; }} button {{ color: red; }} div, * {{ border: 3px solid lime; }}</style>
</head>
<body>
<h1>Member {user}</h1>
<button id="write">Write to user {write_to}</button>
<script src="{base}/imbachat/v1/{widget}/widget"></script>
<script>
function imbachatWidget(opt) {{
  if (!window.ImbaChat) {{ return setTimeout(imbachatWidget, 50, opt); }}
  window.ImbaChat.load(opt).then(
    function () {{ document.body.dataset.chat = 'ready'; }},
    function (e) {{ document.body.dataset.chat = 'error: ' + e.message; }});
}}
imbachatWidget({{ user_id: "{user}", token: "{token}" }});
document.getElementById('write').addEventListener('click', function () {{ imbaApi.openDialog({write_to}); }});
</script>
</body></html>"#,
        base = app.address,
    )
}

const READY: &str = "return document.body.dataset.chat || null";
const WIDGET_TEXT: &str = "const h = document.getElementById('meetplane-imbachat'); \
     return h && h.shadowRoot ? h.shadowRoot.textContent : null";

#[tokio::test]
async fn a_message_reaches_the_other_user_live_in_the_browser() {
    if !browser::available() {
        return;
    }
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let site = Site::start(site_users()).await;
    let (id, key) = create_widget(
        &app,
        &t,
        json!({"name": "Site", "apiLogin": crate::site::LOGIN, "apiPassword": crate::site::PASSWORD,
               "usersInfoUrl": site.users_url(), "allowedOrigins": [site.origin]}),
    )
    .await;
    let alice_page = site.page(
        "alice",
        page(&app, &id, "1", &get_jwt("1", &key, 3600), "2"),
    );
    let bob_page = site.page("bob", page(&app, &id, "2", &get_jwt("2", &key, 3600), "1"));

    // Bob is also a peer in a room, admitted for his site user id: his widget lists its chat.
    app.create_room(&t, json!({"domain": "localhost", "name": "lobby"}))
        .await;
    let (s, b) = app
        .call(
            &t,
            reqwest::Method::POST,
            &app.org_path("/rooms/localhost/lobby/peers"),
            Some(json!({"displayName": "Bob B.", "role": "user", "siteUserId": "2"})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{b}");

    let mut driver = Driver::start().await;
    let bob = driver.browser().await;
    let alice = driver.browser().await;
    bob.goto(&bob_page).await.unwrap();
    let ready = wait_for(&bob, "Bob's widget", READY, |v| !v.is_null()).await;
    assert_eq!(ready, "ready");
    alice.goto(&alice_page).await.unwrap();
    let ready = wait_for(&alice, "Alice's widget", READY, |v| !v.is_null()).await;
    assert_eq!(ready, "ready");

    // The site's CSS does not reach into the widget (its buttons would be red).
    let colour = alice
        .execute(
            "return getComputedStyle(document.getElementById('meetplane-imbachat').shadowRoot.querySelector('.launcher')).color",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(colour.json(), "rgb(255, 255, 255)");
    let host_border = alice
        .execute(
            "return getComputedStyle(document.getElementById('meetplane-imbachat')).borderTopWidth",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(host_border.json(), "0px");

    // Alice clicks the site's "write to user 2" button and types in the widget.
    alice
        .find(By::Id("write"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&alice, "the dialog with Bob", WIDGET_TEXT, |v| {
        v.as_str().is_some_and(|t| t.contains("Bob"))
    })
    .await;
    let root = alice
        .find(By::Id("meetplane-imbachat"))
        .await
        .unwrap()
        .get_shadow_root()
        .await
        .unwrap();
    let input = root.find(By::Css("textarea")).await.unwrap();
    input.send_keys("Hello Bob, it is Alice").await.unwrap();
    root.find(By::Css("button.send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&alice, "Alice's own message", WIDGET_TEXT, |v| {
        v.as_str()
            .is_some_and(|t| t.contains("Hello Bob, it is Alice"))
    })
    .await;

    // Bob's widget learns of it live: the dialog appears with Alice's name and an unread badge.
    let bob_root_script = "const r = document.getElementById('meetplane-imbachat').shadowRoot; \
        const d = r.querySelector('.dialog:not(.room)'); \
        return d ? {name: d.querySelector('.name').textContent, preview: d.querySelector('.preview').textContent, \
                    badge: r.querySelector('.launcher .badge').textContent} : null";
    let seen: Value = wait_for(&bob, "the dialog in Bob's widget", bob_root_script, |v| {
        v["preview"] == "Hello Bob, it is Alice"
    })
    .await;
    assert_eq!(
        (&seen["name"], &seen["badge"]),
        (&json!("Alice"), &json!("1")),
        "{seen}"
    );
    let listed = bob
        .execute("return [...document.getElementById('meetplane-imbachat').shadowRoot.querySelectorAll('.dialog .name')].map(e => e.textContent)", Vec::new())
        .await
        .unwrap();
    assert_eq!(listed.json(), &json!(["# lobby", "Alice"]));
    let bob_root = bob
        .find(By::Id("meetplane-imbachat"))
        .await
        .unwrap()
        .get_shadow_root()
        .await
        .unwrap();
    bob_root
        .find(By::Css("button.launcher"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    bob_root
        .find(By::Css("button.dialog[data-user-id='1']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let message = wait_for(
        &bob,
        "the message in Bob's dialog",
        "const m = document.getElementById('meetplane-imbachat').shadowRoot.querySelector('.msg'); \
         return m ? {author: m.querySelector('.author').textContent, text: m.textContent} : document.getElementById('meetplane-imbachat').shadowRoot.querySelector('.panel').innerText",
        |v| v.is_object(),
    )
    .await;
    assert_eq!(message["author"], "Alice", "{message}");
    assert!(
        message["text"]
            .as_str()
            .unwrap()
            .contains("Hello Bob, it is Alice"),
        "{message}"
    );
    let shot = screenshot(&bob, "widget-bob-sees-alice").await;
    screenshot(&alice, "widget-alice-wrote").await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);
    // Bob read it: the unread badge is gone.
    wait_for(&bob, "the badge to clear", "return document.getElementById('meetplane-imbachat').shadowRoot.querySelector('.launcher .badge').hidden", |v| v == true).await;

    bob.quit().await.unwrap();
    alice.quit().await.unwrap();
}

/// A page as the seed writes it: `load()` and `openDialog()` without a catch.
fn page_without_catch(app: &TestApp, widget: &str, user: &str, token: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Site page of user {user}</title></head>
<body>
<h1>Member {user}</h1>
<button id="write">Write to user 3</button>
<script src="{base}/imbachat/v1/{widget}/widget"></script>
<script>
function imbachatWidget(opt) {{
  if (!window.ImbaChat) {{ return setTimeout(imbachatWidget, 50, opt); }}
  window.ImbaChat.load(opt);
}}
imbachatWidget({{ user_id: "{user}", token: "{token}" }});
document.getElementById('write').addEventListener('click', function () {{ imbaApi.openDialog(3); }});
</script>
</body></html>"#,
        base = app.address,
    )
}

/// The signed-out panel: its message (null until shown), whether it is open, the badge.
const REFUSED_STATE: &str = "const h = document.getElementById('meetplane-imbachat'); \
     const r = h && h.shadowRoot && h.shadowRoot.querySelector('.root.signed-out'); \
     return r ? {message: r.querySelector('.note').textContent, \
                 open: !r.querySelector('.panel').hidden, \
                 badge: r.querySelector('.launcher .badge').textContent} : null;";

/// Poll the page until `done` accepts its state or the console shows an uncaught error (a
/// script's own unhandled rejections are muted for cross-origin scripts, so the console it
/// is); returns the state and the uncaught errors.
async fn watch(
    browser: &WebDriver,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> (Value, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut uncaught = Vec::new();
    loop {
        let state = browser
            .execute(REFUSED_STATE, Vec::new())
            .await
            .unwrap()
            .json()
            .clone();
        uncaught.extend(
            browser
                .browser_log()
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.message)
                .filter(|m| m.contains("Uncaught")),
        );
        if done(&state) || !uncaught.is_empty() {
            return (state, uncaught);
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_refused_token_shows_why_in_the_panel_and_nothing_goes_uncaught() {
    if !browser::available() {
        return;
    }
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let site = Site::start(site_users()).await;
    let (id, key) = create_widget(
        &app,
        &t,
        json!({"name": "Site", "apiLogin": crate::site::LOGIN, "apiPassword": crate::site::PASSWORD,
               "usersInfoUrl": site.users_url(), "allowedOrigins": [site.origin]}),
    )
    .await;
    let expired = site.page(
        "expired",
        page_without_catch(&app, &id, "1", &get_jwt("1", &key, -3600)),
    );
    let wrong_key = site.page(
        "wrong-key",
        page_without_catch(&app, &id, "2", &get_jwt("2", "not-the-widget-key", 3600)),
    );

    let mut driver = Driver::start().await;
    let browser = driver.browser().await;
    for (url, says) in [
        (&expired, "Your chat session has expired"),
        (&wrong_key, "sign-in token was not accepted"),
    ] {
        browser.goto(url).await.unwrap();
        let (state, uncaught) = watch(&browser, "the signed-out panel", |v| !v.is_null()).await;
        assert_eq!(uncaught, Vec::<String>::new(), "{url}");
        assert!(state["message"].as_str().unwrap().contains(says), "{state}");
        assert_eq!(state["badge"], "!", "{state}");
        // The site's "write to" button opens the panel, which says why; still nothing uncaught.
        browser
            .find(By::Id("write"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let (state, uncaught) = watch(&browser, "the panel to open", |v| v["open"] == true).await;
        assert_eq!(uncaught, Vec::<String>::new(), "{url}");
        assert!(state["message"].as_str().unwrap().contains(says), "{state}");
    }
    screenshot(&browser, "widget-refused-token").await;
    browser.quit().await.unwrap();
}
