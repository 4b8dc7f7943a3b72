//! WebRTC signalling over the realtime socket: relayed between present peers of one room,
//! stamped with the sender, refused otherwise, rate-limited per socket, and carried across
//! nodes (Postgres NOTIFY, in chunks for SDP-sized payloads).
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, TestDb, read},
    nodes::{Cluster, postgres_url},
    realtime::{Socket, connect, next, next_of, send},
};

pub struct Peer {
    pub id: String,
    pub token: String,
}

/// Enter `localhost/{room}` through its public link (the room has no password).
pub async fn enter(address: &str, room: &str, name: &str) -> Peer {
    let (status, body) = read(
        reqwest::Client::new()
            .post(format!("{address}/v1/rooms/localhost/{room}/join"))
            .json(&json!({"displayName": name}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    Peer {
        id: body["content"]["peer"]["id"].as_str().unwrap().into(),
        token: body["content"]["peerToken"].as_str().unwrap().into(),
    }
}

/// A peer's realtime socket, past its welcome.
pub async fn open(address: &str, peer: &Peer) -> Socket {
    let mut socket = connect(address, &peer.token).await;
    let welcome = next(&mut socket).await.unwrap();
    assert_eq!(welcome["peerId"], peer.id.as_str(), "{welcome}");
    socket
}

async fn signal(socket: &mut Socket, to: &str, data: Value) {
    send(socket, json!({"type": "signal", "to": to, "data": data})).await;
}

/// An SDP offer of about 12 KB: more than one NOTIFY payload holds.
pub fn big_offer() -> Value {
    let mut sdp = String::from("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n");
    let mut i = 0;
    while sdp.len() < 12_000 {
        sdp.push_str(&format!(
            "a=candidate:{i} 1 udp 2122260223 192.0.2.{} {} typ host generation 0 ufrag sN9p\r\n",
            i % 250,
            50_000 + i
        ));
        i += 1;
    }
    json!({"description": {"type": "offer", "sdp": sdp}})
}

async fn two_peers_and_room(app: &TestApp, room: &str) -> (Peer, Peer) {
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": room}))
        .await;
    (
        enter(&app.address, room, "Ann").await,
        enter(&app.address, room, "Bob").await,
    )
}

#[tokio::test]
async fn peers_signal_each_other_with_the_sender_stamped_by_the_server() {
    let app = TestApp::spawn().await;
    let (ann, bob) = two_peers_and_room(&app, "call").await;
    let cat = enter(&app.address, "call", "Cat").await;
    let mut a = open(&app.address, &ann).await;
    let (mut b1, mut b2) = (
        open(&app.address, &bob).await,
        open(&app.address, &bob).await,
    );
    let mut c = open(&app.address, &cat).await;

    // A claimed "from" is ignored: the server says who sent it.
    let offer = json!({"description": {"type": "offer", "sdp": "v=0\r\n"}});
    send(
        &mut a,
        json!({"type": "signal", "to": bob.id, "from": cat.id, "data": offer}),
    )
    .await;
    for b in [&mut b1, &mut b2] {
        assert_eq!(
            next_of(b, "signal").await,
            json!({"type": "signal", "from": ann.id, "data": offer}),
            "every socket of the recipient gets it"
        );
    }
    // Cat was not the recipient: the first signal Cat sees is the one sent to Cat afterwards.
    let candidate = json!({"candidate": {"candidate": "a=candidate:1 1 udp 1 192.0.2.1 9 typ host", "sdpMid": "0"}});
    signal(&mut a, &cat.id, candidate.clone()).await;
    assert_eq!(
        next_of(&mut c, "signal").await,
        json!({"type": "signal", "from": ann.id, "data": candidate})
    );
    // And back: an SDP-sized answer, whole.
    let answer = big_offer();
    signal(&mut b2, &ann.id, answer.clone()).await;
    let got = next_of(&mut a, "signal").await;
    assert_eq!((&got["from"], &got["data"]), (&json!(bob.id), &answer));
    // Many in a row arrive in the order sent.
    for i in 0..20 {
        signal(&mut a, &bob.id, json!({"candidate": {"n": i}})).await;
    }
    for i in 0..20 {
        assert_eq!(
            next_of(&mut b1, "signal").await["data"]["candidate"]["n"],
            i
        );
    }
}

#[tokio::test]
async fn signals_only_reach_present_peers_of_the_same_room() {
    let app = TestApp::spawn().await;
    let (ann, bob) = two_peers_and_room(&app, "here").await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "there"}))
        .await;
    let elsewhere = enter(&app.address, "there", "Eve").await;
    let mut a = open(&app.address, &ann).await;
    let mut e = open(&app.address, &elsewhere).await;
    let ok = json!({"candidate": {}});
    let refusals = [
        (json!({"to": elsewhere.id, "data": ok}), "peer_not_present"),
        (
            json!({"to": uuid::Uuid::new_v4(), "data": ok}),
            "peer_not_present",
        ),
        (json!({"to": "not-a-peer", "data": ok}), "peer_not_present"),
        (json!({"to": ann.id, "data": ok}), "invalid_signal"),
        (json!({"to": bob.id, "data": "offer"}), "invalid_signal"),
        (json!({"data": ok}), "invalid_signal"),
        (
            json!({"to": bob.id, "data": {"sdp": "x".repeat(50_000)}}),
            "signal_too_large",
        ),
    ];
    for (mut message, code) in refusals {
        message["type"] = json!("signal");
        send(&mut a, message.clone()).await;
        let error = next_of(&mut a, "error").await;
        assert_eq!(error["code"], code, "{message:.80} → {error}");
        assert!(error["message"].is_string(), "{error}");
    }
    // Eve, in another room, got none of it, nor can she reach Ann.
    signal(&mut e, &ann.id, ok.clone()).await;
    assert_eq!(next_of(&mut e, "error").await["code"], "peer_not_present");

    // An API client's socket does not signal.
    let mut client = connect(&app.address, &t).await;
    next(&mut client).await;
    signal(&mut client, &bob.id, ok.clone()).await;
    assert_eq!(next_of(&mut client, "error").await["code"], "forbidden");

    // Once Bob has left, he is no longer signalled.
    let mut b = open(&app.address, &bob).await;
    signal(&mut a, &bob.id, json!({"n": 1})).await;
    assert_eq!(next_of(&mut b, "signal").await["data"], json!({"n": 1}));
    let (status, body) = read(
        app.request(Method::POST, "/v1/rooms/localhost/here/leave")
            .bearer_auth(&bob.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    signal(&mut a, &bob.id, ok).await;
    assert_eq!(next_of(&mut a, "error").await["code"], "peer_not_present");
}

#[tokio::test]
async fn a_socket_sending_too_many_signals_is_slowed_down() {
    let app = TestApp::spawn().await;
    let (ann, bob) = two_peers_and_room(&app, "flood").await;
    let mut a = open(&app.address, &ann).await;
    // Refused for their data, these still spend the socket's budget (without a database
    // round trip, so they arrive far faster than the budget refills).
    for _ in 0..300 {
        signal(&mut a, &bob.id, json!("junk")).await;
    }
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..300 {
        let error = next_of(&mut a, "error").await;
        *codes
            .entry(error["code"].as_str().unwrap().into())
            .or_default() += 1;
    }
    let count = |code: &str| codes.get(code).copied().unwrap_or(0);
    assert!(
        count("invalid_signal") >= 200 && count("rate_limited") >= 1,
        "a burst of 200, then 50 a second: {codes:?}"
    );
    // A socket of its own has a budget of its own.
    let mut b = open(&app.address, &bob).await;
    let mut a2 = open(&app.address, &ann).await;
    signal(&mut a2, &bob.id, json!({"n": "fresh"})).await;
    assert_eq!(
        next_of(&mut b, "signal").await["data"],
        json!({"n": "fresh"})
    );
}

/// Two nodes on one Postgres: an SDP-sized signal (more than a NOTIFY payload's 8000 bytes)
/// reaches every socket of its recipient on either node, whole and in order.
#[tokio::test]
async fn signals_cross_nodes_whole_and_in_order() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let cluster = Cluster::new(TestDb::create_postgres(&admin_url).await);
    let (x, y) = (cluster.start(), cluster.start());
    let client = cluster.client();
    let t = x.token(&client).await;
    let (status, body) = x
        .call(
            &t,
            Method::POST,
            &format!("/v1/orgs/{}/rooms", client.org_id),
            Some(json!({"domain": "localhost", "name": "spread"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ann = enter(&x.address, "spread", "Ann").await;
    let bob = enter(&y.address, "spread", "Bob").await;
    let mut a = open(&x.address, &ann).await;
    let (mut b_on_y, mut b_on_x) = (open(&y.address, &bob).await, open(&x.address, &bob).await);

    let offer = big_offer();
    assert!(offer.to_string().len() > 12_000);
    signal(&mut a, &bob.id, offer.clone()).await;
    for i in 0..10 {
        signal(&mut a, &bob.id, json!({"candidate": {"n": i}})).await;
    }
    for b in [&mut b_on_y, &mut b_on_x] {
        assert_eq!(
            next_of(b, "signal").await,
            json!({"type": "signal", "from": ann.id, "data": offer})
        );
        for i in 0..10 {
            assert_eq!(next_of(b, "signal").await["data"]["candidate"]["n"], i);
        }
    }
    signal(&mut b_on_y, &ann.id, big_offer()).await;
    let got = next_of(&mut a, "signal").await;
    assert_eq!((&got["from"], &got["data"]), (&json!(bob.id), &big_offer()));
}

#[tokio::test]
async fn a_knocking_peer_neither_signals_nor_is_signalled() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(
        &t,
        json!({"domain": "localhost", "name": "lobby", "lobby": true, "addHostKey": true}),
    )
    .await;
    let t2 = app.token().await;
    let (_, host) = app
        .call(
            &t2,
            Method::POST,
            &app.org_path("/rooms/localhost/lobby/peers"),
            Some(json!({"displayName": "Host", "role": "host"})),
        )
        .await;
    let host = Peer {
        id: host["content"]["peer"]["id"].as_str().unwrap().into(),
        token: host["content"]["peerToken"].as_str().unwrap().into(),
    };
    let guest = enter(&app.address, "lobby", "Knocker").await;
    let mut h = open(&app.address, &host).await;
    let mut g = open(&app.address, &guest).await;
    signal(&mut g, &host.id, json!({"n": 1})).await;
    assert_eq!(next_of(&mut g, "error").await["code"], "peer_waiting");
    signal(&mut h, &guest.id, json!({"n": 2})).await;
    assert_eq!(next_of(&mut h, "error").await["code"], "peer_not_present");
    // Once let in, it takes part.
    let (status, body) = read(
        app.request(
            Method::POST,
            &format!("/v1/rooms/localhost/lobby/peers/{}/admit", guest.id),
        )
        .bearer_auth(&host.token)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    signal(&mut h, &guest.id, json!({"n": 3})).await;
    assert_eq!(next_of(&mut g, "signal").await["data"], json!({"n": 3}));
}
