//! The chat-bridge API (seed 000): checksums made the way the seed's Python clients make them,
//! every call, and every documented error status.
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha512};

use crate::helpers::{TestApp, read};

/// `hashlib.sha512((call + json + secret + str(ts)).encode()).hexdigest()`
pub fn checksum(call: &str, python_json: &str, secret: &str, ts: i64) -> String {
    hex::encode(Sha512::digest(
        format!("{call}{python_json}{secret}{ts}").as_bytes(),
    ))
}

/// A body as the seed's example client builds it: `json.dumps(params)` is checksummed, then
/// the checksum is added. `python_json` is written out by hand, as Python prints it.
pub fn body(python_json: &str, call: &str, secret: &str, ts: i64) -> String {
    let sum = checksum(call, python_json, secret, ts);
    let inner = python_json.trim_end_matches('}');
    if inner == "{" {
        format!(r#"{{"checksum": "{sum}"}}"#)
    } else {
        format!(r#"{inner}, "checksum": "{sum}"}}"#)
    }
}

pub async fn post(app: &TestApp, path: &str, body: String) -> (StatusCode, Value) {
    read(
        app.request(Method::POST, path)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn expect(result: (StatusCode, Value), status: StatusCode, success: bool) -> Value {
    let (s, b) = result;
    assert_eq!((s, b["success"].as_bool()), (status, Some(success)), "{b}");
    assert!(b["message"].is_string(), "{b}");
    b
}

#[tokio::test]
async fn start_send_end_with_the_client_secret() {
    let app = TestApp::spawn().await;
    let secret = app.client.secret.clone();
    let start = r#"{"jid_room": "standup@conference.localhost"}"#;
    let t0 = now();
    let b = expect(
        post(
            &app,
            "/api/startChatForRoom",
            body(start, "startChatForRoom", &secret, t0),
        )
        .await,
        StatusCode::OK,
        true,
    );
    assert_eq!(b["room"], "localhost/standup");
    // Started twice: 409 (the original answered 304). Another second's checksum: the same
    // one is refused as a replay.
    expect(
        post(
            &app,
            "/api/startChatForRoom",
            body(start, "startChatForRoom", &secret, t0 - 1),
        )
        .await,
        StatusCode::CONFLICT,
        false,
    );
    // Non-ASCII names are checksummed over Python's escaped form; the wire carries UTF-8.
    let python = r#"{"user_name": "Zo\u00eb \ud83d\ude00", "message": "Gr\u00fc\u00dfe\nline 2"}"#;
    let sum = checksum("sendChatMessage", python, &secret, now());
    let wire = format!(r#"{{"user_name":"Zoë 😀","message":"Grüße\nline 2","checksum":"{sum}"}}"#);
    let b = expect(
        post(
            &app,
            "/api/sendChatMessage/standup@conference.localhost",
            wire,
        )
        .await,
        StatusCode::OK,
        true,
    );
    assert!(b["messageId"].is_i64(), "{b}");
    // The message is in the room's chat.
    let t = app.token().await;
    let (_, page) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/standup/messages"),
            None,
        )
        .await;
    assert_eq!(page["content"][0]["text"], "Grüße\nline 2");
    assert_eq!(page["content"][0]["displayName"], "Zoë 😀");

    let end = r#"{"jid_room": "standup@conference.localhost"}"#;
    let t1 = now();
    expect(
        post(
            &app,
            "/api/endChatForRoom",
            body(end, "endChatForRoom", &secret, t1),
        )
        .await,
        StatusCode::OK,
        true,
    );
    let send = r#"{"user_name": "a", "message": "b"}"#;
    expect(
        post(
            &app,
            "/api/sendChatMessage/standup@conference.localhost",
            body(send, "sendChatMessage", &secret, now()),
        )
        .await,
        StatusCode::NOT_FOUND,
        false,
    );
    expect(
        post(
            &app,
            "/api/endChatForRoom",
            body(end, "endChatForRoom", &secret, t1 - 1),
        )
        .await,
        StatusCode::NOT_FOUND,
        false,
    );
    // Started again after the end, under the later clients' `room_jid`.
    let again = r#"{"room_jid": "standup@conference.localhost"}"#;
    expect(
        post(
            &app,
            "/api/startChatForRoom",
            body(again, "startChatForRoom", &secret, now()),
        )
        .await,
        StatusCode::OK,
        true,
    );
}

#[tokio::test]
async fn shared_secret_and_x_auth_id() {
    let app = TestApp::spawn_configured(std::sync::Arc::new(meetplane::clock::SystemClock), |c| {
        c.chat.shared_secret = Some(meetplane::config::SecretString::new("change_me_please"));
    })
    .await;
    let start = r#"{"jid_room": "one@conference.localhost"}"#;
    expect(
        post(
            &app,
            "/api/startChatForRoom",
            body(start, "startChatForRoom", "change_me_please", now()),
        )
        .await,
        StatusCode::OK,
        true,
    );
    // With x-auth-id only that client's secret counts.
    let other = r#"{"jid_room": "two@conference.localhost"}"#;
    let signed = body(other, "startChatForRoom", "change_me_please", now());
    let r = read(
        app.request(Method::POST, "/api/startChatForRoom")
            .header("x-auth-id", &app.client.api_key)
            .body(signed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    expect(r, StatusCode::BAD_REQUEST, false);
    let signed = body(other, "startChatForRoom", &app.client.secret, now());
    let r = read(
        app.request(Method::POST, "/api/startChatForRoom")
            .header("x-auth-id", &app.client.api_key)
            .body(signed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    expect(r, StatusCode::OK, true);
}

#[tokio::test]
async fn bad_requests_get_the_documented_statuses() {
    let app = TestApp::spawn().await;
    let secret = app.client.secret.clone();
    let start = r#"{"jid_room": "talk@conference.localhost"}"#;
    let path = "/api/startChatForRoom";
    // Not JSON, no checksum, wrong secret, wrong call name, outside the time window.
    expect(
        post(&app, path, "jid_room=talk".into()).await,
        StatusCode::BAD_REQUEST,
        false,
    );
    expect(
        post(&app, path, "[1, 2]".into()).await,
        StatusCode::BAD_REQUEST,
        false,
    );
    expect(
        post(&app, path, start.into()).await,
        StatusCode::BAD_REQUEST,
        false,
    );
    expect(
        post(&app, path, body(start, "startChatForRoom", "nope", now())).await,
        StatusCode::BAD_REQUEST,
        false,
    );
    expect(
        post(&app, path, body(start, "endChatForRoom", &secret, now())).await,
        StatusCode::BAD_REQUEST,
        false,
    );
    expect(
        post(
            &app,
            path,
            body(start, "startChatForRoom", &secret, now() - 60),
        )
        .await,
        StatusCode::BAD_REQUEST,
        false,
    );
    expect(
        post(
            &app,
            path,
            body(start, "startChatForRoom", &secret, now() + 60),
        )
        .await,
        StatusCode::BAD_REQUEST,
        false,
    );
    // Within the default 5 s either way.
    expect(
        post(
            &app,
            path,
            body(start, "startChatForRoom", &secret, now() - 3),
        )
        .await,
        StatusCode::OK,
        true,
    );
    // No room JID; half a callback.
    let none = r#"{"callback_uri": "http://127.0.0.1:9/cb"}"#;
    expect(
        post(&app, path, body(none, "startChatForRoom", &secret, now())).await,
        StatusCode::FORBIDDEN,
        false,
    );
    let half = r#"{"jid_room": "x@conference.localhost", "callback_uri": "http://127.0.0.1:9/cb"}"#;
    expect(
        post(&app, path, body(half, "startChatForRoom", &secret, now())).await,
        StatusCode::FORBIDDEN,
        false,
    );
    // Invalid JIDs.
    for jid in [
        "no-node.localhost",
        "a@b@c",
        "bad name@conference.localhost",
    ] {
        let j = format!(r#"{{"jid_room": "{jid}"}}"#);
        let b = expect(
            post(&app, path, body(&j, "startChatForRoom", &secret, now())).await,
            StatusCode::BAD_REQUEST,
            false,
        );
        assert!(b["message"].as_str().unwrap().contains("jid_room"), "{b}");
    }
    // sendChatMessage: unknown room, missing fields, oversize message.
    let send = r#"{"user_name": "a", "message": "b"}"#;
    expect(
        post(
            &app,
            "/api/sendChatMessage/nobody@conference.localhost",
            body(send, "sendChatMessage", &secret, now()),
        )
        .await,
        StatusCode::NOT_FOUND,
        false,
    );
    let only_name = r#"{"user_name": "a"}"#;
    expect(
        post(
            &app,
            "/api/sendChatMessage/talk@conference.localhost",
            body(only_name, "sendChatMessage", &secret, now()),
        )
        .await,
        StatusCode::BAD_REQUEST,
        false,
    );
    let long = format!(r#"{{"user_name": "a", "message": "{}"}}"#, "x".repeat(4001));
    expect(
        post(
            &app,
            "/api/sendChatMessage/talk@conference.localhost",
            body(&long, "sendChatMessage", &secret, now()),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        false,
    );
    // A revoked client's secret stops working.
    let t = app.token().await;
    let created = meetplane::domain::clients::create(
        &app.state,
        &meetplane::domain::audit::By::cli(app.org_id),
        "chat",
    )
    .await
    .unwrap();
    let other_secret = created.secret.clone();
    let id = created.client.id;
    let end = r#"{"jid_room": "talk@conference.localhost"}"#;
    let (s, _) = app
        .call(
            &t,
            Method::DELETE,
            &app.org_path(&format!("/clients/{id}")),
            None,
        )
        .await;
    assert!(s.is_success(), "{s}");
    expect(
        post(
            &app,
            "/api/endChatForRoom",
            body(end, "endChatForRoom", &other_secret, now()),
        )
        .await,
        StatusCode::BAD_REQUEST,
        false,
    );
}

/// A body and its checksum are accepted once: the same request again, while its checksum
/// is within the time window, is refused (also with the checksum's digits in upper case).
#[tokio::test]
async fn a_checksum_is_accepted_once() {
    let app = TestApp::spawn().await;
    let secret = app.client.secret.clone();
    let start = r#"{"jid_room": "once@conference.localhost"}"#;
    expect(
        post(
            &app,
            "/api/startChatForRoom",
            body(start, "startChatForRoom", &secret, now()),
        )
        .await,
        StatusCode::OK,
        true,
    );
    let path = "/api/sendChatMessage/once@conference.localhost";
    let send = r#"{"user_name": "Bob", "message": "pay 100"}"#;
    let t = now();
    let signed = body(send, "sendChatMessage", &secret, t);
    expect(post(&app, path, signed.clone()).await, StatusCode::OK, true);
    for _ in 0..2 {
        let b = expect(
            post(&app, path, signed.clone()).await,
            StatusCode::BAD_REQUEST,
            false,
        );
        assert!(
            b["message"].as_str().unwrap().contains("used before"),
            "{b}"
        );
    }
    let sum = checksum("sendChatMessage", send, &secret, t);
    let upper = signed.replace(&sum, &sum.to_uppercase());
    assert_ne!(upper, signed);
    expect(
        post(&app, path, upper).await,
        StatusCode::BAD_REQUEST,
        false,
    );
    // The same body under another second's checksum is another request.
    expect(
        post(&app, path, body(send, "sendChatMessage", &secret, t - 1)).await,
        StatusCode::OK,
        true,
    );
    let token = app.token().await;
    let (_, page) = app
        .call(
            &token,
            Method::GET,
            &app.org_path("/rooms/localhost/once/messages"),
            None,
        )
        .await;
    assert_eq!(page["content"].as_array().unwrap().len(), 2, "{page}");
}

/// The same signed `sendChatMessage` sent many times at once (the requests share a batch
/// transaction): one is stored, every other is refused as a replay, each with its own answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checksum_sent_many_times_at_once_is_accepted_once() {
    let app = TestApp::spawn().await;
    let secret = app.client.secret.clone();
    let start = r#"{"jid_room": "burst@conference.localhost"}"#;
    expect(
        post(
            &app,
            "/api/startChatForRoom",
            body(start, "startChatForRoom", &secret, now()),
        )
        .await,
        StatusCode::OK,
        true,
    );
    let path = "/api/sendChatMessage/burst@conference.localhost";
    let send = r#"{"user_name": "Bob", "message": "only once"}"#;
    let signed = body(send, "sendChatMessage", &secret, now());
    let answers =
        futures_util::future::join_all((0..12).map(|_| post(&app, path, signed.clone()))).await;
    let accepted = answers.iter().filter(|(s, _)| s.is_success()).count();
    assert_eq!(accepted, 1, "{answers:?}");
    for (status, b) in answers.iter().filter(|(s, _)| !s.is_success()) {
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{b}");
        assert!(
            b["message"].as_str().unwrap().contains("used before"),
            "{b}"
        );
    }
    let token = app.token().await;
    let (_, page) = app
        .call(
            &token,
            Method::GET,
            &app.org_path("/rooms/localhost/burst/messages"),
            None,
        )
        .await;
    assert_eq!(page["content"].as_array().unwrap().len(), 1, "{page}");
}

/// A message with a character XML cannot carry would block the bridged MUC: refused with
/// 422, like every other chat surface; a user name with one is a bad field (400).
#[tokio::test]
async fn text_xml_cannot_carry_is_refused() {
    let app = TestApp::spawn().await;
    let secret = app.client.secret.clone();
    let start = r#"{"jid_room": "clean@conference.localhost"}"#;
    expect(
        post(
            &app,
            "/api/startChatForRoom",
            body(start, "startChatForRoom", &secret, now()),
        )
        .await,
        StatusCode::OK,
        true,
    );
    let path = "/api/sendChatMessage/clean@conference.localhost";
    // As Python's json.dumps writes them: SOH, ESC from terminal output, BEL.
    for message in [r"a\u0001b", r"\u001b[31mred\u001b[0m", r"ding\u0007"] {
        let send = format!(r#"{{"user_name": "Bob", "message": "{message}"}}"#);
        let b = expect(
            post(&app, path, body(&send, "sendChatMessage", &secret, now())).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        );
        assert!(b["message"].as_str().unwrap().contains("U+00"), "{b}");
    }
    let send = r#"{"user_name": "Bob\uffff", "message": "hi"}"#;
    let b = expect(
        post(&app, path, body(send, "sendChatMessage", &secret, now())).await,
        StatusCode::BAD_REQUEST,
        false,
    );
    assert!(b["message"].as_str().unwrap().contains("user_name"), "{b}");
    let send = r#"{"user_name": "Bob", "message": "tab\there\nnext line"}"#;
    expect(
        post(&app, path, body(send, "sendChatMessage", &secret, now())).await,
        StatusCode::OK,
        true,
    );
}
