//! Per-client and per-address request limits: 429 with `Retry-After` and a stable code, per
//! caller, health probes exempt.
use std::sync::Arc;

use meetplane::clock::SystemClock;
use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, assert_problem, read};

#[tokio::test]
async fn a_client_over_its_limit_gets_429_with_retry_after_and_others_go_on() {
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        c.limits.per_client_per_minute = Some(3);
    })
    .await;
    let token = app.token().await;
    for _ in 0..3 {
        let (s, b) = app
            .call(&token, Method::GET, &app.org_path("/rooms"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let resp = app
        .request(Method::GET, &app.org_path("/rooms"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (s, b) = read(resp).await;
    assert_problem(s, &b, StatusCode::TOO_MANY_REQUESTS, "rate_limited");

    // Another client has its own budget.
    let other = app.other_org("other", "other.example").await;
    let other_token = app.token_for(&other).await;
    let path = format!("/v1/orgs/{}/rooms", other.org_id);
    let (s, b) = app.call(&other_token, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn an_address_over_its_limit_gets_429_but_health_probes_still_answer() {
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        c.limits.per_address_per_minute = Some(2);
    })
    .await;
    for _ in 0..2 {
        let (s, _) = read(
            app.request(Method::GET, "/openapi.json")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    let resp = app.request(Method::GET, "/v1").send().await.unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    let (s, b) = read(resp).await;
    assert_problem(s, &b, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    for probe in ["/healthz", "/readyz", "/metrics"] {
        let resp = app.request(Method::GET, probe).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{probe}");
    }
}
