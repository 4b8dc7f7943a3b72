//! Bookings and the scheduler, with a clock the tests move: transitions, overlaps, the
//! booked-room rule, catch-up after downtime, and bad input.
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use meetplane::{
    clock::{Clock, ManualClock},
    scheduler,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, TestClient, assert_problem},
    receiver::Receiver,
    webhooks::validated_webhook,
};

fn at(clock: &ManualClock, minutes: i64) -> String {
    (clock.now() + TimeDelta::minutes(minutes)).to_rfc3339()
}

async fn book(app: &TestApp, t: &str, body: Value) -> (StatusCode, Value) {
    app.call(t, Method::POST, &app.org_path("/bookings"), Some(body))
        .await
}

async fn booking(app: &TestApp, t: &str, id: &Value) -> Value {
    let (s, b) = app
        .call(
            t,
            Method::GET,
            &app.org_path(&format!("/bookings/{id}")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["content"].clone()
}

/// An app on a manual clock whose scheduler and delivery worker only run when the test says.
async fn clocked() -> (ManualClock, TestApp) {
    let clock = ManualClock::new(Utc::now());
    let app =
        TestApp::spawn_configured(Arc::new(clock.clone()), |c| c.background_workers = false).await;
    (clock, app)
}

/// Deliver everything that is due.
async fn deliver(app: &TestApp) {
    while meetplane::domain::delivery_worker::run_once(&app.state)
        .await
        .unwrap()
        > 0
    {}
}

/// Move the clock and let the scheduler do what is due.
async fn advance(app: &TestApp, clock: &ManualClock, minutes: i64) -> usize {
    clock.advance(TimeDelta::minutes(minutes));
    scheduler::run_once(&app.state).await.unwrap()
}

#[tokio::test]
async fn a_booking_activates_runs_and_completes_with_its_options() {
    let (clock, app) = clocked().await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    let hook = validated_webhook(&app, &t, &receiver, json!({})).await;
    let (s, b) = book(&app, &t, json!({
        "domain": "localhost", "roomName": "board", "startTime": at(&clock, 10),
        "meetingOptions": {"duration": 60, "lock": true, "key": "pw", "capacity": 5, "type": 2, "addHostKey": true}
    })).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["content"]["bookingId"].clone();
    let host_key = b["content"]["meetingOptions"]["hostKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(b["content"]["state"], "scheduled");
    assert_eq!(b["content"]["graceMinutes"], 15);
    let end: DateTime<Utc> = b["content"]["endTime"].as_str().unwrap().parse().unwrap();
    let start: DateTime<Utc> = b["content"]["startTime"].as_str().unwrap().parse().unwrap();
    assert_eq!((end - start).num_minutes(), 60);

    assert_eq!(
        advance(&app, &clock, 9).await,
        0,
        "nothing before the start"
    );
    assert_eq!(advance(&app, &clock, 1).await, 1);
    let t = app.token().await;
    let now = booking(&app, &t, &id).await;
    assert_eq!(now["state"], "active");
    let (_, room) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/board"),
            None,
        )
        .await;
    let r = &room["content"];
    assert_eq!(
        (
            r["isLocked"].clone(),
            r["key"].clone(),
            r["capacity"].clone(),
            r["type"].clone(),
            r["hasHostKey"].clone()
        ),
        (json!(true), json!("pw"), json!(5), json!(2), json!(true))
    );
    let (s, b) = app
        .join(
            "localhost/board",
            json!({"displayName": "Guest", "key": "pw"}),
        )
        .await;
    // A locked room lets them knock: they wait for a host instead of entering.
    assert_eq!(
        (s, b["content"]["peer"]["state"].clone()),
        (StatusCode::CREATED, json!("waiting")),
        "{b}"
    );
    let (s, host) = app
        .join(
            "localhost/board",
            json!({"displayName": "Host", "hostKey": host_key}),
        )
        .await;
    assert_eq!(
        (s, host["content"]["peer"]["type"].clone()),
        (StatusCode::CREATED, json!(3))
    );

    // Someone came within the grace: no expiry; the booking runs to its end.
    assert_eq!(advance(&app, &clock, 20).await, 1);
    assert_eq!(
        booking(&app, &app.token().await, &id).await["state"],
        "active"
    );
    assert_eq!(advance(&app, &clock, 41).await, 1);
    let t = app.token().await;
    let done = booking(&app, &t, &id).await;
    assert_eq!(done["state"], "completed");
    assert!(done["finishedAt"].is_string());
    let (s, b) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/board"),
            None,
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "room_not_found");

    deliver(&app).await;
    let (_, log) = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/webhooks/{hook}/deliveries")),
            None,
        )
        .await;
    let mut events: Vec<String> = log["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].as_str().unwrap().to_string())
        .collect();
    events.reverse();
    assert_eq!(
        events,
        [
            "roomCreated",
            "bookingActivated",
            "clientWaiting",
            "clientAdded",
            "clientsRemoved",
            "roomRemoved",
            "bookingCompleted"
        ]
    );
    let got = receiver.wait_for(8).await;
    let completed = &got[7].json;
    assert_eq!(
        (completed["event"].clone(), completed["seq"].clone()),
        (json!("bookingCompleted"), json!(0))
    );
    assert_eq!(completed["payload"]["booking"]["id"], id);
    assert_eq!(got[5].json["payload"]["reason"], "booking_ended");
}

#[tokio::test]
async fn an_unused_booking_expires_and_releases_the_room() {
    let (clock, app) = clocked().await;
    let t = app.token().await;
    let other = meetplane::domain::clients::create(
        &app.state,
        &meetplane::domain::audit::By::cli(app.org_id),
        "other",
    )
    .await
    .unwrap();
    let other = TestClient {
        org_id: app.org_id,
        api_key: other.client.api_key,
        secret: other.secret,
    };
    let t_other = app.token_for(&other).await;
    let (_, b) = book(&app, &t, json!({"domain": "localhost", "roomName": "quiet", "startTime": at(&clock, 5), "meetingOptions": {"duration": 60}, "graceMinutes": 10})).await;
    let id = b["content"]["bookingId"].clone();
    let init = json!({"domain": "localhost", "name": "quiet"});

    // Before the booking: nobody may open the room, the holder neither.
    for token in [&t, &t_other] {
        let (s, e) = app
            .call(
                token,
                Method::POST,
                &app.org_path("/rooms"),
                Some(init.clone()),
            )
            .await;
        assert_problem(s, &e, StatusCode::CONFLICT, "room_booked");
        assert!(
            e["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("booking {id}")),
            "{e}"
        );
    }
    advance(&app, &clock, 5).await;
    // During it: others still may not.
    let t_other = app.token_for(&other).await;
    let (s, e) = app
        .call(
            &t_other,
            Method::POST,
            &app.org_path("/rooms"),
            Some(init.clone()),
        )
        .await;
    assert_problem(s, &e, StatusCode::CONFLICT, "room_booked");

    assert_eq!(advance(&app, &clock, 10).await, 1);
    let t = app.token().await;
    let b = booking(&app, &t, &id).await;
    assert_eq!(b["state"], "expired");
    let (s, _) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/quiet"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // After expiry the room is free for anyone.
    let t_other = app.token_for(&other).await;
    let (s, e) = app
        .call(&t_other, Method::POST, &app.org_path("/rooms"), Some(init))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    // A finished booking cannot change.
    let (s, e) = app
        .call(
            &t,
            Method::PATCH,
            &app.org_path(&format!("/bookings/{id}")),
            Some(json!({"graceMinutes": 5})),
        )
        .await;
    assert_problem(s, &e, StatusCode::CONFLICT, "booking_finished");
    let (s, e) = app
        .call(
            &t,
            Method::DELETE,
            &app.org_path(&format!("/bookings/{id}")),
            None,
        )
        .await;
    assert_problem(s, &e, StatusCode::CONFLICT, "booking_finished");
}

#[tokio::test]
async fn the_holder_initialises_the_active_room_and_gets_the_host_key() {
    // xroom Appendix B: book, activation, room/init with addHostKey, host joins, others not.
    let (clock, app) = clocked().await;
    let t = app.token().await;
    let (_, b) = book(&app, &t, json!({"domain": "localhost", "roomName": "private", "startTime": at(&clock, 1), "meetingOptions": {"duration": 30}})).await;
    assert!(b["content"]["meetingOptions"]["hostKey"].is_null());
    advance(&app, &clock, 1).await;
    let t = app.token().await;
    let (s, init) = app
        .call(&t, Method::POST, &app.org_path("/rooms"), Some(json!({"domain": "localhost", "name": "private", "addHostKey": true, "key": "guests"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{init}");
    let host_key = init["content"]["hostKey"].as_str().unwrap();
    assert_eq!(init["content"]["room"]["key"], "guests");
    let (_, host) = app
        .join(
            "localhost/private",
            json!({"displayName": "Host", "hostKey": host_key}),
        )
        .await;
    assert_eq!(host["content"]["peer"]["type"], 1);
    let (_, guest) = app
        .join(
            "localhost/private",
            json!({"displayName": "Guest", "key": "guests"}),
        )
        .await;
    assert_eq!(guest["content"]["peer"]["type"], 2);
    // The booking shows the host key too.
    assert_eq!(
        booking(&app, &t, &b["content"]["bookingId"]).await["meetingOptions"]["hostKey"],
        host_key
    );
}

#[tokio::test]
async fn overlaps_are_refused_back_to_back_is_fine() {
    let (clock, app) = clocked().await;
    let t = app.token().await;
    let body = |start: i64, duration: i64| json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, start), "meetingOptions": {"duration": duration}});
    let (s, a) = book(&app, &t, body(60, 60)).await;
    assert_eq!(s, StatusCode::CREATED);
    let a_id = a["content"]["bookingId"].clone();
    assert_eq!(
        book(&app, &t, body(120, 60)).await.0,
        StatusCode::CREATED,
        "starts when A ends"
    );
    let (s, d) = book(&app, &t, body(0, 60)).await;
    assert_eq!(s, StatusCode::CREATED, "ends when A starts: {d}");
    for (start, duration) in [(90, 60), (59, 2), (60, 60), (30, 180), (119, 1)] {
        let (s, e) = book(&app, &t, body(start, duration)).await;
        assert_problem(s, &e, StatusCode::CONFLICT, "booking_conflict");
        assert!(e["detail"].as_str().unwrap().contains("booking "), "{e}");
    }
    let (_, e) = book(&app, &t, body(90, 10)).await;
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("booking {a_id}")),
        "{e}"
    );
    // Other rooms are independent.
    let other = json!({"domain": "localhost", "roomName": "r2", "startTime": at(&clock, 60), "meetingOptions": {"duration": 60}});
    assert_eq!(book(&app, &t, other).await.0, StatusCode::CREATED);
    // Moving D into A is refused; a cancelled booking no longer blocks.
    let d_id = d["content"]["bookingId"].clone();
    let (s, e) = app
        .call(
            &t,
            Method::PATCH,
            &app.org_path(&format!("/bookings/{d_id}")),
            Some(json!({"startTime": at(&clock, 30)})),
        )
        .await;
    assert_problem(s, &e, StatusCode::CONFLICT, "booking_conflict");
    let (s, c) = app
        .call(
            &t,
            Method::DELETE,
            &app.org_path(&format!("/bookings/{a_id}")),
            None,
        )
        .await;
    assert_eq!(
        (s, c["content"]["state"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    let (s, moved) = app
        .call(
            &t,
            Method::PATCH,
            &app.org_path(&format!("/bookings/{d_id}")),
            Some(json!({"startTime": at(&clock, 30)})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
}

#[tokio::test]
async fn bad_booking_input_is_refused_naming_the_field() {
    let (clock, app) = clocked().await;
    let t = app.token().await;
    let cases = [
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, -1), "meetingOptions": {"duration": 10}}),
            "startTime",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": "tomorrow", "meetingOptions": {"duration": 10}}),
            "startTime",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": 5, "meetingOptions": {"duration": 10}}),
            "startTime",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5), "meetingOptions": {"duration": -5}}),
            "meetingOptions.duration",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5), "meetingOptions": {"duration": 0}}),
            "meetingOptions.duration",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5), "meetingOptions": {"duration": 99999999}}),
            "meetingOptions.duration",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5), "meetingOptions": {}}),
            "meetingOptions.duration",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5), "meetingOptions": {"duration": 10, "capacity": 0}}),
            "meetingOptions.capacity",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5), "meetingOptions": {"duration": 10, "capacity": 257}}),
            "meetingOptions.capacity",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5), "meetingOptions": {"duration": 10, "type": 3}}),
            "meetingOptions.type",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5), "meetingOptions": {"duration": 10}, "graceMinutes": 11}),
            "graceMinutes",
        ),
        (
            json!({"domain": "localhost", "roomName": "r r", "startTime": at(&clock, 5), "meetingOptions": {"duration": 10}}),
            "roomName",
        ),
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5)}),
            "meetingOptions",
        ),
        // It would end after 9999-12-31T23:59:59Z, which RFC 3339 cannot write.
        (
            json!({"domain": "localhost", "roomName": "r", "startTime": "9999-12-31T23:00:00Z", "meetingOptions": {"duration": 120}}),
            "startTime",
        ),
    ];
    for (body, field) in cases {
        let (s, e) = book(&app, &t, body.clone()).await;
        assert_problem(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(e["errors"][0]["field"], field, "{body} -> {e}");
    }
    // The same limit when a booking moves or grows.
    let (s, b) = book(&app, &t, json!({"domain": "localhost", "roomName": "r", "startTime": at(&clock, 5), "meetingOptions": {"duration": 10}})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let path = app.org_path(&format!("/bookings/{}", b["content"]["bookingId"]));
    let (s, e) = app
        .call(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"startTime": "9999-12-31T23:55:00Z"})),
        )
        .await;
    assert_problem(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(e["errors"][0]["field"], "startTime", "{e}");
    let (_, unchanged) = app.call(&t, Method::GET, &path, None).await;
    assert_eq!(unchanged["content"]["startTime"], b["content"]["startTime"]);
    // Creating and changing share their checks: the same mistake, the same answer.
    let same_mistakes = [
        (
            json!({"meetingOptions": {"duration": 0}}),
            "meetingOptions.duration",
        ),
        (
            json!({"meetingOptions": {"duration": 10}, "graceMinutes": 11}),
            "graceMinutes",
        ),
        (
            json!({"meetingOptions": {"duration": 10, "type": 3}}),
            "meetingOptions.type",
        ),
        (
            json!({"meetingOptions": {"duration": 10, "capacity": 0}}),
            "meetingOptions.capacity",
        ),
    ];
    for (mistake, field) in same_mistakes {
        let mut new = json!({"domain": "localhost", "roomName": "r2", "startTime": at(&clock, 5)});
        for (k, v) in mistake.as_object().unwrap() {
            new[k] = v.clone();
        }
        let (s, created) = book(&app, &t, new).await;
        assert_problem(
            s,
            &created,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let (s, changed) = app
            .call(&t, Method::PATCH, &path, Some(mistake.clone()))
            .await;
        assert_problem(
            s,
            &changed,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(created["errors"], changed["errors"], "{mistake}");
        assert_eq!(created["errors"][0]["field"], field, "{mistake}");
    }
    let (s, e) = app
        .call(&t, Method::GET, &app.org_path("/bookings?state=lost"), None)
        .await;
    assert_problem(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, e) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/bookings?from=yesterday"),
            None,
        )
        .await;
    assert_problem(s, &e, StatusCode::BAD_REQUEST, "invalid_parameter");
    let (s, e) = app
        .call(&t, Method::GET, &app.org_path("/bookings/424242"), None)
        .await;
    assert_problem(s, &e, StatusCode::NOT_FOUND, "booking_not_found");
}

#[tokio::test]
async fn bookings_are_listed_by_domain_room_state_and_window() {
    let (clock, app) = clocked().await;
    let t = app.token().await;
    for (room, start) in [("a", 10), ("b", 20), ("a", 120), ("c", 300)] {
        let (s, _) = book(&app, &t, json!({"domain": "localhost", "roomName": room, "startTime": at(&clock, start), "meetingOptions": {"duration": 30}})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    advance(&app, &clock, 10).await;
    let t = app.token().await;
    let names = |v: &Value| {
        v["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["roomName"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let get = |q: String| {
        let (app, t) = (&app, &t);
        async move {
            app.call(
                t,
                Method::GET,
                &app.org_path(&format!("/bookings{q}")),
                None,
            )
            .await
            .1
        }
    };
    assert_eq!(names(&get("?roomName=a".into()).await), ["a", "a"]);
    assert_eq!(names(&get("?state=active".into()).await), ["a"]);
    assert_eq!(
        names(&get("?state=scheduled&domain=localhost".into()).await),
        ["b", "a", "c"]
    );
    let from = urlencoding(&at(&clock, 5));
    let to = urlencoding(&at(&clock, 200));
    assert_eq!(
        names(&get(format!("?from={from}&to={to}")).await),
        ["b", "a"]
    );
    let page = get("?count=3".into()).await;
    assert_eq!(names(&page).len(), 3);
    assert!(
        page["_links"]["next"]["href"]
            .as_str()
            .unwrap()
            .contains("page=1")
    );
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn cancelling_an_active_booking_closes_its_room() {
    let (clock, app) = clocked().await;
    let t = app.token().await;
    let (_, b) = book(&app, &t, json!({"domain": "localhost", "roomName": "c", "startTime": at(&clock, 1), "meetingOptions": {"duration": 30}})).await;
    advance(&app, &clock, 1).await;
    let (_, j) = app.join("localhost/c", json!({"displayName": "A"})).await;
    let t = app.token().await;
    let (_, room) = app
        .call(&t, Method::GET, &app.org_path("/rooms/localhost/c"), None)
        .await;
    assert_eq!(
        room["content"]["peers"][0]["id"],
        j["content"]["peer"]["id"]
    );
    let (s, c) = app
        .call(
            &t,
            Method::DELETE,
            &app.org_path(&format!("/bookings/{}", b["content"]["bookingId"])),
            None,
        )
        .await;
    assert_eq!(
        (s, c["content"]["state"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    let (s, _) = app
        .call(&t, Method::GET, &app.org_path("/rooms/localhost/c"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn updating_moves_a_scheduled_booking_and_extends_an_active_one() {
    let (clock, app) = clocked().await;
    let t = app.token().await;
    let (_, b) = book(&app, &t, json!({"domain": "localhost", "roomName": "u", "startTime": at(&clock, 10), "meetingOptions": {"duration": 30}})).await;
    let path = app.org_path(&format!("/bookings/{}", b["content"]["bookingId"]));
    let (s, u) = app
        .call(&t, Method::PATCH, &path, Some(json!({"startTime": at(&clock, 20), "meetingOptions": {"addHostKey": true, "capacity": 3}})))
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert!(u["content"]["meetingOptions"]["hostKey"].is_string());
    assert_eq!(u["content"]["meetingOptions"]["capacity"], 3);
    assert_eq!(advance(&app, &clock, 10).await, 0, "moved: not yet");
    assert_eq!(advance(&app, &clock, 10).await, 1);
    app.join("localhost/u", json!({"displayName": "A"})).await;
    let t = app.token().await;
    let (s, e) = app
        .call(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"startTime": at(&clock, 5)})),
        )
        .await;
    assert_problem(s, &e, StatusCode::CONFLICT, "booking_started");
    let (s, u) = app
        .call(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"meetingOptions": {"duration": 90, "lock": true}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let (_, room) = app
        .call(&t, Method::GET, &app.org_path("/rooms/localhost/u"), None)
        .await;
    assert_eq!(
        room["content"]["isLocked"], true,
        "an active booking's room follows its options"
    );
    assert_eq!(
        advance(&app, &clock, 60).await,
        0,
        "attended: nothing until the new end"
    );
    assert_eq!(
        booking(&app, &app.token().await, &b["content"]["bookingId"]).await["state"],
        "active",
        "extended"
    );
    assert_eq!(advance(&app, &clock, 31).await, 1);
    assert_eq!(
        booking(&app, &app.token().await, &b["content"]["bookingId"]).await["state"],
        "completed"
    );
}

#[tokio::test]
async fn transitions_missed_while_down_are_caught_up_at_start() {
    let (clock, app) = clocked().await;
    let t = app.token().await;
    let receiver = Receiver::start().await;
    validated_webhook(
        &app,
        &t,
        &receiver,
        json!({"events": ["roomCreated", "roomRemoved", "bookingActivated", "bookingExpired"]}),
    )
    .await;
    let (_, missed) = book(&app, &t, json!({"domain": "localhost", "roomName": "m", "startTime": at(&clock, 10), "meetingOptions": {"duration": 60}})).await;
    let (_, running) = book(&app, &t, json!({"domain": "localhost", "roomName": "n", "startTime": at(&clock, 30), "meetingOptions": {"duration": 60}})).await;
    let (db, key, client) = app.stop().await;

    // Down across both starts and the first one's grace.
    clock.advance(TimeDelta::minutes(35));
    let app = TestApp::start_configured(db, key, Arc::new(clock.clone()), Some(client), |c| {
        c.background_workers = false
    })
    .await;
    let t = app.token().await;
    assert_eq!(
        booking(&app, &t, &missed["content"]["bookingId"]).await["state"],
        "expired"
    );
    assert_eq!(
        booking(&app, &t, &running["content"]["bookingId"]).await["state"],
        "active"
    );
    deliver(&app).await;
    let got = receiver.wait_for(1 + 6).await;
    let first: Vec<(String, Value)> = got[1..]
        .iter()
        .filter(|r| r.json["room"] == "m")
        .map(|r| {
            (
                r.json["event"].as_str().unwrap().to_string(),
                r.json["seq"].clone(),
            )
        })
        .collect();
    assert_eq!(
        first,
        [
            ("roomCreated".to_string(), json!(1)),
            ("bookingActivated".to_string(), json!(0)),
            ("roomRemoved".to_string(), json!(2)),
            ("bookingExpired".to_string(), json!(0)),
        ]
    );
}

#[tokio::test]
async fn public_links_open_rooms_only_where_the_domain_allows() {
    let (clock, app) = clocked().await;
    let t = app.token().await;
    let (s, b) = app
        .join("localhost/nobody-made-this", json!({"displayName": "A"}))
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "room_not_found");
    app.call(
        &t,
        Method::PATCH,
        &app.org_path("/domains/localhost"),
        Some(json!({"forbidNonApiRooms": false})),
    )
    .await;
    let (s, b) = app
        .join("localhost/by-link", json!({"displayName": "Opener"}))
        .await;
    assert_eq!(
        (s, b["content"]["peer"]["type"].clone()),
        (StatusCode::CREATED, json!(1)),
        "the opener hosts: {b}"
    );
    let (_, b) = app
        .join("localhost/by-link", json!({"displayName": "Second"}))
        .await;
    assert_eq!(b["content"]["peer"]["type"], 2);
    // A booking holds its room against the public link too.
    book(&app, &t, json!({"domain": "localhost", "roomName": "held", "startTime": at(&clock, 60), "meetingOptions": {"duration": 30}})).await;
    let (s, b) = app
        .join("localhost/held", json!({"displayName": "Early"}))
        .await;
    assert_problem(s, &b, StatusCode::CONFLICT, "room_booked");
}

#[tokio::test]
async fn the_running_scheduler_activates_on_time() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let start = Utc::now() + TimeDelta::milliseconds(700);
    let (_, b) = book(&app, &t, json!({"domain": "localhost", "roomName": "live", "startTime": start.to_rfc3339(), "meetingOptions": {"duration": 5}})).await;
    let id = b["content"]["bookingId"].clone();
    for _ in 0..100 {
        if booking(&app, &t, &id).await["state"] == "active" {
            let activated: DateTime<Utc> = booking(&app, &t, &id).await["activatedAt"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(activated >= start, "not before its start");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the scheduler did not activate the booking within 5 s");
}
