//! Presence follows connections, and the lobby: a guest knocks and a host lets them in; the
//! same link keeps one seat; a peer whose page closes leaves after the grace; one admitted
//! but never connected leaves after the connect window.
use std::{sync::Arc, time::Duration};

use chrono::{TimeDelta, Utc};
use meetplane::clock::{ManualClock, SystemClock};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_problem, read},
    realtime::{self, connect, next, next_event_where, next_of, send},
    sessions::{guest_claims, open, owner_claims, pyjwt, subscribe},
};

/// A peer-token call on the peer API (`/v1/rooms/...`).
async fn as_peer(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.request(method, path).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    read(req.send().await.unwrap()).await
}

async fn peer_room(app: &TestApp, token: &str, room: &str) -> Value {
    let (s, b) = as_peer(app, token, Method::GET, &format!("/v1/rooms/{room}"), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["content"].clone()
}

/// An org-wide realtime subscription.
async fn org_socket(app: &TestApp, t: &str) -> realtime::Socket {
    let mut socket = connect(&app.address, t).await;
    next(&mut socket).await;
    send(&mut socket, json!({"type": "subscribe", "org": true})).await;
    next_of(&mut socket, "subscribed").await;
    socket
}

async fn session_links(app: &TestApp, t: &str, sid: &str) -> (String, String) {
    subscribe(app, t, "owner-1").await;
    let secret = app.client.secret.clone();
    (
        pyjwt(&owner_claims(app, sid, "owner-1"), &secret, "HS256"),
        pyjwt(&guest_claims(app, sid, "owner-1"), &secret, "HS256"),
    )
}

#[tokio::test]
async fn a_guest_knocks_waits_for_the_host_and_is_let_in_when_the_owner_arrives() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let (owner_link, guest_link) = session_links(&app, &t, "s-lobby").await;
    let mut org = org_socket(&app, &t).await;

    // The guest comes first: it knocks, holding no seat, and learns no host is there.
    let (s, guest) = open(&app, &guest_link).await;
    assert_eq!(s, StatusCode::OK, "{guest}");
    let guest = &guest["content"];
    assert_eq!(guest["state"], "waiting");
    let room = guest["room"].as_str().unwrap().to_string();
    let guest_token = guest["peerToken"].as_str().unwrap().to_string();
    let waiting = next_event_where(&mut org, |e| e["event"] == "clientWaiting").await;
    assert_eq!(waiting["payload"]["client"]["state"], "waiting");
    let seen = peer_room(&app, &guest_token, &room).await;
    assert_eq!(
        (seen["you"]["state"].clone(), seen["hostPresent"].clone()),
        (json!("waiting"), json!(false))
    );
    // A waiting guest sees the room, nothing more.
    let (s, b) = as_peer(
        &app,
        &guest_token,
        Method::POST,
        &format!("/v1/rooms/{room}/messages"),
        Some(json!({"text": "hi"})),
    )
    .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "peer_waiting");
    let mut guest_socket = connect(&app.address, &guest_token).await;
    assert_eq!(
        next_of(&mut guest_socket, "welcome").await["state"],
        "waiting"
    );

    // The owner arrives (admitted at once) and lets the guest in.
    let (s, owner) = open(&app, &owner_link).await;
    assert_eq!(
        (s, owner["content"]["state"].clone()),
        (StatusCode::OK, json!("admitted")),
        "{owner}"
    );
    let owner_token = owner["content"]["peerToken"].as_str().unwrap().to_string();
    assert_eq!(
        peer_room(&app, &guest_token, &room).await["hostPresent"],
        true
    );
    let guest_id = guest["peerId"].as_str().unwrap();
    // A guest may not admit anyone.
    let (s, b) = as_peer(
        &app,
        &guest_token,
        Method::POST,
        &format!("/v1/rooms/{room}/peers/{guest_id}/admit"),
        None,
    )
    .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "peer_waiting");
    let (s, b) = as_peer(
        &app,
        &owner_token,
        Method::POST,
        &format!("/v1/rooms/{room}/peers/{guest_id}/admit"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Its page was open, so it is connected from the moment it is let in.
    assert_eq!(b["state"], "connected");
    let added = next_event_where(&mut guest_socket, |e| {
        e["event"] == "clientAdded" && e["payload"]["client"]["id"] == guest_id
    })
    .await;
    assert_eq!(added["payload"]["client"]["displayName"], "Joe Guest");
    let (s, b) = as_peer(
        &app,
        &owner_token,
        Method::POST,
        &format!("/v1/rooms/{room}/peers/{guest_id}/admit"),
        None,
    )
    .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "peer_not_waiting");
    let (s, b) = as_peer(
        &app,
        &guest_token,
        Method::POST,
        &format!("/v1/rooms/{room}/messages"),
        Some(json!({"text": "hi"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn a_denied_or_withdrawn_knock_takes_no_seat_and_is_recorded() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let (owner_link, guest_link) = session_links(&app, &t, "s-deny").await;
    let (_, owner) = open(&app, &owner_link).await;
    let owner_token = owner["content"]["peerToken"].as_str().unwrap().to_string();
    let room = owner["content"]["room"].as_str().unwrap().to_string();
    let (_, guest) = open(&app, &guest_link).await;
    let guest_id = guest["content"]["peerId"].as_str().unwrap().to_string();
    let mut org = org_socket(&app, &t).await;
    let (s, b) = as_peer(
        &app,
        &owner_token,
        Method::POST,
        &format!("/v1/rooms/{room}/peers/{guest_id}/deny"),
        None,
    )
    .await;
    assert_eq!(
        (s, b["leftReason"].clone()),
        (StatusCode::OK, json!("denied")),
        "{b}"
    );
    let removed = next_event_where(&mut org, |e| e["event"] == "clientsRemoved").await;
    assert_eq!(removed["payload"]["reason"], "denied");
    // The owner's seat is the only one taken.
    let rooms = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/rooms/{room}")),
            None,
        )
        .await
        .1;
    assert_eq!(
        rooms["content"]["peers"].as_array().unwrap().len(),
        1,
        "{rooms}"
    );

    // Knocking again and leaving the lobby withdraws the knock.
    let second = pyjwt(
        &{
            let mut c = guest_claims(&app, "s-deny", "owner-1");
            c["un"] = "Second".into();
            c
        },
        &app.client.secret,
        "HS256",
    );
    let (_, guest) = open(&app, &second).await;
    let token = guest["content"]["peerToken"].as_str().unwrap();
    let (s, b) = as_peer(
        &app,
        token,
        Method::POST,
        &format!("/v1/rooms/{room}/leave"),
        None,
    )
    .await;
    assert_eq!(
        (s, b["content"]["leftReason"].clone()),
        (StatusCode::OK, json!("withdrawn")),
        "{b}"
    );
    // Each knock is an entry of the session.
    let (s, session) = app
        .call(&t, Method::GET, &app.org_path("/sessions/s-deny"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{session}");
    assert_eq!(
        session["content"]["entries"].as_array().unwrap().len(),
        3,
        "{session}"
    );
}

#[tokio::test]
async fn ten_reopenings_of_one_link_hold_one_seat() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let (s, b) = app
        .call(
            &t,
            Method::PATCH,
            &format!("/v1/orgs/{}", app.org_id),
            Some(json!({"sessionCapacity": 2, "guestLobby": false})),
        )
        .await;
    assert_eq!(
        (s, b["content"]["guestLobby"].clone()),
        (StatusCode::OK, json!(false)),
        "{b}"
    );
    let (owner_link, guest_link) = session_links(&app, &t, "s-reload").await;
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..10 {
        let (s, b) = open(&app, &guest_link).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["content"]["state"], "admitted");
        tokens.push(b["content"]["peerToken"].as_str().unwrap().to_string());
        ids.push(b["content"]["peerId"].clone());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "one peer: {ids:?}");
    let room = "localhost/s-reload";
    // Only the newest token works.
    let (s, _) = as_peer(
        &app,
        &tokens[0],
        Method::GET,
        &format!("/v1/rooms/{room}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let seen = peer_room(&app, &tokens[9], room).await;
    assert_eq!(seen["peers"].as_array().unwrap().len(), 1, "{seen}");
    // The owner still gets the second of two seats.
    let (s, b) = open(&app, &owner_link).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Each opening is an entry (Coviu allows several).
    let (_, session) = app
        .call(&t, Method::GET, &app.org_path("/sessions/s-reload"), None)
        .await;
    assert_eq!(
        session["content"]["entries"].as_array().unwrap().len(),
        11,
        "{session}"
    );
}

#[tokio::test]
async fn a_peer_whose_page_closes_leaves_after_the_grace_unless_it_comes_back() {
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        c.presence.reconnect_grace = Duration::from_secs(1);
    })
    .await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "grace"}))
        .await;
    let mut org = org_socket(&app, &t).await;
    let admit = |name: &'static str| {
        let (app, t) = (&app, &t);
        async move {
            let (s, b) = app
                .call(
                    t,
                    Method::POST,
                    &app.org_path("/rooms/localhost/grace/peers"),
                    Some(json!({"displayName": name, "role": "user"})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            assert_eq!(b["content"]["peer"]["state"], "admitted");
            (
                b["content"]["peer"]["id"].clone(),
                b["content"]["peerToken"].as_str().unwrap().to_string(),
            )
        }
    };
    let (ann, ann_token) = admit("Ann").await;
    let (bob, bob_token) = admit("Bob").await;
    let mut ann_socket = connect(&app.address, &ann_token).await;
    assert_eq!(
        next_of(&mut ann_socket, "welcome").await["state"],
        "connected"
    );
    let connected = next_event_where(&mut org, |e| {
        e["event"] == "clientUpdated" && e["payload"]["client"]["id"] == ann
    })
    .await;
    assert_eq!(connected["payload"]["client"]["state"], "connected");
    assert!(connected["payload"]["client"]["connectedAt"].is_string());
    let bob_socket = connect(&app.address, &bob_token).await;
    next_event_where(&mut org, |e| {
        e["event"] == "clientUpdated" && e["payload"]["client"]["id"] == bob
    })
    .await;

    // Ann's page blips and comes back within the grace: same seat.
    drop(ann_socket);
    let away = next_event_where(&mut org, |e| {
        e["event"] == "clientUpdated" && e["payload"]["client"]["id"] == ann
    })
    .await;
    assert_eq!(away["payload"]["client"]["state"], "away");
    let mut ann_socket = connect(&app.address, &ann_token).await;
    assert_eq!(
        next_of(&mut ann_socket, "welcome").await["state"],
        "connected"
    );
    let back = next_event_where(&mut org, |e| {
        e["event"] == "clientUpdated" && e["payload"]["client"]["id"] == ann
    })
    .await;
    assert_eq!(back["payload"]["client"]["state"], "connected");

    // Bob's tab closes for good: after the grace he is gone, and Ann's socket hears it.
    drop(bob_socket);
    let removed = next_event_where(&mut ann_socket, |e| e["event"] == "clientsRemoved").await;
    assert_eq!(removed["payload"]["reason"], "disconnected");
    assert_eq!(removed["payload"]["clients"][0]["id"], bob);
    let (s, _) = as_peer(
        &app,
        &bob_token,
        Method::GET,
        "/v1/rooms/localhost/grace",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let seen = peer_room(&app, &ann_token, "localhost/grace").await;
    assert_eq!(seen["peers"].as_array().unwrap().len(), 1, "{seen}");
}

#[tokio::test]
async fn an_admitted_peer_that_never_connects_leaves_after_the_window_unless_it_is_off() {
    for window in [Duration::from_secs(60), Duration::ZERO] {
        let clock = ManualClock::new(Utc::now());
        let app = TestApp::spawn_configured(Arc::new(clock.clone()), |c| {
            c.presence.connect_window = window;
            // Tests drive the sweep themselves.
            c.background_workers = false;
        })
        .await;
        let t = app.token().await;
        app.create_room(&t, json!({"domain": "localhost", "name": "window"}))
            .await;
        let (s, b) = app
            .call(
                &t,
                Method::POST,
                &app.org_path("/rooms/localhost/window/peers"),
                Some(json!({"displayName": "Ghost", "role": "user"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        clock.advance(TimeDelta::seconds(59));
        assert_eq!(
            meetplane::domain::presence::run_once(&app.state)
                .await
                .unwrap(),
            0
        );
        clock.advance(TimeDelta::seconds(2));
        let removed = meetplane::domain::presence::run_once(&app.state)
            .await
            .unwrap();
        let (_, room) = app
            .call(
                &t,
                Method::GET,
                &app.org_path("/rooms/localhost/window"),
                None,
            )
            .await;
        if window.is_zero() {
            // Off: the ledger keeps the peer until it leaves or is kicked.
            assert_eq!(
                (removed, room["content"]["peers"].as_array().unwrap().len()),
                (0, 1)
            );
        } else {
            assert_eq!(removed, 1);
            assert!(
                room["content"]["peers"].as_array().unwrap().is_empty(),
                "{room}"
            );
        }
    }
}

#[tokio::test]
async fn a_locked_room_or_one_with_a_lobby_lets_people_knock() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let created = app
        .create_room(
            &t,
            json!({"domain": "localhost", "name": "knock", "lobby": true, "addHostKey": true}),
        )
        .await;
    assert_eq!(created["content"]["room"]["lobby"], true);
    let host_key = created["content"]["hostKey"].as_str().unwrap();
    let (s, host) = app
        .join(
            "localhost/knock",
            json!({"displayName": "Host", "hostKey": host_key}),
        )
        .await;
    assert_eq!(
        (s, host["content"]["peer"]["state"].clone()),
        (StatusCode::CREATED, json!("admitted"))
    );
    let host_token = host["content"]["peerToken"].as_str().unwrap().to_string();
    let (s, guest) = app
        .join("localhost/knock", json!({"displayName": "Guest"}))
        .await;
    assert_eq!(
        (s, guest["content"]["peer"]["state"].clone()),
        (StatusCode::CREATED, json!("waiting")),
        "{guest}"
    );
    let guest_id = guest["content"]["peer"]["id"].as_str().unwrap();
    let (s, b) = as_peer(
        &app,
        &host_token,
        Method::POST,
        &format!("/v1/rooms/localhost/knock/peers/{guest_id}/admit"),
        None,
    )
    .await;
    assert_eq!(
        (s, b["state"].clone()),
        (StatusCode::OK, json!("admitted")),
        "{b}"
    );

    // Locking from the meeting page: later room-link joins knock, hosts still enter.
    let (s, b) = as_peer(
        &app,
        &host_token,
        Method::POST,
        "/v1/rooms/localhost/knock/lock",
        Some(json!({"locked": true})),
    )
    .await;
    assert_eq!(
        (s, b["isLocked"].clone()),
        (StatusCode::OK, json!(true)),
        "{b}"
    );
    app.create_room(
        &t,
        json!({"domain": "localhost", "name": "plain", "lock": true}),
    )
    .await;
    let (s, late) = app
        .join("localhost/plain", json!({"displayName": "Late"}))
        .await;
    assert_eq!(
        (s, late["content"]["peer"]["state"].clone()),
        (StatusCode::CREATED, json!("waiting")),
        "{late}"
    );
    // The org's API lets them in the same way.
    let late_id = late["content"]["peer"]["id"].as_str().unwrap();
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path(&format!("/rooms/localhost/plain/peers/{late_id}/admit")),
            None,
        )
        .await;
    assert_eq!(
        (s, b["state"].clone()),
        (StatusCode::OK, json!("admitted")),
        "{b}"
    );

    // A host ends the meeting for everyone.
    let (s, b) = as_peer(
        &app,
        &host_token,
        Method::POST,
        "/v1/rooms/localhost/knock/end",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["removed"].as_array().unwrap().len(), 2, "{b}");
    let (s, _) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/knock"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn presence_holds_across_nodes_and_a_dead_nodes_sockets_stop_counting() {
    use crate::helpers::TestDb;
    use crate::nodes::{Cluster, postgres_url};
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let cluster = Cluster::new(TestDb::create_postgres(&admin_url).await);
    let grace = [("MEETPLANE_PEER_RECONNECT_GRACE", "1s")];
    let a = cluster.start_with(&grace);
    let mut b = cluster.start_with(&grace);
    let client = cluster.client();
    let org = client.org_id.to_string();
    let ta = a.token(&client).await;
    a.call(
        &ta,
        Method::POST,
        &format!("/v1/orgs/{org}/rooms"),
        Some(json!({"domain": "localhost", "name": "spread"})),
    )
    .await;
    let mut watch = connect(&a.address, &ta).await;
    next(&mut watch).await;
    send(&mut watch, json!({"type": "subscribe", "org": true})).await;
    next_of(&mut watch, "subscribed").await;
    // Admitted through node A, connected to node B.
    let (s, admitted) = a
        .call(
            &ta,
            Method::POST,
            &format!("/v1/orgs/{org}/rooms/localhost/spread/peers"),
            Some(json!({"displayName": "Roamer", "role": "user"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{admitted}");
    let id = admitted["content"]["peer"]["id"].clone();
    let token = admitted["content"]["peerToken"]
        .as_str()
        .unwrap()
        .to_string();
    let mut on_b = connect(&b.address, &token).await;
    assert_eq!(next_of(&mut on_b, "welcome").await["state"], "connected");
    let e = next_event_where(&mut watch, |e| {
        e["event"] == "clientUpdated" && e["payload"]["client"]["id"] == id
    })
    .await;
    assert_eq!(e["payload"]["client"]["state"], "connected");

    // Node B dies with the socket open: its row stays, but once B is silent node A's sweep
    // sees the connection as dead, the peer is away, and after the grace it is gone.
    b.kill();
    drop(on_b);
    let e = next_event_where(&mut watch, |e| {
        e["event"] == "clientUpdated" && e["payload"]["client"]["id"] == id
    })
    .await;
    assert_eq!(e["payload"]["client"]["state"], "away");
    let e = next_event_where(&mut watch, |e| e["event"] == "clientsRemoved").await;
    assert_eq!(
        (
            e["payload"]["reason"].clone(),
            e["payload"]["clients"][0]["id"].clone()
        ),
        (json!("disconnected"), id)
    );
}
