//! The rooms API: initialise, list, get, lock, password, kick, destroy, join and leave, with
//! the host, lock, password, webinar and capacity rules.
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, read};

fn peer_ids(room: &Value) -> Vec<String> {
    room["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn initialise_get_and_list_rooms_with_peers() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let created = app
        .create_room(&t, json!({"domain": "localhost", "name": "standup", "type": 2, "lock": false, "key": "pw", "capacity": 10}))
        .await;
    let room = &created["content"]["room"];
    assert_eq!(room["id"], "localhost/standup");
    assert_eq!(room["type"], 2);
    assert_eq!(room["key"], "pw");
    assert_eq!(room["capacity"], 10);
    assert_eq!(room["hasHostKey"], false);
    assert!(created["content"]["hostKey"].is_null());
    assert_eq!(
        created["_links"]["self"]["href"],
        app.org_path("/rooms/localhost/standup")
    );

    let (s, joined) = app
        .join(
            "localhost/standup",
            json!({"displayName": "Ann", "key": "pw"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{joined}");
    assert_eq!(
        joined["content"]["peer"]["type"], 4,
        "a webinar guest is a viewer"
    );
    assert!(
        joined["content"]["peerToken"]
            .as_str()
            .unwrap()
            .starts_with("mppt_")
    );

    let (s, got) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/standup"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["content"]["peers"][0]["displayName"], "Ann");

    app.create_room(&t, json!({"domain": "localhost", "name": "a-first"}))
        .await;
    let (s, list) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms?domain=localhost"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let names: Vec<&str> = list["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a-first", "standup"]);
    assert_eq!(list["content"][1]["peers"].as_array().unwrap().len(), 1);
    assert_eq!(
        list["content"][0]["capacity"], 256,
        "default capacity is the maximum"
    );
}

/// The list may be answered from memory (on SQLite), so every change must show at once:
/// made through the API, or committed by another connection, as the CLI beside a running
/// server does.
#[tokio::test]
async fn the_rooms_list_shows_every_change_at_once() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(
        &t,
        json!({"domain": "localhost", "name": "live", "key": "pw"}),
    )
    .await;
    let list = |q: &'static str| {
        let (app, t) = (&app, &t);
        async move {
            let (s, body) = app
                .call(t, Method::GET, &app.org_path(&format!("/rooms{q}")), None)
                .await;
            assert_eq!(s, StatusCode::OK, "{body}");
            body
        }
    };
    let first = list("").await;
    assert_eq!(list("").await, first, "unchanged, read twice");
    assert_eq!(first["content"][0]["peers"], json!([]));

    let (s, joined) = app
        .join("localhost/live", json!({"displayName": "Ann", "key": "pw"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{joined}");
    assert_eq!(
        list("").await["content"][0]["peers"][0]["displayName"],
        "Ann"
    );

    let (s, b) = app
        .call(
            &t,
            Method::PUT,
            &app.org_path("/rooms/localhost/live/lock"),
            Some(json!({"lock": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(list("").await["content"][0]["isLocked"], true);
    // Pages and filters are answered apart.
    assert_eq!(list("?count=1&page=1").await["content"], json!([]));
    assert_eq!(
        list("?domain=localhost").await["content"][0]["name"],
        "live"
    );

    use sea_orm::ConnectionTrait;
    let other = sea_orm::Database::connect(app.db.url()).await.unwrap();
    other
        .execute_unprepared("UPDATE rooms SET capacity = 7 WHERE name = 'live'")
        .await
        .unwrap();
    assert_eq!(list("").await["content"][0]["capacity"], 7);
    assert_eq!(list("?domain=localhost").await["content"][0]["capacity"], 7);
    other.close().await.unwrap();
}

#[tokio::test]
async fn room_lists_page_with_next_and_previous() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    for i in 0..5 {
        app.create_room(&t, json!({"domain": "localhost", "name": format!("r{i}")}))
            .await;
    }
    let mut path = app.org_path("/rooms?count=2");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (s, page) = app.call(&t, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        pages += 1;
        if pages == 1 {
            assert!(
                page["_links"]["previous"].is_null(),
                "first page has no previous"
            );
        }
        for r in page["content"].as_array().unwrap() {
            seen.push(r["name"].as_str().unwrap().to_string());
        }
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => path = next.to_string(),
            None => {
                assert!(page["_links"]["previous"]["href"].as_str().is_some());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["r0", "r1", "r2", "r3", "r4"]);
    let (s, b) = app
        .call(&t, Method::GET, &app.org_path("/rooms?count=0"), None)
        .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "invalid_parameter");
    let (s, b) = app
        .call(&t, Method::GET, &app.org_path("/rooms?page=-1"), None)
        .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "invalid_parameter");
}

#[tokio::test]
async fn host_keys_locks_and_passwords_decide_who_enters() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let created = app
        .create_room(&t, json!({"domain": "localhost", "name": "board", "lock": true, "key": "s3cret", "addHostKey": true}))
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap().to_string();
    assert_eq!(created["content"]["room"]["hasHostKey"], true);

    // Locked: only the host key enters, and makes a conference host (type 1).
    let (s, b) = app
        .join(
            "localhost/board",
            json!({"displayName": "Guest", "key": "s3cret"}),
        )
        .await;
    // A locked room lets them knock: they wait for a host instead of entering.
    assert_eq!(
        (s, b["content"]["peer"]["state"].clone()),
        (StatusCode::CREATED, json!("waiting")),
        "{b}"
    );
    let (s, b) = app
        .join(
            "localhost/board",
            json!({"displayName": "Eve", "hostKey": "wrong"}),
        )
        .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "invalid_host_key");
    let (s, host) = app
        .join(
            "localhost/board",
            json!({"displayName": "Host", "hostKey": host_key}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{host}");
    assert_eq!(host["content"]["peer"]["type"], 1);

    // Unlock: the password now guards everyone else, who join as users (type 2).
    let (s, b) = app
        .call(
            &t,
            Method::PUT,
            &app.org_path("/rooms/localhost/board/lock"),
            Some(json!({"lock": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["content"]["isLocked"], false);
    let (s, b) = app
        .join("localhost/board", json!({"displayName": "Guest"}))
        .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "password_required");
    let (s, b) = app
        .join(
            "localhost/board",
            json!({"displayName": "Guest", "key": "nope"}),
        )
        .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "invalid_password");
    let (s, guest) = app
        .join(
            "localhost/board",
            json!({"displayName": "Guest", "key": "s3cret"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{guest}");
    assert_eq!(guest["content"]["peer"]["type"], 2);

    // Change and then reset the password.
    let (s, b) = app
        .call(
            &t,
            Method::PUT,
            &app.org_path("/rooms/localhost/board/password"),
            Some(json!({"password": "new"})),
        )
        .await;
    assert_eq!((s, &b["content"]["key"]), (StatusCode::OK, &json!("new")));
    let (s, b) = app
        .join(
            "localhost/board",
            json!({"displayName": "Late", "key": "s3cret"}),
        )
        .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "invalid_password");
    let (s, b) = app
        .call(
            &t,
            Method::PUT,
            &app.org_path("/rooms/localhost/board/password"),
            Some(json!({"password": null})),
        )
        .await;
    assert_eq!((s, &b["content"]["key"]), (StatusCode::OK, &Value::Null));
    let (s, _) = app
        .join("localhost/board", json!({"displayName": "Late"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn capacity_is_enforced_for_everyone() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let created = app
        .create_room(
            &t,
            json!({"domain": "localhost", "name": "small", "capacity": 2, "addHostKey": true}),
        )
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap();
    assert_eq!(
        app.join("localhost/small", json!({"displayName": "A"}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        app.join("localhost/small", json!({"displayName": "B"}))
            .await
            .0,
        StatusCode::CREATED
    );
    let (s, b) = app
        .join("localhost/small", json!({"displayName": "C"}))
        .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "room_full");
    let (s, b) = app
        .join(
            "localhost/small",
            json!({"displayName": "H", "hostKey": host_key}),
        )
        .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "room_full");
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/small/peers"),
            Some(json!({"displayName": "VIP", "role": "host"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "room_full");
}

#[tokio::test]
async fn concurrent_joins_never_exceed_capacity() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(
        &t,
        json!({"domain": "localhost", "name": "rush", "capacity": 3}),
    )
    .await;
    let joins =
        (0..12).map(|i| app.join("localhost/rush", json!({"displayName": format!("p{i}")})));
    let results = futures_util::future::join_all(joins).await;
    let admitted = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let full = results
        .iter()
        .filter(|(s, b)| *s == StatusCode::CONFLICT && b["code"] == "room_full")
        .count();
    assert_eq!((admitted, full), (3, 9), "{results:?}");
}

#[tokio::test]
async fn trusted_admission_bypasses_lock_and_password() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(
        &t,
        json!({"domain": "localhost", "name": "webinar", "type": 2, "lock": true, "key": "pw"}),
    )
    .await;
    let (s, host) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/webinar/peers"),
            Some(json!({"displayName": "Speaker", "role": "host"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{host}");
    assert_eq!(host["content"]["peer"]["type"], 3);
    let (s, viewer) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/webinar/peers"),
            Some(json!({"displayName": "Viewer", "role": "user"})),
        )
        .await;
    assert_eq!(
        (s, &viewer["content"]["peer"]["type"]),
        (StatusCode::CREATED, &json!(4))
    );
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/webinar/peers"),
            Some(json!({"displayName": "X", "role": "admin"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "role");
}

#[tokio::test]
async fn kick_one_or_all_and_leave() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "k"}))
        .await;
    let mut tokens = Vec::new();
    for name in ["A", "B", "C"] {
        let (_, j) = app.join("localhost/k", json!({"displayName": name})).await;
        tokens.push((
            j["content"]["peer"]["id"].as_str().unwrap().to_string(),
            j["content"]["peerToken"].as_str().unwrap().to_string(),
        ));
    }
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/k/kick"),
            Some(json!({"peerId": tokens[0].0})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["removed"][0]["id"], tokens[0].0.as_str());
    assert_eq!(b["removed"][0]["leftReason"], "kicked");
    // Kicking the same peer again: it is no longer in the room.
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/k/kick"),
            Some(json!({"peerId": tokens[0].0})),
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "peer_not_found");
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/k/kick"),
            Some(json!({"peerId": "someone"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // A kicked peer's token no longer works.
    let (s, b) = read(
        app.request(Method::POST, "/v1/rooms/localhost/k/leave")
            .bearer_auth(&tokens[0].1)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "invalid_peer_token");
    // B leaves by itself.
    let (s, b) = read(
        app.request(Method::POST, "/v1/rooms/localhost/k/leave")
            .bearer_auth(&tokens[1].1)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["content"]["leftReason"], "left");
    let (_, room) = app
        .call(&t, Method::GET, &app.org_path("/rooms/localhost/k"), None)
        .await;
    assert_eq!(peer_ids(&room["content"]), [tokens[2].0.clone()]);
    // Everyone.
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms/localhost/k/kick"),
            Some(json!({"peerId": "all"})),
        )
        .await;
    assert_eq!(
        (s, b["removed"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    let (_, room) = app
        .call(&t, Method::GET, &app.org_path("/rooms/localhost/k"), None)
        .await;
    assert!(peer_ids(&room["content"]).is_empty());
}

#[tokio::test]
async fn a_peer_token_only_leaves_its_own_room() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "one"}))
        .await;
    app.create_room(&t, json!({"domain": "localhost", "name": "two"}))
        .await;
    let (_, j) = app.join("localhost/one", json!({"displayName": "A"})).await;
    let token = j["content"]["peerToken"].as_str().unwrap();
    let (s, b) = read(
        app.request(Method::POST, "/v1/rooms/localhost/two/leave")
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "peer_not_in_room");
    let (s, b) = read(
        app.request(Method::POST, "/v1/rooms/localhost/two/leave")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn destroy_refuses_occupied_rooms_unless_forced() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "gone"}))
        .await;
    app.join("localhost/gone", json!({"displayName": "A"}))
        .await;
    let path = app.org_path("/rooms/localhost/gone");
    let (s, b) = app.call(&t, Method::DELETE, &path, None).await;
    assert_problem(s, &b, StatusCode::CONFLICT, "room_not_empty");
    let (s, b) = app
        .call(&t, Method::DELETE, &format!("{path}?forceKick=true"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["removed"][0]["leftReason"], "room_closed");
    let (s, b) = app.call(&t, Method::GET, &path, None).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "room_not_found");
    let (s, b) = app
        .join("localhost/gone", json!({"displayName": "B"}))
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "room_not_found");
    // An empty room goes without forceKick, and the name can be used again.
    app.create_room(&t, json!({"domain": "localhost", "name": "gone"}))
        .await;
    let (s, b) = app.call(&t, Method::DELETE, &path, None).await;
    assert_eq!(
        (s, b["removed"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    let (s, b) = app.call(&t, Method::DELETE, &path, None).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "room_not_found");
}

#[tokio::test]
async fn initialising_a_live_room_twice_conflicts() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "dup"}))
        .await;
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms"),
            Some(json!({"domain": "localhost", "name": "dup"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "room_exists");
}

#[tokio::test]
async fn invalid_room_input_names_the_field() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let cases = [
        (json!({"domain": "localhost", "name": "a b"}), "name"),
        (
            json!({"domain": "localhost", "name": "x", "type": 3}),
            "type",
        ),
        (
            json!({"domain": "localhost", "name": "x", "capacity": 0}),
            "capacity",
        ),
        (
            json!({"domain": "localhost", "name": "x", "capacity": 257}),
            "capacity",
        ),
        (
            json!({"domain": "localhost", "name": "x", "capacity": "ten"}),
            "capacity",
        ),
        (
            json!({"domain": "localhost", "name": "x", "lock": "yes"}),
            "lock",
        ),
        (
            json!({"domain": "localhost", "name": "x", "key": ""}),
            "key",
        ),
        (json!({"domain": "localhost"}), "name"),
        (json!({"domain": "localhost", "name": 5}), "name"),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let (s, b) = app
            .call(
                &t,
                Method::POST,
                &app.org_path("/rooms"),
                Some(body.clone()),
            )
            .await;
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(b["errors"][0]["field"], field, "{body} -> {b}");
    }
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms"),
            Some(json!({"domain": "nowhere.example", "name": "x"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "domain_not_found");
    let (s, b) = app
        .join("localhost/none", json!({"displayName": "A"}))
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "room_not_found");
    app.create_room(&t, json!({"domain": "localhost", "name": "ok"}))
        .await;
    let (s, b) = app
        .join("localhost/ok", json!({"displayName": "   "}))
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "displayName");
}
