//! A webhook whose receiver hangs holds a few of the node's delivery slots, not all: other
//! webhooks' deliveries go out meanwhile.
use std::{sync::Arc, time::Duration};

use meetplane::clock::SystemClock;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::time::Instant;

use crate::{
    helpers::TestApp,
    receiver::{Receiver, Reply},
    webhooks::validated_webhook,
};

/// The default allowance of one webhook (MEETPLANE_DELIVERY_PER_WEBHOOK_IN_FLIGHT).
const PER_WEBHOOK: usize = 4;

#[tokio::test]
async fn a_hanging_receiver_does_not_delay_other_webhooks() {
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        // Each attempt to the hanging receiver holds its slot for a minute.
        c.webhook_timeout = Duration::from_secs(60);
        c.delivery_lease = Duration::from_secs(120);
    })
    .await;
    let t = app.token().await;
    let hanging = Receiver::start().await;
    validated_webhook(&app, &t, &hanging, json!({})).await;
    hanging.answer(Reply::Slow(Duration::from_secs(3600)));

    // A healthy webhook on another domain.
    let (s, domain) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/domains"),
            Some(json!({"name": "healthy.example"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{domain}");
    let key = domain["content"]["webhookKey"]
        .as_str()
        .unwrap()
        .to_string();
    let healthy = Receiver::start().await;
    let (s, hook) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/webhooks"),
            Some(json!({"domain": "healthy.example", "type": "url", "url": healthy.url})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    let id = hook["content"]["webhookId"].as_i64().unwrap();
    healthy.answer_next(Reply::Validate(key));
    let (s, v) = app
        .call(
            &t,
            Method::POST,
            &app.org_path(&format!("/webhooks/{id}/validate")),
            None,
        )
        .await;
    assert_eq!(
        (s, &v["content"]["validated"]),
        (StatusCode::OK, &json!(true)),
        "{v}"
    );

    // More events for the hanging receiver than the node has slots (64), each in a room of
    // its own, so that none waits behind another of its room.
    for i in 0..80 {
        app.create_room(&t, json!({"domain": "localhost", "name": format!("h{i}")}))
            .await;
    }
    hanging.wait_for(1 + PER_WEBHOOK).await;

    let sent = Instant::now();
    app.create_room(
        &t,
        json!({"domain": "healthy.example", "name": "meanwhile"}),
    )
    .await;
    let deadline = sent + Duration::from_secs(3);
    loop {
        let got = healthy.received();
        if got.len() >= 2 {
            assert_eq!(got[1].json["room"], "meanwhile");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the healthy webhook's delivery waited behind the hanging receiver"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        hanging.received().len() <= 1 + PER_WEBHOOK,
        "the hanging receiver holds no more than its allowance: {} requests",
        hanging.received().len()
    );
}
