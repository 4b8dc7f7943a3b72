//! Coviu's public Python demo (`coviu-api-python-demo/demo.py`), request for request and in its
//! order, against an org that already has a page of subscriptions and a past session: every
//! field the demo reads must be there, or the demo crashes (a `KeyError` in Python).
use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_problem, read},
    sessions::{guest_claims, open, owner_claims, pyjwt, subscribe},
};

/// The demo's `requests.get(endpoint + href, headers=Bearer).json()`.
async fn get(app: &TestApp, token: &str, href: &str) -> Value {
    assert!(href.starts_with("/v1/"), "hrefs are paths: {href}");
    let (s, body) = app.call(token, Method::GET, href, None).await;
    assert_eq!(s, StatusCode::OK, "GET {href}: {body}");
    body
}

/// `build_auth_headers`: the Basic header the demo builds by hand.
fn basic(app: &TestApp) -> String {
    let pair = format!("{}:{}", app.client.api_key, app.client.secret);
    format!("Basic {}", STANDARD.encode(pair))
}

async fn grant(app: &TestApp, form: &[(&str, &str)]) -> Value {
    let (s, g) = read(
        app.request(Method::POST, "/v1/auth/token")
            .header(header::AUTHORIZATION, basic(app))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    g
}

/// What the org had before the demo ran: 50 subscriptions (a full page of the default size)
/// and a session hosted by the first, with an owner and a guest entry.
async fn earlier_use(app: &TestApp, t: &str) -> String {
    let mut host = String::new();
    for i in 0..50 {
        let s = subscribe(app, t, &format!("member-{i:02}")).await;
        if i == 0 {
            host = s["content"]["subscriptionId"].as_str().unwrap().to_string();
        }
    }
    for claims in [
        owner_claims(app, "earlier", "member-00"),
        guest_claims(app, "earlier", "member-00"),
    ] {
        let (s, b) = open(app, &pyjwt(&claims, &app.client.secret, "HS256")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    host
}

#[tokio::test]
async fn the_coviu_demo_runs_in_its_own_order() {
    let app = TestApp::spawn().await;
    let setup = app.token().await;
    let host = earlier_use(&app, &setup).await;

    // grant = get_access_token(); grant = refresh_access_token(grant['refresh_token'])
    let g = grant(&app, &[("grant_type", "client_credentials")]).await;
    let refresh = g["refresh_token"].as_str().unwrap();
    let g = grant(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    let t = g["access_token"].as_str().unwrap().to_string();

    // api_root = get_api_root(...)
    let root = get(&app, &t, "/v1/").await;
    let subscriptions_href = root["_links"]["subscriptions"]["href"].as_str().unwrap();
    let sessions_href = root["_links"]["sessions"]["href"].as_str().unwrap();

    // subscription = create_subscription(...): a JSON body with Content-Type set by hand.
    let reference = "2291eb24-c0cc-4899-a8d4-b8359022f30f";
    let (s, subscription) = read(
        app.request(Method::POST, subscriptions_href)
            .bearer_auth(&t)
            .header(header::CONTENT_TYPE, "application/json")
            .body(
                json!({"ref": reference, "name": "Dr. Jane Who", "email": "test@test.com"})
                    .to_string(),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{subscription}");
    assert_eq!(subscription["content"]["active"], true);

    // sessions = get_sessions(...): the org's entries, the earlier session's two.
    let sessions = get(&app, &t, sessions_href).await;
    let entries = sessions["content"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{sessions}");
    for e in entries {
        assert_eq!(e["content"]["subscriptionId"], host.as_str(), "{e}");
    }

    // subscriptions = get_subscriptions(...); for sub in subscriptions['content']:
    //     get_link(grant['access_token'], sub['_links']['sessions'])
    let mut subscriptions = get(&app, &t, subscriptions_href).await;
    let first_page = subscriptions.clone();
    let items = subscriptions["content"].as_array().unwrap().clone();
    assert_eq!(items.len(), 50, "the API chooses the page size");
    for sub in &items {
        let id = sub["content"]["subscriptionId"].as_str().unwrap();
        assert_eq!(
            sub["_links"]["self"]["href"],
            app.org_path(&format!("/subscriptions/{id}"))
        );
        assert_eq!(sub["_links"]["org"]["href"], app.org_path(""));
        let page = get(
            &app,
            &t,
            sub["_links"]["sessions"]["href"].as_str().unwrap(),
        )
        .await;
        let theirs = page["content"].as_array().unwrap();
        let expected = if id == host { 2 } else { 0 };
        assert_eq!(theirs.len(), expected, "{id}: {page}");
        for e in theirs {
            assert_eq!(e["content"]["subscriptionId"], id);
            assert_eq!(
                e["_links"]["subscription"]["href"],
                sub["_links"]["self"]["href"]
            );
        }
        assert!(page["_links"]["self"]["href"].is_string(), "{page}");
    }

    // while 'next' in subscriptions['_links']: subscriptions = get_link(...next)
    let mut seen: Vec<Value> = items
        .iter()
        .map(|s| s["content"]["subscriptionId"].clone())
        .collect();
    while let Some(next) = subscriptions["_links"]["next"]["href"].as_str() {
        subscriptions = get(&app, &t, next).await;
        for sub in subscriptions["content"].as_array().unwrap() {
            assert!(sub["_links"]["sessions"]["href"].is_string(), "{sub}");
            seen.push(sub["content"]["subscriptionId"].clone());
        }
    }
    assert_eq!(seen.len(), 51, "every subscription, once");
    assert!(seen.contains(&subscription["content"]["subscriptionId"]));
    // while 'previous' in subscriptions['_links']: subscriptions = get_link(...previous)
    let mut steps = 0;
    while let Some(previous) = subscriptions["_links"]["previous"]["href"].as_str() {
        subscriptions = get(&app, &t, previous).await;
        steps += 1;
    }
    assert_eq!(
        (steps, &subscriptions["content"]),
        (1, &first_page["content"])
    );

    // delete_subscription(...): DELETE its self href, JSON back.
    let self_href = subscription["_links"]["self"]["href"].as_str().unwrap();
    let (s, deleted) = app.call(&t, Method::DELETE, self_href, None).await;
    assert_eq!(s, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["content"]["active"], false);
    assert!(deleted["content"]["ended"].as_i64().is_some());

    // The owner's and the guest's links, signed as PyJWT signs them. The demo deleted the
    // owner's subscription first, so the server verifies them and refuses the owner.
    let sid = "6c1c49ca-a974-4941-8b8a-d936b673f0f0";
    let owner = pyjwt(
        &owner_claims(&app, sid, reference),
        &app.client.secret,
        "HS256",
    );
    let (s, b) = open(&app, &owner).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "inactive_subscription");
    let guest = pyjwt(
        &guest_claims(&app, sid, reference),
        &app.client.secret,
        "HS256",
    );
    let (s, b) = open(&app, &guest).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "inactive_subscription");
}

#[tokio::test]
async fn a_subscriptions_sessions_link_pages_its_own_entries() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let a = subscribe(&app, &t, "a").await;
    subscribe(&app, &t, "b").await;
    for (sid, reference) in [("one", "a"), ("two", "b")] {
        for claims in [
            owner_claims(&app, sid, reference),
            guest_claims(&app, sid, reference),
        ] {
            let (s, b) = open(&app, &pyjwt(&claims, &app.client.secret, "HS256")).await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
    }
    let href = a["_links"]["sessions"]["href"].as_str().unwrap();
    let mut page = get(&app, &t, &format!("{href}?count=1")).await;
    let mut names = Vec::new();
    loop {
        for e in page["content"].as_array().unwrap() {
            assert_eq!(e["content"]["sessionId"], "one", "{e}");
            assert!(
                e["content"]["accessToken"]
                    .as_str()
                    .unwrap()
                    .starts_with("tok_")
            );
            names.push(e["content"]["name"].as_str().unwrap().to_string());
        }
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => page = get(&app, &t, next).await,
            None => break,
        }
    }
    assert_eq!(names, ["Joe Guest", "Dr. Jane Who"], "newest first");
    let previous = page["_links"]["previous"]["href"].as_str().unwrap();
    let first = get(&app, &t, previous).await;
    assert!(first["_links"]["previous"].is_null(), "{first}");
    // The documentation's path for the org's entries still answers, all four.
    let alias = get(&app, &t, &app.org_path("/session")).await;
    assert_eq!(alias["content"].as_array().unwrap().len(), 4);

    // An unknown subscription, and another org's.
    let (s, b) = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/subscriptions/{}/sessions", uuid::Uuid::new_v4())),
            None,
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "subscription_not_found");
    let other = app.other_org("Other", "other.example").await;
    let theirs = app.token_for(&other).await;
    let (s, b) = app.call(&theirs, Method::GET, href, None).await;
    assert!(
        matches!(s, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{s} {b}"
    );
}
