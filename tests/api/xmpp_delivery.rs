//! How the XMPP bridge delivers, against a real Prosody: a message reaches the MUC once
//! across a reconnect, one that cannot be sent does not hold back the others, and the
//! bridge's state follows the connection within 2 s even while the database is busy.
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use meetplane::{clock::SystemClock, store};
use reqwest::{Method, StatusCode};
use sea_orm::{
    DbBackend,
    sqlx::{self, Connection},
};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

use crate::{
    chat_bridge::{body, post},
    helpers::{TestApp, TestDb},
    prosody::{self, Person, Prosody, Seen},
    xmpp_bridge::{ROOM, bridge_in, bridging_at, bridging_to, now, send, send_to},
};

const OTHER_ROOM: &str = "annex@conference.localhost";

async fn start_chat(app: &TestApp, room: &str) {
    let start = format!(r#"{{"jid_room": "{room}"}}"#);
    let (s, b) = post(
        app,
        "/api/startChatForRoom",
        body(&start, "startChatForRoom", &app.client.secret, now()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

fn from_bridge(seen: &Seen, text: &str) -> bool {
    matches!(seen, Seen::Message { nick, body, .. } if nick == "meetplane" && body == text)
}

/// The room's messages as the API shows them, oldest first, once none is pending (30 s).
async fn settled_messages(app: &TestApp, room: &str) -> Vec<Value> {
    let token = app.token().await;
    let path = app.org_path(&format!("/rooms/localhost/{room}/messages"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, page) = app.call(&token, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let mut messages = page["content"].as_array().unwrap().clone();
        if messages.iter().all(|m| m["xmppState"] != "pending") {
            messages.reverse();
            return messages;
        }
        assert!(Instant::now() < deadline, "still pending: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP relay to the server whose current connections can be told to hold back what the
/// server sends (new connections pass freely): the bridge's messages still reach the MUC,
/// but their reflections, the server's acknowledgements and its ping answers do not.
struct Relay {
    address: String,
    holds: Arc<Mutex<Vec<watch::Sender<bool>>>>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let holds: Arc<Mutex<Vec<watch::Sender<bool>>>> = Arc::default();
        let registry = holds.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let (hold, held) = watch::channel(false);
                registry.lock().unwrap().push(hold);
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_rx, &mut server_tx).await;
                });
                tokio::spawn(async move {
                    let mut held = held;
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match server_rx.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        // What was read while held is never passed on.
                        if held.wait_for(|h| !*h).await.is_err() {
                            break;
                        }
                        if client_tx.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Relay { address, holds }
    }

    fn hold_current(&self) {
        for hold in self.holds.lock().unwrap().iter() {
            hold.send_replace(true);
        }
    }
}

/// The server stops answering the bridge (reflections, acknowledgements, pings) just as it
/// sends five messages; the bridge reconnects, finds them in the MUC's history, and does not
/// send them again.
#[tokio::test]
async fn a_message_reaches_the_muc_once_across_a_reconnect() {
    if !prosody::available() {
        return;
    }
    let prosody = Prosody::start(&[("bridge", "bridgepw"), ("alice", "alicepw")]).await;
    let relay = Relay::start(prosody.address()).await;
    let app = TestApp::spawn_configured(
        Arc::new(SystemClock),
        bridging_at(&relay.address, "bridgepw"),
    )
    .await;
    start_chat(&app, ROOM).await;
    bridge_in(&app, ROOM, None).await;
    let mut alice = Person::join(&prosody, "alice", "alicepw", ROOM).await;
    send(&app, "Bob", "warm-up").await;
    alice
        .wait_for(|s| from_bridge(s, "Bob wrote:\nwarm-up"))
        .await;

    let before = app.state.bridge.get().connected_since;
    relay.hold_current();
    for i in 1..=5 {
        send(&app, "Bob", &format!("m{i}")).await;
    }
    let seen = alice.seen_until(|s| from_bridge(s, "Bob wrote:\nm5")).await;
    // Unanswered pings make the bridge connect again; then one more message.
    bridge_in(&app, ROOM, before).await;
    send(&app, "Bob", "after").await;
    let mut seen_all = seen;
    seen_all.extend(
        alice
            .seen_until(|s| from_bridge(s, "Bob wrote:\nafter"))
            .await,
    );
    for i in 1..=5 {
        let text = format!("Bob wrote:\nm{i}");
        let times = seen_all.iter().filter(|s| from_bridge(s, &text)).count();
        assert_eq!(times, 1, "m{i} reached the MUC {times} times: {seen_all:?}");
    }
    let messages = settled_messages(&app, "lobby").await;
    assert!(
        messages.iter().all(|m| m["xmppState"] == "sent"),
        "{messages:?}"
    );
}

/// Messages stored by an earlier version with a character XML cannot carry (it was taken
/// then) fail once this version bridges, with the reason in the API, and the room's other
/// messages, and other rooms', go on.
#[tokio::test]
async fn an_unsendable_message_fails_and_the_others_go_on() {
    if !prosody::available() {
        return;
    }
    let prosody = Prosody::start(&[("bridge", "bridgepw"), ("alice", "alicepw")]).await;
    // The earlier version: bound rooms, a poisoned row among pending ones.
    let unbridged = TestApp::spawn().await;
    start_chat(&unbridged, ROOM).await;
    start_chat(&unbridged, OTHER_ROOM).await;
    let binding = store::chat::all_bindings(&unbridged.state.db)
        .await
        .unwrap()[0]
        .clone();
    store::chat::insert(
        &unbridged.state.db,
        store::chat::NewChatMessage {
            org_id: binding.org_id,
            room_id: binding.room_id,
            sender_kind: "client".into(),
            peer_id: None,
            display_name: "Bob".into(),
            text: "a\u{1}b".into(),
            xmpp_state: Some(store::entities::chat_message::XmppState::Pending),
            created_at: chrono::Utc::now(),
        },
    )
    .await
    .unwrap();
    send(&unbridged, "Bob", "after the bad one").await;
    send_to(&unbridged, OTHER_ROOM, "Bob", "in the annex").await;
    let (db, key, client) = unbridged.stop().await;

    let app = TestApp::start_configured(
        db,
        key,
        Arc::new(SystemClock),
        Some(client),
        bridging_to(&prosody),
    )
    .await;
    // In the MUC (live, or as the history a newcomer gets), then settled in the API.
    let mut alice = Person::join(&prosody, "alice", "alicepw", ROOM).await;
    alice
        .wait_for(|s| from_bridge(s, "Bob wrote:\nafter the bad one"))
        .await;
    let lobby = settled_messages(&app, "lobby").await;
    assert_eq!(lobby.len(), 2, "{lobby:?}");
    assert_eq!(lobby[0]["xmppState"], "failed", "{lobby:?}");
    let why = lobby[0]["xmppError"].as_str().unwrap();
    assert!(why.contains("U+0001"), "{why}");
    assert_eq!(lobby[1]["xmppState"], "sent", "{lobby:?}");
    assert_eq!(lobby[1]["xmppError"], Value::Null, "{lobby:?}");
    let annex = settled_messages(&app, "annex").await;
    assert_eq!(annex[0]["xmppState"], "sent", "{annex:?}");
}

/// Somebody else holds the database's write lock (SQLite) or `chat_messages` (Postgres).
enum Blocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Blocker {
    async fn release(self) {
        match self {
            Blocker::Sqlite(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            }
            Blocker::Postgres(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            }
        }
    }
}

async fn block_writes(app: &TestApp, db: &TestDb) -> Blocker {
    match app.state.db.get_database_backend() {
        DbBackend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url()).await.unwrap();
            sqlx::query("BEGIN").execute(&mut c).await.unwrap();
            sqlx::query("LOCK TABLE chat_messages IN EXCLUSIVE MODE")
                .execute(&mut c)
                .await
                .unwrap();
            Blocker::Postgres(c)
        }
        _ => {
            let mut c = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut c)
                .await
                .unwrap();
            Blocker::Sqlite(c)
        }
    }
}

/// When the XMPP server goes away, the state and the metric say so within 2 s, also while
/// the database keeps the bridge's writes waiting (a message heard just before).
#[tokio::test]
async fn the_state_follows_the_connection_while_the_database_is_busy() {
    if !prosody::available() {
        return;
    }
    let mut prosody = Prosody::start(&[("bridge", "bridgepw"), ("alice", "alicepw")]).await;
    let app = TestApp::spawn_configured(Arc::new(SystemClock), bridging_to(&prosody)).await;
    start_chat(&app, ROOM).await;
    bridge_in(&app, ROOM, None).await;
    let mut alice = Person::join(&prosody, "alice", "alicepw", ROOM).await;
    send(&app, "Bob", "hello").await;
    alice
        .wait_for(|s| from_bridge(s, "Bob wrote:\nhello"))
        .await;

    let blocker = block_writes(&app, &app.db).await;
    alice.say(ROOM, "heard while the database is busy").await;
    // Reflected to Alice: sent to the bridge too, in the same pass of the MUC.
    alice
        .wait_for(|s| matches!(s, Seen::Message { nick, .. } if nick == "alice"))
        .await;
    prosody.stop();
    let stopped = Instant::now();
    loop {
        let metrics = app.request(Method::GET, "/metrics").send().await.unwrap();
        let metrics = metrics.text().await.unwrap();
        let status = app.state.bridge.get();
        if status.state != "connected" && metrics.contains("\nmeetplane_xmpp_bridge_connected 0\n")
        {
            assert!(status.rooms_joined.is_empty(), "{status:?}");
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(2),
            "still {status:?} after {:?}",
            stopped.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // What was heard is written once the database is free.
    blocker.release().await;
    let token = app.token().await;
    let path = app.org_path("/rooms/localhost/lobby/messages");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, page) = app.call(&token, Method::GET, &path, None).await;
        if page["content"][0]["text"] == "heard while the database is busy" {
            break;
        }
        assert!(Instant::now() < deadline, "not stored: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
