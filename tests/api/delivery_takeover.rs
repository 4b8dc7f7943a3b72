//! A node killed with deliveries in flight: a restarted server, or another node, takes them
//! over within seconds (not when their lease runs out), in room order, with the same
//! `webhook-id`.
use std::{collections::HashMap, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::time::Instant;

use crate::{
    helpers::TestDb,
    nodes::{Cluster, Node, postgres_url, validated_hook},
    receiver::{Receiver, Reply},
};

/// The default lease (a minute), and attempts that outlast the kill: only noticing that the
/// node is dead can free its deliveries in time.
const SETTINGS: &[(&str, &str)] = &[
    ("MEETPLANE_DELIVERY_LEASE", "60s"),
    ("MEETPLANE_WEBHOOK_TIMEOUT", "30s"),
];

/// Through `node`: a room and three peers (four events of one room) to a validated webhook
/// whose receiver then hangs; returns once the first event is in flight.
async fn in_flight(cluster: &Cluster, node: &Node, receiver: &Receiver) {
    let client = cluster.client();
    let org = client.org_id.to_string();
    let t = node.token(&client).await;
    validated_hook(node, &t, &org, receiver).await;
    receiver.answer(Reply::Slow(Duration::from_secs(3600)));
    node.call(
        &t,
        Method::POST,
        &format!("/v1/orgs/{org}/rooms"),
        Some(json!({"domain": "localhost", "name": "taken-over"})),
    )
    .await;
    for i in 0..3 {
        let (s, b) = node
            .call(
                &t,
                Method::POST,
                &format!("/v1/orgs/{org}/rooms/localhost/taken-over/peers"),
                Some(json!({"displayName": format!("p{i}"), "role": "user"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    receiver.wait_for(2).await; // the handshake and the first event, held by the receiver
}

/// After the kill at `killed`: every event arrives within seconds, in order, a repeat with
/// the first attempt's `webhook-id`.
async fn taken_over(receiver: &Receiver, killed: Instant) {
    let deadline = killed + Duration::from_secs(15);
    let got = loop {
        let got = receiver.received();
        let events = got.iter().filter(|r| r.json["event"] != "validation");
        let distinct: std::collections::HashSet<_> =
            events.map(|r| r.json["eventId"].clone()).collect();
        if distinct.len() == 4 {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "the dead node's deliveries were not taken over within 15 s: {} of 4 events",
            distinct.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    let mut order = Vec::new();
    for r in got.iter().filter(|r| r.json["event"] != "validation") {
        let event = r.json["eventId"].as_str().unwrap().to_string();
        if !ids.contains_key(&event) {
            order.push(r.json["seq"].as_i64().unwrap());
        }
        ids.entry(event)
            .or_default()
            .push(r.header("webhook-id").unwrap().to_string());
    }
    assert_eq!(order, [1, 2, 3, 4], "in the room's order");
    let first = got[1].json["eventId"].as_str().unwrap();
    assert_eq!(
        ids[first].len(),
        2,
        "the in-flight event was repeated: {ids:?}"
    );
    for sent in ids.values() {
        assert!(
            sent.iter().all(|id| id == &sent[0]),
            "same webhook-id: {sent:?}"
        );
    }
}

#[tokio::test]
async fn a_restarted_server_takes_over_its_killed_predecessors_deliveries() {
    let cluster = Cluster::new(TestDb::create().await);
    let mut node = cluster.start_with(SETTINGS);
    let receiver = Receiver::start().await;
    in_flight(&cluster, &node, &receiver).await;
    node.kill();
    let killed = Instant::now();
    receiver.answer(Reply::Status(200));
    let restarted = cluster.start_with(SETTINGS);
    taken_over(&receiver, killed).await;
    drop(restarted);
}

#[tokio::test]
async fn another_node_takes_over_a_killed_nodes_deliveries() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let cluster = Cluster::new(TestDb::create_postgres(&admin_url).await);
    let mut a = cluster.start_with(SETTINGS);
    let receiver = Receiver::start().await;
    in_flight(&cluster, &a, &receiver).await;
    // B runs beside A (A's deliveries are A's while it lives), then A dies.
    let b = cluster.start_with(SETTINGS);
    receiver.answer(Reply::Status(200));
    a.kill();
    let killed = Instant::now();
    taken_over(&receiver, killed).await;
    drop(b);
}
