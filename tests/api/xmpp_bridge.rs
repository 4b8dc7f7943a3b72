//! The XMPP bridge against a real Prosody with a real second XMPP client in the MUC: HTTP →
//! MUC text, MUC → signed callback, a Prosody restart in the middle, and ending a chat.
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use meetplane::{
    auth::seal::MasterKey,
    clock::SystemClock,
    config::Config,
    store::bridge_status::{self, Report},
    xmpp::LEADER_LOCK,
};
use reqwest::{Method, StatusCode};
use sea_orm::sqlx::{self, Connection};
use serde_json::Value;
use sha2::{Digest, Sha512};

use crate::{
    chat_bridge::{body, post},
    helpers::{TestApp, TestDb},
    nodes::postgres_url,
    prosody::{self, Person, Prosody, Seen},
    receiver::Receiver,
};

pub const ROOM: &str = "lobby@conference.localhost";
const CALLBACK_SECRET: &str = "callback-s3cret";

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Wait (at most 30 s) until the bridge is in `room` on a connection made after `after`.
pub async fn bridge_in(app: &TestApp, room: &str, after: Option<DateTime<Utc>>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = app.state.bridge.get();
        if status.state == "connected"
            && status.connected_since > after
            && status.rooms_joined.iter().any(|r| r == room)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bridge did not join {room}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The callback's checksum, recomputed independently: Python's json.dumps of
/// `{"user_name": …, "message": …}` written out by hand, within ±10 s of now.
fn callback_checksum_ok(python_json: &str, checksum: &str) -> bool {
    (now() - 10..=now() + 10).any(|ts| {
        hex::encode(Sha512::digest(
            format!("sendChatMessage{python_json}{CALLBACK_SECRET}{ts}").as_bytes(),
        )) == checksum
    })
}

/// Configure the bridge's account on `prosody`.
pub fn bridging_to(prosody: &Prosody) -> impl FnOnce(&mut Config) {
    signing_in_to(prosody, "bridgepw")
}

fn signing_in_to(prosody: &Prosody, password: &str) -> impl FnOnce(&mut Config) {
    bridging_at(&prosody.address(), password)
}

/// Configure the bridge's account, reaching the server at `address`.
pub fn bridging_at(address: &str, password: &str) -> impl FnOnce(&mut Config) + use<> {
    let address = address.to_string();
    let password = password.to_string();
    move |c| {
        let s = meetplane::config::Settings {
            xmpp_jid: Some("bridge@localhost".into()),
            xmpp_password: Some(password),
            xmpp_server: Some(address),
            ..Default::default()
        };
        c.chat.xmpp = meetplane::config::ChatConfig::from_settings(&s)
            .unwrap()
            .xmpp;
    }
}

pub async fn send(app: &TestApp, user: &str, message: &str) {
    send_to(app, ROOM, user, message).await;
}

pub async fn send_to(app: &TestApp, room: &str, user: &str, message: &str) {
    let python = format!(r#"{{"user_name": "{user}", "message": "{message}"}}"#);
    let (s, b) = post(
        app,
        &format!("/api/sendChatMessage/{room}"),
        body(&python, "sendChatMessage", &app.client.secret, now()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn bridges_both_ways_and_survives_a_prosody_restart() {
    if !prosody::available() {
        return;
    }
    let mut prosody = Prosody::start(&[("bridge", "bridgepw"), ("alice", "alicepw")]).await;
    let app = TestApp::spawn_configured(
        Arc::new(meetplane::clock::SystemClock),
        bridging_to(&prosody),
    )
    .await;
    let receiver = Receiver::start().await;
    let start = format!(
        r#"{{"jid_room": "{ROOM}", "callback_uri": "{}", "callback_secret": "{CALLBACK_SECRET}"}}"#,
        receiver.url
    );
    let (s, b) = post(
        &app,
        "/api/startChatForRoom",
        body(&start, "startChatForRoom", &app.client.secret, now()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    bridge_in(&app, ROOM, None).await;
    let mut alice = Person::join(&prosody, "alice", "alicepw", ROOM).await;

    // HTTP → MUC, exactly "{user_name} wrote:\n{message}".
    send(&app, "Bob", "Hello\\nthere").await;
    let seen = alice
        .wait_for(|s| matches!(s, Seen::Message { nick, .. } if nick == "meetplane"))
        .await;
    assert!(
        matches!(&seen, Seen::Message { body, delayed: false, .. } if body == "Bob wrote:\nHello\nthere"),
        "{seen:?}"
    );

    // MUC → callback, checksummed with the callback secret; also in the room's chat.
    alice.say(ROOM, "Hi from XMPP, Jürgen").await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].json["user_name"], "alice");
    assert_eq!(got[0].json["message"], "Hi from XMPP, Jürgen");
    let python = r#"{"user_name": "alice", "message": "Hi from XMPP, J\u00fcrgen"}"#;
    assert!(
        callback_checksum_ok(python, got[0].json["checksum"].as_str().unwrap()),
        "{}",
        got[0].body
    );
    let t = app.token().await;
    let (_, page) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/lobby/messages"),
            None,
        )
        .await;
    assert_eq!(page["content"][0]["senderKind"], "xmpp");
    assert_eq!(page["content"][0]["displayName"], "alice");

    // The status is visible in /readyz and the API.
    let (s, ready) = app.call(&t, Method::GET, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK, "{ready}");
    assert_eq!(ready["xmppBridge"]["state"], "connected", "{ready}");
    let (_, status) = app.call(&t, Method::GET, "/v1/chat-bridge", None).await;
    assert_eq!(status["roomsJoined"][0], ROOM, "{status}");
    assert_eq!(status["bridgingHere"], true, "{status}");
    assert_eq!(status["reportedAt"], Value::Null, "{status}");
    let metrics = app.request(Method::GET, "/metrics").send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("\nmeetplane_xmpp_bridge_connected 1\n")
            && metrics.contains("\nmeetplane_xmpp_bridge_rooms_joined 1\n"),
        "{metrics}"
    );

    // Prosody goes away; a message sent meanwhile waits and arrives after the reconnect.
    drop(alice);
    let before = app.state.bridge.get().connected_since;
    prosody.stop();
    send(&app, "Bob", "during the outage").await;
    prosody.restart().await;
    bridge_in(&app, ROOM, before).await;
    let mut alice = Person::join(&prosody, "alice", "alicepw", ROOM).await;
    // Live or as MUC history, depending on who was back first.
    alice
        .wait_for(|s| matches!(s, Seen::Message { nick, body, .. } if nick == "meetplane" && body == "Bob wrote:\nduring the outage"))
        .await;
    alice.say(ROOM, "after the restart").await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].json["message"], "after the restart");
    assert!(callback_checksum_ok(
        r#"{"user_name": "alice", "message": "after the restart"}"#,
        got[1].json["checksum"].as_str().unwrap()
    ));

    // Every message from HTTP was reflected by the MUC, so none waits to be sent again.
    let room_id = meetplane::store::chat::all_bindings(&app.state.db)
        .await
        .unwrap()[0]
        .room_id;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !meetplane::store::chat::pending_for_room(&app.state.db, room_id)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "messages still pending"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Ending the chat makes the bridge leave the MUC; nothing more is relayed.
    let end = format!(r#"{{"jid_room": "{ROOM}"}}"#);
    let (s, b) = post(
        &app,
        "/api/endChatForRoom",
        body(&end, "endChatForRoom", &app.client.secret, now()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    alice
        .wait_for(|s| matches!(s, Seen::Presence { nick, available: false } if nick == "meetplane"))
        .await;
    alice.say(ROOM, "nobody bridges this").await;
    // Reflected to alice: the MUC has taken it, before the bridge can be back.
    alice
        .wait_for(|s| matches!(s, Seen::Message { nick, body, .. } if nick == "alice" && body == "nobody bridges this"))
        .await;

    // Bridged again, the next message is relayed. One said meanwhile would have been stored
    // and relayed before it (the MUC, the bridge and its storage keep the order; a join's
    // history is not relayed), so neither the receiver nor the chat has it.
    let (s, b) = post(
        &app,
        "/api/startChatForRoom",
        body(&start, "startChatForRoom", &app.client.secret, now()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    alice
        .wait_for(|s| matches!(s, Seen::Presence { nick, available: true } if nick == "meetplane"))
        .await;
    alice.say(ROOM, "bridged again").await;
    let got = receiver.wait_for(3).await;
    assert_eq!(got.len(), 3, "nothing after the end");
    assert_eq!(got[2].json["message"], "bridged again");
    let (_, page) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/lobby/messages"),
            None,
        )
        .await;
    assert!(!page.to_string().contains("nobody bridges this"), "{page}");
}

/// GET /v1/chat-bridge on `app` until `wanted` holds (at most 30 s).
pub async fn status_until(app: &TestApp, wanted: impl Fn(&Value) -> bool) -> Value {
    let token = app.token().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (s, status) = app.call(&token, Method::GET, "/v1/chat-bridge", None).await;
        assert_eq!(s, StatusCode::OK, "{status}");
        if wanted(&status) {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bridge status did not come: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn report(state: &str, reported_at: DateTime<Utc>) -> Report {
    Report {
        jid: "bridge@localhost".into(),
        state: state.into(),
        rooms_joined: format!(r#"["{ROOM}"]"#),
        last_error: None,
        last_error_at: None,
        connected_since: Some(reported_at),
        reported_at,
    }
}

/// Two nodes on one Postgres: one bridges, and both answer with its status; when it stops,
/// the other takes over.
#[tokio::test]
async fn every_node_shows_the_bridging_nodes_status() {
    if !prosody::available() {
        return;
    }
    let Some(url) = postgres_url() else {
        return;
    };
    let prosody = Prosody::start(&[("bridge", "bridgepw")]).await;
    let db = Arc::new(TestDb::create_postgres(&url).await);
    // Someone else holds the bridge lock at first, so both nodes start as standbys.
    let mut holder = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let (held,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(&mut holder)
        .await
        .unwrap();
    assert!(held);
    let key = MasterKey::generate();
    let clock = Arc::new(SystemClock);
    let a = TestApp::start_configured(
        db.clone(),
        key.clone(),
        clock.clone(),
        None,
        bridging_to(&prosody),
    )
    .await;
    let b = TestApp::start_configured(
        db.clone(),
        key,
        clock,
        Some(a.client.clone()),
        bridging_to(&prosody),
    )
    .await;

    // Nobody has reported lately: a report older than 30 s is from a node that is gone.
    let standby = |s: &Value| s["state"] == "standby";
    let status = status_until(&a, standby).await;
    assert_eq!(status["bridgingHere"], false, "{status}");
    assert_eq!(status["reportedAt"], Value::Null, "{status}");
    let old = Utc::now() - chrono::Duration::seconds(31);
    bridge_status::save(&a.state.db, report("connected", old))
        .await
        .unwrap();
    let status = status_until(&a, |_| true).await;
    assert_eq!(status["state"], "standby", "a stale report shows: {status}");

    // The lock comes free: one node bridges, and the other shows that node's state.
    holder.close().await.unwrap();
    let start = format!(r#"{{"jid_room": "{ROOM}"}}"#);
    let (s, b_) = post(
        &a,
        "/api/startChatForRoom",
        body(&start, "startChatForRoom", &a.client.secret, now()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b_}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (leader, other) = loop {
        if a.state.bridge.get().leader {
            break (a, b);
        }
        if b.state.bridge.get().leader {
            break (b, a);
        }
        assert!(tokio::time::Instant::now() < deadline, "no node bridges");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    bridge_in(&leader, ROOM, None).await;
    let seen = status_until(&other, |s| {
        s["state"] == "connected" && s["roomsJoined"][0] == ROOM
    })
    .await;
    assert_eq!(seen["bridgingHere"], false, "{seen}");
    assert!(seen["reportedAt"].is_string(), "{seen}");
    assert_eq!(seen["roomsBridged"][0], ROOM, "{seen}");
    let here = status_until(&leader, |_| true).await;
    assert_eq!(here["bridgingHere"], true, "{here}");
    assert_eq!(here["state"], "connected", "{here}");

    // The bridging node stops; the other takes over.
    leader.stop().await;
    bridge_in(&other, ROOM, None).await;
    let status = status_until(&other, |s| s["bridgingHere"] == true).await;
    assert_eq!(status["state"], "connected", "{status}");
    assert_eq!(status["reportedAt"], Value::Null, "{status}");
}

/// A refused sign-in is not left as "connecting" without a reason.
#[tokio::test]
async fn says_why_the_bridge_does_not_get_online() {
    if !prosody::available() {
        return;
    }
    let prosody = Prosody::start(&[("bridge", "bridgepw")]).await;
    let app = TestApp::spawn_configured(
        Arc::new(SystemClock),
        signing_in_to(&prosody, "not the password"),
    )
    .await;
    let status = status_until(&app, |s| !s["lastError"].is_null()).await;
    assert_eq!(status["state"], "connecting", "{status}");
    let error = status["lastError"].as_str().unwrap();
    assert!(
        error.contains("signing in as bridge@localhost did not complete"),
        "{error}"
    );
    assert!(!error.contains("not the password"), "{error}");
    let metrics = app.request(Method::GET, "/metrics").send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("\nmeetplane_xmpp_bridge_connected 0\n"),
        "{metrics}"
    );
}
