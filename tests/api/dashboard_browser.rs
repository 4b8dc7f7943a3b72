//! The dashboard in headless Chromium: sign-in (bad, then good password), an API client's
//! secret shown once, a room whose peer (opened by a session link in a second browser, on the
//! meeting page) appears live, chats and is kicked, a booking conflict, and a webhook validated against a local receiver
//! with its deliveries; the overview shows a chat bridge that cannot connect. Screenshots land in `target/test-artifacts/dashboard-*.png`.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use meetplane::{
    clock::SystemClock,
    config::{ChatConfig, Settings},
};

use reqwest::Method;
use serde_json::{Value, json};
use thirtyfour::WebDriver;

use crate::{
    admins::{PASSWORD, add_admin},
    browser::{self, Driver, screenshot, wait_for},
    helpers::TestApp,
    receiver::Receiver,
    sessions::{guest_claims, pyjwt, subscribe},
};

/// Page helpers: fill inputs the way a user does (through the input events the app listens
/// to), click buttons by their visible text, read text of an element.
const HELPERS: &str = r#"
window.t = {
  q: (sel) => document.querySelector(sel),
  fill: (sel, value) => {
    const el = document.querySelector(sel);
    if (!el) throw new Error('no element ' + sel);
    const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  },
  click: (text, scope) => {
    const root = scope ? document.querySelector(scope) : document;
    const b = [...root.querySelectorAll('button')].find((b) => b.textContent.trim() === text && !b.disabled);
    if (!b) throw new Error('no enabled button ' + text);
    b.click();
  },
  text: (sel) => { const el = document.querySelector(sel); return el ? el.textContent : null; },
};
window.confirm = () => true;
return true;
"#;

async fn helpers(b: &WebDriver) {
    b.execute(HELPERS, Vec::new()).await.unwrap();
}

/// Run page statements. A trailing `t.click(…)` runs in a second call, so the app has
/// re-rendered with the typed values first (as between a user's typing and clicking), and
/// it waits while the button is still disabled (a form whose choices are loading), as a
/// user would.
async fn run(b: &WebDriver, script: &str) {
    let (fill, click) = match script.rfind("t.click(") {
        Some(at) => script.split_at(at),
        None => (script, ""),
    };
    if !fill.trim().is_empty() {
        b.execute(fill, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{fill}: {e}"));
    }
    if click.trim().is_empty() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match b.execute(click, Vec::new()).await {
            Ok(_) => return,
            Err(e) if e.to_string().contains("no enabled button") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{click}: {e}"),
        }
    }
}

/// Go to a dashboard route and wait for its heading.
async fn open(b: &WebDriver, app: &TestApp, route: &str, heading: &str) {
    b.goto(format!("{}/#/{route}", app.address)).await.unwrap();
    wait_for(
        b,
        &format!("the {heading} page"),
        "const h = document.querySelector('.page-head h1'); return h ? h.textContent : null",
        |v| v.as_str().is_some_and(|t| t.contains(heading)),
    )
    .await;
    helpers(b).await;
}

fn text_of(selector: &str) -> String {
    format!("return t.text({selector:?})")
}

fn contains(needle: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v.as_str().is_some_and(|t| t.contains(needle))
}

fn local_input(t: chrono::DateTime<chrono::Local>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

#[tokio::test]
async fn an_admin_runs_meetplane_from_the_dashboard() {
    if !browser::available() {
        return;
    }
    // The chat bridge's account is on a server that is not there: the overview says so.
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        let s = Settings {
            xmpp_jid: Some("bridge@localhost".into()),
            xmpp_password: Some("bridgepw".into()),
            xmpp_server: Some(nowhere.to_string()),
            ..Default::default()
        };
        c.chat.xmpp = ChatConfig::from_settings(&s).unwrap().xmpp;
    })
    .await;
    let index = app.request(Method::GET, "/").send().await.unwrap();
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = index.text().await.unwrap();
    if !html.contains("id=\"app\"") {
        assert!(
            std::env::var("CI").is_err(),
            "the dashboard is not built into this binary (needs npm at build time): {html}"
        );
        eprintln!("skipped: the dashboard was not built (npm missing at build time)");
        return;
    }
    add_admin(&app, "ada@example.com", "owner").await;
    let mut driver = Driver::start().await;
    let b = driver.browser().await;

    // Sign in: a wrong password is refused with a message, the right one gets in.
    b.goto(&app.address).await.unwrap();
    wait_for(
        &b,
        "the sign-in form",
        "return !!document.querySelector('input[name=email]')",
        |v| v == &json!(true),
    )
    .await;
    helpers(&b).await;
    run(&b, "t.fill('input[name=email]', 'ada@example.com'); t.fill('input[name=password]', 'not my password'); t.click('Sign in');").await;
    wait_for(
        &b,
        "the refusal",
        &text_of("[role=alert]"),
        contains("wrong"),
    )
    .await;
    screenshot(&b, "dashboard-sign-in-refused").await;
    run(
        &b,
        &format!("t.fill('input[name=password]', {PASSWORD:?}); t.click('Sign in');"),
    )
    .await;
    wait_for(
        &b,
        "the overview",
        &text_of(".page-head h1"),
        contains("Overview"),
    )
    .await;
    let bridge = wait_for(
        &b,
        "the chat bridge's failure",
        &text_of("[data-testid=chat-bridge]"),
        contains("Last error"),
    )
    .await;
    assert!(
        bridge.as_str().unwrap().contains("bridge@localhost"),
        "{bridge}"
    );
    screenshot(&b, "dashboard-overview").await;

    // An API client's secret is shown once.
    open(&b, &app, "clients", "API clients").await;
    run(&b, "t.fill('[data-testid=client-form] input[name=name]', 'booking-site'); t.click('Create client');").await;
    let secret = wait_for(
        &b,
        "the new secret",
        &text_of("[data-testid=secret-value]"),
        |v| v.as_str().is_some_and(|s| s.len() > 20),
    )
    .await;
    let secret = secret.as_str().unwrap().to_string();
    screenshot(&b, "dashboard-client-secret").await;
    open(&b, &app, "overview", "Overview").await;
    open(&b, &app, "clients", "API clients").await;
    wait_for(
        &b,
        "the client list",
        &text_of("[data-testid=clients]"),
        contains("booking-site"),
    )
    .await;
    let page = b.source().await.unwrap();
    assert!(!page.contains(&secret), "the secret is shown only once");

    // A room: a peer opened by a session link in another browser appears live, then is kicked.
    let t = app.token().await;
    subscribe(&app, &t, "dr-who").await;
    open(&b, &app, "rooms", "Rooms").await;
    run(
        &b,
        "t.fill('[data-testid=room-form] input[name=name]', 'clinic'); t.click('Create room');",
    )
    .await;
    wait_for(
        &b,
        "the room in the list",
        &text_of("[data-testid=rooms]"),
        contains("localhost/clinic"),
    )
    .await;
    open(&b, &app, "room/localhost/clinic", "Room localhost/clinic").await;
    wait_for(&b, "the live socket", &text_of(".badge"), contains("live")).await;
    let guest = driver.browser().await;
    let link = pyjwt(
        &guest_claims(&app, "clinic", "dr-who"),
        &app.client.secret,
        "HS256",
    );
    guest
        .goto(format!("{}/v1/session/{link}", app.address))
        .await
        .unwrap();
    // The meeting page (this browser has no camera: it joins without one).
    wait_for(
        &guest,
        "the join button",
        "const j = document.getElementById('join'); if (j && !j.disabled) { j.click(); return true } return false",
        |v| v == &json!(true),
    )
    .await;
    // A guest knocks (the org's guest lobby is on); the dashboard lets it in.
    wait_for(
        &guest,
        "the guest in the lobby",
        "return document.getElementById('lobby-status')?.textContent",
        contains("Waiting"),
    )
    .await;
    helpers(&b).await;
    run(&b, "t.click('Admit')").await;
    wait_for(
        &guest,
        "the meeting page",
        "return document.getElementById('status')?.textContent",
        contains("You are in the meeting"),
    )
    .await;
    wait_for(
        &b,
        "the guest, live",
        &text_of("[data-testid=peers]"),
        contains("Joe Guest"),
    )
    .await;
    // The guest writes in the join page's chat; the dashboard's transcript has it.
    helpers(&guest).await;
    run(&guest, "document.getElementById('chat-toggle').click()").await;
    run(
        &guest,
        "t.fill('#chat-text', 'hello from the guest'); t.click('Send', '.send')",
    )
    .await;
    wait_for(
        &guest,
        "the guest's message",
        "return document.querySelector('.messages')?.textContent",
        contains("hello from the guest"),
    )
    .await;
    screenshot(&guest, "dashboard-guest-join-page").await;
    open(&b, &app, "chat/localhost/clinic", "Chat").await;
    wait_for(
        &b,
        "the transcript",
        &text_of(".content"),
        contains("hello from the guest"),
    )
    .await;
    screenshot(&b, "dashboard-chat-transcript").await;
    open(&b, &app, "room/localhost/clinic", "Room localhost/clinic").await;
    wait_for(&b, "the live socket", &text_of(".badge"), contains("live")).await;
    screenshot(&b, "dashboard-room-peer-live").await;
    helpers(&b).await;
    // Muting goes through the Janus SFU; this server runs none, so no Mute is offered.
    let peers = b
        .execute(&text_of("[data-testid=peers]"), Vec::new())
        .await
        .unwrap();
    let peers = peers.json().as_str().unwrap_or_default().to_string();
    assert!(
        peers.contains("Kick") && !peers.contains("Mute"),
        "Mute offered without a media server: {peers}"
    );
    run(&b, "t.click('Kick', '[data-testid=peers]')").await;
    wait_for(
        &b,
        "the kick",
        &text_of(".content"),
        contains("Joe Guest was removed"),
    )
    .await;
    wait_for(
        &b,
        "the empty room",
        "return !document.querySelector('[data-testid=peers]')",
        |v| v == &json!(true),
    )
    .await;
    wait_for(
        &guest,
        "the guest told",
        "return document.getElementById('status')?.textContent",
        contains("removed you from the meeting"),
    )
    .await;
    screenshot(&b, "dashboard-room-kicked").await;
    screenshot(&guest, "dashboard-guest-kicked").await;

    // A host-key URL opens the meeting page's entry form; the host enters by name alone.
    let hosted = app
        .create_room(
            &t,
            json!({"domain": "localhost", "name": "lecture", "addHostKey": true, "lock": true}),
        )
        .await;
    let host_key = hosted["content"]["hostKey"].as_str().unwrap();
    guest
        .goto(format!(
            "{}/join/localhost/lecture#hostKey={host_key}",
            app.address
        ))
        .await
        .unwrap();
    wait_for(
        &guest,
        "the entry form",
        "return document.getElementById('status')?.textContent",
        contains("invited as a host"),
    )
    .await;
    helpers(&guest).await;
    assert_eq!(
        guest
            .execute("return !!document.getElementById('password')", Vec::new())
            .await
            .unwrap()
            .json(),
        &json!(false),
        "a host key needs no password"
    );
    run(
        &guest,
        "t.fill('#display-name', 'Prof. Ada'); t.click('Join the meeting')",
    )
    .await;
    wait_for(
        &guest,
        "the host inside",
        "document.getElementById('people-toggle')?.getAttribute('aria-pressed') === 'false' && document.getElementById('people-toggle').click(); return document.querySelector('.people-list')?.textContent",
        |v| v.as_str().is_some_and(|s| s.contains("Prof. Ada (you)") && s.contains("host")),
    )
    .await;
    screenshot(&guest, "dashboard-host-key-join").await;

    // A booking, then an overlapping one: the conflict is explained.
    open(&b, &app, "bookings", "Bookings").await;
    let start = chrono::Local::now() + chrono::Duration::days(1);
    let end = start + chrono::Duration::hours(1);
    let book = format!(
        "t.fill('[data-testid=booking-form] [name=room]', 'review'); \
         t.fill('[data-testid=booking-form] [name=start]', '{}'); \
         t.fill('[data-testid=booking-form] [name=end]', '{}'); t.click('Create booking');",
        local_input(start),
        local_input(end)
    );
    run(&b, &book).await;
    wait_for(&b, "the booking", "return document.querySelectorAll('[data-testid=booking-form] [role=alert]').length === 0 && !!document.querySelector('[role=status].ok, .notice.ok')", |v| v == &json!(true)).await;
    run(
        &b,
        &book
            .replace(
                &local_input(start),
                &local_input(start + chrono::Duration::minutes(30)),
            )
            .replace(
                &local_input(end),
                &local_input(end + chrono::Duration::minutes(30)),
            ),
    )
    .await;
    let conflict = wait_for(&b, "the conflict", &text_of("[role=alert]"), |v| {
        v.is_string()
    })
    .await;
    assert!(
        conflict.as_str().unwrap().contains("already booked"),
        "{conflict}"
    );
    screenshot(&b, "dashboard-booking-conflict").await;

    // A webhook, validated against a local receiver, with its deliveries.
    let receiver = Receiver::start().await;
    open(&b, &app, "webhooks", "Webhooks").await;
    run(
        &b,
        &format!(
            "t.fill('[data-testid=webhook-form] input[name=url]', {:?}); t.click('Add webhook');",
            receiver.url
        ),
    )
    .await;
    wait_for(&b, "the webhook in the list", &text_of(".content"), |v| {
        v.as_str().is_some_and(|t| t.contains(&receiver.url))
    })
    .await;
    // The receiver answers the handshake as a real integration does, under the domain's key.
    let (key, _) = crate::webhooks::domain_keys(&app, &t).await;
    receiver.answer_next(crate::receiver::Reply::Validate(key));
    helpers(&b).await;
    run(&b, "t.click('Validate')").await;
    wait_for(
        &b,
        "the validation",
        &text_of("[data-testid=validate-result]"),
        |v| v.is_string(),
    )
    .await;
    screenshot(&b, "dashboard-webhook-validated").await;
    let (status, hooks) = app
        .call(&t, Method::GET, &app.org_path("/webhooks"), None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(hooks["content"][0]["validated"], true, "{hooks}");
    let id = hooks["content"][0]["webhookId"].as_i64().unwrap();
    app.create_room(&t, json!({"domain": "localhost", "name": "after-hook"}))
        .await;
    meetplane::domain::delivery_worker::run_once(&app.state)
        .await
        .unwrap();
    open(&b, &app, &format!("webhooks/{id}"), "").await;
    wait_for(
        &b,
        "a delivery with its response code",
        &text_of("[data-testid=deliveries]"),
        contains("200"),
    )
    .await;
    screenshot(&b, "dashboard-webhook-deliveries").await;

    // The audit log shows what was done here, by whom.
    open(&b, &app, "audit", "Audit log").await;
    wait_for(
        &b,
        "the dashboard's own changes in the audit log",
        &text_of("table"),
        |v| {
            v.as_str().is_some_and(|t| {
                t.contains("room.created")
                    && t.contains("webhook.validated")
                    && t.contains("admin.signed_in")
            })
        },
    )
    .await;
    screenshot(&b, "dashboard-audit").await;

    // At a phone's width the navigation folds into a menu and pages still fit.
    b.set_window_rect(0, 0, 390, 844).await.unwrap();
    open(&b, &app, "overview", "Overview").await;
    let fits = b
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        fits.json(),
        &json!(true),
        "no sideways scrolling at phone width"
    );
    screenshot(&b, "dashboard-phone-overview").await;
    helpers(&b).await;
    run(&b, "t.click('☰ Menu')").await;
    screenshot(&b, "dashboard-phone-menu").await;
    b.set_window_rect(0, 0, 1280, 800).await.unwrap();

    // Signing out returns to the sign-in form.
    helpers(&b).await;
    run(&b, "t.click('Sign out')").await;
    wait_for(
        &b,
        "the sign-in form",
        "return !!document.querySelector('input[name=email]')",
        |v| v == &json!(true),
    )
    .await;
    b.quit().await.unwrap();
    guest.quit().await.unwrap();
}
