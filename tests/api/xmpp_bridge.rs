//! The XMPP bridge against a real Prosody with a real second XMPP client in the MUC: HTTP →
//! MUC text, MUC → signed callback, a Prosody restart in the middle, and ending a chat.
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha512};

use crate::{
    chat_bridge::{body, post},
    helpers::TestApp,
    prosody::{self, Person, Prosody, Seen},
    receiver::Receiver,
};

const ROOM: &str = "lobby@conference.localhost";
const CALLBACK_SECRET: &str = "callback-s3cret";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Wait (at most 30 s) until the bridge is in `room` on a connection made after `after`.
async fn bridge_in(app: &TestApp, room: &str, after: Option<DateTime<Utc>>) {
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

async fn send(app: &TestApp, user: &str, message: &str) {
    let python = format!(r#"{{"user_name": "{user}", "message": "{message}"}}"#);
    let (s, b) = post(
        app,
        &format!("/api/sendChatMessage/{ROOM}"),
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
    let address = prosody.address();
    let app = TestApp::spawn_configured(Arc::new(meetplane::clock::SystemClock), |c| {
        let s = meetplane::config::Settings {
            xmpp_jid: Some("bridge@localhost".into()),
            xmpp_password: Some("bridgepw".into()),
            xmpp_server: Some(address),
            ..Default::default()
        };
        c.chat.xmpp = meetplane::config::ChatConfig::from_settings(&s)
            .unwrap()
            .xmpp;
    })
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
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "nothing after the end");
}
