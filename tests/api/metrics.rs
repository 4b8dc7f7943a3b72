//! `/metrics`: requests by route template and status, delivery outcomes, realtime sockets,
//! the database pool and outbox depth, and the optional scrape token.
use std::{sync::Arc, time::Duration};

use meetplane::{clock::SystemClock, config::SecretString};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    helpers::{TestApp, read},
    realtime,
    receiver::Receiver,
    webhooks::{settled, validated_webhook},
};

pub async fn scrape(app: &TestApp) -> String {
    let resp = app.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    resp.text().await.unwrap()
}

/// The value of the sample whose line starts with `series` (name and labels).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_deliveries_and_sockets() {
    let app = TestApp::spawn().await;
    let token = app.token().await;
    let receiver = Receiver::start().await;
    let hook = validated_webhook(&app, &token, &receiver, json!({})).await;
    app.create_room(&token, json!({"domain": "localhost", "name": "standup"}))
        .await;
    for _ in 0..3 {
        let (s, _) = app
            .call(
                &token,
                Method::GET,
                &app.org_path("/rooms/localhost/standup"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, _) = app
        .call(
            &token,
            Method::GET,
            &app.org_path("/rooms/localhost/nobody"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A session link, opened alone: a batch of one.
    crate::sessions::subscribe(&app, &token, "host").await;
    let link = crate::sessions::pyjwt(
        &crate::sessions::guest_claims(&app, "metered", "host"),
        &app.client.secret,
        "HS256",
    );
    assert_eq!(crate::sessions::open(&app, &link).await.0, StatusCode::OK);
    settled(&app, &token, hook).await;
    let mut socket = realtime::connect(&app.address, &token).await;
    realtime::next_of(&mut socket, "welcome").await;

    let text = scrape(&app).await;
    let route = r#"route="/v1/orgs/{orgId}/rooms/{domain}/{name}""#;
    assert_eq!(
        sample(
            &text,
            &format!(r#"meetplane_http_requests_total{{method="GET",{route},status="200"}}"#)
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"meetplane_http_requests_total{{method="GET",{route},status="404"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            &format!(r#"meetplane_http_request_duration_seconds_count{{method="GET",{route}}}"#)
        ) == Some(4.0),
        "{text}"
    );
    // Raw ids and names never become labels.
    assert!(!text.contains("standup") && !text.contains(&app.org_id.to_string()));
    assert!(
        sample(
            &text,
            r#"meetplane_webhook_delivery_attempts_total{outcome="delivered"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "meetplane_outbox_depth"), Some(0.0), "{text}");
    assert_eq!(
        sample(&text, "meetplane_realtime_connections"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"meetplane_db_pool_connections{state="max"}"#),
        Some(5.0),
        "{text}"
    );
    assert!(
        text.contains("meetplane_scheduler_overdue_seconds 0"),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"meetplane_session_join_batch_size_bucket{le="1"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "meetplane_session_join_batch_size_count"),
        Some(1.0),
        "{text}"
    );

    // A closed socket is no longer counted.
    drop(socket);
    for _ in 0..200 {
        if sample(&scrape(&app).await, "meetplane_realtime_connections") == Some(0.0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the closed socket is still counted");
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        c.limits.metrics_token = Some(SecretString::new("scrape-token-0123456789"));
    })
    .await;
    let (s, b) = read(app.request(Method::GET, "/metrics").send().await.unwrap()).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_metrics_token"))
    );
    let resp = app
        .request(Method::GET, "/metrics")
        .bearer_auth("scrape-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("meetplane_http_requests_total")
    );
}
